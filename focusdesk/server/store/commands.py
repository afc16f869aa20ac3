"""Desk commands, applied exactly once (DESIGN.md, "Commands").

A station numbers its commands 1, 2, 3, … and the server keeps, per station, the highest number applied
(``stations.last_cmd_seq``) and each command's stored result, both written in the same transaction as the
command's effect. So a resent command is answered from the store with no second effect, a gap is answered
"resend from N", and a refusal is a final answer that still advances the watermark.

A batch is applied *set-based*: the attendees and facts it touches are loaded in one query each, the
domain rules run in memory in command order, and the writes go out as a handful of ``executemany``
statements. That keeps a 50-command batch to about ten statements instead of three hundred.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from focusdesk.domain import checkin as rule
from focusdesk.domain.attendees import (
    check_attendee_id,
    new_attendee_id,
    new_qr_secret,
    validate_attendee,
)
from focusdesk.domain.errors import DomainError, FieldProblem, ValidationFailed, unknown_fields
from focusdesk.domain.roles import (
    CHECKIN,
    DEVICE_STATUS,
    NOTICE_POST,
    NOTICE_READ,
    OCCUPANCY_COUNT,
    RESERVATIONS_APPROVE,
    RESERVE,
    RESOURCES_MANAGE,
    ROOMS_MANAGE,
    TIMER_CONTROL,
    Principal,
)
from focusdesk.domain.timeutil import local_hhmm, to_iso
from focusdesk.server.schema import attendees, checkins, command_results, events, stations
from focusdesk.server.store import notices as notice_store
from focusdesk.server.store import reservations as reservation_store
from focusdesk.server.store import rooms as room_store
from focusdesk.server.store.changelog import Change, append_changes, event_scope
from focusdesk.server.store.prepared import Prepared, PreparedIn
from focusdesk.server.store.records import attendee_record, dumps

COMMAND_TYPES = (
    "checkin",
    "undo_checkin",
    "walkin",
    "room_create",
    "room_update",
    "room_delete",
    "timer",
    "occupancy",
    "notice_post",
    "notice_ack",
    "resource_create",
    "resource_update",
    "resource_delete",
    "device_status",
    "reservation_create",
    "reservation_approve",
    "reservation_reject",
    "reservation_cancel",
    "reservation_checkin",
    "reservation_complete",
)


@dataclass(frozen=True, slots=True)
class CommandIn:
    cmd_seq: int
    type: str
    args: dict[str, Any]
    device_time: float | None = None


@dataclass
class BatchOutcome:
    """What the desk is told. ``results`` are encoded JSON objects, one per command answered."""

    results: list[str]
    last_cmd_seq: int
    resend_from: int | None = None
    changes: list[Change] = field(default_factory=list)
    # (type, "applied"|"rejected") of each command answered for the first time, replays left out: what
    # /metrics counts once the outcome is committed.
    answered: list[tuple[str, str]] = field(default_factory=list)


class Batch:
    """In-memory working set of one batch: loaded rows, pending writes, emitted changes."""

    def __init__(self, conn: Connection, now: float):
        self.conn = conn
        # The desk whose commands are being applied right now (a merged pass walks several desks).
        self.principal: Principal | None = None
        self.payload_index = 0
        self.now = now
        self.attendees: dict[str, dict[str, Any]] = {}
        self.facts: dict[str, list[rule.Fact]] = {}
        self.events: dict[int, dict[str, Any]] = {}
        self.new_ids: set[str] = set()
        self.dirty_ids: set[str] = set()
        self.fact_rows: list[dict[str, Any]] = []
        self.entries: dict[str, list[tuple[str, str, object]]] = {}
        self.entry_owner: dict[str, list[tuple[str, int]]] = {}

    # -- loading -------------------------------------------------------------------------------

    def preload(self, commands: list[CommandIn]) -> None:
        ids = attendee_ids_of(commands)
        if ids:
            self.load_attendees(_ATTENDEES_WITH_EVENT.mappings(self.conn, ids))
            self.load_facts(_FACTS_OF.rows(self.conn, list(self.attendees)))

    def load_attendees(self, rows: Iterable[dict[str, Any]]) -> None:
        """Rows of attendees joined with their event's ``ev_status`` and ``ev_timezone``."""
        for row in rows:
            event = {"id": row["event_id"], "status": row.pop("ev_status"), "timezone": row.pop("ev_timezone")}
            self.events.setdefault(event["id"], event)
            self.attendees[row["id"]] = row

    def load_facts(self, rows: Iterable[Sequence[Any]]) -> None:
        """Rows of (attendee_id, kind, at, station_id, station_name, cmd_seq, recorded_at)."""
        for attendee_id, kind, at, station_id, station_name, cmd_seq, recorded_at in rows:
            self.facts.setdefault(attendee_id, []).append(
                rule.Fact(kind, at, station_id, station_name, cmd_seq, recorded_at)
            )

    def event(self, event_id: int) -> dict[str, Any]:
        if event_id not in self.events:
            found = _EVENT.mappings(self.conn, {"event_id": event_id})
            if not found:
                raise DomainError("unknown_event", f"event {event_id} does not exist")
            self.events[event_id] = found[0]
        return self.events[event_id]

    def emit(self, event_id: int, kind: str, entity_id: str, data: object) -> None:
        scope = event_scope(event_id)
        self.entries.setdefault(scope, []).append((kind, entity_id, data))
        self.entry_owner.setdefault(scope, []).append((self.principal.station_id or "", self.payload_index))

    # -- writing ---------------------------------------------------------------------------------

    def write_rows(self) -> None:
        """Write the attendees and check-in facts the batch changed."""
        conn = self.conn
        if self.new_ids:
            conn.execute(insert(attendees), [self.attendees[i] for i in sorted(self.new_ids)])
        updated = self.dirty_ids - self.new_ids
        if updated:
            _UPDATE_CHECKIN_STATE.many(conn, [_state_params(self.attendees[i]) for i in sorted(updated)])
        _INSERT_FACT.many(conn, self.fact_rows)

    def append_log(self) -> list[list[Change]]:
        """Append the batch's changes to the log; returns them for each payload, by payload index.

        Done last in the transaction: taking the next seqs locks the scope's head row until COMMIT, and
        on PostgreSQL every other writer of the scope (this instance's next group, other instances)
        waits on that lock — the less work after it, the shorter they wait.
        """
        made = {
            scope: append_changes(self.conn, scope, entries, origin=self.origins(scope), now=self.now)
            for scope, entries in self.entries.items()
        }
        return self.changes_by_payload(made)

    def origins(self, scope: str) -> list[str]:
        return [origin for origin, _index in self.entry_owner[scope]]

    def changes_by_payload(self, made: dict[str, list[Change]]) -> list[list[Change]]:
        """The changes logged for each scope, handed back to the payloads whose commands made them."""
        per_payload: list[list[Change]] = [[] for _ in range(self.payload_index + 1)]
        for scope, changes in made.items():
            for change, (_origin, index) in zip(changes, self.entry_owner[scope], strict=True):
                per_payload[index].append(change)
        return per_payload


