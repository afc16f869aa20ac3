"""Several real server processes on one PostgreSQL and one Redis, and what stands between them and desks.

- :func:`running_instances` starts ``python -m focusdesk.cli serve … --redis …`` processes on free ports,
  each logging to its own file, waits for their ``GET /health`` and kills them whatever happens.
- :class:`RoundRobinProxy` stands in for nginx without sticky sessions: every new client connection goes
  to the next backend that accepts the TCP connect, and a connection ends on both sides when either does
  (so a killed backend's connections close on the desks' side too).
- :class:`PrivateRedis` is a ``redis-server`` of a test's own, to stop and restart at will (the shared one
  at 6379 must never be touched).
- :class:`Follower` is a raw live WebSocket following one scope, keeping every ``change`` frame with the
  time it arrived, so a test can prove a stream gap-free and see how fast it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.live_support import hello, open_ws, subscribe
from tests.support import free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]

# The Redis the instances of the cross-instance tests share; FOCUSDESK_TEST_REDIS="" turns them off.
REDIS_URL = os.environ.get("FOCUSDESK_TEST_REDIS", "redis://127.0.0.1:6379/0")


# -- is there a Redis? -------------------------------------------------------------------------------


def redis_ping(host: str, port: int, timeout: float = 2.0) -> bool:
    """A bare RESP ``PING`` (no client library needed to ask whether anyone answers)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@functools.cache
def redis_unavailable_reason() -> str | None:
    """Why the shared Redis cannot be used (probed once per test session), or None."""
    if not REDIS_URL:
        return "FOCUSDESK_TEST_REDIS is empty: the multi-instance runs are switched off"
    parts = urlsplit(REDIS_URL)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    if not redis_ping(host, port):
        return f"Redis is not answering PING at {host}:{port} (FOCUSDESK_TEST_REDIS={REDIS_URL})"
    return None


# -- server processes --------------------------------------------------------------------------------


@dataclass
class Instance:
    """One ``focusdesk serve`` process."""

    name: str
    port: int
    log_path: Path
    proc: subprocess.Popen | None = None
    killed: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def health(self, timeout: float = 5.0) -> tuple[int, dict] | None:
        """``(status code, body)`` of ``GET /health``, or None when nothing answers."""
        try:
            r = httpx.get(f"{self.url}/health", timeout=timeout)
        except httpx.HTTPError:
            return None
        try:
            return r.status_code, r.json()
        except ValueError:
            return r.status_code, {"text": r.text}

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to anyone."""
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.killed = True

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_text(self, since: int = 0) -> str:
        try:
            with self.log_path.open("rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def tail(self, lines: int = 40, since: int = 0) -> str:
        """The last ``lines`` of the log that say something (uvicorn's per-connection lines left out)."""
        text = [line for line in self.log_text(since).splitlines() if not _NOISE.search(line)][-lines:]
        state = "running" if self.alive else f"exited ({self.proc.returncode if self.proc else 'never started'})"
        return f"--- {self.name} on port {self.port}, {state}, log {self.log_path} ---\n" + "\n".join(text)


# uvicorn's line per connection and per successful request; errors and 5xx answers stay in the tails.
_NOISE = re.compile(
    r'^INFO: +(connection (open|closed)$|\S+ - "WebSocket .*\[accepted\]$|\S+ - "[A-Z]+ .*" [1-4]\d\d\b)'
)


def instance_env(reconcile_s: float, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("FOCUSDESK_DATABASE", None)
    env.pop("FOCUSDESK_REDIS", None)
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "FOCUSDESK_LIVE_RECONCILE_S": repr(float(reconcile_s)),
            # The heartbeat also reconciles: never more often than the reconcile asked for.
            "FOCUSDESK_LIVE_HEARTBEAT_S": repr(max(30.0, float(reconcile_s))),
            # Tests open many followers with one admin token.
            "FOCUSDESK_LIVE_PER_TOKEN": "1000",
        }
    )
    env.update(extra)
    return env


