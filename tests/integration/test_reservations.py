"""Resources, reservations and device status through the real server (SQLite and PostgreSQL): the
overlap rule under concurrency, series, approval, check-in, no-show release and reminders on a clock the
test moves, device status with its history, iCal, and who may do what."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import icalendar
import pytest

from focusdesk.domain.timeutil import from_iso, to_iso
from tests.integration.conftest import _server_on
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, add_user, make_event, wait_until

PW = "booking-password-1"


class MovableClock:
    """The server's clock for its own booking work: real time plus an offset the test moves."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clocked_server(backend, request, tmp_path):
    clock = MovableClock()
    srv = _server_on(request, tmp_path, clock=clock).start()
    srv.clock = clock
    yield srv
    srv.stop()


@pytest.fixture
def venue(clocked_server):
    api = Api(clocked_server.url)
    api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    event = make_event(api, timezone="Europe/Berlin")
    for role in ("organizer", "staff", "technician"):
        add_user(api, f"{role}@book.example", role, event["id"], PW)
    yield clocked_server, api, event
    api.close()


def signed_in(server, role: str, desk: str | None = None) -> Api:
    api = Api(server.url)
    api.login(f"{role}@book.example", PW, desk=desk)
    return api


def iso_in(minutes: float) -> str:
    """An instant ``minutes`` from now, rounded to the minute, as ISO UTC."""
    at = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=minutes)
    return at.isoformat().replace("+00:00", "Z")


