#!/usr/bin/env python
"""Live fan-out: how fast a committed check-in reaches every desk, and what a connected desk costs.

Run from the repository root::

    .venv/bin/python benchmarks/fanout.py            # readable table on stdout
    .venv/bin/python benchmarks/fanout.py --json     # one JSON line, last on stdout

What happens:

1. A fresh SQLite database is seeded through the library (one open event, ``--attendees`` people, one
   account), and the server is started as its own process (``python -m focusdesk.cli serve``).
2. For each N in ``--desks`` (default 100 and 1,000), a worker process opens N WebSockets to
   ``/api/v1/live``, says ``hello`` and subscribes every desk to the event from the same cursor. The
   desks are hand-written minimal WebSocket clients (asyncio protocols, uvloop when available) so the
   load generator costs little CPU next to the server on this 2-core machine.
3. One desk commits check-ins through ``POST /api/v1/commands`` at ``--rate`` per second for
   ``--duration`` seconds. Each ``change`` frame carries ``at``, the server time of the command batch
   (taken as the writer starts it, before its COMMIT); a desk records ``receive time - at``. Per
   change, the latency of the *last* desk to get it is "commit-to-last-desk"; the table reports its
   p50/p99 over all changes.
4. Every desk checks its stream: each seq must be exactly one past the previous. A seq seen again is
   *duplicated*; a desk that ends short of the head, or sees a jump, has *lost* changes.
5. First of all, on the fresh server, ``--idle`` desks (default 5,000) are connected and subscribed,
   and the server's resident memory is read from ``/proc`` before and after: the RSS with them all
   connected, and the cost per connection. A few check-ins are then sent to them too, and counted.
6. Last, the timer round (``--timer-desks``, default 1,000; 0 skips): ``--rooms`` rooms are added to the
   event with ``room_create`` commands from an "organizer laptop" (a desk signed in with an organizer
   account the seeding adds), then ``--timer-desks`` desks subscribe and the laptop sends ``timer``
   commands at ``--timer-rate`` per second for ``--duration`` seconds: it starts an idle room, or resets
   the room that has run longest, keeping about half of the rooms running. Each applied command is one
   ``room.updated`` change; a desk recognises a *start* (the room's timer shown as running) by the kind
   and ``"status":"running"`` in the frame, and the commit-to-last-desk p50/p99 of the starts is reported
   beside the figures of all the round's changes (starts and resets).

Several instances (issue 9): with ``--instances N --database postgresql://… --redis URL`` N servers run on
one fresh PostgreSQL database (created on that server for the run and dropped afterwards, as in
``checkins.py``) and share the Redis; desk *i* connects to instance *i % N*, while every command is sent to
instance 0. Each figure is then also given per receiving instance: instance 0's desks get changes from
their own server ("same instance"), the others through Redis and the database ("cross-instance").
Unless ``--no-baseline``, the same rounds are also run on one instance on SQLite, and the two are printed
side by side.

Both processes run on the same machine as the server, so absolute times depend on it; compare ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import os
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
for p in (str(REPO_ROOT), str(BENCH_DIR)):
    if p not in sys.path:
        sys.path.insert(0, p)

from checkins import (  # noqa: E402 - after the path set-up above
    DEFAULT_REDIS,
    EMAIL,
    HOST,
    PASSWORD,
    Servers,
    check_instance_args,
    dialect_of,
    fresh_database,
    kill_servers,
    machine_cpu_ticks,
    percentile,
    report_health,
    safe_url,
    say,
    seed,
    start_servers,
    stop_servers,
)

LIVE_PATH = "/api/v1/live"
ORGANIZER_EMAIL = "bench-organizer@example.org"
_SEQ = re.compile(rb'"seq":(\d+)')
_AT = re.compile(rb'"at":([0-9.eE+-]+)')
# A change frame reads {"type":"change","scope":…,"seq":N,"kind":"…","at":…,"data":…}: the kind starts a
# fixed 9 bytes (,"kind":") after the seq's digits, so telling a room change costs one bounded compare.
_ROOM_UPDATED = b'room.updated"'
_RUNNING = b'"status":"running"'


# -- a minimal WebSocket desk ------------------------------------------------------------------------


def client_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A masked client→server frame (RFC 6455 requires clients to mask)."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


class Desk(asyncio.Protocol):
    """One live desk: handshake, hello, sub; then it records the seq and latency of every change."""

    def __init__(self, worker: Worker, station_id: str, instance: int = 0):
        self.worker = worker
        self.station_id = station_id
        self.instance = instance  # the server instance it is connected to
        self.watch_timers = worker.watch_timers  # only the timer round looks at the kind: check-ins stay cheap
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = False
        self.last: int | None = None
        self.duplicated = 0
        self.jumps = 0
        self.subscribed = asyncio.get_running_loop().create_future()
        self.closed_with: str | None = None

    def connection_made(self, transport):
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        w = self.worker
        transport.write(
            (
                f"GET {LIVE_PATH} HTTP/1.1\r\nHost: {w.host}:{w.ports[self.instance]}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def connection_lost(self, exc):
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError(f"desk {self.station_id} lost its connection: {exc}"))
        if self.closed_with is None:
            self.closed_with = f"connection lost: {exc}"

    def send_json(self, obj: dict) -> None:
        self.transport.write(client_frame(json.dumps(obj).encode()))

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[:12])
            if b" 101" not in status:
                self.connection_lost(RuntimeError(bytes(buf[:200]).decode(errors="replace")))
                return
            del buf[: end + 4]
            self.upgraded = True
            w = self.worker
            self.send_json({"type": "hello", "token": w.token, "station_id": self.station_id, "proto": 1})
        now = time.time()
        while True:
            if len(buf) < 2:
                return
            b0, b1 = buf[0], buf[1]
            n = b1 & 0x7F
            off = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n = struct.unpack_from("!H", buf, 2)[0]
                off = 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n = struct.unpack_from("!Q", buf, 2)[0]
                off = 10
            if len(buf) < off + n:
                return
            payload = bytes(buf[off : off + n])
            del buf[: off + n]
            opcode = b0 & 0x0F
            if opcode == 0x1:
                self.on_text(payload, now)
            elif opcode == 0x9:  # ping → pong
                self.transport.write(client_frame(payload, 0xA))
            elif opcode == 0x8:
                code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else 1005
                self.closed_with = f"{code} {payload[2:].decode(errors='replace')}"
                self.transport.close()
                return

    def on_text(self, payload: bytes, now: float) -> None:
        if payload.startswith(b'{"type":"change"'):
            m = _SEQ.search(payload, 0, 120)
            seq = int(m.group(1))
            last = self.last
            if last is not None and seq <= last:
                self.duplicated += 1
                return
            if last is not None and seq != last + 1:
                self.jumps += 1
            self.last = seq
            at = float(_AT.search(payload, 0, 200).group(1))
            self.worker.record(seq, now - at, self.instance)
            if self.watch_timers and payload.startswith(_ROOM_UPDATED, m.end() + 9) and _RUNNING in payload:
                self.worker.starts.add(seq)  # a room's timer shown as running
            return
        frame = json.loads(payload)
        kind = frame.get("type")
        if kind == "welcome":
            w = self.worker
            self.send_json({"type": "sub", "scope": w.scope, "epoch": w.epoch, "since": w.since})
        elif kind == "sub_ok":
            self.last = frame.get("seq") if frame["mode"] == "snapshot" else frame["head"]
            if not self.subscribed.done():
                self.subscribed.set_result(None)
        elif kind == "error":
            self.closed_with = f"error frame: {frame}"


class Worker:
    """Holds ``n`` desks (in its own process) and reports what they saw."""

    def __init__(self, args):
        self.host, self.token = HOST, args.token
        self.ports = [int(x) for x in args.ports.split(",")]  # desk i connects to ports[i % len(ports)]
        self.scope, self.epoch, self.since = args.scope, args.epoch, args.since
        self.n = args.n
        self.watch_timers = args.watch_timers
        # per receiving instance: seq -> every desk's latency
        self.latency_by_seq: list[dict[int, list[float]]] = [{} for _ in self.ports]
        self.starts: set[int] = set()  # seqs of room changes showing a running timer
        self.desks: list[Desk] = []

    def record(self, seq: int, latency: float, instance: int) -> None:
        self.latency_by_seq[instance].setdefault(seq, []).append(latency)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        t0 = time.monotonic()
        for start in range(0, self.n, 200):  # connect in waves: the accept backlog is finite
            batch = []
            for i in range(start, min(self.n, start + 200)):
                k = i % len(self.ports)
                desk = Desk(self, f"bench-desk-{i:05d}", k)
                self.desks.append(desk)
                batch.append(loop.create_connection(lambda d=desk: d, self.host, self.ports[k]))
            await asyncio.gather(*batch)
            await asyncio.gather(*(d.subscribed for d in self.desks[start:]))
        print(json.dumps({"ready": True, "connect_s": time.monotonic() - t0}), flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)  # the driver says when it is done
        head = int((await loop.run_in_executor(None, sys.stdin.readline)).strip())
        deadline = time.monotonic() + 30
        while any((d.last or 0) < head and d.closed_with is None for d in self.desks):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        everyone: dict[int, list[float]] = {}
        for per_seq in self.latency_by_seq:
            for s, v in per_seq.items():
                everyone.setdefault(s, []).extend(v)
        result = {
            # seq -> [min, max, count, median] over every desk, and the same per receiving instance
            "latency_by_seq": {str(s): [min(v), max(v), len(v), sorted(v)[len(v) // 2]] for s, v in everyone.items()},
            "latency_by_instance": [
                {str(s): [min(v), max(v), len(v), sorted(v)[len(v) // 2]] for s, v in per_seq.items()}
                for per_seq in self.latency_by_seq
            ],
            "starts": sorted(self.starts),
            "behind": sum(max(0, head - (d.last or 0)) for d in self.desks),
            "duplicated": sum(d.duplicated for d in self.desks),
            "jumps": sum(d.jumps for d in self.desks),
            "closed": [d.closed_with for d in self.desks if d.closed_with][:5],
        }
        print(json.dumps(result), flush=True)


def worker_main(args) -> int:
    _raise_fd_limit()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(Worker(args).run())
    return 0


# -- the driver ------------------------------------------------------------------------------------


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Api:
    """A keep-alive HTTP client for the few calls the driver makes."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.headers = {"Content-Type": "application/json"}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        payload = None if body is None else json.dumps(body)
        try:
            self.conn.request(method, path, body=payload, headers=self.headers)
            r = self.conn.getresponse()
        except (ConnectionError, http.client.HTTPException):
            # The server closes idle keep-alive connections (after 5 s): open a new one, once.
            self.conn.close()
            self.conn.request(method, path, body=payload, headers=self.headers)
            r = self.conn.getresponse()
        data = r.read()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path} → {r.status}: {data[:300]!r}")
        return json.loads(data) if data else None

    def login(self, desk: str | None = None, email: str = EMAIL, station: str = "bench-driver") -> dict:
        body = {"email": email, "password": PASSWORD}
        if desk:
            body.update(station_id=f"{station}-{os.getpid()}", station_name=desk)
        out = self.call("POST", "/api/v1/auth/login", body)
        self.headers["Authorization"] = f"Bearer {out['token']}"
        return out


