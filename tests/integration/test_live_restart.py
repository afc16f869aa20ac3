"""kill -9 of the server under live load: desks reconnect by themselves and converge."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import httpx
import pytest

from focusdesk.server.store.changelog import event_scope
from focusdesk.station.live import Cursor, LiveClient
from tests.integration.test_durability import start_server
from tests.live_support import ReplicaModel, consume, converged
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, add_attendees, free_port, make_event

pytestmark = pytest.mark.slow


def test_desks_converge_after_the_server_is_killed_under_live_load(server_database, monkeypatch):
    monkeypatch.setenv("FOCUSDESK_LIVE_PER_TOKEN", "10")  # five desks share one sign-in here
    url = server_database
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(url, port)
    try:
        admin = Api(base)
        admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        event = make_event(admin)
        scope = event_scope(event["id"])
        people = add_attendees(admin, event["id"], [{"name": f"R{i}"} for i in range(120)])
        driver = Api(base)
        driver.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Driver", station_id="restart-driver-1")

        stop = threading.Event()
        acknowledged: set[str] = set()

        def drive():
            for p in people:
                if stop.is_set():
                    return
                try:
                    r = driver.send({"type": "checkin", "args": {"event_id": event["id"], "attendee_id": p["id"]}})
                except httpx.HTTPError:
                    time.sleep(0.05)  # the server is down: this one was not acknowledged; go on
                    continue
                if r.status_code == 200 and r.json()["results"][0]["status"] == "applied":
                    acknowledged.add(p["id"])
                time.sleep(0.01)

        async def go():
            nonlocal proc
            clients = [
                LiveClient(
                    base,
                    admin.token,
                    f"restart-desk-{i}",
                    {scope: Cursor()},
                    backoff_base_s=0.05,
                    backoff_cap_s=0.5,
                )
                for i in range(5)
            ]
            models = [ReplicaModel() for _ in clients]
            consumers = []
            for c, m in zip(clients, models, strict=True):
                c.start()
                consumers.append(asyncio.create_task(consume(c, m)))
            # Every desk is connected before the load starts and the kill lands in the middle of it (on a
            # loaded machine 0.6 s was not always enough to connect, and a load started earlier could be
            # over by the kill: the desks converged at once and were stopped before they had reconnected).
            deadline = asyncio.get_running_loop().time() + 30
            while not all(c.stats.connects >= 1 for c in clients):
                assert asyncio.get_running_loop().time() < deadline, "the desks never connected"
                await asyncio.sleep(0.05)
            thread = threading.Thread(target=drive)
            thread.start()
            await asyncio.sleep(0.6)
            assert thread.is_alive(), "the load was over before the kill"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            await asyncio.sleep(0.3)
            proc = await asyncio.to_thread(start_server, url, port)
            await asyncio.to_thread(thread.join, 60)
            truth = (await asyncio.to_thread(admin.get, "/api/v1/sync", params={"scope": scope})).json()
            await converged(models, truth["seq"], 30)
            for c in clients:
                await c.stop()
            for t in consumers:
                t.cancel()
            return clients, models, truth

        clients, models, truth = asyncio.run(go())
        stop.set()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)

    expected = {a["id"]: a for a in truth["state"]["attendees"]}
    checked_in = {a["id"] for a in truth["state"]["attendees"] if a["checked_in"]}
    assert acknowledged <= checked_in, "an acknowledged check-in was lost"
    for client, model in zip(clients, models, strict=True):
        assert client.stats.connects >= 2, "the desk never reconnected"
        assert not model.broken
        assert model.seqs == list(range(model.base + 1, truth["seq"] + 1))
        assert model.attendees == expected
