"""Rooms on the desk: the replica's rooms with this desk's unanswered commands folded on top.

Room changes are commands like check-ins (DESIGN.md: timers are last write by server order), so they
work offline and reach the server exactly once. The desk shows its own commands at once by folding the
queued ones over the server's room with the same timer rules the server uses; an answer or a live change
replaces the fold with the server's word. Each room carries ``rev`` (its count of changes on the
server): whichever of the answer and the live change arrives first, the newer room is kept.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import TYPE_CHECKING, Any

from focusdesk.domain import timers
from focusdesk.domain.errors import DomainError
from focusdesk.domain.roles import OCCUPANCY_COUNT, ROOMS_MANAGE, TIMER_CONTROL
from focusdesk.domain.rooms import ROOM_FIELDS, apply_room_command, validate_room
from focusdesk.domain.timers import TimerState
from focusdesk.station.model import Room
from focusdesk.station.replica import CHANGE_APPLIERS, SNAPSHOT_LOADERS, ReplicaContext, Touched

if TYPE_CHECKING:
    from focusdesk.station.engine import Station

ROOM_COMMANDS = ("room_create", "room_update", "room_delete", "timer", "occupancy")
_TIMER_WORDS = {
    "start": "Timer start",
    "pause": "Timer pause",
    "resume": "Timer resume",
    "reset": "Timer reset",
    "adjust": "Timer change",
    "message": "Room message",
    "configure": "Timer settings",
}


def store_room(conn: sqlite3.Connection, record: dict[str, Any]) -> bool:
    """Keep ``record`` unless the desk already holds a newer version of the room; True if stored."""
    stored = conn.execute("SELECT rev FROM rooms WHERE id = ?", (record["id"],)).fetchone()
    if stored is not None and stored[0] > record.get("rev", 0):
        return False
    conn.execute(
        "INSERT OR REPLACE INTO rooms (id, event_id, rev, record) VALUES (?, ?, ?, ?)",
        (record["id"], record["event_id"], record.get("rev", 0), json.dumps(record, ensure_ascii=False)),
    )
    return True


def _on_room_updated(conn: sqlite3.Connection, data: dict, ctx: ReplicaContext) -> Touched:
    store_room(conn, data["room"])
    return Touched(rooms=True)


def store_deletion(conn: sqlite3.Connection, room_id: str, event_id: int, rev: int) -> None:
    """A tombstone at the deletion's ``rev``: an older answer arriving late cannot bring the room back."""
    store_room(conn, {"id": room_id, "event_id": event_id, "rev": rev, "deleted": True})


def _on_room_deleted(conn: sqlite3.Connection, data: dict, ctx: ReplicaContext) -> Touched:
    store_deletion(conn, data["id"], data["event_id"], data.get("rev", 0))
    return Touched(rooms=True)


def _load_rooms(conn: sqlite3.Connection, event_id: int, records: list[dict]) -> None:
    conn.execute("DELETE FROM rooms WHERE event_id = ?", (event_id,))
    for record in records:
        store_room(conn, record)


CHANGE_APPLIERS.update({"room.updated": _on_room_updated, "room.deleted": _on_room_deleted})
SNAPSHOT_LOADERS["rooms"] = _load_rooms


def room_from_record(record: dict[str, Any], *, pending: bool = False) -> Room:
    return Room(
        id=record["id"],
        event_id=record["event_id"],
        name=record["name"],
        capacity=record.get("capacity"),
        occupancy=int(record.get("occupancy") or 0),
        work_s=float(record.get("work_s") or 0),
        break_s=float(record.get("break_s") or 0),
        timer=TimerState.from_dict(record.get("timer") or {}),
        updated_by=record.get("updated_by"),
        pending=pending,
    )


