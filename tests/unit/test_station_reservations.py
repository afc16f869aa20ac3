"""Reservations on one desk without a server: the replica, tentative bookings, local refusals, folding of
queued changes, roles, answers, and the iCalendar files — a real station file, fed as the sync loop would."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from focusdesk.domain.errors import DomainError, ValidationFailed
from focusdesk.domain.ical import bookings_calendar
from focusdesk.domain.timeutil import to_iso
from focusdesk.station import db as station_db
from focusdesk.station.api import Transient
from focusdesk.station.clock import Clock
from focusdesk.station.db import SCHEMA_VERSION, StationDB
from focusdesk.station.engine import Station

TZ = "Europe/Berlin"  # UTC+1 in November: a local day is not a UTC day
DAY = date(2026, 11, 24)


def at(hhmm: str, day: int = 24) -> float:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo(TZ)).timestamp()


NOW = at("08:00")


class Wall:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


def resource(rid: str, name: str, *, kind: str = "room", rev: int = 1, **fields) -> dict:
    return {
        "id": rid,
        "event_id": 1,
        "kind": kind,
        "name": name,
        "capacity": None,
        "buffer_min": 0,
        "open_from": None,
        "open_until": None,
        "needs_approval": False,
        "release_after_min": 15,
        "device_status": "available" if kind == "device" else None,
        "status_note": "",
        "status_by": None,
        "status_at": None,
        "rev": rev,
        "updated_at": to_iso(NOW - 3600),
        **fields,
    }


def booking(rid: str, resource_id: str, holder: str, start: str, end: str, *, status: str = "approved", rev: int = 1,
            created: float = NOW - 7200, day: int = 24, **fields) -> dict:  # fmt: skip
    return {
        "id": rid,
        "event_id": 1,
        "resource_id": resource_id,
        "holder_name": holder,
        "attendee_id": None,
        "start": to_iso(at(start, day)),
        "end": to_iso(at(end, day)),
        "status": status,
        "series_id": None,
        "note": "",
        "created_by": "Front desk",
        "station_id": "desk-other",
        "created_at": to_iso(created),
        "checked_in_at": None,
        "decided_by": None,
        "reason": "",
        "rev": rev,
        "updated_at": to_iso(created),
        **fields,
    }


def venue_state() -> dict:
    return {
        "event": {"id": 1, "name": "Summit", "timezone": TZ, "status": "live"},
        "resources": [
            resource("studio-a", "Studio A", buffer_min=10, open_from="08:00", open_until="20:00"),
            resource("board-room", "Board Room", needs_approval=True),
            resource("camera-1", "Camera 1", kind="device"),
        ],
        "reservations": [
            booking("r-ben", "studio-a", "Ben Okafor", "10:00", "11:00", note="podcast"),
            booking("r-cara", "board-room", "Cara Lind", "09:00", "10:00", status="pending", created=NOW - 600),
            booking("r-dan", "board-room", "Dan Weiss", "12:00", "13:00", status="pending", created=NOW - 5000),
            booking("r-gone", "studio-a", "Old Booking", "14:00", "15:00", status="cancelled"),
        ],
    }


@pytest.fixture
def open_desk(tmp_path):
    made: list[Station] = []

    def open_as(role: str = "organizer", *, now: float = NOW) -> Station:
        station = Station.open(
            station_id=f"desk-{role}",
            station_name=f"{role.title()} desk",
            event_id=1,
            path=tmp_path / f"{role}.db",
            clock=Clock(wall=Wall(now)),
        )
        station.set_account({"id": 7, "email": f"{role}@example.org", "grants": [{"role": role, "event_id": 1}]})
        station.apply_snapshot("epoch-1", 10, venue_state())
        made.append(station)
        return station

    yield open_as
    for station in made:
        station.close()


def queued(station: Station) -> list[tuple[str, dict]]:
    rows = station.db.conn.execute("SELECT type, args FROM outbox WHERE state = 'queued' ORDER BY cmd_seq")
    return [(kind, json.loads(args)) for kind, args in rows]


def last_cmd_seq(station: Station) -> int:
    return station.db.conn.execute("SELECT max(cmd_seq) FROM outbox").fetchone()[0]


# -- the station file ---------------------------------------------------------------------------------


def test_a_schema_2_station_file_upgrades_in_place_keeping_its_queue(tmp_path, monkeypatch):
    path = tmp_path / "s.db"
    with monkeypatch.context() as rooms_release:
        rooms_release.setattr(station_db, "MIGRATIONS", station_db.MIGRATIONS[:2])
        rooms_release.setattr(station_db, "SCHEMA_VERSION", 2)
        old = StationDB(path)
        assert old.conn.execute("PRAGMA user_version").fetchone()[0] == 2
        old.conn.execute(
            "INSERT INTO outbox (cmd_seq, type, args, device_time, created_at) VALUES (4, 'timer', '{}', 0, 0)"
        )
        old.conn.execute("INSERT INTO rooms VALUES ('hall', 1, 3, '{}')")
        old.close()
    db = StationDB(path)
    assert SCHEMA_VERSION == 3
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == 3
    assert [tuple(r) for r in db.conn.execute("SELECT cmd_seq, type, state FROM outbox")] == [(4, "timer", "queued")]
    assert [tuple(r) for r in db.conn.execute("SELECT id, rev FROM rooms")] == [("hall", 3)]
    db.conn.execute("INSERT INTO resources VALUES ('studio', 1, 1, '{}')")
    db.conn.execute("INSERT INTO reservations VALUES ('b1', 1, 'studio', 10.0, 20.0, 1, '{}')")
    plan = db.conn.execute("EXPLAIN QUERY PLAN SELECT id FROM reservations WHERE resource_id = 'studio' AND start < 15")
    assert any("reservations_resource_start" in row[3] for row in plan)
    db.close()


# -- the replica --------------------------------------------------------------------------------------


def test_the_snapshot_fills_resources_and_bookings(open_desk):
    desk = open_desk("staff")
    assert [r.name for r in desk.reservations.resources()] == ["Board Room", "Camera 1", "Studio A"]
    assert [r.id for r in desk.reservations.devices()] == ["camera-1"]
    studio = desk.reservations.resource("studio-a")
    assert (studio.buffer_min, studio.open_from, studio.open_until, studio.pending) == (10, "08:00", "20:00", False)
    today = desk.reservations.day(DAY)
    assert [(r.id, r.status, r.resource_name) for r in today] == [
        ("r-cara", "pending", "Board Room"),
        ("r-ben", "approved", "Studio A"),
        ("r-dan", "pending", "Board Room"),
        ("r-gone", "cancelled", "Studio A"),
    ]
    assert today[1].start == at("10:00") and today[1].note == "podcast" and not today[1].tentative


def test_a_booking_is_on_the_local_day_it_happens_not_the_utc_one(open_desk):
    desk = open_desk()
    late = booking("r-late", "board-room", "Night Owl", "00:30", "01:30", day=25)  # 23:30 UTC on the 24th
    desk.apply_changes([(11, "reservation.updated", {"reservation": late})])
    assert "r-late" not in [r.id for r in desk.reservations.day(DAY)]
    assert [r.id for r in desk.reservations.day(date(2026, 11, 25))] == ["r-late"]


def test_the_newer_version_of_a_booking_wins_whatever_order_they_arrive_in(open_desk):
    desk = open_desk()
    seen = []
    desk.listeners.append(lambda update: seen.append(update.touched.reservations))
    newer = booking("r-ben", "studio-a", "Ben Okafor", "10:00", "11:00", status="checked_in", rev=3)
    older = booking("r-ben", "studio-a", "Ben Okafor", "10:00", "11:00", status="cancelled", rev=2)
    desk.apply_changes([(11, "reservation.updated", {"reservation": newer})])
    desk.apply_changes([(12, "reservation.updated", {"reservation": older})])
    assert desk.reservations.get("r-ben").status == "checked_in"
    assert seen == [True, True]
    desk.apply_changes([(13, "reservation.updated", {"reservation": {**newer, "status": "completed", "rev": 4}})])
    assert desk.reservations.get("r-ben").status == "completed"


def test_a_deleted_resource_leaves_a_tombstone_and_takes_its_bookings(open_desk):
    desk = open_desk()
    desk.apply_changes([(11, "resource.deleted", {"id": "studio-a", "event_id": 1, "rev": 5})])
    assert desk.reservations.resource("studio-a") is None
    assert [r.id for r in desk.reservations.list()] == ["r-cara", "r-dan"]
    # A late, older version (an answer overtaken by the deletion) does not bring it back …
    desk.apply_changes([(12, "resource.updated", {"resource": resource("studio-a", "Studio A", rev=4)})])
    assert desk.reservations.resource("studio-a") is None
    # … and a device's new status shows at once on every desk.
    camera = resource("camera-1", "Camera 1", kind="device", rev=2, device_status="maintenance", status_note="lens")
    desk.apply_changes([(13, "resource.updated", {"resource": camera})])
    assert (
        desk.reservations.resource("camera-1").device_status,
        desk.reservations.resource("camera-1").status_note,
    ) == (
        "maintenance",
        "lens",
    )


# -- booking on the desk --------------------------------------------------------------------------------


def test_a_booking_made_on_the_desk_is_tentative_until_the_server_answers(open_desk):
    desk = open_desk("staff")
    made = desk.reservations.create("studio-a", "  Ana   Silva ", at("12:00"), at("13:00"), note="interview")
    assert [(r.status, r.tentative, r.pending, r.holder_name) for r in made] == [("tentative", True, True, "Ana Silva")]
    assert made[0] in desk.reservations.day(DAY) and desk.reservations.list("tentative") == made
    [(kind, args)] = queued(desk)
    wanted = args["reservation"]
    assert kind == "reservation_create" and args["event_id"] == 1
    assert len(wanted["id"]) == 32 and int(wanted["id"], 16) >= 0
    assert (wanted["start"], wanted["end"]) == ("2026-11-24T11:00:00.000Z", "2026-11-24T12:00:00.000Z")
    assert (wanted["resource_id"], wanted["holder_name"], wanted["note"]) == ("studio-a", "Ana Silva", "interview")

    # The server's answer replaces the guess with its record.
    record = booking(wanted["id"], "studio-a", "Ana Silva", "12:00", "13:00", note="interview", station_id="desk-staff")
    desk.record_answers([{"cmd_seq": last_cmd_seq(desk), "status": "applied", "reservations": [record]}])
    confirmed = desk.reservations.get(wanted["id"])
    assert (confirmed.status, confirmed.tentative, confirmed.pending) == ("approved", False, False)


def test_a_booking_given_as_wall_time_text_is_read_in_the_venues_zone(open_desk):
    desk = open_desk("staff")
    [made] = desk.reservations.create("studio-a", "Ana", "2026-11-24T16:00", "2026-11-24T17:00")
    assert (made.start, made.end) == (at("16:00"), at("17:00"))
    with pytest.raises(ValidationFailed) as bad:
        desk.reservations.create("studio-a", "", "tomorrow", at("17:00"))
    assert {p.field for p in bad.value.problems} == {"reservation.holder_name", "reservation.start"}


def test_a_clash_the_desk_can_see_is_refused_with_the_booking_and_the_nearest_free_slot(open_desk):
    desk = open_desk("staff")
    # Ben has Studio A 10:00–11:00 and the studio keeps 10 minutes between bookings.
    with pytest.raises(DomainError) as refused:
        desk.reservations.create("studio-a", "Ana Silva", at("10:30"), at("11:30"))
    error = refused.value
    assert error.code == "reservation_conflict"
    assert "Studio A is booked Tue 24 Nov 10:00–11:00 by Ben Okafor (with 10 min between bookings)" in error.message
    assert "nearest free slot Tue 24 Nov 11:10–12:10" in error.message
    assert error.details["conflict"]["id"] == "r-ben"
    assert error.details["nearest_free"] == {"start": to_iso(at("11:10")), "end": to_iso(at("12:10"))}
    assert queued(desk) == []  # nothing was queued

    conflict = desk.reservations.check("studio-a", at("09:00"), at("09:55"))  # ends inside Ben's buffer
    assert conflict is not None and conflict.code == "reservation_conflict"
    assert conflict.booking.id == "r-ben" and conflict.booking.holder_name == "Ben Okafor"
    assert conflict.nearest_free == (at("08:55"), at("09:50"))
    assert desk.reservations.check("studio-a", at("08:50"), at("09:50")) is None  # the buffer kept: fine


def test_bookings_may_touch_when_there_is_no_buffer(open_desk):
    desk = open_desk("organizer")
    assert desk.reservations.check("board-room", at("10:00"), at("12:00")) is None  # between Cara and Dan
    assert desk.reservations.check("board-room", at("10:00"), at("12:01")).booking.id == "r-dan"


def test_a_tentative_booking_holds_its_slot_on_this_desk(open_desk):
    desk = open_desk("staff")
    desk.reservations.create("studio-a", "Ana Silva", at("12:00"), at("13:00"))
    with pytest.raises(DomainError, match=r"booked Tue 24 Nov 12:00–13:00 by Ana Silva, tentative") as refused:
        desk.reservations.create("studio-a", "Eve", at("12:30"), at("13:30"))
    assert refused.value.details["nearest_free"] == {"start": to_iso(at("13:10")), "end": to_iso(at("14:10"))}


def test_hours_and_the_past_are_checked_on_the_desk(open_desk):
    desk = open_desk("staff")
    with pytest.raises(DomainError) as late:
        desk.reservations.create("studio-a", "Ana", at("19:30"), at("20:30"))
    assert (late.value.code, late.value.message) == (
        "outside_hours",
        "Tue 24 Nov 19:30–20:30: Studio A can be booked from 08:00 to 20:00 only",
    )
    # Where the server only says no, the desk's check offers the nearest slot inside the hours.
    conflict = desk.reservations.check("studio-a", at("19:30"), at("20:30"))
    assert (conflict.code, conflict.booking, conflict.nearest_free) == (
        "outside_hours",
        None,
        (at("19:00"), at("20:00")),
    )
    with pytest.raises(DomainError, match="Tue 24 Nov 07:54–09:00 has already begun") as past:
        desk.reservations.create("board-room", "Ana", NOW - 6 * 60, at("09:00"))
    assert past.value.code == "in_the_past"
    [walk_up] = desk.reservations.create("board-room", "Walk up", NOW - 4 * 60, NOW + 30 * 60)  # just started
    assert walk_up.status == "tentative"
    with pytest.raises(DomainError, match="no such resource"):
        desk.reservations.create("nowhere", "Ana", at("12:00"), at("13:00"))


def test_a_series_books_every_occurrence_or_skips_the_clashing_ones_when_asked(open_desk):
    desk = open_desk("staff")
    weekly = {"freq": "weekly", "count": 3}
    theirs = booking("r-dec1", "studio-a", "Eve", "12:00", "13:00", rev=1)
    theirs["start"], theirs["end"] = to_iso(at("12:00", 24) + 7 * 86400), to_iso(at("13:00", 24) + 7 * 86400)
    desk.apply_changes([(11, "reservation.updated", {"reservation": theirs})])
    with pytest.raises(DomainError, match=r"by Eve") as refused:
        desk.reservations.create("studio-a", "Ana", at("12:00"), at("13:00"), repeat=weekly)
    assert refused.value.code == "reservation_conflict"
    made = desk.reservations.create("studio-a", "Ana", at("12:00"), at("13:00"), repeat=weekly, skip_conflicts=True)
    base = made[0].id
    assert [r.id for r in made] == [base, f"{base}-3"]  # the second week clashes with Eve's booking
    assert {r.series_id for r in made} == {base} and all(r.tentative for r in made)
    assert made[1].start == at("12:00") + 14 * 86400
    [(_, args)] = queued(desk)
    assert args["reservation"]["repeat"] == weekly and args["reservation"]["skip_conflicts"] is True


def test_a_series_with_no_free_date_is_refused_even_when_skipping(open_desk):
    desk = open_desk("staff")
    daily = {"freq": "daily", "count": 2}
    with pytest.raises(DomainError) as refused:
        desk.reservations.create("studio-a", "Ana", at("19:30"), at("20:30"), repeat=daily, skip_conflicts=True)
    assert (refused.value.code, refused.value.message) == (
        "reservation_conflict",
        "none of the 2 dates is free: Studio A can be booked from 08:00 to 20:00 only on 2026-11-24 and the rest",
    )
    assert queued(desk) == []


# -- changes queued on top of the server's word -----------------------------------------------------------


def test_queued_changes_are_folded_over_the_servers_bookings(open_desk):
    desk = open_desk("organizer")
    assert [r.id for r in desk.reservations.inbox()] == ["r-dan", "r-cara"]  # oldest request first
    approved = desk.reservations.approve("r-cara")
    assert (approved.status, approved.pending) == ("approved", True)
    assert [r.id for r in desk.reservations.inbox()] == ["r-dan"]
    rejected = desk.reservations.reject("r-dan", reason="room needed for the keynote rehearsal")
    assert (rejected.status, rejected.reason) == ("rejected", "room needed for the keynote rehearsal")
    cancelled = desk.reservations.cancel("r-ben", reason="speaker ill")
    assert cancelled.status == "cancelled"
    assert desk.reservations.check("studio-a", at("10:00"), at("11:00")) is None  # Ben's slot is free again
    assert [kind for kind, _ in queued(desk)] == ["reservation_approve", "reservation_reject", "reservation_cancel"]
    assert queued(desk)[1][1] == {
        "event_id": 1,
        "reservation_id": "r-dan",
        "reason": "room needed for the keynote rehearsal",
    }


def test_a_queued_change_overtaken_by_another_desk_is_not_shown(open_desk):
    desk = open_desk("organizer")
    desk.reservations.approve("r-cara")
    # Another organizer rejected Cara's request first; the server will refuse this desk's approval.
    theirs = booking("r-cara", "board-room", "Cara Lind", "09:00", "10:00", status="rejected", rev=2, reason="no")
    desk.apply_changes([(11, "reservation.updated", {"reservation": theirs})])
    shown = desk.reservations.get("r-cara")
    assert (shown.status, shown.pending, shown.reason) == ("rejected", False, "no")
    with pytest.raises(DomainError, match="booking is rejected; it cannot be approved now") as again:
        desk.reservations.approve("r-cara")
    assert again.value.code == "wrong_state"


def test_check_in_opens_15_minutes_before_the_start_and_a_finish_frees_the_rest(open_desk):
    early = open_desk("staff")
    with pytest.raises(DomainError, match="check-in for Ben Okafor's booking opens at 09:45") as refused:
        early.reservations.check_in("r-ben")
    assert refused.value.code == "too_early"
    early.close()

    desk = open_desk("staff", now=at("09:50"))
    assert desk.reservations.check_in("r-ben").status == "checked_in"
    desk.clock = Clock(wall=Wall(at("10:20")))
    done = desk.reservations.complete("r-ben")
    assert (done.status, done.end) == ("completed", at("10:20"))
    assert desk.reservations.check("studio-a", at("10:30"), at("11:30")) is None


def test_a_desk_can_cancel_its_own_booking_before_the_server_has_heard_of_it(open_desk):
    desk = open_desk("staff")
    [made] = desk.reservations.create("board-room", "Ana", at("14:00"), at("15:00"))
    gone = desk.reservations.cancel(made.id)
    assert (gone.status, gone.tentative) == ("cancelled", True)
    assert desk.reservations.check("board-room", at("14:00"), at("15:00")) is None
    assert [kind for kind, _ in queued(desk)] == ["reservation_create", "reservation_cancel"]


# -- answers ------------------------------------------------------------------------------------------------


def test_a_refused_booking_disappears_and_the_desk_is_told_who_got_the_slot(open_desk):
    desk = open_desk("staff")
    [made] = desk.reservations.create("studio-a", "Zoe Park", at("12:00"), at("13:00"))
    winner = booking("r-eve", "studio-a", "Eve Adams", "12:00", "13:00", rev=1, station_id="desk-9")
    message = "Studio A is booked Tue 24 Nov 12:00–13:00 by Eve Adams; nearest free slot Tue 24 Nov 13:10–14:10"
    new = desk.record_answers(
        [
            {
                "cmd_seq": last_cmd_seq(desk),
                "status": "rejected",
                "code": "reservation_conflict",
                "message": message,
                "conflict": winner,
                "nearest_free": {"start": to_iso(at("13:10")), "end": to_iso(at("14:10"))},
            }
        ]
    )
    assert desk.reservations.get(made.id) is None
    assert desk.reservations.get("r-eve").holder_name == "Eve Adams"  # known at once, before the live change
    [item] = new
    assert item.code == "reservation_conflict"
    assert item.message == f"Booking “Zoe Park — Studio A, Tue 24 Nov 12:00–13:00” was refused by the server: {message}"


def test_an_answer_and_its_live_change_in_either_order_keep_the_newer_record(open_desk):
    desk = open_desk("organizer")
    desk.reservations.approve("r-cara")
    seq = last_cmd_seq(desk)
    live = booking("r-cara", "board-room", "Cara Lind", "09:00", "10:00", status="cancelled", rev=3)
    desk.apply_changes([(11, "reservation.updated", {"reservation": live})])
    answer = booking("r-cara", "board-room", "Cara Lind", "09:00", "10:00", status="approved", rev=2)
    desk.record_answers([{"cmd_seq": seq, "status": "applied", "reservation": answer}])
    assert desk.reservations.get("r-cara").status == "cancelled"


# -- roles --------------------------------------------------------------------------------------------------


ACTIONS = {
    "book": lambda r: r.create("board-room", "Ana", at("14:00"), at("15:00")),
    "cancel": lambda r: r.cancel("r-ben"),
    "approve": lambda r: r.approve("r-cara"),
    "reject": lambda r: r.reject("r-dan"),
    "add resource": lambda r: r.create_resource("device", "Projector 2"),
    "device status": lambda r: r.set_device_status("camera-1", "in_use"),
}
ALLOWED = {
    "admin": set(ACTIONS),
    "organizer": set(ACTIONS),
    "staff": {"book", "cancel", "device status"},
    "technician": {"device status"},
}


@pytest.mark.parametrize("role", sorted(ALLOWED))
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_role_may_do_what_the_contract_grants_and_no_more(open_desk, role, action):
    desk = open_desk(role)
    if action in ALLOWED[role]:
        ACTIONS[action](desk.reservations)
        assert len(queued(desk)) == 1
    else:
        with pytest.raises(DomainError, match="your account may not") as refused:
            ACTIONS[action](desk.reservations)
        assert refused.value.code == "forbidden" and queued(desk) == []


# -- resources and devices ------------------------------------------------------------------------------------


def test_resources_are_managed_on_the_desk_with_the_servers_rules(open_desk):
    desk = open_desk("organizer")
    projector = desk.reservations.create_resource("device", "Projector 2", buffer_min=5)
    assert (projector.kind, projector.pending, projector.buffer_min, projector.device_status) == (
        "device",
        True,
        5,
        "available",
    )
    with pytest.raises(DomainError, match="already a resource called Studio A"):
        desk.reservations.create_resource("room", " studio   a ")
    hours = desk.reservations.update_resource("board-room", open_from="09:00", open_until="17:00")
    assert (hours.open_from, hours.open_until, hours.pending) == ("09:00", "17:00", True)
    with pytest.raises(ValidationFailed) as backwards:
        desk.reservations.update_resource("board-room", open_from="18:00")  # after the queued open_until
    assert [(p.field, p.reason) for p in backwards.value.problems] == [
        ("args.fields.open_until", "must be later than open_from")
    ]
    with pytest.raises(DomainError, match="Studio A has 1 upcoming booking; cancel them first") as busy:
        desk.reservations.delete_resource("studio-a")
    assert busy.value.code == "has_bookings"
    desk.reservations.delete_resource("camera-1")
    assert desk.reservations.resource("camera-1") is None
    kinds = [kind for kind, _ in queued(desk)]
    assert kinds == ["resource_create", "resource_update", "resource_delete"]
    assert queued(desk)[0][1]["resource"]["id"] == projector.id


def test_device_status_shows_at_once_and_only_devices_have_one(open_desk):
    desk = open_desk("technician")
    camera = desk.reservations.set_device_status("camera-1", "maintenance", note="  lens   cracked ")
    assert (camera.device_status, camera.status_note, camera.pending) == ("maintenance", "lens cracked", True)
    assert camera.status_by == "Technician desk" and camera.status_at == NOW  # the server records the desk
    with pytest.raises(DomainError, match="Studio A is a room") as room:
        desk.reservations.set_device_status("studio-a", "offline")
    assert room.value.code == "not_a_device"
    with pytest.raises(ValidationFailed):
        desk.reservations.set_device_status("camera-1", "broken")


class FakeApi:
    def __init__(self, answer=None, error: Exception | None = None):
        self.answer, self.error, self.calls = answer, error, []

    async def call(self, method, path, body=None):
        self.calls.append((method, path))
        if self.error is not None:
            raise self.error
        return self.answer


def test_the_status_history_needs_the_server(open_desk):
    desk = open_desk("technician")
    with pytest.raises(DomainError, match="needs the server") as offline:
        asyncio.run(desk.reservations.status_history("camera-1"))
    assert offline.value.code == "offline"
    desk.api = FakeApi(error=Transient("cannot reach the server"))
    with pytest.raises(DomainError, match="cannot be reached right now") as down:
        asyncio.run(desk.reservations.status_history("camera-1"))
    assert down.value.code == "offline"
    history = [
        {"status": "available", "note": "", "source": "staff", "by": "tech@x", "at": to_iso(NOW - 600)},
        {"status": "in_use", "note": "Ana", "source": "booking", "by": "system", "at": to_iso(NOW - 60)},
    ]
    desk.api = FakeApi(history)
    entries = asyncio.run(desk.reservations.status_history("camera-1"))
    assert [(e.status, e.source, e.at) for e in entries] == [
        ("in_use", "booking", NOW - 60),
        ("available", "staff", NOW - 600),
    ]
    assert desk.api.calls == [("GET", "/events/1/resources/camera-1/status-history")]


# -- calendars ---------------------------------------------------------------------------------------------


def events_of(text: str) -> dict[str, dict]:
    calendar = Calendar.from_ical(text)
    return {
        str(e["UID"]): {
            "start": e.decoded("DTSTART"),
            "end": e.decoded("DTEND"),
            "summary": str(e["SUMMARY"]),
            "status": str(e["STATUS"]),
            "description": str(e.get("DESCRIPTION", "")),
        }
        for e in calendar.walk("VEVENT")
    }


def test_a_resources_calendar_has_its_active_and_tentative_bookings(open_desk):
    desk = open_desk("staff")
    [mine] = desk.reservations.create("studio-a", "Ana Silva", at("12:00"), at("13:00"), note="bring the mic")
    text = desk.reservations.ical_for_resource("studio-a")
    calendar = Calendar.from_ical(text)
    assert str(calendar["X-WR-CALNAME"]) == "Studio A" and str(calendar["VERSION"]) == "2.0"
    events = events_of(text)
    assert set(events) == {"r-ben@focusdesk", f"{mine.id}@focusdesk"}  # the cancelled booking is left out
    ben = events["r-ben@focusdesk"]
    assert ben["start"] == datetime(2026, 11, 24, 9, 0, tzinfo=UTC) and ben["start"].utcoffset().total_seconds() == 0
    assert ben["end"] == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert (ben["summary"], ben["status"], ben["description"]) == ("Studio A — Ben Okafor", "CONFIRMED", "podcast")
    ana = events[f"{mine.id}@focusdesk"]
    assert (ana["summary"], ana["status"], ana["description"]) == ("Studio A — Ana Silva", "TENTATIVE", "bring the mic")


def test_a_holders_calendar_spans_resources_and_marks_requests_tentative(open_desk):
    desk = open_desk("organizer")
    desk.reservations.approve("r-dan")  # queued: shown approved
    cara = booking("r-cara2", "studio-a", "Cara Lind", "16:00", "17:00", attendee_id="att-42")
    desk.apply_changes([(11, "reservation.updated", {"reservation": cara})])
    events = events_of(desk.reservations.ical_for_holder("cara  lind"))
    assert {uid: e["status"] for uid, e in events.items()} == {
        "r-cara@focusdesk": "TENTATIVE",
        "r-cara2@focusdesk": "CONFIRMED",
    }
    assert set(events_of(desk.reservations.ical_for_holder("att-42"))) == {"r-cara2@focusdesk"}
    assert events_of(desk.reservations.ical_for_holder("Dan Weiss"))["r-dan@focusdesk"]["status"] == "CONFIRMED"


def test_the_calendar_builder_is_pure_and_keeps_uids_stable():
    records = [booking("r-1", "studio-a", "Ana", "10:00", "11:00", rev=4), booking("r-2", "x", "B", "09:00", "10:00")]
    first = bookings_calendar("Studio A", records, {"studio-a": {"name": "Studio A"}})
    assert first == bookings_calendar("Studio A", records, {"studio-a": {"name": "Studio A"}})
    events = Calendar.from_ical(first).walk("VEVENT")
    assert [str(e["UID"]) for e in events] == ["r-2@focusdesk", "r-1@focusdesk"]  # by start
    assert str(events[0]["SUMMARY"]) == "x — B"  # an unknown resource is named by its id
    assert int(events[1]["SEQUENCE"]) == 4


def test_a_calendar_name_with_a_line_break_still_makes_a_valid_file():
    # Found by schemathesis: ``GET …/reservations.ics?holder=`` with a line break in the name was a 500.
    booking = {
        "id": "bk-newline-0001",
        "resource_id": "res-newline-01",
        "holder_name": "Ana",
        "start": "2026-11-24T09:00:00.000Z",
        "end": "2026-11-24T10:00:00.000Z",
        "status": "approved",
        "note": "bring the adapter\nand the cable",
        "rev": 2,
    }
    body = bookings_calendar("Bookings of Ana\nSilva\r\x00", [booking], {"res-newline-01": {"name": "Studio\nA"}})
    calendar = Calendar.from_ical(body)
    assert str(calendar["X-WR-CALNAME"]) == "Bookings of Ana Silva"
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Studio A — Ana"
    assert str(event["DESCRIPTION"]) == "bring the adapter\nand the cable"  # a text value keeps its lines


def test_a_larger_buffer_the_bookings_leave_no_room_for_is_refused_on_the_desk(open_desk):
    desk = open_desk("organizer")
    # Ben has Studio A 10:00–11:00; a booking at 11:20 fits a 10-minute buffer, not a 30-minute one.
    desk.reservations.create("studio-a", "Ana Silva", at("11:20"), at("12:00"))
    before = queued(desk)
    with pytest.raises(DomainError) as refused:
        desk.reservations.update_resource("studio-a", buffer_min=30)
    error = refused.value
    assert error.code == "reservation_conflict"
    assert "Ben Okafor" in error.message and "Ana Silva" in error.message and "too close" in error.message
    assert queued(desk) == before  # nothing more was queued
    assert desk.reservations.resource("studio-a").buffer_min == 10
    # 20 minutes still fits, and a smaller buffer always does.
    assert desk.reservations.update_resource("studio-a", buffer_min=20).buffer_min == 20
    assert desk.reservations.update_resource("studio-a", buffer_min=0).buffer_min == 0
