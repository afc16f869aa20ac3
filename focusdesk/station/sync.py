"""Getting a desk's outbox to the server and the server's changes to the desk, whatever the network does.

Two halves run side by side:

- **sending**: the outbox goes out in ``cmd_seq`` order, in batches, over HTTP. Transport failures,
  timeouts, 5xx and 429 are retried with full-jitter exponential backoff (0.5 s → 60 s, ``Retry-After``
  honoured); after :data:`~focusdesk.station.outbox.STUCK_AFTER_ATTEMPTS` failed attempts a command is
  counted *stuck* (the status bar says so) and stays queued. Answers go to :meth:`Station.record_answers`.
- **receiving**: the live channel (:class:`~focusdesk.station.live.LiveClient`) when the WebSocket is
  available; while it is not, ``GET /sync`` is polled with the same guarantees. Either way a change is
  applied only when it continues the replica's cursor.

The clock offset is measured from the ``welcome`` and ``pong`` round trips (or ``GET /time`` while
polling), keeping the lowest-RTT sample.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from focusdesk.station.api import Refused, ServerApi, SignedOutError, Transient
from focusdesk.station.engine import Station
from focusdesk.station.live import (
    Applied,
    LiveClient,
    ScopeRefused,
    Snapshot,
    cancel_and_wait,
    full_jitter,
    websockets_connector,
)
from focusdesk.station.live import Cursor as LiveCursor

log = logging.getLogger(__name__)

BATCH = 250  # commands per request: big enough to replay an outage quickly, small enough to stay snappy


async def _first_of(events: list[asyncio.Event], timeout: float) -> None:
    """Return when any of ``events`` is set, or after ``timeout`` seconds."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


