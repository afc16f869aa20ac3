"""Property: desks with different clocks run one room's timer through the real server — online, offline,
in any interleaving — and afterwards

- the server's timer is the one the last applied command (in the server's order) set, and every applied
  command made exactly one new version of the room (no lost update);
- every desk holds the server's room, and shows the same remaining time as the server's clock gives,
  within that desk's measured clock error (so two desks differ by at most the sum of theirs);
- every command the server refused is in its desk's "needs attention" list with the reason.

Desks keep their station files across examples (like real desks through a day); each example has a new
room and new clock skews.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from focusdesk.domain import timers
from focusdesk.domain.errors import DomainError
from focusdesk.station.api import ApiError
from focusdesk.station.clock import Clock
from tests.pg_support import server_database
from tests.station_support import sign_in_desk
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, LiveServer, make_event

DESKS = 3
EXAMPLES = {"sqlite": 40, "postgresql": 20}
# A desk's remaining time may differ from the truth by its clock error, plus the time that passes between
# reading the truth and reading the desk (both read in the same few microseconds here).
SLACK_S = 0.05


class SkewedWall:
    def __init__(self):
        self.skew = 0.0

    def __call__(self) -> float:
        return time.time() + self.skew


@pytest.fixture(scope="module")
def world(backend, tmp_path_factory):
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(server_database(backend, tmp_path_factory.mktemp("srv")))
        srv = LiveServer(database_url=url)
        srv.start()
        admin = Api(srv.url)
        admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        event = make_event(admin)
        directory = tmp_path_factory.mktemp("desks")
        walls = [SkewedWall() for _ in range(DESKS)]

        async def open_all():
            return [
                await sign_in_desk(srv.url, directory, event["id"], f"Laptop {i + 1}", clock=Clock(wall=walls[i]))
                for i in range(DESKS)
            ]

        # One loop for the whole module: the desks' HTTP clients belong to the loop they were made on.
        loop = asyncio.new_event_loop()
        desks = loop.run_until_complete(open_all())
        try:
            yield backend, admin, event, desks, walls, loop
        finally:

            async def close_all():
                for desk in desks:
                    await desk.close()

            loop.run_until_complete(close_all())
            loop.close()
            admin.close()
            srv.stop()


op = st.one_of(
    st.tuples(st.just("start"), st.sampled_from([{}, {"duration_s": 90}, {"preset": "pomodoro-25-5"}])),
    st.tuples(st.sampled_from(["pause", "resume", "reset"]), st.just({})),
    st.tuples(st.just("adjust"), st.sampled_from([{"delta_s": 60}, {"delta_s": -60}])),
    st.tuples(st.just("message"), st.sampled_from([{"text": "Five minutes"}, {"text": ""}])),
)
timer_step = st.tuples(st.just("timer"), st.integers(0, DESKS - 1), op)
# Mostly timer commands (many are refused at once by the desk's own view), with the network in between.
step = st.one_of(
    timer_step,
    timer_step,
    timer_step,
    st.tuples(st.sampled_from(["down", "up", "sync"]), st.integers(0, DESKS - 1), st.none()),
)


async def measure_clock(desk) -> None:
    clock = desk.station.clock
    clock._samples.clear()
    clock._best = None
    for _ in range(3):
        t0, server_time, t1 = await desk.api.time_sample(wall=clock.wall)
        clock.add(t0, server_time, t1)


async def settle(desks) -> None:
    for desk in desks:
        desk.net.down = False
    for _ in range(2):
        for desk in desks:
            await desk.sync.sync_once()


async def run_example(admin: Api, event: dict, desks, walls, steps, skews) -> None:
    await settle(desks)
    for wall, skew, desk in zip(walls, skews, desks, strict=True):
        wall.skew = skew
        await measure_clock(desk)
    room = admin.post(f"/api/v1/events/{event['id']}/rooms", json={"name": f"Room {time.time_ns()}"}).json()
    await settle(desks)
    attention_before = [len(d.station.attention()) for d in desks]
    first_seq = [d.station.db.conn.execute("SELECT coalesce(max(cmd_seq), 0) FROM outbox").fetchone()[0] for d in desks]

    for kind, index, payload in steps:
        desk = desks[index]
        if kind == "down":
            desk.net.down = True
        elif kind == "up":
            desk.net.down = False
        elif kind == "sync":
            with contextlib.suppress(ApiError):
                await desk.sync.sync_once()
        else:
            name, args = payload
            # The desk checks against its own view first; an impossible command is refused at once.
            with contextlib.suppress(DomainError):
                desk.station.rooms.timer(room["id"], name, **args)
    await settle(desks)

    truth = next(r for r in admin.get(f"/api/v1/events/{event['id']}/rooms").json() if r["id"] == room["id"])
    # Every applied command of this example, with the room it left.
    applied, refused = [], []
    for i, desk in enumerate(desks):
        rows = desk.station.db.conn.execute(
            "SELECT state, result, args FROM outbox WHERE cmd_seq > ? AND type = 'timer'", (first_seq[i],)
        ).fetchall()
        for state, result, args in rows:
            assert state in ("applied", "rejected"), "every command was answered"
            answer = json.loads(result)
            assert json.loads(args)["room_id"] == room["id"]
            (applied if state == "applied" else refused).append(answer)
        new_attention = (
            desk.station.attention()[attention_before[i] :] if attention_before[i] else desk.station.attention()
        )
        assert len([a for a in new_attention if a.code != "forbidden"]) == len(
            [r for r in rows if r[0] == "rejected"]
        ), "each refusal is shown to a person"
    revs = sorted(a["room"]["rev"] for a in applied)
    assert revs == list(range(2, 2 + len(applied))), "each applied command made exactly one new version"
    assert truth["rev"] == 1 + len(applied)
    if applied:
        last = max(applied, key=lambda a: a["room"]["rev"])
        assert truth["timer"] == last["room"]["timer"], "the server keeps what the last command in its order set"
    for answer in refused:
        assert answer["message"] and answer["code"] in {
            "already_running", "paused", "not_running", "not_paused", "already_idle", "not_started", "too_much",
        }  # fmt: skip

    server_timer = timers.TimerState.from_dict(truth["timer"])
    readings = []
    for desk in desks:
        mine = desk.station.rooms.get(room["id"])
        assert not mine.pending
        assert mine.timer == server_timer, f"{desk.name} holds the server's timer"
        true_now = time.time()
        shown = mine.remaining(desk.station.server_now())
        expected = timers.remaining(server_timer, true_now)
        error = desk.station.clock.error_s
        assert abs(shown - expected) <= error + SLACK_S, (desk.name, shown, expected, error)
        readings.append((shown, error))
    for a_shown, a_err in readings:
        for b_shown, b_err in readings:
            assert abs(a_shown - b_shown) <= a_err + b_err + 2 * SLACK_S


def test_timer_commands_from_desks_with_different_clocks(world):
    kind, admin, event, desks, walls, loop = world

    @settings(
        max_examples=int(os.environ.get("FOCUSDESK_TIMER_EXAMPLES", EXAMPLES[kind])),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        steps=st.lists(step, min_size=4, max_size=30),
        skews=st.lists(st.floats(-90, 90), min_size=DESKS, max_size=DESKS),
    )
    def prop(steps, skews):
        loop.run_until_complete(run_example(admin, event, desks, walls, steps, skews))

    prop()
