"""Resources, reservations and device status over REST — for scripts, kiosks, calendars and devices.

Desks use commands (offline, exactly once); these endpoints run the very same store functions, so a
booking from a script and one from a desk race on equal terms: the resource's lock decides.
"""

from __future__ import annotations

import re
import uuid
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import Field
from sqlalchemy import Connection

from focusdesk.domain import reservations as rule
from focusdesk.domain.ical import bookings_calendar
from focusdesk.domain.roles import (
    DEVICE_STATUS,
    RESERVATIONS_APPROVE,
    RESERVATIONS_READ,
    RESERVE,
    RESOURCES_MANAGE,
    Principal,
)
from focusdesk.server.api_models import ErrorOut, Strict
from focusdesk.server.deps import authenticated, ensure
from focusdesk.server.state import ServerState, get_state
from focusdesk.server.store import reservations as store
from focusdesk.server.store.event_changes import write_event_change, write_event_command
from focusdesk.server.store.events import get_event_row

router = APIRouter(tags=["reservations"])
ERR = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}}  # fmt: skip
EventId = Path(ge=1, le=2**31 - 1)
ResourceId = Path(pattern=r"^[A-Za-z0-9_\-]{8,64}$")
ReservationId = Path(pattern=r"^[A-Za-z0-9_\-]{8,64}$")
HHMM = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
# ISO 8601 with an offset or Z is that instant; without one, the event's local wall time.
When = Field(min_length=10, max_length=40, examples=["2026-11-24T10:00", "2026-11-24T09:00:00Z"])


class ResourcePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    buffer_min: int | None = Field(default=None, ge=0, le=rule.BUFFER_MAX_MIN)
    open_from: str | None = HHMM
    open_until: str | None = HHMM
    needs_approval: bool | None = None
    release_after_min: int | None = Field(default=None, ge=1, le=240)


class ResourceIn(ResourcePatch):
    kind: Literal["room", "device"]
    name: str = Field(min_length=1, max_length=80)


class StatusIn(Strict):
    status: Literal["online", "offline", "in_use", "available", "maintenance"]
    note: str | None = Field(default=None, max_length=rule.NOTE_MAX)
    source: Literal["staff", "device"] = "staff"


class RepeatIn(Strict):
    freq: Literal["daily", "weekly"]
    count: int = Field(ge=2, le=rule.SERIES_MAX)


class ReservationIn(Strict):
    resource_id: str = Field(pattern=r"^[A-Za-z0-9_\-]{8,64}$")
    holder_name: str = Field(min_length=1, max_length=rule.NAME_MAX)
    attendee_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-]{8,64}$")
    start: str = When
    end: str = When
    note: str | None = Field(default=None, max_length=rule.NOTE_MAX)
    repeat: RepeatIn | None = None
    skip_conflicts: bool = False


class ReasonIn(Strict):
    reason: str | None = Field(default=None, max_length=rule.NOTE_MAX)


# -- resources ---------------------------------------------------------------------------------------


@router.get("/events/{event_id}/resources", responses=ERR)
async def list_resources(
    event_id: int = EventId, principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)
) -> list[dict[str, Any]]:
    """Every room and device that can be booked, with each device's current status."""
    ensure(principal, RESERVATIONS_READ, event_id)
    return await state.db.read(partial(store.list_resources, event_id=event_id))


async def _change_resource(
    state: ServerState, principal: Principal, event_id: int, command: str, args: dict[str, Any]
) -> dict[str, Any]:
    return await write_event_command(state.db, event_id, store.change_resource, command, args, principal.email)


