"""The station's LiveClient against a real server: resume, sign-out, 200 desks with one frozen."""

from __future__ import annotations

import asyncio
import json
import socket
import time

from focusdesk.domain import live
from focusdesk.server.store.changelog import event_scope
from focusdesk.station.live import Cursor, LiveClient
from tests.live_support import ReplicaModel, closed_with, consume, hello, open_ws, subscribe, until
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, add_attendees, make_event


def seeded(server, n: int):
    api = Api(server.url)
    api.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Front desk")
    event = make_event(api)
    people = add_attendees(api, event["id"], [{"name": f"Person {i}"} for i in range(n)])
    return api, event, people


def server_snapshot(api: Api, scope: str) -> dict:
    r = api.get("/api/v1/sync", params={"scope": scope})
    assert r.status_code == 200, r.text
    return r.json()


def checkin_batch(api: Api, event_id: int, people: list[dict]):
    r = api.send(*({"type": "checkin", "args": {"event_id": event_id, "attendee_id": p["id"]}} for p in people))
    assert r.status_code == 200, r.text


def desk_client(server, api: Api, scope: str, cursor: Cursor | None = None, **kw) -> LiveClient:
    return LiveClient(
        server.url,
        api.token,
        api.station_id,
        {scope: cursor or Cursor()},
        backoff_base_s=0.05,
        backoff_cap_s=0.5,
        sub_timeout_s=2,
        hello_timeout_s=2,
        **kw,
    )


def test_client_follows_a_scope_and_resumes_with_a_delta_after_a_drop(live_server):
    api, event, people = seeded(live_server, 20)
    scope = event_scope(event["id"])
    hub = live_server.state.hub

    async def go():
        client = desk_client(live_server, api, scope)
        model = ReplicaModel()
        client.start()
        consumer = asyncio.create_task(consume(client, model))
        await until(lambda: model.snapshots == 1, 10, "the first snapshot")
        await asyncio.to_thread(checkin_batch, api, event["id"], people[:5])
        # The server drops every live connection (as it does for a lagging desk)…
        hub._loop.call_soon_threadsafe(hub.close_where, lambda c: True, live.CLOSE_LAGGING, "lagging: test")
        await asyncio.to_thread(checkin_batch, api, event["id"], people[5:12])
        head = (await asyncio.to_thread(server_snapshot, api, scope))["seq"]
        await until(lambda: model.seq == head, 10, "the desk to catch up")
        await client.stop()
        consumer.cancel()
        return client, model, head

    client, model, head = asyncio.run(go())
    assert client.stats.connects >= 2
    assert model.snapshots == 1, "the reconnect resumed with a delta, not a second snapshot"
    assert model.seqs == list(range(model.base + 1, head + 1)) and not model.broken
    truth = server_snapshot(api, scope)["state"]["attendees"]
    assert model.attendees == {a["id"]: a for a in truth}


def test_client_stops_when_its_desk_is_signed_out(live_server):
    api, event, _ = seeded(live_server, 2)
    scope = event_scope(event["id"])

    async def go():
        client = desk_client(live_server, api, scope)
        task = client.start()
        await asyncio.wait_for(client.connected.wait(), 10)
        r = await asyncio.to_thread(api.post, "/api/v1/auth/logout")
        assert r.status_code == 204
        await asyncio.wait_for(task, 10)  # run() returns by itself: reconnecting cannot help
        return client

    client = asyncio.run(go())
    assert client.signed_out is not None and client.signed_out.code == live.CLOSE_UNAUTHORIZED


class _DropChanges:
    """A connection that silently loses the change frames whose seq is in ``doomed`` (and nothing else)."""

    def __init__(self, ws, doomed: set[int]):
        self.ws = ws
        self.doomed = doomed

    async def send(self, message: str) -> None:
        await self.ws.send(message)

    async def recv(self):
        while True:
            message = await self.ws.recv()
            frame = json.loads(message)
            if frame.get("type") == "change" and frame["seq"] in self.doomed:
                self.doomed.discard(frame["seq"])
                continue
            return message

    async def close(self) -> None:
        await self.ws.close()


def test_a_lost_last_change_is_noticed_through_the_heartbeat(live_server):
    """Nothing follows the lost change, so no later seq reveals the hole: only the heads can."""
    import contextlib

    from websockets.asyncio.client import connect

    api, event, people = seeded(live_server, 3)
    scope = event_scope(event["id"])
    head = server_snapshot(api, scope)["seq"]
    doomed = {head + 1}

    @contextlib.asynccontextmanager
    async def connector(url):
        ws = await connect(url, compression=None)
        try:
            yield _DropChanges(ws, doomed)
        finally:
            await ws.close()

    async def go():
        client = desk_client(live_server, api, scope, connector=connector)
        model = ReplicaModel()
        client.start()
        consumer = asyncio.create_task(consume(client, model))
        await until(lambda: model.snapshots == 1, 10, "the snapshot")
        await asyncio.to_thread(checkin_batch, api, event["id"], people[:1])
        await until(lambda: model.seq == head + 1, 10, "the lost change to be fetched again")
        await client.stop()
        consumer.cancel()
        return client, model

    client, model = asyncio.run(go())
    assert not doomed, "the change frame was never sent, so nothing was lost"
    assert client.stats.gaps_seen >= 1 and client.stats.connects == 1
    assert model.seqs == [head + 1] and not model.broken


