"""The desk's end of the live channel: stays connected, resumes from its cursors, never misses a change.

:class:`LiveClient` keeps one WebSocket to ``/api/v1/live`` up for as long as it runs (full-jitter
exponential backoff between attempts), subscribes every followed scope from its cursor on each
(re)connect, and turns what arrives into an ordered stream of :class:`Snapshot` and :class:`Applied`
items. The invariant (DESIGN.md): a scope's state is "snapshot at S plus the contiguous changes
S+1..k". A change is applied only when it is exactly ``cursor + 1``; anything that shows a hole (a later
seq, or a heartbeat head ahead of the cursor) makes the client ask again from its cursor. Duplicates and
stale answers are recognised by seq and dropped, so a flaky network can delay a desk but never corrupt it.

Plain asyncio and the ``websockets`` library; no UI import.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from focusdesk.domain import live

log = logging.getLogger(__name__)


# -- what the stream carries -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Replace everything known about ``scope`` with ``state``, which is the scope at ``seq``."""

    scope: str
    epoch: str
    seq: int
    state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Applied:
    """Change ``seq`` of ``scope``: always exactly one past the previous item of that scope."""

    scope: str
    seq: int
    kind: str
    at: float
    data: Any


@dataclass(frozen=True, slots=True)
class ScopeRefused:
    """The server will not serve ``scope`` to this account (``code``: forbidden, not_found, …)."""

    scope: str
    code: str
    message: str


LiveItem = Snapshot | Applied | ScopeRefused


@dataclass
class Cursor:
    epoch: str | None = None
    seq: int | None = None


class SignedOut(Exception):
    """The server refused the token (closed with a "sign in again" code); reconnecting cannot help."""

    def __init__(self, code: int, reason: str):
        super().__init__(f"{reason} (close code {code})")
        self.code = code
        self.reason = reason


# -- transport -------------------------------------------------------------------------------------


class Connection(Protocol):
    async def send(self, message: str) -> None: ...
    async def recv(self) -> str | bytes: ...
    async def close(self) -> None: ...


Connector = Callable[[str], Any]  # url -> async context manager yielding a Connection


