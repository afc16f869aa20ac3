"""Cross-instance fan-out: instances on one database tell each other through Redis that they committed.

Several ``focusdesk serve`` processes share one PostgreSQL database. The change log in that database is
the truth; each instance's live hub already delivers a scope strictly in seq order and fills any gap from
the log. What an instance cannot know by itself is *when* another instance committed. So after every
commit an instance publishes a small **poke** on Redis — the new head of each scope it wrote, and the
kinds of change — and every other instance reads whatever it is missing from the log.

Why pokes rather than the changes themselves: the log stays the only source of changes (a notice's
privacy filter, ordering and gap-filling stay in one place), a poke is a few bytes whatever was
written (an import of 5,000 attendees is one poke), and pokes coalesce — while one is being sent, later
heads of the same scope simply replace it.

Redis is an accelerator, not a dependency: a lost poke is healed by the next poke of the same scope or
by the hub's periodic reconcile (``live_reconcile_s``), and while Redis is down the instance keeps
serving — delivery across instances just falls back to that reconcile. On reconnecting, the instance
reconciles at once to catch up with what it did not hear.

Messages (JSON on ``focusdesk:<installation_id>:changes``)::

    {"i": "<instance>", "h": {"<scope>": <head seq>, …}, "k": ["checkin.recorded", …]}
    {"i": "<instance>", "t": 1}    # a sign-in was revoked: drop cached token checks
    {"i": "<instance>", "f": [["<email key>", "<client address>"], …]}   # failed sign-ins

Failed sign-ins are shared so the sign-in throttle counts them across instances: behind a round-robin
proxy an attacker would otherwise get one allowance per instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from focusdesk.server.loops import call_on_loop

log = logging.getLogger(__name__)

# Reconnect backoff while Redis is unreachable: quick at first (a restart), then every few seconds.
BACKOFF_S = (0.1, 0.25, 0.5, 1.0, 2.0)
MAX_QUEUED_FAILURES = 1000


def channel_for(installation_id: str) -> str:
    return f"focusdesk:{installation_id}:changes"


class RedisFanout:
    """One instance's link to the others: announces its commits and hears theirs."""

    def __init__(
        self,
        url: str,
        instance_id: str,
        *,
        on_heads: Callable[[dict[str, int]], None],
        on_kinds: Callable[[set[str]], None],
        on_tokens_revoked: Callable[[], None],
        on_login_failures: Callable[[list[tuple[str, str]]], None],
        on_reconnect: Callable[[], Awaitable[None]],
    ):
        self.url = url
        self.instance_id = instance_id
        self._on_heads = on_heads
        self._on_kinds = on_kinds
        self._on_tokens_revoked = on_tokens_revoked
        self._on_login_failures = on_login_failures
        self._on_reconnect = on_reconnect
        self.channel = ""
        self.connected = False
        self.sent = 0
        self.received = 0
        self._client: aioredis.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task] = []
        # What is waiting to be announced: newest head per scope, kinds, a token revocation.
        self._heads: dict[str, int] = {}
        self._kinds: set[str] = set()
        self._tokens = False
        self._failures: list[tuple[str, str]] = []
        self._wake = asyncio.Event()
        # Set by the listener whenever it (re)subscribes: a sender backing off tries again at once.
        self._reachable = asyncio.Event()
        self._outage_logged = False

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, installation_id: str) -> None:
        self._loop = asyncio.get_running_loop()
        self.channel = channel_for(installation_id)
        # Short timeouts: a Redis that stops answering must not hold up an announcement for long, and
        # the listener's health checks notice a silent connection. One immediate retry (a pooled
        # connection from before a Redis restart fails once); outages are retried by our own loops,
        # which keep serving meanwhile, rather than by the client's ten backed-off attempts.
        self._client = aioredis.from_url(
            self.url,
            socket_connect_timeout=2.0,
            socket_timeout=5.0,
            health_check_interval=5,
            retry=Retry(NoBackoff(), 1),
        )
        self._tasks = [
            self._loop.create_task(self._listen(), name="fanout-listen"),
            self._loop.create_task(self._send(), name="fanout-send"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            self._client = None
        self.connected = False

    # -- announcing (after our own commits) --------------------------------------------------------

    def announce(self, changes: Iterable[Any]) -> None:
        """Committed changes of this instance (on the loop): queue a poke for their scopes."""
        heads = self._heads
        for change in changes:
            if change.seq > heads.get(change.scope, 0):
                heads[change.scope] = change.seq
            self._kinds.add(change.kind)
        self._wake.set()

    def announce_threadsafe(self, changes: list[Any]) -> None:
        call_on_loop(self._loop, self.announce, changes)

    def announce_tokens_revoked(self) -> None:
        self._tokens = True
        self._wake.set()

    def announce_login_failure(self, email_key: str, client: str) -> None:
        if len(self._failures) < MAX_QUEUED_FAILURES:  # an outage must not grow this without bound
            self._failures.append((email_key, client))
        self._wake.set()

    async def _send(self) -> None:
        attempt = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            heads, kinds, tokens, failures = self._heads, self._kinds, self._tokens, self._failures
            self._heads, self._kinds, self._tokens, self._failures = {}, set(), False, []
            messages = []
            if heads:
                messages.append({"i": self.instance_id, "h": heads, "k": sorted(kinds)})
            if tokens:
                messages.append({"i": self.instance_id, "t": 1})
            if failures:
                messages.append({"i": self.instance_id, "f": failures})
            try:
                for message in messages:
                    await self._client.publish(self.channel, json.dumps(message, separators=(",", ":")))
                    self.sent += 1
                attempt = 0
            except (RedisError, OSError) as exc:
                self._log_outage(exc)
                # Keep what was not sent, merged with anything newer, and try again after a pause.
                # (The other instances' reconcile delivers it meanwhile; this only makes it prompt.)
                for scope, seq in heads.items():
                    if seq > self._heads.get(scope, 0):
                        self._heads[scope] = seq
                self._kinds |= kinds
                self._tokens = self._tokens or tokens
                self._failures = (failures + self._failures)[:MAX_QUEUED_FAILURES]
                self._reachable.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._reachable.wait(), BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
                attempt += 1
                self._wake.set()

    # -- hearing the others ------------------------------------------------------------------------

    async def _listen(self) -> None:
        attempt = 0
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if not self.connected:
                    self.connected = True
                    if self._outage_logged:
                        log.warning("Redis at %s is back: changes from other instances arrive at once again", self.url)
                    self._outage_logged = False
                self._reachable.set()
                attempt = 0
                # Whatever was announced while we were not listening is in the log: look now. (If the
                # database cannot answer, the hub's periodic reconcile looks again; keep listening.)
                try:
                    await self._on_reconnect()
                except Exception:
                    log.warning(
                        "catching up after (re)joining Redis failed; the periodic reconcile will", exc_info=True
                    )
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._hear(message["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self._log_outage(exc)
            except Exception:  # a bug in a handler must not end the listener
                log.exception("fan-out listener failed; reconnecting")
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            self.connected = False
            await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
            attempt += 1

    def _hear(self, raw: bytes | str) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            log.warning("ignoring a malformed fan-out message on %s", self.channel)
            return
        if not isinstance(message, dict) or message.get("i") == self.instance_id:
            return  # our own poke: the hub had these changes straight from the commit
        self.received += 1
        heads = message.get("h")
        if isinstance(heads, dict):
            self._on_heads({str(s): int(h) for s, h in heads.items() if isinstance(h, int)})
        kinds = message.get("k")
        if isinstance(kinds, list):
            self._on_kinds({str(k) for k in kinds})
        if message.get("t"):
            self._on_tokens_revoked()
        failures = message.get("f")
        if isinstance(failures, list):
            self._on_login_failures([(str(f[0]), str(f[1])) for f in failures if isinstance(f, list) and len(f) == 2])

    def _log_outage(self, exc: BaseException) -> None:
        # ``connected`` is the listener's to set: it is what decides whether this instance hears the
        # others. A failed publish (often a pooled connection from before a Redis restart) is retried.
        if not self._outage_logged:
            self._outage_logged = True
            log.warning(
                "Redis at %s is unreachable (%s): changes from other instances now arrive with the periodic "
                "reconcile instead of at once; retrying",
                self.url,
                exc,
            )
