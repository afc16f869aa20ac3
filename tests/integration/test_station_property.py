"""Property: desks that work offline, lose answers, crash and come back all end equal to the server,
with every command applied exactly once and the check-in conflict rule intact.

2–4 real stations (each on its own station file) against one real server, driven through random
interleavings of check-in / undo / walk-in, network cuts, answers lost after the server acted, station
crashes (reopened from the file alone), organizer deletions and clock skew between desks.

Device clocks are simulated (whole seconds plus a per-desk quarter-second), so that the server's
millisecond timestamps carry them exactly and the conflict rule can be re-derived from what it reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from focusdesk.domain import checkin as rule
from focusdesk.domain.errors import DomainError
from focusdesk.domain.timeutil import from_iso
from focusdesk.station.api import ApiError, ServerApi
from focusdesk.station.clock import Clock
from focusdesk.station.engine import Station
from focusdesk.station.sync import SyncLoop
from tests.pg_support import server_database
from tests.station_support import FlakyTransport
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, LiveServer, add_attendees, make_event

MAX_DESKS = 4
PEOPLE = 4
NAMES = ["Ana Lima", "Björn Öst", "Chidi Okafor", "Dana Kim", "Émile Roy"]
EXAMPLES = {"sqlite": 200, "postgresql": 200}


@pytest.fixture(scope="module")
def world(backend, tmp_path_factory):
    """One server for all examples; a desk token per desk slot (examples give each desk a new file)."""
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(server_database(backend, tmp_path_factory.mktemp("srv")))
        srv = LiveServer(database_url=url)
        yield from _serve(backend, srv.start())


def _serve(kind: str, srv: LiveServer):
    admin = Api(srv.url)
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    slots = []
    for i in range(MAX_DESKS):
        api = Api(srv.url)
        out = api.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk=f"Desk {i + 1}")
        slots.append((out["station"]["id"], f"Desk {i + 1}", out["token"]))
        api.close()
    try:
        yield kind, srv, admin, slots
    finally:
        admin.close()
        srv.stop()


class SimWall:
    """A desk's wall clock: shared simulated seconds, plus the desk's own skew."""

    def __init__(self, sim: list[float], skew: float):
        self.sim, self.skew = sim, skew

    def __call__(self) -> float:
        return self.sim[0] + self.skew


step = st.one_of(
    st.tuples(st.just("checkin"), st.integers(0, MAX_DESKS - 1), st.integers(0, PEOPLE + 1)),
    st.tuples(st.just("undo"), st.integers(0, MAX_DESKS - 1), st.integers(0, PEOPLE + 1)),
    st.tuples(st.just("walkin"), st.integers(0, MAX_DESKS - 1), st.integers(0, len(NAMES) - 1)),
    st.tuples(st.just("offline"), st.integers(0, MAX_DESKS - 1), st.just(0)),
    st.tuples(st.just("online"), st.integers(0, MAX_DESKS - 1), st.just(0)),
    st.tuples(st.just("sync"), st.integers(0, MAX_DESKS - 1), st.just(0)),
    st.tuples(st.just("lose_answer"), st.integers(0, MAX_DESKS - 1), st.integers(1, 2)),
    st.tuples(st.just("crash"), st.integers(0, MAX_DESKS - 1), st.just(0)),
    st.tuples(st.just("wait"), st.just(0), st.integers(1, 8)),
    st.tuples(st.just("delete"), st.just(0), st.integers(0, PEOPLE - 1)),
)


class Desk:
    def __init__(self, world_url: str, directory, slot, sim: list[float], skew: float):
        self.station_id, self.name, self.token = slot
        self.path = directory / f"{self.station_id}-{uuid.uuid4().hex[:6]}.db"
        self.url, self.sim, self.skew = world_url, sim, skew
        self.acted: list[int] = []
        self.crashes = 0

    async def open(self, event_id: int) -> None:
        self.net = FlakyTransport()
        self.api = ServerApi(self.url, self.token, transport=self.net)
        wall = SimWall(self.sim, self.skew)
        self.station = Station.open(
            station_id=self.station_id,
            station_name=self.name,
            event_id=event_id,
            path=self.path,
            clock=Clock(wall=wall),
        )
        self.station._wall = wall
        self.sync = SyncLoop(self.station, self.api, live=False)

    async def crash(self, event_id: int) -> None:
        """Everything in memory is lost; what the file holds is all that comes back."""
        await self.api.aclose()
        self.station.close()
        self.crashes += 1
        await self.open(event_id)

    async def try_sync(self) -> None:
        with contextlib.suppress(ApiError):
            await self.sync.sync_once()


async def run_example(world, steps, n_desks: int, skews: list[int], tmp_dir) -> None:
    _kind, srv, admin, slots = world
    event = make_event(admin, f"Prop {uuid.uuid4().hex[:6]}")
    event_id = event["id"]
    people = add_attendees(
        admin, event_id, [{"name": f"Person {i}", "email": f"p{i}-{event_id}@example.com"} for i in range(PEOPLE)]
    )
    # An hour in the past, so no desk stamp is ever "in the future" for the server (that would be clamped).
    sim = [float(int(time.time()) - 3600)]
    desks = [Desk(srv.url, tmp_dir, slots[i], sim, skews[i] + 0.25 * i) for i in range(n_desks)]
    for d in desks:
        await d.open(event_id)
        me = await d.api.me()
        d.station.on_server_watermark(me["station"]["last_cmd_seq"])
        await d.sync.pull()
    deleted: set[str] = set()
    walkin_ids: list[str] = []

    for op, who, arg in steps:
        sim[0] += 1
        if op == "wait":
            sim[0] += arg
            continue
        if op == "delete":
            pid = people[arg]["id"]
            if pid not in deleted:
                r = admin.delete(f"/api/v1/events/{event_id}/attendees/{pid}")
                assert r.status_code == 204, r.text
                deleted.add(pid)
            continue
        if who >= n_desks:
            continue
        d = desks[who]
        try:
            if op in ("checkin", "undo"):
                pool = [p["id"] for p in people] + walkin_ids
                target = pool[arg % len(pool)]
                result = d.station.check_in(target) if op == "checkin" else d.station.undo(target)
                d.acted.append(result.cmd_seq)
            elif op == "walkin":
                name = NAMES[arg]
                email = f"{name.split()[0].lower()}-{event_id}@example.com"
                result = d.station.walk_in(name, email=email)
                d.acted.append(result.cmd_seq)
                walkin_ids.append(result.attendee.id)
        except DomainError:
            pass  # refused at once on this desk (not checked in, already registered, removed): nothing queued
        if op == "offline":
            d.net.down = True
        elif op == "online":
            d.net.down = False
        elif op == "sync":
            await d.try_sync()
        elif op == "lose_answer":
            d.net.lose_next = arg
        elif op == "crash":
            await d.crash(event_id)

    # The network returns for good: everyone sends and catches up until nothing is left anywhere.
    for d in desks:
        d.net.down = False
        d.net.lose_next = 0
    for _round in range(3):
        for d in desks:
            await d.sync.sync_once()
    for d in desks:
        await d.sync.pull()
    check_converged(admin, event_id, desks, deleted)
    await check_replays_change_nothing(admin, event_id, desks)
    for d in desks:
        await d.api.aclose()
        d.station.close()


def check_converged(admin: Api, event_id: int, desks: list[Desk], deleted: set[str]) -> None:
    r = admin.get("/api/v1/sync", params={"scope": f"event:{event_id}"})
    assert r.status_code == 200, r.text
    snap = r.json()
    truth = {a["id"]: a for a in snap["state"]["attendees"]}
    facts = snap["state"]["checkins"]

    # Exactly once: no command left a second fact.
    keys = [(f["station_id"], f["cmd_seq"]) for f in facts]
    assert len(keys) == len(set(keys)), "a command was applied twice"

    # The conflict rule held: each person's state is what their facts add up to.
    by_person: dict[str, list[rule.Fact]] = {}
    for f in facts:
        by_person.setdefault(f["attendee_id"], []).append(
            rule.Fact(
                f["kind"],
                from_iso(f["at"]),
                f["station_id"],
                f["station_name"],
                f["cmd_seq"],
                from_iso(f["recorded_at"]),
            )
        )
    for attendee_id, a in truth.items():
        derived = rule.derive_state(by_person.get(attendee_id, []))
        assert (a["checked_in"], a["checkin_count"]) == (derived.checked_in, derived.checkin_count), a["name"]
        if derived.since is not None:
            assert a["checked_in_station"] == derived.since.station_name

    for d in desks:
        st_ = d.station
        # Nothing dropped: every action that returned was answered, and its effect is on the server
        # (or it was refused, and a person was told).
        status = st_.status()
        assert status.queued == 0, f"{d.name} still has {status.queued} queued"
        answers = {
            r["cmd_seq"]: (r["state"], r["attendee_id"], r["type"])
            for r in st_.db.conn.execute("SELECT cmd_seq, state, attendee_id, type FROM outbox")
        }
        told = {a.cmd_seq for a in st_.attention() if a.kind == "rejected"}
        mine = {seq for sid, seq in keys if sid == d.station_id}
        for seq in d.acted:
            state, attendee_id, _kind = answers[seq]
            if state == "rejected":
                assert seq in told, f"{d.name}: rejected command {seq} not shown to anyone"
                assert seq not in mine
            else:
                assert state == "applied"
                if attendee_id in truth:  # a fact survives unless its person was deleted afterwards
                    assert seq in mine, f"{d.name}: applied command {seq} left no fact on the server"
        assert mine <= set(d.acted), "the server holds a fact for a command this desk never made"

        # The replica equals the server.
        assert st_.cursor().seq == snap["seq"]
        rows = {r["id"]: r for r in st_.db.conn.execute("SELECT * FROM attendees WHERE event_id = ?", (event_id,))}
        assert set(rows) == set(truth), f"{d.name}: replica has different people"
        for attendee_id, a in truth.items():
            row = rows[attendee_id]
            assert (row["name"], row["reg_no"], row["email"], row["local_only"]) == (
                a["name"],
                a["registration_number"],
                a["email"],
                0,
            )
            assert (bool(row["checked_in"]), row["checkin_count"], row["checked_in_station"]) == (
                a["checked_in"],
                a["checkin_count"],
                a["checked_in_station"],
            ), f"{d.name}: {a['name']}"
            assert row["checked_in_at"] == from_iso(a["checked_in_at"])
        replica_facts = {
            (r[0], r[1])
            for r in st_.db.conn.execute("SELECT station_id, cmd_seq FROM facts WHERE event_id = ?", (event_id,))
        }
        assert replica_facts == set(keys)
    assert not (deleted & set(truth))


async def check_replays_change_nothing(admin: Api, event_id: int, desks: list[Desk]) -> None:
    """Send every desk's whole outbox again: the server answers each command from its store, exactly as
    the desk recorded it, and nothing changes."""
    head = admin.get("/api/v1/sync", params={"scope": f"event:{event_id}"}).json()["seq"]
    for d in desks:
        rows = d.station.next_batch(500, from_seq=1)
        if not rows:
            continue
        reply = await d.api.post_commands([r.wire() for r in rows])
        recorded = {r["cmd_seq"]: r["state"] for r in d.station.db.conn.execute("SELECT cmd_seq, state FROM outbox")}
        for answer in reply.results:
            assert answer["status"] == recorded[answer["cmd_seq"]], f"{d.name}: command {answer['cmd_seq']}"
    again = admin.get("/api/v1/sync", params={"scope": f"event:{event_id}", "epoch": "x"}).json()
    assert again["seq"] == head, "replaying commands changed the server"


_counter = itertools.count()


def test_desks_converge_to_the_server_exactly_once(world, tmp_path_factory):
    kind = world[0]

    @settings(
        max_examples=int(os.environ.get("FOCUSDESK_STATION_EXAMPLES", EXAMPLES[kind])),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=False,
    )
    @given(
        steps=st.lists(step, min_size=1, max_size=30),
        n_desks=st.integers(2, MAX_DESKS),
        skews=st.lists(st.integers(-20, 20), min_size=MAX_DESKS, max_size=MAX_DESKS),
    )
    def prop(steps, n_desks, skews):
        directory = tmp_path_factory.mktemp(f"ex{next(_counter)}")
        asyncio.run(run_example(world, steps, n_desks, skews, directory))

    prop()
