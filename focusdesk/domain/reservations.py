"""Reservations of rooms and devices: the overlap rule, bookable hours, series, and a booking's life.

Plain Python on epoch seconds. The server decides with these rules (under a lock on the resource, so two
desks booking in the same second cannot both win); a desk checks its replica with the same rules first so
a conflict it can already see is refused at once with the same words — but only the server decides.

Wall-clock matters: a venue's hours and a weekly series are local times in the event's time zone, so a
series keeps "10:00" across a DST change (the interval in UTC shifts by an hour), and a local time the
clocks skip is refused rather than guessed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from focusdesk.domain.attendees import clean_text
from focusdesk.domain.errors import DomainError, FieldProblem, ValidationFailed, unknown_fields
from focusdesk.domain.timeutil import from_iso, local_hhmm, to_iso

ROOM, DEVICE = "room", "device"
KINDS = (ROOM, DEVICE)

PENDING, APPROVED, REJECTED, CANCELLED = "pending", "approved", "rejected", "cancelled"
CHECKED_IN, COMPLETED, NO_SHOW = "checked_in", "completed", "no_show"
STATUSES = (PENDING, APPROVED, REJECTED, CANCELLED, CHECKED_IN, COMPLETED, NO_SHOW)
# Statuses that hold the slot. A completed booking keeps the time it was used (an early finish ends it).
ACTIVE = frozenset({PENDING, APPROVED, CHECKED_IN, COMPLETED})

DEVICE_STATUSES = ("online", "offline", "in_use", "available", "maintenance")
STATUS_WORDS = {
    "online": "online",
    "offline": "offline",
    "in_use": "in use",
    "available": "available",
    "maintenance": "maintenance",
}

NAME_MAX = 80
NOTE_MAX = 300
BUFFER_MAX_MIN = 240
RELEASE_DEFAULT_MIN = 15
RELEASE_MAX_MIN = 240
MIN_LENGTH_S = 5 * 60
MAX_LENGTH_S = 7 * 24 * 3600
CHECKIN_EARLY_S = 15 * 60  # a holder may check in this long before the start
REMINDER_BEFORE_S = 10 * 60
SERIES_MAX = 52
SEARCH_HORIZON_DAYS = 14
# A booking may start this long ago: the desk's clock, the queue's delay, someone booking the room they
# are standing in.
PAST_GRACE_S = 5 * 60  # how far from the wanted time the nearest free slot is looked for

RESOURCE_FIELDS = (
    "kind",
    "name",
    "capacity",
    "buffer_min",
    "open_from",
    "open_until",
    "needs_approval",
    "release_after_min",
)
RESERVATION_FIELDS = (
    "id",
    "resource_id",
    "holder_name",
    "attendee_id",
    "start",
    "end",
    "note",
    "repeat",
    "skip_conflicts",
)
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


# -- resources ---------------------------------------------------------------------------------------


def _whole(value: Any, low: int, high: int, field: str, what: str, problems: list[FieldProblem]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(FieldProblem(field, f"must be a whole number of {what}"))
        return None
    if not low <= value <= high:
        problems.append(FieldProblem(field, f"must be between {low} and {high}"))
        return None
    return value


def validate_resource(data: Mapping[str, Any], *, prefix: str = "", partial: bool = False) -> dict[str, Any]:
    """The valid subset of resource fields in ``data`` (all of them, with defaults, unless ``partial``)."""
    problems = [
        FieldProblem(p.field, "is not a field of a resource")
        for p in unknown_fields(dict(data), set(RESOURCE_FIELDS) | {"id"}, prefix)
    ]
    out: dict[str, Any] = {}
    if not partial:
        out = {"capacity": None, "buffer_min": 0, "open_from": None, "open_until": None, "needs_approval": False}
        out["release_after_min"] = RELEASE_DEFAULT_MIN
    if "kind" in data or not partial:
        kind = data.get("kind")
        if partial and "kind" in data:
            problems.append(FieldProblem(f"{prefix}kind", "cannot change; delete the resource and add it again"))
        elif kind not in KINDS:
            problems.append(FieldProblem(f"{prefix}kind", "must be room or device"))
        else:
            out["kind"] = kind
    if "name" in data or not partial:
        name = clean_text(data.get("name") or "")
        if not name:
            problems.append(FieldProblem(f"{prefix}name", "must not be empty"))
        elif len(name) > NAME_MAX:
            problems.append(FieldProblem(f"{prefix}name", f"must be at most {NAME_MAX} characters"))
        out["name"] = name
    if data.get("capacity") is not None:
        out["capacity"] = _whole(data["capacity"], 1, 100_000, f"{prefix}capacity", "people", problems)
    elif "capacity" in data:
        out["capacity"] = None
    if "buffer_min" in data:
        out["buffer_min"] = _whole(data["buffer_min"], 0, BUFFER_MAX_MIN, f"{prefix}buffer_min", "minutes", problems)
    if "release_after_min" in data:
        out["release_after_min"] = _whole(
            data["release_after_min"], 1, RELEASE_MAX_MIN, f"{prefix}release_after_min", "minutes", problems
        )
    if "needs_approval" in data:
        if not isinstance(data["needs_approval"], bool):
            problems.append(FieldProblem(f"{prefix}needs_approval", "must be true or false"))
        else:
            out["needs_approval"] = data["needs_approval"]
    for key in ("open_from", "open_until"):
        if key in data:
            value = data[key]
            if value is not None and (not isinstance(value, str) or not _HHMM.match(value)):
                problems.append(FieldProblem(f"{prefix}{key}", "must be a time of day like 08:30, or null"))
            else:
                out[key] = value
    if (data.get("open_from") is None) != (data.get("open_until") is None) and not partial:
        problems.append(FieldProblem(f"{prefix}open_until", "give both open_from and open_until, or neither"))
    if out.get("open_from") and out.get("open_until") and out["open_from"] >= out["open_until"]:
        problems.append(FieldProblem(f"{prefix}open_until", "must be later than open_from"))
    if problems:
        raise ValidationFailed(problems)
    return out


def validate_device_status(status: Any, note: Any, *, prefix: str = "args.") -> tuple[str, str]:
    problems: list[FieldProblem] = []
    if status not in DEVICE_STATUSES:
        problems.append(FieldProblem(f"{prefix}status", f"must be one of {', '.join(DEVICE_STATUSES)}"))
    text = clean_text(note or "") if isinstance(note, str | None) else None
    if text is None:
        problems.append(FieldProblem(f"{prefix}note", "must be text"))
    elif len(text) > NOTE_MAX:
        problems.append(FieldProblem(f"{prefix}note", f"must be at most {NOTE_MAX} characters"))
    if problems:
        raise ValidationFailed(problems)
    return status, text or ""


# -- time --------------------------------------------------------------------------------------------


def parse_time(value: Any, tz_name: str, field: str) -> float:
    """Epoch seconds of an ISO 8601 time. With an offset (or ``Z``) it is that instant; without one it is
    the event's local wall time. A local time the clocks skip (spring forward) is refused; one that
    happens twice (fall back) means its first occurrence."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed([FieldProblem(field, "must be a date and time like 2026-11-24T10:00")])
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            [FieldProblem(field, f"{value!r} is not a date and time like 2026-11-24T10:00")]
        ) from None
    if parsed.tzinfo is not None:
        return parsed.timestamp()
    zone = ZoneInfo(tz_name)
    local = parsed.replace(tzinfo=zone, fold=0)
    # A skipped wall time does not survive the round trip through UTC.
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != parsed:
        raise ValidationFailed(
            [FieldProblem(field, f"{parsed:%Y-%m-%d %H:%M} does not exist in {tz_name} (the clocks skip it)")]
        )
    return local.timestamp()


