"""``GET /metrics``: what an operator's Prometheus sees moves as the desks work.

Every test scrapes before and after and compares the difference, parsed by prometheus_client's own
parser, so what is asserted is exactly what a Prometheus server would read.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from focusdesk.server.fastpath import CommandsFastPath
from focusdesk.server.store.changelog import event_scope
from tests.integration.conftest import FAST_LIVE, _server_on
from tests.integration.test_live_client import _tiny_receive_buffer_socket
from tests.live_support import hello, open_ws, subscribe
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, add_attendees, make_event, wait_until

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str, token: str | None = None) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = httpx.get(f"{url}/metrics", headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def requests(method: str, route: str, status: int) -> dict[str, str]:
    return {"method": method, "route": route, "status": str(status)}


def test_requests_are_counted_by_route_template_and_status(server, admin):
    event = make_event(admin)
    before = scrape(server.url)

    r = httpx.get(f"{server.url}/api/v1/no-such-thing/{event['id']}")
    assert r.status_code == 404
    desk = Api(server.url)
    desk.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    assert desk.http.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": "wrong"}).status_code == 401
    for _ in range(3):
        assert admin.get(f"/api/v1/events/{event['id']}").status_code == 200
    after = scrape(server.url)

    total = "focusdesk_http_requests_total"
    assert delta(before, after, total, **requests("GET", "<unmatched>", 404)) == 1
    assert delta(before, after, total, **requests("POST", "/api/v1/auth/login", 200)) == 1
    assert delta(before, after, total, **requests("POST", "/api/v1/auth/login", 401)) == 1
    assert delta(before, after, total, **requests("GET", "/api/v1/events/{event_id}", 200)) == 3
    # The first scrape is counted once it has been answered: it shows in the second.
    assert delta(before, after, total, **requests("GET", "/metrics", 200)) == 1
    # Latency: one observation per request, under the route template.
    count = "focusdesk_http_request_duration_seconds_count"
    assert delta(before, after, count, method="GET", route="/api/v1/events/{event_id}") == 3
    assert value(after, "focusdesk_http_request_duration_seconds_sum", method="GET", route="/metrics") > 0
    # Never a raw path: ids would make a series per event.
    routes = {dict(labels).get("route") for _name, labels in after}
    assert f"/api/v1/events/{event['id']}" not in routes and f"/api/v1/no-such-thing/{event['id']}" not in routes


def test_commands_are_counted_once_by_type_and_outcome_on_either_path(server, admin):
    event = make_event(admin)
    people = add_attendees(admin, event["id"], [{"name": f"P{i}"} for i in range(3)])
    desk = Api(server.url)
    desk.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Front")
    fast = server.middleware(CommandsFastPath)
    before = scrape(server.url)
    served_before = fast.served

    server.state.tokens.clear()  # the first batch goes the long way (the route), the others the fast path
    assert desk.checkin(event["id"], people[0]["id"])["status"] == "applied"
    r = desk.send(
        {"type": "checkin", "args": {"event_id": event["id"], "attendee_id": people[1]["id"]}},
        {"type": "checkin", "args": {"event_id": event["id"], "attendee_id": "att_nobody_here"}},
        {"type": "make_coffee", "args": {}},
    )
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == ["applied", "rejected", "rejected"]
    desk.next_seq -= 1  # a replay of the last command: the stored answer, not a second count
    replay = desk.send({"type": "make_coffee", "args": {}})
    assert replay.json()["results"][0]["status"] == "rejected"
    after = scrape(server.url)

    assert fast.served - served_before == 2, "the fast path answered the later batches"
    commands = "focusdesk_commands_total"
    assert delta(before, after, commands, type="checkin", status="applied") == 2
    assert delta(before, after, commands, type="checkin", status="rejected") == 1
    # A made-up type is counted as "unknown": desks cannot create series.
    assert delta(before, after, commands, type="unknown", status="rejected") == 1
    assert value(after, commands, type="make_coffee", status="rejected") == 0
    total = "focusdesk_http_requests_total"
    assert delta(before, after, total, **requests("POST", "/api/v1/commands", 200)) == 3


def test_the_changelog_head_of_each_event_matches_the_sync_answer(server, admin):
    events = [make_event(admin, name=f"Conf {i}") for i in range(2)]
    people = add_attendees(admin, events[0]["id"], [{"name": f"P{i}"} for i in range(4)])
    desk = Api(server.url)
    desk.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Front")
    for p in people[:3]:
        desk.checkin(events[0]["id"], p["id"])
    samples = scrape(server.url)
    for event in events:
        scope = event_scope(event["id"])
        r = admin.get("/api/v1/sync", params={"scope": scope})
        assert r.status_code == 200, r.text
        assert value(samples, "focusdesk_changelog_head", scope=scope) == r.json()["seq"]
    assert value(samples, "focusdesk_changelog_head", scope=event_scope(events[0]["id"])) >= 3 + len(people)


def test_live_connections_are_counted_while_open_and_the_upgrade_as_a_request(live_server):
    desk = Api(live_server.url)
    desk.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Live desk")
    before = scrape(live_server.url)
    assert value(before, "focusdesk_live_connections") == 0

    async def go():
        ws = await open_ws(live_server.url)
        assert (await hello(ws, desk.token, desk.station_id))["type"] == "welcome"
        await asyncio.to_thread(
            wait_until,
            lambda: value(scrape(live_server.url), "focusdesk_live_connections") == 1,
            what="the live connection to be counted",
        )
        await ws.close()

    asyncio.run(go())
    wait_until(
        lambda: value(scrape(live_server.url), "focusdesk_live_connections") == 0,
        what="the closed connection to leave the gauge",
    )
    after = scrape(live_server.url)
    total = "focusdesk_http_requests_total"
    assert delta(before, after, total, **requests("GET", "/api/v1/live", 101)) == 1


@pytest.fixture
def laggy_server(backend, request, tmp_path):
    """Small live queues and 16 KiB socket send buffers: a desk that stops reading lags in a few batches."""
    srv = _server_on(request, tmp_path, **{**FAST_LIVE, "live_queue_frames": 50}).start(send_buffer=16 << 10)
    yield srv
    srv.stop()


def test_a_desk_closed_for_lagging_is_counted(laggy_server):
    from websockets.asyncio.client import connect

    from focusdesk.domain import live

    srv = laggy_server
    admin = Api(srv.url)
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Front")
    event = make_event(admin)
    people = add_attendees(admin, event["id"], [{"name": f"P{i}"} for i in range(40)])
    frozen_desk = Api(srv.url)
    frozen_desk.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Frozen")
    hub = srv.state.hub
    before = scrape(srv.url)

    async def go():
        frozen = await connect(
            srv.url.replace("http", "ws") + live.PATH,
            sock=_tiny_receive_buffer_socket(srv.port),
            compression=None,
            max_queue=1,
            ping_interval=None,
        )
        await hello(frozen, frozen_desk.token, frozen_desk.station_id)
        assert (await subscribe(frozen, event_scope(event["id"])))["type"] == "sub_ok"
        conn = hub.by_station[frozen_desk.station_id]
        rounds = 0
        while conn in hub.connections and rounds < 200:  # the desk never reads again
            r = await asyncio.to_thread(
                admin.send,
                *({"type": "checkin", "args": {"event_id": event["id"], "attendee_id": p["id"]}} for p in people),
            )
            assert r.status_code == 200, r.text
            rounds += 1
        assert conn not in hub.connections, "the frozen desk was never closed as lagging"
        frozen.transport.abort()

    asyncio.run(go())
    after = scrape(srv.url)
    assert delta(before, after, "focusdesk_live_lagging_closes_total") == 1


def test_desk_presence_is_reported_as_the_presence_tracker_counts_it(server):
    presence = getattr(server.state, "presence", None)
    if presence is None:
        pytest.skip("this server keeps no desk presence yet")
    samples = scrape(server.url)
    counts = asyncio.run_coroutine_threadsafe(presence.counts(), server.state.hub._loop).result(30)
    assert counts, "presence reports at least the online and offline counts"
    for state, count in counts.items():
        assert value(samples, "focusdesk_desks", state=state) == count


def test_info_names_the_instance_and_the_version(server):
    from focusdesk import __version__

    samples = scrape(server.url)
    assert value(samples, "focusdesk_info", version=__version__, instance=server.state.instance_id) == 1


@pytest.fixture
def guarded_server(backend, request, tmp_path):
    srv = _server_on(request, tmp_path, metrics_token="scrape-me-7").start()
    yield srv
    srv.stop()


def test_a_metrics_token_keeps_metrics_from_anyone_without_it(guarded_server):
    url = f"{guarded_server.url}/metrics"
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": "Basic scrape-me-7"}):
        r = httpx.get(url, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.json()["code"] == "not_authenticated"
        assert "FOCUSDESK_METRICS_TOKEN" in r.json()["message"]
        assert r.headers["www-authenticate"] == "Bearer"
    samples = scrape(guarded_server.url, token="scrape-me-7")
    # The refused scrapes were requests like any other.
    assert value(samples, "focusdesk_http_requests_total", **requests("GET", "/metrics", 401)) == 3
