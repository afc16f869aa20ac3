"""Rooms and their shared timers on the server: one function changes a room, for desks and for REST.

Every change goes through :func:`change_room`, which applies the domain rule (``apply_room_command``, the
same one desks fold their queued commands with) to the row read under ``FOR UPDATE`` — so on PostgreSQL
two instances changing one room serialise on it — writes the new version with ``rev + 1`` and returns
the change-log entry. Timers are last write by server order (DESIGN.md): a command is applied to the state
the previous one left, at the server's time; one that no longer makes sense ("pause" of a timer another
desk already paused) is refused with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from focusdesk.domain import timers
from focusdesk.domain.attendees import check_id
from focusdesk.domain.errors import DomainError, FieldProblem, ValidationFailed
from focusdesk.domain.rooms import apply_room_command
from focusdesk.domain.timeutil import to_iso
from focusdesk.server.schema import rooms
from focusdesk.server.store.records import dumps

Entry = tuple[str, str, object]  # (kind, entity_id, data) for append_changes
_TIMER_ARGS = {"event_id", "room_id", "op", "duration_s", "preset", "delta_s", "text", "mode", "work_s", "break_s"}
ALLOWED_ARGS = {
    "room_create": {"event_id", "room"},
    "room_update": {"event_id", "room_id", "fields"},
    "room_delete": {"event_id", "room_id"},
    "timer": _TIMER_ARGS,
    "occupancy": {"event_id", "room_id", "delta", "set"},
}


def room_record(row: Mapping[str, Any]) -> dict[str, Any]:
    timer = row["timer"]
    return {
        "id": row["id"],
        "event_id": row["event_id"],
        "name": row["name"],
        "capacity": row["capacity"],
        "occupancy": row["occupancy"],
        "work_s": row["work_s"],
        "break_s": row["break_s"],
        "timer": json.loads(timer) if isinstance(timer, str) else timer,
        "rev": row["rev"],
        "updated_by": row["updated_by"],
        "updated_at": to_iso(row["updated_at"]),
    }


def list_rooms(conn: Connection, event_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(rooms).where(rooms.c.event_id == event_id).order_by(rooms.c.name_key, rooms.c.id))
    return [room_record(r) for r in rows.mappings()]


def _check_room_id(value: object, field: str) -> str:
    problems: list[FieldProblem] = []
    room_id = check_id(value, problems, field)
    if room_id is None:
        raise ValidationFailed(problems)
    return room_id


def _locked_room(conn: Connection, event_id: int, room_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(select(rooms).where(rooms.c.id == room_id, rooms.c.event_id == event_id).with_for_update())
        .mappings()
        .first()
    )
    return None if row is None else room_record(row)


def _describe(command: str, args: dict[str, Any], before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    name = (after or before or {}).get("name", "the room")
    if command == "room_create":
        return f"{name} added"
    if command == "room_delete":
        return f"{name} deleted"
    if command == "room_update":
        return f"{name} changed"
    if command == "occupancy":
        return f"{name}: {after['occupancy']} people present" if after else name
    op = args.get("op")
    state = timers.TimerState.from_dict(after["timer"]) if after else None
    words = {
        "start": "timer started",
        "pause": "timer paused",
        "resume": "timer resumed",
        "reset": "timer reset",
        "message": "message set" if state and state.message else "message cleared",
        "configure": "timer settings changed",
    }
    if op == "adjust":
        delta = float(args.get("delta_s") or 0)
        return f"{name}: {abs(delta) / 60:g} min {'added' if delta >= 0 else 'taken away'}"
    return f"{name}: {words.get(str(op), 'timer changed')}"


def change_room(
    conn: Connection, *, event_id: int, command: str, args: dict[str, Any], actor: str, now: float
) -> tuple[dict[str, Any], list[Entry]]:
    """Apply one room command at server time ``now``; returns the answer and the change-log entries."""
    problems = [
        FieldProblem(f"args.{key}", "is not a field of this command")
        for key in sorted(set(args) - ALLOWED_ARGS[command])
    ]
    if problems:
        raise ValidationFailed(problems)
    if command == "room_create":
        room = args.get("room")
        if not isinstance(room, dict):
            raise ValidationFailed([FieldProblem("args.room", "must be an object with at least a name")])
        room_id = _check_room_id(room.get("id"), "args.room.id")
        before = None
        if conn.execute(select(rooms.c.id).where(rooms.c.id == room_id)).first():
            raise DomainError("duplicate_id", f"a room with id {room_id} already exists")
    else:
        room_id = _check_room_id(args.get("room_id"), "args.room_id")
        before = _locked_room(conn, event_id, room_id)
        if before is None:
            raise DomainError("unknown_room", f"no room {room_id} at event {event_id}; it may have been deleted")
    after = apply_room_command(before, command, {**args, "event_id": event_id}, now)
    if after is None:
        conn.execute(delete(rooms).where(rooms.c.id == room_id))
        gone = {"id": room_id, "event_id": event_id, "rev": before["rev"] + 1}
        answer = {"status": "applied", "deleted_room": gone, "message": _describe(command, args, before, None)}
        return answer, [("room.deleted", room_id, gone)]
    name_key = after["name"].casefold()
    if before is None or name_key != before["name"].casefold():
        clash = conn.execute(
            select(rooms.c.name).where(
                rooms.c.event_id == event_id, rooms.c.name_key == name_key, rooms.c.id != room_id
            )
        ).first()
        if clash is not None:
            raise DomainError("duplicate_room", f"there is already a room called {clash.name}")
    values = {
        "name": after["name"],
        "name_key": name_key,
        "capacity": after["capacity"],
        "occupancy": after["occupancy"],
        "work_s": after["work_s"],
        "break_s": after["break_s"],
        "timer": dumps(after["timer"]),
        "rev": 1 if before is None else before["rev"] + 1,
        "updated_by": actor[:64],
        "updated_at": now,
    }
    if before is None:
        conn.execute(insert(rooms).values(id=room_id, event_id=event_id, created_at=now, **values))
    else:
        conn.execute(update(rooms).where(rooms.c.id == room_id).values(**values))
    record = room_record({"id": room_id, "event_id": event_id, **values})
    answer = {"status": "applied", "room": record, "message": _describe(command, args, before, record)}
    return answer, [("room.updated", room_id, {"room": record})]