# -- hot-path statements (see prepared.py) -----------------------------------------------------------

# On PostgreSQL, where several transactions (and instances) apply commands at once, the rows a batch
# decides on are locked as they are read — the desks' rows, then attendees — each in id order, so two
# batches never deadlock and never decide on the same attendee from the same stale state (SQLite has one
# writer and ignores FOR UPDATE).
_ATTENDEES_WITH_EVENT = PreparedIn(
    lambda ids: (
        select(attendees, events.c.status.label("ev_status"), events.c.timezone.label("ev_timezone"))
        .join(events, events.c.id == attendees.c.event_id)
        .where(attendees.c.id.in_(ids))
        .order_by(attendees.c.id)
        .with_for_update(of=attendees)
    )
)
_FACTS_OF = PreparedIn(
    lambda ids: select(
        checkins.c.attendee_id,
        checkins.c.kind,
        checkins.c.at,
        checkins.c.station_id,
        checkins.c.station_name,
        checkins.c.cmd_seq,
        checkins.c.recorded_at,
    ).where(checkins.c.attendee_id.in_(ids))
)
_EVENT = Prepared(select(events.c.id, events.c.status, events.c.timezone).where(events.c.id == bindparam("event_id")))
FACT_COLUMNS = (
    "event_id",
    "attendee_id",
    "kind",
    "at",
    "recorded_at",
    "station_id",
    "station_name",
    "cmd_seq",
    "user_id",
)
_INSERT_FACT = Prepared(insert(checkins).values({c: bindparam(c) for c in FACT_COLUMNS}))
_STATIONS = PreparedIn(
    lambda ids: (
        select(stations.c.id, stations.c.last_cmd_seq, stations.c.name)
        .where(stations.c.id.in_(ids))
        .order_by(stations.c.id)
        .with_for_update()
    )
)
_STORED_RESULTS = PreparedIn(
    lambda seqs: select(command_results.c.cmd_seq, command_results.c.result).where(
        command_results.c.station_id == bindparam("station_id"), command_results.c.cmd_seq.in_(seqs)
    )
)
_RESULT_COLUMNS = ("station_id", "cmd_seq", "result", "at")
_INSERT_RESULT = Prepared(insert(command_results).values({c: bindparam(c) for c in _RESULT_COLUMNS}))

