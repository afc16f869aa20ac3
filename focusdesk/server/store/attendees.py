"""Attendees as organizers manage them: list, edit, remove, import, export, counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, case, delete, func, insert, or_, select, update

from focusdesk.domain.attendees import AttendeeFields, new_attendee_id, new_qr_secret
from focusdesk.domain.csv_io import ParsedImport
from focusdesk.domain.errors import DomainError
from focusdesk.server.schema import attendees, checkins, events
from focusdesk.server.store.changelog import Change, append_changes, event_scope
from focusdesk.server.store.events import get_event_row
from focusdesk.server.store.records import attendee_record, checkin_record, dumps

ON_DUPLICATE = ("skip", "update", "error")


def attendee_not_found(event_id: int, attendee_id: str) -> DomainError:
    return DomainError("not_found", f"no attendee {attendee_id} in event {event_id}")


def _row(conn: Connection, event_id: int, attendee_id: str) -> dict[str, Any]:
    row = (
        conn.execute(select(attendees).where(attendees.c.id == attendee_id, attendees.c.event_id == event_id))
        .mappings()
        .first()
    )
    if row is None:
        raise attendee_not_found(event_id, attendee_id)
    return dict(row)


def list_attendees(conn: Connection, event_id: int, q: str | None, limit: int, offset: int) -> dict:
    get_event_row(conn, event_id)
    query = select(attendees).where(attendees.c.event_id == event_id)
    if q:
        needle = f"%{q.lower()}%"
        query = query.where(
            or_(
                func.lower(attendees.c.name).like(needle),
                func.lower(attendees.c.email).like(needle),
                func.lower(attendees.c.company).like(needle),
            )
        )
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(attendees.c.reg_no).limit(limit).offset(offset)).mappings()
    return {"total": total, "items": [attendee_record(r) for r in rows]}


def get_attendee(conn: Connection, event_id: int, attendee_id: str) -> dict:
    record = attendee_record(_row(conn, event_id, attendee_id))
    history = conn.execute(
        select(checkins).where(checkins.c.attendee_id == attendee_id).order_by(checkins.c.at)
    ).mappings()
    record["checkins"] = [checkin_record(r) for r in history]
    return record


def _allocate_reg_nos(conn: Connection, event_id: int, n: int) -> int:
    """Reserve ``n`` registration numbers; returns the first."""
    end = conn.execute(
        update(events)
        .where(events.c.id == event_id)
        .values(next_reg_no=events.c.next_reg_no + n)
        .returning(events.c.next_reg_no)
    ).scalar_one()
    return end - n


def _new_row(event_id: int, reg_no: int, f: AttendeeFields, now: float) -> dict[str, Any]:
    return {
        "id": new_attendee_id(),
        "event_id": event_id,
        "reg_no": reg_no,
        "name": f.name,
        "email": f.email,
        "company": f.company,
        "ticket_type": f.ticket_type,
        "custom": dumps(f.custom),
        "status": "registered",
        "qr_secret": f.qr_secret or new_qr_secret(),
        "checked_in": False,
        "checked_in_at": None,
        "checked_in_station": None,
        "checkin_count": 0,
        "created_at": now,
        "updated_at": now,
    }


def _refuse_taken(
    conn: Connection, event_id: int, email: str | None, qr: str | None, own_id: str | None = None
) -> None:
    if email:
        row = conn.execute(
            select(attendees.c.id, attendees.c.name, attendees.c.reg_no).where(
                attendees.c.event_id == event_id, attendees.c.email == email
            )
        ).first()
        if row is not None and row.id != own_id:
            raise DomainError("duplicate_email", f"{email} is already registered as {row.name} (#{row.reg_no})")
    if qr:
        row = conn.execute(
            select(attendees.c.id).where(attendees.c.event_id == event_id, attendees.c.qr_secret == qr)
        ).first()
        if row is not None and row.id != own_id:
            raise DomainError("duplicate_qr", "that QR secret already belongs to another attendee")


def create_attendee(conn: Connection, event_id: int, f: AttendeeFields, now: float) -> tuple[dict, list[Change]]:
    get_event_row(conn, event_id)
    _refuse_taken(conn, event_id, f.email, f.qr_secret)
    row = _new_row(event_id, _allocate_reg_nos(conn, event_id, 1), f, now)
    conn.execute(insert(attendees).values(**row))
    record = attendee_record(row)
    changes = append_changes(
        conn, event_scope(event_id), [("attendee.upserted", row["id"], {"attendee": record})], origin="api", now=now
    )
    return record, changes


def update_attendee(
    conn: Connection, event_id: int, attendee_id: str, values: dict[str, Any], now: float
) -> tuple[dict, list[Change]]:
    row = _row(conn, event_id, attendee_id)
    _refuse_taken(conn, event_id, values.get("email"), values.get("qr_secret"), own_id=attendee_id)
    if "custom" in values:
        values = {**values, "custom": dumps(values["custom"])}
    if values:
        conn.execute(update(attendees).where(attendees.c.id == attendee_id).values(**values, updated_at=now))
        row.update(values, updated_at=now)
    record = attendee_record(row)
    changes = append_changes(
        conn, event_scope(event_id), [("attendee.upserted", attendee_id, {"attendee": record})], origin="api", now=now
    )
    return record, changes


def delete_attendee(conn: Connection, event_id: int, attendee_id: str, now: float) -> list[Change]:
    _row(conn, event_id, attendee_id)
    conn.execute(delete(checkins).where(checkins.c.attendee_id == attendee_id))
    conn.execute(delete(attendees).where(attendees.c.id == attendee_id))
    return append_changes(
        conn, event_scope(event_id), [("attendee.deleted", attendee_id, {"id": attendee_id})], origin="api", now=now
    )


@dataclass
class ImportPlan:
    """What an import would do; ``errors`` non-empty means it must not be applied."""

    total_rows: int
    creates: list[tuple[int, AttendeeFields]] = field(default_factory=list)
    updates: list[tuple[int, str, AttendeeFields]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def summary(self, *, dry_run: bool, applied: bool) -> dict[str, Any]:
        return {
            "dry_run": dry_run,
            "applied": applied,
            "total_rows": self.total_rows,
            "to_create": len(self.creates),
            "to_update": len(self.updates),
            "skipped_duplicates": self.skipped,
            "errors": self.errors,
        }


def plan_import(conn: Connection, event_id: int, parsed: ParsedImport, on_duplicate: str) -> ImportPlan:
    """Compare a parsed CSV with the event's attendees: what to create, update, skip, or refuse."""
    get_event_row(conn, event_id)
    plan = ImportPlan(total_rows=parsed.total_rows)
    plan.errors = [{"row": e.row, "field": e.field, "reason": e.reason} for e in parsed.errors]
    by_email = {
        r.email: r
        for r in conn.execute(
            select(attendees.c.id, attendees.c.email, attendees.c.name, attendees.c.reg_no).where(
                attendees.c.event_id == event_id, attendees.c.email.is_not(None)
            )
        )
    }
    secrets_in_file = [r.fields.qr_secret for r in parsed.rows if r.fields.qr_secret]
    taken_secrets: dict[str, str] = {}
    if secrets_in_file:
        taken_secrets = dict(
            conn.execute(
                select(attendees.c.qr_secret, attendees.c.id).where(
                    attendees.c.event_id == event_id, attendees.c.qr_secret.in_(secrets_in_file)
                )
            ).all()
        )
    for item in parsed.rows:
        f = item.fields
        existing = by_email.get(f.email) if f.email else None
        owner = taken_secrets.get(f.qr_secret) if f.qr_secret else None
        if owner is not None and (existing is None or owner != existing.id):
            plan.errors.append({"row": item.row, "field": "qr_secret", "reason": "already belongs to another attendee"})
            continue
        if existing is None:
            plan.creates.append((item.row, f))
            continue
        described = {
            "row": item.row,
            "email": f.email,
            "existing": {"id": existing.id, "name": existing.name, "registration_number": existing.reg_no},
        }
        if on_duplicate == "skip":
            plan.skipped.append(described)
        elif on_duplicate == "update":
            plan.updates.append((item.row, existing.id, f))
        else:
            plan.errors.append(
                {
                    "row": item.row,
                    "field": "email",
                    "reason": f"{f.email} is already registered as {existing.name} (#{existing.reg_no})",
                }
            )
    plan.errors.sort(key=lambda e: (e["row"], e["field"]))
    return plan


