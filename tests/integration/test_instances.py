"""Several real server processes on one PostgreSQL and one Redis behave as one server (issue 9).

Every instance here is a separate ``python -m focusdesk.cli serve --database … --redis …`` process. In the
tests that prove Redis delivers, the instances' periodic reconcile (and the heartbeat, which also
reconciles) is set to ten minutes: a change made on one instance that reaches a desk on another within
seconds can only have come through Redis. The Redis-down test sets it short (1 s) on purpose, to prove
delivery goes on (slower) without Redis and is fast again once Redis is back.

Desks in the kill test talk to a round-robin proxy without sticky sessions (nginx's role): consecutive
connections of one desk land on different instances, and a killed instance's connections break.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import threading
import time
import uuid
from collections import Counter

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from focusdesk.domain import live
from focusdesk.server.store.changelog import event_scope
from tests.cluster_support import (
    REDIS_URL,
    Follower,
    Instance,
    PrivateRedis,
    RoundRobinProxy,
    change_log,
    print_logs_since,
    redis_server_binary,
    redis_unavailable_reason,
    running_instances,
    wait_healthy,
)
from tests.integration.conftest import fresh_pg_database, pg_unavailable_reason
from tests.integration.test_reservations import add_resource, iso_in
from tests.live_support import closed_with, hello, open_ws
from tests.station_support import sign_in_desk
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, add_attendees, create_admin, make_event, wait_until

# Long enough that nothing in this module is ever delivered by the periodic reconcile: what arrives on
# another instance came through Redis.
NO_RECONCILE_S = 600.0
DELIVERY_S = 10.0  # how long a change may take to reach another instance through Redis (generous: 2 cores)


def _skip_without_backends() -> None:
    for reason in (pg_unavailable_reason(), redis_unavailable_reason()):
        if reason:
            pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two instances on one fresh database and the shared Redis, reconcile off (see NO_RECONCILE_S)."""
    _skip_without_backends()
    with fresh_pg_database() as url:
        create_admin(url)
        with running_instances(
            url, REDIS_URL, tmp_path_factory.mktemp("instances"), 2, reconcile_s=NO_RECONCILE_S
        ) as instances:
            yield instances


@pytest.fixture
def instances(cluster):
    """The module's instances, with what each logged during this test printed afterwards (shown on failure)."""
    marks = {inst.name: inst.log_size() for inst in cluster}
    yield cluster
    print_logs_since(cluster, marks)


def signed_in(inst: Instance | str, desk: str | None = None) -> Api:
    api = Api(inst if isinstance(inst, str) else inst.url)
    api.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk=desk)
    return api


def with_token(url: str, token: str) -> Api:
    """An API client using a sign-in made elsewhere (its first request opens a new connection)."""
    api = Api(url)
    api.token = token
    api.http.headers["Authorization"] = f"Bearer {token}"
    return api


def import_people(api: Api, event_id: int, names: list[str]) -> list[str]:
    """Many attendees in one request; their ids in name order."""
    csv = "name\n" + "".join(f"{n}\n" for n in names)
    r = api.post(
        f"/api/v1/events/{event_id}/attendees/import", content=csv.encode(), headers={"content-type": "text/csv"}
    )
    assert r.status_code == 200 and r.json()["applied"], r.text
    state = api.get("/api/v1/sync", params={"scope": event_scope(event_id)}).json()["state"]
    by_name = {a["name"]: a["id"] for a in state["attendees"]}
    return [by_name[n] for n in names]


def without_type(frame: dict) -> dict:
    return {k: v for k, v in frame.items() if k != "type"}


def assert_stream_is_the_log(follower: Follower, log: list[dict]) -> None:
    """The follower got exactly the log after its snapshot: in order, nothing missing, nothing twice."""
    assert not follower.problems(), f"{follower.station_id} on {follower.url}: {follower.problems()}"
    expected = [c for c in log if c["seq"] > follower.base]
    assert [without_type(f) for f in follower.frames] == expected, (
        f"{follower.station_id} on {follower.url} saw {follower.seqs}, the log after {follower.base} is"
        f" {[c['seq'] for c in expected]}"
    )


