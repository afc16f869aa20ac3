"""Rooms of an event: the fields an organizer sets, and counting people in and out.

Plain Python: the server validates with these rules, and a desk checks the same way before it queues a
command, so a refusal reads the same wherever it happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from focusdesk.domain import timers
from focusdesk.domain.attendees import clean_text
from focusdesk.domain.errors import DomainError, FieldProblem, ValidationFailed
from focusdesk.domain.timers import MAX_DURATION_S, MIN_DURATION_S, TimerState

NAME_MAX = 80
CAPACITY_MAX = 100_000
ROOM_FIELDS = ("name", "capacity", "work_s", "break_s")


@dataclass(frozen=True, slots=True)
class RoomFields:
    name: str
    capacity: int | None = None  # None: no limit known
    work_s: float = 25 * 60.0  # default timer length (the work phase of a pomodoro)
    break_s: float = 5 * 60.0


def validate_room(data: Mapping[str, Any], *, prefix: str = "", partial: bool = False) -> dict[str, Any]:
    """The valid subset of room fields in ``data`` (all of them unless ``partial``); problems are named."""
    problems: list[FieldProblem] = []
    out: dict[str, Any] = {}
    for key in sorted(set(data) - set(ROOM_FIELDS) - {"id"}):
        problems.append(FieldProblem(f"{prefix}{key}", "is not a field of a room"))
    if "name" in data or not partial:
        name = clean_text(data.get("name") or "")
        if not name:
            problems.append(FieldProblem(f"{prefix}name", "must not be empty"))
        elif len(name) > NAME_MAX:
            problems.append(FieldProblem(f"{prefix}name", f"must be at most {NAME_MAX} characters"))
        out["name"] = name
    if "capacity" in data:
        capacity = data["capacity"]
        if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int)):
            problems.append(FieldProblem(f"{prefix}capacity", "must be a whole number of people, or null"))
        elif capacity is not None and not 0 < capacity <= CAPACITY_MAX:
            problems.append(FieldProblem(f"{prefix}capacity", f"must be between 1 and {CAPACITY_MAX}"))
        out["capacity"] = capacity
    for key in ("work_s", "break_s"):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(FieldProblem(f"{prefix}{key}", "must be a number of seconds"))
            elif not MIN_DURATION_S <= value <= MAX_DURATION_S:
                problems.append(FieldProblem(f"{prefix}{key}", "must be between 1 second and 24 hours"))
            else:
                out[key] = float(value)
    if problems:
        raise ValidationFailed(problems)
    return out


def new_occupancy(current: int, *, delta: Any = None, set_to: Any = None) -> int:
    """People present after counting ``delta`` in (negative: out) or setting the count to ``set_to``.

    Counting out below zero stops at zero: two doors counting the same leaver must not make the room
    hold minus one person.
    """
    if (delta is None) == (set_to is None):
        raise DomainError("invalid_input", "Give either delta (people in, or out if negative) or set.")
    value = delta if set_to is None else set_to
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > CAPACITY_MAX:
        raise DomainError("invalid_input", f"The count must be a whole number up to {CAPACITY_MAX}.")
    if set_to is not None:
        if set_to < 0:
            raise DomainError("invalid_input", "A room cannot hold fewer than 0 people.")
        return set_to
    return max(0, current + delta)


def apply_room_command(
    record: dict[str, Any] | None, command: str, args: dict[str, Any], at: float
) -> dict[str, Any] | None:
    """A room's record after one command at server time ``at``: the server applies it this way, and a
    desk folds its queued commands the same way to show them at once.

    ``record`` holds name, capacity, occupancy, work_s, break_s and timer (a :class:`TimerState` dict).
    Raises :class:`DomainError` when the command is impossible on that room; returns None once deleted.
    """
    if command == "room_create":
        fields = validate_room(args.get("room") or {}, prefix="args.room.")
        work_s, break_s = fields.get("work_s", 25 * 60.0), fields.get("break_s", 5 * 60.0)
        return {
            "id": (args.get("room") or {}).get("id"),
            "event_id": args.get("event_id"),
            "name": fields["name"],
            "capacity": fields.get("capacity"),
            "occupancy": 0,
            "work_s": work_s,
            "break_s": break_s,
            "timer": TimerState(duration=work_s, work_s=work_s).to_dict(),
        }
    if record is None:
        raise DomainError("unknown_room", "that room no longer exists; it may have been deleted")
    if command == "room_delete":
        return None
    if command == "room_update":
        fields = validate_room(args.get("fields") or {}, prefix="args.fields.", partial=True)
        after = {**record, **fields}
        timer = TimerState.from_dict(record["timer"])
        if "work_s" in fields and timer.status == timers.IDLE and timer.mode == timers.COUNTDOWN:
            # An idle countdown shows the room's length: a new default is what the next start runs.
            after["timer"] = {**record["timer"], "work_s": fields["work_s"], "duration": fields["work_s"]}
        return after
    if command == "occupancy":
        occupancy = new_occupancy(record["occupancy"], delta=args.get("delta"), set_to=args.get("set"))
        return {**record, "occupancy": occupancy}
    if command == "timer":
        after = timers.apply(TimerState.from_dict(record["timer"]), args, at)
        return {**record, "timer": after.to_dict()}
    raise DomainError("unknown_command", f"unknown room command {command!r}")
