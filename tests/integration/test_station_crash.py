"""kill -9 of a desk process: whatever an action returned is on disk and reaches the server once."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.station_support import FlakyTransport
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, add_attendees, free_port, make_event

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def spawn_desk(url: str, token: str, station_id: str, db: Path, event_id: int, people: list[str]):
    return subprocess.Popen(
        [sys.executable, "-m", "tests.station_child", url, token, station_id, str(db), str(event_id), *people],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def read_until(proc, predicate, limit: int = 10_000) -> list[str]:
    lines = []
    for _ in range(limit):
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
        if predicate(lines):
            break
    return lines


async def finish_from_file(url: str, token: str, station_id: str, db: Path, event_id: int):
    """Restart the desk from its file alone and let it send everything it holds."""
    from focusdesk.station.api import ServerApi
    from focusdesk.station.engine import Station
    from focusdesk.station.sync import SyncLoop

    station = Station.open(station_id=station_id, station_name="Child", event_id=event_id, path=db)
    queued_at_restart = station.status().queued
    api = ServerApi(url, token, transport=FlakyTransport())
    sync = SyncLoop(station, api, live=False)
    await sync.sync_once()
    await sync.sync_once()
    left = station.status().queued
    outbox = {r[0]: r[1] for r in station.db.conn.execute("SELECT cmd_seq, state FROM outbox")}
    station.close()
    await api.aclose()
    return queued_at_restart, left, outbox


def facts_of(admin: Api, event_id: int, station_id: str) -> list[tuple[int, str]]:
    snap = admin.get("/api/v1/sync", params={"scope": f"event:{event_id}"}).json()
    return sorted((f["cmd_seq"], f["attendee_id"]) for f in snap["state"]["checkins"] if f["station_id"] == station_id)


@pytest.fixture
def venue(server):
    admin = Api(server.url)
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    event = make_event(admin)
    people = [p["id"] for p in add_attendees(admin, event["id"], [{"name": f"K{i}"} for i in range(40)])]
    desk = Api(server.url)
    out = desk.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Child")
    yield server, admin, event["id"], people, out["station"]["id"], out["token"]
    admin.close()
    desk.close()


def test_an_action_killed_before_it_was_sent_is_sent_after_restart(venue, tmp_path):
    server, admin, event_id, people, station_id, token = venue
    db = tmp_path / "desk.db"
    # First run online, so the desk has its replica; then the desk loses the server and is killed
    # right after one more action returned.
    proc = spawn_desk(server.url, token, station_id, db, event_id, [])
    read_until(proc, lambda lines: lines[-1] == "done")
    proc.kill()
    proc.wait()
    asyncio.run(finish_from_file(server.url, token, station_id, db, event_id))  # replica filled
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens here: the action cannot be sent
    proc = spawn_desk(dead, token, station_id, db, event_id, people[:1])
    lines = read_until(proc, lambda lines: lines[-1].startswith("returned"))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    cmd_seq = int(lines[-1].split()[1])
    assert facts_of(admin, event_id, station_id) == []
    queued, left, outbox = asyncio.run(finish_from_file(server.url, token, station_id, db, event_id))
    assert queued == 1 and left == 0 and outbox[cmd_seq] == "applied"
    assert facts_of(admin, event_id, station_id) == [(cmd_seq, people[0])]


def test_a_desk_killed_at_random_moments_under_load_loses_and_repeats_nothing(venue, tmp_path):
    server, admin, event_id, people, station_id, token = venue
    db = tmp_path / "desk.db"
    rng = random.Random(os.environ.get("FOCUSDESK_SEED", "4"))
    returned: dict[int, str] = {}
    remaining = list(people)
    for _round in range(4):
        if not remaining:
            break
        proc = spawn_desk(server.url, token, station_id, db, event_id, remaining)
        stop_after = rng.randint(1, max(1, len(remaining) // 2))
        lines = read_until(proc, lambda ls, n=stop_after: sum(x.startswith("returned") for x in ls) >= n)
        os.kill(proc.pid, signal.SIGKILL)
        lines += proc.stdout.read().splitlines()  # whatever was flushed before the kill
        proc.wait()
        for line in lines:
            if line.startswith("returned"):
                _, seq, attendee_id = line.split()
                returned[int(seq)] = attendee_id
        done = set(returned.values())
        remaining = [p for p in remaining if p not in done]
    _queued, left, outbox = asyncio.run(finish_from_file(server.url, token, station_id, db, event_id))
    assert len(returned) >= 4, "the desk process never got to work"
    assert left == 0
    facts = facts_of(admin, event_id, station_id)
    seqs = [s for s, _ in facts]
    assert len(seqs) == len(set(seqs)), "a command was applied twice"
    # Every action that returned reached the server exactly once, with its own cmd_seq.
    assert {s: a for s, a in facts if s in returned} == returned
    # And nothing reached it that the desk does not hold (an action killed mid-transaction left nothing).
    assert set(seqs) <= set(outbox)
    assert all(outbox[s] == "applied" for s in returned)