def local_datetime(ts: float, tz_name: str) -> datetime:
    return datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo(tz_name))


def day_bounds(day: date, tz_name: str) -> tuple[float, float]:
    """The instants a local day starts and ends (23 or 25 hours apart on a DST change)."""
    zone = ZoneInfo(tz_name)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.timestamp(), end.timestamp()


def span_text(start: float, end: float, tz_name: str) -> str:
    """``Tue 24 Nov 10:00–11:00`` in the venue's wall time."""
    first = local_datetime(start, tz_name)
    same_day = local_datetime(end, tz_name).date() == first.date()
    until = local_hhmm(end, tz_name) if same_day else f"{local_datetime(end, tz_name):%a %d %b %H:%M}"
    return f"{first:%a %d %b} {local_hhmm(start, tz_name)}–{until}"


# -- hours and overlap ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Booked:
    """An active booking of one resource, as the overlap rule sees it."""

    id: str
    start: float
    end: float
    record: Mapping[str, Any] | None = None


def booked_from(records: Iterable[Mapping[str, Any]]) -> list[Booked]:
    """The active bookings among reservation ``records`` (ISO times), sorted by start."""
    out = [Booked(r["id"], from_iso(r["start"]), from_iso(r["end"]), r) for r in records if r.get("status") in ACTIVE]
    return sorted(out, key=lambda b: (b.start, b.id))


