#!/usr/bin/env python
"""Check-in throughput and latency of a real FocusDesk server, driven by simulated desks.

Run from the repository root::

    .venv/bin/python benchmarks/checkins.py            # readable table on stdout
    .venv/bin/python benchmarks/checkins.py --json     # one JSON line, last on stdout

What happens:

1. A fresh SQLite database (or ``--database URL``) is seeded through the library: one open event,
   ``--attendees`` people, one staff account.
2. The server is started as a separate process (``python -m focusdesk.cli serve``) exactly as an
   operator would, and the benchmark waits for ``GET /health``.
3. ``--desks`` desks sign in over HTTP (each with its own ``station_id``) and keep one persistent
   HTTP/1.1 connection each. A desk has at most one request in flight, like a real desk's outbox.
4. Phase 1 ("single"): every request carries one ``checkin`` command. Phase 2 ("batched"): every
   request carries ``--batch`` consecutive commands. Each phase warms up for ``--warmup`` seconds
   (not measured), then is measured for ``--duration`` seconds.
5. The figures are checked against the server: the distinct checked-in count from
   ``GET /api/v1/events/{id}/counts``, the number of new change-log entries from ``GET /api/v1/sync``
   (one ``checkin.recorded`` per applied check-in), and, after the server has stopped, the check-in
   facts and each desk's command watermark read from the database. A mismatch makes the exit status 1.

The load generator shares the machine with the server, so it is deliberately cheap: hand-built
requests on ``asyncio`` streams (uvloop when available), no HTTP library in the hot loop. Its own CPU
share and the server's are reported so a reader can see who used the cores.

Several instances (issue 9): with ``--instances N`` the benchmark starts N ``focusdesk serve`` processes on
the same PostgreSQL database, sharing one Redis (``--redis``), and desk *i* talks to instance *i % N*.
On PostgreSQL the given URL names a *server* (``postgresql://user@host:port/ADMINDB``): a temporary
database ``fd_bench_<random>`` is created on it for the run and dropped afterwards, so every run starts
from the same empty database. Unless ``--no-baseline``, the same desks and durations are then also run
against one instance on a fresh SQLite file, and the two are printed side by side.

This is a measurement, not a pass/fail test: it exits 0 whatever the figures are, as long as the run
itself worked (server started, every acknowledged check-in found on the server).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

EMAIL = "bench@example.org"
PASSWORD = "bench-password"
HOST = "127.0.0.1"
COMMANDS_PATH = "/api/v1/commands"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def say(message: str = "") -> None:
    print(message, file=sys.stderr, flush=True)


# -- seeding (through the library, before the server starts) ---------------------------------------


@dataclass
class Seeded:
    event_id: int
    attendee_ids: list[str]
    scope_epoch: str
    scope_head: int


def seed(url: str, n: int) -> Seeded:
    from sqlalchemy import select

    from focusdesk.domain.attendees import validate_attendee
    from focusdesk.domain.events import validate_event
    from focusdesk.domain.roles import Grant
    from focusdesk.server.db import Database
    from focusdesk.server.passwords import hash_password
    from focusdesk.server.schema import attendees
    from focusdesk.server.store import accounts
    from focusdesk.server.store.attendees import ImportPlan, apply_import
    from focusdesk.server.store.changelog import event_scope, read_head
    from focusdesk.server.store.events import create_event

    db = Database(url)
    try:
        db.migrate()
        event_fields = validate_event(
            {
                "name": "Bench",
                "starts_on": "2026-11-23",
                "ends_on": "2026-11-24",
                "timezone": "UTC",
                "status": "open",
            }
        )
        ev, _ = db.write_sync(lambda c: create_event(c, event_fields, time.time()))
        event_id = ev["id"]
        people = [validate_attendee({"name": f"Person {i}", "email": f"p{i}@example.org"}) for i in range(n)]
        plan = ImportPlan(total_rows=n, creates=list(enumerate(people, 2)))
        db.write_sync(lambda c: apply_import(c, event_id, plan, time.time()))
        hashed = hash_password(PASSWORD)
        grant = Grant("staff", event_id)

        def add_user(c):
            existing = accounts.find_user(c, EMAIL)
            if existing is None:  # a reused --database keeps the account of an earlier run
                accounts.create_user(c, EMAIL, hashed, [grant], "Bench", time.time())
            else:
                accounts.add_grant(c, existing["id"], grant)

        db.write_sync(add_user)

        def read_ids(c):
            query = select(attendees.c.id).where(attendees.c.event_id == event_id).order_by(attendees.c.reg_no)
            return list(c.execute(query).scalars())

        ids = db.read_sync(read_ids)
        head = db.read_sync(lambda c: read_head(c, event_scope(event_id)))
        return Seeded(event_id, ids, head.epoch, head.head_seq)
    finally:
        db.close()


@dataclass
class ServerFacts:
    checkin_facts: int
    distinct_checked_in: int
    stations: dict[str, tuple[int, int]]  # station_id -> (last_cmd_seq, check-in facts from it)


def read_server_database(url: str, event_id: int, station_ids: list[str]) -> ServerFacts:
    """What the database holds for this run's event, read after the server has stopped."""
    from sqlalchemy import func, select

    from focusdesk.server.db import Database
    from focusdesk.server.schema import attendees, checkins, stations

    db = Database(url)
    try:

        def work(c):
            facts = c.execute(
                select(func.count()).select_from(checkins).where(checkins.c.event_id == event_id)
            ).scalar_one()
            distinct = c.execute(
                select(func.count())
                .select_from(attendees)
                .where(attendees.c.event_id == event_id, attendees.c.checked_in.is_(True))
            ).scalar_one()
            per_station = dict(
                c.execute(
                    select(checkins.c.station_id, func.count())
                    .where(checkins.c.event_id == event_id)
                    .group_by(checkins.c.station_id)
                ).all()
            )
            marks = dict(
                c.execute(select(stations.c.id, stations.c.last_cmd_seq).where(stations.c.id.in_(station_ids))).all()
            )
            return ServerFacts(
                facts,
                distinct,
                {s: (marks.get(s, -1), per_station.get(s, 0)) for s in station_ids},
            )

        return db.read_sync(work)
    finally:
        db.close()


