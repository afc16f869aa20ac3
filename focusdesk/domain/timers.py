"""A room's shared timer as data, never as a ticking value (DESIGN.md, "Timers").

The server stores ``TimerState`` and applies commands to it in its own order (last write by server seq
wins); every desk computes the remaining time from the state and *server* time — its own clock corrected
by its measured offset — so two desks differ by no more than their offset errors, whatever they last
received. Pomodoro phases advance by arithmetic on ``started_at``, so nobody has to "tick" the timer for
work to turn into break.

Plain Python: the server, the station and the TUI all use these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from focusdesk.domain.errors import DomainError

IDLE, RUNNING, PAUSED = "idle", "running", "paused"
COUNTDOWN, POMODORO = "countdown", "pomodoro"
WORK, BREAK = "work", "break"

MIN_DURATION_S = 1.0
MAX_DURATION_S = 24 * 3600.0
MAX_MESSAGE = 200
WARNING_S = 60.0  # the last minute is shown in the warning colour


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    mode: str
    duration_s: float  # countdown length, or the work phase for a pomodoro
    break_s: float = 0.0


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("talk-20", COUNTDOWN, 20 * 60),
        Preset("talk-45", COUNTDOWN, 45 * 60),
        Preset("workshop-90", COUNTDOWN, 90 * 60),
        Preset("break-15", COUNTDOWN, 15 * 60),
        Preset("pomodoro-25-5", POMODORO, 25 * 60, 5 * 60),
        Preset("pomodoro-50-10", POMODORO, 50 * 60, 10 * 60),
    )
}


@dataclass(frozen=True, slots=True)
class TimerState:
    status: str = IDLE
    mode: str = COUNTDOWN
    phase: str = WORK  # countdowns stay in "work"
    started_at: float | None = None  # server time the current running stretch of this phase began
    duration: float = 20 * 60.0  # seconds of the current phase still to run as of started_at
    paused_remaining: float | None = None
    cycle: int = 0  # work phases completed (pomodoro)
    work_s: float = 20 * 60.0
    break_s: float = 0.0
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimerState:
        return cls(**{k: v for k, v in data.items() if k in cls.__slots__})


def _refuse(code: str, message: str) -> DomainError:
    return DomainError(code, message)


def _check_duration(value: Any, field: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise _refuse("invalid_input", f"{field} must be a number of seconds") from None
    if not MIN_DURATION_S <= seconds <= MAX_DURATION_S:
        raise _refuse("invalid_input", f"{field} must be between 1 second and 24 hours")
    return seconds


def advance(state: TimerState, now: float) -> TimerState:
    """The same timer with every pomodoro phase that ended by ``now`` rolled over (work → break → work…).

    A countdown is left as it is: at zero it stays at zero ("time is up") until someone resets it.
    """
    if state.status != RUNNING or state.mode != POMODORO or state.started_at is None:
        return state
    ended_at = state.started_at + state.duration
    if now < ended_at:
        return state
    # After the phase that just ended come alternating phases: ``nxt``, then the ended one's kind again…
    nxt = BREAK if state.phase == WORK else WORK
    length = {WORK: state.work_s, BREAK: state.break_s}
    period = state.work_s + state.break_s
    # Whole rounds (one work + one break) are skipped by arithmetic, not a step per phase.
    rounds, into = divmod(now - ended_at, period)
    round_start = ended_at + rounds * period
    works_done = (1 if state.phase == WORK else 0) + int(rounds)
    if into < length[nxt]:
        phase, started, duration = nxt, round_start, length[nxt]
    else:
        works_done += 1 if nxt == WORK else 0
        phase, started, duration = state.phase, round_start + length[nxt], length[state.phase]
    return replace(state, started_at=started, phase=phase, duration=duration, cycle=state.cycle + works_done)


def remaining(state: TimerState, now: float) -> float:
    """Seconds left in the current phase at server time ``now`` (never negative)."""
    state = advance(state, now)
    if state.status == IDLE:
        return state.duration
    if state.status == PAUSED:
        return max(0.0, state.paused_remaining or 0.0)
    assert state.started_at is not None
    return max(0.0, state.duration - (now - state.started_at))


def time_is_up(state: TimerState, now: float) -> bool:
    return state.status == RUNNING and state.mode == COUNTDOWN and remaining(state, now) <= 0


def in_warning(state: TimerState, now: float) -> bool:
    """The last minute of a running phase (shown in the warning colour)."""
    return state.status == RUNNING and 0 < remaining(state, now) <= WARNING_S


def apply(state: TimerState, command: dict[str, Any], now: float) -> TimerState:
    """The timer after ``command`` at server time ``now``; an impossible one is refused with a reason.

    Commands (``op`` plus arguments): ``start`` [duration_s | preset], ``pause``, ``resume``, ``reset``,
    ``adjust`` delta_s (e.g. ±60), ``message`` text, ``configure`` mode work_s [break_s] (while idle).
    """
    op = command.get("op")
    state = advance(state, now)
    if op == "start":
        if state.status == RUNNING:
            raise _refuse("already_running", "The timer is already running.")
        if state.status == PAUSED:
            raise _refuse("paused", "The timer is paused: resume it, or reset it first.")
        if "preset" in command:
            preset = PRESETS.get(str(command["preset"]))
            if preset is None:
                known = ", ".join(PRESETS)
                raise _refuse("unknown_preset", f"Unknown preset {command['preset']!r}; known: {known}.")
            state = replace(state, mode=preset.mode, work_s=preset.duration_s, break_s=preset.break_s)
        elif "duration_s" in command:
            state = replace(state, mode=COUNTDOWN, work_s=_check_duration(command["duration_s"], "duration_s"))
        return replace(
            state, status=RUNNING, phase=WORK, started_at=now, duration=state.work_s, paused_remaining=None, cycle=0
        )
    if op == "pause":
        if state.status != RUNNING:
            raise _refuse("not_running", "Only a running timer can be paused.")
        return replace(state, status=PAUSED, paused_remaining=remaining(state, now), started_at=None)
    if op == "resume":
        if state.status != PAUSED:
            raise _refuse("not_paused", "Only a paused timer can be resumed.")
        return replace(
            state, status=RUNNING, started_at=now, duration=state.paused_remaining or 0.0, paused_remaining=None
        )
    if op == "reset":
        if state.status == IDLE:
            raise _refuse("already_idle", "The timer is already reset.")
        return replace(
            state, status=IDLE, phase=WORK, started_at=None, duration=state.work_s, paused_remaining=None, cycle=0
        )
    if op == "adjust":
        if state.status == IDLE:
            raise _refuse("not_started", "Start the timer before adding or taking away time.")
        try:
            delta = float(command.get("delta_s"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _refuse("invalid_input", "delta_s must be a number of seconds") from None
        left = remaining(state, now)
        if left + delta < 0:
            raise _refuse("too_much", f"Only {left:.0f} s are left; cannot take away {-delta:.0f} s.")
        if left + delta > MAX_DURATION_S:
            raise _refuse("invalid_input", "A timer cannot run longer than 24 hours.")
        if state.status == PAUSED:
            return replace(state, paused_remaining=left + delta)
        return replace(state, duration=state.duration + delta)
    if op == "message":
        text = str(command.get("text") or "").strip()
        if len(text) > MAX_MESSAGE:
            raise _refuse("invalid_input", f"The message is longer than {MAX_MESSAGE} characters.")
        return replace(state, message=text)
    if op == "configure":
        if state.status != IDLE:
            raise _refuse("not_idle", "Reset the timer before changing how it runs.")
        mode = command.get("mode", state.mode)
        if mode not in (COUNTDOWN, POMODORO):
            raise _refuse("invalid_input", "mode must be countdown or pomodoro")
        work = _check_duration(command.get("work_s", state.work_s), "work_s")
        brk = _check_duration(command.get("break_s", state.break_s or 300), "break_s") if mode == POMODORO else 0.0
        return replace(state, mode=mode, work_s=work, break_s=brk, duration=work, phase=WORK, cycle=0)
    raise _refuse("unknown_command", f"Unknown timer command {op!r}.")
