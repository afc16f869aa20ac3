"""How a room's timer is said on screen — one wording for the room cards and the room focus view.

Everything here is computed from a ``Room`` and *server* time, never from a ticking value (DESIGN.md,
"Timers"): two desks showing the same room at the same moment show the same digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from focusdesk.domain import timers
from focusdesk.station.model import Room

TIME_IS_UP = "TIME IS UP"

# The look a room is in; the widgets turn it into a CSS class ("-idle", "-warning" …).
IDLE, RUNNING, PAUSED, BREAK, WARNING, UP = "idle", "running", "paused", "break", "warning", "up"
LOOKS = (IDLE, RUNNING, PAUSED, BREAK, WARNING, UP)


def clock_digits(seconds: float) -> str:
    """``mm:ss``, or ``h:mm:ss`` from an hour up. Rounded up, as countdowns are: "00:01" is shown until the
    last second has really passed, and "00:00" only when the time is up."""
    whole = max(0, math.ceil(seconds - 1e-6))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def minutes_words(seconds: float) -> str:
    """20 min, 1 h 30 min, 45 s — a length in the words a person uses."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    hours, minutes = divmod(whole // 60, 60)
    secs = whole % 60
    parts = (
        ([f"{hours} h"] if hours else []) + ([f"{minutes} min"] if minutes else []) + ([f"{secs} s"] if secs else [])
    )
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class TimerLook:
    """What a room's timer looks like at one moment."""

    digits: str
    phase: str  # "running · work 2/∞ cycle", "paused · countdown", "idle · countdown 20 min" …
    look: str  # one of LOOKS
    short: str = ""  # the phase for a narrow card: "work 2/∞ cycle", "paused", "idle · 20 min"

    @property
    def up(self) -> bool:
        return self.look == UP

    def phase_for(self, width: int) -> str:
        """The phase in ``width`` cells: the long words when they fit (or the width is not known yet)."""
        return self.phase if not width or len(self.phase) <= width or not self.short else self.short


def timer_look(room: Room, now: float) -> TimerLook:
    state = room.phase_now(now)
    digits = clock_digits(timers.remaining(state, now))
    pomodoro = state.mode == timers.POMODORO
    work_no = f"work {state.cycle + 1}/∞ cycle"
    if state.status == timers.IDLE:
        if pomodoro:
            lengths = f"{minutes_words(state.work_s)} + {minutes_words(state.break_s)}"
            return TimerLook(digits, f"idle · pomodoro {lengths}", IDLE, f"idle · {lengths}")
        length = minutes_words(state.duration)
        return TimerLook(digits, f"idle · countdown {length}", IDLE, f"idle · {length}")
    if state.status == timers.PAUSED:
        where = work_no if pomodoro and state.phase == timers.WORK else "break" if pomodoro else "countdown"
        return TimerLook(digits, f"paused · {where}", PAUSED, "paused")
    if room.time_is_up(now):
        return TimerLook(digits, TIME_IS_UP, UP)
    warning = room.in_warning(now)
    if pomodoro and state.phase == timers.BREAK:
        return TimerLook(digits, f"break · after work {state.cycle}", WARNING if warning else BREAK, "break")
    if pomodoro:
        return TimerLook(digits, f"running · {work_no}", WARNING if warning else RUNNING, work_no)
    return TimerLook(digits, "running · countdown", WARNING if warning else RUNNING, "running")


def occupancy_words(room: Room) -> str:
    """ "120 / 300", "300 / 300 · full", or "12 in" when the room has no capacity set."""
    if room.capacity is None:
        return f"{room.occupancy} in"
    return f"{room.occupancy} / {room.capacity}" + (" · full" if room.full else "")
