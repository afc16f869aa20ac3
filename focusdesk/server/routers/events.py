"""Events and their live counts."""

from __future__ import annotations

import time
from functools import partial

from fastapi import APIRouter, Depends, Path
from sqlalchemy import Connection

from focusdesk.domain.events import validate_event
from focusdesk.domain.roles import COUNTS_READ, EVENT_CREATE, EVENT_READ, EVENT_UPDATE, Principal
from focusdesk.server.api_models import CountsOut, ErrorOut, EventIn, EventOut, EventPatch
from focusdesk.server.deps import authenticated, ensure
from focusdesk.server.state import ServerState, get_state
from focusdesk.server.store import attendees as attendee_store
from focusdesk.server.store import events as event_store

router = APIRouter(tags=["events"])
ERR = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
EventId = Path(ge=1, le=2**31 - 1, description="Event id")


@router.get("/events", response_model=list[EventOut], responses=ERR)
async def list_events(principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)):
    """The events this account has a role at."""
    return await state.db.read(partial(event_store.list_events, principal=principal))


@router.post("/events", response_model=EventOut, status_code=201, responses=ERR)
async def create_event(
    body: EventIn, principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)
):
    ensure(principal, EVENT_CREATE)
    fields = validate_event(body.model_dump())
    record, _changes = await state.db.write(partial(event_store.create_event, fields=fields, now=time.time()))
    return record


@router.get("/events/{event_id}", response_model=EventOut, responses=ERR)
async def get_event(
    event_id: int = EventId, principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)
):
    ensure(principal, EVENT_READ, event_id)
    return await state.db.read(partial(event_store.get_event, event_id=event_id))


@router.patch("/events/{event_id}", response_model=EventOut, responses=ERR)
async def update_event(
    body: EventPatch,
    event_id: int = EventId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
):
    ensure(principal, EVENT_UPDATE, event_id)
    data = body.model_dump(exclude_unset=True, exclude_none=True)
    now = time.time()

    def work(conn: Connection):
        current = event_store.get_event(conn, event_id)
        fields = validate_event(data, current=current)
        return event_store.update_event(conn, event_id, fields, now)[0]

    return await state.db.write(work)


@router.get("/events/{event_id}/counts", response_model=CountsOut, responses=ERR)
async def counts(
    event_id: int = EventId, principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)
):
    """Registered and checked-in attendees, in total and per ticket type (cancelled ones excluded)."""
    ensure(principal, COUNTS_READ, event_id)
    return await state.db.read(partial(attendee_store.counts, event_id=event_id))
