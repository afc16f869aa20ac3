"""Where time sits on the Reservations timeline: which part of the day it shows, the slot size that fits the
width, and the column of each instant. Pure functions (no widget), so the geometry is testable on its own."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rich.cells import cell_len, set_cell_size

from focusdesk.domain.reservations import day_bounds, local_datetime

if TYPE_CHECKING:
    from focusdesk.station.model import Reservation, Resource

DEFAULT_HOURS = ("07:00", "22:00")
QUARTER_S, HALF_S = 15 * 60, 30 * 60
MIN_CELL, MAX_CELL = 2, 4  # characters per slot: 2 leaves room for a cursor, 4 is plenty
TENTATIVE = "tentative"
# Bookings that hold their slot on the timeline; cancelled, rejected and released ones leave it free.
SHOWN = frozenset({"pending", TENTATIVE, "approved", "checked_in", "completed"})


def state_of(reservation: Any) -> str:
    """How a booking is drawn: its status as the station shows it (``tentative`` while only this desk has a
    booking that will hold its slot; one it already cancelled again is simply cancelled)."""
    return str(reservation.status)


def wall_time(day: date, hhmm: str, tz: ZoneInfo) -> float:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=tz).timestamp()


def floor_hour(ts: float, tz_name: str) -> float:
    return local_datetime(ts, tz_name).replace(minute=0, second=0, microsecond=0).timestamp()


def ceil_hour(ts: float, tz_name: str) -> float:
    floor = floor_hour(ts, tz_name)
    return floor if floor == ts else floor + 3600


def day_window(
    day: date, tz_name: str, resources: Sequence[Resource], reservations: Iterable[Reservation]
) -> tuple[float, float]:
    """The part of ``day`` the timeline shows: the bookable hours of every resource (07:00–22:00 for one
    that may be booked any time), on whole hours, widened to every booking shown that day."""
    zone = ZoneInfo(tz_name)
    first, last = day_bounds(day, tz_name)
    opens: list[float] = []
    closes: list[float] = []
    for resource in resources:
        hours = (resource.open_from, resource.open_until)
        if not (hours[0] and hours[1]):
            hours = DEFAULT_HOURS
        opens.append(wall_time(day, hours[0], zone))
        closes.append(wall_time(day, hours[1], zone))
    if not opens:
        opens, closes = [wall_time(day, DEFAULT_HOURS[0], zone)], [wall_time(day, DEFAULT_HOURS[1], zone)]
    start, end = min(opens), max(closes)
    for booking in reservations:
        if state_of(booking) in SHOWN and booking.end > first and booking.start < last:
            start = min(start, max(first, booking.start))
            end = max(end, min(last, booking.end))
    return max(first, floor_hour(start, tz_name)), min(last, ceil_hour(end, tz_name))


@dataclass(frozen=True, slots=True)
class Scale:
    """Where time sits on screen: ``slots`` slots of ``slot_s`` seconds from ``start``, ``cell_w``
    characters each."""

    start: float
    slot_s: int
    cell_w: int
    slots: int

    @property
    def width(self) -> int:
        return self.slots * self.cell_w

    @property
    def end(self) -> float:
        return self.start + self.slots * self.slot_s

    @property
    def char_s(self) -> float:
        return self.slot_s / self.cell_w

    def slot_of(self, ts: float) -> int:
        return min(self.slots - 1, max(0, math.floor((ts - self.start) / self.slot_s)))

    def slot_start(self, slot: int) -> float:
        return self.start + slot * self.slot_s

    def x_of(self, ts: float) -> int:
        """The character column where ``ts`` falls (may lie outside 0..width)."""
        return math.floor((ts - self.start) / self.char_s + 1e-9)

    def span(self, start: float, end: float) -> tuple[int, int] | None:
        """The columns ``start``–``end`` covers on screen (at least one), or None if it is off the day."""
        if end <= self.start or start >= self.end:
            return None
        x0 = max(0, self.x_of(start))
        x1 = min(self.width, math.ceil((end - self.start) / self.char_s - 1e-9))
        return x0, max(x1, x0 + 1)


def choose_scale(start: float, end: float, available: int) -> Scale:
    """15-minute slots when they fit at two characters each; else 30-minute ones when they fit at three;
    else 15-minute slots of two characters scrolling sideways (the cursor keeps itself in view) — four
    characters an hour would cut every holder's name to nothing. Wider cells when there is room."""
    for slot_s, least in ((QUARTER_S, MIN_CELL), (HALF_S, MIN_CELL + 1)):
        slots = max(1, math.ceil((end - start) / slot_s))
        if available >= least * slots:
            return Scale(start, slot_s, max(least, min(MAX_CELL, available // slots)), slots)
    return Scale(start, QUARTER_S, MIN_CELL, max(1, math.ceil((end - start) / QUARTER_S)))


def fit(label: str, width: int) -> str:
    """``label`` in at most ``width`` cells, with an ellipsis when cut (wide characters count twice)."""
    if width <= 0:
        return ""
    if cell_len(label) <= width:
        return label
    return set_cell_size(label, width - 1) + "…"


def steps(first: float, end: float, step: float) -> Iterable[float]:
    t = first
    while t < end:
        yield t
        t += step
