"""Property: whatever a bad network does to the live channel, every desk ends equal to the server.

Between each LiveClient and the real server sits a transport that drops, duplicates, swaps and delays
frames, loses the desk's own frames, and cuts the line — all drawn by hypothesis — while several desks
check people in, undo and register walk-ins. At the end every client's replica (built only from its
stream) equals the server's state, and its stream since its last snapshot is exactly the contiguous
run of seqs: no change lost, none applied twice.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from focusdesk.server.store.changelog import event_scope
from focusdesk.station.live import Cursor, LiveClient
from tests.live_support import ReplicaModel, consume, converged, lossy_connector
from tests.pg_support import server_database
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, LiveServer, add_attendees, make_event

pytestmark = pytest.mark.slow

FAULTS = st.fixed_dictionaries(
    {
        "drop": st.floats(0, 0.3),
        "dup": st.floats(0, 0.3),
        "swap": st.floats(0, 0.3),
        "delay": st.floats(0, 0.3),
        # Often no cuts at all: then a lost tail can only be noticed through heartbeats.
        "cut": st.one_of(st.just(0.0), st.floats(0, 0.05)),
        "drop_out": st.floats(0, 0.2),
    }
)
ACTIONS = st.lists(
    st.tuples(st.sampled_from(["checkin", "undo", "walkin", "pause"]), st.integers(0, 11)), min_size=5, max_size=40
)


def _command(kind: str, event_id: int, person: dict, n: int) -> dict:
    if kind == "walkin":
        return {"type": "walkin", "args": {"event_id": event_id, "attendee": {"name": f"Walk-in {n}"}}}
    cmd = "checkin" if kind == "checkin" else "undo_checkin"
    return {"type": cmd, "args": {"event_id": event_id, "attendee_id": person["id"]}}


@pytest.fixture(scope="module")
def lossy_server(backend, tmp_path_factory):
    with server_database(backend, tmp_path_factory.mktemp("lossy")) as url:
        srv = LiveServer.configured(
            url, live_heartbeat_s=0.3, live_reconcile_s=0.3, live_per_token=100, live_per_ip=1000
        ).start()
        yield srv
        srv.stop()


def test_every_desk_converges_to_the_server_through_a_lossy_network(lossy_server):
    admin = Api(lossy_server.url)
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    desks = []
    for i in range(2):
        d = Api(lossy_server.url)
        d.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk=f"Lossy desk {i}")
        desks.append(d)

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(faults=st.lists(FAULTS, min_size=1, max_size=3), actions=ACTIONS, seed=st.integers(0, 2**32 - 1))
    def run(faults, actions, seed):
        event = make_event(admin)
        people = add_attendees(admin, event["id"], [{"name": f"P{i}"} for i in range(12)])
        scope = event_scope(event["id"])
        asyncio.run(_scenario(lossy_server, admin, desks, event["id"], people, scope, faults, actions, seed))

    run()


async def _scenario(server, admin, desks, event_id, people, scope, faults, actions, seed):
    rng = random.Random(seed)
    clients, models, consumers = [], [], []
    for i, fault in enumerate(faults):
        connector = lossy_connector(random.Random(rng.random()), **fault)
        client = LiveClient(
            server.url,
            admin.token,
            f"lossy-{seed % 10_000}-{i}",
            {scope: Cursor()},
            connector=connector,
            backoff_base_s=0.01,
            backoff_cap_s=0.2,
            sub_timeout_s=0.5,
            hello_timeout_s=0.5,
            rng=random.Random(rng.random()),
        )
        model = ReplicaModel()
        clients.append(client)
        models.append(model)
        client.start()
        consumers.append(asyncio.create_task(consume(client, model)))

    # Changes are made while the desks are connecting, reconnecting and losing frames.
    for n, (kind, who) in enumerate(actions):
        if kind == "pause":
            await asyncio.sleep(0.05)
            continue
        desk = desks[n % len(desks)]
        r = await asyncio.to_thread(desk.send, _command(kind, event_id, people[who], n))
        assert r.status_code == 200, r.text
        # Every write must take effect (a refused one would leave nothing for the desks to receive).
        assert [x["status"] for x in r.json()["results"]] == ["applied"], r.text

    truth = (await asyncio.to_thread(admin.get, "/api/v1/sync", params={"scope": scope})).json()
    head = truth["seq"]
    await converged(models, head)
    for client in clients:
        await client.stop()
    for task in consumers:
        task.cancel()

    expected = {a["id"]: a for a in truth["state"]["attendees"]}
    for model in models:
        assert not model.broken, model.broken
        assert model.seqs == list(range(model.base + 1, head + 1)), "a change was lost or applied twice"
        assert model.attendees == expected
