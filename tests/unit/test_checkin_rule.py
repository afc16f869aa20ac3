"""The conflict rule for check-ins (DESIGN.md): facts ordered by corrected device time."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from focusdesk.domain.checkin import (
    CHECKIN,
    UNDO,
    Fact,
    clamp_device_time,
    derive_state,
    record_fact,
)


def fact(kind: str, at: float, desk: str = "A", seq: int = 1, recorded: float = 0.0) -> Fact:
    return Fact(kind=kind, at=at, station_id=desk, station_name=f"Desk {desk}", cmd_seq=seq, recorded_at=recorded)


def test_no_facts_means_not_checked_in():
    state = derive_state([])
    assert not state.checked_in and state.since is None and state.checkin_count == 0


def test_first_checkin_of_a_visit_is_the_one_shown():
    first = fact(CHECKIN, 100, "A")
    state = derive_state([fact(CHECKIN, 200, "B", 2), first])
    assert state.checked_in and state.since == first and state.checkin_count == 2


def test_undo_on_same_desk_applies_even_within_5s():
    assert not derive_state([fact(CHECKIN, 100, "A", 1), fact(UNDO, 102, "A", 2)]).checked_in


def test_checkin_on_another_desk_within_5s_beats_an_undo_either_side():
    before = [fact(CHECKIN, 100, "A", 1), fact(CHECKIN, 101, "B", 1), fact(UNDO, 104, "A", 2)]
    after = [fact(CHECKIN, 100, "A", 1), fact(UNDO, 104, "A", 2), fact(CHECKIN, 108, "B", 1)]
    assert derive_state(before).checked_in
    assert derive_state(after).checked_in


def test_undo_more_than_5s_after_another_desks_checkin_applies():
    facts = [fact(CHECKIN, 100, "A", 1), fact(CHECKIN, 101, "B", 1), fact(UNDO, 106.5, "A", 2)]
    assert not derive_state(facts).checked_in


def test_record_fact_flags_a_repeat_with_the_first_checkin():
    existing = [fact(CHECKIN, 100, "A", 1)]
    outcome = record_fact(existing, fact(CHECKIN, 300, "B", 1))
    assert outcome.already_in is not None and outcome.already_in.station_id == "A"
    assert not outcome.lost


def test_record_fact_says_when_a_late_fact_lost():
    existing = [fact(CHECKIN, 100, "A", 1), fact(UNDO, 500, "A", 2)]
    outcome = record_fact(existing, fact(CHECKIN, 200, "B", 1))  # offline desk, earlier than the undo
    assert outcome.lost and not outcome.state.checked_in


def test_clamp_refuses_stamps_more_than_60s_ahead():
    assert clamp_device_time(1000 + 61, 1000) == 1000
    assert clamp_device_time(1000 + 59, 1000) == 1059
    assert clamp_device_time(None, 1000) == 1000
    assert clamp_device_time(10, 1000) == 10


facts_strategy = st.lists(
    st.builds(
        fact,
        kind=st.sampled_from([CHECKIN, UNDO]),
        at=st.integers(0, 60).map(float),
        desk=st.sampled_from(["A", "B", "C"]),
        seq=st.integers(1, 1000),
        recorded=st.integers(0, 5).map(float),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(facts=facts_strategy, seed=st.integers(0, 2**32))
def test_state_does_not_depend_on_the_order_facts_arrive_in(facts, seed):
    """Desks reconnect in any order; every arrival order must give the same state."""
    shuffled = list(facts)
    random.Random(seed).shuffle(shuffled)
    assert derive_state(facts) == derive_state(shuffled)
    incremental: list[Fact] = []
    for f in shuffled:
        outcome = record_fact(incremental, f)
    if facts:
        assert outcome.state == derive_state(facts)


@settings(max_examples=200, deadline=None)
@given(facts=facts_strategy)
def test_count_is_the_number_of_checkin_facts(facts):
    assert derive_state(facts).checkin_count == sum(f.kind == CHECKIN for f in facts)