def _open_window(resource: Mapping[str, Any], day: date, tz_name: str) -> tuple[float, float] | None:
    if not resource.get("open_from") or not resource.get("open_until"):
        return None
    zone = ZoneInfo(tz_name)
    opens = datetime.combine(day, time.fromisoformat(resource["open_from"]), tzinfo=zone)
    closes = datetime.combine(day, time.fromisoformat(resource["open_until"]), tzinfo=zone)
    return opens.timestamp(), closes.timestamp()


def outside_hours(resource: Mapping[str, Any], start: float, end: float, tz_name: str) -> str | None:
    """Why ``start``–``end`` is outside the resource's bookable hours, or None if it fits."""
    if not resource.get("open_from") or not resource.get("open_until"):
        return None
    window = _open_window(resource, local_datetime(start, tz_name).date(), tz_name)
    assert window is not None
    if window[0] <= start and end <= window[1]:
        return None
    return f"{resource.get('name', 'it')} can be booked from {resource['open_from']} to {resource['open_until']} only"


def first_conflict(
    booked: Iterable[Booked], start: float, end: float, buffer_s: float, *, ignore: str | None = None
) -> Booked | None:
    """The earliest active booking that overlaps ``start``–``end`` once the buffer is kept on both sides.

    Touching is allowed: a booking ending at 10:00 and one starting at 10:00 do not overlap (buffer 0).
    """
    for other in sorted(booked, key=lambda b: (b.start, b.id)):
        if other.id != ignore and other.start < end + buffer_s and start < other.end + buffer_s:
            return other
    return None


def first_too_close(
    booked: Iterable[Booked], buffer_s: float, *, fixed: Iterable[tuple[Booked, float]] = ()
) -> tuple[Booked, Booked] | None:
    """The first two bookings that would overlap once each of ``booked`` keeps ``buffer_s`` after its
    end — ``first_conflict``'s rule for every pair at once — as (earlier, later) by start; None if none.

    ``fixed`` are bookings that keep the hold they have, ``(booking, held until)``: finished ones a
    buffer change no longer reaches. Two fixed bookings are never reported (nothing about them changes).
    """
    spans = [(b.start, b.id, b.end + buffer_s, True, b) for b in booked]
    spans += [(b.start, b.id, held, False, b) for b, held in fixed]
    spans.sort(key=lambda s: (s[0], s[1]))
    # Sorted by start, a booking overlaps an earlier one exactly when it starts before that one's hold
    # ends; the furthest-reaching earlier booking of each kind is the one to beat.
    reach: dict[bool, tuple[float, Booked | None]] = {True: (-math.inf, None), False: (-math.inf, None)}
    for start, _id, held, moves, booking in spans:
        kinds = (True, False) if moves else (True,)
        for kind in kinds:
            until, earlier = reach[kind]
            if earlier is not None and start < until:
                return earlier, booking
        if held > reach[moves][0]:
            reach[moves] = (held, booking)
    return None


def too_close_error(
    resource: Mapping[str, Any], buffer_min: int, pair: tuple[Booked, Booked], tz_name: str
) -> DomainError:
    """The refusal of a larger buffer that two active bookings of ``resource`` would not leave room for."""
    first, second = pair

    def booked_by(booking: Booked) -> str:
        who = (booking.record or {}).get("holder_name") or "someone"
        return f"by {who} {span_text(booking.start, booking.end, tz_name)}"

    message = (
        f"a {buffer_min}-minute buffer would leave {resource['name']} booked {booked_by(first)} and"
        f" {booked_by(second)} too close; move or cancel one first"
    )
    details = {
        "conflict": dict(first.record or {"id": first.id}),
        "conflict_with": dict(second.record or {"id": second.id}),
    }
    return DomainError("reservation_conflict", message, details=details)