_UPDATE_CHECKIN_STATE = Prepared(
    update(attendees)
    .where(attendees.c.id == bindparam("b_id"))
    .values(
        checked_in=bindparam("b_checked_in"),
        checked_in_at=bindparam("b_checked_in_at"),
        checked_in_station=bindparam("b_checked_in_station"),
        checkin_count=bindparam("b_checkin_count"),
        updated_at=bindparam("b_updated_at"),
    )
)


def _state_params(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "b_id": row["id"],
        "b_checked_in": row["checked_in"],
        "b_checked_in_at": row["checked_in_at"],
        "b_checked_in_station": row["checked_in_station"],
        "b_checkin_count": row["checkin_count"],
        "b_updated_at": row["updated_at"],
    }


# -- argument helpers ----------------------------------------------------------------------------


def _arg_event_id(args: dict[str, Any], problems: list[FieldProblem]) -> int | None:
    value = args.get("event_id")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        problems.append(FieldProblem("args.event_id", "must be a positive integer event id"))
        return None
    return value


def _unexpected_args(args: dict[str, Any], allowed: set[str], problems: list[FieldProblem]) -> None:
    problems.extend(unknown_fields(args, allowed, "args."))


# -- handlers ------------------------------------------------------------------------------------


def _require_checkin_permission(batch: Batch, event_id: int) -> None:
    if not batch.principal.can(CHECKIN, event_id):
        raise DomainError("forbidden", f"your account may not check people in at event {event_id}")


def _record(batch: Batch, cmd: CommandIn, att: dict[str, Any], kind: str) -> dict[str, Any]:
    """Add one fact for ``att`` and fold it into the attendee's state; returns the command's result."""
    principal = batch.principal
    fact = rule.Fact(
        kind=kind,
        at=rule.clamp_device_time(cmd.device_time, batch.now),
        station_id=principal.station_id or "",
        station_name=principal.station_name or "",
        cmd_seq=cmd.cmd_seq,
        recorded_at=batch.now,
    )
    outcome = rule.record_fact(batch.facts.setdefault(att["id"], []), fact)
    since = outcome.state.since
    att["checked_in"] = outcome.state.checked_in
    att["checked_in_at"] = since.at if since else None
    att["checked_in_station"] = since.station_name if since else None
    att["checkin_count"] = outcome.state.checkin_count
    att["updated_at"] = batch.now
    batch.dirty_ids.add(att["id"])
    batch.fact_rows.append(
        {
            "event_id": att["event_id"],
            "attendee_id": att["id"],
            "kind": kind,
            "at": fact.at,
            "recorded_at": fact.recorded_at,
            "station_id": fact.station_id,
            "station_name": fact.station_name,
            "cmd_seq": fact.cmd_seq,
            "user_id": principal.user_id,
        }
    )
    record = attendee_record(att)
    record_json = dumps(record)  # encoded once, spliced into both the change and the result
    fact_public = {
        "kind": kind,
        "at": to_iso(fact.at),
        "station_id": fact.station_id,
        "station_name": fact.station_name,
        "cmd_seq": fact.cmd_seq,
    }
    batch.emit(
        att["event_id"], "checkin.recorded", att["id"], f'{{"fact":{dumps(fact_public)},"attendee":{record_json}}}'
    )

    tz = batch.event(att["event_id"])["timezone"]
    result: dict[str, Any] = {"status": "applied", ATTENDEE_JSON: record_json, "lost": outcome.lost}
    if outcome.already_in is not None:
        first = outcome.already_in
        result["already_checked_in"] = {"at": to_iso(first.at), "station": first.station_name}
    # What the person at the desk reads: a lost action matters more than a repeat.
    if outcome.lost:
        if kind == rule.CHECKIN:
            result["message"] = f"changed on another desk: {att['name']} was checked out there"
        else:
            result["message"] = (
                f"changed on another desk: {att['name']} stays checked in"
                f" (at {local_hhmm(since.at, tz)} at {since.station_name})"
            )
    elif outcome.already_in is not None:
        first = outcome.already_in
        result["message"] = (
            f"{att['name']} was already checked in at {local_hhmm(first.at, tz)} at {first.station_name}"
        )
    else:
        result["message"] = f"{att['name']} checked in" if kind == rule.CHECKIN else f"check-in of {att['name']} undone"
    return result


