"""The check-in conflict rule (DESIGN.md, "Conflict rules").

Check-ins and undos are *facts*: each is kept with the time it happened on its desk (corrected for the
desk's clock offset). An attendee's state is never stored as the last thing that arrived; it is derived
from all facts ordered by that time, so desks that were offline for twenty minutes and come back in any
order still agree. One exception keeps a real arrival from being erased by a desk fixing its own slip: a
check-in beats an undo that happened within 5 s of it on *another* desk.

This module is pure: the server calls it while applying commands and the station can call it to predict
the outcome offline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

CHECKIN = "checkin"
UNDO = "undo"
FACT_KINDS = (CHECKIN, UNDO)

# How close (seconds) a check-in on another desk must be to an undo to overrule it.
UNDO_SHADOW_S = 5.0
# Device stamps further ahead of the server than this are not believed (DESIGN.md: clamp at 60 s).
MAX_FUTURE_SKEW_S = 60.0


class Fact(NamedTuple):
    """One check-in or undo as it happened on a desk.

    A named tuple rather than a frozen dataclass: the server builds one for every fact of every attendee a
    batch touches, and a frozen dataclass's ``__init__`` (one ``object.__setattr__`` per field) was 8 % of
    the writer's time in the batched check-in benchmark.
    """

    kind: str
    at: float  # corrected device time, epoch seconds
    station_id: str
    station_name: str
    cmd_seq: int
    recorded_at: float  # server time it was recorded; breaks ties between equal `at`

    @property
    def order_key(self) -> tuple[float, float, str, int, str]:
        # (station_id, cmd_seq) is unique per command, so `kind` only matters for malformed input;
        # it is there so the order is total and the derived state never depends on arrival order.
        return (self.at, self.recorded_at, self.station_id, self.cmd_seq, self.kind)


@dataclass(frozen=True, slots=True)
class CheckinState:
    """What the facts add up to for one attendee."""

    checked_in: bool
    since: Fact | None  # the check-in that made the attendee "in" (the first of the current visit)
    checkin_count: int  # how many check-in facts exist (repeats included)


def clamp_device_time(device_time: float | None, server_now: float) -> float:
    """The time a fact is ordered by: the desk's stamp unless missing or implausibly in the future."""
    if device_time is None or device_time > server_now + MAX_FUTURE_SKEW_S:
        return server_now
    return device_time


def _undo_overruled(undo: Fact, checkins: list[Fact]) -> bool:
    return any(c.station_id != undo.station_id and abs(c.at - undo.at) <= UNDO_SHADOW_S for c in checkins)


def derive_state(facts: Iterable[Fact]) -> CheckinState:
    """Fold the facts in time order into the attendee's current check-in state."""
    ordered = sorted(facts, key=lambda f: f.order_key)
    checkins = [f for f in ordered if f.kind == CHECKIN]
    since: Fact | None = None
    for fact in ordered:
        if fact.kind == CHECKIN:
            if since is None:
                since = fact
        elif since is not None and not _undo_overruled(fact, checkins):
            since = None
    return CheckinState(checked_in=since is not None, since=since, checkin_count=len(checkins))


@dataclass(frozen=True, slots=True)
class FactOutcome:
    """How a newly recorded fact fared, for the desk that sent it."""

    state: CheckinState
    # For a check-in of someone already in at that moment: the check-in that came first.
    already_in: Fact | None
    # True when the desk's intent did not stick because of another desk's fact.
    lost: bool


def record_fact(existing: list[Fact], new: Fact) -> FactOutcome:
    """Add ``new`` to ``existing`` (mutated) and say what it meant for its desk."""
    before_new = [f for f in existing if f.order_key < new.order_key]
    state_before = derive_state(before_new)
    existing.append(new)
    state = derive_state(existing)
    already_in = state_before.since if new.kind == CHECKIN and state_before.checked_in else None
    wanted_in = new.kind == CHECKIN
    lost = state.checked_in != wanted_in
    return FactOutcome(state=state, already_in=already_in, lost=lost)
