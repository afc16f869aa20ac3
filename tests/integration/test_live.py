"""The live channel's protocol, against a real server (SQLite and PostgreSQL): hello, sub, change order,
heartbeats, refusals, limits, and healing when a publish never arrives."""

from __future__ import annotations

import asyncio
import json
import time

from focusdesk.domain import live
from focusdesk.server.store.changelog import event_scope
from tests.live_support import closed_with, hello, open_ws, recv_json, recv_until, subscribe
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, add_attendees, add_user, make_event


def desk(server, name: str = "Desk", email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> Api:
    api = Api(server.url)
    api.login(email, password, desk=name)
    return api


def seeded(server, n: int = 5):
    api = desk(server)
    event = make_event(api)
    people = add_attendees(api, event["id"], [{"name": f"Person {i}"} for i in range(n)])
    return api, event, people


def test_hello_welcome_carries_the_desks_watermark(live_server):
    api, event, people = seeded(live_server)
    api.checkin(event["id"], people[0]["id"])
    api.checkin(event["id"], people[1]["id"])

    async def go():
        ws = await open_ws(live_server.url)
        welcome = await hello(ws, api.token, api.station_id)
        await ws.close()
        return welcome

    welcome = asyncio.run(go())
    assert welcome["type"] == "welcome"
    assert welcome["last_cmd_seq"] == 2
    assert welcome["heartbeat_s"] == 0.5
    assert abs(welcome["server_time"] - time.time()) < 5


def test_bad_tokens_and_bad_hellos_are_closed_with_a_reason(live_server):
    api, _, _ = seeded(live_server)

    async def attempt(first_frame: str | None) -> tuple[int, str]:
        ws = await open_ws(live_server.url)
        if first_frame is not None:
            await ws.send(first_frame)
        return await closed_with(ws)

    def hello_frame(**fields) -> str:
        return json.dumps({"type": "hello", "proto": 1, "station_id": "desk-x", **fields})

    code, reason = asyncio.run(attempt(hello_frame(token="not-a-token")))
    assert code == live.CLOSE_UNAUTHORIZED and "sign in again" in reason
    code, reason = asyncio.run(attempt(hello_frame()))
    assert code == live.CLOSE_UNAUTHORIZED and "token" in reason
    code, reason = asyncio.run(attempt(json.dumps({"type": "sub", "scope": "event:1"})))
    assert code == live.CLOSE_BAD_FRAME and "hello" in reason
    code, reason = asyncio.run(attempt(hello_frame(token=api.token, proto=99)))
    assert code == live.CLOSE_BAD_FRAME and "protocol" in reason
    code, reason = asyncio.run(attempt(hello_frame(token=api.token, station_id="someone-else")))
    assert code == live.CLOSE_FORBIDDEN
    code, reason = asyncio.run(attempt(None))  # say nothing at all
    assert code == live.CLOSE_HELLO_TIMEOUT and "hello" in reason


def test_sub_gives_a_snapshot_then_live_changes_in_seq_order(live_server):
    api, event, people = seeded(live_server, 30)
    scope = event_scope(event["id"])
    others = [desk(live_server, f"Other desk {i}") for i in range(3)]

    def send_batches(d: Api, batches: list[list[dict]]) -> None:
        for batch in batches:
            r = d.send(*({"type": "checkin", "args": {"event_id": event["id"], "attendee_id": p["id"]}} for p in batch))
            assert r.status_code == 200, r.text

    async def go():
        ws = await open_ws(live_server.url)
        await hello(ws, api.token, api.station_id)
        ok = await subscribe(ws, scope)
        # Three desks at once, three check-ins per request: commits interleave.
        batches = [people[i : i + 3] for i in range(0, 30, 3)]
        await asyncio.gather(*(asyncio.to_thread(send_batches, d, batches[i::3]) for i, d in enumerate(others)))
        seqs = []
        while len(seqs) < 30:
            frame = await recv_json(ws)
            if frame["type"] == "change":
                seqs.append(frame["seq"])
                assert frame["kind"] == "checkin.recorded"
        await ws.close()
        return ok, seqs

    ok, seqs = asyncio.run(go())
    assert ok["mode"] == "snapshot" and ok["epoch"]
    assert len(ok["state"]["attendees"]) == 30
    assert seqs == list(range(ok["seq"] + 1, ok["seq"] + 31))


def test_sub_from_a_cursor_gets_exactly_the_missing_changes(live_server):
    api, event, people = seeded(live_server, 10)
    scope = event_scope(event["id"])

    async def go():
        ws = await open_ws(live_server.url)
        await hello(ws, api.token, api.station_id)
        first = await subscribe(ws, scope)
        await ws.close()
        for p in people[:4]:
            await asyncio.to_thread(api.checkin, event["id"], p["id"])
        ws = await open_ws(live_server.url)
        await hello(ws, api.token, api.station_id)
        delta = await subscribe(ws, scope, first["epoch"], first["seq"])
        stale = await subscribe(ws, scope, "0" * 16, first["seq"])  # another epoch: cannot prove continuity
        ahead = await subscribe(ws, scope, first["epoch"], first["seq"] + 1000)  # a cursor from the future
        await ws.close()
        return first, delta, stale, ahead

    first, delta, stale, ahead = asyncio.run(go())
    assert delta["mode"] == "delta" and delta["more"] is False
    assert [c["seq"] for c in delta["changes"]] == [first["seq"] + i for i in range(1, 5)]
    assert stale["mode"] == "snapshot" and stale["seq"] == first["seq"] + 4
    assert ahead["mode"] == "snapshot"


def test_heartbeats_carry_the_heads_of_followed_scopes(live_server):
    api, event, _ = seeded(live_server)
    scope = event_scope(event["id"])

    async def go():
        ws = await open_ws(live_server.url)
        await hello(ws, api.token, api.station_id)
        ok = await subscribe(ws, scope)
        beat = await recv_until(ws, lambda f: f["type"] == "heartbeat", timeout=5)
        await ws.close()
        return ok, beat

    ok, beat = asyncio.run(go())
    assert beat["heads"] == {scope: ok["seq"]}


def test_malformed_frames_get_error_frames_and_the_connection_survives(live_server):
    api, event, _ = seeded(live_server)
    scope = event_scope(event["id"])

    async def go():
        ws = await open_ws(live_server.url)
        await hello(ws, api.token, api.station_id)
        answers = []
        for frame in [
            "not json",
            "[1, 2]",
            json.dumps({"type": "teleport"}),
            json.dumps({"type": "sub"}),
            json.dumps({"type": "sub", "scope": scope, "since": -1}),
            json.dumps({"type": "sub", "scope": scope, "since": "7"}),
            json.dumps({"type": "sub", "scope": "room:1"}),
            json.dumps({"type": "sub", "scope": "event:999999"}),
            json.dumps({"type": "hello", "token": api.token}),
        ]:
            await ws.send(frame)
            answers.append(await recv_json(ws))
        await ws.send(b"\x00\x01binary")
        answers.append(await recv_json(ws))
        still_fine = await subscribe(ws, scope)
        await ws.close()
        return answers, still_fine

    answers, still_fine = asyncio.run(go())
    assert all(a["type"] == "error" and a["message"] for a in answers)
    codes = [a["code"] for a in answers]
    assert codes == [
        "bad_frame",
        "bad_frame",
        "unknown_type",
        "bad_frame",
        "bad_frame",
        "bad_frame",
        "not_found",
        "not_found",
        "bad_frame",
        "bad_frame",
    ]
    assert still_fine["type"] == "sub_ok"


def test_oversized_and_endless_bad_frames_close_the_connection_cleanly(live_server):
    api, _, _ = seeded(live_server)

    async def go():
        ws = await open_ws(live_server.url)
        await hello(ws, api.token, api.station_id)
        await ws.send("x" * (live.MAX_CLIENT_FRAME_BYTES + 1))
        too_big = await closed_with(ws)
        ws = await open_ws(live_server.url)
        await hello(ws, api.token, api.station_id)
        for _ in range(30):
            await ws.send("garbage")
        spam = await closed_with(ws)
        # The hub is fine afterwards: a new connection works.
        ws = await open_ws(live_server.url)
        welcome = await hello(ws, api.token, api.station_id)
        await ws.close()
        return too_big, spam, welcome

    too_big, spam, welcome = asyncio.run(go())
    assert too_big[0] == 1009  # message too big
    assert spam[0] == live.CLOSE_BAD_FRAME and "malformed" in spam[1]
    assert welcome["type"] == "welcome"


def test_a_desk_only_follows_events_it_has_a_role_at(live_server):
    admin, event, _ = seeded(live_server)
    elsewhere = make_event(admin, "Elsewhere")
    add_user(admin, "door@example.org", "staff", event["id"])
    staff = desk(live_server, "Door", "door@example.org", "password-123")

    async def go():
        ws = await open_ws(live_server.url)
        await hello(ws, staff.token, staff.station_id)
        refused = await subscribe(ws, event_scope(elsewhere["id"]))
        allowed = await subscribe(ws, event_scope(event["id"]))
        await ws.close()
        return refused, allowed

    refused, allowed = asyncio.run(go())
    assert refused["type"] == "error" and refused["code"] == "forbidden"
    assert allowed["type"] == "sub_ok"


def test_connection_limits_per_token_and_a_newer_connection_replaces_the_same_station(live_server):
    api, _, _ = seeded(live_server)
    live_server.settings.live_per_token = 2

    async def go():
        first = await open_ws(live_server.url)
        await hello(first, api.token, api.station_id)
        # The same station again: the older connection is closed as replaced.
        second = await open_ws(live_server.url)
        await hello(second, api.token, api.station_id)
        replaced = await closed_with(first)
        # An account signed in without a desk names its station in hello; the token's limit applies.
        laptop = Api(live_server.url)
        laptop.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        a = await open_ws(live_server.url)
        b = await open_ws(live_server.url)
        c = await open_ws(live_server.url)
        await hello(a, laptop.token, "laptop-1")
        await hello(b, laptop.token, "laptop-2")
        await c.send(json.dumps({"type": "hello", "token": laptop.token, "station_id": "laptop-3", "proto": 1}))
        too_many = await closed_with(c)
        for ws in (second, a, b):
            await ws.close()
        return replaced, too_many

    replaced, too_many = asyncio.run(go())
    assert replaced[0] == live.CLOSE_REPLACED
    assert too_many[0] == live.CLOSE_TOO_MANY and "limit 2" in too_many[1]


def test_connection_limit_per_address(live_server):
    api, _, _ = seeded(live_server)
    live_server.settings.live_per_ip = 2
    live_server.settings.live_per_token = 10

    async def go():
        laptop = Api(live_server.url)
        laptop.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        held = []
        for token, station in ((api.token, api.station_id), (laptop.token, "laptop-1")):
            ws = await open_ws(live_server.url)
            assert (await hello(ws, token, station))["type"] == "welcome"
            held.append(ws)
        extra = await open_ws(live_server.url)
        await extra.send(json.dumps({"type": "hello", "token": laptop.token, "station_id": "laptop-9", "proto": 1}))
        refused = await closed_with(extra)
        for ws in held:
            await ws.close()
        return refused

    refused = asyncio.run(go())
    assert refused[0] == live.CLOSE_TOO_MANY and "127.0.0.1" in refused[1]


def test_signing_out_closes_the_live_connection(live_server):
    api, _, _ = seeded(live_server)

    async def go():
        ws = await open_ws(live_server.url)
        await hello(ws, api.token, api.station_id)
        r = await asyncio.to_thread(api.post, "/api/v1/auth/logout")
        assert r.status_code == 204
        return await closed_with(ws)

    code, reason = asyncio.run(go())
    assert code == live.CLOSE_UNAUTHORIZED and "signed out" in reason


def test_a_lost_publish_is_healed_by_reconcile_and_the_heartbeat(live_server):
    """Changes committed without being announced (publish lost, or written by another process)
    still reach the desk, in order."""
    api, event, people = seeded(live_server, 6)
    scope = event_scope(event["id"])
    db = live_server.state.db

    async def go():
        ws = await open_ws(live_server.url)
        await hello(ws, api.token, api.station_id)
        ok = await subscribe(ws, scope)
        publisher, db.publisher = db.publisher, None  # the announcement is lost
        try:
            for p in people[:3]:
                await asyncio.to_thread(api.checkin, event["id"], p["id"])
        finally:
            db.publisher = publisher
        seqs = []
        while len(seqs) < 3:
            frame = await recv_json(ws, 5)
            if frame["type"] == "change":
                seqs.append(frame["seq"])
        # And announcing resumes in order after the healed stretch.
        await asyncio.to_thread(api.checkin, event["id"], people[3]["id"])
        nxt = await recv_until(ws, lambda f: f["type"] == "change")
        await ws.close()
        return ok, seqs, nxt

    ok, seqs, nxt = asyncio.run(go())
    assert seqs == [ok["seq"] + 1, ok["seq"] + 2, ok["seq"] + 3]
    assert nxt["seq"] == ok["seq"] + 4
    assert live_server.state.hub.gap_fills >= 1


def test_out_of_order_announcements_are_delivered_in_seq_order(live_server):
    """On PostgreSQL commits may be announced out of order; the feed holds early ones back."""
    api, event, people = seeded(live_server, 4)
    scope = event_scope(event["id"])
    hub = live_server.state.hub
    loop_of = live_server.state  # the server loop runs in another thread: hand calls to it

    async def go():
        ws = await open_ws(live_server.url)
        await hello(ws, api.token, api.station_id)
        ok = await subscribe(ws, scope)
        captured = []
        db = loop_of.db
        publisher, db.publisher = db.publisher, captured.extend
        try:
            for p in people[:3]:
                await asyncio.to_thread(api.checkin, event["id"], p["id"])
        finally:
            db.publisher = publisher
        # Announce them backwards.
        for change in reversed(captured):
            hub.publish_threadsafe([change])
        seqs = []
        while len(seqs) < 3:
            frame = await recv_json(ws, 5)
            if frame["type"] == "change":
                seqs.append(frame["seq"])
        await ws.close()
        return ok, seqs

    ok, seqs = asyncio.run(go())
    assert seqs == [ok["seq"] + 1, ok["seq"] + 2, ok["seq"] + 3]
