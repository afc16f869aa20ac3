"""Notices through the real server: each person gets only what is addressed to them — over polling,
snapshots and the live channel — and an acknowledgement is recorded once per person."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from focusdesk.domain.errors import DomainError
from focusdesk.domain.notices import Audience
from tests.live_support import hello, open_ws, recv_until, subscribe
from tests.station_support import sign_in_desk
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, add_user, make_event

PW = "notice-password-1"


@pytest.fixture
def venue(server):
    api = Api(server.url)
    api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    event = make_event(api)
    for who, role in (("org", "organizer"), ("s1", "staff"), ("s2", "staff"), ("tech", "technician")):
        add_user(api, f"{who}@notices.example", role, event["id"], PW)
    yield server, api, event
    api.close()


def login(server, who: str, desk: str) -> Api:
    api = Api(server.url)
    api.login(f"{who}@notices.example", PW, desk=desk)
    return api


def post(sender: Api, event_id: int, body: str, audience: dict, priority: str = "medium") -> dict:
    notice = {"id": uuid.uuid4().hex, "body": body, "priority": priority, "audience": audience}
    r = sender.send({"type": "notice_post", "args": {"event_id": event_id, "notice": notice}})
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    assert result["status"] == "applied", result
    return result["notice"]


def bodies(api: Api, event_id: int) -> set[str]:
    r = api.get(f"/api/v1/events/{event_id}/notices")
    assert r.status_code == 200, r.text
    return {n["body"] for n in r.json()}


def test_each_person_gets_only_the_notices_addressed_to_them(venue, tmp_path):
    server, _admin, event = venue
    eid = event["id"]
    org, s1, s2, tech = (login(server, w, f"{w} desk") for w in ("org", "s1", "s2", "tech"))
    try:
        post(org, eid, "Doors open in 10 minutes", {"kind": "all"})
        post(org, eid, "Staff briefing at the back", {"kind": "role", "value": "staff"})
        post(org, eid, "Organizers: budget call", {"kind": "role", "value": "organizer"})
        post(org, eid, "Desk 1: printer paper is in box 3", {"kind": "desk", "value": s1.station_id}, "low")
        post(org, eid, "Technicians: check Hall B", {"kind": "role", "value": "technician"}, "high")
        everything = {
            "Doors open in 10 minutes",
            "Staff briefing at the back",
            "Organizers: budget call",
            "Desk 1: printer paper is in box 3",
            "Technicians: check Hall B",
        }
        assert bodies(org, eid) == everything  # senders see all of them
        assert bodies(s1, eid) == {
            "Doors open in 10 minutes",
            "Staff briefing at the back",
            "Desk 1: printer paper is in box 3",
        }
        assert bodies(s2, eid) == {"Doors open in 10 minutes", "Staff briefing at the back"}
        assert bodies(tech, eid) == {"Doors open in 10 minutes", "Technicians: check Hall B"}

        # The same through the change log: a snapshot and a delta hold only what is addressed.
        snap = s2.get("/api/v1/sync", params={"scope": f"event:{eid}"}).json()
        assert {n["body"] for n in snap["state"]["notices"]} == bodies(s2, eid)
        delta = s2.get("/api/v1/sync", params={"scope": f"event:{eid}", "epoch": snap["epoch"], "since": 0}).json()
        notice_bodies = [c["data"]["notice"]["body"] for c in delta["changes"] if c["kind"] == "notice.posted"]
        assert set(notice_bodies) == bodies(s2, eid)
        hidden = [c for c in delta["changes"] if c["kind"] == "hidden"]
        assert len(hidden) == 3 and all(c["data"] == {} for c in hidden)
        # The stand-ins keep the log gap-free.
        assert [c["seq"] for c in delta["changes"]] == list(range(1, delta["head"] + 1))
        text = str(delta)
        assert "budget" not in text and "paper" not in text and "Hall B" not in text

        # A desk following the log ends with exactly its notices.
        async def follow():
            desk = await sign_in_desk(server.url, tmp_path, eid, "s2 station", email="s2@notices.example", password=PW)
            await desk.sync.sync_once()
            got = {n.body for n in desk.station.notices.list()}
            assert got == bodies(s2, eid)
            assert all(n.for_me for n in desk.station.notices.list())
            await desk.close()

        asyncio.run(follow())
    finally:
        for api in (org, s1, s2, tech):
            api.close()


def test_live_followers_get_a_hidden_stand_in_for_notices_not_theirs(venue):
    server, _admin, event = venue
    eid = event["id"]
    org, s2 = login(server, "org", "org desk"), login(server, "s2", "s2 desk")

    async def go():
        ws = await open_ws(server.url)
        try:
            assert (await hello(ws, s2.token, s2.station_id))["type"] == "welcome"
            first = await subscribe(ws, f"event:{eid}")
            head = first["seq"]
            post(org, eid, "For someone else's desk", {"kind": "desk", "value": "desk-elsewhere"})
            post(org, eid, "For everyone", {"kind": "all"}, "high")
            one = await recv_until(ws, lambda f: f["type"] == "change")
            two = await recv_until(ws, lambda f: f["type"] == "change")
            assert (one["seq"], one["kind"], one["data"]) == (head + 1, "hidden", {})
            assert (two["seq"], two["kind"]) == (head + 2, "notice.posted")
            assert two["data"]["notice"]["body"] == "For everyone" and two["data"]["notice"]["priority"] == "high"
        finally:
            await ws.close()

    try:
        asyncio.run(go())
    finally:
        org.close()
        s2.close()


def test_an_acknowledgement_is_recorded_once_per_person(venue, tmp_path):
    server, _admin, event = venue
    eid = event["id"]
    org = login(server, "org", "org desk")
    try:
        notice = post(org, eid, "Hall B full — send people to C", {"kind": "role", "value": "staff"}, "high")
        for_s1_only = post(org, eid, "Desk 9 only", {"kind": "desk", "value": "desk-nine"})

        async def go():
            one = await sign_in_desk(server.url, tmp_path, eid, "Desk 1", email="s1@notices.example", password=PW)
            two = await sign_in_desk(server.url, tmp_path, eid, "Desk 2", email="s1@notices.example", password=PW)
            await one.sync.sync_once()
            await two.sync.sync_once()
            [waiting] = one.station.notices.unacknowledged()
            assert waiting.id == notice["id"] and waiting.priority == "high"

            one.net.down = True  # acknowledged offline on desk 1 …
            acked = one.station.notices.acknowledge(notice["id"])
            assert acked.acked_by_me and acked.acks[-1].pending
            assert one.station.notices.unacknowledged() == []
            with pytest.raises(DomainError, match="already acknowledged"):
                one.station.notices.acknowledge(notice["id"])
            two.station.notices.acknowledge(notice["id"])  # … and by the same person on desk 2, online
            await two.sync.sync_once()
            one.net.down = False
            await one.sync.sync_once()
            await two.sync.sync_once()
            for desk in (one, two):
                [seen] = [n for n in desk.station.notices.list() if n.id == notice["id"]]
                assert [(a.station_name, a.pending) for a in seen.acks] == [("Desk 2", False)]
            answer = one.station.db.conn.execute("SELECT result FROM outbox WHERE type = 'notice_ack'").fetchone()[0]
            assert "already acknowledged" in answer and "Desk 2" in answer
            await one.close()
            await two.close()

        asyncio.run(go())
        acks = next(n for n in org.get(f"/api/v1/events/{eid}/notices").json() if n["id"] == notice["id"])["acks"]
        assert [a["station_name"] for a in acks] == ["Desk 2"]

        # Nobody can acknowledge a notice that is not addressed to them (it does not exist for them).
        s2 = login(server, "s2", "s2 desk")
        r = s2.send({"type": "notice_ack", "args": {"event_id": eid, "notice_id": for_s1_only["id"]}})
        assert r.json()["results"][0]["code"] == "unknown_notice"
        s2.close()
    finally:
        org.close()


def test_only_senders_post_and_bad_notices_are_refused_field_by_field(venue, tmp_path):
    server, _admin, event = venue
    eid = event["id"]
    s1 = login(server, "s1", "s1 desk")
    org = login(server, "org", "org desk")
    try:
        r = s1.send(
            {"type": "notice_post", "args": {"event_id": eid, "notice": {"id": uuid.uuid4().hex, "body": "hi"}}}
        )
        assert r.json()["results"][0]["code"] == "forbidden"
        bad = {"id": uuid.uuid4().hex, "body": "", "priority": "urgent", "audience": {"kind": "role", "value": "boss"}}
        r = org.send({"type": "notice_post", "args": {"event_id": eid, "notice": bad}})
        result = r.json()["results"][0]
        assert result["code"] == "invalid_input"
        assert {e["field"] for e in result["errors"]} == {
            "args.notice.body",
            "args.notice.priority",
            "args.notice.audience.value",
        }
        r = org.post(
            f"/api/v1/events/{eid}/notices", json={"body": "From a script", "priority": "low", "expires_in_s": 600}
        )
        assert r.status_code == 201 and r.json()["expires_at"] is not None
    finally:
        s1.close()
        org.close()

    async def staff_cannot_compose():
        desk = await sign_in_desk(server.url, tmp_path, eid, "Desk", email="s1@notices.example", password=PW)
        with pytest.raises(DomainError, match="may not send notices"):
            desk.station.notices.post("Hello", audience=Audience())
        await desk.close()

    asyncio.run(staff_cannot_compose())