class RoomBook:
    """``station.rooms``: read rooms, and change them (each change is a queued command)."""

    def __init__(self, station: Station):
        self.station = station

    # -- reading -------------------------------------------------------------------------------------

    def _server_records(self) -> dict[str, dict[str, Any]]:
        rows = self.station.db.conn.execute("SELECT record FROM rooms WHERE event_id = ?", (self.station.event_id,))
        return {r["id"]: r for r in (json.loads(row[0]) for row in rows) if not r.get("deleted")}

    def _queued(self) -> list[tuple[int, str, dict[str, Any], float]]:
        marks = ",".join("?" * len(ROOM_COMMANDS))
        rows = self.station.db.conn.execute(
            f"SELECT cmd_seq, type, args, device_time FROM outbox WHERE state = 'queued' AND type IN ({marks})"
            " ORDER BY cmd_seq",
            ROOM_COMMANDS,
        )
        return [(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    def list(self) -> list[Room]:
        """Every room of the event, by name, as this desk predicts the server will have it."""
        records = self._server_records()
        pending: set[str] = set()
        for _seq, command, args, at in self._queued():
            room_id = args.get("room_id") or (args.get("room") or {}).get("id")
            try:
                after = apply_room_command(records.get(room_id), command, args, at)
            except DomainError:
                continue  # another desk changed the room first: the server will refuse it and say so
            pending.add(room_id)
            if after is None:
                records.pop(room_id, None)
            else:
                records[room_id] = after
        rooms = [room_from_record(r, pending=r["id"] in pending) for r in records.values()]
        return sorted(rooms, key=lambda room: (room.name.casefold(), room.id))

    def get(self, room_id: str) -> Room | None:
        return next((r for r in self.list() if r.id == room_id), None)

    def by_name(self, name: str) -> Room | None:
        """The room called ``name`` (case and spacing ignored), or the only one whose name starts so."""
        wanted = " ".join(name.split()).casefold()
        rooms = self.list()
        exact = [r for r in rooms if r.name.casefold() == wanted]
        if exact:
            return exact[0]
        starts = [r for r in rooms if r.name.casefold().startswith(wanted)]
        return starts[0] if len(starts) == 1 else None

    # -- changing ------------------------------------------------------------------------------------

    def _require(self, permission: str, what: str) -> None:
        if not self.station.can(permission):
            raise DomainError("forbidden", f"your account may not {what} at this event; ask an organizer")

    def _command(self, command: str, args: dict[str, Any], room_id: str, label: str) -> Room | None:
        """Check ``command`` against the desk's view of the room, then queue it with its effect."""
        station = self.station
        now = station.clock.now()
        current = None if command == "room_create" else self.get(room_id)
        if command != "room_create" and current is None:
            raise DomainError("unknown_room", "no such room at this event (it may have been deleted)")
        record = None if current is None else _record_of(current)
        apply_room_command(record, command, args, now)  # raises the same refusal the server would give
        station.queue_event_command(command, args, label, device_time=now)
        station.notify_rooms()
        return self.get(room_id)

    def create(
        self, name: str, *, capacity: int | None = None, work_s: float = 25 * 60.0, break_s: float = 5 * 60.0
    ) -> Room:
        self._require(ROOMS_MANAGE, "add rooms")
        fields = validate_room({"name": name, "capacity": capacity, "work_s": work_s, "break_s": break_s})
        self._refuse_taken_name(fields["name"], None)
        room_id = uuid.uuid4().hex
        room = self._command("room_create", {"room": {"id": room_id, **fields}}, room_id, fields["name"])
        assert room is not None
        return room

    def update(self, room_id: str, **fields: Any) -> Room:
        self._require(ROOMS_MANAGE, "change rooms")
        unknown = set(fields) - set(ROOM_FIELDS)
        if unknown:
            raise DomainError("invalid_input", f"rooms have no field {', '.join(sorted(unknown))}")
        if "name" in fields:
            self._refuse_taken_name(str(fields["name"]), room_id)
        room = self._command("room_update", {"room_id": room_id, "fields": fields}, room_id, self._name(room_id))
        assert room is not None
        return room

    def delete(self, room_id: str) -> None:
        self._require(ROOMS_MANAGE, "delete rooms")
        self._command("room_delete", {"room_id": room_id}, room_id, self._name(room_id))

    def timer(self, room_id: str, op: str, **args: Any) -> Room:
        """Run a timer command: ``start`` [duration_s | preset], ``pause``, ``resume``, ``reset``,
        ``adjust`` delta_s, ``message`` text, ``configure`` mode work_s [break_s]."""
        self._require(TIMER_CONTROL, "run room timers")
        room = self._command("timer", {"room_id": room_id, "op": op, **args}, room_id, self._name(room_id))
        assert room is not None
        return room

    def toggle(self, room_id: str) -> Room:
        """What the space bar does: start an idle timer, pause a running one, resume a paused one — and
        reset a countdown whose time is up (pausing it at 00:00 would only ring again on resume)."""
        room = self.get(room_id)
        if room is None:
            raise DomainError("unknown_room", "no such room at this event (it may have been deleted)")
        if room.time_is_up(self.station.server_now()):
            return self.timer(room_id, "reset")
        op = {timers.IDLE: "start", timers.RUNNING: "pause", timers.PAUSED: "resume"}[room.timer.status]
        return self.timer(room_id, op)

    def count(self, room_id: str, *, delta: int | None = None, set_to: int | None = None) -> Room:
        """Count people into (``delta`` > 0) or out of a room, or set how many are there."""
        self._require(OCCUPANCY_COUNT, "count people in rooms")
        args: dict[str, Any] = {"room_id": room_id}
        if delta is not None:
            args["delta"] = delta
        if set_to is not None:
            args["set"] = set_to
        room = self._command("occupancy", args, room_id, self._name(room_id))
        assert room is not None
        return room

    def _refuse_taken_name(self, name: str, room_id: str | None) -> None:
        """The server refuses a second room of the same name (case and spacing ignored); say so at once."""
        wanted = " ".join(name.split()).casefold()
        clash = next((r for r in self.list() if r.name.casefold() == wanted and r.id != room_id), None)
        if clash is not None:
            raise DomainError("duplicate_room", f"there is already a room called {clash.name}")

    def _name(self, room_id: str) -> str:
        room = self.get(room_id)
        return room.name if room else room_id


def _record_of(room: Room) -> dict[str, Any]:
    return {
        "id": room.id,
        "event_id": room.event_id,
        "name": room.name,
        "capacity": room.capacity,
        "occupancy": room.occupancy,
        "work_s": room.work_s,
        "break_s": room.break_s,
        "timer": room.timer.to_dict(),
        "updated_by": room.updated_by,
    }


def describe_command(command: str, args: dict[str, Any]) -> str:
    """What a room command was, for "refused by the server" messages."""
    if command == "timer":
        return _TIMER_WORDS.get(str(args.get("op")), "Timer command")
    return {
        "room_create": "Adding the room",
        "room_update": "Changing the room",
        "room_delete": "Deleting the room",
        "occupancy": "Counting people",
    }.get(command, "Room change")
