"""Prize drawings: only eligible people win, and a recorded seed reproduces the result."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from focusdesk.domain.draws import Candidate, draw, eligible, new_seed
from focusdesk.domain.errors import DomainError

PEOPLE = [
    Candidate("a1", checked_in=True),
    Candidate("a2", checked_in=False),
    Candidate("a3", checked_in=True, status="cancelled"),
    Candidate("a4", checked_in=True),
    Candidate("a5", checked_in=True),
]


def test_eligibility_follows_the_organizers_choice():
    assert eligible(PEOPLE, checked_in_only=True, previous_winners=[]) == ["a1", "a4", "a5"]
    assert eligible(PEOPLE, checked_in_only=False, previous_winners=["a4"]) == ["a1", "a2", "a5"]


def test_the_same_seed_draws_the_same_winners_whatever_order_the_rows_came_in():
    pool = eligible(PEOPLE, checked_in_only=False, previous_winners=[])
    seed = new_seed()
    assert draw(pool, 2, seed) == draw(list(reversed(pool)), 2, seed)
    assert draw(pool, 2, "recorded-seed-1") == draw(pool, 2, "recorded-seed-1")


def test_asking_for_more_winners_than_people_is_refused_with_what_to_do():
    with pytest.raises(DomainError) as refused:
        draw(["a1"], 2, "s")
    assert refused.value.code == "not_enough_people" and "draw fewer" in refused.value.message
    with pytest.raises(DomainError):
        draw(["a1"], 0, "s")


@settings(max_examples=200, deadline=None)
@given(
    people=st.lists(
        st.builds(
            Candidate,
            st.text("abcdef0123456789", min_size=1, max_size=6),
            st.booleans(),
            st.sampled_from(["registered", "cancelled"]),
        ),
        max_size=40,
        unique_by=lambda c: c.attendee_id,
    ),
    checked_in_only=st.booleans(),
    seed=st.text(min_size=1, max_size=20),
    data=st.data(),
)
def test_a_draw_never_picks_an_ineligible_person_or_the_same_person_twice(people, checked_in_only, seed, data):
    ids = [p.attendee_id for p in people]
    previous = data.draw(st.lists(st.sampled_from(ids), max_size=5) if ids else st.just([]))
    pool = eligible(people, checked_in_only=checked_in_only, previous_winners=previous)
    if not pool:
        return
    count = data.draw(st.integers(1, len(pool)))
    winners = draw(pool, count, seed)
    by_id = {p.attendee_id: p for p in people}
    assert len(set(winners)) == count
    for winner in winners:
        person = by_id[winner]
        assert person.status != "cancelled" and winner not in previous
        assert person.checked_in or not checked_in_only