def fact_of(frame: dict) -> tuple[str, int] | None:
    if frame.get("kind") != "checkin.recorded":
        return None
    fact = frame["data"]["fact"]
    return fact["station_id"], fact["cmd_seq"]


# -- 1. desks on different instances see each other's changes ------------------------------------------------


def test_desks_on_different_instances_see_each_others_changes_live(instances):
    a, b = instances
    admin = signed_in(a)
    event = make_event(admin)
    ev = event["id"]
    scope = event_scope(ev)
    people = add_attendees(admin, ev, [{"name": "Ana Silva"}, {"name": "Bo Chen"}])
    room = admin.post(f"/api/v1/events/{ev}/rooms", json={"name": "Hall A", "work_s": 600})
    assert room.status_code == 201, room.text
    room_id = room.json()["id"]
    studio = add_resource(admin, ev, name="Studio 1")
    desk_a, desk_b = signed_in(a, desk="Door A"), signed_in(b, desk="Door B")

    async def go():
        on_a = await Follower(a.url, admin.token, "watch-a", scope).open()
        on_b = await Follower(b.url, admin.token, "watch-b", scope).open()
        try:

            async def seen_on(follower: Follower, predicate, what: str) -> None:
                start = time.monotonic()
                try:
                    await follower.first(predicate, DELIVERY_S)
                except AssertionError as exc:
                    raise AssertionError(f"{what}: {exc}") from None
                print(f"{what}: {time.monotonic() - start:.3f} s")

            # A check-in on A reaches B's desk, and one on B reaches A's.
            for desk, person, there in ((desk_a, people[0], on_b), (desk_b, people[1], on_a)):
                result = await asyncio.to_thread(desk.checkin, ev, person["id"])
                assert result["status"] == "applied", result
                mine = (desk.station_id, result["cmd_seq"])
                await seen_on(there, lambda f, mine=mine: fact_of(f) == mine, f"check-in from {desk.station_id}")

            # A room timer command on A is seen running on B; B pauses it and A sees that.
            for desk, op, status, there in ((desk_a, "start", "running", on_b), (desk_b, "pause", "paused", on_a)):
                r = await asyncio.to_thread(
                    desk.send, {"type": "timer", "args": {"event_id": ev, "room_id": room_id, "op": op}}
                )
                assert r.status_code == 200, r.text
                answer = r.json()["results"][0]
                assert answer["status"] == "applied", answer
                rev = answer["room"]["rev"]

                def timer_change(f, rev=rev, status=status) -> bool:
                    room = f["data"].get("room") or {}
                    return (
                        f["kind"] == "room.updated"
                        and room.get("id") == room_id
                        and room.get("rev") == rev
                        and room["timer"]["status"] == status
                    )

                await seen_on(there, timer_change, f"timer {op} on {desk.station_id}")

            # A booking made over REST on B reaches A; one made by a desk command on A reaches B.
            booked = await asyncio.to_thread(
                desk_b.post,
                f"/api/v1/events/{ev}/reservations",
                json={"resource_id": studio["id"], "holder_name": "Ana", "start": iso_in(60), "end": iso_in(90)},
            )
            assert booked.status_code == 201, booked.text
            rest_id = booked.json()["reservations"][0]["id"]
            command = {
                "type": "reservation_create",
                "args": {
                    "event_id": ev,
                    "reservation": {
                        "id": uuid.uuid4().hex,
                        "resource_id": studio["id"],
                        "holder_name": "Bo",
                        "start": iso_in(120),
                        "end": iso_in(150),
                    },
                },
            }
            r = await asyncio.to_thread(desk_a.send, command)
            assert r.status_code == 200 and r.json()["results"][0]["status"] == "applied", r.text
            desk_id = r.json()["results"][0]["reservation"]["id"]
            for rid, there, what in ((rest_id, on_a, "booking over REST on B"), (desk_id, on_b, "desk booking on A")):
                await seen_on(
                    there,
                    lambda f, rid=rid: f["kind"] == "reservation.updated" and f["data"]["reservation"]["id"] == rid,
                    what,
                )

            log = await asyncio.to_thread(change_log, admin, scope)
            for follower in (on_a, on_b):
                await follower.reach(log[-1]["seq"], DELIVERY_S)
            return log, on_a, on_b
        finally:
            await on_a.close()
            await on_b.close()

    try:
        log, on_a, on_b = asyncio.run(go())
    finally:
        for api in (admin, desk_a, desk_b):
            api.close()
    # Both sockets carried the whole log after their snapshot, gap-free, each change once.
    for follower in (on_a, on_b):
        assert_stream_is_the_log(follower, log)
    assert len(on_b.frames) >= 6


