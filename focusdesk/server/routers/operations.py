"""The Operations board: every desk of an event and its printer, check-ins per minute, backend health."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Path
from sqlalchemy import Connection, func, select

from focusdesk.domain.presence import per_minute
from focusdesk.domain.roles import OPERATIONS_READ, Principal
from focusdesk.server.api_models import ErrorOut
from focusdesk.server.deps import authenticated, ensure
from focusdesk.server.routers.health import health_body
from focusdesk.server.schema import attendees, checkins
from focusdesk.server.state import ServerState, get_state
from focusdesk.server.store import presence as store
from focusdesk.server.store.changelog import event_scope, read_head
from focusdesk.server.store.events import get_event_row

router = APIRouter(tags=["operations"])
ERR = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}}
EventId = Path(ge=1, le=2**31 - 1)
StationId = Path(pattern=r"^[A-Za-z0-9_\-]{1,64}$")
RATE_MINUTES = 15


def _board(conn: Connection, event_id: int, now: float) -> dict[str, Any]:
    get_event_row(conn, event_id)  # 404 for an event that does not exist
    since = (now // 60 - (RATE_MINUTES - 1)) * 60
    times = conn.execute(
        select(checkins.c.at).where(
            checkins.c.event_id == event_id, checkins.c.kind == "checkin", checkins.c.at >= since
        )
    ).scalars()
    checked_in, total = conn.execute(
        select(func.count().filter(attendees.c.checked_in), func.count()).where(attendees.c.event_id == event_id)
    ).one()
    head = read_head(conn, event_scope(event_id))
    return {
        "desks": [d.to_json() for d in store.list_desks(conn, event_id)],
        "checkins_per_minute": per_minute(list(times), now, RATE_MINUTES),
        "checked_in": int(checked_in or 0),
        "attendees": int(total or 0),
        "head": head.head_seq if head is not None else 0,
    }


@router.get("/events/{event_id}/operations", responses=ERR)
async def operations_board(
    event_id: int = EventId, principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)
) -> dict[str, Any]:
    """Desks (problems are judged by the reader: domain/presence.py), the check-in rate over the last
    minutes (oldest first, the current minute last) and the backend's health."""
    ensure(principal, OPERATIONS_READ, event_id)
    now = time.time()
    board = await state.db.read(partial(_board, event_id=event_id, now=now))
    health = await health_body(state)
    health.update(live_connections=state.hub.stats()["connections"], head=board.pop("head"))
    return {"server_time": now, "timeout_s": state.presence.timeout_s, **board, "health": health}


@router.get("/events/{event_id}/desks/{station_id}/history", responses=ERR)
async def desk_history(
    event_id: int = EventId,
    station_id: str = StationId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> dict[str, Any]:
    """A desk's recent state changes, newest first (empty for a desk that never reported at this event)."""
    ensure(principal, OPERATIONS_READ, event_id)

    def read(conn: Connection) -> list[dict[str, Any]]:
        get_event_row(conn, event_id)
        if store.desk_event(conn, station_id) != event_id:
            return []  # never here, or now at another event (whose history is not this event's business)
        return store.history(conn, station_id)

    return {"station_id": station_id, "history": await state.db.read(read)}