def apply_import(conn: Connection, event_id: int, plan: ImportPlan, now: float) -> list[Change]:
    """Apply a clean plan in the caller's transaction: all rows or (on any failure) none."""
    if plan.errors:
        raise DomainError("import_has_errors", f"the file has {len(plan.errors)} error(s); nothing was imported")
    changes: list[Change] = []
    if plan.creates:
        first = _allocate_reg_nos(conn, event_id, len(plan.creates))
        rows = [_new_row(event_id, first + i, f, now) for i, (_row_no, f) in enumerate(plan.creates)]
        conn.execute(insert(attendees), rows)
        entries = [("attendee.upserted", r["id"], {"attendee": attendee_record(r)}) for r in rows]
        changes += append_changes(conn, event_scope(event_id), entries, origin="import", now=now)
    for _row_no, attendee_id, f in plan.updates:
        values: dict[str, Any] = {"name": f.name, "company": f.company, "ticket_type": f.ticket_type}
        if f.custom:
            values["custom"] = f.custom
        if f.qr_secret:
            values["qr_secret"] = f.qr_secret
        changes += update_attendee(conn, event_id, attendee_id, values, now)[1]
    return changes


def export_rows(conn: Connection, event_id: int) -> list[dict[str, Any]]:
    get_event_row(conn, event_id)
    rows = conn.execute(
        select(attendees).where(attendees.c.event_id == event_id).order_by(attendees.c.reg_no)
    ).mappings()
    return [attendee_record(r) for r in rows]


def counts(conn: Connection, event_id: int) -> dict[str, Any]:
    get_event_row(conn, event_id)
    registered = attendees.c.status == "registered"
    rows = conn.execute(
        select(
            attendees.c.ticket_type,
            func.sum(case((registered, 1), else_=0)),
            func.sum(case((registered & attendees.c.checked_in, 1), else_=0)),
            func.sum(case((attendees.c.status == "cancelled", 1), else_=0)),
        )
        .where(attendees.c.event_id == event_id)
        .group_by(attendees.c.ticket_type)
        .order_by(attendees.c.ticket_type)
    ).all()
    by_type = {t: {"registered": int(r or 0), "checked_in": int(c or 0)} for t, r, c, _x in rows}
    return {
        "event_id": event_id,
        "registered": sum(v["registered"] for v in by_type.values()),
        "checked_in": sum(v["checked_in"] for v in by_type.values()),
        "cancelled": sum(int(x or 0) for *_r, x in rows),
        "by_ticket_type": by_type,
    }
