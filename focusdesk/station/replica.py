"""Applying what the server says to the desk's replica, and the desk's optimistic view on top of it.

The replica is always "snapshot at S plus the contiguous changes S+1..k" of each followed scope, kept
in the station file together with the scope's cursor, in the same local transaction. Change kinds are
dispatched through :data:`CHANGE_APPLIERS` and snapshot sections through :data:`SNAPSHOT_LOADERS`, so a
later feature (rooms, timers, reservations, notices) adds its kinds and tables without touching this
flow. Kinds this desk does not know yet (a newer server) are skipped, never an error.

Optimistic state: an attendee's displayed check-in state is the server's, unless this desk has
check-ins/undos for the person the server has not reported back yet (unanswered, or answered but their
fact not yet seen in the stream). Then it is derived by the shared conflict rule from the server's facts
plus those pending ones, so the desk predicts what the server will decide. A rejected command simply
stops counting: reverting is recomputing.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from focusdesk.domain import checkin as rule
from focusdesk.domain.timeutil import from_iso

log = logging.getLogger(__name__)

# Commands whose effect is a check-in fact for the attendee in their ``attendee_id`` column.
FACT_COMMANDS = {"checkin": rule.CHECKIN, "undo_checkin": rule.UNDO, "walkin": rule.CHECKIN}


@dataclass(frozen=True, slots=True)
class Cursor:
    epoch: str | None = None
    seq: int | None = None


@dataclass
class Touched:
    """What an apply changed, for the search index and the screen."""

    attendees: set[str] = field(default_factory=set)  # upserted or state changed
    removed: set[str] = field(default_factory=set)
    everything: bool = False  # a snapshot replaced the scope: rebuild views
    event: bool = False
    rooms: bool = False
    notices: bool = False
    draws: bool = False
    reservations: bool = False  # resources, bookings, device status
    desks: bool = False  # a desk's presence changed (the Operations board reads the server again)

    def merge(self, other: Touched) -> Touched:
        self.attendees |= other.attendees
        self.removed |= other.removed
        self.everything |= other.everything
        self.event |= other.event
        self.rooms |= other.rooms
        self.notices |= other.notices
        self.draws |= other.draws
        self.reservations |= other.reservations
        self.desks |= other.desks
        return self

    def __bool__(self) -> bool:
        return bool(
            self.attendees
            or self.removed
            or self.everything
            or self.event
            or self.rooms
            or self.notices
            or self.draws
            or self.reservations
            or self.desks
        )


# -- cursors ---------------------------------------------------------------------------------------


def read_cursor(conn: sqlite3.Connection, scope: str) -> Cursor:
    row = conn.execute("SELECT epoch, seq FROM scopes WHERE scope = ?", (scope,)).fetchone()
    return Cursor(row[0], row[1]) if row else Cursor()


def write_cursor(conn: sqlite3.Connection, scope: str, cursor: Cursor, now: float) -> None:
    conn.execute(
        "INSERT INTO scopes (scope, epoch, seq, synced_at) VALUES (?, ?, ?, ?) ON CONFLICT (scope)"
        " DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq, synced_at = excluded.synced_at",
        (scope, cursor.epoch, cursor.seq, now),
    )


# -- rows ------------------------------------------------------------------------------------------

_ATTENDEE_COLUMNS = (
    "id, event_id, reg_no, name, email, company, ticket_type, custom, status, qr_secret, updated_at,"
    " srv_checked_in, srv_checked_in_at, srv_checked_in_station, srv_checkin_count,"
    " checked_in, checked_in_at, checked_in_station, checkin_count, local_only"
)
_UPSERT_ATTENDEE = (
    f"INSERT OR REPLACE INTO attendees ({_ATTENDEE_COLUMNS})"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
)


def _attendee_params(rec: dict[str, Any]) -> tuple:
    checked_in = 1 if rec.get("checked_in") else 0
    at = from_iso(rec.get("checked_in_at"))
    station = rec.get("checked_in_station")
    count = int(rec.get("checkin_count") or 0)
    return (
        rec["id"],
        rec["event_id"],
        rec.get("registration_number"),
        rec["name"],
        rec.get("email"),
        rec.get("company") or "",
        rec.get("ticket_type") or "",
        json.dumps(rec.get("custom") or {}, ensure_ascii=False, separators=(",", ":")),
        rec.get("status") or "registered",
        rec.get("qr_secret") or "",
        rec.get("updated_at"),
        checked_in,
        at,
        station,
        count,
        checked_in,
        at,
        station,
        count,
    )


_INSERT_FACT = (
    "INSERT OR REPLACE INTO facts (station_id, cmd_seq, event_id, attendee_id, kind, at, recorded_at, station_name)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _fact_params(event_id: int, attendee_id: str, rec: dict[str, Any]) -> tuple:
    at = from_iso(rec["at"])
    recorded = from_iso(rec.get("recorded_at")) or at
    return (rec["station_id"], rec["cmd_seq"], event_id, attendee_id, rec["kind"], at, recorded, rec["station_name"])


# -- change appliers -------------------------------------------------------------------------------

Applier = Callable[[sqlite3.Connection, Any, "ReplicaContext"], Touched]


@dataclass(frozen=True, slots=True)
class ReplicaContext:
    station_id: str
    station_name: str


def _on_event_updated(conn: sqlite3.Connection, data: dict, ctx: ReplicaContext) -> Touched:
    _upsert_event(conn, data)
    return Touched(event=True)


def _upsert_event(conn: sqlite3.Connection, rec: dict) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO events (id, name, starts_on, ends_on, timezone, status, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            rec["id"],
            rec["name"],
            rec.get("starts_on"),
            rec.get("ends_on"),
            rec["timezone"],
            rec["status"],
            rec.get("updated_at"),
        ),
    )


def _on_attendee_upserted(conn: sqlite3.Connection, data: dict, ctx: ReplicaContext) -> Touched:
    rec = data["attendee"]
    conn.execute(_UPSERT_ATTENDEE, _attendee_params(rec))
    refresh_effective(conn, [rec["id"]], ctx)
    return Touched(attendees={rec["id"]})


def _on_attendee_deleted(conn: sqlite3.Connection, data: dict, ctx: ReplicaContext) -> Touched:
    attendee_id = data["id"]
    conn.execute("DELETE FROM facts WHERE attendee_id = ?", (attendee_id,))
    conn.execute("DELETE FROM attendees WHERE id = ?", (attendee_id,))
    return Touched(removed={attendee_id})


def _on_checkin_recorded(conn: sqlite3.Connection, data: dict, ctx: ReplicaContext) -> Touched:
    rec = data["attendee"]
    conn.execute(_INSERT_FACT, _fact_params(rec["event_id"], rec["id"], data["fact"]))
    conn.execute(_UPSERT_ATTENDEE, _attendee_params(rec))
    refresh_effective(conn, [rec["id"]], ctx)
    return Touched(attendees={rec["id"]})


CHANGE_APPLIERS: dict[str, Applier] = {
    "event.updated": _on_event_updated,
    "attendee.upserted": _on_attendee_upserted,
    "attendee.deleted": _on_attendee_deleted,
    "checkin.recorded": _on_checkin_recorded,
    # Presence is not kept in the replica (the board reads the server): the change only says "look again".
    "desk.updated": lambda conn, data, ctx: Touched(desks=True),
}


# -- snapshot sections -----------------------------------------------------------------------------


def _load_event(conn: sqlite3.Connection, event_id: int, rec: dict) -> None:
    conn.execute("DELETE FROM events WHERE id = ?", (event_id,))
    _upsert_event(conn, rec)


def _load_attendees(conn: sqlite3.Connection, event_id: int, recs: list[dict]) -> None:
    # Walk-ins the server has not answered yet stay; everything else is the server's word.
    conn.execute(
        "DELETE FROM attendees WHERE event_id = ? AND NOT (local_only = 1 AND id IN"
        " (SELECT attendee_id FROM outbox WHERE type = 'walkin' AND state = 'queued'))",
        (event_id,),
    )
    conn.executemany(_UPSERT_ATTENDEE, (_attendee_params(r) for r in recs))


def _load_checkins(conn: sqlite3.Connection, event_id: int, recs: list[dict]) -> None:
    conn.execute("DELETE FROM facts WHERE event_id = ?", (event_id,))
    conn.executemany(_INSERT_FACT, (_fact_params(event_id, r["attendee_id"], r) for r in recs))


SNAPSHOT_LOADERS: dict[str, Callable[[sqlite3.Connection, int, Any], None]] = {
    "event": _load_event,
    "attendees": _load_attendees,
    "checkins": _load_checkins,
}


# -- applying --------------------------------------------------------------------------------------


def apply_snapshot(
    conn: sqlite3.Connection, scope: str, epoch: str, seq: int, state: dict, ctx: ReplicaContext, now: float
) -> Touched:
    """Replace the scope's part of the replica with ``state`` (the scope at ``seq``)."""
    event_id = int(scope.partition(":")[2])
    for section, loader in SNAPSHOT_LOADERS.items():
        if section in state:
            loader(conn, event_id, state[section])
    unknown = set(state) - set(SNAPSHOT_LOADERS)
    if unknown:
        log.info("replica: snapshot sections this desk does not know yet: %s", sorted(unknown))
    refresh_effective(conn, pending_attendees(conn, ctx), ctx)
    write_cursor(conn, scope, Cursor(epoch, seq), now)
    return Touched(everything=True, event=True, rooms=True, notices=True, draws=True, reservations=True)