def nearest_free(
    booked: list[Booked],
    start: float,
    end: float,
    buffer_s: float,
    *,
    resource: Mapping[str, Any],
    tz_name: str,
    not_before: float,
) -> tuple[float, float] | None:
    """The free slot of the same length whose start is closest to the wanted ``start`` (later wins a
    tie), inside the bookable hours, not before ``not_before``, within two weeks; None if there is none."""
    length = end - start
    horizon = SEARCH_HORIZON_DAYS * 86400
    candidates = {start, not_before}  # not_before: a wanted time already (partly) past moves to "now"
    for other in booked:
        candidates.add(other.end + buffer_s)
        candidates.add(other.start - buffer_s - length)
    if resource.get("open_from") and resource.get("open_until"):  # as outside_hours: both, or any time
        first_day = local_datetime(start - horizon, tz_name).date()
        for offset in range(2 * SEARCH_HORIZON_DAYS + 2):
            window = _open_window(resource, first_day + timedelta(days=offset), tz_name)
            assert window is not None
            candidates.update((window[0], window[1] - length))
    best: float | None = None
    for candidate in sorted(candidates):
        if candidate < not_before or abs(candidate - start) > horizon:
            continue
        if outside_hours(resource, candidate, candidate + length, tz_name):
            continue
        if first_conflict(booked, candidate, candidate + length, buffer_s):
            continue
        if (
            best is None
            or abs(candidate - start) < abs(best - start)
            or (abs(candidate - start) == abs(best - start) and candidate > best)
        ):
            best = candidate
    return None if best is None else (best, best + length)


# -- reservations ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Repeat:
    freq: str  # daily | weekly
    count: int  # occurrences including the first


@dataclass(frozen=True, slots=True)
class ReservationRequest:
    resource_id: str
    holder_name: str
    attendee_id: str | None
    start: float
    end: float
    note: str
    repeat: Repeat | None
    skip_conflicts: bool


def validate_reservation(data: Mapping[str, Any], tz_name: str, *, prefix: str = "") -> ReservationRequest:
    """Check a booking request's fields; every problem is named, not just the first."""
    problems = [
        FieldProblem(p.field, "is not a field of a reservation")
        for p in unknown_fields(dict(data), set(RESERVATION_FIELDS), prefix)
    ]
    resource_id = data.get("resource_id")
    if not isinstance(resource_id, str) or not resource_id:
        problems.append(FieldProblem(f"{prefix}resource_id", "must name the resource to book"))
    holder = clean_text(data.get("holder_name") or "") if isinstance(data.get("holder_name"), str | None) else ""
    if not holder:
        problems.append(FieldProblem(f"{prefix}holder_name", "must say who the booking is for"))
    elif len(holder) > NAME_MAX:
        problems.append(FieldProblem(f"{prefix}holder_name", f"must be at most {NAME_MAX} characters"))
    attendee_id = data.get("attendee_id")
    if attendee_id is not None and (not isinstance(attendee_id, str) or not attendee_id):
        problems.append(FieldProblem(f"{prefix}attendee_id", "must be an attendee id, or null"))
    note = data.get("note") or ""
    if not isinstance(note, str) or len(note) > NOTE_MAX:
        problems.append(FieldProblem(f"{prefix}note", f"must be text of at most {NOTE_MAX} characters"))
    times: dict[str, float] = {}
    for key in ("start", "end"):
        try:
            times[key] = parse_time(data.get(key), tz_name, f"{prefix}{key}")
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    if len(times) == 2:
        length = times["end"] - times["start"]
        if length <= 0:
            problems.append(FieldProblem(f"{prefix}end", "must be later than start"))
        elif length < MIN_LENGTH_S:
            problems.append(FieldProblem(f"{prefix}end", "a booking lasts at least 5 minutes"))
        elif length > MAX_LENGTH_S:
            problems.append(FieldProblem(f"{prefix}end", "a booking lasts at most 7 days"))
    repeat = _repeat(data.get("repeat"), f"{prefix}repeat", problems)
    skip = data.get("skip_conflicts", False)
    if not isinstance(skip, bool):
        problems.append(FieldProblem(f"{prefix}skip_conflicts", "must be true or false"))
    if problems:
        raise ValidationFailed(problems)
    return ReservationRequest(
        resource_id=resource_id,
        holder_name=holder,
        attendee_id=attendee_id,
        start=times["start"],
        end=times["end"],
        note=clean_text(note),
        repeat=repeat,
        skip_conflicts=skip,
    )


