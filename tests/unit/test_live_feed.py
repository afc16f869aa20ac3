"""A scope's feed hears of commits from other instances only as heads (server/fanout.py): it must read
up to each announced head from the log, at once, and in order with what arrives locally."""

from __future__ import annotations

import asyncio

from focusdesk.server.live.hub import Feed
from focusdesk.server.store.changelog import Change

SCOPE = "event:1"


def change(seq: int) -> Change:
    return Change(scope=SCOPE, seq=seq, at=0.0, kind="checkin.recorded", entity_id=f"a{seq}", data="{}", origin="x")


class LogOnly:
    """The database's part in a fill: ``read_changes`` over an in-memory log (what a fill reads)."""

    def __init__(self, head: int):
        self.log = [change(s) for s in range(1, head + 1)]
        self.reads = 0

    async def read(self, fn):
        self.reads += 1
        since, limit = fn.keywords["since"], fn.keywords["limit"]
        return [c for c in self.log if c.seq > since][:limit]


class Hub:
    def __init__(self, db: LogOnly, gap_wait_s: float):
        self.db = db
        self.gap_wait_s = gap_wait_s
        self.gap_fills = 0


class Follower:
    """A subscriber that is live (not syncing) and records what it is offered."""

    def __init__(self):
        self.seqs: list[int] = []
        self.syncing = False

    def offer(self, seq: int, _frame) -> None:
        self.seqs.append(seq)


def live_feed(db: LogOnly, head: int, gap_wait_s: float = 30.0) -> tuple[Feed, Follower]:
    feed = Feed(Hub(db, gap_wait_s), SCOPE)
    follower = Follower()
    feed.subscribers.add(follower)
    feed.set_base(head)
    return feed, follower


async def settle(condition, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.001)


def test_an_announced_head_is_read_from_the_log_at_once():
    async def go():
        db = LogOnly(head=8)
        feed, follower = live_feed(db, head=5)
        feed.reconcile(8)  # another instance committed up to 8
        await settle(lambda: follower.seqs == [6, 7, 8])
        assert feed.head == 8

    asyncio.run(go())


def test_a_head_announced_during_a_fill_is_read_by_that_fill():
    async def go():
        db = LogOnly(head=5)
        feed, follower = live_feed(db, head=2)
        feed.reconcile(4)
        db.log.append(change(6))
        feed.reconcile(6)  # while the first fill is under way (nothing awaited yet)
        await settle(lambda: follower.seqs == [3, 4, 5, 6])

    asyncio.run(go())


def test_a_local_gap_waits_unless_an_announced_head_proves_it_committed():
    async def go():
        db = LogOnly(head=7)
        feed, follower = live_feed(db, head=5, gap_wait_s=30.0)
        feed.offer([change(7)])  # 6 is missing: maybe a concurrent commit about to be announced here
        await asyncio.sleep(0.05)
        assert follower.seqs == [] and db.reads == 0  # waiting for the gap to close by itself
        feed.reconcile(6)  # another instance: 6 is committed — stop waiting
        await settle(lambda: follower.seqs == [6, 7])

    asyncio.run(go())