def _checkin_like(batch: Batch, cmd: CommandIn, kind: str) -> dict[str, Any]:
    problems: list[FieldProblem] = []
    _unexpected_args(cmd.args, {"event_id", "attendee_id"}, problems)
    event_id = _arg_event_id(cmd.args, problems)
    attendee_id = check_attendee_id(cmd.args.get("attendee_id"), problems, "args.attendee_id")
    if problems:
        raise ValidationFailed(problems)
    _require_checkin_permission(batch, event_id)
    att = batch.attendees.get(attendee_id)
    if att is None or att["event_id"] != event_id:
        raise DomainError(
            "unknown_attendee",
            f"no attendee {attendee_id} in event {event_id}; they may have been removed",
        )
    if kind == rule.CHECKIN and att["status"] == "cancelled":
        raise DomainError(
            "registration_cancelled",
            f"{att['name']}'s registration is cancelled; ask an organizer before admitting them",
        )
    if batch.event(event_id)["status"] == "closed":
        raise DomainError("event_closed", f"event {event_id} is closed; check-ins are not accepted")
    return _record(batch, cmd, att, kind)


def _checkin(batch: Batch, cmd: CommandIn) -> dict[str, Any]:
    return _checkin_like(batch, cmd, rule.CHECKIN)


def _undo(batch: Batch, cmd: CommandIn) -> dict[str, Any]:
    return _checkin_like(batch, cmd, rule.UNDO)


def _walkin(batch: Batch, cmd: CommandIn) -> dict[str, Any]:
    args = cmd.args
    problems: list[FieldProblem] = []
    _unexpected_args(args, {"event_id", "attendee", "check_in"}, problems)
    event_id = _arg_event_id(args, problems)
    check_in = args.get("check_in", True)
    if not isinstance(check_in, bool):
        problems.append(FieldProblem("args.check_in", "must be true or false"))
    person = args.get("attendee")
    if not isinstance(person, dict):
        problems.append(FieldProblem("args.attendee", "must be an object with at least a name"))
        raise ValidationFailed(problems)
    _unexpected_args(person, {"id", "name", "email", "company", "ticket_type", "custom", "qr_secret"}, problems)
    attendee_id = person.get("id") or new_attendee_id()
    check_attendee_id(attendee_id, problems, "args.attendee.id")
    try:
        fields = validate_attendee(person, prefix="args.attendee.")
    except ValidationFailed as exc:
        problems.extend(exc.problems)
    if problems:
        raise ValidationFailed(problems)
    _require_checkin_permission(batch, event_id)
    event = batch.event(event_id)
    if event["status"] == "closed":
        raise DomainError("event_closed", f"event {event_id} is closed; walk-ins are not accepted")
    _refuse_duplicates(batch, event_id, attendee_id, fields.email, fields.qr_secret)

    reg_no = (
        batch.conn.execute(
            update(events)
            .where(events.c.id == event_id)
            .values(next_reg_no=events.c.next_reg_no + 1)
            .returning(events.c.next_reg_no)
        ).scalar_one()
        - 1
    )
    now = batch.now
    att = {
        "id": attendee_id,
        "event_id": event_id,
        "reg_no": reg_no,
        "name": fields.name,
        "email": fields.email,
        "company": fields.company,
        "ticket_type": fields.ticket_type,
        "custom": dumps(fields.custom),
        "status": "registered",
        "qr_secret": fields.qr_secret or new_qr_secret(),
        "checked_in": False,
        "checked_in_at": None,
        "checked_in_station": None,
        "checkin_count": 0,
        "created_at": now,
        "updated_at": now,
    }
    batch.attendees[attendee_id] = att
    batch.new_ids.add(attendee_id)
    batch.emit(event_id, "attendee.upserted", attendee_id, {"attendee": attendee_record(att)})
    if check_in:
        result = _record(batch, cmd, att, rule.CHECKIN)
        result["message"] = f"{att['name']} registered as #{reg_no} and checked in"
        return result
    return {
        "status": "applied",
        "attendee": attendee_record(att),
        "lost": False,
        "message": f"{att['name']} registered as #{reg_no}",
    }


