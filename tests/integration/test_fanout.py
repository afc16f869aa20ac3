"""The Redis link between instances, in process: two real servers on one PostgreSQL database.

What crosses processes (kill an instance, stop Redis) is proved in test_instances.py with real
`focusdesk serve` processes; here the instances share this process, so their state can be looked at.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools

import httpx
import pytest

from focusdesk.server.fanout import channel_for
from tests.live_support import hello, open_ws, recv_until, subscribe
from tests.support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Api,
    LiveServer,
    add_attendees,
    create_admin,
    make_event,
    wait_until,
)

REDIS_URL = "redis://127.0.0.1:6379/0"


@functools.cache
def redis_unavailable_reason() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        return f"Redis is not reachable at {REDIS_URL} ({type(exc).__name__}: {exc})"
    return None


@pytest.fixture
def redis_url():
    reason = redis_unavailable_reason()
    if reason:
        pytest.skip(reason)
    return REDIS_URL


# A reconcile far longer than any wait below: what arrives, arrived through Redis.
SLOW_RECONCILE = {"live_reconcile_s": 60.0, "live_heartbeat_s": 60.0}


def _instance(url: str, redis_url: str | None, **overrides) -> LiveServer:
    srv = LiveServer(database_url=url)
    srv.settings.redis_url = redis_url
    for key, value in {**SLOW_RECONCILE, **overrides}.items():
        setattr(srv.settings, key, value)
    return srv


@contextlib.contextmanager
def instances(url: str, redis_url: str | None, count: int = 2, **overrides):
    """``count`` servers on one database, started at the same time (their migrations race)."""
    servers = [_instance(url, redis_url, **overrides) for _ in range(count)]
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        started = list(pool.map(lambda s: s.start(), servers))
    try:
        yield started
    finally:
        for srv in started:
            srv.stop()


def test_instances_started_together_on_a_fresh_database_migrate_once(pg_database, redis_url):
    # No admin, no migration beforehand: both instances find an empty database.
    with instances(pg_database, redis_url) as (a, b):
        for srv in (a, b):
            body = httpx.get(srv.url + "/health").json()
            assert body["status"] == "ok" and body["redis"] == "ok", body
        assert a.state.instance_id != b.state.instance_id
        ids = {httpx.get(s.url + "/health").json()["instance"] for s in (a, b)}
        assert ids == {a.state.instance_id, b.state.instance_id}
        # One installation: both talk on the same channel.
        assert a.state.fanout.channel == b.state.fanout.channel
        assert a.state.fanout.channel.startswith("focusdesk:")


def test_health_says_redis_is_off_without_it(pg_database):
    create_admin(pg_database)
    with instances(pg_database, None, count=1) as (a,):
        body = httpx.get(a.url + "/health").json()
        assert body["redis"] == "off" and body["status"] == "ok"
        assert a.state.fanout is None


def _desk(url: str, name: str, station_id: str) -> tuple[Api, str]:
    api = Api(url)
    token = api.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk=name, station_id=station_id)["token"]
    return api, token


def test_a_check_in_on_one_instance_reaches_a_desk_on_the_other_through_redis(pg_database, redis_url):
    create_admin(pg_database)
    with instances(pg_database, redis_url) as (a, b):
        admin = Api(a.url)
        admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        event = make_event(admin)
        people = add_attendees(admin, event["id"], [{"name": f"Person {i}"} for i in range(6)])
        desk_a, _ = _desk(a.url, "Entrance 1", "station-aaaa-0001")
        _desk_b, token_b = _desk(b.url, "Entrance 2", "station-bbbb-0002")
        scope = f"event:{event['id']}"

        async def watch() -> list[int]:
            ws = await open_ws(b.url)
            await hello(ws, token_b, "station-bbbb-0002")
            base = (await subscribe(ws, scope))["seq"]
            seen = []
            for person in people:
                await asyncio.to_thread(desk_a.checkin, event["id"], person["id"])
                frame = await recv_until(ws, lambda f: f["type"] == "change", timeout=5)
                seen.append(frame["seq"] - base)
            await ws.close()
            return seen

        # The reconcile runs once a minute: each change arriving within 5 s came through Redis.
        assert asyncio.run(watch()) == [1, 2, 3, 4, 5, 6]
        assert a.state.fanout.sent >= 1 and b.state.fanout.received >= 1


def test_signing_out_on_one_instance_is_honoured_at_once_by_the_other(pg_database, redis_url):
    create_admin(pg_database)
    # Token checks are cached for 10 s per instance; the revocation must not wait for that.
    with instances(pg_database, redis_url, token_cache_s=3600.0) as (a, b):
        desk_a, token = _desk(a.url, "Entrance 1", "station-aaaa-0001")
        on_b = Api(b.url)
        on_b.http.headers["Authorization"] = f"Bearer {token}"
        assert on_b.get("/api/v1/auth/me").status_code == 200  # now cached on b
        assert desk_a.post("/api/v1/auth/logout").status_code == 204

        def refused() -> bool:
            return on_b.get("/api/v1/auth/me").status_code == 401

        wait_until(refused, timeout=5, what="instance b to refuse the revoked token")


def test_another_installation_on_the_same_redis_is_not_heard(pg_database, redis_url):
    """Two databases (two venues, or two test runs) sharing one Redis never poke each other."""
    from tests.integration.conftest import fresh_pg_database

    create_admin(pg_database)
    with fresh_pg_database() as other_url:
        create_admin(other_url)
        with instances(pg_database, redis_url, count=1) as (a,), instances(other_url, redis_url, count=1) as (x,):
            assert a.state.fanout.channel != x.state.fanout.channel
            assert a.state.fanout.channel == channel_for(a.state.db.read_sync(_installation))
            admin = Api(a.url)
            admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
            make_event(admin)
            wait_until(lambda: a.state.fanout.sent >= 1, timeout=5, what="a to announce its commit")
            assert x.state.fanout.received == 0


def _installation(conn):
    from focusdesk.server.store.meta import read_installation_id

    return read_installation_id(conn)


def test_failed_sign_ins_are_counted_across_instances(pg_database, redis_url):
    """Behind a round-robin proxy each instance must not grant its own allowance of guesses."""
    create_admin(pg_database)
    with instances(pg_database, redis_url) as (a, b):
        limit = a.state.settings.login_failures_per_email
        for i in range(limit):
            target = (a, b)[i % 2]
            r = httpx.post(target.url + "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": "wrong-guess"})
            assert r.status_code == 401, r.text

        def both_throttle() -> bool:
            # Looked at without another attempt, which would itself count as a failure.
            return all(s.state.login_by_email.retry_after(_email_key(ADMIN_EMAIL)) is not None for s in (a, b))

        # Each instance saw only half of the failures itself; the others arrived through Redis.
        wait_until(both_throttle, timeout=5, what="both instances to count every failure")
        for srv in (a, b):
            r = httpx.post(srv.url + "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            assert r.status_code == 429 and "try again" in r.json()["message"], r.text


def _email_key(email: str) -> str:
    import hashlib

    return hashlib.sha256(email.lower().encode()).hexdigest()[:32]


def test_every_instances_reservation_clock_releases_a_no_show_and_reminds_once(pg_database, redis_url):
    """The reservation clock runs on each instance; they race for the same due bookings."""
    from tests.integration.test_reservations import MovableClock, add_resource, book, iso_in

    create_admin(pg_database)
    clock = MovableClock()
    with instances(pg_database, redis_url, count=3, clock=clock) as servers:
        api = Api(servers[0].url)
        api.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Desk 1")
        event = make_event(api, timezone="Europe/Berlin")
        room = add_resource(api, event["id"], name="Pod 1", release_after_min=10)
        for i in range(4):  # four bookings of 10 minutes, starting in 20, 32, 44 and 56 minutes
            r = book(api, event["id"], room["id"], iso_in(20 + 12 * i), iso_in(30 + 12 * i), holder_name=f"Absent {i}")
            assert r.status_code == 201, r.text
        before = api.get("/api/v1/sync", params={"scope": f"event:{event['id']}"}).json()

        def one_pass_everywhere() -> None:
            # A pass that began after the wake, on every instance (one already running read the old time).
            begun = [s.state.reservation_clock.begun for s in servers]
            for srv in servers:
                srv.state.reservation_clock.wake()
            wait_until(
                lambda: all(s.state.reservation_clock.passes > b for s, b in zip(servers, begun, strict=True)),
                what="a pass of every instance's reservation clock",
            )

        def changes_since_before() -> list[dict]:
            params = {"scope": f"event:{event['id']}", "epoch": before["epoch"], "since": before["seq"]}
            return api.get("/api/v1/sync", params=params).json()["changes"]

        # 12 minutes on, the first booking starts in 8: its reminder (10 minutes ahead) is due.
        clock.advance(12 * 60)
        one_pass_everywhere()
        reminders = [c for c in changes_since_before() if c["kind"] == "notice.posted"]
        assert len(reminders) == 1, reminders
        assert "Absent 0" in reminders[0]["data"]["notice"]["body"]

        # 70 minutes on: every booking is a no-show, each released by exactly one instance.
        clock.advance(58 * 60)
        one_pass_everywhere()
        released = [
            c["data"]["reservation"]["id"]
            for c in changes_since_before()
            if c["kind"] == "reservation.updated" and c["data"]["reservation"]["status"] == "no_show"
        ]
        assert len(released) == 4 and len(set(released)) == 4, released


def test_one_person_checked_in_at_once_on_two_instances_loses_neither_check_in(pg_database, redis_url):
    """Each attendee's row is locked before the check-in rule reads it, so concurrent transactions on
    different instances decide one after the other: the second sees the first (no lost update).

    (Which of the two is "already checked in" follows the desks' clocks, not the order of arrival —
    DESIGN.md's rule — so that is not what is asserted here.)
    """
    create_admin(pg_database)
    with instances(pg_database, redis_url) as (a, b):
        admin = Api(a.url)
        admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        event = make_event(admin)
        people = add_attendees(admin, event["id"], [{"name": f"Guest {i}"} for i in range(20)])
        desk_a, _ = _desk(a.url, "Door A", "station-aaaa-0001")
        desk_b, _ = _desk(b.url, "Door B", "station-bbbb-0002")
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for person in people:
                both = [pool.submit(d.checkin, event["id"], person["id"]) for d in (desk_a, desk_b)]
                answers = [f.result() for f in both]
                assert [x["status"] for x in answers] == ["applied", "applied"], answers
                # One of the two answers counted the other: the second transaction read the first's row.
                assert sorted(x["attendee"]["checkin_count"] for x in answers) == [1, 2], answers
        for person in people:
            got = admin.get(f"/api/v1/events/{event['id']}/attendees/{person['id']}").json()
            assert got["checked_in"] and got["checkin_count"] == 2, got
