"""Presence across two instances on one PostgreSQL and Redis: a desk reporting to one instance is on the
other's board and live feed at once, and when it falls silent both instances sweep — it turns offline once."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.cluster_support import REDIS_URL, redis_unavailable_reason, running_instances
from tests.integration.conftest import fresh_pg_database, pg_unavailable_reason
from tests.live_support import hello, open_ws, recv_until, subscribe
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, create_admin, make_event, wait_until

pytestmark = pytest.mark.slow
TIMEOUT_S = 2.0


@pytest.fixture
def two_instances(tmp_path):
    for reason in (pg_unavailable_reason(), redis_unavailable_reason()):
        if reason:
            pytest.skip(reason)
    with fresh_pg_database() as url:
        create_admin(url)
        # Reconcile off (600 s): what reaches the other instance came through Redis.
        env = {"FOCUSDESK_PRESENCE_TIMEOUT_S": repr(TIMEOUT_S)}
        with running_instances(url, REDIS_URL, tmp_path / "instances", 2, reconcile_s=600.0, env=env) as instances:
            yield instances


def test_a_desk_on_one_instance_is_on_the_others_board_and_goes_offline_exactly_once(two_instances):
    a, b = two_instances
    admin = Api(b.url)
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    event_id = make_event(admin)["id"]
    desk = Api(a.url)
    out = desk.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Desk A")
    desk.close()
    scope = f"event:{event_id}"

    async def run() -> list[dict]:
        follower = await open_ws(b.url)
        reporter = await open_ws(a.url)
        try:
            await hello(follower, admin.token, "follower-b")
            head = (await subscribe(follower, scope))["seq"]
            await hello(reporter, out["token"], desk.station_id)
            report = {"version": "0.1.0", "printer": {"model": "Niimbot B1", "state": "no_paper"}}
            await reporter.send(json.dumps({"type": "presence", "event_id": event_id, "report": report}))
            heard = await recv_until(follower, lambda f: f.get("type") == "change", timeout=15)
            assert heard["kind"] == "desk.updated" and heard["seq"] == head + 1
            assert heard["data"]["report"]["printer"]["state"] == "no_paper"
            await reporter.close()  # gone without a goodbye: the timeout decides, on both instances
            offline = await recv_until(
                follower, lambda f: f.get("type") == "change" and f["data"]["state"] == "offline", timeout=20
            )
            assert offline["seq"] == head + 2
            await asyncio.sleep(TIMEOUT_S)  # several more sweeps on each instance: nothing more is logged
            return [offline]
        finally:
            await follower.close()
            await reporter.close()

    asyncio.run(run())
    board = wait_until(
        lambda: admin.get(f"/api/v1/events/{event_id}/operations").json(), what="the board on instance B"
    )
    (row,) = board["desks"]
    assert row["state"] == "offline" and row["offline_reason"] == f"no report for {TIMEOUT_S:g} s"
    delta = admin.get("/api/v1/sync", params={"scope": scope}).json()
    changes = admin.get("/api/v1/sync", params={"scope": scope, "epoch": delta["epoch"], "since": 0}).json()["changes"]
    desk_changes = [c for c in changes if c["kind"] == "desk.updated"]
    assert [c["data"]["state"] for c in desk_changes] == ["online", "offline"]  # offline once, not once per instance
    history = admin.get(f"/api/v1/events/{event_id}/desks/{desk.station_id}/history").json()["history"]
    assert [h["state"] for h in history] == ["offline", "online"]
    admin.close()
