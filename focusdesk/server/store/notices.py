"""Notices to staff on the server: posting, acknowledging, and handing each person only their own.

A notice and its acknowledgements are changes in the event's log like any other, so they reach desks
gap-free and survive offline spells. But a desk must only ever hold what is addressed to its person:
wherever changes leave the server (live push, polling, snapshots) :func:`frame_for` / :func:`visible`
replace a notice change the viewer may not see by a ``hidden`` change with the same seq — the desk's
cursor still moves, nothing of the notice travels.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select

from focusdesk.domain.attendees import check_id
from focusdesk.domain.errors import DomainError, FieldProblem, ValidationFailed, unknown_fields
from focusdesk.domain.notices import AUDIENCE_DESK, Audience, may_see, validate_notice
from focusdesk.domain.roles import Principal
from focusdesk.domain.timeutil import local_hhmm, to_iso
from focusdesk.server.schema import notice_acks, notices, users
from focusdesk.server.store.changelog import Change, parse_event_scope

Entry = tuple[str, str, object]
NOTICE_KINDS = ("notice.posted", "notice.acked")
HIDDEN_KIND = "hidden"


def person_name(conn: Connection, principal: Principal) -> str:
    row = conn.execute(select(users.c.display_name).where(users.c.id == principal.user_id)).first()
    return (row.display_name if row and row.display_name else "") or principal.email


def notice_record(row: Mapping[str, Any], acks: list[dict[str, Any]]) -> dict[str, Any]:
    audience = Audience(row["audience_kind"], row["audience_value"])
    return {
        "id": row["id"],
        "event_id": row["event_id"],
        "priority": row["priority"],
        "body": row["body"],
        "audience": audience.to_dict(),
        "audience_label": audience.describe(),
        "author": row["author"],
        "station_name": row["station_name"],
        "created_at": to_iso(row["created_at"]),
        "expires_at": to_iso(row["expires_at"]),
        "acks": acks,
    }


def ack_record(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "user_id": row["user_id"],
        "user": row["user"],
        "station_name": row["station_name"],
        "at": to_iso(row["at"]),
    }


def list_notices(conn: Connection, event_id: int, viewer: Principal | None) -> list[dict[str, Any]]:
    """The event's notices the viewer may see (all of them for None: the server's own use), oldest first."""
    acks: dict[str, list[dict[str, Any]]] = {}
    for row in conn.execute(
        select(notice_acks)
        .join(notices, notices.c.id == notice_acks.c.notice_id)
        .where(notices.c.event_id == event_id)
        .order_by(notice_acks.c.at)
    ).mappings():
        acks.setdefault(row["notice_id"], []).append(ack_record(row))
    out = []
    for row in conn.execute(
        select(notices).where(notices.c.event_id == event_id).order_by(notices.c.created_at, notices.c.id)
    ).mappings():
        audience = Audience(row["audience_kind"], row["audience_value"])
        if viewer is None or may_see(viewer, event_id, audience):
            out.append(notice_record(row, acks.get(row["id"], [])))
    return out


def _refuse_unknown_args(args: dict[str, Any], allowed: set[str]) -> None:
    problems = unknown_fields(args, allowed, "args.")
    if problems:
        raise ValidationFailed(problems)


def post_system_notice(
    conn: Connection, *, event_id: int, notice_id: str, body: str, station_id: str, expires_at: float, now: float
) -> list[Entry]:
    """A notice FocusDesk itself sends to one desk (a booking reminder); returns its log entry."""
    row = {
        "id": notice_id,
        "event_id": event_id,
        "priority": "medium",
        "body": body,
        "audience_kind": AUDIENCE_DESK,
        "audience_value": station_id,
        "author_id": None,
        "author": "FocusDesk",
        "station_name": "",
        "created_at": now,
        "expires_at": expires_at,
    }
    conn.execute(insert(notices).values(**row))
    record = notice_record(row, [])
    return [("notice.posted", notice_id, {"notice": record, "audience": record["audience"]})]


def post_notice(
    conn: Connection, *, event_id: int, principal: Principal, args: dict[str, Any], now: float
) -> tuple[dict[str, Any], list[Entry]]:
    _refuse_unknown_args(args, {"event_id", "notice"})
    data = args.get("notice")
    if not isinstance(data, dict):
        raise ValidationFailed([FieldProblem("args.notice", "must be an object with a body")])
    problems: list[FieldProblem] = []
    notice_id = check_id(data.get("id"), problems, "args.notice.id")
    if notice_id is None:
        raise ValidationFailed(problems)
    fields = validate_notice(data, prefix="args.notice.")
    if conn.execute(select(notices.c.id).where(notices.c.id == notice_id)).first():
        raise DomainError("duplicate_id", f"a notice with id {notice_id} already exists")
    row = {
        "id": notice_id,
        "event_id": event_id,
        "priority": fields.priority,
        "body": fields.body,
        "audience_kind": fields.audience.kind,
        "audience_value": fields.audience.value,
        "author_id": principal.user_id,
        "author": person_name(conn, principal),
        "station_name": principal.station_name or "",
        "created_at": now,
        "expires_at": None if fields.expires_in_s is None else now + fields.expires_in_s,
    }
    conn.execute(insert(notices).values(**row))
    record = notice_record(row, [])
    answer = {"status": "applied", "notice": record, "message": f"notice sent to {record['audience_label']}"}
    return answer, [("notice.posted", notice_id, {"notice": record, "audience": record["audience"]})]


def acknowledge(
    conn: Connection, *, event_id: int, principal: Principal, args: dict[str, Any], now: float, tz: str
) -> tuple[dict[str, Any], list[Entry]]:
    _refuse_unknown_args(args, {"event_id", "notice_id"})
    notice_id = args.get("notice_id")
    row = None
    if isinstance(notice_id, str) and len(notice_id) <= 64:
        row = (
            conn.execute(select(notices).where(notices.c.id == notice_id, notices.c.event_id == event_id))
            .mappings()
            .first()
        )
    audience = None if row is None else Audience(row["audience_kind"], row["audience_value"])
    if row is None or not may_see(principal, event_id, audience):
        raise DomainError("unknown_notice", f"no notice {notice_id} for you at event {event_id}")
    earlier = (
        conn.execute(
            select(notice_acks).where(notice_acks.c.notice_id == notice_id, notice_acks.c.user_id == principal.user_id)
        )
        .mappings()
        .first()
    )
    if earlier is not None:
        # Recorded once per person: a second acknowledgement (another desk, a double press) changes nothing.
        when = local_hhmm(earlier["at"], tz)
        answer = {
            "status": "applied",
            "notice_id": notice_id,
            "ack": ack_record(earlier),
            "message": f"already acknowledged at {when} at {earlier['station_name']}",
        }
        return answer, []
    ack = {
        "notice_id": notice_id,
        "user_id": principal.user_id,
        "user": person_name(conn, principal),
        "station_id": principal.station_id or "",
        "station_name": principal.station_name or "",
        "at": now,
    }
    conn.execute(insert(notice_acks).values(**ack))
    record = ack_record(ack)
    answer = {"status": "applied", "notice_id": notice_id, "ack": record, "message": "notice acknowledged"}
    return answer, [
        ("notice.acked", notice_id, {"notice_id": notice_id, "ack": record, "audience": audience.to_dict()})
    ]


# -- who sees what ------------------------------------------------------------------------------------


def audience_of(change: Change) -> Audience | None:
    """The audience of a notice change; None for every other kind (seen by all who follow the scope)."""
    if change.kind not in NOTICE_KINDS:
        return None
    try:
        return Audience.from_dict(json.loads(change.data).get("audience"))
    except (ValueError, AttributeError):
        return Audience("desk", "")  # unreadable: show it to senders only


def visible(change: Change, viewer: Principal | None) -> bool:
    audience = audience_of(change)
    if audience is None or viewer is None:
        return True
    event_id = parse_event_scope(change.scope)
    return event_id is not None and may_see(viewer, event_id, audience)


def hidden(change: Change) -> Change:
    """What a viewer not addressed gets instead: the seq, nothing of the notice."""
    return Change(change.scope, change.seq, change.at, HIDDEN_KIND, "", "{}", "")


def for_viewer(change: Change, viewer: Principal | None) -> Change:
    return change if visible(change, viewer) else hidden(change)
