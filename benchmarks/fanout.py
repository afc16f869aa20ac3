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
    EMAIL,
    HOST,
    PASSWORD,
    free_port,
    percentile,
    say,
    seed,
    start_server,
    stop_server,
    wait_healthy,
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

    def __init__(self, worker: Worker, station_id: str):
        self.worker = worker
        self.station_id = station_id
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
                f"GET {LIVE_PATH} HTTP/1.1\r\nHost: {w.host}:{w.port}\r\nUpgrade: websocket\r\n"
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
            self.worker.record(seq, now - at)
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
        self.host, self.port, self.token = HOST, args.port, args.token
        self.scope, self.epoch, self.since = args.scope, args.epoch, args.since
        self.n = args.n
        self.watch_timers = args.watch_timers
        self.latency_by_seq: dict[int, list[float]] = {}
        self.starts: set[int] = set()  # seqs of room changes showing a running timer
        self.desks: list[Desk] = []

    def record(self, seq: int, latency: float) -> None:
        self.latency_by_seq.setdefault(seq, []).append(latency)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        t0 = time.monotonic()
        for start in range(0, self.n, 200):  # connect in waves: the accept backlog is finite
            batch = []
            for i in range(start, min(self.n, start + 200)):
                desk = Desk(self, f"bench-desk-{i:05d}")
                self.desks.append(desk)
                batch.append(loop.create_connection(lambda d=desk: d, self.host, self.port))
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
        result = {
            "latency_by_seq": {
                str(s): [min(v), max(v), len(v), sorted(v)[len(v) // 2]] for s, v in self.latency_by_seq.items()
            },
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
    args, port: int, token: str, scope: str, epoch: str, since: int, n: int, watch_timers: bool
) -> subprocess.Popen:
    cmd = [sys.executable, __file__, "--worker", "--port", str(port), "--token", token, "--scope", scope]
    cmd += ["--epoch", epoch, "--since", str(since), "--n", str(n)]
    if watch_timers:
        cmd.append("--watch-timers")
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def read_json_line(proc: subprocess.Popen, what: str) -> dict:
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"the desk worker exited before {what} (status {proc.wait()})")
    return json.loads(line)


def run_round(
    args,
    api: Api,
    driver_seq: list[int],
    port: int,
    server_pid: int,
    token: str,
    event_id: int,
    make_command: Callable[[int], dict],
    n: int,
    rate: float,
    duration: float,
    watch_timers: bool = False,
) -> dict:
    """One round: ``n`` desks subscribed while ``api`` sends ``make_command(i)`` at ``rate`` per second;
    with ``watch_timers`` the desks also pick out the changes that show a room's timer running."""
    scope = f"event:{event_id}"
    head = api.call("GET", f"/api/v1/sync?scope={scope}&since=0&limit=1")
    epoch = head["epoch"]
    since = head["head"]
    rss_before = rss_mb(server_pid)
    worker = start_worker(args, port, token, scope, epoch, since, n, watch_timers)
    try:
        ready = read_json_line(worker, "all desks subscribed")
        rss_connected = rss_mb(server_pid)
        say(f"  {n} desks connected and subscribed in {ready['connect_s']:.1f} s; server RSS {rss_connected:.0f} MB")
        sent = rejected = 0
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
        "rss_before_mb": round(rss_before, 1),
        "rss_connected_mb": round(rss_connected, 1),
        "rss_per_conn_kb": round((rss_connected - rss_before) * 1024 / n, 1),
    }
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
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print one JSON line last")
    p.add_argument("--desks", default="100,1000", help="desk counts for the latency rounds")
    p.add_argument("--idle", type=int, default=5000, help="desks held for the memory round (0: skip)")
    p.add_argument("--rate", type=float, default=20.0, help="check-ins per second during a round")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of check-ins per round")
    p.add_argument("--attendees", type=int, default=2000)
    p.add_argument("--timer-desks", type=int, default=1000, help="desks in the timer round (0: skip)")
    p.add_argument("--timer-rate", type=float, default=10.0, help="timer commands per second in the timer round")
    p.add_argument("--rooms", type=int, default=50, help="rooms the timer round's laptop cycles through")
    # worker mode (internal)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--watch-timers", action="store_true", help=argparse.SUPPRESS)
    for name in ("--port", "--n", "--since"):
        p.add_argument(name, type=int, help=argparse.SUPPRESS)
    for name in ("--token", "--scope", "--epoch"):
        p.add_argument(name, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker_main(args)
    if args.timer_desks and args.rooms < 1:
        raise SystemExit("--rooms must be at least 1 for the timer round")
    _raise_fd_limit()
    os.environ.update(FOCUSDESK_LIVE_PER_IP="100000", FOCUSDESK_LIVE_PER_TOKEN="100000")
    workdir = Path(tempfile.mkdtemp(prefix="focusdesk-fanout-"))
    url = f"sqlite:///{workdir / 'bench.db'}"
    say(f"seeding {args.attendees} attendees…")
    seeded = seed(url, args.attendees)
    if args.timer_desks:
        seed_organizer(url, seeded.event_id)
    port = free_port()
    log_path = workdir / "server.log"
    proc = start_server(url, port, log_path)
    rounds: list[dict] = []
    timer: dict | None = None
    try:
        wait_healthy(proc, port, log_path)
        driver = Api(port)
        driver.login(desk="Bench driver")
        laptop = Api(port)
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
            rounds.append(
                run_round(args, driver, driver_seq, port, proc.pid, token, event_id, checkin, n, rate, duration)
            )
        if args.timer_desks:
            organizer = Api(port)
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
                port,
                proc.pid,
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
    finally:
        stop_server(proc)
    for r in rounds[1:] + ([timer] if timer else []):
        # Later rounds reuse memory an earlier round freed: their growth says nothing per connection.
        r["rss_per_conn_kb"] = None
    out: dict[str, Any] = {"benchmark": "fanout", "rate_per_s": args.rate, "duration_s": args.duration}
    for r in rounds:
        k = f"n{r['desks']}"
        out[f"{k}_p50_ms"] = r["p50_ms"]
        out[f"{k}_p99_ms"] = r["p99_ms"]
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
    if rounds:
        print_table(rounds)
    if timer:
        print_timer_table(timer)
    if args.json:
        print(json.dumps(out))
    return 0


def print_table(rounds: list[dict]) -> None:
    print(
        f"{'desks':>6} {'changes':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'deliv/s':>9} {'lost':>5} {'dup':>4} {'RSS MB':>7} {'KB/conn':>8}"
    )
    for r in rounds:
        print(
            f"{r['desks']:>6} {r['changes']:>8} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['max_ms']:>8} "
            f"{r['deliveries_per_s']:>9} {r['lost']:>5} {r['duplicated']:>4} {r['rss_connected_mb']:>7} {r['rss_per_conn_kb'] or '':>8}"
        )
        if r["closed"]:
            print(f"       closed desks: {r['closed']}")


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
    if r["closed"]:
        print(f"       closed desks: {r['closed']}")


if __name__ == "__main__":
    sys.exit(main())
