"""Resources, their bookings and device status on the server — the only place a booking is decided.

Two desks booking one slot in the same second: every booking of a resource is decided with the
resource's row read ``FOR UPDATE`` (on SQLite the single writer thread already serialises them), so the
second request sees the first's row and is refused with the booking it hits and the nearest free slot.
Desks check their replica with the same domain rules first, but only this module decides.

Every change is one ``resource.updated`` / ``resource.deleted`` / ``reservation.updated`` entry in the
event's change log with the record's new ``rev``, so desks keep the newest whichever way they hear of it.

Belt and braces on PostgreSQL: each booking row keeps ``hold_until`` (its end plus the resource's buffer)
and an exclusion constraint refuses two active bookings of a resource whose ``[start, hold_until)``
overlap, whoever writes them (another program, a hand-made fix, a bug here). A booking written here
under the lock never meets it: ``hold_until`` is never more than end + the current buffer (a booking
finished long ago may keep an older one, which lies before any booking that can still be made), so the
database is never stricter than the rule; a refusal from it is turned into the rule's own answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, not_, or_, select, update

from focusdesk.domain import reservations as rule
from focusdesk.domain.attendees import check_id
from focusdesk.domain.errors import DomainError, FieldProblem, ValidationFailed, unknown_fields
from focusdesk.domain.timeutil import from_iso, local_hhmm, to_iso
from focusdesk.server.schema import attendees, device_status_history, events, reservations, resources
from focusdesk.server.store.prepared import Prepared, PreparedIn

Entry = tuple[str, str, object]
_UPCOMING = (rule.PENDING, rule.APPROVED, rule.CHECKED_IN)

ALLOWED_ARGS = {
    "resource_create": {"event_id", "resource"},
    "resource_update": {"event_id", "resource_id", "fields"},
    "resource_delete": {"event_id", "resource_id"},
    "device_status": {"event_id", "resource_id", "status", "note", "source"},
    "reservation_create": {"event_id", "reservation"},
    **{command: {"event_id", "reservation_id", "reason"} for command in rule.TRANSITIONS},
}


# -- records -----------------------------------------------------------------------------------------


def resource_record(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event_id": row["event_id"],
        "kind": row["kind"],
        "name": row["name"],
        "capacity": row["capacity"],
        "buffer_min": row["buffer_min"],
        "open_from": row["open_from"],
        "open_until": row["open_until"],
        "needs_approval": bool(row["needs_approval"]),
        "release_after_min": row["release_after_min"],
        "device_status": row["device_status"],
        "status_note": row["status_note"],
        "status_by": row["status_by"],
        "status_at": to_iso(row["status_at"]),
        "rev": row["rev"],
        "updated_at": to_iso(row["updated_at"]),
    }


def reservation_record(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event_id": row["event_id"],
        "resource_id": row["resource_id"],
        "holder_name": row["holder_name"],
        "attendee_id": row["attendee_id"],
        "start": to_iso(row["start"]),
        "end": to_iso(row["end"]),
        "status": row["status"],
        "series_id": row["series_id"],
        "note": row["note"],
        "created_by": row["created_by"],
        "station_id": row["station_id"],
        "created_at": to_iso(row["created_at"]),
        "checked_in_at": to_iso(row["checked_in_at"]),
        "decided_by": row["decided_by"],
        "reason": row["reason"],
        "rev": row["rev"],
        "updated_at": to_iso(row["updated_at"]),
    }


def _row_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The database row of a reservation record (ISO times back to epoch seconds)."""
    row = {c.name: record[c.name] for c in reservations.columns if c.name in record}
    for key in ("start", "end", "created_at", "checked_in_at", "updated_at"):
        row[key] = from_iso(record.get(key))
    return row


def list_resources(conn: Connection, event_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(resources).where(resources.c.event_id == event_id).order_by(resources.c.kind, resources.c.name_key)
    )
    return [resource_record(r) for r in rows.mappings()]