def add_resource(api: Api, event_id: int, **fields) -> dict:
    r = api.post(f"/api/v1/events/{event_id}/resources", json={"kind": "room", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def book(api: Api, event_id: int, resource_id: str, start: str, end: str, **extra) -> httpx.Response:
    body = {
        "resource_id": resource_id,
        "holder_name": extra.pop("holder_name", "Ana Silva"),
        "start": start,
        "end": end,
    }
    return api.post(f"/api/v1/events/{event_id}/reservations", json={**body, **extra})


def one_clock_pass(server) -> None:
    """Wake the server's reservation clock and wait for a pass that began after the wake (one already
    running when the test moved the clock may have read the old time)."""
    clock = server.state.reservation_clock
    begun = clock.begun
    clock.wake()
    wait_until(lambda: clock.passes > begun, what="a pass of the reservation clock")


def reservation(api: Api, event_id: int, reservation_id: str) -> dict:
    r = api.get(f"/api/v1/events/{event_id}/reservations")
    assert r.status_code == 200, r.text
    return next(x for x in r.json() if x["id"] == reservation_id)


def test_an_overlap_is_refused_naming_the_booking_and_the_nearest_free_slot(venue):
    _server, api, event = venue
    studio = add_resource(api, event["id"], name="Studio A", buffer_min=15)
    first = book(api, event["id"], studio["id"], iso_in(120), iso_in(180))
    assert first.status_code == 201, first.text
    made = first.json()["reservations"][0]
    assert made["status"] == "approved" and made["holder_name"] == "Ana Silva"

    clash = book(api, event["id"], studio["id"], iso_in(150), iso_in(210), holder_name="Bo Chen")
    assert clash.status_code == 409, clash.text
    body = clash.json()
    assert body["code"] == "reservation_conflict"
    assert body["conflict"]["id"] == made["id"]
    assert "Studio A is booked" in body["message"] and "Ana Silva" in body["message"]
    assert "nearest free slot" in body["message"]
    # The nearest free hour keeps the 15 min buffer after Ana's booking ends.
    assert body["nearest_free"] == {"start": to_iso(from_iso(iso_in(195))), "end": to_iso(from_iso(iso_in(255)))}

    # Inside the buffer: refused; right after it: fine.
    assert book(api, event["id"], studio["id"], iso_in(190), iso_in(250)).status_code == 409
    after = book(api, event["id"], studio["id"], iso_in(195), iso_in(255), holder_name="Bo Chen")
    assert after.status_code == 201, after.text

    # Without a buffer, a booking may start the minute the previous one ends.
    desk = add_resource(api, event["id"], name="Hot desk")
    assert book(api, event["id"], desk["id"], iso_in(60), iso_in(120)).status_code == 201
    assert book(api, event["id"], desk["id"], iso_in(120), iso_in(180)).status_code == 201
    assert book(api, event["id"], desk["id"], iso_in(179), iso_in(240)).status_code == 409


def test_fifty_clients_racing_for_one_slot_leave_exactly_one_booking(venue):
    server, api, event = venue
    console = add_resource(api, event["id"], kind="device", name="Console 1")
    token = api.token

    async def race():
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            client.headers["Authorization"] = f"Bearer {token}"
            body = {"resource_id": console["id"], "start": iso_in(60), "end": iso_in(90)}
            return await asyncio.gather(
                *(
                    client.post(f"/api/v1/events/{event['id']}/reservations", json={**body, "holder_name": f"P{i}"})
                    for i in range(50)
                )
            )

    answers = asyncio.run(race())
    won = [a for a in answers if a.status_code == 201]
    lost = [a for a in answers if a.status_code != 201]
    assert len(won) == 1
    winner = won[0].json()["reservations"][0]
    assert len(lost) == 49
    for answer in lost:
        assert answer.status_code == 409 and answer.json()["code"] == "reservation_conflict"
        assert answer.json()["conflict"]["id"] == winner["id"]
        assert winner["holder_name"] in answer.json()["message"]
    held = [
        r
        for r in api.get(f"/api/v1/events/{event['id']}/reservations", params={"resource_id": console["id"]}).json()
        if r["status"] in ("pending", "approved")
    ]
    assert [r["id"] for r in held] == [winner["id"]]


def test_a_weekly_series_skips_taken_dates_only_when_asked(venue):
    _server, api, event = venue
    room = add_resource(api, event["id"], name="Board room")
    taken = book(api, event["id"], room["id"], iso_in(7 * 24 * 60 + 60), iso_in(7 * 24 * 60 + 120), holder_name="X")
    assert taken.status_code == 201
    series = {"repeat": {"freq": "weekly", "count": 4}}

    refused = book(api, event["id"], room["id"], iso_in(60), iso_in(120), **series)
    assert refused.status_code == 409 and refused.json()["conflict"]["holder_name"] == "X"
    assert len(api.get(f"/api/v1/events/{event['id']}/reservations").json()) == 1  # all or nothing

    made = book(api, event["id"], room["id"], iso_in(60), iso_in(120), skip_conflicts=True, **series)
    assert made.status_code == 201, made.text
    body = made.json()
    assert len(body["reservations"]) == 3 and len(body["skipped"]) == 1
    assert body["skipped"][0]["conflict"]["id"] == taken.json()["reservations"][0]["id"]
    series_ids = {r["series_id"] for r in body["reservations"]}
    assert len(series_ids) == 1 and None not in series_ids
    # Each occurrence keeps the first one's local wall time.
    starts = sorted(from_iso(r["start"]) for r in body["reservations"])
    local = {datetime.fromtimestamp(s, UTC).astimezone().strftime("%H:%M") for s in starts}
    assert len(local) <= 2  # a DST change in between may shift UTC by an hour, never the venue's 10:00


def test_local_times_are_the_venues_wall_clock_and_bad_times_are_named(venue):
    _server, api, event = venue
    room = add_resource(api, event["id"], name="Wall clock room")
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    r = book(api, event["id"], room["id"], f"{day}T10:00", f"{day}T11:00")
    assert r.status_code == 201, r.text
    start = datetime.fromisoformat(r.json()["reservations"][0]["start"].replace("Z", "+00:00"))
    from zoneinfo import ZoneInfo

    assert start.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") == "10:00"

    bad = book(api, event["id"], room["id"], "tomorrow at ten", f"{day}T09:00")
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert "reservation.start" in fields or "args.reservation.start" in fields
    backwards = book(api, event["id"], room["id"], f"{day}T12:00", f"{day}T11:00")
    assert backwards.status_code == 422 and "later than start" in backwards.text
    past = book(api, event["id"], room["id"], iso_in(-120), iso_in(-60))
    assert past.status_code == 409 and past.json()["code"] == "in_the_past"


def test_bookable_hours_are_kept(venue):
    _server, api, event = venue
    room = add_resource(api, event["id"], name="Library", open_from="09:00", open_until="17:00")
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    late = book(api, event["id"], room["id"], f"{day}T16:30", f"{day}T17:30")
    assert late.status_code == 409 and late.json()["code"] == "outside_hours"
    assert "09:00 to 17:00" in late.json()["message"]
    assert book(api, event["id"], room["id"], f"{day}T16:00", f"{day}T17:00").status_code == 201


def test_approval_check_in_and_device_status_follow_the_booking(venue):
    server, api, event = venue
    vr = add_resource(api, event["id"], kind="device", name="VR rig", needs_approval=True)
    assert vr["device_status"] == "available"
    staff = signed_in(server, "staff")
    organizer = signed_in(server, "organizer")
    made = book(staff, event["id"], vr["id"], iso_in(5), iso_in(65))
    assert made.status_code == 201, made.text
    booking = made.json()["reservations"][0]
    assert booking["status"] == "pending"
    path = f"/api/v1/events/{event['id']}/reservations/{booking['id']}"

    early = staff.post(f"{path}/checkin")
    assert early.status_code == 409 and early.json()["code"] == "not_approved"
    assert staff.post(f"{path}/approve").status_code == 403  # staff book, organizers approve
    approved = organizer.post(f"{path}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    again = organizer.post(f"{path}/approve")
    assert again.status_code == 409 and "approved" in again.json()["message"]

    checked = staff.post(f"{path}/checkin")
    assert checked.status_code == 200 and checked.json()["status"] == "checked_in"
    devices = {r["id"]: r for r in api.get(f"/api/v1/events/{event['id']}/resources").json()}
    assert devices[vr["id"]]["device_status"] == "in_use"

    done = staff.post(f"{path}/complete")
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert from_iso(done.json()["end"]) < from_iso(booking["end"])  # finished early: the rest is free
    devices = {r["id"]: r for r in api.get(f"/api/v1/events/{event['id']}/resources").json()}
    assert devices[vr["id"]]["device_status"] == "available"

    technician = signed_in(server, "technician")
    broken = technician.post(
        f"/api/v1/events/{event['id']}/resources/{vr['id']}/status", json={"status": "maintenance", "note": "lens"}
    )
    assert broken.status_code == 200 and broken.json()["device_status"] == "maintenance"
    assert book(technician, event["id"], vr["id"], iso_in(120), iso_in(150)).status_code == 403
    reported = technician.post(
        f"/api/v1/events/{event['id']}/resources/{vr['id']}/status", json={"status": "online", "source": "device"}
    )
    assert reported.status_code == 200
    history = staff.get(f"/api/v1/events/{event['id']}/resources/{vr['id']}/status-history").json()
    assert [(h["status"], h["source"]) for h in history] == [
        ("online", "device"),
        ("maintenance", "staff"),
        ("available", "booking"),
        ("in_use", "booking"),
        ("available", "staff"),
    ]
    assert history[1]["note"] == "lens" and history[1]["by"] == "technician@book.example"
    room = add_resource(api, event["id"], name="Not a device")
    refused = staff.post(f"/api/v1/events/{event['id']}/resources/{room['id']}/status", json={"status": "offline"})
    assert refused.status_code == 409 and refused.json()["code"] == "not_a_device"
    for client in (staff, organizer, technician):
        client.close()


def test_the_server_releases_no_shows_and_expires_undecided_requests_on_its_own(venue):
    server, api, event = venue
    room = add_resource(api, event["id"], name="Pod 1", release_after_min=10)
    gated = add_resource(api, event["id"], name="Pod 2", needs_approval=True)
    came = book(api, event["id"], room["id"], iso_in(2), iso_in(32), holder_name="Came").json()["reservations"][0]
    absent = book(api, event["id"], room["id"], iso_in(40), iso_in(60), holder_name="Absent").json()["reservations"][0]
    undecided = book(api, event["id"], gated["id"], iso_in(2), iso_in(30)).json()["reservations"][0]
    assert api.post(f"/api/v1/events/{event['id']}/reservations/{came['id']}/checkin").status_code == 200

    # 35 minutes later: "Came" is finished, the undecided request is void; "Absent" still has time.
    server.clock.advance(35 * 60)
    one_clock_pass(server)
    assert reservation(api, event["id"], came["id"])["status"] == "completed"
    gone = reservation(api, event["id"], undecided["id"])
    assert gone["status"] == "rejected" and gone["reason"] == "nobody approved it in time"
    assert reservation(api, event["id"], absent["id"])["status"] == "approved"

    # 51 minutes after now: Absent's start + 10 min has passed with no check-in.
    before = api.get("/api/v1/sync", params={"scope": f"event:{event['id']}"}).json()
    server.clock.advance(16 * 60)
    one_clock_pass(server)
    released = reservation(api, event["id"], absent["id"])
    assert released["status"] == "no_show" and released["reason"].startswith("not checked in by ")
    # The slot is free again: someone else can have it.
    late = book(api, event["id"], room["id"], iso_in(45), iso_in(60), holder_name="Next")
    assert late.status_code == 201, late.text
    # The release is a change in the log, so every desk hears of it.
    delta = api.get(
        "/api/v1/sync", params={"scope": f"event:{event['id']}", "epoch": before["epoch"], "since": before["seq"]}
    ).json()
    assert delta["mode"] == "delta"
    released_changes = [
        c["data"]["reservation"]["status"]
        for c in delta["changes"]
        if c["kind"] == "reservation.updated" and c["data"]["reservation"]["id"] == absent["id"]
    ]
    assert released_changes == ["no_show"]


def test_a_new_booking_wakes_the_servers_clock_so_its_release_is_not_late(venue):
    server, api, event = venue
    room = add_resource(api, event["id"], name="Pod 9", release_after_min=5)
    # The clock has looked and found nothing due; it now sleeps up to 30 s. In its time it is 40 minutes
    # later, so a booking starting in two minutes of real time is already past its release.
    server.clock.advance(40 * 60)
    one_clock_pass(server)
    made = book(api, event["id"], room["id"], iso_in(2), iso_in(30)).json()["reservations"][0]
    # No wake() from the test: hearing the booking's change is what makes the clock look again.
    wait_until(
        lambda: reservation(api, event["id"], made["id"])["status"] == "no_show",
        timeout=10,
        what="the booking released well before the clock's 30 s nap ends",
    )


def test_a_reminder_reaches_only_the_desk_that_made_the_booking(venue):
    server, api, event = venue
    room = add_resource(api, event["id"], name="Meeting room 3")
    desk = signed_in(server, "staff", desk="Front desk")
    other = signed_in(server, "staff", desk="Side desk")
    args = {
        "event_id": event["id"],
        "reservation": {
            "id": uuid.uuid4().hex,
            "resource_id": room["id"],
            "holder_name": "Zoë Ångström",
            "start": iso_in(30),
            "end": iso_in(60),
        },
    }
    answer = desk.send({"type": "reservation_create", "args": args}).json()["results"][0]
    assert answer["status"] == "applied", answer
    assert answer["reservation"]["station_id"] == desk.station_id

    server.clock.advance(21 * 60)  # nine minutes before the start
    one_clock_pass(server)
    mine = desk.get(f"/api/v1/events/{event['id']}/notices").json()
    reminders = [n for n in mine if n["author"] == "FocusDesk"]
    assert len(reminders) == 1
    assert "Meeting room 3" in reminders[0]["body"] and "Zoë Ångström" in reminders[0]["body"]
    assert "in 9 min" in reminders[0]["body"]
    assert [n for n in other.get(f"/api/v1/events/{event['id']}/notices").json() if n["author"] == "FocusDesk"] == []

    # Sent once: another pass adds nothing.
    one_clock_pass(server)
    assert len([n for n in desk.get(f"/api/v1/events/{event['id']}/notices").json() if n["author"] == "FocusDesk"]) == 1
    desk.close()
    other.close()


def test_desk_commands_book_exactly_once_and_a_refusal_carries_the_conflict(venue):
    server, api, event = venue
    room = add_resource(api, event["id"], name="Stage B")
    desk = signed_in(server, "staff", desk="Desk 1")
    base = {"resource_id": room["id"], "holder_name": "Desk booking", "start": iso_in(60), "end": iso_in(120)}
    first = {
        "type": "reservation_create",
        "args": {"event_id": event["id"], "reservation": {"id": uuid.uuid4().hex, **base}},
    }
    second = {
        "type": "reservation_create",
        "args": {"event_id": event["id"], "reservation": {"id": uuid.uuid4().hex, **base}},
    }
    r = desk.send(first, second)
    results = r.json()["results"]
    assert results[0]["status"] == "applied"
    assert results[1]["status"] == "rejected" and results[1]["code"] == "reservation_conflict"
    assert results[1]["conflict"]["id"] == results[0]["reservation"]["id"]
    assert results[1]["nearest_free"]["start"] == results[0]["reservation"]["end"]

    # The same commands again (a resend after a lost answer): the stored answers, no second booking.
    desk.next_seq -= 2
    again = desk.send(first, second).json()["results"]
    assert again == results
    held = [r for r in api.get(f"/api/v1/events/{event['id']}/reservations").json() if r["status"] == "approved"]
    assert len(held) == 1
    desk.close()


def test_resources_are_managed_by_organizers_and_kept_while_booked(venue):
    server, _api, event = venue
    organizer = signed_in(server, "organizer")
    staff = signed_in(server, "staff")
    e = event["id"]
    assert staff.post(f"/api/v1/events/{e}/resources", json={"kind": "room", "name": "Nope"}).status_code == 403
    made = organizer.post(f"/api/v1/events/{e}/resources", json={"kind": "device", "name": "Camera 1", "buffer_min": 5})
    assert made.status_code == 201
    cam = made.json()
    dup = organizer.post(f"/api/v1/events/{e}/resources", json={"kind": "room", "name": "camera 1"})
    assert dup.status_code == 409 and dup.json()["code"] == "duplicate_resource"
    bad = organizer.post(f"/api/v1/events/{e}/resources", json={"kind": "room", "name": "X", "open_from": "9am"})
    assert bad.status_code == 422
    renamed = organizer.patch(f"/api/v1/events/{e}/resources/{cam['id']}", json={"name": "Camera A"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Camera A" and renamed.json()["rev"] == 2
    assert book(staff, e, cam["id"], iso_in(60), iso_in(90)).status_code == 201
    kept = organizer.delete(f"/api/v1/events/{e}/resources/{cam['id']}")
    assert kept.status_code == 409 and kept.json()["code"] == "has_bookings"
    assert "1 upcoming booking" in kept.json()["message"]
    organizer.close()
    staff.close()


def test_bookings_export_as_icalendar(venue):
    _server, api, event = venue
    room = add_resource(api, event["id"], name="Studio Ä")
    for minutes, holder in ((60, "Ana Silva"), (180, "Bo Chen"), (300, "Ana Silva")):
        assert (
            book(api, event["id"], room["id"], iso_in(minutes), iso_in(minutes + 60), holder_name=holder).status_code
            == 201
        )
    r = api.get(f"/api/v1/events/{event['id']}/resources/{room['id']}/bookings.ics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(r.content)
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 3
    assert {str(e["SUMMARY"]) for e in events} == {"Studio Ä — Ana Silva", "Studio Ä — Bo Chen"}
    mine = api.get(f"/api/v1/events/{event['id']}/reservations.ics", params={"holder": "ana silva"})
    assert mine.status_code == 200
    assert len(list(icalendar.Calendar.from_ical(mine.content).walk("VEVENT"))) == 2