def _refuse_duplicates(batch: Batch, event_id: int, attendee_id: str, email: str | None, qr: str | None) -> None:
    if (
        attendee_id in batch.attendees
        or batch.conn.execute(select(attendees.c.id).where(attendees.c.id == attendee_id)).first()
    ):
        raise DomainError("duplicate_id", f"an attendee with id {attendee_id} already exists")
    if email:
        clash = [a for a in batch.attendees.values() if a["event_id"] == event_id and a["email"] == email]
        row = (
            clash[0]
            if clash
            else batch.conn.execute(
                select(attendees.c.name, attendees.c.reg_no).where(
                    attendees.c.event_id == event_id, attendees.c.email == email
                )
            )
            .mappings()
            .first()
        )
        if row is not None:
            raise DomainError(
                "already_registered",
                f"{email} is already registered as {row['name']} (#{row['reg_no']}); check them in instead",
            )
    if qr and (
        any(a["qr_secret"] == qr and a["event_id"] == event_id for a in batch.attendees.values())
        or batch.conn.execute(
            select(attendees.c.id).where(attendees.c.event_id == event_id, attendees.c.qr_secret == qr)
        ).first()
    ):
        raise DomainError("duplicate_qr", "that QR secret already belongs to another attendee")


# -- rooms, timers and notices: the rules live in their store modules; here, who may and where -------

_ROOM_PERMISSION = {
    "room_create": (ROOMS_MANAGE, "add rooms"),
    "room_update": (ROOMS_MANAGE, "change rooms"),
    "room_delete": (ROOMS_MANAGE, "delete rooms"),
    "timer": (TIMER_CONTROL, "run room timers"),
    "occupancy": (OCCUPANCY_COUNT, "count people in rooms"),
}


def _open_event(batch: Batch, cmd: CommandIn, permission: str, what: str) -> int:
    problems: list[FieldProblem] = []
    event_id = _arg_event_id(cmd.args, problems)
    if problems:
        raise ValidationFailed(problems)
    if not batch.principal.can(permission, event_id):
        raise DomainError("forbidden", f"your account may not {what} at event {event_id}")
    if batch.event(event_id)["status"] == "closed":
        raise DomainError("event_closed", f"event {event_id} is closed; it cannot be changed")
    return event_id


def _emit_all(batch: Batch, event_id: int, entries: list[tuple[str, str, object]]) -> None:
    for kind, entity_id, data in entries:
        batch.emit(event_id, kind, entity_id, data)


def _room(batch: Batch, cmd: CommandIn) -> dict[str, Any]:
    event_id = _open_event(batch, cmd, *_ROOM_PERMISSION[cmd.type])
    actor = batch.principal.station_name or batch.principal.email
    answer, entries = room_store.change_room(
        batch.conn, event_id=event_id, command=cmd.type, args=cmd.args, actor=actor, now=batch.now
    )
    _emit_all(batch, event_id, entries)
    return answer


def _notice_post(batch: Batch, cmd: CommandIn) -> dict[str, Any]:
    event_id = _open_event(batch, cmd, NOTICE_POST, "send notices")
    answer, entries = notice_store.post_notice(
        batch.conn, event_id=event_id, principal=batch.principal, args=cmd.args, now=batch.now
    )
    _emit_all(batch, event_id, entries)
    return answer


def _notice_ack(batch: Batch, cmd: CommandIn) -> dict[str, Any]:
    event_id = _open_event(batch, cmd, NOTICE_READ, "read notices")
    tz = batch.event(event_id)["timezone"]
    answer, entries = notice_store.acknowledge(
        batch.conn, event_id=event_id, principal=batch.principal, args=cmd.args, now=batch.now, tz=tz
    )
    _emit_all(batch, event_id, entries)
    return answer


_RESERVATION_PERMISSION = {
    "resource_create": (RESOURCES_MANAGE, "add resources"),
    "resource_update": (RESOURCES_MANAGE, "change resources"),
    "resource_delete": (RESOURCES_MANAGE, "delete resources"),
    "device_status": (DEVICE_STATUS, "set device status"),
    "reservation_create": (RESERVE, "book resources"),
    "reservation_approve": (RESERVATIONS_APPROVE, "approve bookings"),
    "reservation_reject": (RESERVATIONS_APPROVE, "reject bookings"),
    "reservation_cancel": (RESERVE, "cancel bookings"),
    "reservation_checkin": (RESERVE, "check in to bookings"),
    "reservation_complete": (RESERVE, "complete bookings"),
}