def list_reservations(
    conn: Connection,
    event_id: int,
    *,
    resource_id: str | None = None,
    status: str | None = None,
    start_from: float | None = None,
    start_to: float | None = None,
    holder: str | None = None,
) -> list[dict[str, Any]]:
    """The event's bookings, by start; ``holder`` matches an attendee id or the holder's name (any case)."""
    query = select(reservations).where(reservations.c.event_id == event_id)
    if resource_id is not None:
        query = query.where(reservations.c.resource_id == resource_id)
    if status is not None:
        query = query.where(reservations.c.status == status)
    if start_from is not None:
        query = query.where(reservations.c.start >= start_from)
    if start_to is not None:
        query = query.where(reservations.c.start < start_to)
    if holder is not None:
        query = query.where(
            or_(reservations.c.attendee_id == holder, func.lower(reservations.c.holder_name) == holder.casefold())
        )
    rows = conn.execute(query.order_by(reservations.c.start, reservations.c.id))
    return [reservation_record(r) for r in rows.mappings()]


def status_history(conn: Connection, event_id: int, resource_id: str, limit: int = 200) -> list[dict[str, Any]]:
    _resource(conn, event_id, resource_id, lock=False)
    rows = conn.execute(
        select(device_status_history)
        .where(device_status_history.c.resource_id == resource_id)
        .order_by(device_status_history.c.at.desc(), device_status_history.c.id.desc())
        .limit(limit)
    ).mappings()
    return [
        {"status": r["status"], "note": r["note"], "source": r["source"], "by": r["by"], "at": to_iso(r["at"])}
        for r in rows
    ]


# -- helpers -----------------------------------------------------------------------------------------


def _refuse_unknown(command: str, args: dict[str, Any]) -> None:
    problems = unknown_fields(args, ALLOWED_ARGS[command], "args.")
    if problems:
        raise ValidationFailed(problems)


def _an_id(value: object, field: str) -> str:
    problems: list[FieldProblem] = []
    found = check_id(value, problems, field)
    if found is None:
        raise ValidationFailed(problems)
    return found


# -- hot-path statements (see prepared.py): every booking runs these ---------------------------------

_RESOURCE_QUERY = select(resources).where(
    resources.c.id == bindparam("resource_id"), resources.c.event_id == bindparam("event_id")
)
_RESOURCE = Prepared(_RESOURCE_QUERY)
_RESOURCE_FOR_UPDATE = Prepared(_RESOURCE_QUERY.with_for_update())
_ACTIVE = tuple(sorted(rule.ACTIVE))
_ACTIVE_BINDS = {f"status_{i}": status for i, status in enumerate(_ACTIVE)}
_BOOKED = Prepared(
    select(reservations).where(
        reservations.c.resource_id == bindparam("resource_id"),
        reservations.c.status.in_([bindparam(name) for name in _ACTIVE_BINDS]),
        reservations.c.start < bindparam("high"),
        reservations.c.end > bindparam("low"),
    )
)
_TAKEN_IDS = PreparedIn(lambda ids: select(reservations.c.id).where(reservations.c.id.in_(ids)))
# The columns a new booking sets: its record's fields (reminded_at, and any column not in the record, stay
# NULL, as with a plain insert of the record's row).
_RECORD_COLUMNS = (
    "id",
    "event_id",
    "resource_id",
    "holder_name",
    "attendee_id",
    "start",
    "end",
    "status",
    "series_id",
    "note",
    "created_by",
    "station_id",
    "created_at",
    "checked_in_at",
    "decided_by",
    "reason",
    "rev",
    "updated_at",
    "hold_until",
)
_INSERT_RESERVATION = Prepared(insert(reservations).values({c: bindparam(c) for c in _RECORD_COLUMNS}))


def _resource(conn: Connection, event_id: int, resource_id: str, *, lock: bool = True) -> dict[str, Any]:
    found = (_RESOURCE_FOR_UPDATE if lock else _RESOURCE).mappings(
        conn, {"resource_id": resource_id, "event_id": event_id}
    )
    row = found[0] if found else None
    if row is None:
        raise DomainError(
            "unknown_resource", f"no resource {resource_id} at event {event_id}; it may have been deleted"
        )
    return resource_record(row)