class SyncLoop:
    """Keeps one :class:`Station` in step with its server until stopped."""

    def __init__(
        self,
        station: Station,
        api: ServerApi,
        *,
        live: bool = True,
        connector=websockets_connector,
        batch: int = BATCH,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 60.0,
        poll_interval_s: float = 2.0,
        live_grace_s: float = 3.0,
        rng: random.Random | None = None,
    ):
        self.station = station
        self.api = api
        self.use_live = live
        self.connector = connector
        self.batch = batch
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.poll_interval_s = poll_interval_s
        self.live_grace_s = live_grace_s
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._welcomed = asyncio.Event()
        self._nudged = asyncio.Event()  # a person asked to try again now (``wake``)
        self._resend_from: int | None = None
        self._hello_at: float | None = None  # when (desk wall clock) the live channel last said hello
        self._tasks: list[asyncio.Task] = []
        self.live: LiveClient | None = None
        self.signed_out = False
        station.listeners.append(self._on_update)
        station.api = api  # reads that need the server itself (a device's status history) go through it

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._sender(), name="station-sender"))
        if self.use_live:
            cursor = self.station.cursor()
            self.live = LiveClient(
                self.api.base_url,
                self.api.token or "",
                self.station.station_id,
                {self.station.scope: LiveCursor(cursor.epoch, cursor.seq)},
                connector=self.connector,
                on_welcome=self._on_welcome,
                on_hello=self._on_hello,
                on_clock_sample=self._on_clock_sample,
                wall=lambda: self.station.clock.wall(),
            )
            self._tasks.append(loop.create_task(self.live.run(), name="station-live"))
            self._tasks.append(loop.create_task(self._consume_live(), name="station-live-apply"))
        self._tasks.append(loop.create_task(self._watch(), name="station-watch"))

    async def stop(self) -> None:
        if self.live is not None:
            await self.live.stop()
        for task in self._tasks:
            await cancel_and_wait(task)
        self._tasks.clear()
        if self._on_update in self.station.listeners:
            self.station.listeners.remove(self._on_update)
        if self.station.api is self.api:
            self.station.api = None
        self.station.remember_clock()

    def _on_update(self, update) -> None:
        self._wake.set()  # a new action may have queued something: send it now

    def wake(self) -> None:
        """Try again now (a person pressed "retry"): cuts short the sender's backoff wait, even one the
        server asked for with ``Retry-After`` (one request from a person is not a stampede), and the live
        channel's wait before reconnecting. Does nothing harmful when nothing is waiting."""
        self._nudged.set()
        self._wake.set()
        if self.live is not None:
            self.live.wake()

    # -- sending ---------------------------------------------------------------------------------

    async def send_pending(self) -> int:
        """Send until the outbox has nothing unanswered; returns how many answers arrived.

        Raises :class:`Transient`, :class:`Refused` or :class:`SignedOutError` on failure, after
        counting the attempt against the commands in the failed batch.
        """
        answered = 0
        while True:
            # ``_resend_from`` may be lowered meanwhile (a welcome showing the server lost commands):
            # this round works from the value it read, and leaves a newer one alone.
            from_seq = self._resend_from
            rows = self.station.next_batch(self.batch, from_seq)
            if not rows:
                if self._resend_from == from_seq:
                    self._resend_from = None
                return answered
            # Resending, but this desk's first command from there is later: the ones between were pruned
            # (older than the retention window). Say so, or the server would ask for them forever.
            lost_before = rows[0].cmd_seq if from_seq is not None and rows[0].cmd_seq > from_seq else None
            try:
                extra = {} if lost_before is None else {"lost_before": lost_before}
                reply = await self.api.post_commands([r.wire() for r in rows], **extra)
            except (Transient, Refused) as exc:
                attempts = self.station.note_send_failure([r.cmd_seq for r in rows], exc.message)
                exc.attempts = attempts  # type: ignore[attr-defined]
                raise
            self._contact("live" if self.live is not None and self.live.connected.is_set() else None)
            self.station.record_answers(reply.results)
            answered += len(reply.results)
            if reply.resend_from is not None:
                if from_seq is not None and reply.resend_from >= from_seq:
                    # Asked again for what we just sent from (or declared lost): cannot go on.
                    self.station.problem = (
                        f"the server is missing commands {reply.resend_from}..{rows[0].cmd_seq - 1}"
                        " that this desk no longer holds"
                    )
                    raise Refused(self.station.problem, status=409)
                # The server lacks commands below this batch. Any it had answered before (it was
                # restored from a backup) go back in the queue; every answer so far came before this reply.
                self.station.on_server_watermark(reply.last_cmd_seq)
                newer = self._resend_from if self._resend_from != from_seq else None
                self._resend_from = reply.resend_from if newer is None else min(newer, reply.resend_from)
                continue
            if lost_before is not None and from_seq is not None:
                self.station.note_lost_commands(from_seq, lost_before)
            if from_seq is not None and self._resend_from == from_seq:
                self._resend_from = rows[-1].cmd_seq + 1  # keep resending in order to the end

    async def _sender(self) -> None:
        attempt = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self.signed_out:
                continue
            try:
                await self.send_pending()
                attempt = 0
                continue
            except SignedOutError as exc:
                self._signed_out(exc.message)
                continue
            except (Transient, Refused) as exc:
                retry_after = getattr(exc, "retry_after", None)
                attempt += 1
                delay = full_jitter(self._rng, self.backoff_base_s, self.backoff_cap_s, attempt - 1)
                if retry_after is not None:
                    delay = max(delay, retry_after)
                self._trouble(exc)
                log.info("station: sending failed (%s); next try in %.1f s", exc.message, delay)
            # Wait out the backoff. The server coming back (a welcome) cuts it short, unless the
            # server itself asked for the wait (Retry-After); a person's "retry now" always does.
            self._welcomed.clear()
            self._nudged.clear()
            await _first_of([self._nudged] if retry_after is not None else [self._nudged, self._welcomed], delay)
            self._wake.set()

    # -- receiving -------------------------------------------------------------------------------

    async def pull(self) -> int:
        """Catch the replica up over HTTP (``GET /sync``); returns the number of changes applied."""
        applied = 0
        while True:
            cursor = self.station.cursor()
            answer = await self.api.sync(self.station.scope, cursor.epoch, cursor.seq)
            if answer.get("mode") == "snapshot":
                self.station.apply_snapshot(answer["epoch"], answer["seq"], answer.get("state") or {})
                more = False
            else:
                changes = answer.get("changes") or []
                reached = self.station.apply_changes((c["seq"], c["kind"], c.get("data")) for c in changes)
                applied += len(changes)
                more = bool(answer.get("more")) and reached.seq is not None and reached.seq > (cursor.seq or 0)
            if self.live is not None:
                now = self.station.cursor()
                self.live.advance(self.station.scope, LiveCursor(now.epoch, now.seq))
            if not more:
                return applied

    async def sync_once(self) -> None:
        """One full exchange: send everything queued, then catch up (tests and a "sync now" key)."""
        await self.send_pending()
        await self.pull()
        self._contact(self.station.via or "polling")

    async def _consume_live(self) -> None:
        assert self.live is not None
        queue: list[Any] = []
        async for item in self.live.items():
            queue.append(item)
            # Drain what is already waiting so a burst (a replay, a busy entrance) is one transaction.
            queue += self.live.take_ready(2000 - len(queue))
            self._apply_live(queue)
            queue.clear()

    def _apply_live(self, items: list[Any]) -> None:
        run: list[tuple[int, str, Any]] = []
        for item in items:
            if isinstance(item, Applied):
                run.append((item.seq, item.kind, item.data))
                continue
            if run:
                self.station.apply_changes(run)
                run = []
            if isinstance(item, Snapshot):
                mine = self.station.cursor()
                if mine.epoch == item.epoch and mine.seq is not None and item.seq < mine.seq:
                    continue  # the desk already caught up further by polling
                self.station.apply_snapshot(item.epoch, item.seq, item.state)
            elif isinstance(item, ScopeRefused):
                self.station.set_connection("offline", problem=f"the server refused this event: {item.message}")
        if run:
            self.station.apply_changes(run)

    def _on_hello(self) -> None:
        self._hello_at = self.station.wall()

    def _on_welcome(self, frame: dict[str, Any]) -> None:
        last = frame.get("last_cmd_seq")
        if isinstance(last, int):
            # Answers recorded after the hello went out may be newer than this watermark: no evidence.
            resend_from = self.station.on_server_watermark(last, answered_before=self._hello_at)
            if resend_from is not None:  # the server lost commands (a restore): re-send them now
                current = self._resend_from
                self._resend_from = resend_from if current is None else min(current, resend_from)
        account = frame.get("account")
        if isinstance(account, dict) and account != _known_account(self.station):
            self.station.set_account({**(self.station.account() or {}), **account})
        self._contact("live")
        self._welcomed.set()
        self._wake.set()

    def _on_clock_sample(self, t0: float, server_time: float, t1: float) -> None:
        self.station.clock.add(t0, server_time, t1)

    async def _watch(self) -> None:
        """Poll ``/sync`` while the live channel is down; keep the connection status honest."""
        down_since = time.monotonic()
        while True:
            await asyncio.sleep(self.poll_interval_s if self.live is None else min(1.0, self.poll_interval_s))
            if self.signed_out:
                continue
            if self.live is not None and self.live.signed_out is not None:
                self._signed_out(self.live.signed_out.reason)
                continue
            if self.live is not None and self.live.connected.is_set():
                down_since = time.monotonic()
                self._contact("live")
                continue
            if time.monotonic() - down_since < self.live_grace_s and self.live is not None:
                if self.station.connection == "online":
                    self.station.set_connection("reconnecting")
                continue
            try:
                self.station.clock.add(*await self.api.time_sample(self.station.clock.wall))
                await self.pull()
                self._contact("polling")
            except SignedOutError as exc:
                self._signed_out(exc.message)
            except (Transient, Refused) as exc:
                self._trouble(exc)
                await asyncio.sleep(self.poll_interval_s)

    # -- status ----------------------------------------------------------------------------------

    def _contact(self, via: str | None) -> None:
        self.station.set_connection("online", via or self.station.via or "polling")

    def _trouble(self, exc: Exception) -> None:
        message = getattr(exc, "message", str(exc))
        if self.live is not None and self.live.connected.is_set():
            self.station.set_connection("online", "live", problem=message)
        elif isinstance(exc, Transient) and exc.status is None:
            self.station.set_connection("offline", problem=message)
        else:
            self.station.set_connection("reconnecting", problem=message)

    def _signed_out(self, reason: str) -> None:
        self.signed_out = True
        self.station.set_connection("signed_out", problem=f"sign in again: {reason}")


def _known_account(station: Station) -> dict[str, Any] | None:
    known = station.account()
    return None if known is None else {k: known.get(k) for k in ("id", "email", "grants")}