# -- 2. the live-push property across instances ---------------------------------------------------------------

WRITE = st.tuples(st.sampled_from(["checkin", "undo", "walkin"]), st.integers(0, 3), st.integers(0, 1))
# Rounds of writes; the writes of one round are sent at once, on both instances.
ROUNDS = st.lists(st.lists(WRITE, min_size=1, max_size=4), min_size=1, max_size=6)


def _command(kind: str, event_id: int, person: str, n: int) -> dict:
    if kind == "walkin":
        return {"type": "walkin", "args": {"event_id": event_id, "attendee": {"name": f"Walk-in {n}"}}}
    cmd = "checkin" if kind == "checkin" else "undo_checkin"
    return {"type": cmd, "args": {"event_id": event_id, "attendee_id": person}}


def test_every_follower_on_every_instance_gets_exactly_the_log_in_order(instances):
    admin = signed_in(instances[0])
    # Four desks per instance, so every write of a round can go out at the same moment on its own desk.
    desks = [[signed_in(inst, desk=f"Desk {inst.name}{j}") for j in range(4)] for inst in instances]
    examples = []

    @settings(
        max_examples=10,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    # joins[k]: the round before which follower k (on instance k % 2) subscribes (at the latest before
    # the last round, so every follower has live changes to receive).
    @given(rounds=ROUNDS, joins=st.lists(st.integers(0, 5), min_size=4, max_size=4))
    def run(rounds, joins):
        event = make_event(admin)
        people = import_people(admin, event["id"], [f"P{i}" for i in range(4)])
        scope = event_scope(event["id"])
        examples.append(asyncio.run(scenario(event["id"], scope, people, rounds, joins)))

    async def scenario(event_id, scope, people, rounds, joins):
        followers: list[Follower] = []
        tag = uuid.uuid4().hex[:8]
        try:
            for r, writes in enumerate(rounds):
                for k, join in enumerate(joins):
                    if min(join, len(rounds) - 1) == r:
                        inst = instances[k % 2]
                        followers.append(await Follower(inst.url, admin.token, f"f{k}-{tag}", scope).open())
                sends = []
                for j, (kind, who, where) in enumerate(writes):
                    desk = desks[where][j]
                    sends.append(asyncio.to_thread(desk.send, _command(kind, event_id, people[who], j)))
                for answer in await asyncio.gather(*sends):
                    assert answer.status_code == 200, answer.text
            log = await asyncio.to_thread(change_log, admin, scope)
            head = log[-1]["seq"] if log else 0
            for follower in followers:
                await follower.reach(head, DELIVERY_S)
            for follower in followers:
                assert_stream_is_the_log(follower, log)
            return len(log), sum(len(f.frames) for f in followers)
        finally:
            for follower in followers:
                await follower.close()

    try:
        run()
    finally:
        for api in [admin, *desks[0], *desks[1]]:
            api.close()
    print(f"{len(examples)} examples: (log length, frames checked) = {examples}")
    assert sum(frames for _, frames in examples) > 0


# -- 3. the reservation race across instances ----------------------------------------------------------------


def test_thirty_clients_on_two_instances_racing_for_one_slot_leave_exactly_one_booking(instances):
    admin = signed_in(instances[0])
    event = make_event(admin)
    ev = event["id"]
    console = add_resource(admin, ev, kind="device", name="Console 1")
    start, end = iso_in(60), iso_in(90)
    # Every third contender is a desk sending a reservation_create command (the commands' group commit);
    # the others book over REST. Contender i talks to instance i % 2.
    desks = {i: signed_in(instances[i % 2], desk=f"Racer {i}") for i in range(0, 30, 3)}

    async def race():
        clients = [httpx.AsyncClient(base_url=inst.url, timeout=60) for inst in instances]
        for client in clients:
            client.headers["Authorization"] = f"Bearer {admin.token}"
        go = asyncio.Event()

        async def contender(i: int):
            await go.wait()
            if i in desks:
                desk = desks[i]
                reservation = {"id": uuid.uuid4().hex, "resource_id": console["id"], "holder_name": f"P{i}"}
                command = {
                    "type": "reservation_create",
                    "args": {"event_id": ev, "reservation": {**reservation, "start": start, "end": end}},
                }
                r = await asyncio.to_thread(desk.send, command)
                assert r.status_code == 200, r.text
                return i, r.json()["results"][0]
            body = {"resource_id": console["id"], "holder_name": f"P{i}", "start": start, "end": end}
            r = await clients[i % 2].post(f"/api/v1/events/{ev}/reservations", json=body)
            return i, {"http": r.status_code, **r.json()}

        try:
            tasks = [asyncio.create_task(contender(i)) for i in range(30)]
            await asyncio.sleep(0)
            go.set()
            return await asyncio.gather(*tasks)
        finally:
            for client in clients:
                await client.aclose()

    try:
        answers = asyncio.run(race())
        won, lost = [], []
        for i, answer in answers:
            ok = answer.get("http") == 201 or answer.get("status") == "applied"
            (won if ok else lost).append((i, answer))
        assert len(won) == 1, f"{len(won)} winners: {won}"
        winner_i, winner_answer = won[0]
        winner = winner_answer["reservations"][0] if "reservations" in winner_answer else winner_answer["reservation"]
        assert len(lost) == 29
        for i, answer in lost:
            assert answer.get("http", 409) == 409 and answer["code"] == "reservation_conflict", (i, answer)
            assert answer["conflict"]["id"] == winner["id"], (i, answer)
        # Both instances read the same single booking from the database.
        for inst in instances:
            held = [
                r
                for r in admin.http.get(
                    f"{inst.url}/api/v1/events/{ev}/reservations", params={"resource_id": console["id"]}
                ).json()
                if r["status"] in ("pending", "approved")
            ]
            assert [r["id"] for r in held] == [winner["id"]], inst.name
        print(f"winner: contender {winner_i} on instance {instances[winner_i % 2].name}")
    finally:
        admin.close()
        for desk in desks.values():
            desk.close()


# -- 3b. a desk signed out on one instance is signed out on all of them -------------------------------------


def test_a_desk_revoked_on_one_instance_is_refused_at_once_on_the_other(instances):
    a, b = instances
    admin = signed_in(a)
    desk = signed_in(b, desk="Lost laptop")
    try:
        # B has checked (and cached) the desk's token, and holds its live connection.
        assert desk.get("/api/v1/auth/me").status_code == 200

        async def go():
            ws = await open_ws(b.url)
            welcome = await hello(ws, desk.token, desk.station_id)
            assert welcome["type"] == "welcome", welcome
            revoked = await asyncio.to_thread(admin.post, f"/api/v1/stations/{desk.station_id}/revoke")
            assert revoked.status_code == 200 and revoked.json()["revoked"] >= 1, revoked.text
            started = time.monotonic()
            # B caches a token check for token_cache_s (10 s) and its heartbeat is ten minutes away:
            # only the revocation heard through Redis can end this connection and refuse the token now.
            code, reason = await closed_with(ws, timeout=5)
            refused = await asyncio.to_thread(
                wait_until,
                lambda: desk.get("/api/v1/auth/me").status_code == 401,
                5,
                0.05,
                "B to refuse the revoked token",
            )
            return code, reason, refused, time.monotonic() - started

        code, reason, refused, took = asyncio.run(go())
        print(f"B closed the live connection and refused the token {took:.3f} s after the revocation on A")
        assert code == live.CLOSE_UNAUTHORIZED, (code, reason)
        assert refused
    finally:
        admin.close()
        desk.close()


# -- 4. one instance killed while desks work -------------------------------------------------------------------


@pytest.fixture
def three_behind_a_proxy(tmp_path):
    """Three instances (reconcile 2 s, the default) behind a round-robin proxy, on a fresh database."""
    _skip_without_backends()
    with fresh_pg_database() as url:
        create_admin(url)
        with running_instances(url, REDIS_URL, tmp_path / "instances", 3, reconcile_s=2.0) as instances:
            proxy = RoundRobinProxy([("127.0.0.1", inst.port) for inst in instances]).start()
            try:
                yield instances, proxy
            finally:
                proxy.stop()
                print(
                    f"proxy: accepted {dict(proxy.accepted)}, refused {dict(proxy.unreachable)},"
                    f" turned away {proxy.turned_away}"
                )


def test_killing_an_instance_mid_load_loses_and_doubles_nothing(three_behind_a_proxy, tmp_path):
    instances, proxy = three_behind_a_proxy
    per_desk = 30
    admin = signed_in(proxy.url)
    event = make_event(admin)
    ev = event["id"]
    scope = event_scope(ev)
    people = import_people(admin, ev, [f"K{i:03d}" for i in range(3 * per_desk)])
    # Only desks hold connections through the proxy while they work: a killed instance cut desks off.
    token = admin.token
    admin.close()
    admin = with_token(proxy.url, token)
    victim_at_kill: dict[str, object] = {}

    async def go():
        desks = []
        followers = []
        try:
            for i in range(3):
                desk = await sign_in_desk(proxy.url, tmp_path, ev, f"Desk {i}", live=True)
                await desk.sync.sync_once()  # the replica holds everyone before the first check-in
                desk.sync.start()
                desks.append(desk)
            for inst in instances:
                followers.append(await Follower(inst.url, token, f"watch-{inst.name}", scope).open())
            done = Counter()
            kill_now = asyncio.Event()

            async def work(d: int) -> None:
                for person in people[d * per_desk : (d + 1) * per_desk]:
                    desks[d].station.check_in(person)
                    done[d] += 1
                    if sum(done.values()) >= per_desk:  # a third of all check-ins made
                        kill_now.set()
                    await asyncio.sleep(0.02)  # a busy door, not a benchmark

            async def kill() -> None:
                await kill_now.wait()
                victim = max(instances, key=lambda inst: proxy.active_count(inst.port))
                victim_at_kill.update(
                    name=victim.name,
                    active=proxy.active_count(victim.port),
                    accepted_in_all=sum(proxy.accepted.values()),
                    checkins_made=sum(done.values()),
                    queued=[d.station.status().queued for d in desks],
                )
                await asyncio.to_thread(victim.kill)
                victim_at_kill["accepted_there"] = proxy.accepted[victim.port]

            await asyncio.gather(*(work(d) for d in range(3)), kill())
            survivors = [inst for inst in instances if not inst.killed]
            assert len(survivors) == 2

            # Every desk drains its outbox through the survivors.
            async def drained() -> None:
                deadline = time.monotonic() + 60
                while any(d.station.status().queued for d in desks):
                    if time.monotonic() > deadline:
                        raise AssertionError(f"outboxes still hold {[d.station.status() for d in desks]}")
                    await asyncio.sleep(0.05)

            await drained()
            log = await asyncio.to_thread(change_log, admin, scope)
            head = log[-1]["seq"]
            for follower in followers:
                if follower.url not in {inst.url for inst in survivors}:
                    continue  # it followed the killed instance
                await follower.reach(head, 30)
            # The desks (live through the proxy, reconnected to a survivor) apply only contiguous changes:
            # reaching the head means they saw every change.
            deadline = time.monotonic() + 30
            while any(d.station.cursor().seq != head for d in desks):
                if time.monotonic() > deadline:
                    raise AssertionError(f"desks at {[d.station.cursor().seq for d in desks]}, log at {head}")
                await asyncio.sleep(0.05)
            outboxes = {
                d.station_id: [
                    tuple(row)
                    for row in d.station.db.conn.execute(
                        "SELECT cmd_seq, type, attendee_id, state, attempts FROM outbox ORDER BY cmd_seq"
                    )
                ]
                for d in desks
            }
            replicas = {
                d.station_id: {
                    tuple(row)
                    for row in d.station.db.conn.execute("SELECT station_id, cmd_seq, attendee_id FROM facts")
                }
                for d in desks
            }
            return log, followers, outboxes, replicas
        finally:
            for follower in followers:
                await follower.close()
            for desk in desks:
                await desk.close()

    try:
        log, followers, outboxes, replicas = asyncio.run(go())
        snapshot = admin.get("/api/v1/sync", params={"scope": scope}).json()
    finally:
        admin.close()
    victim = next(inst for inst in instances if inst.killed)
    retried = {station_id: sum(row[4] > 0 for row in rows) for station_id, rows in outboxes.items()}
    print(f"killed {victim_at_kill}; proxy accepted {dict(proxy.accepted)}; commands sent again: {retried}")
    assert victim_at_kill["active"] > 0, "the killed instance was serving no desk connection: nothing was proven"

    db_facts = Counter((f["station_id"], f["cmd_seq"], f["attendee_id"]) for f in snapshot["state"]["checkins"])
    assert all(n == 1 for n in db_facts.values()), [k for k, n in db_facts.items() if n > 1]
    logged = Counter(
        (c["data"]["fact"]["station_id"], c["data"]["fact"]["cmd_seq"], c["data"]["attendee"]["id"])
        for c in log
        if c["kind"] == "checkin.recorded"
    )
    assert all(n == 1 for n in logged.values()), [k for k, n in logged.items() if n > 1]
    assert set(logged) == set(db_facts)
    for station_id, rows in outboxes.items():
        assert len(rows) == per_desk
        states = Counter(row[3] for row in rows)
        assert states == {"applied": per_desk}, f"{station_id}: {states}"
        acknowledged = {(station_id, row[0], row[2]) for row in rows}
        mine = {fact for fact in db_facts if fact[0] == station_id}
        # What the desk saw acknowledged is exactly what the database holds from it: each once.
        assert acknowledged == mine, f"{station_id}: missing {acknowledged - mine}, extra {mine - acknowledged}"
    for station_id, facts in replicas.items():
        assert facts == set(db_facts), f"{station_id}'s replica differs from the server"

    for follower in followers:
        if follower.url == victim.url:
            continue
        assert_stream_is_the_log(follower, log)
    # Connections cut by the kill came back through the proxy, to the survivors only.
    assert proxy.accepted[victim.port] == victim_at_kill["accepted_there"]
    assert sum(proxy.accepted.values()) > victim_at_kill["accepted_in_all"], "nobody reconnected after the kill"


# -- 5. Redis stopped and started again while desks work ---------------------------------------------------------


class Writer:
    """A desk on one instance checking people in and out without pause, in its own thread; keeps when
    each command was sent and what came back."""

    def __init__(self, api: Api, event_id: int, people: list[str]):
        self.api = api
        self.event_id = event_id
        self.people = people
        self.sent: list[tuple[float, float, dict]] = []  # (sent at, answered at, result)
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="writer", daemon=True)

    def start(self) -> Writer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            person = self.people[n % len(self.people)]
            kind = "checkin" if (n // len(self.people)) % 2 == 0 else "undo_checkin"
            t0 = time.monotonic()
            try:
                r = self.api.send({"type": kind, "args": {"event_id": self.event_id, "attendee_id": person}})
            except httpx.HTTPError as exc:
                self.failures.append(f"#{n}: {type(exc).__name__}: {exc}")
            else:
                if r.status_code != 200 or r.json()["results"][0]["status"] != "applied":
                    self.failures.append(f"#{n}: {r.status_code} {r.text[:300]}")
                else:
                    self.sent.append((t0, time.monotonic(), r.json()["results"][0]))
            n += 1
            self._stop.wait(0.03)

    def count_after(self, t: float) -> int:
        return sum(1 for sent_at, _, _ in self.sent if sent_at >= t)


def test_redis_stopped_and_restarted_slows_delivery_but_loses_nothing(tmp_path):
    if pg_unavailable_reason():
        pytest.skip(pg_unavailable_reason())
    if redis_server_binary() is None:
        pytest.skip("redis-server is not on PATH: this test starts (and stops) a Redis of its own")
    reconcile_s = 2.0  # far from Redis delivery (~15 ms) either way: the medians below tell the paths apart
    redis = PrivateRedis(tmp_path / "redis").start()
    with contextlib.ExitStack() as stack:
        stack.callback(redis.stop)
        url = stack.enter_context(fresh_pg_database())
        create_admin(url)
        a, b = stack.enter_context(
            running_instances(url, redis.url, tmp_path / "instances", 2, reconcile_s=reconcile_s)
        )
        admin = signed_in(a)
        stack.callback(admin.close)
        event = make_event(admin)
        ev = event["id"]
        scope = event_scope(ev)
        people = import_people(admin, ev, [f"R{i}" for i in range(10)])
        desk = signed_in(a, desk="Door A")
        stack.callback(desk.close)
        phases: dict[str, tuple[float, float]] = {}

        async def go():
            on_b = await Follower(b.url, admin.token, "watch-b", scope).open()
            writer = Writer(desk, ev, people).start()
            try:

                async def writes_after(t: float, n: int, what: str) -> None:
                    deadline = time.monotonic() + 30
                    while writer.count_after(t) < n:
                        assert not writer.failures, writer.failures
                        if time.monotonic() > deadline:
                            raise AssertionError(f"only {writer.count_after(t)} writes {what} in 30 s")
                        await asyncio.sleep(0.05)

                t = time.monotonic()
                await writes_after(t, 15, "with Redis up")
                phases["up"] = (t, time.monotonic())

                await asyncio.to_thread(redis.stop)
                t_stop = time.monotonic()
                for inst in (a, b):
                    body = await asyncio.to_thread(wait_healthy, inst, 15, "unavailable")
                    assert body["status"] == "ok" and body["database"] == "ok", body
                t = time.monotonic()
                print(f"both instances said redis unavailable {t - t_stop:.2f} s after it stopped")
                await writes_after(t, 15, "with Redis down")
                phases["down"] = (t, time.monotonic())

                await asyncio.to_thread(redis.start)
                t_start = time.monotonic()
                for inst in (a, b):
                    await asyncio.to_thread(wait_healthy, inst, 15, "ok")
                t = time.monotonic()
                print(f"both instances said redis ok {t - t_start:.2f} s after it was back")
                assert t - t_start < 10, f"Redis was back for {t - t_start:.1f} s before /health said so"
                await writes_after(t, 15, "with Redis back")
                phases["back"] = (t, time.monotonic())
            finally:
                writer.stop()
            try:
                assert not writer.failures, writer.failures
                log = await asyncio.to_thread(change_log, admin, scope)
                await on_b.reach(log[-1]["seq"], 15)
                return log, on_b, writer
            finally:
                await on_b.close()

        log, on_b, writer = asyncio.run(go())

    # No change lost, none twice, in order — through all three phases.
    assert_stream_is_the_log(on_b, log)
    arrival = {fact_of(f): t for f, t in zip(on_b.frames, on_b.arrived, strict=True) if fact_of(f)}
    latency: dict[str, list[float]] = {name: [] for name in phases}
    for sent_at, _, result in writer.sent:
        key = (desk.station_id, result["cmd_seq"])
        assert key in arrival, f"check-in {key} never reached B"
        for name, (begin, end) in phases.items():
            if begin <= sent_at <= end:
                latency[name].append(arrival[key] - sent_at)
    medians = {name: statistics.median(values) for name, values in latency.items()}
    worst = {name: max(values) for name, values in latency.items()}
    print(f"delivery to B, median {medians}, worst {worst} (reconcile every {reconcile_s} s)")
    # Without Redis, B hears of A's writes only through its reconcile; with Redis back, at once again.
    assert medians["back"] < 0.4 * reconcile_s, f"delivery stayed slow after Redis came back: {medians}"
    assert medians["up"] < 0.4 * reconcile_s, f"delivery was slow with Redis up: {medians}"
    assert all(values for values in latency.values()), latency