def _reservation(batch: Batch, cmd: CommandIn) -> dict[str, Any]:
    event_id = _open_event(batch, cmd, *_RESERVATION_PERMISSION[cmd.type])
    principal = batch.principal
    actor = principal.station_name or principal.email
    if cmd.type.startswith("resource_") or cmd.type == "device_status":
        answer, entries = reservation_store.change_resource(
            batch.conn, event_id=event_id, command=cmd.type, args=cmd.args, actor=actor, now=batch.now
        )
    elif cmd.type == "reservation_create":
        answer, entries = reservation_store.create_reservations(
            batch.conn,
            event_id=event_id,
            tz=batch.event(event_id)["timezone"],
            args=cmd.args,
            actor=actor,
            station_id=principal.station_id,
            now=batch.now,
        )
    else:
        answer, entries = reservation_store.change_reservation(
            batch.conn,
            event_id=event_id,
            tz=batch.event(event_id)["timezone"],
            command=cmd.type,
            args=cmd.args,
            actor=actor,
            now=batch.now,
        )
    _emit_all(batch, event_id, entries)
    return answer


_HANDLERS = {
    "checkin": _checkin,
    "undo_checkin": _undo,
    "walkin": _walkin,
    **dict.fromkeys(_ROOM_PERMISSION, _room),
    "notice_post": _notice_post,
    "notice_ack": _notice_ack,
    **dict.fromkeys(_RESERVATION_PERMISSION, _reservation),
}


# A handler may put the attendee's record already encoded under this key; it is spliced in as "attendee".
ATTENDEE_JSON = "_attendee_json"


def _encode_answer(answer: dict[str, Any]) -> str:
    record_json = answer.pop(ATTENDEE_JSON, None)
    encoded = dumps(answer)
    return encoded if record_json is None else f'{encoded[:-1]},"attendee":{record_json}}}'


def _rejection(exc: DomainError) -> dict[str, Any]:
    out: dict[str, Any] = {"status": "rejected", "code": exc.code, "message": exc.message}
    if exc.problems:
        out["errors"] = [{"field": p.field, "reason": p.reason} for p in exc.problems]
    out.update(exc.details)
    return out


# -- the unit of work ----------------------------------------------------------------------------


def ensure_stations(conn: Connection, desks: dict[str, str], now: float) -> dict[str, int]:
    """Register desks (``station_id -> name``) or rename them; returns their watermarks.

    One query reads every desk of a group commit; only new or renamed desks cost a write.
    """
    known = {sid: (last, name) for sid, last, name in _STATIONS.rows(conn, list(desks))}
    watermarks: dict[str, int] = {}
    for sid, name in desks.items():
        if sid not in known:
            conn.execute(insert(stations).values(id=sid, name=name, last_cmd_seq=0, created_at=now, last_seen_at=now))
            watermarks[sid] = 0
            continue
        last, old_name = known[sid]
        if old_name != name:
            conn.execute(update(stations).where(stations.c.id == sid).values(name=name))
        watermarks[sid] = last
    return watermarks


def ensure_station(conn: Connection, station_id: str, name: str, now: float) -> int:
    """Register one desk (or rename it); returns its watermark."""
    return ensure_stations(conn, {station_id: name}, now)[station_id]


def apply_batch(
    conn: Connection, principal: Principal, commands: list[CommandIn], *, now: float | None = None
) -> BatchOutcome:
    """Apply one desk's contiguous, ascending batch of commands exactly once (``now``: the server time
    to apply them at, for seeding demo data in the past; the server always uses the present)."""
    return apply_batches(conn, [(principal, commands)], now=now)[0]


_UPDATE_WATERMARK = Prepared(
    update(stations)
    .where(stations.c.id == bindparam("b_id"))
    .values(last_cmd_seq=bindparam("b_last"), last_seen_at=bindparam("b_seen"))
)