# -- the server process -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, log_path: Path, redis_url: str | None = None) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "focusdesk.cli",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--database",
        url,
    ]
    if redis_url:
        cmd += ["--redis", redis_url]
    log = open(log_path, "wb")  # noqa: SIM115 - the child keeps writing to it
    try:
        return subprocess.Popen(cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()


def log_tail(log_path: Path, lines: int = 30) -> str:
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:])


def wait_healthy(proc: subprocess.Popen, port: int, log_path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://{HOST}:{port}/health"
    last = "no answer yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the server exited with status {proc.returncode} before it was healthy:\n" + log_tail(log_path)
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                body = json.loads(r.read())
                if r.status == 200 and body.get("status") == "ok":
                    return
                last = f"{r.status} {body}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = str(exc)
        time.sleep(0.1)
    raise RuntimeError(f"the server did not become healthy in {timeout:.0f} s ({last}):\n" + log_tail(log_path))


def health(port: int) -> dict[str, Any]:
    """``GET /health`` of a running server (its ``redis`` and ``instance`` fields say how it is wired)."""
    with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=5) as r:
        return json.loads(r.read())


def dialect_of(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).get_backend_name()


def _pg_admin(admin_url: str, sql: str) -> None:
    import asyncpg

    async def run():
        conn = await asyncpg.connect(admin_url, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@contextlib.contextmanager
def fresh_database(url: str, keep: bool = False):
    """The database a run uses: ``url`` itself for SQLite; for PostgreSQL a new, empty database
    ``fd_bench_<random>`` on the server ``url`` names (its own database is only connected to, to create
    and drop the new one), dropped afterwards unless ``keep``."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        yield url
        return
    admin = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"fd_bench_{uuid.uuid4().hex[:10]}"
    _pg_admin(admin, f'CREATE DATABASE "{name}"')
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        if keep:
            say(f"kept the PostgreSQL database {name}")
        else:
            _pg_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Servers:
    """``focusdesk serve`` processes on one database; instance k listens on ``ports[k]``."""

    procs: list[subprocess.Popen]
    ports: list[int]
    logs: list[Path]
    url: str = ""

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def cpu_seconds(self) -> list[float]:
        return [proc_cpu_seconds(pid) for pid in self.pids]

    async def database_sample(self) -> tuple[dict[int, float], dict[str, int]]:
        """On PostgreSQL: CPU seconds so far of each backend serving this database, and the database's
        transaction counters (``pg_stat_database``: commits, rollbacks, deadlocks). Empty on SQLite, where
        the database work is inside the server processes."""
        if not self.url or dialect_of(self.url) != "postgresql":
            return {}, {}
        import asyncpg
        from sqlalchemy.engine import make_url

        parsed = make_url(self.url)
        conn = await asyncpg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False))
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", parsed.database
            )
            counters = await conn.fetchrow(
                "SELECT xact_commit, xact_rollback, deadlocks FROM pg_stat_database WHERE datname = $1",
                parsed.database,
            )
        finally:
            await conn.close()
        cpu = {}
        for row in rows:
            with contextlib.suppress(OSError):
                cpu[row["pid"]] = proc_cpu_seconds(row["pid"])
        return cpu, dict(counters) if counters else {}

    def log_tails(self) -> str:
        return "\n".join(f"--- {log} ---\n{log_tail(log)}" for log in self.logs)


def start_servers(
    url: str, n: int, workdir: Path, redis_url: str | None = None, first_port: int | None = None
) -> Servers:
    """Start ``n`` instances at once (they migrate the same fresh database concurrently, as an operator's
    would) and wait until every one is healthy; on a failure the started ones are stopped again."""
    ports = [first_port or free_port()] + [free_port() for _ in range(n - 1)]
    logs = [workdir / ("server.log" if n == 1 else f"server{k}.log") for k in range(n)]
    servers = Servers([], ports, logs, url)
    try:
        for port, log in zip(ports, logs, strict=True):
            servers.procs.append(start_server(url, port, log, redis_url))
        for proc, port, log in zip(servers.procs, ports, logs, strict=True):
            wait_healthy(proc, port, log)
    except BaseException:
        stop_servers(servers)
        raise
    return servers


def stop_servers(servers: Servers) -> list[int]:
    """SIGTERM to every instance at once, then wait for each; their exit statuses."""
    for proc in servers.procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    return [stop_server(proc, signalled=True) for proc in servers.procs]


def kill_servers(servers: Servers) -> None:
    for proc in servers.procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def stop_server(proc: subprocess.Popen, timeout: float = 30.0, signalled: bool = False) -> int:
    if proc.poll() is None:
        if not signalled:  # a second SIGTERM would make uvicorn skip its graceful shutdown
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            say(f"the server did not stop within {timeout:.0f} s of SIGTERM; killing it")
            proc.kill()
            proc.wait()
    return proc.returncode


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        raw = f.read()
    fields = raw[raw.rindex(b")") + 2 :].split()
    # After "pid (comm) ", field 3 (state) is fields[0]; utime is field 14, stime field 15.
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def machine_cpu_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs so far, from /proc/stat (busy: all but idle and iowait)."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    total = sum(values[:8])  # guest time is already inside user/nice
    return total - values[3] - values[4], total


# -- a minimal HTTP/1.1 keep-alive client ----------------------------------------------------------


class HttpError(Exception):
    pass


class Connection:
    """One persistent HTTP/1.1 connection; one request at a time."""

    __slots__ = ("_host_header", "closed", "host", "port", "reader", "writer")

    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port
        self._host_header = f"Host: {host}:{port}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.closed = True

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.closed = False

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
        self.closed = True

    def prefix(self, method: str, path: str, token: str | None, with_body: bool) -> bytes:
        """Everything of a request up to (not including) the Content-Length value."""
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self._host_header
        if token:
            head += f"Authorization: Bearer {token}\r\n".encode()
        if with_body:
            head += b"Content-Type: application/json\r\nContent-Length: "
        return head

    async def send(self, prefix: bytes, body: bytes | None) -> tuple[int, bytes]:
        """Send a request built on ``prefix`` and read the whole response: (status, body)."""
        if self.closed:
            await self.open()
        if body is None:
            self.writer.write(prefix + b"\r\n")
        else:
            self.writer.write(b"%s%d\r\n\r\n%s" % (prefix, len(body), body))
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 "):
            raise HttpError(f"not an HTTP/1.1 response: {head[:40]!r}")
        status = int(head[9:12])
        lower = head.lower()
        i = lower.find(b"\r\ncontent-length:")
        if i >= 0:
            j = lower.index(b"\r\n", i + 17)
            payload = await self.reader.readexactly(int(lower[i + 17 : j]))
        elif b"\r\ntransfer-encoding: chunked" in lower:
            payload = await self._read_chunked()
        else:
            raise HttpError("response has neither Content-Length nor chunked encoding")
        if b"\r\nconnection: close" in lower:
            self.close()
        return status, payload

    async def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")  # no trailers expected
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    async def request_json(self, method: str, path: str, token: str | None = None, data: Any = None):
        body = None if data is None else json.dumps(data).encode()
        status, payload = await self.send(self.prefix(method, path, token, body is not None), body)
        try:
            return status, json.loads(payload) if payload else None
        except ValueError:
            return status, payload.decode("utf-8", "replace")


TRANSPORT_ERRORS = (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, HttpError, ValueError)


# -- desks -------------------------------------------------------------------------------------------


@dataclass
class Desk:
    index: int
    station_id: str
    conn: Connection
    instance: int = 0  # which server instance this desk talks to
    token: str = ""
    first_seq: int = 1  # the first cmd_seq this run sends
    acked_seq: int = 0  # highest cmd_seq the server has answered
    applied: int = 0  # commands acknowledged "applied" (each counted once, replays excluded)
    applied_ids: set[str] = field(default_factory=set)
    prefix: bytes = b""


@dataclass
class Phase:
    name: str
    batch: int
    stop: bool = False
    # (t_end, latency_s, applied, errors, instance) per request, across all desks
    samples: list[tuple[float, float, int, int, int]] = field(default_factory=list)
    errors: int = 0
    error_examples: list[str] = field(default_factory=list)

    def error(self, message: str, n: int = 1) -> None:
        self.errors += n
        if len(self.error_examples) < 5:
            self.error_examples.append(message)


async def sign_in(desk: Desk) -> None:
    body = {
        "email": EMAIL,
        "password": PASSWORD,
        "station_id": desk.station_id,
        "station_name": f"Bench desk {desk.index:02d}",
    }
    status, out = await desk.conn.request_json("POST", "/api/v1/auth/login", data=body)
    if status != 200:
        raise RuntimeError(f"desk {desk.station_id} could not sign in: {status} {out}")
    desk.token = out["token"]
    desk.acked_seq = out["station"]["last_cmd_seq"]
    desk.first_seq = desk.acked_seq + 1
    desk.prefix = desk.conn.prefix("POST", COMMANDS_PATH, desk.token, with_body=True)


async def desk_loop(desk: Desk, phase: Phase, event_id: int, ids: list[str]) -> None:
    """Send check-ins for ``ids`` (cycling) until the phase stops; one request in flight."""
    perf = time.perf_counter
    samples = phase.samples
    batch = phase.batch
    instance = desk.instance
    n_ids = len(ids)
    pos = 0
    args_head = f'"type":"checkin","args":{{"event_id":{event_id},"attendee_id":"'
    while not phase.stop:
        # Always (re)send from the watermark: after a failed request this resends the same commands,
        # which the server answers from its stored results if it had applied them.
        seq0 = desk.acked_seq + 1
        sent = [ids[(pos + i) % n_ids] for i in range(batch)]
        body = (
            '{"commands":[' + ",".join(f'{{"cmd_seq":{seq0 + i},{args_head}{a}"}}}}' for i, a in enumerate(sent)) + "]}"
        ).encode()
        t0 = perf()
        try:
            status, payload = await desk.conn.send(desk.prefix, body)
        except TRANSPORT_ERRORS as exc:
            t1 = perf()
            desk.conn.close()
            phase.error(f"{desk.station_id}: transport error {type(exc).__name__}: {exc}")
            samples.append((t1, t1 - t0, 0, 1, instance))
            await asyncio.sleep(0.05)
            continue
        t1 = perf()
        if status != 200:
            phase.error(f"{desk.station_id}: HTTP {status}: {payload[:300].decode('utf-8', 'replace')}")
            samples.append((t1, t1 - t0, 0, 1, instance))
            await asyncio.sleep(0.05)
            continue
        out = json.loads(payload)
        applied = bad = 0
        last = desk.acked_seq
        for r in out["results"]:
            seq = r["cmd_seq"]
            if seq <= last:
                continue  # already acknowledged earlier (a replay): counted then
            last = seq
            if r["status"] == "applied":
                applied += 1
                desk.applied_ids.add(sent[seq - seq0])
            else:
                bad += 1
                phase.error(f"{desk.station_id}: cmd_seq {seq} {r['status']}: {r.get('code')} {r.get('message')}")
        if out["last_cmd_seq"] != seq0 + batch - 1 or last != seq0 + batch - 1:
            bad += 1
            phase.error(
                f"{desk.station_id}: sent {seq0}..{seq0 + batch - 1}, answered up to {last},"
                f" watermark {out['last_cmd_seq']}"
            )
        desk.acked_seq = max(last, desk.acked_seq)
        desk.applied += applied
        pos = (pos + batch) % n_ids
        samples.append((t1, t1 - t0, applied, bad, instance))


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = max(0, math.ceil(p / 100 * len(sorted_values)) - 1)
    return sorted_values[k]


@dataclass
class PhaseResult:
    name: str
    batch: int
    window_s: float
    requests: int
    checkins: int
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    loadgen_cpu_share: float
    server_cpu_share: float  # all instances together
    error_examples: list[str]
    server_cpu_shares: list[float] = field(default_factory=list)  # per instance
    database_cpu_share: float | None = None  # PostgreSQL's backends for this database
    database_xacts_per_s: dict[str, float] | None = None  # pg_stat_database: commits, rollbacks, deadlocks /s
    machine_cpu_share: float = 0.0  # every process on the machine: the rest is other people's work
    instance_checkins: list[int] = field(default_factory=list)  # per instance

    @property
    def checkins_per_s(self) -> float:
        return self.checkins / self.window_s

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.window_s


async def run_phase(
    desks: list[Desk],
    phase: Phase,
    event_id: int,
    slices: list[list[str]],
    servers: Servers,
    warmup: float,
    duration: float,
) -> PhaseResult:
    say(f"phase {phase.name}: {len(desks)} desks, {phase.batch} check-in(s) per request")
    tasks = [asyncio.create_task(desk_loop(d, phase, event_id, s)) for d, s in zip(desks, slices, strict=True)]
    try:
        await asyncio.sleep(warmup)
        d0, x0 = await servers.database_sample()
        m0 = machine_cpu_ticks()
        w0, c0, s0 = time.perf_counter(), time.process_time(), servers.cpu_seconds()
        say(f"  warmed up for {warmup:.1f} s; measuring for {duration:.1f} s")
        # Progress once a second, cheap: counts only.
        end = w0 + duration
        seen = len(phase.samples)
        while (left := end - time.perf_counter()) > 0:
            await asyncio.sleep(min(1.0, left))
            now_n = len(phase.samples)
            done = sum(s[2] for s in phase.samples[seen:now_n])
            seen = now_n
            say(f"  … {time.perf_counter() - w0:5.1f} s  {done:6d} check-ins in the last second or so")
        w1, c1, s1 = time.perf_counter(), time.process_time(), servers.cpu_seconds()
        m1 = machine_cpu_ticks()
        await asyncio.sleep(0)
        d1, x1 = await servers.database_sample()
    finally:
        phase.stop = True
        await asyncio.gather(*tasks, return_exceptions=False)
    window = [s for s in phase.samples if w0 <= s[0] <= w1]
    latencies = sorted(s[1] for s in window)
    ncpu = os.cpu_count() or 1
    wall = w1 - w0
    shares = [(b - a) / (wall * ncpu) for a, b in zip(s0, s1, strict=True)]
    # Backends that lived through the window (a pooled connection opened or closed inside it is missed).
    database_share = sum(d1[pid] - d0[pid] for pid in d0.keys() & d1.keys()) / (wall * ncpu) if d0 else None
    # PostgreSQL's cumulative statistics reach pg_stat_database up to ~1 s late: rates, roughly.
    database_xacts = {k: (x1[k] - x0[k]) / wall for k in x0} if x0 and x1 else None
    per_instance = [0] * len(servers.ports)
    for sample in window:
        per_instance[sample[4]] += sample[2]
    return PhaseResult(
        name=phase.name,
        batch=phase.batch,
        window_s=wall,
        requests=len(window),
        checkins=sum(s[2] for s in window),
        errors=phase.errors,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=(latencies[-1] if latencies else float("nan")) * 1000,
        loadgen_cpu_share=(c1 - c0) / (wall * ncpu),
        server_cpu_share=sum(shares),
        error_examples=phase.error_examples,
        server_cpu_shares=shares,
        database_cpu_share=database_share,
        database_xacts_per_s=database_xacts,
        machine_cpu_share=(m1[0] - m0[0]) / max(1, m1[1] - m0[1]),
        instance_checkins=per_instance,
    )


def split(ids: list[str], parts: int) -> list[list[str]]:
    """``parts`` disjoint, non-empty slices of ``ids`` (round-robin)."""
    out = [ids[i::parts] for i in range(parts)]
    if any(not s for s in out):
        raise SystemExit(f"need at least {parts} attendees per phase; pass a larger --attendees")
    return out


async def drive(args, seeded: Seeded, servers: Servers) -> dict[str, Any]:
    n = len(servers.ports)  # desk i talks to instance i % n
    desks = [Desk(i, f"bench-desk-{i:02d}", Connection(HOST, servers.ports[i % n]), i % n) for i in range(args.desks)]
    await asyncio.gather(*(d.conn.open() for d in desks))
    await asyncio.gather(*(sign_in(d) for d in desks))
    say(f"{len(desks)} desks signed in")
    half = len(seeded.attendee_ids) // 2
    first, second = seeded.attendee_ids[:half], seeded.attendee_ids[half:]
    single = await run_phase(
        desks,
        Phase("single", 1),
        seeded.event_id,
        split(first, len(desks)),
        servers,
        args.warmup,
        args.duration,
    )
    report_phase(single)
    batched = await run_phase(
        desks,
        Phase("batched", args.batch),
        seeded.event_id,
        split(second, len(desks)),
        servers,
        args.warmup,
        args.duration,
    )
    report_phase(batched)

    # What the server says, over HTTP, while it still runs.
    probe = desks[0]
    status, counts = await probe.conn.request_json("GET", f"/api/v1/events/{seeded.event_id}/counts", probe.token)
    if status != 200:
        raise RuntimeError(f"GET counts answered {status}: {counts}")
    status, delta = await probe.conn.request_json(
        "GET",
        f"/api/v1/sync?scope=event:{seeded.event_id}&epoch={seeded.scope_epoch}&since={seeded.scope_head}&limit=1",
        probe.token,
    )
    if status != 200 or delta.get("mode") != "delta":
        raise RuntimeError(f"GET sync answered {status}: {str(delta)[:300]}")
    for d in desks:
        d.conn.close()
    return {"single": single, "batched": batched, "desks": desks, "counts": counts, "delta": delta}


def report_phase(r: PhaseResult) -> None:
    say(
        f"  {r.name}: {r.checkins_per_s:,.0f} check-ins/s in {r.requests_per_s:,.0f} requests/s;"
        f" latency p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, max {r.max_ms:.1f} ms;"
        f" errors {r.errors}; CPU share load generator {r.loadgen_cpu_share:.0%},"
        f" server {r.server_cpu_share:.0%}"
        + (
            " (" + " + ".join(f"{x:.0%}" for x in r.server_cpu_shares) + " per instance;"
            f" check-ins/s per instance {' + '.join(f'{c / r.window_s:,.0f}' for c in r.instance_checkins)})"
            if len(r.server_cpu_shares) > 1
            else ""
        )
        + (f", PostgreSQL backends {r.database_cpu_share:.0%}" if r.database_cpu_share is not None else "")
        + (
            f"; PostgreSQL transactions/s: {r.database_xacts_per_s['xact_commit']:,.0f} committed,"
            f" {r.database_xacts_per_s['xact_rollback']:,.0f} rolled back,"
            f" {r.database_xacts_per_s['deadlocks']:,.1f} deadlocks"
            if r.database_xacts_per_s
            else ""
        )
        + f"; whole machine {r.machine_cpu_share:.0%}"
    )
    for example in r.error_examples:
        say(f"    error: {example}")


def verify(run: dict[str, Any], seeded: Seeded, facts: ServerFacts | None) -> list[str]:
    """Every acknowledged check-in must be on the server, and nothing else."""
    desks: list[Desk] = run["desks"]
    acked = sum(d.applied for d in desks)
    distinct = len(set().union(*(d.applied_ids for d in desks)))
    run["acked"], run["distinct"] = acked, distinct
    problems = []
    counted = run["counts"]["checked_in"]
    if counted != distinct:
        problems.append(f"GET counts says {counted} checked in; desks were told {distinct} distinct people")
    logged = run["delta"]["head"] - seeded.scope_head
    if logged != acked:
        problems.append(f"GET sync: {logged} new change-log entries; desks were told {acked} check-ins applied")
    say(
        f"verify over HTTP: {counted} distinct checked in (expected {distinct}),"
        f" {logged} check-in changes logged (expected {acked})"
    )
    if facts is not None:
        if facts.checkin_facts != acked:
            problems.append(f"database holds {facts.checkin_facts} check-in facts; desks were told {acked}")
        if facts.distinct_checked_in != distinct:
            problems.append(f"database has {facts.distinct_checked_in} attendees checked in; expected {distinct}")
        for d in desks:
            mark, n = facts.stations[d.station_id]
            if mark != d.acked_seq:
                problems.append(f"{d.station_id}: server watermark {mark}, desk acknowledged up to {d.acked_seq}")
            if n != d.applied:
                problems.append(f"{d.station_id}: {n} facts in the database, desk was told {d.applied}")
        say(
            f"verify in the database: {facts.checkin_facts} check-in facts (expected {acked}),"
            f" {facts.distinct_checked_in} attendees checked in (expected {distinct})"
        )
    return problems


# -- main ----------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Several instances: --database postgresql://postgres@127.0.0.1:5432/postgres --instances 2"
        " (a temporary database is created on that server and dropped afterwards; the SQLite baseline runs"
        " too and both are printed side by side).",
    )
    p.add_argument("--desks", type=int, default=16, help="simulated desks, one connection each (16)")
    p.add_argument("--attendees", type=int, default=10_000, help="people seeded into the event (10000)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per phase (10)")
    p.add_argument("--warmup", type=float, default=1.5, help="unmeasured seconds before each phase (1.5)")
    p.add_argument("--batch", type=int, default=50, help="check-ins per request in phase 2 (50)")
    p.add_argument(
        "--database",
        metavar="URL",
        help="sqlite:///PATH (used as it is), or postgresql://USER@HOST:PORT/DB: a PostgreSQL *server*, on"
        " which the run creates a fresh database fd_bench_<random> and drops it afterwards (DB itself is"
        " only connected to, to do that). Default: a fresh SQLite file in a temp dir",
    )
    p.add_argument(
        "--instances",
        type=int,
        default=1,
        help="focusdesk serve processes on the one database; desk i talks to instance i %% N."
        " More than 1 needs PostgreSQL (1)",
    )
    p.add_argument(
        "--redis",
        metavar="URL",
        help=f"Redis the instances share, passed to every one as --redis (default with --instances > 1: {DEFAULT_REDIS})",
    )
    p.add_argument(
        "--no-baseline",
        action="store_true",
        help="on PostgreSQL, skip the single-instance SQLite run that is otherwise made too and printed beside it",
    )
    p.add_argument("--port", type=int, help="port of the (first) server instance (default: a free one)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (database, server logs) and the PG database")
    p.add_argument("--json", action="store_true", help="print one JSON line (last on stdout)")
    args = p.parse_args(argv)
    if args.desks < 1 or args.batch < 1 or args.duration <= 0 or args.warmup < 0:
        p.error("--desks and --batch must be at least 1, --duration positive, --warmup not negative")
    if args.attendees < 2 * args.desks:
        p.error(f"--attendees must be at least {2 * args.desks} (two disjoint slices per desk)")
    check_instance_args(p, args)
    return args


def report_health(servers: Servers, name_instances: bool) -> list[dict]:
    """Each started server's /health answer, said once per server (with its instance id and Redis)."""
    healths = []
    for pid, port, log in zip(servers.pids, servers.ports, servers.logs, strict=True):
        h = health(port)
        healths.append(h)
        extra = f", instance {h.get('instance', '?')}, redis {h.get('redis', '?')}" if name_instances else ""
        say(f"server pid {pid} healthy on http://{HOST}:{port} (log: {log}{extra})")
    return healths


def check_instance_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--instances, --database and --redis together (shared with fanout.py); sets ``args.dialect``."""
    if args.instances < 1:
        p.error("--instances must be at least 1")
    args.dialect = dialect_of(args.database) if args.database else "sqlite"
    if args.dialect not in ("sqlite", "postgresql"):
        p.error(f"--database: unsupported database {args.dialect!r} (sqlite:///PATH or postgresql://…)")
    if args.instances > 1 and args.dialect != "postgresql":
        p.error(
            f"--instances {args.instances} needs PostgreSQL (--database postgresql://USER@HOST:PORT/DB):"
            " several server processes cannot share one SQLite file (SQLite runs as one instance)"
        )
    if args.redis is None and args.instances > 1:
        args.redis = DEFAULT_REDIS


def run_async(coro):
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro), "asyncio"
    return uvloop.run(coro), "uvloop"


def _raise_exit(signum, _frame):
    raise SystemExit(128 + signum)


def safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _rounded(d: dict[str, float] | None) -> dict[str, float] | None:
    return None if d is None else {k: round(v, 1) for k, v in d.items()}


def run_one(args, url: str, instances: int, redis_url: str | None, workdir: Path) -> tuple[dict[str, Any], list[str]]:
    """Seed ``url``, start ``instances`` servers on it, run both phases, stop them, verify.
    Returns the flat result (the JSON keys of one run) and the verification problems."""
    workdir.mkdir(parents=True, exist_ok=True)
    dialect = dialect_of(url)
    servers: Servers | None = None
    try:
        say(f"seeding {args.attendees} attendees into {safe_url(url)} …")
        t = time.perf_counter()
        seeded = seed(url, args.attendees)
        say(f"  event {seeded.event_id} seeded in {time.perf_counter() - t:.1f} s")
        servers = start_servers(url, instances, workdir, redis_url, args.port)
        healths = report_health(servers, instances > 1 or bool(redis_url))
        run, loop_name = run_async(drive(args, seeded, servers))
        say(f"load generator event loop: {loop_name}")
        codes = stop_servers(servers)
        for code, log in zip(codes, servers.logs, strict=True):
            if code not in (0, -signal.SIGTERM):
                say(f"a server exited with status {code}:\n{log_tail(log)}")
        facts = read_server_database(url, seeded.event_id, [d.station_id for d in run["desks"]])
        problems = verify(run, seeded, facts)
    except BaseException:
        if servers is not None:
            say(f"server log tails:\n{servers.log_tails()}")
        raise
    finally:
        if servers is not None:
            kill_servers(servers)
    for problem in problems:
        say(f"VERIFY FAILED ({dialect}, {instances} instance(s)): {problem}")
    single: PhaseResult = run["single"]
    batched: PhaseResult = run["batched"]
    result = {
        "checkins_per_s": round(single.checkins_per_s, 1),
        "p50_ms": round(single.p50_ms, 2),
        "p99_ms": round(single.p99_ms, 2),
        "errors": single.errors + batched.errors,
        "batched_checkins_per_s": round(batched.checkins_per_s, 1),
        "loadgen_cpu_share": round(single.loadgen_cpu_share, 3),
        "server_cpu_share": round(single.server_cpu_share, 3),
        "max_ms": round(single.max_ms, 2),
        "single_errors": single.errors,
        "batched_p50_ms": round(batched.p50_ms, 2),
        "batched_p99_ms": round(batched.p99_ms, 2),
        "batched_max_ms": round(batched.max_ms, 2),
        "batched_requests_per_s": round(batched.requests_per_s, 1),
        "batched_errors": batched.errors,
        "batched_loadgen_cpu_share": round(batched.loadgen_cpu_share, 3),
        "batched_server_cpu_share": round(batched.server_cpu_share, 3),
        "database": dialect,
        "instances": instances,
        "redis": bool(redis_url),
        "redis_health": [h.get("redis") for h in healths],
        # Per instance (desk i talks to instance i % instances); CPU shares are of all CPUs.
        "checkins_per_s_per_instance": [round(c / single.window_s, 1) for c in single.instance_checkins],
        "batched_checkins_per_s_per_instance": [round(c / batched.window_s, 1) for c in batched.instance_checkins],
        "server_cpu_share_per_instance": [round(x, 3) for x in single.server_cpu_shares],
        "batched_server_cpu_share_per_instance": [round(x, 3) for x in batched.server_cpu_shares],
        # PostgreSQL's own backends serving this database (None on SQLite: it runs inside the server).
        "database_cpu_share": None if single.database_cpu_share is None else round(single.database_cpu_share, 3),
        "batched_database_cpu_share": None
        if batched.database_cpu_share is None
        else round(batched.database_cpu_share, 3),
        # PostgreSQL transactions per second in the window (pg_stat_database; every request's transaction,
        # reads included — check-ins per commit shows how well requests are grouped), None on SQLite.
        "database_xacts_per_s": _rounded(single.database_xacts_per_s),
        "batched_database_xacts_per_s": _rounded(batched.database_xacts_per_s),
        # Busy share of the whole machine in each phase (other processes too: the machine is shared) and
        # the load average as the run ended.
        "machine_cpu_share": round(single.machine_cpu_share, 3),
        "batched_machine_cpu_share": round(batched.machine_cpu_share, 3),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "desks": args.desks,
        "attendees": args.attendees,
        "batch": args.batch,
        "duration_s": round(single.window_s, 2),
        "batched_duration_s": round(batched.window_s, 2),
        "cpus": os.cpu_count(),
        "acknowledged_checkins": run["acked"],
        # Check-ins of someone already checked in (the desks cycle through their slice of attendees).
        "repeat_checkins": run["acked"] - run["distinct"],
        "verified": not problems,
    }
    return result, problems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_exit)  # so the servers are cleaned up on SIGTERM too
    tmp = Path(tempfile.mkdtemp(prefix="focusdesk-bench-"))
    runs: dict[str, tuple[dict[str, Any], list[str]]] = {}
    try:
        given = args.database or f"sqlite:///{tmp / 'bench.db'}"
        with fresh_database(given, keep=args.keep) as url:
            if args.dialect == "postgresql":
                say(f"== PostgreSQL, {args.instances} instance(s){', Redis ' + args.redis if args.redis else ''} ==")
            runs[args.dialect] = run_one(args, url, args.instances, args.redis, tmp / args.dialect)
        if args.dialect == "postgresql" and not args.no_baseline:
            say("== baseline: SQLite, 1 instance, the same desks and durations ==")
            runs["sqlite"] = run_one(args, f"sqlite:///{tmp / 'sqlite' / 'bench.db'}", 1, None, tmp / "sqlite")
    finally:
        if args.keep:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    ok = all(not problems for _, problems in runs.values())
    if len(runs) == 1:
        ((result, _),) = runs.values()
        if args.json:
            sys.stdout.write(json.dumps(result) + "\n")
        else:
            print_table(result)
        return 0 if ok else 1
    sq, pg = runs["sqlite"][0], runs["postgresql"][0]
    ratio = {
        k: round(pg[k] / sq[k], 3) if sq[k] else None
        for k in ("checkins_per_s", "batched_checkins_per_s", "p99_ms", "batched_p99_ms")
    }
    out = {
        "benchmark": "checkins",
        "desks": args.desks,
        "attendees": args.attendees,
        "batch": args.batch,
        "cpus": os.cpu_count(),
        "instances": args.instances,
        "sqlite": sq,
        "postgresql": pg,
        # postgresql / sqlite; the issue's target is checkins_per_s >= 1 (N instances on PostgreSQL at
        # least as fast as one on SQLite).
        "ratio": ratio,
        "target_met": pg["checkins_per_s"] >= sq["checkins_per_s"],
        "verified": ok,
    }
    print_comparison(out)
    if args.json:
        sys.stdout.write(json.dumps(out) + "\n")
    return 0 if ok else 1


def print_comparison(out: dict[str, Any]) -> None:
    """Both runs side by side, on stderr."""
    sq, pg, n = out["sqlite"], out["postgresql"], out["instances"]

    def per(r: dict, key: str) -> str:
        xs = r[key]
        return " (" + " + ".join(f"{x:,.0f}" for x in xs) + ")" if len(xs) > 1 else ""

    def share(r: dict, key: str) -> str:
        xs = r[key + "_per_instance"]
        parts = " (" + " + ".join(f"{x:.0%}" for x in xs) + ")" if len(xs) > 1 else ""
        return f"{r[key]:.0%}{parts}"

    rows = [("", "SQLite, 1 instance", f"PostgreSQL, {n} instance{'s' if n > 1 else ''}", "PG / SQLite")]
    for label, pre in (("single", ""), (f"batched ({out['batch']}/request)", "batched_")):
        rows.append((label, "", "", ""))
        rows.append(
            (
                "  check-ins/s",
                f"{sq[pre + 'checkins_per_s']:,.0f}",
                f"{pg[pre + 'checkins_per_s']:,.0f}{per(pg, pre + 'checkins_per_s_per_instance')}",
                f"{out['ratio'][pre + 'checkins_per_s']:.2f}",
            )
        )
        for what in ("p50", "p99", "max"):
            rows.append(
                (f"  latency {what} (ms)", f"{sq[pre + what + '_ms']:.1f}", f"{pg[pre + what + '_ms']:.1f}", "")
            )
        errors = "single_errors" if not pre else "batched_errors"
        rows.append(("  errors", str(sq[errors]), str(pg[errors]), ""))
        rows.append(("  server CPU", share(sq, pre + "server_cpu_share"), share(pg, pre + "server_cpu_share"), ""))
        pg_db = pg[pre + "database_cpu_share"]
        rows.append(("  PostgreSQL backends CPU", "—", "—" if pg_db is None else f"{pg_db:.0%}", ""))
        xacts = pg[pre + "database_xacts_per_s"]
        if xacts:
            rows.append(
                (
                    "  PG commits/s (rollbacks/s)",
                    "—",
                    f"{xacts['xact_commit']:,.0f} ({xacts['xact_rollback']:,.0f})",
                    "",
                )
            )
        rows.append(
            (
                "  whole machine CPU",
                f"{sq[pre + 'machine_cpu_share']:.0%}",
                f"{pg[pre + 'machine_cpu_share']:.0%}",
                "",
            )
        )
        rows.append(
            ("  load generator CPU", f"{sq[pre + 'loadgen_cpu_share']:.0%}", f"{pg[pre + 'loadgen_cpu_share']:.0%}", "")
        )
    rows.append(("load average at the end", f"{sq['loadavg'][0]:.2f}", f"{pg['loadavg'][0]:.2f}", ""))
    rows.append(("verified", "yes" if sq["verified"] else "NO", "yes" if pg["verified"] else "NO", ""))
    rows.append(("acknowledged check-ins", f"{sq['acknowledged_checkins']:,}", f"{pg['acknowledged_checkins']:,}", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    say()
    say(
        f"Check-ins: {out['desks']} desks, {out['attendees']} attendees, {out['cpus']} CPUs (CPU shares are of all"
        f" CPUs; per instance in brackets), Redis {'on' if pg['redis'] else 'off'} ({', '.join(map(str, pg['redis_health']))})"
    )
    for r in rows:
        say(f"  {r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}")
    say(
        f"  target (PostgreSQL x{n} single >= SQLite x1 single): {'met' if out['target_met'] else 'MISSED'}"
        f" ({out['ratio']['checkins_per_s']:.2f}x)"
    )


def print_table(r: dict[str, Any]) -> None:
    rows = [
        ("", "single", f"batched ({r['batch']}/request)"),
        ("check-ins/s", f"{r['checkins_per_s']:,.0f}", f"{r['batched_checkins_per_s']:,.0f}"),
        ("requests/s", f"{r['checkins_per_s']:,.0f}", f"{r['batched_requests_per_s']:,.0f}"),
        ("latency p50 (ms)", f"{r['p50_ms']:.1f}", f"{r['batched_p50_ms']:.1f}"),
        ("latency p99 (ms)", f"{r['p99_ms']:.1f}", f"{r['batched_p99_ms']:.1f}"),
        ("latency max (ms)", f"{r['max_ms']:.1f}", f"{r['batched_max_ms']:.1f}"),
        ("errors", str(r["single_errors"]), str(r["batched_errors"])),
        ("load generator CPU", f"{r['loadgen_cpu_share']:.0%}", f"{r['batched_loadgen_cpu_share']:.0%}"),
        ("server CPU", f"{r['server_cpu_share']:.0%}", f"{r['batched_server_cpu_share']:.0%}"),
        ("whole machine CPU", f"{r['machine_cpu_share']:.0%}", f"{r['batched_machine_cpu_share']:.0%}"),
        ("measured for (s)", f"{r['duration_s']:.1f}", f"{r['batched_duration_s']:.1f}"),
    ]
    w0 = max(len(a) for a, _, _ in rows)
    w1 = max(len(b) for _, b, _ in rows)
    w2 = max(len(c) for _, _, c in rows)
    where = f"{r['database']}, {r['instances']} instance{'s' if r['instances'] > 1 else ''}"
    print(
        f"Check-ins ({where}): {r['desks']} desks, {r['attendees']} attendees, {r['cpus']} CPUs"
        " (shares are of all CPUs)"
    )
    if r["instances"] > 1:
        print(
            "  per instance: check-ins/s "
            + " + ".join(f"{x:,.0f}" for x in r["checkins_per_s_per_instance"])
            + ", server CPU "
            + " + ".join(f"{x:.0%}" for x in r["server_cpu_share_per_instance"])
            + f" (Redis: {', '.join(map(str, r['redis_health']))})"
        )
    for a, b, c in rows:
        print(f"  {a:<{w0}}  {b:>{w1}}  {c:>{w2}}")
    print(
        f"  verified against the server: {'yes' if r['verified'] else 'NO'}"
        f" ({r['acknowledged_checkins']:,} acknowledged check-ins)"
    )


if __name__ == "__main__":
    sys.exit(main())