def _repeat(value: Any, field: str, problems: list[FieldProblem]) -> Repeat | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"freq", "count"}:
        problems.append(FieldProblem(field, 'must look like {"freq": "weekly", "count": 4}'))
        return None
    if value.get("freq") not in ("daily", "weekly"):
        problems.append(FieldProblem(f"{field}.freq", "must be daily or weekly"))
        return None
    count = _whole(value.get("count"), 2, SERIES_MAX, f"{field}.count", "occurrences", problems)
    return None if count is None else Repeat(value["freq"], count)


def occurrences(start: float, end: float, repeat: Repeat | None, tz_name: str) -> list[tuple[float, float]]:
    """Every occurrence of a (possibly repeating) booking. Each keeps the first one's local wall-clock
    times, so a weekly 10:00 stays at 10:00 across a DST change."""
    if repeat is None:
        return [(start, end)]
    zone = ZoneInfo(tz_name)
    first, last = local_datetime(start, tz_name).replace(tzinfo=None), local_datetime(end, tz_name).replace(tzinfo=None)
    step = timedelta(days=1 if repeat.freq == "daily" else 7)
    out = [(start, end)]  # the first is the booking as asked (it may be the second run of a repeated hour)
    for i in range(1, repeat.count):
        # fold=0: a wall time that happens twice means the first; a skipped one moves forward with the clocks
        # and keeps its length (its wall-clock end could otherwise fall at or before its start).
        wall = first + i * step
        s_local = wall.replace(tzinfo=zone, fold=0)
        s = s_local.timestamp()
        e = (last + i * step).replace(tzinfo=zone, fold=0).timestamp()
        if s_local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:  # skipped, as in parse_time
            e = s + (end - start)
        out.append((s, e))
    return out


def occurrence_id(base_id: str, index: int) -> str:
    return base_id if index == 0 else f"{base_id}-{index + 1}"


def conflict_error(
    resource: Mapping[str, Any],
    conflict: Booked,
    free: tuple[float, float] | None,
    tz_name: str,
) -> DomainError:
    """The refusal of an overlapping booking: whose booking it hits, and the nearest free slot."""
    other = conflict.record or {}
    who = other.get("holder_name") or "someone"
    status = other.get("status", "")
    state = "" if status in ("", APPROVED) else f", {status.replace('_', ' ')}"
    message = f"{resource['name']} is booked {span_text(conflict.start, conflict.end, tz_name)} by {who}{state}"
    if resource.get("buffer_min"):
        message += f" (with {resource['buffer_min']} min between bookings)"
    if free is None:
        message += "; no free slot of that length in the next two weeks"
    else:
        message += f"; nearest free slot {span_text(free[0], free[1], tz_name)}"
    details = {
        "conflict": dict(other) if other else {"id": conflict.id},
        "nearest_free": None if free is None else {"start": to_iso(free[0]), "end": to_iso(free[1])},
    }
    return DomainError("reservation_conflict", message, details=details)