def _tiny_receive_buffer_socket(port: int) -> socket.socket:
    """A client socket that accepts little unread data, so a desk that stops reading shows up fast."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock


def test_two_hundred_desks_one_frozen_the_rest_unaffected(tight_live_server):
    live_server = tight_live_server
    api, event, people = seeded(live_server, 50)
    scope = event_scope(event["id"])
    hub = live_server.state.hub
    n_desks = 199

    async def go():
        # One organizer sign-in without a desk, shared by 199 stations (signing in 199 times would
        # spend the test on password hashing).
        laptop = Api(live_server.url)
        laptop.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        live_server.settings.live_per_ip = 1000
        live_server.settings.live_per_token = 1000
        models = [ReplicaModel() for _ in range(n_desks)]
        clients = [
            LiveClient(live_server.url, laptop.token, f"desk-{i:03d}", [scope], backoff_base_s=0.05, backoff_cap_s=0.5)
            for i in range(n_desks)
        ]
        t0 = time.monotonic()
        for c in clients:
            c.start()
        consumers = [asyncio.create_task(consume(c, m)) for c, m in zip(clients, models, strict=True)]
        await until(lambda: all(m.snapshots == 1 for m in models), 60, "every desk's snapshot")
        print(f"199 desks subscribed in {time.monotonic() - t0:.1f} s")

        # The frozen desk: subscribes, then never reads again.
        from websockets.asyncio.client import connect

        frozen = await connect(
            live_server.url.replace("http", "ws") + live.PATH,
            sock=_tiny_receive_buffer_socket(live_server.port),
            compression=None,
            max_queue=1,
            max_size=64 << 20,
            ping_interval=None,
        )
        frozen_desk = Api(live_server.url)
        await asyncio.to_thread(frozen_desk.login, ADMIN_EMAIL, ADMIN_PASSWORD, desk="Frozen")
        await hello(frozen, frozen_desk.token, frozen_desk.station_id)
        ok = await subscribe(frozen, scope)
        frozen_conn = hub.by_station[frozen_desk.station_id]

        rounds = 0
        t0 = time.monotonic()
        while frozen_conn in hub.connections and rounds < 100:
            await asyncio.to_thread(checkin_batch, api, event["id"], people)
            rounds += 1
        assert frozen_conn not in hub.connections, "the frozen desk was never declared lagging"
        await asyncio.to_thread(checkin_batch, api, event["id"], people[:10])  # after the frozen one left
        head = (await asyncio.to_thread(server_snapshot, api, scope))["seq"]
        await until(lambda: all(m.seq == head for m in models), 60, "all 199 desks to have every change")
        print(
            f"{rounds} rounds of 50 check-ins; 199 desks had all of them {time.monotonic() - t0:.1f} s after the first"
        )

        # The frozen desk wakes up: it reads what was buffered, learns it was lagging, and catches up
        # from the last change it applied.
        last = ok["seq"]
        code = reason = None
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                frame = json.loads(await asyncio.wait_for(frozen.recv(), 30))
                if frame["type"] == "change":
                    assert frame["seq"] == last + 1
                    last = frame["seq"]
        except ConnectionClosed as exc:
            code, reason = exc.rcvd.code, exc.rcvd.reason
        woken = desk_client(live_server, frozen_desk, scope, Cursor(ok["epoch"], last))
        model = ReplicaModel()
        model.base = model.seq = last
        woken.start()
        consumer = asyncio.create_task(consume(woken, model))
        await until(lambda: model.seq == head, 30, "the woken desk to catch up")
        for c in [*clients, woken]:
            await c.stop()
        for t in [*consumers, consumer]:
            t.cancel()
        return clients, models, head, rounds, (code, reason), model, last

    clients, models, head, rounds, closed, woken_model, last = asyncio.run(go())
    assert closed[0] == live.CLOSE_LAGGING and "lagging" in closed[1]
    for client, model in zip(clients, models, strict=True):
        assert not model.broken
        assert model.seqs == list(range(model.base + 1, head + 1))
        assert client.stats.connects == 1, "a healthy desk was disconnected"
    assert woken_model.snapshots == 0 and woken_model.seqs == list(range(last + 1, head + 1))
    assert not woken_model.broken
    print(f"frozen desk declared lagging after {rounds} rounds of {len(models)}-desk fan-out")


def test_a_burst_larger_than_the_send_queue_closes_the_desk_as_lagging(live_server):
    """The queue bound is a hard bound: the hub never waits for a desk, it lets it go."""
    api, event, people = seeded(live_server, 5)
    live_server.settings.live_queue_frames = 3

    async def go():
        ws = await open_ws(live_server.url)
        await hello(ws, api.token, api.station_id)
        await asyncio.to_thread(checkin_batch, api, event["id"], people)
        await ws.send(json.dumps({"type": "sub", "scope": event_scope(event["id"]), "epoch": None, "since": None}))
        await asyncio.sleep(0.2)
        await asyncio.to_thread(checkin_batch, api, event["id"], people)
        return await closed_with(ws)

    code, _ = asyncio.run(go())
    assert code == live.CLOSE_LAGGING