def start_instance(
    name: str, database_url: str, redis_url: str | None, directory: Path, env: dict[str, str]
) -> Instance:
    port = free_port()
    inst = Instance(name, port, directory / f"{name}-{port}.log")
    command = [sys.executable, "-m", "focusdesk.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--database", database_url]
    if redis_url:
        command += ["--redis", redis_url]
    with inst.log_path.open("wb") as log:
        inst.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return inst


def wait_healthy(inst: Instance, timeout: float = 60.0, redis: str | None = None) -> dict:
    """Until ``/health`` answers 200 (and, if given, says ``redis == redis``); fails with the log tail."""

    def ready():
        if not inst.alive:
            raise AssertionError(f"{inst.name} exited before it was healthy\n{inst.tail()}")
        got = inst.health(timeout=2)
        if got is None or got[0] != 200:
            return None
        if redis is not None and got[1].get("redis") != redis:
            return None
        return got[1]

    try:
        return wait_until(ready, timeout=timeout, interval=0.1, what=f"{inst.name} /health (redis={redis})")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nlast /health: {inst.health(timeout=2)}\n{inst.tail()}") from None


@contextlib.contextmanager
def running_instances(
    database_url: str,
    redis_url: str | None,
    directory: Path,
    count: int = 2,
    *,
    reconcile_s: float,
    env: dict[str, str] | None = None,
) -> Iterator[list[Instance]]:
    """``count`` server processes on one database (and Redis), healthy, killed on the way out.

    Their logs' tails are printed on the way out: pytest shows them only for a test that failed.
    """
    directory.mkdir(parents=True, exist_ok=True)
    environment = instance_env(reconcile_s, **(env or {}))
    instances: list[Instance] = []
    try:
        for i in range(count):
            instances.append(start_instance(chr(ord("A") + i), database_url, redis_url, directory, environment))
        for inst in instances:
            wait_healthy(inst, redis="ok" if redis_url else None)
        yield instances
    finally:
        for inst in instances:
            inst.stop()
        for inst in instances:
            print(inst.tail())


def print_logs_since(instances: list[Instance], marks: dict[str, int]) -> None:
    for inst in instances:
        print(inst.tail(60, since=marks.get(inst.name, 0)))


# -- a round-robin TCP proxy ----------------------------------------------------------------------------


class RoundRobinProxy:
    """nginx without sticky sessions, on 127.0.0.1: each new client connection goes to the next backend
    that accepts a TCP connect; bytes are piped both ways until either side closes, then both close."""

    def __init__(self, backends: list[tuple[str, int]], connect_timeout: float = 2.0):
        self.backends = list(backends)
        self.connect_timeout = connect_timeout
        self.port: int | None = None
        self.accepted: Counter[int] = Counter()  # backend port -> client connections sent there
        self.unreachable: Counter[int] = Counter()  # backend port -> connects it refused
        self.active: dict[int, set[asyncio.StreamWriter]] = {port: set() for _, port in self.backends}
        self.turned_away = 0  # clients closed because no backend accepted
        self._next = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._handlers: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RoundRobinProxy:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                self._server = loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="round-robin-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def active_count(self, port: int) -> int:
        return len(self.active.get(port, ()))

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            self._handlers.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        backend = None
        for _ in range(len(self.backends)):
            host, port = self.backends[self._next % len(self.backends)]
            self._next += 1
            try:
                backend = await asyncio.wait_for(asyncio.open_connection(host, port), self.connect_timeout)
            except (OSError, TimeoutError):
                self.unreachable[port] += 1
                continue
            break
        if backend is None:
            self.turned_away += 1
            writer.close()
            return
        b_reader, b_writer = backend
        self.accepted[port] += 1
        self.active[port].add(writer)
        try:
            one = asyncio.ensure_future(_pipe(reader, b_writer))
            other = asyncio.ensure_future(_pipe(b_reader, writer))
            try:
                await asyncio.wait([one, other], return_when=asyncio.FIRST_COMPLETED)
            finally:
                one.cancel()
                other.cancel()
                await asyncio.gather(one, other, return_exceptions=True)
        finally:
            self.active[port].discard(writer)
            for w in (writer, b_writer):
                w.close()
            for w in (writer, b_writer):
                with contextlib.suppress(Exception):
                    await w.wait_closed()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until EOF or an error on either side."""
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while True:
            data = await source.read(65536)
            if not data:
                return
            sink.write(data)
            await sink.drain()


# -- a Redis of one's own ---------------------------------------------------------------------------------


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


class PrivateRedis:
    """``redis-server`` on a free port, without persistence, that a test may stop and start again."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = directory / f"redis-{self.port}.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        binary = redis_server_binary()
        assert binary is not None, "redis-server is not installed"
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(command, cwd=self.directory, stdout=log, stderr=subprocess.STDOUT)
        wait_until(
            lambda: redis_ping("127.0.0.1", self.port, timeout=0.5) or self._exited(),
            timeout=15,
            what=f"redis-server on port {self.port}",
        )
        if self._exited():
            raise AssertionError(f"redis-server exited: {self.log_path.read_text(errors='replace')[-2000:]}")
        return self

    def _exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