@dataclass(frozen=True, slots=True)
class Skipped:
    """An occurrence of a series left out with ``skip_conflicts``, and why."""

    start: float
    end: float
    conflict: Booked | None  # None: outside the bookable hours
    reason: str

    def to_dict(self) -> dict[str, Any]:
        conflict = None if self.conflict is None else dict(self.conflict.record or {"id": self.conflict.id})
        return {"start": to_iso(self.start), "end": to_iso(self.end), "conflict": conflict, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class BookingPlan:
    kept: list[tuple[int, float, float]]  # (occurrence index, start, end) of what will be booked
    skipped: list[Skipped]


def plan_booking(
    resource: Mapping[str, Any],
    spans: list[tuple[float, float]],
    booked: Iterable[Booked],
    tz_name: str,
    *,
    skip_conflicts: bool,
    now: float,
) -> BookingPlan:
    """Decide a booking request against the active ``booked`` bookings of ``resource``: occurrence by
    occurrence, bookable hours first, then the overlap (earlier occurrences of the series count). Without
    ``skip_conflicts`` the first bad occurrence refuses the whole request — with the booking it hits and
    the nearest free slot; with it, bad occurrences are left out, and only "none is free" refuses.

    The server decides with this under the resource's lock; a desk runs it on its replica first.
    """
    first_start, first_end = spans[0]
    if first_start < now - PAST_GRACE_S:
        raise DomainError("in_the_past", f"{span_text(first_start, first_end, tz_name)} has already begun")
    buffer_s = (resource.get("buffer_min") or 0) * 60.0
    taken = list(booked)
    kept: list[tuple[int, float, float]] = []
    skipped: list[Skipped] = []
    for index, (start, end) in enumerate(spans):
        outside = outside_hours(resource, start, end, tz_name)
        clash = None if outside else first_conflict(taken, start, end, buffer_s)
        if outside is None and clash is None:
            kept.append((index, start, end))
            taken.append(Booked(f"occurrence-{index}", start, end, None))
            continue
        if skip_conflicts:
            holder = (clash.record or {}).get("holder_name") if clash else None
            skipped.append(Skipped(start, end, clash, outside or f"booked by {holder or 'someone'}"))
            continue
        if outside:
            raise DomainError("outside_hours", f"{span_text(start, end, tz_name)}: {outside}")
        assert clash is not None
        free = nearest_free(
            taken, start, end, buffer_s, resource=resource, tz_name=tz_name, not_before=now - PAST_GRACE_S
        )
        raise conflict_error(resource, clash, free, tz_name)
    if not kept:
        first = skipped[0]
        day = local_datetime(first.start, tz_name).date().isoformat()
        raise DomainError(
            "reservation_conflict",
            f"none of the {len(spans)} dates is free: {first.reason} on {day} and the rest",
            details={"skipped": [s.to_dict() for s in skipped]},
        )
    return BookingPlan(kept, skipped)


# -- a booking's life --------------------------------------------------------------------------------

# command -> (statuses it applies to, new status, past-tense word)
TRANSITIONS = {
    "reservation_approve": ((PENDING,), APPROVED, "approved"),
    "reservation_reject": ((PENDING,), REJECTED, "rejected"),
    "reservation_cancel": ((PENDING, APPROVED), CANCELLED, "cancelled"),
    "reservation_checkin": ((APPROVED,), CHECKED_IN, "checked in"),
    "reservation_complete": ((CHECKED_IN,), COMPLETED, "completed"),
}


def release_deadline(record: Mapping[str, Any], resource: Mapping[str, Any] | None) -> float:
    """When a booking nobody checked in to is released."""
    minutes = (resource or {}).get("release_after_min") or RELEASE_DEFAULT_MIN
    return from_iso(record["start"]) + minutes * 60


def transition(
    record: Mapping[str, Any],
    command: str,
    *,
    now: float,
    resource: Mapping[str, Any] | None,
    tz_name: str,
    actor: str,
    reason: str = "",
) -> dict[str, Any]:
    """The booking after ``command`` at server time ``now``; raises a refusal saying why it cannot."""
    allowed, status, word = TRANSITIONS[command]
    current = record["status"]
    who = record.get("holder_name", "the booking")
    if current not in allowed:
        if current == PENDING and command == "reservation_checkin":
            raise DomainError("not_approved", f"{who}'s booking is still awaiting approval")
        raise DomainError("wrong_state", f"{who}'s booking is {current.replace('_', ' ')}; it cannot be {word} now")
    after = {**record, "status": status, "decided_by": actor}
    if command == "reservation_checkin":
        start = from_iso(record["start"])
        if now < start - CHECKIN_EARLY_S:
            opens = local_hhmm(start - CHECKIN_EARLY_S, tz_name)
            raise DomainError("too_early", f"check-in for {who}'s booking opens at {opens}")
        deadline = release_deadline(record, resource)
        if now > deadline:
            raise DomainError(
                "too_late", f"{who} did not check in by {local_hhmm(deadline, tz_name)}; the slot was released"
            )
        after["checked_in_at"] = to_iso(now)
    elif command == "reservation_complete" and now < from_iso(record["end"]):
        after["end"] = to_iso(max(now, from_iso(record["start"]) + 60))  # the rest of the slot is free again
    if reason:
        after["reason"] = clean_text(reason)[:NOTE_MAX]
    return after


def describe(record: Mapping[str, Any], resource_name: str, tz_name: str) -> str:
    """``Ana Silva — Studio A, Tue 24 Nov 10:00–11:00`` for messages and notices."""
    span = span_text(from_iso(record["start"]), from_iso(record["end"]), tz_name)
    return f"{record.get('holder_name', 'booking')} — {resource_name}, {span}"