@router.post("/events/{event_id}/resources", status_code=201, responses=ERR)
async def create_resource(
    body: ResourceIn,
    event_id: int = EventId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> dict[str, Any]:
    ensure(principal, RESOURCES_MANAGE, event_id)
    resource = {"id": uuid.uuid4().hex, **body.model_dump(exclude_none=True)}
    return (await _change_resource(state, principal, event_id, "resource_create", {"resource": resource}))["resource"]


@router.patch("/events/{event_id}/resources/{resource_id}", responses=ERR)
async def update_resource(
    body: ResourcePatch,
    event_id: int = EventId,
    resource_id: str = ResourceId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> dict[str, Any]:
    ensure(principal, RESOURCES_MANAGE, event_id)
    args = {"resource_id": resource_id, "fields": body.model_dump(exclude_unset=True)}
    return (await _change_resource(state, principal, event_id, "resource_update", args))["resource"]


@router.delete("/events/{event_id}/resources/{resource_id}", status_code=204, responses=ERR)
async def delete_resource(
    event_id: int = EventId,
    resource_id: str = ResourceId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
):
    """Delete a resource and its past bookings; refused while it has upcoming ones."""
    ensure(principal, RESOURCES_MANAGE, event_id)
    await _change_resource(state, principal, event_id, "resource_delete", {"resource_id": resource_id})
    return Response(status_code=204)


@router.post("/events/{event_id}/resources/{resource_id}/status", responses=ERR)
async def set_device_status(
    body: StatusIn,
    event_id: int = EventId,
    resource_id: str = ResourceId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> dict[str, Any]:
    """Set a device's status (staff), or report it (a device, with ``source: device``)."""
    ensure(principal, DEVICE_STATUS, event_id)
    args = {"resource_id": resource_id, **body.model_dump(exclude_none=True)}
    return (await _change_resource(state, principal, event_id, "device_status", args))["resource"]


@router.get("/events/{event_id}/resources/{resource_id}/status-history", responses=ERR)
async def device_status_history(
    event_id: int = EventId,
    resource_id: str = ResourceId,
    limit: int = Query(default=200, ge=1, le=1000),
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> list[dict[str, Any]]:
    """A device's statuses, newest first: who or what set each, and when."""
    ensure(principal, RESERVATIONS_READ, event_id)
    return await state.db.read(partial(store.status_history, event_id=event_id, resource_id=resource_id, limit=limit))


# -- reservations ------------------------------------------------------------------------------------


@router.get("/events/{event_id}/reservations", responses=ERR)
async def list_reservations(
    event_id: int = EventId,
    resource_id: str | None = Query(default=None, pattern=r"^[A-Za-z0-9_\-]{8,64}$"),
    status: Literal["pending", "approved", "rejected", "cancelled", "checked_in", "completed", "no_show"] | None = None,
    start_from: str | None = Query(default=None, max_length=40, description="ISO time; local if no offset"),
    start_to: str | None = Query(default=None, max_length=40, description="ISO time; local if no offset"),
    holder: str | None = Query(default=None, max_length=80, description="An attendee id or a holder's name"),
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> list[dict[str, Any]]:
    ensure(principal, RESERVATIONS_READ, event_id)

    def read(conn: Connection) -> list[dict[str, Any]]:
        tz = get_event_row(conn, event_id)["timezone"]
        low = None if start_from is None else rule.parse_time(start_from, tz, "start_from")
        high = None if start_to is None else rule.parse_time(start_to, tz, "start_to")
        return store.list_reservations(
            conn, event_id, resource_id=resource_id, status=status, start_from=low, start_to=high, holder=holder
        )

    return await state.db.read(read)


@router.post("/events/{event_id}/reservations", status_code=201, responses=ERR)
async def create_reservation(
    body: ReservationIn,
    event_id: int = EventId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> dict[str, Any]:
    """Book a resource, once or as a daily/weekly series. An overlap (buffers included) is refused with
    409 naming the booking it hits and the nearest free slot; with ``skip_conflicts`` a series books the
    free dates and lists the others under ``skipped``."""
    ensure(principal, RESERVE, event_id)
    reservation = {"id": uuid.uuid4().hex, **body.model_dump(exclude_none=True)}

    def change(conn: Connection, tz: str, now: float):
        return store.create_reservations(
            conn,
            event_id=event_id,
            tz=tz,
            args={"event_id": event_id, "reservation": reservation},
            actor=principal.email,
            station_id=principal.station_id,
            now=now,
        )

    answer = await write_event_change(state.db, event_id, change)
    return {"reservations": answer["reservations"], "skipped": answer["skipped"], "message": answer["message"]}


def _transition_endpoint(verb: str, command: str, permission: str, summary: str) -> None:
    async def endpoint(
        body: ReasonIn | None = None,
        event_id: int = EventId,
        reservation_id: str = ReservationId,
        principal: Principal = Depends(authenticated),
        state: ServerState = Depends(get_state),
    ) -> dict[str, Any]:
        ensure(principal, permission, event_id)
        args: dict[str, Any] = {"event_id": event_id, "reservation_id": reservation_id}
        if body is not None and body.reason:
            args["reason"] = body.reason

        def change(conn: Connection, tz: str, now: float):
            return store.change_reservation(
                conn, event_id=event_id, tz=tz, command=command, args=args, actor=principal.email, now=now
            )

        return (await write_event_change(state.db, event_id, change))["reservation"]

    endpoint.__name__ = f"{verb}_reservation"
    router.post(f"/events/{{event_id}}/reservations/{{reservation_id}}/{verb}", responses=ERR, summary=summary)(
        endpoint
    )


_transition_endpoint("approve", "reservation_approve", RESERVATIONS_APPROVE, "Approve a pending booking")
_transition_endpoint("reject", "reservation_reject", RESERVATIONS_APPROVE, "Reject a pending booking")
_transition_endpoint("cancel", "reservation_cancel", RESERVE, "Cancel a booking (frees its slot)")
_transition_endpoint("checkin", "reservation_checkin", RESERVE, "Check the holder in (from 15 min before start)")
_transition_endpoint("complete", "reservation_complete", RESERVE, "Finish a booking (an early end frees the rest)")


# -- calendars ---------------------------------------------------------------------------------------

ICS = "text/calendar; charset=utf-8"


def _calendar_response(body: bytes, name: str) -> Response:
    # Headers are Latin-1: the file name keeps only safe ASCII ("Studio Ä" -> "Studio-.ics").
    filename = (re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "bookings") + ".ics"
    return Response(body, media_type=ICS, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/events/{event_id}/resources/{resource_id}/bookings.ics", responses=ERR, response_class=Response)
async def resource_calendar(
    event_id: int = EventId,
    resource_id: str = ResourceId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> Response:
    """The resource's active bookings as an iCalendar file."""
    ensure(principal, RESERVATIONS_READ, event_id)

    def read(conn: Connection) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        resource = next((r for r in store.list_resources(conn, event_id) if r["id"] == resource_id), None)
        if resource is None:
            store.status_history(conn, event_id, resource_id)  # raises the "no resource" refusal
        return resource, store.list_reservations(conn, event_id, resource_id=resource_id)

    resource, bookings = await state.db.read(read)
    body = bookings_calendar(resource["name"], bookings, {resource["id"]: resource})
    return _calendar_response(body, resource["name"])


@router.get("/events/{event_id}/reservations.ics", responses=ERR, response_class=Response)
async def holder_calendar(
    event_id: int = EventId,
    holder: str = Query(min_length=1, max_length=80, description="An attendee id or a holder's name"),
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
) -> Response:
    """One holder's active bookings (by attendee id or name) as an iCalendar file."""
    ensure(principal, RESERVATIONS_READ, event_id)

    def read(conn: Connection) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
        resources = {r["id"]: r for r in store.list_resources(conn, event_id)}
        return resources, store.list_reservations(conn, event_id, holder=holder)

    resources, bookings = await state.db.read(read)
    return _calendar_response(bookings_calendar(f"Bookings of {holder}", bookings, resources), "bookings")
