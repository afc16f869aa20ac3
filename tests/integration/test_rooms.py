"""Rooms and shared timers through the real server: commands, replicas, offline order, roles, REST."""

from __future__ import annotations

import asyncio

import pytest

from focusdesk.domain import timers
from focusdesk.domain.errors import DomainError
from focusdesk.station.api import Transient
from tests.station_support import sign_in_desk
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, add_user, make_event

PW = "room-password-1"


@pytest.fixture
def venue(server):
    api = Api(server.url)
    api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    event = make_event(api)
    for role in ("organizer", "staff", "technician"):
        add_user(api, f"{role}@rooms.example", role, event["id"], PW)
    yield server, api, event
    api.close()


async def desk_as(server, tmp_path, event, role: str, name: str, **kw):
    return await sign_in_desk(server.url, tmp_path, event["id"], name, email=f"{role}@rooms.example", password=PW, **kw)


def server_rooms(api: Api, event_id: int) -> dict[str, dict]:
    r = api.get(f"/api/v1/events/{event_id}/rooms")
    assert r.status_code == 200, r.text
    return {room["id"]: room for room in r.json()}


def test_a_timer_started_on_one_desk_runs_on_another(venue, tmp_path):
    server, api, event = venue

    async def go():
        organizer = await desk_as(server, tmp_path, event, "organizer", "Organizer laptop")
        staff = await desk_as(server, tmp_path, event, "staff", "Door B")
        hall = organizer.station.rooms.create("Hall A", capacity=2, work_s=600)
        assert hall.pending and hall.timer.status == timers.IDLE
        started = organizer.station.rooms.toggle(hall.id)
        assert started.timer.status == timers.RUNNING  # at once, before the server has heard of it
        await organizer.sync.sync_once()
        confirmed = organizer.station.rooms.get(hall.id)
        assert not confirmed.pending and confirmed.timer.status == timers.RUNNING

        await staff.sync.sync_once()
        seen = staff.station.rooms.by_name("hall a")
        assert seen is not None and seen.timer.status == timers.RUNNING
        now = staff.station.server_now()
        assert abs(seen.remaining(now) - confirmed.remaining(now)) < 1e-6
        assert 590 < seen.remaining(now) <= 600

        # Staff count people at the door but do not run timers.
        staff.station.rooms.count(hall.id, delta=1)
        staff.station.rooms.count(hall.id, delta=1)
        with pytest.raises(DomainError, match="may not run room timers"):
            staff.station.rooms.toggle(hall.id)
        await staff.sync.sync_once()
        await organizer.sync.sync_once()
        assert organizer.station.rooms.get(hall.id).occupancy == 2
        assert organizer.station.rooms.get(hall.id).full

        truth = server_rooms(api, event["id"])[hall.id]
        assert truth["occupancy"] == 2 and truth["timer"]["status"] == "running"
        assert truth["updated_by"] == "Door B"
        await organizer.close()
        await staff.close()

    asyncio.run(go())


def test_offline_timer_commands_apply_in_server_order_and_a_stale_one_is_explained(venue, tmp_path):
    server, api, event = venue

    async def go():
        a = await desk_as(server, tmp_path, event, "organizer", "Laptop A")
        b = await desk_as(server, tmp_path, event, "organizer", "Laptop B")
        room = a.station.rooms.create("Workshop", work_s=1200)
        a.station.rooms.timer(room.id, "start")
        await a.sync.sync_once()
        await b.sync.sync_once()

        a.net.down = True  # A goes offline and pauses; meanwhile B resets the timer online
        a.station.rooms.timer(room.id, "pause")
        assert a.station.rooms.get(room.id).timer.status == timers.PAUSED
        with pytest.raises(Transient):
            await a.sync.send_pending()
        b.station.rooms.timer(room.id, "reset")
        await b.sync.sync_once()

        a.net.down = False
        await a.sync.sync_once()
        # Server order: B's reset came first, so A's pause no longer fits; A is told why.
        assert a.station.rooms.get(room.id).timer.status == timers.IDLE
        attention = a.station.attention()
        assert len(attention) == 1 and attention[0].code == "not_running"
        assert "Timer pause in Workshop was refused" in attention[0].message
        assert "Only a running timer can be paused" in attention[0].message
        assert server_rooms(api, event["id"])[room.id]["timer"]["status"] == "idle"
        await a.close()
        await b.close()

    asyncio.run(go())


