"""The reservation rules on their own: overlap with buffers, wall-clock time zones and DST, bookable
hours, the nearest free slot, field validation, a booking's life and the conflict refusal."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from focusdesk.domain import reservations as rv
from focusdesk.domain.errors import DomainError, FieldProblem, ValidationFailed
from focusdesk.domain.reservations import (
    ACTIVE,
    APPROVED,
    CANCELLED,
    CHECKED_IN,
    COMPLETED,
    NO_SHOW,
    PENDING,
    REJECTED,
    STATUSES,
    Booked,
    Repeat,
    booked_from,
    conflict_error,
    day_bounds,
    describe,
    first_conflict,
    first_too_close,
    nearest_free,
    occurrence_id,
    occurrences,
    outside_hours,
    parse_time,
    release_deadline,
    span_text,
    too_close_error,
    transition,
    validate_device_status,
    validate_reservation,
    validate_resource,
)
from focusdesk.domain.timeutil import from_iso, to_iso

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
MIN = 60
HOUR = 3600
DAY = 86400


def z(text: str) -> float:
    """Epoch seconds of a UTC wall time written without the ``Z``."""
    return from_iso(text + "+00:00")


def berlin(text: str) -> float:
    """Epoch seconds of a Berlin wall time (must exist)."""
    return parse_time(text, BERLIN, "t")


def rec(rid: str, start: float, end: float, status: str = APPROVED, holder: str = "Ana Silva", **extra) -> dict:
    return {
        "id": rid,
        "event_id": 1,
        "resource_id": "studio-a",
        "holder_name": holder,
        "attendee_id": None,
        "start": to_iso(start),
        "end": to_iso(end),
        "status": status,
        "series_id": None,
        "note": "",
        "created_by": "Desk 1",
        "station_id": None,
        "created_at": to_iso(start - DAY),
        "checked_in_at": None,
        "decided_by": None,
        "reason": "",
        "rev": 1,
        "updated_at": to_iso(start - DAY),
        **extra,
    }


def problems(exc: pytest.ExceptionInfo) -> dict[str, str]:
    """field -> reason of a ValidationFailed (each field named once in these tests)."""
    assert isinstance(exc.value, ValidationFailed)
    assert exc.value.code == "invalid_input"
    found = {p.field: p.reason for p in exc.value.problems}
    assert len(found) == len(exc.value.problems), exc.value.problems
    return found


STUDIO = {"id": "studio-a", "name": "Studio A", "kind": "room", "buffer_min": 0, "open_from": None, "open_until": None}
OFFICE_HOURS = {**STUDIO, "open_from": "08:00", "open_until": "18:00"}

# Tue 24 Nov 2026 in Berlin is CET (UTC+1): 10:00 local == 09:00Z.
A_START, A_END = berlin("2026-11-24T10:00"), berlin("2026-11-24T11:00")
A = Booked("bk-a", A_START, A_END)


# -- the overlap rule --------------------------------------------------------------------------------


def test_a_plain_overlap_is_a_conflict_on_either_side():
    assert first_conflict([A], A_START + 30 * MIN, A_END + 30 * MIN, 0) is A
    assert first_conflict([A], A_START - 30 * MIN, A_START + 30 * MIN, 0) is A


def test_a_contained_or_containing_booking_is_a_conflict():
    assert first_conflict([A], A_START + 15 * MIN, A_END - 15 * MIN, 0) is A
    assert first_conflict([A], A_START - HOUR, A_END + HOUR, 0) is A
    assert first_conflict([A], A_START, A_END, 0) is A


def test_touching_is_not_a_conflict_with_no_buffer():
    assert first_conflict([A], A_END, A_END + HOUR, 0) is None
    assert first_conflict([A], A_START - HOUR, A_START, 0) is None
    # one second closer and they overlap
    assert first_conflict([A], A_END - 1, A_END + HOUR, 0) is A


def test_a_buffer_after_the_booking_turns_touching_into_a_conflict():
    buffer = 15 * MIN
    assert first_conflict([A], A_END, A_END + HOUR, buffer) is A
    assert first_conflict([A], A_END + 14 * MIN, A_END + HOUR, buffer) is A
    assert first_conflict([A], A_END + 15 * MIN, A_END + HOUR, buffer) is None


def test_the_buffer_is_kept_before_the_booking_too():
    buffer = 15 * MIN
    assert first_conflict([A], A_START - HOUR, A_START, buffer) is A
    assert first_conflict([A], A_START - HOUR, A_START - 10 * MIN, buffer) is A
    assert first_conflict([A], A_START - HOUR, A_START - 15 * MIN, buffer) is None


def test_a_booking_does_not_conflict_with_itself_when_ignored():
    assert first_conflict([A], A_START, A_END, 0, ignore="bk-a") is None
    # moving it later keeps other bookings in view
    b = Booked("bk-b", A_END, A_END + HOUR)
    assert first_conflict([A, b], A_START + 30 * MIN, A_END + 30 * MIN, 0, ignore="bk-a") is b


def test_the_earliest_conflict_is_named_whatever_the_order():
    b = Booked("bk-b", A_END, A_END + HOUR)
    assert first_conflict([b, A], A_START, A_END + HOUR, 0) is A
    twin = Booked("bk-0", A_START, A_END)  # same start: the smaller id first, so answers are stable
    assert first_conflict([A, twin], A_START, A_END, 0) is twin


def test_only_active_statuses_hold_the_slot():
    assert frozenset({PENDING, APPROVED, CHECKED_IN, COMPLETED}) == ACTIVE
    records = [rec(f"bk-{status}", A_START, A_END, status) for status in STATUSES]
    records.append(rec("bk-early", A_START - 2 * HOUR, A_START - HOUR, APPROVED))
    booked = booked_from(records)
    assert [b.id for b in booked] == ["bk-early", "bk-approved", "bk-checked_in", "bk-completed", "bk-pending"]
    assert (booked[0].start, booked[0].end) == (A_START - 2 * HOUR, A_START - HOUR)
    assert booked[0].record is records[-1]
    dropped = booked_from([rec(f"bk-{s}", A_START, A_END, s) for s in (CANCELLED, REJECTED, NO_SHOW)])
    assert dropped == []
    assert first_conflict(dropped, A_START, A_END, 15 * MIN) is None


# -- time zones ----------------------------------------------------------------------------------------


def test_a_naive_time_is_the_events_wall_time():
    in_berlin = parse_time("2026-11-24T10:00", BERLIN, "start")
    in_new_york = parse_time("2026-11-24T10:00", NEW_YORK, "start")
    assert in_berlin == z("2026-11-24T09:00")
    assert in_new_york == z("2026-11-24T15:00")
    assert in_new_york - in_berlin == 6 * HOUR
    # summer time: Berlin is UTC+2, New York UTC-4
    assert parse_time("2026-07-01T10:00:00", BERLIN, "start") == z("2026-07-01T08:00")
    assert parse_time(" 2026-07-01T10:00 ", NEW_YORK, "start") == z("2026-07-01T14:00")


def test_a_time_with_an_offset_or_z_is_that_instant_in_any_zone():
    for tz in (BERLIN, NEW_YORK):
        assert parse_time("2026-11-24T10:00:00+02:00", tz, "start") == z("2026-11-24T08:00")
        assert parse_time("2026-11-24T10:00:00Z", tz, "start") == z("2026-11-24T10:00")
        assert parse_time("2026-11-24T10:00:00.000Z", tz, "start") == z("2026-11-24T10:00")
        assert parse_time("2026-11-24T10:00-05:00", tz, "start") == z("2026-11-24T15:00")
    # an instant inside the skipped hour written with its offset is fine: it is unambiguous
    assert parse_time("2026-03-29T01:30:00Z", BERLIN, "start") == z("2026-03-29T01:30")


def test_a_skipped_wall_time_is_refused_naming_the_field():
    with pytest.raises(ValidationFailed) as exc:
        parse_time("2026-03-29T02:30", BERLIN, "args.reservation.start")
    assert exc.value.problems == [
        FieldProblem("args.reservation.start", "2026-03-29 02:30 does not exist in Europe/Berlin (the clocks skip it)")
    ]
    with pytest.raises(ValidationFailed) as exc:
        parse_time("2026-03-08T02:15", NEW_YORK, "end")
    assert problems(exc) == {"end": "2026-03-08 02:15 does not exist in America/New_York (the clocks skip it)"}
    # the minutes either side of the gap exist
    assert parse_time("2026-03-29T01:59", BERLIN, "start") == z("2026-03-29T00:59")
    assert parse_time("2026-03-29T03:00", BERLIN, "start") == z("2026-03-29T01:00")


def test_a_repeated_fall_back_time_means_its_first_occurrence():
    first = parse_time("2026-10-25T02:30", BERLIN, "start")
    assert first == z("2026-10-25T00:30")  # 02:30 CEST, not 02:30 CET (01:30Z)
    assert parse_time("2026-11-01T01:30", NEW_YORK, "start") == z("2026-11-01T05:30")  # EDT


@pytest.mark.parametrize("value", [None, "", "   ", 20261124, "tomorrow at ten", "2026-13-01T10:00"])
def test_a_time_that_is_not_a_date_and_time_is_refused_naming_the_field(value):
    with pytest.raises(ValidationFailed) as exc:
        parse_time(value, BERLIN, "args.reservation.end")
    (reason,) = problems(exc).values()
    assert list(problems(exc)) == ["args.reservation.end"]
    assert "2026-11-24T10:00" in reason


def test_span_text_shows_the_venues_wall_clock():
    assert span_text(A_START, A_END, BERLIN) == "Tue 24 Nov 10:00–11:00"
    assert span_text(A_START, A_END, NEW_YORK) == "Tue 24 Nov 04:00–05:00"
    over_midnight = span_text(berlin("2026-03-28T23:00"), berlin("2026-03-29T04:00"), BERLIN)
    assert over_midnight == "Sat 28 Mar 23:00–Sun 29 Mar 04:00"
    assert rv.local_datetime(A_START, BERLIN).utcoffset().total_seconds() == HOUR


# -- DST: series and days ---------------------------------------------------------------------------------


def test_a_weekly_series_keeps_its_local_time_across_the_march_change():
    start, end = berlin("2026-03-17T10:00"), berlin("2026-03-17T11:30")
    series = occurrences(start, end, Repeat("weekly", 3), BERLIN)
    assert series == [
        (z("2026-03-17T09:00"), z("2026-03-17T10:30")),
        (z("2026-03-24T09:00"), z("2026-03-24T10:30")),
        (z("2026-03-31T08:00"), z("2026-03-31T09:30")),  # CEST: an hour earlier in UTC
    ]
    assert [span_text(s, e, BERLIN) for s, e in series] == [
        "Tue 17 Mar 10:00–11:30",
        "Tue 24 Mar 10:00–11:30",
        "Tue 31 Mar 10:00–11:30",
    ]


def test_a_weekly_series_keeps_its_local_time_across_the_october_change():
    start, end = berlin("2026-10-20T10:00"), berlin("2026-10-20T11:00")
    series = occurrences(start, end, Repeat("weekly", 2), BERLIN)
    assert series == [
        (z("2026-10-20T08:00"), z("2026-10-20T09:00")),
        (z("2026-10-27T09:00"), z("2026-10-27T10:00")),  # CET: an hour later in UTC
    ]
    ny_start = parse_time("2026-10-27T10:00", NEW_YORK, "start")
    ny = occurrences(ny_start, ny_start + HOUR, Repeat("weekly", 2), NEW_YORK)
    assert ny == [(z("2026-10-27T14:00"), z("2026-10-27T15:00")), (z("2026-11-03T15:00"), z("2026-11-03T16:00"))]


def test_a_daily_series_over_the_change_keeps_every_wall_time_and_length():
    start = berlin("2026-03-28T10:00")
    series = occurrences(start, start + HOUR, Repeat("daily", 3), BERLIN)
    assert [s for s, _ in series] == [z("2026-03-28T09:00"), z("2026-03-29T08:00"), z("2026-03-30T08:00")]
    assert {e - s for s, e in series} == {HOUR}


def test_an_occurrence_on_a_skipped_wall_time_moves_forward_with_the_clocks_and_keeps_its_length():
    # 02:30–03:30 every day: on 29 March 02:30 does not exist; the occurrence moves to 03:30 CEST.
    start, end = berlin("2026-03-28T02:30"), berlin("2026-03-28T03:30")
    series = occurrences(start, end, Repeat("daily", 3), BERLIN)
    assert series == [
        (z("2026-03-28T01:30"), z("2026-03-28T02:30")),
        (z("2026-03-29T01:30"), z("2026-03-29T02:30")),
        (z("2026-03-30T00:30"), z("2026-03-30T01:30")),
    ]
    assert all(e - s == HOUR for s, e in series)


def test_a_series_starting_on_the_second_run_of_a_repeated_hour_keeps_its_first_occurrence():
    # 02:30 CET on 25 October (the second 02:30, given as an instant) for 30 minutes
    start, end = z("2026-10-25T01:30"), z("2026-10-25T02:00")
    series = occurrences(start, end, Repeat("daily", 2), BERLIN)
    assert series[0] == (start, end)
    assert series[1] == (z("2026-10-26T01:30"), z("2026-10-26T02:00"))


def test_a_single_booking_is_its_own_only_occurrence_and_series_ids_count_from_two():
    assert occurrences(A_START, A_END, None, BERLIN) == [(A_START, A_END)]
    assert [occurrence_id("bk-7", i) for i in range(3)] == ["bk-7", "bk-7-2", "bk-7-3"]


@pytest.mark.parametrize(
    ("tz", "day", "hours", "first"),
    [
        (BERLIN, date(2026, 3, 29), 23, "2026-03-28T23:00"),
        (BERLIN, date(2026, 10, 25), 25, "2026-10-24T22:00"),
        (BERLIN, date(2026, 11, 24), 24, "2026-11-23T23:00"),
        (NEW_YORK, date(2026, 3, 8), 23, "2026-03-08T05:00"),
        (NEW_YORK, date(2026, 11, 1), 25, "2026-11-01T04:00"),
    ],
)
def test_day_bounds_span_the_local_day(tz, day, hours, first):
    start, end = day_bounds(day, tz)
    assert start == z(first)
    assert end - start == hours * HOUR
    assert day_bounds(day + timedelta(days=1), tz)[0] == end


def test_bookable_hours_are_local_before_and_after_the_march_change():
    # Friday 27 March, CET: 08:00–18:00 local is 07:00Z–17:00Z
    assert outside_hours(OFFICE_HOURS, z("2026-03-27T07:00"), z("2026-03-27T17:00"), BERLIN) is None
    refusal = outside_hours(OFFICE_HOURS, z("2026-03-27T06:30"), z("2026-03-27T07:30"), BERLIN)
    assert refusal == "Studio A can be booked from 08:00 to 18:00 only"
    assert outside_hours(OFFICE_HOURS, z("2026-03-27T16:30"), z("2026-03-27T17:30"), BERLIN) is not None
    # Sunday 29 and Monday 30 March, CEST: 08:00–18:00 local is 06:00Z–16:00Z
    for day in ("2026-03-29", "2026-03-30"):
        assert outside_hours(OFFICE_HOURS, z(f"{day}T06:00"), z(f"{day}T07:00"), BERLIN) is None
        assert outside_hours(OFFICE_HOURS, z(f"{day}T15:00"), z(f"{day}T16:00"), BERLIN) is None
        assert outside_hours(OFFICE_HOURS, z(f"{day}T05:30"), z(f"{day}T06:30"), BERLIN) is not None
        assert outside_hours(OFFICE_HOURS, z(f"{day}T15:30"), z(f"{day}T16:30"), BERLIN) is not None


def test_bookable_hours_are_local_before_and_after_the_october_change():
    # Saturday 24 October, CEST: 08:00 local is 06:00Z
    assert outside_hours(OFFICE_HOURS, z("2026-10-24T06:00"), z("2026-10-24T07:00"), BERLIN) is None
    # Sunday 25 October, CET from 03:00: 08:00 local is 07:00Z, so 06:30Z is 07:30 and too early
    assert outside_hours(OFFICE_HOURS, z("2026-10-25T06:30"), z("2026-10-25T07:30"), BERLIN) is not None
    assert outside_hours(OFFICE_HOURS, z("2026-10-25T07:00"), z("2026-10-25T08:00"), BERLIN) is None
    assert outside_hours(OFFICE_HOURS, z("2026-10-25T16:00"), z("2026-10-25T17:00"), BERLIN) is None
    assert outside_hours(OFFICE_HOURS, z("2026-10-25T16:30"), z("2026-10-25T17:30"), BERLIN) is not None


def test_bookable_hours_do_not_stretch_over_midnight_and_no_hours_means_any_time():
    late = berlin("2026-11-24T17:00"), berlin("2026-11-25T09:00")
    assert outside_hours(OFFICE_HOURS, *late, BERLIN) is not None
    assert outside_hours(STUDIO, *late, BERLIN) is None
    assert outside_hours(STUDIO, berlin("2026-11-24T02:00"), berlin("2026-11-24T03:00"), BERLIN) is None


# -- the nearest free slot --------------------------------------------------------------------------------


def free(booked, start, end, buffer_min=0, resource=STUDIO, tz=BERLIN, not_before=0.0):
    return nearest_free(booked, start, end, buffer_min * MIN, resource=resource, tz_name=tz, not_before=not_before)


def test_the_wanted_slot_itself_when_it_is_free():
    later = berlin("2026-11-24T12:00"), berlin("2026-11-24T13:00")
    assert free([A], *later) == later


def test_the_closest_free_slot_of_the_same_length():
    b = Booked("bk-b", berlin("2026-11-24T11:30"), berlin("2026-11-24T12:00"))
    # wanted 10:30–11:00: 11:00–11:30 fits between A and B (30 min away); 09:30 would be 60 min away
    assert free([A, b], berlin("2026-11-24T10:30"), berlin("2026-11-24T11:00")) == (
        berlin("2026-11-24T11:00"),
        berlin("2026-11-24T11:30"),
    )
    # wanted 10:15–11:15 against A 10:00–12:00: 09:00 is 75 min away, 12:00 is 105 min away
    long_a = Booked("bk-a", A_START, berlin("2026-11-24T12:00"))
    assert free([long_a], berlin("2026-11-24T10:15"), berlin("2026-11-24T11:15")) == (
        berlin("2026-11-24T09:00"),
        berlin("2026-11-24T10:00"),
    )


def test_a_tie_goes_to_the_later_slot():
    # wanted exactly A's hour: 09:00 and 11:00 are both an hour away
    assert free([A], A_START, A_END) == (A_END, A_END + HOUR)


def test_the_nearest_slot_keeps_the_buffer():
    # wanted 10:30–11:30 with 15 min buffer: 11:15 is 45 min away, 08:45 is 105 min away
    got = free([A], berlin("2026-11-24T10:30"), berlin("2026-11-24T11:30"), buffer_min=15)
    assert got == (berlin("2026-11-24T11:15"), berlin("2026-11-24T12:15"))
    assert first_conflict([A], *got, 15 * MIN) is None
    # between A and B (11:30–13:00) the 30 min gap cannot hold 30 min once 15 min each side is kept
    b = Booked("bk-b", berlin("2026-11-24T11:30"), berlin("2026-11-24T13:00"))
    # (11:15 and 10:45 would break it); 09:15 is 2h15 away, 13:15 only 1h45
    got = free([A, b], berlin("2026-11-24T11:30"), berlin("2026-11-24T12:00"), buffer_min=15)
    assert got == (berlin("2026-11-24T13:15"), berlin("2026-11-24T13:45"))


def test_the_nearest_slot_is_inside_the_bookable_hours():
    busy = Booked("bk-day", berlin("2026-11-24T08:00"), berlin("2026-11-24T17:30"))
    # wanted 17:00–18:00: 17:30 would run past 18:00; the next morning at 08:00 (15 h) beats
    # the previous evening at 17:00 (24 h)
    got = free([busy], berlin("2026-11-24T17:00"), berlin("2026-11-24T18:00"), resource=OFFICE_HOURS)
    assert got == (berlin("2026-11-25T08:00"), berlin("2026-11-25T09:00"))
    # a wanted time at night moves to the nearest opening edge: 19:00–20:00 -> 17:00–18:00 the same day
    got = free([], berlin("2026-11-24T19:00"), berlin("2026-11-24T20:00"), resource=OFFICE_HOURS)
    assert got == (berlin("2026-11-24T17:00"), berlin("2026-11-24T18:00"))
    # early morning: 06:00–07:00 -> 08:00–09:00
    got = free([], berlin("2026-11-24T06:00"), berlin("2026-11-24T07:00"), resource=OFFICE_HOURS)
    assert got == (berlin("2026-11-24T08:00"), berlin("2026-11-24T09:00"))


def test_the_nearest_slot_uses_the_hours_of_its_own_day_across_a_dst_change():
    # Sunday 29 March (CEST from 03:00): the opening is 06:00Z, not 07:00Z
    got = free([], z("2026-03-29T04:00"), z("2026-03-29T05:00"), resource=OFFICE_HOURS)
    assert got == (z("2026-03-29T06:00"), z("2026-03-29T07:00"))
    got = free([], z("2026-10-25T05:00"), z("2026-10-25T06:00"), resource=OFFICE_HOURS)
    assert got == (z("2026-10-25T07:00"), z("2026-10-25T08:00"))  # CET again: 08:00 local is 07:00Z


def test_the_nearest_slot_is_never_before_not_before():
    now = berlin("2026-11-24T09:20")
    # nothing booked: the wanted 09:00–10:00 has partly passed, so the slot starts now
    assert free([], berlin("2026-11-24T09:00"), berlin("2026-11-24T10:00"), not_before=now) == (now, now + HOUR)
    # 09:30–10:00 is booked: 5 min from now (09:20) fits before it and is closer than 09:25 or 10:00
    short = Booked("bk-s", berlin("2026-11-24T09:30"), berlin("2026-11-24T10:00"))
    got = free([short], berlin("2026-11-24T09:00"), berlin("2026-11-24T09:05"), not_before=now)
    assert got == (now, now + 5 * MIN)
    # the earlier slot (before A) is in the past, so the later one wins even though it is farther
    got = free([A], berlin("2026-11-24T10:15"), berlin("2026-11-24T10:45"), not_before=berlin("2026-11-24T09:45"))
    assert got == (A_END, A_END + 30 * MIN)
    # a wanted time well in the past moves to the first free moment from now on
    got = free([A], berlin("2026-11-23T10:00"), berlin("2026-11-23T11:00"), not_before=A_START - 30 * MIN)
    assert got == (A_END, A_END + HOUR)


def test_no_slot_when_the_horizon_is_full():
    wanted = berlin("2026-11-24T10:00"), berlin("2026-11-24T11:00")
    wall = Booked("bk-wall", wanted[0] - 15 * DAY, wanted[1] + 15 * DAY)
    assert free([wall], *wanted) is None
    # free only just beyond the two weeks
    edge = Booked("bk-edge", wanted[0] - 15 * DAY, wanted[0] + 14 * DAY + 1)
    assert free([edge], *wanted) is None
    # longer than the daily opening
    assert free([], berlin("2026-11-24T08:00"), berlin("2026-11-24T19:00"), resource=OFFICE_HOURS) is None


def test_a_resource_with_only_one_of_its_hours_set_is_bookable_any_time():
    half = {**STUDIO, "open_from": "08:00", "open_until": None}
    assert outside_hours(half, berlin("2026-11-24T02:00"), berlin("2026-11-24T03:00"), BERLIN) is None
    wanted = berlin("2026-11-24T02:00"), berlin("2026-11-24T03:00")
    assert free([], *wanted, resource=half) == wanted


# -- validation -----------------------------------------------------------------------------------------------


def booking(**over) -> dict:
    return {
        "id": "bk-0001",
        "resource_id": "studio-a",
        "holder_name": "Ana Silva",
        "start": "2026-11-24T10:00",
        "end": "2026-11-24T11:00",
        **over,
    }


def test_a_good_booking_request_is_cleaned_and_its_times_are_instants():
    got = validate_reservation(
        booking(holder_name="  Ana   Silva ", note=" bring  the\ncables ", attendee_id="att-1", repeat=None),
        BERLIN,
    )
    assert got == rv.ReservationRequest(
        resource_id="studio-a",
        holder_name="Ana Silva",
        attendee_id="att-1",
        start=A_START,
        end=A_END,
        note="bring the cables",
        repeat=None,
        skip_conflicts=False,
    )
    series = validate_reservation(
        booking(start="2026-11-24T09:00:00Z", repeat={"freq": "weekly", "count": 4}, skip_conflicts=True), BERLIN
    )
    assert (series.start, series.repeat, series.skip_conflicts) == (z("2026-11-24T09:00"), Repeat("weekly", 4), True)


def test_every_problem_of_a_booking_request_is_named_by_field():
    with pytest.raises(ValidationFailed) as exc:
        validate_reservation(
            {"resource_id": "", "holder_name": "   ", "start": "soon", "colour": "red", "skip_conflicts": "yes"},
            BERLIN,
            prefix="args.reservation.",
        )
    found = problems(exc)
    assert set(found) == {
        "args.reservation.colour",
        "args.reservation.resource_id",
        "args.reservation.holder_name",
        "args.reservation.start",
        "args.reservation.end",
        "args.reservation.skip_conflicts",
    }
    assert found["args.reservation.colour"] == "is not a field of a reservation"
    assert found["args.reservation.holder_name"] == "must say who the booking is for"
    assert found["args.reservation.skip_conflicts"] == "must be true or false"
    assert "'soon' is not a date and time" in found["args.reservation.start"]
    assert exc.value.message.startswith("Invalid input — args.reservation.colour: is not a field of a reservation")


@pytest.mark.parametrize(
    ("over", "field", "reason"),
    [
        ({"holder_name": None}, "holder_name", "must say who the booking is for"),
        ({"holder_name": 42}, "holder_name", "must say who the booking is for"),
        ({"holder_name": "x" * 81}, "holder_name", "must be at most 80 characters"),
        ({"attendee_id": ""}, "attendee_id", "must be an attendee id, or null"),
        ({"attendee_id": 7}, "attendee_id", "must be an attendee id, or null"),
        ({"note": "x" * 301}, "note", "must be text of at most 300 characters"),
        ({"note": 5}, "note", "must be text of at most 300 characters"),
        ({"resource_id": None}, "resource_id", "must name the resource to book"),
        ({"end": "2026-11-24T09:00"}, "end", "must be later than start"),
        ({"end": "2026-11-24T10:00"}, "end", "must be later than start"),
        ({"end": "2026-11-24T10:04:59"}, "end", "a booking lasts at least 5 minutes"),
        ({"end": "2026-12-01T10:00:01"}, "end", "a booking lasts at most 7 days"),
        ({"repeat": "weekly"}, "repeat", 'must look like {"freq": "weekly", "count": 4}'),
        (
            {"repeat": {"freq": "weekly", "count": 3, "until": "x"}},
            "repeat",
            'must look like {"freq": "weekly", "count": 4}',
        ),
        ({"repeat": {"freq": "hourly", "count": 3}}, "repeat.freq", "must be daily or weekly"),
        ({"repeat": {"freq": "weekly", "count": 1}}, "repeat.count", "must be between 2 and 52"),
        ({"repeat": {"freq": "daily", "count": 53}}, "repeat.count", "must be between 2 and 52"),
        ({"repeat": {"freq": "daily"}}, "repeat.count", "must be a whole number of occurrences"),
        ({"repeat": {"freq": "daily", "count": True}}, "repeat.count", "must be a whole number of occurrences"),
        ({"repeat": {"freq": "daily", "count": 2.0}}, "repeat.count", "must be a whole number of occurrences"),
        (
            {"start": "2026-03-29T02:30", "end": "2026-03-29T04:00"},
            "start",
            "2026-03-29 02:30 does not exist in Europe/Berlin (the clocks skip it)",
        ),
        ({"start": None}, "start", "must be a date and time like 2026-11-24T10:00"),
    ],
)
def test_one_bad_field_of_a_booking_request(over, field, reason):
    with pytest.raises(ValidationFailed) as exc:
        validate_reservation(booking(**over), BERLIN)
    assert problems(exc) == {field: reason}


def test_booking_length_limits_are_inclusive():
    assert validate_reservation(booking(end="2026-11-24T10:05"), BERLIN).end == A_START + 5 * MIN
    assert validate_reservation(booking(end="2026-12-01T10:00"), BERLIN).end == A_START + 7 * DAY
    # the length is real time: over the March change 00:00–04:00 local is three hours
    got = validate_reservation(booking(start="2026-03-29T00:00", end="2026-03-29T04:00"), BERLIN)
    assert got.end - got.start == 3 * HOUR


def test_a_full_resource_gets_defaults():
    got = validate_resource({"id": "studio-a", "kind": "room", "name": "  Studio   A "})
    assert got == {
        "kind": "room",
        "name": "Studio A",
        "capacity": None,
        "buffer_min": 0,
        "open_from": None,
        "open_until": None,
        "needs_approval": False,
        "release_after_min": 15,
    }
    device = validate_resource(
        {
            "kind": "device",
            "name": "Projector 2",
            "capacity": 1,
            "buffer_min": 240,
            "open_from": "00:00",
            "open_until": "23:59",
            "needs_approval": True,
            "release_after_min": 240,
        }
    )
    assert device == {
        "kind": "device",
        "name": "Projector 2",
        "capacity": 1,
        "buffer_min": 240,
        "open_from": "00:00",
        "open_until": "23:59",
        "needs_approval": True,
        "release_after_min": 240,
    }


@pytest.mark.parametrize(
    ("over", "field", "reason"),
    [
        ({"colour": "red"}, "colour", "is not a field of a resource"),
        ({"kind": "car"}, "kind", "must be room or device"),
        ({"kind": None}, "kind", "must be room or device"),
        ({"name": "   "}, "name", "must not be empty"),
        ({"name": "x" * 81}, "name", "must be at most 80 characters"),
        ({"capacity": 0}, "capacity", "must be between 1 and 100000"),
        ({"capacity": "10"}, "capacity", "must be a whole number of people"),
        ({"capacity": True}, "capacity", "must be a whole number of people"),
        ({"buffer_min": -1}, "buffer_min", "must be between 0 and 240"),
        ({"buffer_min": 241}, "buffer_min", "must be between 0 and 240"),
        ({"buffer_min": 1.5}, "buffer_min", "must be a whole number of minutes"),
        ({"release_after_min": 0}, "release_after_min", "must be between 1 and 240"),
        ({"needs_approval": "yes"}, "needs_approval", "must be true or false"),
        ({"open_from": "8:30", "open_until": "18:00"}, "open_from", "must be a time of day like 08:30, or null"),
        ({"open_from": "08:00", "open_until": "24:00"}, "open_until", "must be a time of day like 08:30, or null"),
        ({"open_from": "08:60", "open_until": "18:00"}, "open_from", "must be a time of day like 08:30, or null"),
        ({"open_from": 830, "open_until": "18:00"}, "open_from", "must be a time of day like 08:30, or null"),
        ({"open_from": "18:00", "open_until": "08:00"}, "open_until", "must be later than open_from"),
        ({"open_from": "08:00", "open_until": "08:00"}, "open_until", "must be later than open_from"),
        ({"open_from": "08:00"}, "open_until", "give both open_from and open_until, or neither"),
        ({"open_until": "18:00"}, "open_until", "give both open_from and open_until, or neither"),
        ({"open_from": "08:00", "open_until": None}, "open_until", "give both open_from and open_until, or neither"),
    ],
)
def test_one_bad_field_of_a_resource(over, field, reason):
    with pytest.raises(ValidationFailed) as exc:
        validate_resource({"kind": "room", "name": "Studio A", **over}, prefix="args.resource.")
    assert problems(exc) == {f"args.resource.{field}": reason}


def test_every_problem_of_a_resource_is_named_at_once():
    with pytest.raises(ValidationFailed) as exc:
        validate_resource({"kind": "boat", "name": "", "buffer_min": 999, "open_from": "x", "open_until": "18:00"})
    assert set(problems(exc)) == {"kind", "name", "buffer_min", "open_from"}


def test_a_partial_resource_update_checks_and_returns_only_what_it_names():
    assert validate_resource({"name": " New  name "}, partial=True) == {"name": "New name"}
    assert validate_resource({"buffer_min": 10}, partial=True) == {"buffer_min": 10}
    assert validate_resource({"capacity": None}, partial=True) == {"capacity": None}
    assert validate_resource({"open_from": "09:00"}, partial=True) == {"open_from": "09:00"}
    assert validate_resource({"open_from": None, "open_until": None}, partial=True) == {
        "open_from": None,
        "open_until": None,
    }
    assert validate_resource({}, partial=True) == {}
    with pytest.raises(ValidationFailed) as exc:
        validate_resource({"name": "", "release_after_min": 241}, partial=True, prefix="args.fields.")
    assert problems(exc) == {
        "args.fields.name": "must not be empty",
        "args.fields.release_after_min": "must be between 1 and 240",
    }
    with pytest.raises(ValidationFailed) as exc:
        validate_resource({"open_from": "12:00", "open_until": "11:00"}, partial=True)
    assert problems(exc) == {"open_until": "must be later than open_from"}


@pytest.mark.parametrize("kind", ["room", "device", "car"])
def test_the_kind_cannot_change_in_a_partial_update(kind):
    with pytest.raises(ValidationFailed) as exc:
        validate_resource({"kind": kind}, partial=True, prefix="args.fields.")
    assert problems(exc) == {"args.fields.kind": "cannot change; delete the resource and add it again"}


def test_device_status_is_checked_and_its_note_cleaned():
    assert validate_device_status("in_use", "  lamp   warm ") == ("in_use", "lamp warm")
    assert validate_device_status("online", None) == ("online", "")
    with pytest.raises(ValidationFailed) as exc:
        validate_device_status("broken", 5)
    assert set(problems(exc)) == {"args.status", "args.note"}
    with pytest.raises(ValidationFailed) as exc:
        validate_device_status("offline", "x" * 301, prefix="")
    assert problems(exc) == {"note": "must be at most 300 characters"}


# -- a booking's life ---------------------------------------------------------------------------------------


def act(record, command, now=A_START - DAY, resource=STUDIO, reason=""):
    return transition(
        record, command, now=now, resource=resource, tz_name=BERLIN, actor="org@example.org", reason=reason
    )


ALLOWED = {
    "reservation_approve": ({PENDING}, APPROVED),
    "reservation_reject": ({PENDING}, REJECTED),
    "reservation_cancel": ({PENDING, APPROVED}, CANCELLED),
    "reservation_checkin": ({APPROVED}, CHECKED_IN),
    "reservation_complete": ({CHECKED_IN}, COMPLETED),
}
WORDS = {
    "reservation_approve": "approved",
    "reservation_reject": "rejected",
    "reservation_cancel": "cancelled",
    "reservation_checkin": "checked in",
    "reservation_complete": "completed",
}


@pytest.mark.parametrize(("command", "status"), list(itertools.product(ALLOWED, STATUSES)))
def test_each_command_from_each_state(command, status):
    record = rec("bk-1", A_START, A_END, status)
    now = A_START + 5 * MIN  # inside the check-in window
    allowed, new = ALLOWED[command]
    if status in allowed:
        after = act(record, command, now=now)
        assert after["status"] == new
        assert after["decided_by"] == "org@example.org"
        assert {k: v for k, v in after.items() if k not in ("status", "decided_by", "checked_in_at", "end")} == {
            k: v for k, v in record.items() if k not in ("status", "decided_by", "checked_in_at", "end")
        }
        assert record["status"] == status  # the input is not changed
        return
    with pytest.raises(DomainError) as exc:
        act(record, command, now=now)
    if command == "reservation_checkin" and status == PENDING:
        assert exc.value.code == "not_approved"
        assert exc.value.message == "Ana Silva's booking is still awaiting approval"
    else:
        assert exc.value.code == "wrong_state"
        assert exc.value.message == (
            f"Ana Silva's booking is {status.replace('_', ' ')}; it cannot be {WORDS[command]} now"
        )


def test_check_in_opens_fifteen_minutes_before_the_start():
    record = rec("bk-1", A_START, A_END, APPROVED)
    with pytest.raises(DomainError) as exc:
        act(record, "reservation_checkin", now=A_START - 15 * MIN - 1)
    assert (exc.value.code, exc.value.message) == ("too_early", "check-in for Ana Silva's booking opens at 09:45")
    at_open = act(record, "reservation_checkin", now=A_START - 15 * MIN)
    assert (at_open["status"], at_open["checked_in_at"]) == (CHECKED_IN, to_iso(A_START - 15 * MIN))
    assert act(record, "reservation_checkin", now=A_START)["checked_in_at"] == to_iso(A_START)


def test_check_in_closes_at_the_release_deadline():
    record = rec("bk-1", A_START, A_END, APPROVED)
    assert release_deadline(record, None) == A_START + 15 * MIN
    assert release_deadline(record, STUDIO) == A_START + 15 * MIN  # no release_after_min: the default
    at_deadline = act(record, "reservation_checkin", now=A_START + 15 * MIN)
    assert at_deadline["checked_in_at"] == to_iso(A_START + 15 * MIN)
    with pytest.raises(DomainError) as exc:
        act(record, "reservation_checkin", now=A_START + 15 * MIN + 1)
    assert (exc.value.code, exc.value.message) == (
        "too_late",
        "Ana Silva did not check in by 10:15; the slot was released",
    )
    patient = {**STUDIO, "release_after_min": 30}
    assert release_deadline(record, patient) == A_START + 30 * MIN
    assert act(record, "reservation_checkin", now=A_START + 25 * MIN, resource=patient)["status"] == CHECKED_IN
    with pytest.raises(DomainError) as exc:
        act(record, "reservation_checkin", now=A_START + 31 * MIN, resource=patient)
    assert "did not check in by 10:30" in exc.value.message


def test_completing_early_frees_the_rest_of_the_slot():
    record = rec("bk-1", A_START, A_END, CHECKED_IN, checked_in_at=to_iso(A_START))
    early = act(record, "reservation_complete", now=A_START + 20 * MIN)
    assert (early["status"], early["end"], early["start"]) == (COMPLETED, to_iso(A_START + 20 * MIN), record["start"])
    # the booking stays at least a minute long even when finished right at (or before) its start
    at_once = act(record, "reservation_complete", now=A_START - 5 * MIN)
    assert at_once["end"] == to_iso(A_START + 60)
    # finishing after the end keeps the booked end
    late = act(record, "reservation_complete", now=A_END + HOUR)
    assert late["end"] == record["end"]
    # the freed time can be booked again
    booked = booked_from([early])
    assert first_conflict(booked, A_START + 20 * MIN, A_END, 0) is None
    assert first_conflict(booked, A_START + 19 * MIN, A_END, 0) is not None


def test_the_reason_is_kept_cleaned_and_bounded():
    record = rec("bk-1", A_START, A_END, PENDING)
    assert act(record, "reservation_reject", reason="  room   needed\nfor  the keynote ")["reason"] == (
        "room needed for the keynote"
    )
    assert act(record, "reservation_cancel", reason="y" * 500)["reason"] == "y" * 300
    assert act(record, "reservation_approve")["reason"] == ""  # no reason: the old one stays
    assert act({**record, "reason": "earlier"}, "reservation_approve")["reason"] == "earlier"


def test_describe_names_holder_resource_and_local_span():
    record = rec("bk-1", A_START, A_END)
    assert describe(record, "Studio A", BERLIN) == "Ana Silva — Studio A, Tue 24 Nov 10:00–11:00"
    assert describe(record, "Studio A", NEW_YORK) == "Ana Silva — Studio A, Tue 24 Nov 04:00–05:00"


# -- the conflict refusal ------------------------------------------------------------------------------------


def test_a_conflict_names_holder_local_span_and_the_nearest_slot():
    other = rec("bk-9", A_START, A_END, PENDING, holder="Bo Chen")
    (hit,) = booked_from([other])
    resource = {**STUDIO, "buffer_min": 15}
    slot = (berlin("2026-11-24T11:15"), berlin("2026-11-24T12:15"))
    err = conflict_error(resource, hit, slot, BERLIN)
    assert err.code == "reservation_conflict"
    assert err.message == (
        "Studio A is booked Tue 24 Nov 10:00–11:00 by Bo Chen, pending (with 15 min between bookings); "
        "nearest free slot Tue 24 Nov 11:15–12:15"
    )
    assert str(err) == err.message
    assert err.details == {
        "conflict": other,
        "nearest_free": {"start": "2026-11-24T10:15:00.000Z", "end": "2026-11-24T11:15:00.000Z"},
    }


def test_a_conflict_with_an_approved_booking_and_no_free_slot():
    other = rec("bk-9", A_START, A_END, APPROVED, holder="Bo Chen")
    (hit,) = booked_from([other])
    err = conflict_error(STUDIO, hit, None, NEW_YORK)
    assert err.message == (
        "Studio A is booked Tue 24 Nov 04:00–05:00 by Bo Chen; no free slot of that length in the next two weeks"
    )
    assert err.details == {"conflict": other, "nearest_free": None}
    checked_in = conflict_error(STUDIO, booked_from([{**other, "status": CHECKED_IN}])[0], None, BERLIN)
    assert "by Bo Chen, checked in; no free slot" in checked_in.message


def test_a_conflict_without_its_record_still_reads_well():
    err = conflict_error(STUDIO, Booked("bk-x", A_START, A_END), (A_END, A_END + HOUR), BERLIN)
    assert (
        err.message == "Studio A is booked Tue 24 Nov 10:00–11:00 by someone; nearest free slot Tue 24 Nov 11:00–12:00"
    )
    assert err.details["conflict"] == {"id": "bk-x"}


# -- a larger buffer: which bookings it would leave too close ------------------------------------------------


def test_no_pair_is_too_close_when_every_gap_keeps_the_buffer():
    b = Booked("bk-b", A_END + 15 * MIN, A_END + HOUR)
    assert first_too_close([A, b], 15 * MIN) is None
    assert first_too_close([b, A], 0) is None
    assert first_too_close([], 60 * MIN) is None
    assert first_too_close([A], 240 * MIN) is None


def test_the_first_pair_a_larger_buffer_would_leave_too_close_earlier_first():
    b = Booked("bk-b", A_END + 5 * MIN, A_END + HOUR)
    c = Booked("bk-c", A_END + 2 * HOUR, A_END + 3 * HOUR)
    assert first_too_close([c, b, A], 15 * MIN) == (A, b)
    assert first_too_close([c, b, A], 5 * MIN) is None  # touching once the buffer is kept
    # a long booking reaching past a short one clashes with what follows both
    long = Booked("bk-0", A_START - HOUR, A_END + 30 * MIN)
    assert first_too_close([A, long, c], 0) == (long, A)


def test_too_close_is_first_conflict_for_every_pair():
    buffer = 25 * MIN  # the gaps are 20 min
    bookings = [Booked(f"bk-{i}", A_START + i * 50 * MIN, A_START + i * 50 * MIN + 30 * MIN) for i in range(4)]
    pair = first_too_close(bookings, buffer)
    assert pair == (bookings[0], bookings[1])
    assert first_conflict([pair[0]], pair[1].start, pair[1].end, buffer) is pair[0]
    spaced = [Booked(b.id, b.start + i * 10 * MIN, b.end + i * 10 * MIN) for i, b in enumerate(bookings)]
    assert first_too_close(spaced, buffer) is None
    assert all(first_conflict([x], y.start, y.end, buffer) is None for x, y in itertools.combinations(spaced, 2))


def test_a_fixed_booking_keeps_its_own_hold_and_two_fixed_ones_are_never_reported():
    finished = Booked("bk-old", A_START - 2 * HOUR, A_START - HOUR)
    soon = Booked("bk-soon", A_START - HOUR + 5 * MIN, A_START)
    # held only until its end: 5 min later is fine whatever the new buffer
    assert first_too_close([soon], 30 * MIN, fixed=[(finished, finished.end)]) is None
    # held 10 min past its end: the booking 5 min after it is too close, named earlier first
    assert first_too_close([soon], 0, fixed=[(finished, finished.end + 10 * MIN)]) == (finished, soon)
    # the moving booking's new buffer reaches a fixed one that starts after it
    later = Booked("bk-later", A_START + 10 * MIN, A_END)
    assert first_too_close([soon], 15 * MIN, fixed=[(later, later.end)]) == (soon, later)
    # two fixed bookings that overlap (old data) are not this change's business
    twin = Booked("bk-twin", finished.start + 10 * MIN, finished.end)
    assert first_too_close([A], 0, fixed=[(finished, finished.end), (twin, twin.end)]) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(1, 8), st.booleans(), st.integers(0, 4)), max_size=10),
    st.sampled_from([0, 15, 30, 60]),
)
def test_too_close_finds_a_pair_exactly_when_two_held_spans_overlap(spans, buffer_min):
    buffer = buffer_min * MIN
    moving, fixed = [], []
    for i, (start_q, length_q, moves, extra_q) in enumerate(spans):
        booking = Booked(f"bk-{i:02d}", start_q * QUARTER, (start_q + length_q) * QUARTER)
        if moves:
            moving.append(booking)
        else:
            fixed.append((booking, booking.end + extra_q * QUARTER))
    held = [(b, b.end + buffer, True) for b in moving] + [(b, h, False) for b, h in fixed]
    overlapping = {
        frozenset((x.id, y.id))
        for (x, hx, mx), (y, hy, my) in itertools.combinations(held, 2)
        if (mx or my) and x.start < hy and y.start < hx
    }
    pair = first_too_close(moving, buffer, fixed=fixed)
    if not overlapping:
        assert pair is None
    else:
        assert pair is not None and frozenset((pair[0].id, pair[1].id)) in overlapping
        assert (pair[0].start, pair[0].id) <= (pair[1].start, pair[1].id)


def test_a_larger_buffer_is_refused_naming_both_bookings():
    ann = rec("bk-ann", A_START, A_END, COMPLETED, holder="Ann")
    bob = rec("bk-bob", A_END + 5 * MIN, A_END + HOUR, holder="Bob")
    first, second = booked_from([ann, bob])
    err = too_close_error({**STUDIO, "name": "Board room"}, 15, (first, second), BERLIN)
    assert err.code == "reservation_conflict"
    assert err.message == (
        "a 15-minute buffer would leave Board room booked by Ann Tue 24 Nov 10:00–11:00 and by Bob "
        "Tue 24 Nov 11:05–12:00 too close; move or cancel one first"
    )
    assert err.details == {"conflict": ann, "conflict_with": bob}
    bare = too_close_error(STUDIO, 30, (Booked("x", A_START, A_END), Booked("y", A_END, A_END + HOUR)), BERLIN)
    assert "booked by someone Tue 24 Nov 10:00–11:00 and by someone" in bare.message
    assert bare.details == {"conflict": {"id": "x"}, "conflict_with": {"id": "y"}}


# -- property: bookings made through the rules never overlap -----------------------------------------------------

QUARTER = 15 * MIN
# Weekends with a DST change in each zone (Friday 00:00 local, roughly), so bookings straddle it.
DST_WEEKS = [
    (BERLIN, z("2026-03-26T23:00")),
    (BERLIN, z("2026-10-22T22:00")),
    (NEW_YORK, z("2026-03-06T05:00")),
    (NEW_YORK, z("2026-10-30T04:00")),
]


def fits_hours(resource, start, end, tz) -> bool:
    """Independent of outside_hours: compare the local wall clock of both ends."""
    if not resource.get("open_from"):
        return True
    zone = ZoneInfo(tz)
    first, last = datetime.fromtimestamp(start, zone), datetime.fromtimestamp(end, zone)
    return (
        first.date() == last.date()
        and f"{first:%H:%M}" >= resource["open_from"]
        and f"{last:%H:%M}" <= resource["open_until"]
    )


def clear_of(others, start, end, buffer_s) -> bool:
    """Independent of first_conflict: the gap to every other booking is at least the buffer."""
    return all(start >= b.end + buffer_s or b.start >= end + buffer_s for b in others)


@st.composite
def scenarios(draw):
    tz, base = draw(st.sampled_from(DST_WEEKS))
    buffer_s = draw(st.sampled_from([0, 15, 30, 60])) * MIN
    hours = draw(st.one_of(st.none(), st.tuples(st.integers(5, 12), st.integers(1, 11))))
    resource = dict(STUDIO)
    if hours:
        opens, span = hours
        resource.update(open_from=f"{opens:02d}:00", open_until=f"{min(opens + span, 23):02d}:00")
    not_before = base + draw(st.integers(0, 96)) * QUARTER
    wanted = draw(
        st.lists(
            st.tuples(
                st.integers(0, 4 * 96),  # start, in quarters from base (four days)
                st.integers(1, 16),  # length, in quarters
                st.sampled_from([*sorted(ACTIVE), CANCELLED, REJECTED, NO_SHOW]),
            ),
            min_size=1,
            max_size=12,
        )
    )
    return tz, base, buffer_s, resource, not_before, wanted


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_bookings_made_through_the_rules_never_overlap(scenario):
    tz, base, buffer_s, resource, not_before, wanted = scenario
    records: list[dict] = []
    for i, (offset_q, length_q, status) in enumerate(wanted):
        start = base + offset_q * QUARTER
        end = start + length_q * QUARTER
        if status not in ACTIVE:  # released or refused bookings lie anywhere and must be ignored
            records.append(rec(f"bk-{i}", start, end, status))
            continue
        booked = booked_from(records)
        if (
            start >= not_before
            and not outside_hours(resource, start, end, tz)
            and not first_conflict(booked, start, end, buffer_s)
        ):
            records.append(rec(f"bk-{i}", start, end, status))
            continue
        slot = nearest_free(booked, start, end, buffer_s, resource=resource, tz_name=tz, not_before=not_before)
        if (
            resource["open_from"]
            and from_iso(f"2000-01-01T{resource['open_until']}") - from_iso(f"2000-01-01T{resource['open_from']}")
            < end - start
        ):
            assert slot is None  # longer than a day's opening
            continue
        distance = abs(slot[0] - start) if slot else rv.SEARCH_HORIZON_DAYS * DAY
        if slot is not None:
            assert slot[1] - slot[0] == end - start
            assert slot[0] >= not_before
            assert distance <= rv.SEARCH_HORIZON_DAYS * DAY
            assert fits_hours(resource, *slot, tz)
            assert clear_of(booked, *slot, buffer_s)
            assert first_conflict(booked, *slot, buffer_s) is None
            records.append(rec(f"bk-{i}", *slot, status))
        # every quarter-hour start closer than the answer (or as close and later) is not free: all the
        # inputs lie on quarter hours, so the best slot does too
        steps = int(distance // QUARTER)
        for k in range(-steps, steps + 1):
            probe = start + k * QUARTER
            if slot is not None and (abs(probe - start), -probe) >= (distance, -slot[0]):
                continue
            usable = (
                probe >= not_before
                and fits_hours(resource, probe, probe + end - start, tz)
                and clear_of(booked, probe, probe + end - start, buffer_s)
            )
            assert not usable, (to_iso(probe), slot and to_iso(slot[0]))
    active = sorted(booked_from(records), key=lambda b: (b.start, b.end))
    assert all(r["status"] in ACTIVE for r in (b.record for b in active))
    for earlier, later in itertools.combinations(active, 2):
        assert later.start >= earlier.end + buffer_s, (earlier, later)
