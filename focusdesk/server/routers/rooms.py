"""Rooms and their timers over REST: reads for everyone at the event, changes for organizers and scripts.

Desks change rooms with commands (they work offline and are applied exactly once); these endpoints run
the very same :func:`~focusdesk.server.store.rooms.change_room`, for scripts and other tools.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import Field

from focusdesk.domain.roles import ROOMS_MANAGE, ROOMS_READ, TIMER_CONTROL, Principal
from focusdesk.server.api_models import ErrorOut, Strict
from focusdesk.server.deps import authenticated, ensure
from focusdesk.server.state import ServerState, get_state
from focusdesk.server.store import rooms as store
from focusdesk.server.store.event_changes import write_event_command

router = APIRouter(tags=["rooms"])
ERR = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}}  # fmt: skip
EventId = Path(ge=1, le=2**31 - 1)
RoomId = Path(pattern=r"^[A-Za-z0-9_\-]{8,64}$")
Seconds = Field(default=None, ge=1, le=24 * 3600)


class RoomIn(Strict):
    name: str = Field(min_length=1, max_length=80)
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    work_s: float | None = Seconds
    break_s: float | None = Seconds


class RoomPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    work_s: float | None = Seconds
    break_s: float | None = Seconds


class TimerIn(Strict):
    op: Literal["start", "pause", "resume", "reset", "adjust", "message", "configure"]
    duration_s: float | None = Seconds
    preset: str | None = Field(default=None, max_length=40)
    delta_s: float | None = Field(default=None, ge=-24 * 3600, le=24 * 3600)
    text: str | None = Field(default=None, max_length=200)
    mode: Literal["countdown", "pomodoro"] | None = None
    work_s: float | None = Seconds
    break_s: float | None = Seconds


async def _change(state: ServerState, principal: Principal, event_id: int, command: str, args: dict[str, Any]):
    return await write_event_command(state.db, event_id, store.change_room, command, args, principal.email)


@router.get("/events/{event_id}/rooms", responses=ERR)
async def list_rooms(
    event_id: int = EventId, principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)
) -> list[dict[str, Any]]:
    """Every room of the event with its timer (as data: desks compute the time left from server time)."""
    ensure(principal, ROOMS_READ, event_id)
    return await state.db.read(partial(store.list_rooms, event_id=event_id))


@router.post("/events/{event_id}/rooms", status_code=201, responses=ERR)
async def create_room(
    body: RoomIn,
    event_id: int = EventId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> dict[str, Any]:
    ensure(principal, ROOMS_MANAGE, event_id)
    room = {"id": uuid.uuid4().hex, **body.model_dump(exclude_none=True)}
    return (await _change(state, principal, event_id, "room_create", {"room": room}))["room"]


@router.patch("/events/{event_id}/rooms/{room_id}", responses=ERR)
async def update_room(
    body: RoomPatch,
    event_id: int = EventId,
    room_id: str = RoomId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> dict[str, Any]:
    ensure(principal, ROOMS_MANAGE, event_id)
    fields = body.model_dump(exclude_unset=True)
    answer = await _change(state, principal, event_id, "room_update", {"room_id": room_id, "fields": fields})
    return answer["room"]


@router.delete("/events/{event_id}/rooms/{room_id}", status_code=204, responses=ERR)
async def delete_room(
    event_id: int = EventId,
    room_id: str = RoomId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
):
    ensure(principal, ROOMS_MANAGE, event_id)
    await _change(state, principal, event_id, "room_delete", {"room_id": room_id})
    return Response(status_code=204)


@router.post("/events/{event_id}/rooms/{room_id}/timer", responses=ERR)
async def timer_command(
    body: TimerIn,
    event_id: int = EventId,
    room_id: str = RoomId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> dict[str, Any]:
    """Run a timer command (start, pause, resume, reset, adjust, message, configure); answers with the room."""
    ensure(principal, TIMER_CONTROL, event_id)
    args = {"room_id": room_id, **body.model_dump(exclude_none=True)}
    return (await _change(state, principal, event_id, "timer", args))["room"]