def _refuse_taken_name(conn: Connection, event_id: int, name: str, resource_id: str) -> None:
    clash = conn.execute(
        select(resources.c.name).where(
            resources.c.event_id == event_id, resources.c.name_key == name.casefold(), resources.c.id != resource_id
        )
    ).first()
    if clash is not None:
        raise DomainError("duplicate_resource", f"there is already a resource called {clash.name}")


# SQLSTATE exclusion_violation: PostgreSQL refused an overlapping booking (ex_reservations_resource_id_hold).
_EXCLUSION_VIOLATION = "23P01"


class _DatabaseRefusedOverlap(Exception):
    """The exclusion constraint refused a reservation write (its savepoint is rolled back)."""


def _is_exclusion_violation(exc: BaseException) -> bool:
    # Prepared statements raise the driver's error as it is; conn.execute wraps it in IntegrityError.
    for err in (exc, getattr(exc, "orig", None), exc.__cause__):
        if err is not None and (getattr(err, "sqlstate", None) or getattr(err, "pgcode", None)) == _EXCLUSION_VIOLATION:
            return True
    return False


@contextmanager
def _overlap_guard(conn: Connection) -> Iterator[None]:
    """Run a reservation write so that PostgreSQL refusing an overlap fails only that write: in a
    savepoint (the transaction, and the group commit around it, goes on), raising _DatabaseRefusedOverlap
    for the caller to answer as the rule would. SQLite has no such constraint: nothing to guard."""
    if conn.dialect.name != "postgresql":
        yield
        return
    try:
        with conn.begin_nested():
            yield
    except Exception as exc:
        if _is_exclusion_violation(exc):
            raise _DatabaseRefusedOverlap from exc
        raise


def _resource_updated(conn: Connection, resource_id: str) -> tuple[dict[str, Any], Entry]:
    record = resource_record(conn.execute(select(resources).where(resources.c.id == resource_id)).mappings().one())
    return record, ("resource.updated", resource_id, {"resource": record})


def _set_device_status(
    conn: Connection, resource: dict[str, Any], status: str, note: str, *, source: str, actor: str, now: float
) -> None:
    conn.execute(
        update(resources)
        .where(resources.c.id == resource["id"])
        .values(
            device_status=status,
            status_note=note,
            status_by=actor[:254],
            status_at=now,
            rev=resources.c.rev + 1,
            updated_at=now,
        )
    )
    conn.execute(
        insert(device_status_history).values(
            resource_id=resource["id"], status=status, note=note, source=source, by=actor[:254], at=now
        )
    )


# -- resources ---------------------------------------------------------------------------------------


