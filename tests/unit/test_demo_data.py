"""The demo attendee generator: deterministic, valid, varied."""

from __future__ import annotations

from collections import Counter

from focusdesk.domain.attendees import validate_attendee
from focusdesk.domain.demo_data import DEMO_EVENT, demo_attendees
from focusdesk.domain.events import validate_event


def test_same_seed_same_people_other_seed_other_people():
    assert demo_attendees(200) == demo_attendees(200)
    assert demo_attendees(200) != demo_attendees(200, seed=1)


def test_every_demo_attendee_passes_validation_and_emails_are_unique():
    people = demo_attendees(1500)
    assert len(people) == 1500
    for person in people:
        validate_attendee(person)
    assert len({p["email"] for p in people}) == 1500


def test_names_cover_several_scripts_and_ticket_types():
    people = demo_attendees(1500)
    names = " ".join(p["name"] for p in people)
    assert any("\uac00" <= ch <= "\ud7a3" for ch in names)  # Hangul
    assert any("\u0400" <= ch <= "\u04ff" for ch in names)  # Cyrillic
    assert "é" in names or "ü" in names
    tickets = Counter(p["ticket_type"] for p in people)
    assert tickets.most_common(1)[0][0] == "General" and len(tickets) == 7


def test_demo_event_is_valid():
    validate_event(DEMO_EVENT)
