"""Room commands and notice audiences as pure rules (the server and the desks share them)."""

from __future__ import annotations

import pytest

from focusdesk.domain import timers
from focusdesk.domain.errors import DomainError, ValidationFailed
from focusdesk.domain.notices import Audience, addressed_to, may_see, validate_notice
from focusdesk.domain.roles import Grant, Principal
from focusdesk.domain.rooms import apply_room_command, new_occupancy, validate_room

T0 = 1_800_000_000.0


def created(**room) -> dict:
    args = {"event_id": 1, "room": {"id": "room-0001", "name": "Hall A", **room}}
    made = apply_room_command(None, "room_create", args, T0)
    assert made is not None
    return made


def test_a_new_room_has_an_idle_timer_of_its_default_length():
    room = created(capacity=100, work_s=1200)
    timer = timers.TimerState.from_dict(room["timer"])
    assert (timer.status, timer.duration, room["occupancy"], room["capacity"]) == (timers.IDLE, 1200, 0, 100)


def test_room_commands_change_only_what_they_say():
    room = created()
    started = apply_room_command(room, "timer", {"op": "start", "duration_s": 600}, T0)
    assert timers.remaining(timers.TimerState.from_dict(started["timer"]), T0 + 60) == 540
    counted = apply_room_command(started, "occupancy", {"delta": 3}, T0)
    assert counted["occupancy"] == 3 and counted["timer"] == started["timer"]
    renamed = apply_room_command(counted, "room_update", {"fields": {"name": "  Plenary   hall "}}, T0)
    assert renamed["name"] == "Plenary hall" and renamed["occupancy"] == 3
    assert apply_room_command(renamed, "room_delete", {}, T0) is None


def test_a_new_default_length_shows_on_an_idle_countdown_but_not_a_running_one():
    room = created(work_s=600)
    longer = apply_room_command(room, "room_update", {"fields": {"work_s": 900}}, T0)
    assert longer["timer"]["duration"] == 900
    running = apply_room_command(room, "timer", {"op": "start"}, T0)
    kept = apply_room_command(running, "room_update", {"fields": {"work_s": 900}}, T0)
    assert kept["timer"] == running["timer"]


def test_impossible_room_commands_are_refused_with_the_reason():
    room = created()
    with pytest.raises(DomainError, match="Only a running timer can be paused"):
        apply_room_command(room, "timer", {"op": "pause"}, T0)
    with pytest.raises(DomainError, match="no longer exists"):
        apply_room_command(None, "timer", {"op": "start"}, T0)
    with pytest.raises(ValidationFailed) as bad:
        apply_room_command(room, "room_update", {"fields": {"name": "", "capacity": 0, "colour": "red"}}, T0)
    assert {p.field for p in bad.value.problems} == {
        "args.fields.name",
        "args.fields.capacity",
        "args.fields.colour",
    }


def test_counting_out_stops_at_zero_and_set_replaces_the_count():
    assert new_occupancy(1, delta=-3) == 0
    assert new_occupancy(5, set_to=40) == 40
    for bad in ({"delta": 1, "set_to": 2}, {}, {"delta": True}, {"set_to": -1}, {"delta": 1.5}):
        with pytest.raises(DomainError):
            new_occupancy(3, **bad)


def test_room_fields_are_validated_together():
    assert validate_room({"name": "Room B", "capacity": None, "work_s": 60}) == {
        "name": "Room B",
        "capacity": None,
        "work_s": 60.0,
    }
    with pytest.raises(ValidationFailed):
        validate_room({"name": "x" * 81})


def principal(role: str, station: str = "desk-1", event_id: int | None = 1) -> Principal:
    return Principal(7, f"{role}@example.org", (Grant(role, event_id),), station_id=station)


@pytest.mark.parametrize(
    ("audience", "staff", "technician", "other_desk_staff"),
    [
        (Audience(), True, True, True),
        (Audience("role", "staff"), True, False, True),
        (Audience("role", "technician"), False, True, False),
        (Audience("desk", "desk-1"), True, True, False),
    ],
)
def test_a_notice_reaches_its_audience_and_its_senders_only(audience, staff, technician, other_desk_staff):
    assert may_see(principal("staff"), 1, audience) is staff
    assert may_see(principal("technician"), 1, audience) is technician
    assert may_see(principal("staff", station="desk-2"), 1, audience) is other_desk_staff
    assert may_see(principal("organizer", station="desk-9"), 1, audience)  # senders see everything
    assert not may_see(principal("staff", event_id=2), 1, audience)  # another event's staff: nothing
    assert may_see(principal("admin", event_id=None), 1, audience)


def test_addressed_to_is_about_the_person_not_who_may_send():
    assert not addressed_to(Audience("role", "staff"), roles={"organizer"}, station_id="d")
    assert addressed_to(Audience("desk", "d"), roles=set(), station_id="d")
    assert not addressed_to(Audience("desk", "d"), roles=set(), station_id=None)


def test_notices_are_validated_field_by_field():
    fields = validate_notice(
        {"body": "  Hall B   full ", "priority": "high", "audience": {"kind": "role", "value": "staff"}}
    )
    assert (fields.body, fields.priority, fields.audience, fields.expires_in_s) == (
        "Hall B full",
        "high",
        Audience("role", "staff"),
        None,
    )
    with pytest.raises(ValidationFailed) as bad:
        validate_notice({"body": "", "priority": "urgent", "audience": {"kind": "team"}, "expires_in_s": -5, "x": 1})
    assert {p.field for p in bad.value.problems} == {"body", "priority", "audience.kind", "expires_in_s", "x"}
    assert Audience("role", "organizer").describe() == "organizers"
    assert Audience("desk", "d-1").describe({"d-1": "Front desk"}) == "desk Front desk"