def change_resource(
    conn: Connection, *, event_id: int, command: str, args: dict[str, Any], actor: str, now: float
) -> tuple[dict[str, Any], list[Entry]]:
    """Add, change or delete a resource, or set a device's status; returns the answer and log entries."""
    _refuse_unknown(command, args)
    if command == "resource_create":
        data = args.get("resource")
        if not isinstance(data, dict):
            raise ValidationFailed([FieldProblem("args.resource", "must be an object with kind and name")])
        resource_id = _an_id(data.get("id"), "args.resource.id")
        fields = rule.validate_resource(data, prefix="args.resource.")
        if conn.execute(select(resources.c.id).where(resources.c.id == resource_id)).first():
            raise DomainError("duplicate_id", f"a resource with id {resource_id} already exists")
        _refuse_taken_name(conn, event_id, fields["name"], resource_id)
        device = fields["kind"] == rule.DEVICE
        conn.execute(
            insert(resources).values(
                id=resource_id,
                event_id=event_id,
                name_key=fields["name"].casefold(),
                device_status="available" if device else None,
                status_note="",
                status_by=actor[:254] if device else None,
                status_at=now if device else None,
                rev=1,
                created_at=now,
                updated_at=now,
                **fields,
            )
        )
        if device:
            conn.execute(
                insert(device_status_history).values(
                    resource_id=resource_id, status="available", note="added", source="staff", by=actor[:254], at=now
                )
            )
        record, entry = _resource_updated(conn, resource_id)
        return {"status": "applied", "resource": record, "message": f"{record['name']} added"}, [entry]

    resource_id = _an_id(args.get("resource_id"), "args.resource_id")
    resource = _resource(conn, event_id, resource_id)
    if command == "resource_delete":
        upcoming = conn.execute(
            select(func.count())
            .select_from(reservations)
            .where(
                reservations.c.resource_id == resource_id,
                reservations.c.status.in_(_UPCOMING),
                reservations.c.end > now,
            )
        ).scalar_one()
        if upcoming:
            raise DomainError(
                "has_bookings",
                f"{resource['name']} has {upcoming} upcoming booking{'s' if upcoming != 1 else ''}; cancel them first",
            )
        conn.execute(delete(reservations).where(reservations.c.resource_id == resource_id))
        conn.execute(delete(device_status_history).where(device_status_history.c.resource_id == resource_id))
        conn.execute(delete(resources).where(resources.c.id == resource_id))
        gone = {"id": resource_id, "event_id": event_id, "rev": resource["rev"] + 1}
        return (
            {"status": "applied", "deleted_resource": gone, "message": f"{resource['name']} deleted"},
            [("resource.deleted", resource_id, gone)],
        )
    if command == "device_status":
        if resource["kind"] != rule.DEVICE:
            raise DomainError("not_a_device", f"{resource['name']} is a room; only devices have a status")
        status, note = rule.validate_device_status(args.get("status"), args.get("note"))
        source = args.get("source", "staff")
        if source not in ("staff", "device"):
            raise ValidationFailed([FieldProblem("args.source", "must be staff or device")])
        _set_device_status(conn, resource, status, note, source=source, actor=actor, now=now)
        record, entry = _resource_updated(conn, resource_id)
        words = rule.STATUS_WORDS[status]
        return {"status": "applied", "resource": record, "message": f"{record['name']} is {words}"}, [entry]

    # resource_update
    fields = args.get("fields")
    if not isinstance(fields, dict):
        raise ValidationFailed([FieldProblem("args.fields", "must be an object of the fields to change")])
    fields = rule.validate_resource(fields, prefix="args.fields.", partial=True)
    merged = {**resource, **fields}
    if merged.get("open_from") and merged.get("open_until") and merged["open_from"] >= merged["open_until"]:
        raise ValidationFailed([FieldProblem("args.fields.open_until", "must be later than open_from")])
    if bool(merged.get("open_from")) != bool(merged.get("open_until")):
        raise ValidationFailed(
            [FieldProblem("args.fields.open_until", "give both open_from and open_until, or neither")]
        )
    if "name" in fields:
        _refuse_taken_name(conn, event_id, fields["name"], resource_id)
        fields["name_key"] = fields["name"].casefold()
    if "buffer_min" in fields and fields["buffer_min"] != resource["buffer_min"]:
        _rehold(conn, event_id, resource, fields["buffer_min"], now)
    conn.execute(
        update(resources).where(resources.c.id == resource_id).values(rev=resources.c.rev + 1, updated_at=now, **fields)
    )
    record, entry = _resource_updated(conn, resource_id)
    return {"status": "applied", "resource": record, "message": f"{record['name']} changed"}, [entry]