def seed_organizer(url: str, event_id: int) -> None:
    """An organizer of the event (who may run its room timers), for the timer round's laptop."""
    from focusdesk.domain.roles import ORGANIZER, Grant
    from focusdesk.server.db import Database
    from focusdesk.server.passwords import hash_password
    from focusdesk.server.store import accounts

    db = Database(url)
    try:
        hashed = hash_password(PASSWORD)
        grant = Grant(ORGANIZER, event_id)
        db.write_sync(
            lambda c: accounts.create_user(c, ORGANIZER_EMAIL, hashed, [grant], "Bench organizer", time.time())
        )
    finally:
        db.close()


def start_worker(
    args, ports: list[int], token: str, scope: str, epoch: str, since: int, n: int, watch_timers: bool
) -> subprocess.Popen:
    cmd = [sys.executable, __file__, "--worker", "--ports", ",".join(map(str, ports)), "--token", token]
    cmd += ["--scope", scope, "--epoch", epoch, "--since", str(since), "--n", str(n)]
    if watch_timers:
        cmd.append("--watch-timers")
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def read_json_line(proc: subprocess.Popen, what: str) -> dict:
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"the desk worker exited before {what} (status {proc.wait()})")
    return json.loads(line)


def last_desk_figures(per_seq: dict[str, list], prefix: str = "") -> dict[str, float | None]:
    """Commit-to-last-desk p50/p99/max (ms) over the changes in ``per_seq`` (seq -> [min, max, count, median])."""
    last = sorted(v[1] * 1000 for v in per_seq.values())
    if not last:
        return {f"{prefix}p50_ms": None, f"{prefix}p99_ms": None, f"{prefix}max_ms": None}
    return {
        f"{prefix}p50_ms": round(percentile(last, 50), 1),
        f"{prefix}p99_ms": round(percentile(last, 99), 1),
        f"{prefix}max_ms": round(last[-1], 1),
    }


