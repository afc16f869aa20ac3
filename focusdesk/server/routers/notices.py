"""Notices over REST: the ones addressed to you, and sending one from a script (desks use commands)."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import Field
from sqlalchemy import Connection

from focusdesk.domain.roles import NOTICE_POST, NOTICE_READ, Principal
from focusdesk.server.api_models import ErrorOut, Strict
from focusdesk.server.deps import authenticated, ensure
from focusdesk.server.state import ServerState, get_state
from focusdesk.server.store import notices as store
from focusdesk.server.store.event_changes import write_event_change

router = APIRouter(tags=["notices"])
ERR = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
EventId = Path(ge=1, le=2**31 - 1)


class AudienceIn(Strict):
    kind: Literal["all", "role", "desk"] = "all"
    value: str | None = Field(default=None, max_length=64, description="The role, or the desk's station id")


class NoticeIn(Strict):
    body: str = Field(min_length=1, max_length=500)
    priority: Literal["high", "medium", "low"] = "medium"
    audience: AudienceIn = Field(default_factory=AudienceIn)
    expires_in_s: float | None = Field(default=None, gt=0, le=7 * 24 * 3600)


@router.get("/events/{event_id}/notices", responses=ERR)
async def list_notices(
    event_id: int = EventId, principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)
) -> list[dict[str, Any]]:
    """The notices addressed to you (senders see all), oldest first, each with its acknowledgements."""
    ensure(principal, NOTICE_READ, event_id)
    return await state.db.read(partial(store.list_notices, event_id=event_id, viewer=principal))


@router.post("/events/{event_id}/notices", status_code=201, responses=ERR)
async def post_notice(
    body: NoticeIn,
    event_id: int = EventId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> dict[str, Any]:
    ensure(principal, NOTICE_POST, event_id)
    notice = {"id": uuid.uuid4().hex, **body.model_dump(exclude_none=True)}

    def change(conn: Connection, _tz: str, now: float):
        args = {"event_id": event_id, "notice": notice}
        return store.post_notice(conn, event_id=event_id, principal=principal, args=args, now=now)

    return (await write_event_change(state.db, event_id, change))["notice"]
