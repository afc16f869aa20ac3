"""The live hub: fans committed changes out to the stations subscribed to their scope, in seq order.

Changes reach :meth:`Hub.publish` after their COMMIT (the database's publisher). On SQLite they come in
commit order from the single writer; on PostgreSQL concurrent transactions may be announced out of
order, and another process (the CLI, a second server instance) announces nothing here at all. So each
scope's :class:`Feed` delivers strictly ``head+1, head+2, …``: early arrivals wait in ``pending``, and a
gap that does not close by itself within ``gap_wait_s`` is filled from the change log. A periodic
reconcile compares every followed scope's head with the database, which heals a publish lost between
commit and announcement and picks up writes made by other processes.

A feed only tracks order while someone follows it; its first subscriber's catch-up read fixes the head.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from functools import partial

from sqlalchemy import Connection, select

from focusdesk.domain.live import CLOSE_REPLACED, CLOSE_UNAUTHORIZED
from focusdesk.domain.roles import Principal
from focusdesk.server.db import Database
from focusdesk.server.live.connection import LiveConnection, Subscription
from focusdesk.server.loops import call_on_loop
from focusdesk.server.schema import scope_head
from focusdesk.server.store.changelog import Change, read_changes
from focusdesk.server.store.notices import audience_of, for_viewer, hidden, visible
from focusdesk.server.store.sync import SyncAnswer, sync_answer

log = logging.getLogger(__name__)

FILL_PAGE = 1000


def change_frame(change: Change) -> str:
    return '{"type":"change",' + change.to_json()[1:]


class PrivateFrame:
    """A change only some followers may read (a notice): each gets the frame or its ``hidden`` stand-in.

    Everything else is one shared, pre-encoded string; only notice changes pay for the per-follower check.
    """

    __slots__ = ("change", "frame", "hidden")

    def __init__(self, change: Change):
        self.change = change
        self.frame = change_frame(change)
        self.hidden = change_frame(hidden(change))

    def for_viewer(self, principal: Principal) -> str:
        return self.frame if visible(self.change, principal) else self.hidden


def feed_frame(change: Change) -> str | PrivateFrame:
    return PrivateFrame(change) if audience_of(change) is not None else change_frame(change)


class Feed:
    """One scope's ordered stream and its subscribers."""

    def __init__(self, hub: Hub, scope: str):
        self.hub = hub
        self.scope = scope
        self.head: int | None = None  # last seq delivered; None until a subscriber's read fixes it
        self.pending: dict[int, str | PrivateFrame] = {}
        self.known = 0  # the highest seq known to be committed (fills read up to it)
        self._hurry = asyncio.Event()
        self.subscribers: set[Subscription] = set()
        self._filling: asyncio.Task | None = None

    def offer(self, changes: Iterable[Change]) -> None:
        if not self.subscribers:
            return
        head = self.head
        for change in changes:
            if head is None or change.seq > head:
                self.pending[change.seq] = feed_frame(change)
        self._drain()

    def set_base(self, seq: int) -> None:
        """The first subscriber has read the scope up to ``seq``: order can be tracked from here.

        Frames that arrived before this (head unknown) go to the subscribers still syncing, who
        skip what their own read covered; the rest is delivered in order.
        """
        if self.head is not None:
            return
        for s in sorted(k for k in self.pending if k <= seq):
            frame = self.pending.pop(s)
            for sub in list(self.subscribers):
                if sub.syncing:
                    sub.offer(s, frame)
        self.head = seq
        self._drain()
        if self.known > self.head:
            self.reconcile(self.known)  # another instance committed while the read ran

    def _drain(self) -> None:
        head = self.head
        if head is None:
            return
        pending = self.pending
        subscribers = self.subscribers
        while pending:
            frame = pending.pop(head + 1, None)
            if frame is None:
                break
            head += 1
            for sub in tuple(subscribers):
                sub.offer(head, frame)
        self.head = head
        if pending:
            for stale in [s for s in pending if s <= head]:
                del pending[stale]
        if pending:
            self.fill_soon()

    def fill_soon(self, wait: float | None = None) -> None:
        if self._filling is None or self._filling.done():
            self._filling = asyncio.get_running_loop().create_task(
                self._fill(self.hub.gap_wait_s if wait is None else wait), name=f"live-fill-{self.scope}"
            )

    async def _fill(self, wait: float) -> None:
        """Read the missing changes from the log once a gap has lasted ``wait`` seconds, and up to the
        newest head known to exist (``known``: from a reconcile or another instance's poke).

        The wait is cut short when such a head arrives: the gap is then known to be committed, not
        merely a concurrent transaction announcing itself a little later.
        """
        gap_known_committed = bool(self.pending) and self.known >= min(self.pending) - 1
        if wait > 0 and not gap_known_committed:
            self._hurry.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), wait)
        while self.subscribers and self.head is not None:
            target = min(self.pending) - 1 if self.pending else self.known
            if target <= self.head:
                return
            self.hub.gap_fills += 1
            changes = await self.hub.db.read(
                partial(read_changes, scope=self.scope, since=self.head, limit=min(FILL_PAGE, target - self.head))
            )
            if not changes:
                return
            self.offer(changes)

    def reconcile(self, db_head: int) -> None:
        """``db_head`` is committed (the database says so, or the instance that wrote it): fetch anything
        up to it that has not arrived here. A fill already under way reads on up to the new head."""
        if db_head > self.known:
            self.known = db_head
            self._hurry.set()
        if self.head is not None and self.known > self.head and (self._filling is None or self._filling.done()):
            self._filling = asyncio.get_running_loop().create_task(self._fill(0), name=f"live-fill-{self.scope}")

    def reset(self) -> None:
        """Nobody follows this scope any more: forget the order; the next subscriber re-establishes it."""
        self.head = None
        self.known = 0
        self.pending.clear()
        if self._filling is not None:
            self._filling.cancel()
            self._filling = None


