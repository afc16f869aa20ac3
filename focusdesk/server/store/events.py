"""Events: create, read, edit. Each event owns one change-log scope."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select, update

from focusdesk.domain.errors import DomainError
from focusdesk.domain.roles import Principal
from focusdesk.server.schema import events
from focusdesk.server.store.changelog import Change, append_changes, create_scope, event_scope
from focusdesk.server.store.records import event_record


def event_not_found(event_id: int) -> DomainError:
    return DomainError("not_found", f"event {event_id} does not exist")


def create_event(conn: Connection, fields: dict, now: float) -> tuple[dict, list[Change]]:
    event_id = conn.execute(
        insert(events).values(**fields, next_reg_no=1, created_at=now, updated_at=now).returning(events.c.id)
    ).scalar_one()
    scope = event_scope(event_id)
    create_scope(conn, scope)
    record = get_event(conn, event_id)
    changes = append_changes(conn, scope, [("event.updated", str(event_id), record)], origin="api", now=now)
    return record, changes


def get_event_row(conn: Connection, event_id: int):
    row = conn.execute(select(events).where(events.c.id == event_id)).mappings().first()
    if row is None:
        raise event_not_found(event_id)
    return row


def ensure_open(event: Mapping[str, Any]) -> None:
    """Refuse changes to the closed event ``event`` (its row, already read)."""
    if event["status"] == "closed":
        raise DomainError("event_closed", f"event {event['id']} is closed; it cannot be changed")


def get_event(conn: Connection, event_id: int) -> dict:
    return event_record(get_event_row(conn, event_id))


def list_events(conn: Connection, principal: Principal) -> list[dict]:
    query = select(events).order_by(events.c.starts_on, events.c.id)
    if not principal.all_events:
        query = query.where(events.c.id.in_(sorted(principal.event_ids())))
    return [event_record(r) for r in conn.execute(query).mappings()]


def update_event(conn: Connection, event_id: int, fields: dict, now: float) -> tuple[dict, list[Change]]:
    get_event_row(conn, event_id)
    if fields:
        conn.execute(update(events).where(events.c.id == event_id).values(**fields, updated_at=now))
    record = get_event(conn, event_id)
    changes = append_changes(
        conn, event_scope(event_id), [("event.updated", str(event_id), record)], origin="api", now=now
    )
    return record, changes
