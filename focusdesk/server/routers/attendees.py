"""Attendees: list, read, add, edit, remove; CSV import (preview, all-or-nothing) and export."""

from __future__ import annotations

import asyncio
import codecs
import time
from functools import partial
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import Connection

from focusdesk.domain.attendees import validate_attendee
from focusdesk.domain.csv_io import CsvFormatError, export_attendees_csv, parse_attendee_csv
from focusdesk.domain.errors import FieldProblem, ValidationFailed
from focusdesk.domain.roles import ATTENDEE_EXPORT, ATTENDEE_READ, ATTENDEE_WRITE, Principal
from focusdesk.server.api_models import (
    AttendeeDetailOut,
    AttendeeIn,
    AttendeeOut,
    AttendeePage,
    AttendeePatch,
    ErrorOut,
    ImportOut,
)
from focusdesk.server.deps import authenticated, ensure
from focusdesk.server.errors import ApiError
from focusdesk.server.state import ServerState, get_state
from focusdesk.server.store import attendees as store

router = APIRouter(tags=["attendees"])
ERR = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    409: {"model": ErrorOut},
    422: {"model": ErrorOut},
}
EventId = Path(ge=1, le=2**31 - 1)
AttendeeId = Path(pattern=r"^[A-Za-z0-9_\-]{8,64}$")


@router.get("/events/{event_id}/attendees", response_model=AttendeePage, responses=ERR)
async def list_attendees(
    event_id: int = EventId,
    q: str | None = Query(default=None, max_length=200, description="Part of a name, email or company"),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=10_000_000),
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
):
    ensure(principal, ATTENDEE_READ, event_id)
    return await state.db.read(partial(store.list_attendees, event_id=event_id, q=q, limit=limit, offset=offset))


@router.post("/events/{event_id}/attendees", response_model=AttendeeOut, status_code=201, responses=ERR)
async def create_attendee(
    body: AttendeeIn,
    event_id: int = EventId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
):
    """Register one attendee (desks register walk-ins with the `walkin` command instead)."""
    ensure(principal, ATTENDEE_WRITE, event_id)
    fields = validate_attendee(body.model_dump())
    record, _ = await state.db.write(partial(store.create_attendee, event_id=event_id, f=fields, now=time.time()))
    return record


@router.get("/events/{event_id}/attendees/export", responses={**ERR, 200: {"content": {"text/csv": {}}}})
async def export_attendees(
    event_id: int = EventId, principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)
):
    """All attendees as CSV (UTF-8 with BOM so spreadsheet programs read accents right)."""
    ensure(principal, ATTENDEE_EXPORT, event_id)
    rows = await state.db.read(partial(store.export_rows, event_id=event_id))
    text = await asyncio.to_thread(export_attendees_csv, rows)
    return Response(
        ("\ufeff" + text).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="event-{event_id}-attendees.csv"'},
    )


@router.post(
    "/events/{event_id}/attendees/import",
    response_model=ImportOut,
    responses=ERR,
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_attendees(
    request: Request,
    event_id: int = EventId,
    dry_run: bool = Query(default=False, description="Only report what would happen"),
    on_duplicate: Literal["skip", "update", "error"] = Query(
        default="skip", description="What to do with rows whose email is already registered"
    ),
    encoding: str = Query(default="utf-8", max_length=32),
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
):
    """Import attendees from CSV. All rows are applied or, if any row has an error, none."""
    ensure(principal, ATTENDEE_WRITE, event_id)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValidationFailed([FieldProblem("query.encoding", f"'{encoding}' is not a known text encoding")]) from None
    data = await request.body()
    try:
        parsed = await asyncio.to_thread(parse_attendee_csv, data, encoding=encoding)
    except CsvFormatError as exc:
        raise ApiError(
            "invalid_csv",
            f"The CSV file cannot be read: {exc.reason}",
            errors=[{"row": exc.row, "field": exc.field, "reason": exc.reason}],
        ) from None
    now = time.time()

    def work(conn: Connection) -> dict:
        plan = store.plan_import(conn, event_id, parsed, on_duplicate)
        if dry_run or plan.errors:
            return plan.summary(dry_run=dry_run, applied=False)
        store.apply_import(conn, event_id, plan, now)
        return plan.summary(dry_run=False, applied=True)

    summary = await (state.db.read(work) if dry_run else state.db.write(work))
    if not dry_run and not summary["applied"]:
        raise ApiError(
            "import_has_errors",
            f"The file has {len(summary['errors'])} error(s); nothing was imported. Fix them and import again.",
            **{k: v for k, v in summary.items() if k not in ("code", "message")},
        )
    return summary


@router.get("/events/{event_id}/attendees/{attendee_id}", response_model=AttendeeDetailOut, responses=ERR)
async def get_attendee(
    event_id: int = EventId,
    attendee_id: str = AttendeeId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
):
    """One attendee with their check-in history."""
    ensure(principal, ATTENDEE_READ, event_id)
    return await state.db.read(partial(store.get_attendee, event_id=event_id, attendee_id=attendee_id))


@router.patch("/events/{event_id}/attendees/{attendee_id}", response_model=AttendeeOut, responses=ERR)
async def update_attendee(
    body: AttendeePatch,
    event_id: int = EventId,
    attendee_id: str = AttendeeId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
):
    ensure(principal, ATTENDEE_WRITE, event_id)
    raw = body.model_dump(exclude_unset=True)
    status = raw.pop("status", None)
    values = validate_attendee(raw, partial=True) if raw else {}
    if status is not None:
        values["status"] = status
    record, _ = await state.db.write(
        partial(store.update_attendee, event_id=event_id, attendee_id=attendee_id, values=values, now=time.time())
    )
    return record


@router.delete("/events/{event_id}/attendees/{attendee_id}", status_code=204, responses=ERR)
async def delete_attendee(
    event_id: int = EventId,
    attendee_id: str = AttendeeId,
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
):
    """Remove an attendee and their check-ins (desks that still hold them get a final refusal)."""
    ensure(principal, ATTENDEE_WRITE, event_id)
    await state.db.write(partial(store.delete_attendee, event_id=event_id, attendee_id=attendee_id, now=time.time()))
    return Response(status_code=204)