def _rehold(conn: Connection, event_id: int, resource: dict[str, Any], buffer_min: int, now: float) -> None:
    """The resource's buffer becomes ``buffer_min``: its bookings' ``hold_until`` follow — those the buffer
    still matters for: not finished yet (their status may still change), or finished less than the larger
    buffer (plus the grace a new booking may start in the past) ago. Older finished ones keep theirs: it
    lies before any booking that can still be made, so it refuses nothing the rule allows.

    A larger buffer is refused, naming the first two bookings it would leave too close, unless every pair
    still fits — checked with the rule, exactly as the database will see the rows once they are changed.
    A smaller one always fits (every hold only shrinks). The caller holds the resource's row lock, so no
    booking of it is being decided meanwhile.
    """
    old_s, new_s = resource["buffer_min"] * 60.0, buffer_min * 60.0
    active = and_(reservations.c.resource_id == resource["id"], reservations.c.status.in_(_ACTIVE))
    reach = max(old_s, new_s) + rule.PAST_GRACE_S
    reached = and_(active, or_(reservations.c.status != rule.COMPLETED, reservations.c.end + reach > now))
    new_hold = reservations.c.end + new_s
    if new_s < old_s:
        conn.execute(
            update(reservations).where(reached, reservations.c.hold_until > new_hold).values(hold_until=new_hold)
        )
        return
    rows = conn.execute(select(reservations).where(reached)).mappings().all()
    if not rows:
        return
    moving = [rule.Booked(r["id"], r["start"], r["end"], reservation_record(r)) for r in rows]
    earliest = min(b.start for b in moving)
    kept = conn.execute(select(reservations).where(active, not_(reached), reservations.c.hold_until > earliest))
    fixed = [
        (rule.Booked(r["id"], r["start"], r["end"], reservation_record(r)), r["hold_until"]) for r in kept.mappings()
    ]
    pair = rule.first_too_close(moving, new_s, fixed=fixed)
    if pair is not None:
        tz = conn.execute(select(events.c.timezone).where(events.c.id == event_id)).scalar_one()
        raise rule.too_close_error(resource, buffer_min, pair, tz)
    try:
        with _overlap_guard(conn):
            conn.execute(update(reservations).where(reached).values(hold_until=new_hold))
    except _DatabaseRefusedOverlap:  # a booking written just now without the resource's lock
        raise DomainError(
            "reservation_conflict",
            f"{resource['name']} was just booked close to another booking; look at its bookings and try again",
        ) from None


# -- reservations ------------------------------------------------------------------------------------


def _booked(conn: Connection, resource_id: str, low: float, high: float) -> list[rule.Booked]:
    """Active bookings of the resource that touch ``low``–``high``."""
    rows = _BOOKED.mappings(conn, {"resource_id": resource_id, "low": low, "high": high, **_ACTIVE_BINDS})
    return [rule.Booked(r["id"], r["start"], r["end"], reservation_record(r)) for r in rows]