@pytest.mark.parametrize(
    ("role", "command", "args", "allowed"),
    [
        ("organizer", "timer", {"op": "start"}, True),
        ("staff", "timer", {"op": "start"}, False),
        ("technician", "timer", {"op": "start"}, False),
        ("staff", "occupancy", {"delta": 1}, True),
        ("technician", "occupancy", {"delta": 1}, False),
        ("staff", "room_update", {"fields": {"name": "Renamed"}}, False),
        ("organizer", "room_update", {"fields": {"name": "Renamed"}}, True),
        ("staff", "room_delete", {}, False),
    ],
)
def test_room_commands_follow_the_roles(venue, role, command, args, allowed):
    server, api, event = venue
    room = api.post(f"/api/v1/events/{event['id']}/rooms", json={"name": "Hall C"})
    assert room.status_code == 201, room.text
    desk = Api(server.url)
    desk.login(f"{role}@rooms.example", PW, desk=f"{role} desk")
    try:
        r = desk.send({"type": command, "args": {"event_id": event["id"], "room_id": room.json()["id"], **args}})
        assert r.status_code == 200, r.text
        result = r.json()["results"][0]
        assert (result["status"] == "applied") is allowed, result
        if not allowed:
            assert result["code"] == "forbidden"
    finally:
        desk.close()


def test_room_rules_over_rest(venue):
    _server, api, event = venue
    base = f"/api/v1/events/{event['id']}/rooms"
    hall = api.post(base, json={"name": "Main Hall", "capacity": 500, "work_s": 2700}).json()
    assert hall["timer"]["status"] == "idle" and hall["timer"]["duration"] == 2700 and hall["rev"] == 1

    clash = api.post(base, json={"name": "main  HALL"})
    assert clash.status_code == 409 and clash.json()["code"] == "duplicate_room"

    started = api.post(f"{base}/{hall['id']}/timer", json={"op": "start", "preset": "pomodoro-25-5"})
    assert started.status_code == 200, started.text
    assert started.json()["timer"]["mode"] == "pomodoro" and started.json()["rev"] == 2

    again = api.post(f"{base}/{hall['id']}/timer", json={"op": "start"})
    assert again.status_code == 409 and again.json()["code"] == "already_running"
    assert "already running" in again.json()["message"]

    too_much = api.post(f"{base}/{hall['id']}/timer", json={"op": "adjust", "delta_s": -7200})
    assert too_much.status_code == 409 and too_much.json()["code"] == "too_much", too_much.text
    out_of_range = api.post(f"{base}/{hall['id']}/timer", json={"op": "adjust", "delta_s": -99999})
    assert out_of_range.status_code == 422 and out_of_range.json()["errors"][0]["field"] == "delta_s"

    side = api.post(base, json={"name": "Side"}).json()
    unknown = api.post(f"{base}/{side['id']}/timer", json={"op": "start", "preset": "no-such"})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_preset"
    assert "pomodoro-25-5" in unknown.json()["message"]

    bad = api.post(base, json={"name": "", "capacity": -1})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} >= {"name", "capacity"}

    missing = api.patch(f"{base}/abcdefgh12345", json={"name": "x"})
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_room"

    renamed = api.patch(f"{base}/{hall['id']}", json={"name": "Plenary"})
    assert renamed.json()["name"] == "Plenary" and renamed.json()["rev"] == 3
    assert api.delete(f"{base}/{hall['id']}").status_code == 204
    assert set(server_rooms(api, event["id"])) == {side["id"]}

    # Every change reached the log, in order: what a desk following it ends up with.
    log = api.get("/api/v1/sync", params={"scope": f"event:{event['id']}", "epoch": "x", "since": 0}).json()
    assert [r["name"] for r in log["state"]["rooms"]] == ["Side"]
    head = log["seq"]
    kinds = api.get("/api/v1/sync", params={"scope": f"event:{event['id']}", "epoch": log["epoch"], "since": 0})
    room_changes = [(c["kind"], c["data"].get("room", c["data"]).get("rev")) for c in kinds.json()["changes"]]
    # Refused commands left nothing; each change carries the room's next rev.
    assert [c for c in room_changes if c[0].startswith("room.")] == [
        ("room.updated", 1),  # Main Hall added
        ("room.updated", 2),  # started
        ("room.updated", 1),  # Side added
        ("room.updated", 3),  # renamed
        ("room.deleted", 4),
    ]
    assert kinds.json()["head"] == head


def test_a_deleted_room_stays_deleted_on_a_desk_whatever_arrives_late(venue, tmp_path):
    server, api, event = venue

    async def go():
        desk = await desk_as(server, tmp_path, event, "organizer", "Laptop")
        room = desk.station.rooms.create("Side room")
        desk.station.rooms.timer(room.id, "start")
        await desk.sync.sync_once()
        assert api.delete(f"/api/v1/events/{event['id']}/rooms/{room.id}").status_code == 204
        await desk.sync.pull()
        assert desk.station.rooms.get(room.id) is None
        # An old answer carrying the room (rev 2) must not bring it back after the deletion (rev 3).
        from focusdesk.station.rooms import store_room

        with desk.station.db.tx() as conn:
            store_room(conn, {"id": room.id, "event_id": event["id"], "name": "Side room", "rev": 2})
        assert desk.station.rooms.get(room.id) is None
        with pytest.raises(DomainError, match="no such room"):
            desk.station.rooms.toggle(room.id)
        await desk.close()

    asyncio.run(go())
