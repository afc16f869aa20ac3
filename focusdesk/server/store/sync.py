"""Catching a desk up: a delta of the log when continuity is provable, else a snapshot.

Both are read in one transaction, so a snapshot at seq S is exactly the state after change S. The
answers are the same ``sub_ok`` payloads the live channel sends (DESIGN.md, "Live push").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, select

from focusdesk.domain.errors import DomainError
from focusdesk.domain.roles import Principal
from focusdesk.server.schema import attendees, checkins, events
from focusdesk.server.store.changelog import parse_event_scope, read_changes, read_head
from focusdesk.server.store.draws import list_draws
from focusdesk.server.store.notices import for_viewer, list_notices
from focusdesk.server.store.records import attendee_record, checkin_record, dumps, event_record
from focusdesk.server.store.reservations import list_reservations, list_resources
from focusdesk.server.store.rooms import list_rooms

DELTA_PAGE_MAX = 5000


def unknown_scope(scope: str) -> DomainError:
    return DomainError("not_found", f"no scope '{scope}' (scopes look like event:<id>)")


@dataclass(frozen=True, slots=True)
class SyncAnswer:
    """An encoded `sub_ok` frame, the seq it brings the desk to, and whether more delta pages follow."""

    body: str
    epoch: str
    seq: int
    more: bool


def sync_payload(
    conn: Connection, scope: str, epoch: str | None, since: int | None, limit: int, viewer: Principal | None = None
) -> str:
    """The encoded `sub_ok` answer for a desk at ``(epoch, since)``."""
    return sync_answer(conn, scope, epoch, since, limit, viewer).body


def sync_answer(
    conn: Connection, scope: str, epoch: str | None, since: int | None, limit: int, viewer: Principal | None = None
) -> SyncAnswer:
    """``viewer``: the person the answer is for — notices not addressed to them are left out (None: all)."""
    head = read_head(conn, scope)
    if head is None:
        raise unknown_scope(scope)
    continuous = epoch == head.epoch and since is not None and head.min_seq <= since <= head.head_seq
    if continuous:
        changes = read_changes(conn, scope, since, limit)
        more = bool(changes) and changes[-1].seq < head.head_seq
        body = ",".join(for_viewer(c, viewer).to_json() for c in changes)
        return SyncAnswer(
            f'{{"type":"sub_ok","mode":"delta","scope":{json.dumps(scope)},"epoch":"{head.epoch}",'
            f'"head":{head.head_seq},"changes":[{body}],"more":{"true" if more else "false"}}}',
            head.epoch,
            changes[-1].seq if changes else since,
            more,
        )
    state = snapshot_state(conn, scope, viewer)
    return SyncAnswer(
        f'{{"type":"sub_ok","mode":"snapshot","scope":{json.dumps(scope)},"epoch":"{head.epoch}",'
        f'"seq":{head.head_seq},"head":{head.head_seq},"state":{dumps(state)}}}',
        head.epoch,
        head.head_seq,
        False,
    )


def snapshot_state(conn: Connection, scope: str, viewer: Principal | None = None) -> dict:
    event_id = parse_event_scope(scope)
    if event_id is None:
        raise unknown_scope(scope)
    event = conn.execute(select(events).where(events.c.id == event_id)).mappings().first()
    if event is None:
        raise unknown_scope(scope)
    people = conn.execute(
        select(attendees).where(attendees.c.event_id == event_id).order_by(attendees.c.reg_no)
    ).mappings()
    facts = conn.execute(
        select(checkins).where(checkins.c.event_id == event_id).order_by(checkins.c.at, checkins.c.id)
    ).mappings()
    return {
        "event": event_record(event),
        "attendees": [attendee_record(r) for r in people],
        "checkins": [checkin_record(r) for r in facts],
        "rooms": list_rooms(conn, event_id),
        "notices": list_notices(conn, event_id, viewer),
        "draws": list_draws(conn, event_id),
        "resources": list_resources(conn, event_id),
        "reservations": list_reservations(conn, event_id),
    }