def apply_changes(
    conn: sqlite3.Connection, scope: str, changes: Iterable[tuple[int, str, Any]], ctx: ReplicaContext, now: float
) -> tuple[Touched, Cursor]:
    """Apply ``(seq, kind, data)`` changes that continue the scope's cursor; others are skipped.

    Returns what changed and the cursor reached. A seq past cursor+1 stops the run: the caller must
    ask again from the cursor (it never happens with the live client, which only hands out contiguous
    changes, but this function does not trust its caller with the invariant).
    """
    cursor = read_cursor(conn, scope)
    touched = Touched()
    seq = cursor.seq
    for change_seq, kind, data in changes:
        if seq is None or change_seq <= seq:
            continue
        if change_seq != seq + 1:
            break
        applier = CHANGE_APPLIERS.get(kind)
        if applier is None:
            log.info("replica: skipping change kind %r this desk does not know yet", kind)
        else:
            touched.merge(applier(conn, data, ctx))
        seq = change_seq
    reached = Cursor(cursor.epoch, seq)
    if seq != cursor.seq:
        write_cursor(conn, scope, reached, now)
    return touched, reached


# -- the optimistic view ---------------------------------------------------------------------------


def pending_attendees(conn: sqlite3.Connection, ctx: ReplicaContext) -> list[str]:
    """Attendees with at least one of this desk's facts the server has not reported back."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT attendee_id FROM outbox WHERE attendee_id IS NOT NULL AND state != 'rejected'"
            " AND cmd_seq NOT IN (SELECT cmd_seq FROM facts WHERE station_id = ?) AND type IN ('checkin',"
            " 'undo_checkin', 'walkin')",
            (ctx.station_id,),
        )
    ]


def pending_facts(conn: sqlite3.Connection, attendee_id: str, ctx: ReplicaContext) -> list[rule.Fact]:
    rows = conn.execute(
        "SELECT cmd_seq, type, device_time, created_at, args FROM outbox WHERE attendee_id = ?"
        " AND state != 'rejected' AND type IN ('checkin', 'undo_checkin', 'walkin')"
        " AND cmd_seq NOT IN (SELECT cmd_seq FROM facts WHERE station_id = ? AND attendee_id = ?)",
        (attendee_id, ctx.station_id, attendee_id),
    ).fetchall()
    facts = []
    for cmd_seq, kind, device_time, created_at, args in rows:
        if kind == "walkin" and not json.loads(args).get("check_in", True):
            continue
        facts.append(rule.Fact(FACT_COMMANDS[kind], device_time, ctx.station_id, ctx.station_name, cmd_seq, created_at))
    return facts


def server_facts(conn: sqlite3.Connection, attendee_id: str) -> list[rule.Fact]:
    return [
        rule.Fact(kind, at, station_id, station_name, cmd_seq, recorded_at)
        for kind, at, station_id, station_name, cmd_seq, recorded_at in conn.execute(
            "SELECT kind, at, station_id, station_name, cmd_seq, recorded_at FROM facts WHERE attendee_id = ?",
            (attendee_id,),
        )
    ]


def refresh_effective(conn: sqlite3.Connection, attendee_ids: Iterable[str], ctx: ReplicaContext) -> None:
    """Recompute what the desk shows for these attendees: the server's state plus pending facts."""
    for attendee_id in attendee_ids:
        pending = pending_facts(conn, attendee_id, ctx)
        if not pending:
            conn.execute(
                "UPDATE attendees SET checked_in = srv_checked_in, checked_in_at = srv_checked_in_at,"
                " checked_in_station = srv_checked_in_station, checkin_count = srv_checkin_count WHERE id = ?",
                (attendee_id,),
            )
            continue
        state = rule.derive_state(server_facts(conn, attendee_id) + pending)
        since = state.since
        conn.execute(
            "UPDATE attendees SET checked_in = ?, checked_in_at = ?, checked_in_station = ?, checkin_count = ?"
            " WHERE id = ?",
            (
                1 if state.checked_in else 0,
                since.at if since else None,
                since.station_name if since else None,
                state.checkin_count,
                attendee_id,
            ),
        )
