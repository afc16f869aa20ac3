"""Reservations on real desks against the real server: an offline booking stays tentative until the server
decides, the loser is told whose booking won, and bookings and device status reach other desks live."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from focusdesk.domain.errors import DomainError
from focusdesk.station.api import Transient
from tests.integration.test_station import wait_for
from tests.station_support import sign_in_desk
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, add_user, make_event

PW = "booking-password-1"
TZ = "Europe/Berlin"  # make_event's zone


@pytest.fixture
def venue(server):
    api = Api(server.url)
    api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    event = make_event(api)
    for who in ("door-a", "door-b"):
        add_user(api, f"{who}@bookings.example", "staff", event["id"], PW)
    base = f"/api/v1/events/{event['id']}/resources"
    studio = api.post(base, json={"kind": "room", "name": "Studio A", "buffer_min": 10})
    camera = api.post(base, json={"kind": "device", "name": "Camera 1"})
    assert studio.status_code == 201 and camera.status_code == 201, (studio.text, camera.text)
    yield server, api, event, studio.json(), camera.json()
    api.close()


async def desk_as(server, tmp_path, event, who: str, name: str, **kw):
    return await sign_in_desk(
        server.url, tmp_path, event["id"], name, email=f"{who}@bookings.example", password=PW, **kw
    )


def in_two_days(hhmm: str) -> float:
    """A wall time of the venue two days from now: always in the future, whatever the test clock says."""
    day = datetime.now(ZoneInfo(TZ)).date() + timedelta(days=2)
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=ZoneInfo(TZ)).timestamp()


def server_bookings(api: Api, event_id: int) -> dict[str, dict]:
    r = api.get(f"/api/v1/events/{event_id}/reservations")
    assert r.status_code == 200, r.text
    return {b["id"]: b for b in r.json()}


def test_an_offline_booking_is_tentative_until_the_server_accepts_or_refuses_it(venue, tmp_path):
    server, api, event, studio, _camera = venue

    async def go():
        a = await desk_as(server, tmp_path, event, "door-a", "Door A")
        b = await desk_as(server, tmp_path, event, "door-b", "Door B")
        await a.sync.sync_once()
        await b.sync.sync_once()
        assert [r.name for r in a.station.reservations.resources()] == ["Camera 1", "Studio A"]

        a.net.down = True  # A books offline; meanwhile B, online, takes an overlapping slot
        [lost] = a.station.reservations.create(studio["id"], "Ana Silva", in_two_days("10:00"), in_two_days("11:00"))
        [kept] = a.station.reservations.create(studio["id"], "Carl Berg", in_two_days("14:00"), in_two_days("15:00"))
        assert (lost.status, lost.tentative, kept.status) == ("tentative", True, "tentative")
        with pytest.raises(Transient):
            await a.sync.send_pending()
        [winner] = b.station.reservations.create(studio["id"], "Ben Okafor", in_two_days("10:30"), in_two_days("11:30"))
        await b.sync.sync_once()
        assert b.station.reservations.get(winner.id).status == "approved"

        a.net.down = False
        await a.sync.sync_once()
        # Server order: B's booking came first, so A's clashing one is refused and A is told by whom.
        assert a.station.reservations.get(lost.id) is None
        confirmed = a.station.reservations.get(kept.id)
        assert (confirmed.status, confirmed.tentative, confirmed.pending) == ("approved", False, False)
        assert confirmed.created_by == "Door A" and confirmed.station_id == a.station_id
        assert a.station.reservations.get(winner.id).holder_name == "Ben Okafor"
        [item] = a.station.attention()
        assert item.code == "reservation_conflict"
        assert item.message.startswith("Booking “Ana Silva — Studio A, ")
        assert "was refused by the server: Studio A is booked" in item.message
        assert "by Ben Okafor (with 10 min between bookings); nearest free slot" in item.message

        truth = server_bookings(api, event["id"])
        assert set(truth) == {winner.id, kept.id}
        # Now the desk knows: the same clash is refused at once, with the server's words, and nothing is queued.
        with pytest.raises(DomainError, match="by Ben Okafor") as again:
            a.station.reservations.create(studio["id"], "Ana Silva", in_two_days("10:00"), in_two_days("11:00"))
        assert again.value.code == "reservation_conflict" and a.station.status().queued == 0
        await a.close()
        await b.close()

    asyncio.run(go())


def test_a_booking_and_a_device_status_reach_the_other_desk_over_the_live_channel(venue, tmp_path):
    server, _api, event, studio, camera = venue

    async def go():
        a = await desk_as(server, tmp_path, event, "door-a", "Door A", live=True)
        b = await desk_as(server, tmp_path, event, "door-b", "Door B", live=True)
        for desk in (a, b):
            desk.sync.start()
        await wait_for(lambda: b.station.reservations.resource(studio["id"]) is not None, "B's first snapshot")
        await wait_for(lambda: a.station.reservations.resource(camera["id"]) is not None, "A's first snapshot")

        [made] = a.station.reservations.create(
            studio["id"], "Dana Fox", in_two_days("09:00"), in_two_days("10:00"), note="mic check"
        )
        await wait_for(lambda: b.station.reservations.get(made.id) is not None, "A's booking to reach B")
        seen = b.station.reservations.get(made.id)
        assert (seen.status, seen.tentative, seen.note, seen.holder_name) == (
            "approved",
            False,
            "mic check",
            "Dana Fox",
        )
        day = datetime.fromtimestamp(made.start, ZoneInfo(TZ)).date()
        assert [r.id for r in b.station.reservations.day(day)] == [made.id]
        assert f"UID:{made.id}@focusdesk" in b.station.reservations.ical_for_resource(studio["id"])

        b.station.reservations.cancel(made.id, reason="speaker cancelled")
        await wait_for(lambda: a.station.reservations.get(made.id).status == "cancelled", "B's cancel to reach A")
        assert a.station.reservations.get(made.id).reason == "speaker cancelled"

        a.station.reservations.set_device_status(camera["id"], "maintenance", note="lens cracked")
        await wait_for(
            lambda: b.station.reservations.resource(camera["id"]).device_status == "maintenance",
            "the device status to reach B",
        )
        await wait_for(lambda: a.station.status().queued == 0, "A's commands to be answered")
        history = await b.station.reservations.status_history(camera["id"])
        assert [(h.status, h.note, h.by) for h in history[:2]] == [
            ("maintenance", "lens cracked", "Door A"),
            ("available", "added", history[1].by),
        ]
        await a.close()
        await b.close()

    asyncio.run(go())


def test_the_status_history_refuses_clearly_while_the_server_is_unreachable(venue, tmp_path):
    server, _api, event, _studio, camera = venue

    async def go():
        desk = await desk_as(server, tmp_path, event, "door-a", "Door A")
        await desk.sync.sync_once()
        desk.net.down = True
        with pytest.raises(DomainError, match="needs the server") as offline:
            await desk.station.reservations.status_history(camera["id"])
        assert offline.value.code == "offline"
        await desk.close()

    asyncio.run(go())