# -- a live follower ---------------------------------------------------------------------------------------


@dataclass
class Follower:
    """A raw live WebSocket on one instance, following one scope from a snapshot; keeps every ``change``
    frame (with its arrival time on ``time.monotonic``) until the connection ends."""

    url: str
    token: str
    station_id: str
    scope: str
    base: int = 0
    frames: list[dict] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)
    ended: str | None = None
    _ws: object = None
    _task: asyncio.Task | None = None

    async def open(self) -> Follower:
        self._ws = await open_ws(self.url, open_timeout=10, close_timeout=2)
        welcome = await hello(self._ws, self.token, self.station_id)
        assert welcome["type"] == "welcome", welcome
        ok = await subscribe(self._ws, self.scope)
        assert ok["type"] == "sub_ok" and ok["mode"] == "snapshot", ok
        self.base = ok["seq"]
        self._task = asyncio.create_task(self._read(), name=f"follower-{self.station_id}")
        return self

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                frame = json.loads(message)
                if frame.get("type") == "change" and frame.get("scope") == self.scope:
                    self.frames.append(frame)
                    self.arrived.append(time.monotonic())
        except Exception as exc:
            self.ended = f"{type(exc).__name__}: {exc}"
        else:
            self.ended = "closed"

    @property
    def seqs(self) -> list[int]:
        return [f["seq"] for f in self.frames]

    @property
    def last(self) -> int:
        return self.frames[-1]["seq"] if self.frames else self.base

    def problems(self) -> list[str]:
        """Every place the stream is not exactly base+1, base+2, …: a gap, a repeat, a step back."""
        out = []
        expected = self.base + 1
        for seq in self.seqs:
            if seq != expected:
                out.append(f"got seq {seq} where {expected} was due")
            expected = seq + 1
        return out

    async def reach(self, head: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.last < head:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.station_id} on {self.url} is at seq {self.last}, the log at {head}"
                    f" after {timeout} s (stream ended: {self.ended})"
                )
            await asyncio.sleep(0.01)

    async def first(self, predicate, timeout: float, start: int = 0) -> tuple[dict, float]:
        """The first kept frame (from index ``start``) satisfying ``predicate``, and its arrival time."""
        deadline = time.monotonic() + timeout
        checked = start
        while True:
            while checked < len(self.frames):
                if predicate(self.frames[checked]):
                    return self.frames[checked], self.arrived[checked]
                checked += 1
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.station_id} on {self.url}: no matching change within {timeout} s"
                    f" (frames so far: {[(f['seq'], f['kind']) for f in self.frames[-10:]]}, ended: {self.ended})"
                )
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 5)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task


def change_log(api, scope: str) -> list[dict]:
    """The scope's whole change log (seq 1 to head) as ``GET /sync`` deltas give it."""
    first = api.get("/api/v1/sync", params={"scope": scope})
    assert first.status_code == 200, first.text
    epoch = first.json()["epoch"]
    out: list[dict] = []
    since = 0
    while True:
        r = api.get("/api/v1/sync", params={"scope": scope, "epoch": epoch, "since": since})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["mode"] == "delta", f"the log of {scope} no longer starts at 1: {body.get('mode')}"
        out += body["changes"]
        if not body["changes"] or not body.get("more"):
            return out
        since = body["changes"][-1]["seq"]