class Hub:
    def __init__(
        self,
        db: Database,
        *,
        heartbeat_s: float,
        reconcile_s: float,
        gap_wait_s: float = 0.05,
        delta_page: int = 1000,
    ):
        self.db = db
        self.heartbeat_s = heartbeat_s
        self.reconcile_s = reconcile_s
        self.gap_wait_s = gap_wait_s
        self.delta_page = delta_page
        # async fn(tokens) -> {token: close reason or None}: re-checks tokens on every heartbeat
        self._revalidate: Callable | None = None
        self.feeds: dict[str, Feed] = {}
        self.connections: set[LiveConnection] = set()
        self.by_token: dict[str, int] = {}
        self.by_ip: dict[str, int] = {}
        self.by_station: dict[str, LiveConnection] = {}
        self.gap_fills = 0
        self.published = 0
        self.lagging_closes = 0  # connections closed because their desk fell behind (for /metrics)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task] = []

    # -- lifecycle -------------------------------------------------------------------------------

    def set_revalidator(self, revalidate: Callable) -> None:
        self._revalidate = revalidate

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tasks = [
            self._loop.create_task(self._every(self.reconcile_s, self.reconcile), name="live-reconcile"),
            self._loop.create_task(self._every(self.heartbeat_s, self.heartbeat), name="live-heartbeat"),
        ]

    async def stop(self, code: int, reason: str) -> None:
        for task in self._tasks:
            task.cancel()
        for conn in list(self.connections):
            conn.close(code, reason)
        for feed in self.feeds.values():
            feed.reset()

    async def _every(self, interval: float, job: Callable) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await job()
            except Exception:  # a failed round is retried at the next one
                log.exception("live: %s failed", getattr(job, "__name__", job))

    # -- publishing ------------------------------------------------------------------------------

    def publish_threadsafe(self, changes: list[Change]) -> None:
        """The database's publisher: may be called from the writer thread or from the loop."""
        call_on_loop(self._loop, self.publish, changes)

    def publish(self, changes: list[Change]) -> None:
        self.published += len(changes)
        by_scope: dict[str, list[Change]] = {}
        for change in changes:
            by_scope.setdefault(change.scope, []).append(change)
        for scope, items in by_scope.items():
            feed = self.feeds.get(scope)
            if feed is not None:
                feed.offer(items)

    def poke(self, heads: dict[str, int]) -> None:
        """Another instance committed up to these heads: followed scopes read what they miss from the log."""
        for scope, head in heads.items():
            feed = self.feeds.get(scope)
            if feed is not None:
                feed.reconcile(head)

    # -- connections -----------------------------------------------------------------------------

    def admit(self, conn: LiveConnection, *, per_token: int, per_ip: int) -> str | None:
        """Register ``conn``; returns why it is refused instead (a limit is reached)."""
        if self.by_ip.get(conn.ip, 0) >= per_ip:
            return f"too many live connections from {conn.ip} (limit {per_ip})"
        older = self.by_station.get(conn.station_id)
        if older is not None:
            # The same desk again (a reconnect that beat the old socket's timeout): the newer wins.
            older.close(CLOSE_REPLACED, "replaced by a newer connection from the same station")
        if self.by_token.get(conn.token, 0) >= per_token:
            return f"too many live connections for this sign-in (limit {per_token})"
        conn.hub = self
        self.connections.add(conn)
        self.by_token[conn.token] = self.by_token.get(conn.token, 0) + 1
        self.by_ip[conn.ip] = self.by_ip.get(conn.ip, 0) + 1
        self.by_station[conn.station_id] = conn
        return None

    def detach(self, conn: LiveConnection) -> None:
        """Take ``conn`` out of every feed and count (idempotent)."""
        for sub in conn.subscriptions.values():
            self._unfollow(sub)
        conn.subscriptions.clear()
        if conn not in self.connections:
            return
        self.connections.discard(conn)
        _decrement(self.by_token, conn.token)
        _decrement(self.by_ip, conn.ip)
        if self.by_station.get(conn.station_id) is conn:
            del self.by_station[conn.station_id]

    def close_where(self, predicate: Callable[[LiveConnection], bool], code: int, reason: str) -> int:
        matched = [c for c in self.connections if predicate(c)]
        for conn in matched:
            conn.close(code, reason)
        return len(matched)

    def _unfollow(self, sub: Subscription) -> None:
        feed = self.feeds.get(sub.scope)
        if feed is None:
            return
        feed.subscribers.discard(sub)
        if not feed.subscribers:
            feed.reset()
            del self.feeds[sub.scope]

    # -- subscribing -----------------------------------------------------------------------------

    async def subscribe(self, conn: LiveConnection, scope: str, epoch: str | None, since: int | None) -> None:
        """Answer ``sub`` (DESIGN.md step 2): register first, then read, then go live without a gap."""
        old = conn.subscriptions.pop(scope, None)
        if old is not None:
            self._unfollow(old)
        sub = Subscription(conn, scope)
        feed = self.feeds.get(scope)
        if feed is None:
            feed = self.feeds[scope] = Feed(self, scope)
        feed.subscribers.add(sub)
        conn.subscriptions[scope] = sub
        try:
            answer = await self.db.read(
                partial(
                    sync_answer, scope=scope, epoch=epoch, since=since, limit=self.delta_page, viewer=conn.principal
                )
            )
            conn.enqueue(answer.body)
            while answer.more:
                answer = await self.db.read(
                    partial(
                        sync_answer,
                        scope=scope,
                        epoch=answer.epoch,
                        since=answer.seq,
                        limit=self.delta_page,
                        viewer=conn.principal,
                    )
                )
                conn.enqueue(answer.body)
            if conn.subscriptions.get(scope) is not sub:
                return  # closed or re-subscribed meanwhile
            feed.set_base(answer.seq)
            await self._go_live(sub, answer)
        except BaseException:
            if conn.subscriptions.get(scope) is sub:
                del conn.subscriptions[scope]
                self._unfollow(sub)
            raise

    async def _go_live(self, sub: Subscription, answer: SyncAnswer) -> None:
        """Queue the frames buffered during the read that it did not cover, filling any hole from the log."""
        cursor = answer.seq
        while True:
            buffered = sorted(sub.buffer or ())
            sub.buffer = []
            hole_until = None
            for seq, frame in buffered:
                if seq <= cursor:
                    continue
                if seq != cursor + 1:
                    hole_until = seq - 1
                    sub.buffer = [(s, f) for s, f in buffered if s > cursor]
                    break
                sub.connection.enqueue(frame)
                cursor = seq
            if hole_until is None:
                # No await between the last check and this: nothing can slip in unseen.
                if not sub.buffer:
                    sub.buffer = None
                    sub.cursor = cursor
                    return
                continue
            self.gap_fills += 1
            changes = await self.db.read(
                partial(read_changes, scope=sub.scope, since=cursor, limit=min(FILL_PAGE, hole_until - cursor))
            )
            if sub.connection.subscriptions.get(sub.scope) is not sub:
                return
            for change in changes:
                sub.connection.enqueue(change_frame(for_viewer(change, sub.connection.principal)))
                cursor = change.seq
            if not changes:
                raise RuntimeError(f"change log of {sub.scope} has no seq {cursor + 1}")

    def unsubscribe(self, conn: LiveConnection, scope: str) -> bool:
        sub = conn.subscriptions.pop(scope, None)
        if sub is None:
            return False
        self._unfollow(sub)
        return True

    # -- periodic work ---------------------------------------------------------------------------

    async def reconcile(self) -> None:
        scopes = [s for s, f in self.feeds.items() if f.head is not None]
        if not scopes:
            return
        heads = await self.db.read(partial(_read_heads, scopes=scopes))
        for scope, head in heads.items():
            feed = self.feeds.get(scope)
            if feed is not None:
                feed.reconcile(head)

    async def revalidate(self) -> None:
        """Close the connections whose sign-in is no longer valid (revoked, expired, role taken away)."""
        if self._revalidate is not None and self.connections:
            verdicts = await self._revalidate({c.token for c in self.connections})
            for conn in list(self.connections):
                reason = verdicts.get(conn.token)
                if reason:
                    conn.close(CLOSE_UNAUTHORIZED, reason)

    async def heartbeat(self) -> None:
        """Reconcile, re-check tokens, then tell every station the heads of what it follows."""
        await self.reconcile()
        await self.revalidate()
        now = time.time()
        for conn in list(self.connections):
            heads = {scope: sub.cursor for scope, sub in conn.subscriptions.items() if not sub.syncing}
            conn.enqueue(json.dumps({"type": "heartbeat", "server_time": now, "heads": heads}, separators=(",", ":")))

    def stats(self) -> dict[str, int]:
        return {
            "connections": len(self.connections),
            "feeds": len(self.feeds),
            "subscriptions": sum(len(f.subscribers) for f in self.feeds.values()),
            "published": self.published,
            "gap_fills": self.gap_fills,
        }


def _read_heads(conn: Connection, scopes: list[str]) -> dict[str, int]:
    rows = conn.execute(select(scope_head.c.scope, scope_head.c.head_seq).where(scope_head.c.scope.in_(scopes)))
    return {r.scope: r.head_seq for r in rows}


def _decrement(counts: dict[str, int], key: str) -> None:
    left = counts.get(key, 0) - 1
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)