def first_desk_figures(per_seq: dict[str, list]) -> dict[str, float | None]:
    """Commit-to-first-desk p50/p99 (ms) over the changes in ``per_seq``."""
    first = sorted(v[0] * 1000 for v in per_seq.values())
    if not first:
        return {"first_p50_ms": None, "first_p99_ms": None}
    return {"first_p50_ms": round(percentile(first, 50), 1), "first_p99_ms": round(percentile(first, 99), 1)}


def merge_last(per_instance: list[dict[str, list]]) -> dict[str, list]:
    """Per seq, the slowest desk over several instances' figures (only [1], the max, is meaningful)."""
    out: dict[str, list] = {}
    for per_seq in per_instance:
        for s, v in per_seq.items():
            if s not in out or v[1] > out[s][1]:
                out[s] = v
    return out


def run_round(
    args,
    api: Api,
    driver_seq: list[int],
    servers: Servers,
    token: str,
    event_id: int,
    make_command: Callable[[int], dict],
    n: int,
    rate: float,
    duration: float,
    watch_timers: bool = False,
) -> dict:
    """One round: ``n`` desks subscribed (desk i on instance i % instances) while ``api`` (instance 0)
    sends ``make_command(i)`` at ``rate`` per second; with ``watch_timers`` the desks also pick out the
    changes that show a room's timer running."""
    scope = f"event:{event_id}"
    head = api.call("GET", f"/api/v1/sync?scope={scope}&since=0&limit=1")
    epoch = head["epoch"]
    since = head["head"]
    rss_before = [rss_mb(pid) for pid in servers.pids]
    worker = start_worker(args, servers.ports, token, scope, epoch, since, n, watch_timers)
    try:
        ready = read_json_line(worker, "all desks subscribed")
        rss_connected = [rss_mb(pid) for pid in servers.pids]
        say(
            f"  {n} desks connected and subscribed in {ready['connect_s']:.1f} s;"
            f" server RSS {' + '.join(f'{x:.0f}' for x in rss_connected)} MB"
        )
        sent = rejected = 0
        m0 = machine_cpu_ticks()
        t0 = time.monotonic()
        interval = 1.0 / rate
        while time.monotonic() - t0 < duration:
            target = t0 + sent * interval
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            driver_seq[0] += 1
            cmd = {"cmd_seq": driver_seq[0], **make_command(sent)}
            answer = api.call("POST", "/api/v1/commands", {"commands": [cmd]})
            if answer["results"][0].get("status") == "rejected":
                rejected += 1
                say(f"  command {cmd} rejected: {answer['results'][0]}")
            sent += 1
        elapsed = time.monotonic() - t0
        m1 = machine_cpu_ticks()
        final = api.call("GET", f"/api/v1/sync?scope={scope}&since=0&limit=1")["head"]
        worker.stdin.write("done\n" + f"{final}\n")
        worker.stdin.flush()
        seen = read_json_line(worker, "its report")
    finally:
        worker.stdin.close() if not worker.stdin.closed else None
        worker.wait(30)
    changes = final - since
    per_seq = seen["latency_by_seq"]
    last_desk = sorted(v[1] * 1000 for v in per_seq.values())
    median_desk = sorted(v[3] * 1000 for v in per_seq.values())
    delivered = sum(v[2] for v in per_seq.values())
    lost = changes * n - delivered
    n_inst = len(servers.ports)
    out = {
        "desks": n,
        "changes": changes,
        "sent": sent,
        "rejected": rejected,
        "rate_per_s": round(sent / elapsed, 1),
        "p50_ms": round(percentile(last_desk, 50), 1),
        "p99_ms": round(percentile(last_desk, 99), 1),
        "max_ms": round(last_desk[-1], 1) if last_desk else None,
        "median_desk_p50_ms": round(percentile(median_desk, 50), 1),
        "deliveries_per_s": round(delivered / elapsed),
        "lost": lost,
        "duplicated": seen["duplicated"],
        "jumps": seen["jumps"],
        "closed": seen["closed"],
        "rss_before_mb": round(sum(rss_before), 1),
        "rss_connected_mb": round(sum(rss_connected), 1),
        "rss_per_conn_kb": round((sum(rss_connected) - sum(rss_before)) * 1024 / n, 1),
        # The whole machine's busy share while the commands were sent (it is shared with other work),
        # and the load average at the end of the round.
        "machine_cpu_share": round((m1[0] - m0[0]) / max(1, m1[1] - m0[1]), 3),
        "loadavg": round(os.getloadavg()[0], 2),
    }
    by_instance = seen["latency_by_instance"]
    if n_inst > 1:
        # Instance 0 commits every change; its desks get it from their own server, the others' desks
        # through Redis and the change log ("cross").
        out.update(last_desk_figures(by_instance[0], "same_"))
        out.update(last_desk_figures(merge_last(by_instance[1:]), "cross_"))
        out["instances"] = []
        for k, figures in enumerate(by_instance):
            desks_k = len(range(k, n, n_inst))
            out["instances"].append(
                {
                    "instance": k,
                    "desks": desks_k,
                    **last_desk_figures(figures),
                    # The *first* of its desks to get each change: when the change reached the instance,
                    # before its own fan-out to the rest.
                    **first_desk_figures(figures),
                    "lost": changes * desks_k - sum(v[2] for v in figures.values()),
                    "rss_before_mb": round(rss_before[k], 1),
                    "rss_connected_mb": round(rss_connected[k], 1),
                }
            )
    if watch_timers:
        # The same commit-to-last-desk figures, over the changes that showed a room's timer running.
        starts = [per_seq[str(s)] for s in seen["starts"]]
        start_last = sorted(v[1] * 1000 for v in starts)
        out["starts_seen"] = len(starts)
        out["start_p50_ms"] = round(percentile(start_last, 50), 1) if starts else None
        out["start_p99_ms"] = round(percentile(start_last, 99), 1) if starts else None
        out["start_max_ms"] = round(start_last[-1], 1) if starts else None
        out["start_median_desk_p50_ms"] = (
            round(percentile(sorted(v[3] * 1000 for v in starts), 50), 1) if starts else None
        )
        if n_inst > 1:
            keep = {str(s) for s in seen["starts"]}
            only = [{s: v for s, v in figures.items() if s in keep} for figures in by_instance]
            out.update(last_desk_figures(only[0], "start_same_"))
            out.update(last_desk_figures(merge_last(only[1:]), "start_cross_"))
    return out