def create_reservations(
    conn: Connection,
    *,
    event_id: int,
    tz: str,
    args: dict[str, Any],
    actor: str,
    station_id: str | None,
    now: float,
) -> tuple[dict[str, Any], list[Entry]]:
    """Book a resource once or as a series. An overlap refuses the whole request — or, with
    ``skip_conflicts``, only the occurrences that overlap (listed in the answer's ``skipped``)."""
    _refuse_unknown("reservation_create", args)
    data = args.get("reservation")
    if not isinstance(data, dict):
        raise ValidationFailed(
            [FieldProblem("args.reservation", "must be an object: resource_id, holder_name, start, end")]
        )
    base_id = _an_id(data.get("id"), "args.reservation.id")
    request = rule.validate_reservation(data, tz, prefix="args.reservation.")
    if (
        request.attendee_id is not None
        and not conn.execute(
            select(attendees.c.id).where(attendees.c.id == request.attendee_id, attendees.c.event_id == event_id)
        ).first()
    ):
        raise DomainError("unknown_attendee", f"no attendee {request.attendee_id} at event {event_id}")
    resource = _resource(conn, event_id, request.resource_id)  # the lock every booking of it waits on
    slots = rule.occurrences(request.start, request.end, request.repeat, tz)
    if len(slots) > 1 and len(base_id) > 60:
        raise ValidationFailed([FieldProblem("args.reservation.id", "a series' id is at most 60 characters")])
    ids = [rule.occurrence_id(base_id, i) for i in range(len(slots))]
    if _TAKEN_IDS.rows(conn, ids):
        raise DomainError("duplicate_id", f"a reservation with id {base_id} already exists")
    buffer_s = resource["buffer_min"] * 60.0
    low, high = min(s for s, _e in slots), max(e for _s, e in slots)
    # Only a booking reaching within the buffer of an occurrence can decide it, so the plan is made with
    # those alone (a handful, however busy the resource). The two weeks around are read only to refuse:
    # the nearest free slot is looked for that far, so the plan is made again with them and the refusal
    # is exactly what it would have been (same decisions: the extra bookings overlap no occurrence).
    try:
        near = _booked(conn, resource["id"], low - buffer_s, high + buffer_s)
        plan = rule.plan_booking(resource, slots, near, tz, skip_conflicts=request.skip_conflicts, now=now)
    except DomainError as exc:
        if exc.code != "reservation_conflict":
            raise
        reach = rule.SEARCH_HORIZON_DAYS * 86400 + buffer_s
        booked = _booked(conn, resource["id"], low - reach, high + reach)
        plan = rule.plan_booking(resource, slots, booked, tz, skip_conflicts=request.skip_conflicts, now=now)
    status = rule.PENDING if resource["needs_approval"] else rule.APPROVED
    series_id = base_id if len(slots) > 1 else None
    made = [
        {
            "id": ids[index],
            "event_id": event_id,
            "resource_id": resource["id"],
            "holder_name": request.holder_name,
            "attendee_id": request.attendee_id,
            "start": to_iso(start),
            "end": to_iso(end),
            "status": status,
            "series_id": series_id,
            "note": request.note,
            "created_by": actor[:254],
            "station_id": station_id,
            "created_at": to_iso(now),
            "checked_in_at": None,
            "decided_by": None,
            "reason": "",
            "rev": 1,
            "updated_at": to_iso(now),
        }
        for index, start, end in plan.kept
    ]
    skipped = [s.to_dict() for s in plan.skipped]
    rows = [_row_of(r) for r in made]
    for row in rows:
        row["hold_until"] = row["end"] + buffer_s
    try:
        with _overlap_guard(conn):
            _INSERT_RESERVATION.many(conn, rows)
    except _DatabaseRefusedOverlap:
        # Someone wrote a booking of this resource without its lock and PostgreSQL refused ours. Decide
        # again with what is there now: the rule's own refusal, naming the booking and the nearest free slot.
        reach = rule.SEARCH_HORIZON_DAYS * 86400 + buffer_s
        booked = _booked(conn, resource["id"], low - reach, high + reach)
        try:
            rule.plan_booking(resource, slots, booked, tz, skip_conflicts=False, now=now)
        except DomainError as exc:
            raise DomainError(exc.code, f"that slot was just taken; {exc.message}", details=exc.details) from None
        raise DomainError(
            "reservation_conflict",
            f"that slot was just taken; {resource['name']} is held by another booking there now — "
            "look at its bookings and choose another time",
        ) from None
    entries: list[Entry] = [("reservation.updated", r["id"], {"reservation": r}) for r in made]
    first = made[0]
    what = rule.describe(first, resource["name"], tz)
    state = "awaiting approval" if status == rule.PENDING else "booked"
    if len(slots) == 1:
        message = f"{what}: {state}"
    else:
        message = f"{what} and {len(made) - 1} more: {state}"
        if skipped:
            message += f"; {len(skipped)} date{'s' if len(skipped) != 1 else ''} skipped (taken)"
    answer = {"status": "applied", "reservations": made, "skipped": skipped, "message": message}
    if len(made) == 1:
        answer["reservation"] = first
    return answer, entries