def apply_batches(
    conn: Connection, payloads: list[tuple[Principal, list[CommandIn]]], *, now: float | None = None
) -> list[BatchOutcome]:
    """Apply several desks' batches in one set-based pass (the writer merges concurrent requests).

    Payloads are handled in order, each against the watermark its desk has at that point, so two
    requests from the same desk in one pass behave exactly as if they had come one after the other.
    """
    now = time.time() if now is None else now
    watermarks = ensure_stations(conn, desks_of(payloads), now)
    batch = Batch(conn, now)
    batch.preload([c for _p, cmds in payloads for c in cmds])
    outcomes, result_rows = decide(batch, payloads, watermarks, partial(_replayed_results, conn))
    batch.write_rows()
    if result_rows:
        _INSERT_RESULT.many(conn, result_rows)
        _UPDATE_WATERMARK.many(conn, [{"b_id": sid, "b_last": last, "b_seen": now} for sid, last in watermarks.items()])
    for outcome, changes in zip(outcomes, batch.append_log(), strict=True):
        outcome.changes = changes
    return outcomes


def desks_of(payloads: list[tuple[Principal, list[CommandIn]]]) -> dict[str, str]:
    """The desks sending ``payloads``: station id -> the name the desk goes by now."""
    desks: dict[str, str] = {}
    for principal, _cmds in payloads:
        assert principal.station_id, "the router only lets desk tokens send commands"
        desks.setdefault(principal.station_id, principal.station_name or principal.station_id)
    return desks


def attendee_ids_of(commands: Iterable[CommandIn]) -> list[str]:
    """The attendees check-in and undo commands name (what a batch loads), sorted: rows are locked in order."""
    return sorted(
        {
            c.args["attendee_id"]
            for c in commands
            if c.type in ("checkin", "undo_checkin") and isinstance(c.args.get("attendee_id"), str)
        }
    )


Replayed = Callable[[str, list[int]], list[str]]


def decide(
    batch: Batch,
    payloads: list[tuple[Principal, list[CommandIn]]],
    watermarks: dict[str, int],
    replayed: Replayed,
) -> tuple[list[BatchOutcome], list[dict[str, Any]]]:
    """Apply the payloads' commands to the loaded ``batch`` in memory, in order; returns each payload's
    outcome and the result rows to store. ``watermarks`` (station id -> last applied) move as commands are
    answered; ``replayed(station_id, seqs)`` gives the stored answers of commands already applied."""
    outcomes: list[BatchOutcome] = []
    result_rows: list[dict[str, Any]] = []
    now = batch.now
    for index, (principal, commands) in enumerate(payloads):
        sid = principal.station_id
        last = watermarks[sid]
        old = [c.cmd_seq for c in commands if c.cmd_seq <= last]
        results = replayed(sid, old) if old else []
        fresh = [c for c in commands if c.cmd_seq > last]
        if fresh and fresh[0].cmd_seq != last + 1:
            outcomes.append(BatchOutcome(results=results, last_cmd_seq=last, resend_from=last + 1))
            continue
        batch.principal = principal
        batch.payload_index = index
        answered: list[tuple[str, str]] = []
        for cmd in fresh:
            handler = _HANDLERS.get(cmd.type)
            try:
                if handler is None:
                    raise DomainError(
                        "unknown_command",
                        f"unknown command type '{cmd.type}'; expected one of {', '.join(COMMAND_TYPES)}",
                    )
                answer = {"cmd_seq": cmd.cmd_seq, **handler(batch, cmd)}
                answered.append((cmd.type, "applied"))
            except DomainError as exc:
                answer = {"cmd_seq": cmd.cmd_seq, **_rejection(exc)}
                answered.append((cmd.type, "rejected"))
            encoded = _encode_answer(answer)
            results.append(encoded)
            result_rows.append({"station_id": sid, "cmd_seq": cmd.cmd_seq, "result": encoded, "at": now})
        if fresh:
            watermarks[sid] = fresh[-1].cmd_seq
        outcomes.append(BatchOutcome(results=results, last_cmd_seq=watermarks[sid], answered=answered))
    batch.payload_index = len(payloads) - 1
    return outcomes, result_rows


def _replayed_results(conn: Connection, station_id: str, seqs: list[int]) -> list[str]:
    """Stored answers for commands already applied: the same answer, no second effect."""
    stored = dict(_STORED_RESULTS.rows(conn, seqs, station_id=station_id))
    return [
        stored.get(seq) or dumps({"cmd_seq": seq, "status": "applied", "message": "already applied"}) for seq in seqs
    ]


def decode_result(raw: str) -> dict[str, Any]:
    return json.loads(raw)