class TimerLaptop:
    """The organizer's laptop in the timer round: starts an idle room's timer, or resets the room that
    has run longest, so that about half of the rooms are running at any time and every room is started
    again after it was reset."""

    def __init__(self, event_id: int, room_ids: list[str]):
        self.event_id = event_id
        self.idle = deque(room_ids)
        self.running: deque[str] = deque()
        self.half = len(room_ids) // 2
        self.starts = 0

    def __call__(self, i: int) -> dict:
        if self.idle and (len(self.running) < self.half or i % 2 == 0 or not self.running):
            room, op = self.idle.popleft(), "start"
            self.running.append(room)
            self.starts += 1
        else:
            room, op = self.running.popleft(), "reset"
            self.idle.append(room)
        return {"type": "timer", "args": {"event_id": self.event_id, "room_id": room, "op": op}}


def add_rooms(api: Api, driver_seq: list[int], event_id: int, count: int) -> list[str]:
    """``count`` rooms for the event, added by ``api``'s desk with ``room_create`` commands."""
    room_ids = [f"bench-room-{i:03d}" for i in range(count)]
    commands = []
    for i, room_id in enumerate(room_ids):
        driver_seq[0] += 1
        room = {"id": room_id, "name": f"Hall {i + 1}", "capacity": 100, "work_s": 1500}
        commands.append({"cmd_seq": driver_seq[0], "type": "room_create", "args": {"event_id": event_id, "room": room}})
    answer = api.call("POST", "/api/v1/commands", {"commands": commands})
    refused = [r for r in answer["results"] if r.get("status") != "applied"]
    if refused:
        raise RuntimeError(f"adding the timer round's rooms failed: {refused[:3]}")
    return room_ids


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Several instances: --instances 2 --database postgresql://postgres@127.0.0.1:5432/postgres"
        " (a temporary database is created on that server and dropped afterwards; the SQLite baseline runs"
        " too unless --no-baseline).",
    )
    p.add_argument("--json", action="store_true", help="print one JSON line last")
    p.add_argument("--desks", default="100,1000", help="desk counts for the latency rounds")
    p.add_argument("--idle", type=int, default=5000, help="desks held for the memory round (0: skip)")
    p.add_argument("--rate", type=float, default=20.0, help="check-ins per second during a round")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of check-ins per round")
    p.add_argument("--attendees", type=int, default=2000)
    p.add_argument("--timer-desks", type=int, default=1000, help="desks in the timer round (0: skip)")
    p.add_argument("--timer-rate", type=float, default=10.0, help="timer commands per second in the timer round")
    p.add_argument("--rooms", type=int, default=50, help="rooms the timer round's laptop cycles through")
    p.add_argument(
        "--database",
        metavar="URL",
        help="sqlite:///PATH, or postgresql://USER@HOST:PORT/DB: a PostgreSQL *server*, on which a fresh"
        " database fd_bench_<random> is created for the run and dropped afterwards. Default: a fresh SQLite file",
    )
    p.add_argument(
        "--instances",
        type=int,
        default=1,
        help="servers on the one database (more than 1 needs PostgreSQL); live desk i connects to instance"
        " i %% N, every command goes to instance 0 (1)",
    )
    p.add_argument(
        "--redis",
        metavar="URL",
        help=f"Redis the instances share (default with --instances > 1: {DEFAULT_REDIS})",
    )
    p.add_argument(
        "--no-baseline",
        action="store_true",
        help="on PostgreSQL, skip the same rounds on one SQLite instance, otherwise run too and printed beside",
    )
    p.add_argument("--keep", action="store_true", help="keep the temp dir (server logs) and the PG database")
    # worker mode (internal)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--watch-timers", action="store_true", help=argparse.SUPPRESS)
    for name in ("--n", "--since"):
        p.add_argument(name, type=int, help=argparse.SUPPRESS)
    for name in ("--ports", "--token", "--scope", "--epoch"):
        p.add_argument(name, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return args
    check_instance_args(p, args)
    if args.timer_desks and args.rooms < 1:
        p.error("--rooms must be at least 1 for the timer round")
    return args


def _raise_exit(signum, _frame):
    raise SystemExit(128 + signum)


def run_all(args, url: str, instances: int, redis_url: str | None, workdir: Path) -> dict[str, Any]:
    """Every round against ``instances`` servers on ``url`` (seeded here); the JSON of one configuration."""
    workdir.mkdir(parents=True, exist_ok=True)
    say(f"seeding {args.attendees} attendees into {safe_url(url)} …")
    seeded = seed(url, args.attendees)
    if args.timer_desks:
        seed_organizer(url, seeded.event_id)
    servers = start_servers(url, instances, workdir, redis_url)
    rounds: list[dict] = []
    timer: dict | None = None
    healths = []
    try:
        healths = report_health(servers, instances > 1 or bool(redis_url))
        port0 = servers.ports[0]  # every command goes to instance 0
        driver = Api(port0)
        driver.login(desk="Bench driver")
        laptop = Api(port0)
        token = laptop.login()["token"]  # one sign-in without a desk, shared by every bench desk
        driver_seq = [0]
        # The memory round first, on a fresh server: Python keeps memory it once used, so a later
        # round's RSS would carry the earlier rounds' high-water mark.
        plan = [(args.idle, 2.0, 3.0)] if args.idle else []
        plan += [(int(x), args.rate, args.duration) for x in args.desks.split(",") if x]
        ids = seeded.attendee_ids
        event_id = seeded.event_id

        def checkin(i: int) -> dict:
            return {"type": "checkin", "args": {"event_id": event_id, "attendee_id": ids[i % len(ids)]}}

        for n, rate, duration in plan:
            say(f"round: {n} desks, {rate:g} check-ins/s for {duration:g} s")
            rounds.append(run_round(args, driver, driver_seq, servers, token, event_id, checkin, n, rate, duration))
            report_round(rounds[-1])
        if args.timer_desks:
            organizer = Api(port0)
            organizer.login(desk="Organizer laptop", email=ORGANIZER_EMAIL, station="bench-organizer")
            organizer_seq = [0]
            room_ids = add_rooms(organizer, organizer_seq, event_id, args.rooms)
            laptop_plan = TimerLaptop(event_id, room_ids)
            n, rate = args.timer_desks, args.timer_rate
            say(f"timer round: {n} desks, {len(room_ids)} rooms, {rate:g} timer commands/s for {args.duration:g} s")
            timer = run_round(
                args,
                organizer,
                organizer_seq,
                servers,
                token,
                event_id,
                laptop_plan,
                n,
                rate,
                args.duration,
                watch_timers=True,
            )
            timer["rooms"] = len(room_ids)
            timer["starts_sent"] = laptop_plan.starts
            report_round(timer)
    except BaseException:
        say(f"server log tails:\n{servers.log_tails()}")
        raise
    finally:
        stop_servers(servers)
        kill_servers(servers)
    for r in rounds[1:] + ([timer] if timer else []):
        # Later rounds reuse memory an earlier round freed: their growth says nothing per connection.
        r["rss_per_conn_kb"] = None
    out: dict[str, Any] = {
        "benchmark": "fanout",
        "database": dialect_of(url),
        "instances": instances,
        "redis_health": [h.get("redis") for h in healths],
        "rate_per_s": args.rate,
        "duration_s": args.duration,
    }
    for r in rounds:
        k = f"n{r['desks']}"
        out[f"{k}_p50_ms"] = r["p50_ms"]
        out[f"{k}_p99_ms"] = r["p99_ms"]
        if instances > 1:
            for where in ("same", "cross"):
                out[f"{k}_{where}_p50_ms"] = r[f"{where}_p50_ms"]
                out[f"{k}_{where}_p99_ms"] = r[f"{where}_p99_ms"]
        out[f"{k}_deliveries_per_s"] = r["deliveries_per_s"]
        out[f"{k}_rss_mb"] = r["rss_connected_mb"]
        if r["rss_per_conn_kb"] is not None:
            out[f"{k}_rss_per_conn_kb"] = r["rss_per_conn_kb"]
    if timer:
        out["timer_desks"] = timer["desks"]
        out["timer_rate_per_s"] = timer["rate_per_s"]
        out["timer_changes"] = timer["changes"]
        out["timer_starts"] = timer["starts_seen"]  # starts the desks saw; timer_starts_sent: the laptop's
        out["timer_starts_sent"] = timer["starts_sent"]
        out["timer_start_p50_ms"] = timer["start_p50_ms"]
        out["timer_start_p99_ms"] = timer["start_p99_ms"]
        if instances > 1:
            out["timer_start_same_p99_ms"] = timer["start_same_p99_ms"]
            out["timer_start_cross_p99_ms"] = timer["start_cross_p99_ms"]
        out["timer_p99_ms"] = timer["p99_ms"]
        out["timer_lost"] = timer["lost"]
        out["timer_duplicated"] = timer["duplicated"]
        out["timer_rejected"] = timer["rejected"]
    # Totals over every round, the timer round included.
    everything = rounds + ([timer] if timer else [])
    out["lost"] = sum(r["lost"] for r in everything)
    out["duplicated"] = sum(r["duplicated"] for r in everything)
    out["rounds"] = rounds
    if timer:
        out["timer"] = timer
    return out


def report_round(r: dict) -> None:
    """One line on stderr as a round ends."""
    line = (
        f"  commit-to-last-desk p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms;"
        f" lost {r['lost']}, duplicated {r['duplicated']}; whole machine CPU {r['machine_cpu_share']:.0%},"
        f" load {r['loadavg']}"
    )
    if "cross_p99_ms" in r:
        line += (
            f"; same instance p50/p99 {r['same_p50_ms']}/{r['same_p99_ms']} ms,"
            f" cross-instance {r['cross_p50_ms']}/{r['cross_p99_ms']} ms"
        )
    say(line)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker_main(args)
    signal.signal(signal.SIGTERM, _raise_exit)  # so the servers are stopped (and a PG database dropped)
    _raise_fd_limit()
    os.environ.update(FOCUSDESK_LIVE_PER_IP="100000", FOCUSDESK_LIVE_PER_TOKEN="100000")
    workdir = Path(tempfile.mkdtemp(prefix="focusdesk-fanout-"))
    configs: dict[str, dict[str, Any]] = {}
    try:
        given = args.database or f"sqlite:///{workdir / 'bench.db'}"
        with fresh_database(given, keep=args.keep) as url:
            if args.dialect == "postgresql":
                say(f"== PostgreSQL, {args.instances} instance(s){', Redis ' + args.redis if args.redis else ''} ==")
            configs[args.dialect] = run_all(args, url, args.instances, args.redis, workdir / args.dialect)
        if args.dialect == "postgresql" and not args.no_baseline:
            say("== baseline: SQLite, 1 instance, the same rounds ==")
            configs["sqlite"] = run_all(
                args, f"sqlite:///{workdir / 'sqlite' / 'bench.db'}", 1, None, workdir / "sqlite"
            )
    finally:
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    for name, out in configs.items():
        if len(configs) > 1 or out["instances"] > 1:
            n = out["instances"]
            print(f"\n{'SQLite' if name == 'sqlite' else 'PostgreSQL'}, {n} instance{'s' if n > 1 else ''}:")
        if out["rounds"]:
            print_table(out["rounds"])
        if out.get("timer"):
            print_timer_table(out["timer"])
    if len(configs) == 1:
        (out,) = configs.values()
    else:
        out = {
            "benchmark": "fanout",
            "instances": args.instances,
            "sqlite": configs["sqlite"],
            "postgresql": configs["postgresql"],
            "lost": sum(c["lost"] for c in configs.values()),
            "duplicated": sum(c["duplicated"] for c in configs.values()),
        }
        print_comparison(configs["sqlite"], configs["postgresql"])
    if args.json:
        print(json.dumps(out))
    return 0


def _ms(x: float | None) -> str:
    return "—" if x is None else f"{x:g}"


def print_comparison(sq: dict[str, Any], pg: dict[str, Any]) -> None:
    """Per round: SQLite (1 instance) beside PostgreSQL (N instances), overall and by receiving instance."""
    n = pg["instances"]
    print(f"\nSide by side: commit-to-last-desk p50 / p99 ms (commands sent to instance 0 of {n})")
    head = ["round", "SQLite x1", f"PostgreSQL x{n}: all desks"]
    if n > 1:
        head += ["same instance (0)", f"cross-instance ({', '.join(map(str, range(1, n)))})"]
    head += ["lost / dup (SQLite | PG)", "machine CPU (SQLite | PG)"]
    rows = [head]
    by_desks = {r["desks"]: r for r in sq["rounds"]}
    pairs = [(f"{r['desks']} desks", by_desks.get(r["desks"]), r) for r in pg["rounds"]]
    if pg.get("timer"):
        pairs.append((f"timer starts, {pg['timer']['desks']} desks", sq.get("timer"), pg["timer"]))
    for label, a, b in pairs:
        pre = "start_" if label.startswith("timer") else ""
        row = [
            label,
            f"{_ms(a[pre + 'p50_ms'])} / {_ms(a[pre + 'p99_ms'])}" if a else "—",
            f"{_ms(b[pre + 'p50_ms'])} / {_ms(b[pre + 'p99_ms'])}",
        ]
        if n > 1:
            row += [f"{_ms(b[pre + 'same_p50_ms'])} / {_ms(b[pre + 'same_p99_ms'])}"]
            row += [f"{_ms(b[pre + 'cross_p50_ms'])} / {_ms(b[pre + 'cross_p99_ms'])}"]
        row += [
            f"{a['lost']}/{a['duplicated']} | {b['lost']}/{b['duplicated']}"
            if a
            else f"— | {b['lost']}/{b['duplicated']}"
        ]
        mine = f"{b['machine_cpu_share']:.0%}"
        row += [f"{a['machine_cpu_share']:.0%} | {mine}" if a else f"— | {mine}"]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for r in rows:
        print(
            "  "
            + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        )
    if n > 1:
        ok = all(
            r.get("cross_p99_ms") is not None and r["cross_p99_ms"] < 50 for r in pg["rounds"] if r["desks"] <= 1000
        )
        print(f"  target cross-instance p99 < 50 ms (rounds up to 1,000 desks): {'met' if ok else 'MISSED'}")


def print_table(rounds: list[dict]) -> None:
    print(
        f"{'desks':>6} {'changes':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'deliv/s':>9} {'lost':>5} {'dup':>4} {'RSS MB':>7} {'KB/conn':>8}"
    )
    for r in rounds:
        print(
            f"{r['desks']:>6} {r['changes']:>8} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['max_ms']:>8} "
            f"{r['deliveries_per_s']:>9} {r['lost']:>5} {r['duplicated']:>4} {r['rss_connected_mb']:>7} {r['rss_per_conn_kb'] or '':>8}"
        )
        print_instances(r)
        if r["closed"]:
            print(f"       closed desks: {r['closed']}")


def print_instances(r: dict) -> None:
    """Per receiving instance (instance 0 commits): its desks' commit-to-last-desk, lost, RSS."""
    for inst in r.get("instances", ()):
        where = "same instance" if inst["instance"] == 0 else "cross-instance"
        print(
            f"{'':>6} instance {inst['instance']} ({where}, {inst['desks']} desks):"
            f" p50 {_ms(inst['p50_ms'])}, p99 {_ms(inst['p99_ms'])}, max {_ms(inst['max_ms'])} ms"
            f" (first desk p50/p99 {_ms(inst['first_p50_ms'])}/{_ms(inst['first_p99_ms'])});"
            f" lost {inst['lost']}; RSS {inst['rss_connected_mb']} MB"
        )


def print_timer_table(r: dict) -> None:
    print()
    print(
        f"timer round: {r['desks']} desks, {r['rooms']} rooms, {r['rate_per_s']} timer commands/s "
        f"({r['sent']} sent, {r['starts_sent']} starts, {r['rejected']} rejected)"
    )
    print(
        f"{'':>10} {'changes':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'deliv/s':>9} {'lost':>5} {'dup':>4} {'RSS MB':>7}"
    )
    print(
        f"{'starts':>10} {r['starts_seen']:>8} {r['start_p50_ms']!s:>8} {r['start_p99_ms']!s:>8} {r['start_max_ms']!s:>8}"
    )
    print(
        f"{'all':>10} {r['changes']:>8} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['max_ms']:>8} "
        f"{r['deliveries_per_s']:>9} {r['lost']:>5} {r['duplicated']:>4} {r['rss_connected_mb']:>7}"
    )
    if "start_cross_p99_ms" in r:
        print(
            f"{'':>10} starts, same instance p50/p99 {_ms(r['start_same_p50_ms'])}/{_ms(r['start_same_p99_ms'])} ms,"
            f" cross-instance {_ms(r['start_cross_p50_ms'])}/{_ms(r['start_cross_p99_ms'])} ms"
        )
    print_instances(r)
    if r["closed"]:
        print(f"       closed desks: {r['closed']}")


if __name__ == "__main__":
    sys.exit(main())