def change_reservation(
    conn: Connection, *, event_id: int, tz: str, command: str, args: dict[str, Any], actor: str, now: float
) -> tuple[dict[str, Any], list[Entry]]:
    """Approve, reject, cancel, check in or complete one booking."""
    _refuse_unknown(command, args)
    problems: list[FieldProblem] = []
    reservation_id = check_id(args.get("reservation_id"), problems, "args.reservation_id")
    reason = args.get("reason") or ""
    if not isinstance(reason, str) or len(reason) > rule.NOTE_MAX:
        problems.append(FieldProblem("args.reason", f"must be text of at most {rule.NOTE_MAX} characters"))
    if problems:
        raise ValidationFailed(problems)
    row = (
        conn.execute(
            select(reservations)
            .where(reservations.c.id == reservation_id, reservations.c.event_id == event_id)
            .with_for_update()
        )
        .mappings()
        .first()
    )
    if row is None:
        raise DomainError("unknown_reservation", f"no reservation {reservation_id} at event {event_id}")
    before = reservation_record(row)
    resource = _resource(conn, event_id, before["resource_id"])
    after = rule.transition(before, command, now=now, resource=resource, tz_name=tz, actor=actor[:254], reason=reason)
    try:
        with _overlap_guard(conn):
            answer, entries = _save(conn, before, after, now, held=row["hold_until"], buffer_min=resource["buffer_min"])
    except _DatabaseRefusedOverlap:
        raise DomainError(
            "reservation_conflict",
            f"that slot was just taken; {rule.describe(before, resource['name'], tz)} overlaps another booking"
            " there now — look at its bookings again",
        ) from None
    entries.extend(_follow_device(conn, resource, after["status"], actor=actor, now=now))
    answer["message"] = f"{rule.describe(after, resource['name'], tz)}: {rule.TRANSITIONS[command][2]}"
    return answer, entries


def _save(
    conn: Connection, before: dict[str, Any], after: dict[str, Any], now: float, *, held: float, buffer_min: int
) -> tuple[dict, list[Entry]]:
    """Write a booking's new state. Its hold follows its end (an early finish frees the rest) but never
    grows: a status change takes no room the booking did not hold already."""
    after = {**after, "rev": before["rev"] + 1, "updated_at": to_iso(now)}
    row = _row_of(after)
    row["hold_until"] = min(held, row["end"] + buffer_min * 60.0)
    conn.execute(update(reservations).where(reservations.c.id == after["id"]).values(**row))
    return {"status": "applied", "reservation": after}, [("reservation.updated", after["id"], {"reservation": after})]


def _follow_device(conn: Connection, resource: dict[str, Any], status: str, *, actor: str, now: float) -> list[Entry]:
    """A device someone checked in to is in use; once they are done (or never came) it is available
    again — unless staff marked it otherwise meanwhile (offline, maintenance stays as they said)."""
    if resource["kind"] != rule.DEVICE:
        return []
    if status == rule.CHECKED_IN and resource["device_status"] in ("available", "online"):
        new = "in_use"
    elif status in (rule.COMPLETED, rule.NO_SHOW, rule.CANCELLED) and resource["device_status"] == "in_use":
        new = "available"
    else:
        return []
    _set_device_status(conn, resource, new, "", source="booking", actor=actor, now=now)
    record, entry = _resource_updated(conn, resource["id"])
    resource.update(record)
    return [entry]


# -- the server's own clock work -------------------------------------------------------------------


def sweep(conn: Connection, now: float, tz_of: Mapping[int, str]) -> dict[int, list[Entry]]:
    """Release no-shows, expire undecided requests, complete finished bookings and send reminders that
    are due at ``now``; returns the log entries per event. Runs inside one transaction."""
    out: dict[int, list[Entry]] = {}
    deadline = reservations.c.start + resources.c.release_after_min * 60
    due = conn.execute(
        select(reservations, resources.c.release_after_min)
        .join(resources, resources.c.id == reservations.c.resource_id)
        .where(
            or_(
                # ``start <= now`` is implied by the deadline; said outright, it lets the (status, start)
                # index narrow the scan to bookings that have begun.
                and_(
                    reservations.c.status.in_((rule.APPROVED, rule.PENDING)),
                    reservations.c.start <= now,
                    deadline <= now,
                ),
                and_(reservations.c.status == rule.CHECKED_IN, reservations.c.end <= now),
            )
        )
        .order_by(reservations.c.start, reservations.c.id)
        .with_for_update()
    ).mappings()
    for row in list(due):
        before = reservation_record(row)
        resource = _resource(conn, row["event_id"], row["resource_id"])
        tz = tz_of.get(row["event_id"], "UTC")
        if before["status"] == rule.CHECKED_IN:
            after = {**before, "status": rule.COMPLETED, "decided_by": "FocusDesk"}
        elif before["status"] == rule.APPROVED:
            at = local_hhmm(row["start"] + row["release_after_min"] * 60, tz)
            after = {**before, "status": rule.NO_SHOW, "decided_by": "FocusDesk", "reason": f"not checked in by {at}"}
        else:
            after = {
                **before,
                "status": rule.REJECTED,
                "decided_by": "FocusDesk",
                "reason": "nobody approved it in time",
            }
        _answer, entries = _save(conn, before, after, now, held=row["hold_until"], buffer_min=resource["buffer_min"])
        entries.extend(_follow_device(conn, resource, after["status"], actor="FocusDesk", now=now))
        out.setdefault(row["event_id"], []).extend(entries)
    for event_id, entries in _send_reminders(conn, now, tz_of).items():
        out.setdefault(event_id, []).extend(entries)
    return out