def live_url(server_url: str) -> str:
    """``http://host:port`` (or a ws URL) → ``ws://host:port/api/v1/live``."""
    parts = urlsplit(server_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None:
        raise ValueError(f"server URL must start with http:// or https:// (got {server_url!r})")
    return urlunsplit((scheme, parts.netloc, live.PATH, "", ""))


def websockets_connector(url: str):
    from websockets.asyncio.client import connect

    return connect(
        url,
        compression=None,  # DESIGN.md: permessage-deflate off
        max_size=256 << 20,  # a snapshot of a large event is one frame
        open_timeout=10,
        ping_interval=20,
        ping_timeout=20,
        close_timeout=3,
    )


def full_jitter(rng: random.Random, base_s: float, cap_s: float, attempt: int) -> float:
    """The wait before retry ``attempt`` (0-based): uniform in [0, min(cap, base·2^attempt)]. Full
    jitter spreads a venue's worth of desks coming back after an outage instead of sending one wave."""
    return rng.uniform(0, min(cap_s, base_s * 2**attempt))


async def cancel_and_wait(task: asyncio.Task, *, nudge_s: float = 1.0) -> None:
    """Cancel ``task`` and wait until it has really ended.

    Python 3.11's ``asyncio.wait_for`` can swallow a cancellation that arrives just as the awaited
    result does (fixed in 3.12); a single ``cancel()`` may then be lost and awaiting the task would hang
    for ever. So cancel again until it is done.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=nudge_s)
    if not task.cancelled():
        with contextlib.suppress(Exception):
            task.result()


class _Reconnect(Exception):
    """This connection is no good any more (timeout, nonsense, closed): start a new one."""


# -- the client ------------------------------------------------------------------------------------


@dataclass
class _ScopeState:
    cursor: Cursor
    awaiting: bool = False  # a sub is out and its sub_ok has not arrived
    sub_deadline: float = 0.0
    refused: bool = False


@dataclass
class LiveStats:
    connects: int = 0
    resubscribes: int = 0
    duplicates_dropped: int = 0
    gaps_seen: int = 0
    snapshots: int = 0
    applied: int = 0
    last_close: tuple[int, str] | None = None
    closes: list[tuple[int, str]] = field(default_factory=list)


class LiveClient:
    """Follow ``scopes`` on the server at ``server_url`` as ``station_id``, signed in with ``token``.

    Consume with ``async for item in client.items()`` while :meth:`run` runs (or use :meth:`start`).
    ``scopes`` maps each scope to the cursor the desk already holds (``Cursor()`` for nothing yet).
    """

    def __init__(
        self,
        server_url: str,
        token: str,
        station_id: str,
        scopes: dict[str, Cursor] | Iterable[str],
        *,
        connector: Connector = websockets_connector,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        sub_timeout_s: float = 10.0,
        hello_timeout_s: float = 10.0,
        rng: random.Random | None = None,
        max_buffered: int = 10_000,
        ping_interval_s: float = 15.0,
        on_welcome: Callable[[dict[str, Any]], Any] | None = None,
        on_hello: Callable[[], Any] | None = None,
        on_clock_sample: Callable[[float, float, float], Any] | None = None,
        wall: Callable[[], float] = time.time,
    ):
        self.url = live_url(server_url)
        self.token = token
        self.station_id = station_id
        cursors = scopes if isinstance(scopes, dict) else {s: Cursor() for s in scopes}
        self._scopes = {s: _ScopeState(Cursor(c.epoch, c.seq)) for s, c in cursors.items()}
        self._connector = connector
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.sub_timeout_s = sub_timeout_s
        self.hello_timeout_s = hello_timeout_s
        self._rng = rng or random.Random()
        # Bounded: a consumer that stops taking items stops this client reading, and the server
        # then closes it as lagging; nothing is dropped on either side.
        self._out: asyncio.Queue[LiveItem] = asyncio.Queue(max_buffered)
        self.stats = LiveStats()
        self.connected = asyncio.Event()
        self.welcome: dict[str, Any] | None = None
        self.heartbeat_s = 30.0
        self.presence_s = 15.0  # how often the server wants this desk's presence report (welcome says)
        # A refused presence report (the server was busy, the report too soon): the reporter sends again.
        self.on_presence_refused: Callable[[dict[str, Any]], Any] | None = None
        self._ws: Connection | None = None  # the open connection, once welcomed (for send_frame)
        self._task: asyncio.Task | None = None
        self._stopping = False
        self.signed_out: SignedOut | None = None
        # Clock samples: welcome answers hello, pong answers ping; both carry the server's time.
        self.ping_interval_s = ping_interval_s
        self._on_welcome = on_welcome
        # Called just before each hello: the welcome's figures are as of after this moment.
        self._on_hello = on_hello
        self._on_clock_sample = on_clock_sample
        self._wall = wall  # the desk's clock, which clock samples are measured against
        self._pings: dict[int, float] = {}
        self._ping_id = 0
        self._next_ping = 0.0
        self._retry_now = asyncio.Event()

    # -- public ----------------------------------------------------------------------------------

    def wake(self) -> None:
        """Reconnect now if waiting between attempts (a person pressed "retry")."""
        self._retry_now.set()

    def cursor(self, scope: str) -> Cursor:
        c = self._scopes[scope].cursor
        return Cursor(c.epoch, c.seq)

    def advance(self, scope: str, cursor: Cursor) -> None:
        """The desk caught up by other means (polling ``/sync``): resume from ``cursor`` next time
        unless this client is already further along in the same epoch."""
        st = self._scopes.get(scope)
        if st is None or cursor.seq is None:
            return
        mine = st.cursor
        if mine.epoch != cursor.epoch or mine.seq is None or cursor.seq > mine.seq:
            st.cursor = Cursor(cursor.epoch, cursor.seq)

    async def send_frame(self, frame: dict[str, Any]) -> bool:
        """Send one frame of the desk's own (a presence report) on the open connection; False when there is
        none or the send failed (the connection is then being replaced: send again after the next welcome)."""
        ws = self._ws
        if ws is None or not self.connected.is_set():
            return False
        try:
            await ws.send(json.dumps(frame))
        except Exception as exc:  # the connection is going away; the session loop notices and reconnects
            log.debug("live: sending a %s frame failed: %r", frame.get("type"), exc)
            return False
        return True

    def start(self) -> asyncio.Task:
        self._task = asyncio.get_running_loop().create_task(self.run(), name=f"live-client-{self.station_id}")
        return self._task

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            await cancel_and_wait(self._task)

    async def items(self) -> AsyncIterator[LiveItem]:
        while True:
            yield await self._out.get()

    def take_ready(self, limit: int) -> list[LiveItem]:
        """Items already waiting, up to ``limit``, without waiting: lets a consumer apply a burst as one."""
        out: list[LiveItem] = []
        while len(out) < limit and not self._out.empty():
            out.append(self._out.get_nowait())
        return out

    async def run(self) -> None:
        """Keep the channel up until stopped, or until the server says to sign in again."""
        attempt = 0
        while not self._stopping:
            try:
                async with self._connector(self.url) as ws:
                    self.stats.connects += 1
                    got_welcome = await self._session(ws)
                if got_welcome:
                    attempt = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # network, protocol or server trouble: back off and try again
                fatal = self._note_close(exc)
                if fatal is not None:
                    self.signed_out = fatal
                    log.warning("live: %s", fatal)
                    return
                log.debug("live: connection ended: %r", exc)
            finally:
                self.connected.clear()
                self._ws = None
            delay = full_jitter(self._rng, self.backoff_base_s, self.backoff_cap_s, attempt)
            attempt += 1
            self._retry_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._retry_now.wait(), delay)

    # -- one connection --------------------------------------------------------------------------

    async def _session(self, ws: Connection) -> bool:
        """Run one connection until it ends; returns whether it got as far as ``welcome``."""
        t0 = self._wall()
        if self._on_hello is not None:
            self._on_hello()
        await ws.send(
            json.dumps({"type": "hello", "token": self.token, "station_id": self.station_id, "proto": live.PROTO})
        )
        self.welcome = None
        self._pings.clear()
        deadline = time.monotonic() + self.hello_timeout_s
        while self.welcome is None:
            frame = await self._recv(ws, deadline - time.monotonic())
            if frame.get("type") == "welcome":
                self._clock_sample(t0, frame.get("server_time"))
                self.welcome = frame
                self.heartbeat_s = float(frame.get("heartbeat_s") or 30.0)
                self.presence_s = float(frame.get("presence_s") or 15.0)
                if self._on_welcome is not None:
                    self._on_welcome(frame)
        self._ws = ws
        self.connected.set()
        self._next_ping = time.monotonic() + min(1.0, self.ping_interval_s)
        for scope, st in self._scopes.items():
            st.awaiting = False
            if not st.refused:
                await self._subscribe(ws, scope)
        # Silence for two heartbeats means the connection is dead even if TCP has not noticed.
        silence_s = 2 * self.heartbeat_s + 5
        last_heard = time.monotonic()
        while not self._stopping:
            now = time.monotonic()
            if now >= self._next_ping:
                await self._ping(ws)
            waits = [st.sub_deadline - now for st in self._scopes.values() if st.awaiting]
            timeout = min([silence_s - (now - last_heard), self._next_ping - now, *waits])
            try:
                frame = await self._recv(ws, timeout)
                last_heard = time.monotonic()
            except TimeoutError:
                now = time.monotonic()
                if now - last_heard >= silence_s:
                    raise _Reconnect(f"nothing heard for {silence_s:g} s") from None
                for scope, st in self._scopes.items():
                    if st.awaiting and st.sub_deadline <= time.monotonic():
                        await self._subscribe(ws, scope)  # the sub or its answer was lost: ask again
                continue
            for scope in await self._handle(frame):
                await self._subscribe(ws, scope)

    async def _recv(self, ws: Connection, timeout: float) -> dict[str, Any]:
        try:
            raw = await asyncio.wait_for(ws.recv(), max(0.0, timeout))
        except TimeoutError:
            if self.welcome is None:
                raise _Reconnect("no welcome from the server in time") from None
            raise
        try:
            frame = json.loads(raw)
        except (ValueError, TypeError):
            raise _Reconnect("the server sent a frame that is not JSON") from None
        if not isinstance(frame, dict):
            raise _Reconnect("the server sent a frame that is not a JSON object")
        return frame

    async def _ping(self, ws: Connection) -> None:
        self._ping_id += 1
        if len(self._pings) > 16:  # unanswered pings (lost frames) must not pile up
            self._pings.clear()
        self._pings[self._ping_id] = self._wall()
        self._next_ping = time.monotonic() + self.ping_interval_s
        await ws.send(json.dumps({"type": "ping", "id": self._ping_id}))

    def _clock_sample(self, t0: float | None, server_time: Any) -> None:
        if t0 is None or self._on_clock_sample is None or not isinstance(server_time, int | float):
            return
        self._on_clock_sample(t0, float(server_time), self._wall())

    async def _subscribe(self, ws: Connection, scope: str) -> None:
        st = self._scopes[scope]
        if st.awaiting:
            self.stats.resubscribes += 1
        st.awaiting = True
        st.sub_deadline = time.monotonic() + self.sub_timeout_s
        c = st.cursor
        await ws.send(json.dumps({"type": "sub", "scope": scope, "epoch": c.epoch, "since": c.seq}))

    # -- frames ----------------------------------------------------------------------------------

    async def _handle(self, frame: dict[str, Any]) -> list[str]:
        """Apply one frame; returns the scopes that must be asked for again."""
        kind = frame.get("type")
        scope = frame.get("scope")
        st = self._scopes.get(scope) if isinstance(scope, str) else None
        if kind == "change" and st is not None:
            return await self._on_change(scope, st, frame)
        if kind == "sub_ok" and st is not None:
            return await self._on_sub_ok(scope, st, frame)
        if kind == "heartbeat":
            return self._on_heartbeat(frame.get("heads") or {})
        if kind == "pong":
            ping_id = frame.get("id")
            self._clock_sample(
                self._pings.pop(ping_id, None) if isinstance(ping_id, int) else None, frame.get("server_time")
            )
            return []
        if kind == "error":
            if frame.get("about") == "presence" and self.on_presence_refused is not None:
                self.on_presence_refused(frame)
            elif st is not None and frame.get("code") in ("forbidden", "not_found"):
                st.refused = True
                st.awaiting = False
                await self._out.put(ScopeRefused(scope, frame["code"], str(frame.get("message", ""))))
            else:
                log.info("live: server error frame: %s", frame)
        return []

    async def _on_change(self, scope: str, st: _ScopeState, frame: dict[str, Any]) -> list[str]:
        seq = frame.get("seq")
        last = st.cursor.seq
        if not isinstance(seq, int) or last is None:
            return []  # no base yet: the pending sub_ok brings one
        if seq <= last:
            self.stats.duplicates_dropped += 1
            return []
        if seq == last + 1:
            await self._apply(scope, st, frame)
            return []
        self.stats.gaps_seen += 1
        return [] if st.awaiting else [scope]

    async def _on_sub_ok(self, scope: str, st: _ScopeState, frame: dict[str, Any]) -> list[str]:
        epoch = frame.get("epoch")
        if frame.get("mode") == "snapshot":
            seq = frame.get("seq")
            if not isinstance(seq, int) or not isinstance(epoch, str):
                return [scope]
            if epoch == st.cursor.epoch and st.cursor.seq is not None and seq < st.cursor.seq:
                self.stats.duplicates_dropped += 1  # an old answer, delayed or repeated
                return []
            st.cursor = Cursor(epoch, seq)
            st.awaiting = False
            self.stats.snapshots += 1
            await self._out.put(Snapshot(scope, epoch, seq, frame.get("state") or {}))
            return []
        if epoch != st.cursor.epoch or st.cursor.seq is None:
            return []  # an answer to a question about another epoch: a newer one is on its way
        for change in frame.get("changes") or ():
            seq = change.get("seq")
            if not isinstance(seq, int) or seq <= st.cursor.seq:
                continue
            if seq != st.cursor.seq + 1:
                self.stats.gaps_seen += 1
                return [scope]
            await self._apply(scope, st, change)
        if not frame.get("more"):
            st.awaiting = False
            head = frame.get("head")
            if isinstance(head, int) and head > st.cursor.seq:
                return [scope]
        return []

    def _on_heartbeat(self, heads: dict[str, Any]) -> list[str]:
        behind = []
        for scope, head in heads.items():
            st = self._scopes.get(scope)
            if st is None or st.awaiting or not isinstance(head, int):
                continue
            if st.cursor.seq is None or head > st.cursor.seq:
                self.stats.gaps_seen += 1
                behind.append(scope)  # the tail of the stream was lost
        return behind

    async def _apply(self, scope: str, st: _ScopeState, change: dict[str, Any]) -> None:
        st.cursor.seq = change["seq"]
        self.stats.applied += 1
        await self._out.put(
            Applied(scope, change["seq"], change.get("kind", ""), change.get("at", 0.0), change.get("data"))
        )

    def _note_close(self, exc: BaseException) -> SignedOut | None:
        """Record how the server closed the connection; a "sign in again" close is returned."""
        rcvd = getattr(exc, "rcvd", None)
        if rcvd is None:
            return None
        self.stats.last_close = (rcvd.code, rcvd.reason)
        self.stats.closes.append(self.stats.last_close)
        return SignedOut(rcvd.code, rcvd.reason) if rcvd.code in live.FATAL_CLOSE_CODES else None
