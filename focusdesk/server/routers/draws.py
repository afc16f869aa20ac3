"""Prize drawings: run, confirm or redraw (organizers), read, audit, export."""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import Field

from focusdesk.domain.draws import results_csv
from focusdesk.domain.roles import DRAW_READ, DRAW_RUN, Principal
from focusdesk.server.api_models import ErrorOut, Strict
from focusdesk.server.deps import authenticated, ensure
from focusdesk.server.state import ServerState, get_state
from focusdesk.server.store import draws as store
from focusdesk.server.store.draws import COUNT_MAX, PRIZE_MAX

router = APIRouter(tags=["draws"])
ERR = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}}  # fmt: skip
EventId = Path(ge=1, le=2**31 - 1)
DrawId = Path(pattern=r"^[A-Za-z0-9_\-]{8,64}$")


class DrawIn(Strict):
    prize: str = Field(min_length=1, max_length=PRIZE_MAX)
    count: int = Field(default=1, ge=1, le=COUNT_MAX)
    checked_in_only: bool = Field(default=True, description="Only attendees checked in right now may win")


@router.get("/events/{event_id}/draws", responses=ERR)
async def list_draws(
    event_id: int = EventId, principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)
) -> list[dict[str, Any]]:
    ensure(principal, DRAW_READ, event_id)
    return await state.db.read(partial(store.list_draws, event_id=event_id))


@router.post("/events/{event_id}/draws", status_code=201, responses=ERR)
async def run_draw(
    body: DrawIn,
    event_id: int = EventId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> dict[str, Any]:
    """Draw winners among the eligible (never cancelled registrations or earlier winners); proposed until
    confirmed. The seed is recorded: the audit endpoint re-runs the draw."""
    ensure(principal, DRAW_RUN, event_id)
    record, _ = await state.db.write(
        partial(
            store.run_draw,
            event_id=event_id,
            principal=principal,
            prize=body.prize,
            count=body.count,
            checked_in_only=body.checked_in_only,
            now=time.time(),
        )
    )
    return record


@router.get("/events/{event_id}/draws/export", responses={**ERR, 200: {"content": {"text/csv": {}}}})
async def export_draws(
    event_id: int = EventId, principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)
):
    """Confirmed and proposed results as CSV, one row per winner, with seed and pool size."""
    ensure(principal, DRAW_RUN, event_id)
    records = await state.db.read(partial(store.list_draws, event_id=event_id))
    text = await asyncio.to_thread(results_csv, records)
    return Response(
        ("\ufeff" + text).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="event-{event_id}-draws.csv"'},
    )


@router.post("/events/{event_id}/draws/{draw_id}/confirm", responses=ERR)
async def confirm_draw(
    event_id: int = EventId,
    draw_id: str = DrawId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> dict[str, Any]:
    ensure(principal, DRAW_RUN, event_id)
    record, _ = await state.db.write(partial(store.confirm_draw, event_id=event_id, draw_id=draw_id, now=time.time()))
    return record


@router.post("/events/{event_id}/draws/{draw_id}/redraw", status_code=201, responses=ERR)
async def redraw(
    event_id: int = EventId,
    draw_id: str = DrawId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> dict[str, Any]:
    """Discard a proposed draw and draw again with a new seed; answers with the new draw."""
    ensure(principal, DRAW_RUN, event_id)
    record, _ = await state.db.write(
        partial(store.redraw, event_id=event_id, draw_id=draw_id, principal=principal, now=time.time())
    )
    return record


@router.get("/events/{event_id}/draws/{draw_id}/audit", responses=ERR)
async def audit_draw(
    event_id: int = EventId,
    draw_id: str = DrawId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> dict[str, Any]:
    """The recorded pool and seed, the winners re-drawn from them, and whether they match."""
    ensure(principal, DRAW_RUN, event_id)
    return await state.db.read(partial(store.audit, event_id=event_id, draw_id=draw_id))