def _send_reminders(conn: Connection, now: float, tz_of: Mapping[int, str]) -> dict[int, list[Entry]]:
    # Imported here: notices import nothing of reservations, and the sweep is the only user.
    from focusdesk.server.store.notices import post_system_notice

    rows = conn.execute(
        select(reservations, resources.c.name.label("resource_name"))
        .join(resources, resources.c.id == reservations.c.resource_id)
        .where(
            reservations.c.status.in_((rule.APPROVED, rule.PENDING)),
            reservations.c.reminded_at.is_(None),
            reservations.c.start <= now + rule.REMINDER_BEFORE_S,
            reservations.c.start > now,
        )
        .with_for_update()
    ).mappings()
    out: dict[int, list[Entry]] = {}
    for row in list(rows):
        conn.execute(update(reservations).where(reservations.c.id == row["id"]).values(reminded_at=now))
        # A booking made for the next ten minutes needs no reminder; one made from a script has no desk.
        if row["station_id"] is None or row["created_at"] > row["start"] - rule.REMINDER_BEFORE_S:
            continue
        tz = tz_of.get(row["event_id"], "UTC")
        minutes = max(1, math.ceil((row["start"] - now) / 60))
        waiting = " (still awaiting approval)" if row["status"] == rule.PENDING else ""
        body = (
            f"Reminder: {row['resource_name']} is booked for {row['holder_name']} at"
            f" {local_hhmm(row['start'], tz)}, in {minutes} min{waiting}."
        )
        entries = post_system_notice(
            conn,
            event_id=row["event_id"],
            notice_id=f"rm-{row['id']}"[:64],
            body=body,
            station_id=row["station_id"],
            expires_at=row["end"],
            now=now,
        )
        out.setdefault(row["event_id"], []).extend(entries)
    return out


def next_due(conn: Connection, now: float) -> float | None:
    """When :func:`sweep` next has something to do (None: nothing booked ahead)."""
    waiting = reservations.c.status.in_((rule.APPROVED, rule.PENDING))
    earliest = conn.execute(select(func.min(reservations.c.start)).where(waiting)).scalar()
    # A release falls due at most RELEASE_MAX_MIN after its start: only bookings starting that close to
    # the earliest one can be next, and the (status, start) index finds them.
    horizon = None if earliest is None else earliest + rule.RELEASE_MAX_MIN * 60
    candidates = [
        None
        if horizon is None
        else conn.execute(
            select(func.min(reservations.c.start + resources.c.release_after_min * 60))
            .join(resources, resources.c.id == reservations.c.resource_id)
            .where(waiting, reservations.c.start <= horizon)
        ).scalar(),
        conn.execute(select(func.min(reservations.c.end)).where(reservations.c.status == rule.CHECKED_IN)).scalar(),
        conn.execute(
            select(func.min(reservations.c.start - rule.REMINDER_BEFORE_S)).where(
                reservations.c.status.in_((rule.APPROVED, rule.PENDING)),
                reservations.c.reminded_at.is_(None),
                reservations.c.start > now,
            )
        ).scalar(),
    ]
    found = [float(c) for c in candidates if c is not None]
    return min(found) if found else None
