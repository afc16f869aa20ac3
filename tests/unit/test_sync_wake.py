""" "Retry now": ``SyncLoop.wake`` cuts a long backoff short instead of leaving the queue waiting."""

from __future__ import annotations

import asyncio
import time

from focusdesk.station.api import CommandsReply, Transient
from focusdesk.station.engine import Station
from focusdesk.station.sync import SyncLoop


class LongestWait:
    """An rng for full jitter that always picks the longest wait."""

    def uniform(self, low: float, high: float) -> float:
        return high


class DownThenUp:
    """A server that is unreachable until ``up`` is set; then it accepts every command."""

    base_url = "http://desk.test"
    token = "t"

    def __init__(self) -> None:
        self.up = False
        self.attempts = 0

    async def post_commands(self, commands):
        self.attempts += 1
        if not self.up:
            raise Transient("cannot reach the server (test)")
        results = [{"cmd_seq": c["cmd_seq"], "status": "applied"} for c in commands]
        return CommandsReply(commands[-1]["cmd_seq"], results)

    async def sync(self, scope, epoch, since, limit=2000):
        if not self.up:
            raise Transient("cannot reach the server (test)")
        return {"mode": "changes", "changes": [], "more": False}

    async def time_sample(self, wall=time.time):
        if not self.up:
            raise Transient("cannot reach the server (test)")
        t = wall()
        return t, t, t


async def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def test_wake_sends_the_queue_now_instead_of_after_the_backoff(tmp_path):
    async def go():
        station = Station.open(station_id="desk-wake", station_name="Desk", event_id=1, path=tmp_path / "s.db")
        api = DownThenUp()
        # A 30 s backoff after the first failure: without wake the queue would wait that long.
        sync = SyncLoop(
            station, api, live=False, backoff_base_s=30, backoff_cap_s=60, poll_interval_s=30, rng=LongestWait()
        )  # type: ignore[arg-type]
        sync.start()
        try:
            station.walk_in("Pat Late")
            await wait_for(lambda: api.attempts >= 1, 2, "the first (failed) attempt")
            await asyncio.sleep(0.2)
            assert api.attempts == 1 and station.status().queued == 1  # waiting out the backoff
            api.up = True
            sync.wake()
            await wait_for(lambda: station.status().queued == 0, 2, "the queue to drain after wake()")
            assert api.attempts == 2
        finally:
            await sync.stop()
            station.close()

    asyncio.run(go())
