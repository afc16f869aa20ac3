#!/usr/bin/env python
"""Booking throughput, latency and the no-double-booking guarantee of a real FocusDesk server (issue 8).

Run from the repository root::

    .venv/bin/python benchmarks/reservations.py            # readable table on stdout
    .venv/bin/python benchmarks/reservations.py --json     # one JSON line, last on stdout

What happens:

1. A fresh SQLite database (or ``--database URL``) gets one open event (time zone UTC) and one admin
   account; the server is started as its own process (``python -m focusdesk.cli serve``), and
   ``--resources`` resources are added over REST: a mix of rooms and devices, a quarter each with no
   buffer and with 5, 10 or 15 minutes between bookings, none needing approval (so bookings are
   approved at once).
2. **throughput** — ``--clients`` clients, each its own keep-alive HTTP/1.1 connection and its own
   token, book with ``POST /api/v1/events/{e}/reservations`` (what kiosks and scripts use), one
   request in flight each. Client *c* owns the resources ``r % clients == c`` and walks them round
   robin, each resource's slots laid end to end *with exactly its buffer between them* (touching is
   allowed, so every booking must succeed: a 409 there would be the server misreading its own rule).
   Warm-up ``--warmup`` s, then ``--duration`` s measured: bookings/s, per-request latency, errors
   (anything but 201).
3. **desk commands** (``--desk-duration``, 0 skips) — the same, with 16 desks (own ``station_id``
   each) sending one ``reservation_create`` command per ``POST /api/v1/commands``, reported apart.
4. **conflict race** — ``--race-rounds`` rounds; in each, ``--race-clients`` clients (own connection
   and token each) send a booking of the *same* resource at once: even rounds the identical slot, odd
   rounds starts jittered by up to ±10 min (all still overlap). Exactly one may win (201); every other
   must get 409 ``reservation_conflict`` naming the winner's booking.
5. **read-back** — every resource's bookings via ``GET /api/v1/events/{e}/reservations?resource_id=``;
   with the domain overlap rule (``a.start < b.end + buffer and b.start < a.end + buffer``) every pair
   of active bookings of one resource that overlaps is a double booking. The active bookings must be
   exactly the ones the clients were told were made.

The load generator is the hand-built HTTP client of ``checkins.py`` (cheap, so the server gets the
cores); its CPU share and the server's are reported. A measurement, not a test: it exits 0 whatever the
figures are, and 1 only if the run found a double booking, a wrong race outcome or a booking that went
missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
for p in (str(REPO_ROOT), str(BENCH_DIR)):
    if p not in sys.path:
        sys.path.insert(0, p)

from checkins import (  # noqa: E402 - after the path set-up above
    HOST,
    PASSWORD,
    TRANSPORT_ERRORS,
    Connection,
    free_port,
    log_tail,
    percentile,
    proc_cpu_seconds,
    run_async,
    say,
    start_server,
    stop_server,
    wait_healthy,
)

ADMIN_EMAIL = "bench-admin@example.org"
SLOT_S = 30 * 60
BUFFERS_MIN = (0, 5, 10, 15)
ACTIVE = {"pending", "approved", "checked_in", "completed"}
# Targets of issue 8 on the 2-core machine.
TARGET_BOOKINGS_PER_S = 500
TARGET_P99_MS = 50


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# -- seeding (through the library, before the server starts) ---------------------------------------


def seed(url: str) -> int:
    from focusdesk.domain.events import validate_event
    from focusdesk.domain.roles import Grant
    from focusdesk.server.db import Database
    from focusdesk.server.passwords import hash_password
    from focusdesk.server.store import accounts
    from focusdesk.server.store.events import create_event

    db = Database(url)
    try:
        db.migrate()
        today = datetime.now(UTC).date()
        event_fields = validate_event(
            {
                "name": "Bench bookings",
                "starts_on": today.isoformat(),
                "ends_on": (today + timedelta(days=300)).isoformat(),
                "timezone": "UTC",
                "status": "open",
            }
        )
        ev, _ = db.write_sync(lambda c: create_event(c, event_fields, time.time()))
        hashed = hash_password(PASSWORD)
        grant = Grant("admin", None)

        def add_user(c):
            existing = accounts.find_user(c, ADMIN_EMAIL)
            if existing is None:  # a reused --database keeps the account of an earlier run
                accounts.create_user(c, ADMIN_EMAIL, hashed, [grant], "Bench admin", time.time())
            else:
                accounts.add_grant(c, existing["id"], grant)

        db.write_sync(add_user)
        return ev["id"]
    finally:
        db.close()


# -- clients ---------------------------------------------------------------------------------------


@dataclass
class Client:
    name: str
    conn: Connection
    station_id: str | None = None
    token: str = ""
    acked_seq: int = 0  # desks: highest cmd_seq answered


async def sign_in(client: Client) -> None:
    body: dict[str, Any] = {"email": ADMIN_EMAIL, "password": PASSWORD}
    if client.station_id:
        body |= {"station_id": client.station_id, "station_name": client.name}
    status, out = await client.conn.request_json("POST", "/api/v1/auth/login", data=body)
    if status != 200:
        raise RuntimeError(f"{client.name} could not sign in: {status} {out}")
    client.token = out["token"]
    if out.get("station"):
        client.acked_seq = out["station"]["last_cmd_seq"]


async def sign_in_all(clients: list[Client], parallel: int = 4) -> None:
    """Sign in (scrypt costs the server ~0.1 s each: a few at a time)."""
    gate = asyncio.Semaphore(parallel)

    async def one(c: Client) -> None:
        async with gate:
            await c.conn.open()
            await sign_in(c)

    await asyncio.gather(*(one(c) for c in clients))


async def reconnect(clients: list[Client]) -> None:
    """Fresh connections: the server closes keep-alive connections idle for a few seconds."""
    for c in clients:
        c.conn.close()
    await asyncio.gather(*(c.conn.open() for c in clients))


@dataclass
class Resource:
    id: str
    kind: str
    name: str
    buffer_s: float
    next_slot: dict[str, int] = field(default_factory=dict)  # region -> next slot index

    def slot(self, region_start: float, index: int) -> tuple[float, float]:
        """Slot ``index`` of a region: slots end to end with exactly the buffer between them."""
        start = region_start + index * (SLOT_S + self.buffer_s)
        return start, start + SLOT_S


async def add_resources(client: Client, event_id: int, n: int) -> list[Resource]:
    out = []
    path = f"/api/v1/events/{event_id}/resources"
    for i in range(n):
        kind = "room" if i % 5 < 3 else "device"  # 3 rooms : 2 devices
        buffer_min = BUFFERS_MIN[i % len(BUFFERS_MIN)]
        body = {
            "kind": kind,
            "name": f"{'Room' if kind == 'room' else 'Device'} {i:03d}",
            "buffer_min": buffer_min,
            "needs_approval": False,
        }
        if kind == "room":
            body["capacity"] = 4 + i % 20
        status, rec = await client.conn.request_json("POST", path, client.token, body)
        if status != 201:
            raise RuntimeError(f"POST {path} answered {status}: {rec}")
        out.append(Resource(rec["id"], rec["kind"], rec["name"], rec["buffer_min"] * 60.0))
    return out


# -- the throughput phases ---------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    stop: bool = False
    samples: list[tuple[float, float, bool]] = field(default_factory=list)  # (t_end, latency_s, ok)
    errors: int = 0
    error_examples: list[str] = field(default_factory=list)
    made: dict[str, str] = field(default_factory=dict)  # reservation id -> resource id

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_examples) < 5:
            self.error_examples.append(message)


def booking_body(resource: Resource, start: float, end: float, holder: str) -> bytes:
    return (
        f'{{"resource_id":"{resource.id}","holder_name":"{holder}","start":"{iso(start)}","end":"{iso(end)}"}}'
    ).encode()


async def rest_loop(client: Client, phase: Phase, event_id: int, region: float, owned: list[Resource]) -> None:
    perf = time.perf_counter
    prefix = client.conn.prefix("POST", f"/api/v1/events/{event_id}/reservations", client.token, with_body=True)
    k = 0
    while not phase.stop:
        res = owned[k % len(owned)]
        k += 1
        index = res.next_slot.get(phase.name, 0)
        res.next_slot[phase.name] = index + 1
        start, end = res.slot(region, index)
        body = booking_body(res, start, end, f"{client.name} #{k}")
        t0 = perf()
        try:
            status, payload = await client.conn.send(prefix, body)
        except TRANSPORT_ERRORS as exc:
            t1 = perf()
            client.conn.close()
            phase.error(f"{client.name}: transport error {type(exc).__name__}: {exc}")
            phase.samples.append((t1, t1 - t0, False))
            await asyncio.sleep(0.05)
            continue
        t1 = perf()
        if status != 201:
            phase.error(f"{client.name}: HTTP {status}: {payload[:300].decode('utf-8', 'replace')}")
            phase.samples.append((t1, t1 - t0, False))
            continue
        for rec in json.loads(payload)["reservations"]:
            phase.made[rec["id"]] = rec["resource_id"]
        phase.samples.append((t1, t1 - t0, True))


async def desk_loop(client: Client, phase: Phase, event_id: int, region: float, owned: list[Resource]) -> None:
    """One ``reservation_create`` command per request, as a desk's outbox sends it."""
    perf = time.perf_counter
    prefix = client.conn.prefix("POST", "/api/v1/commands", client.token, with_body=True)
    run = uuid.uuid4().hex[:8]
    k = 0
    while not phase.stop:
        seq = client.acked_seq + 1
        res = owned[k % len(owned)]
        k += 1
        index = res.next_slot.get(phase.name, 0)
        start, end = res.slot(region, index)
        rid = f"{client.station_id}-{run}-{seq}"
        reservation = booking_body(res, start, end, f"{client.name} #{k}").decode()
        body = (
            f'{{"commands":[{{"cmd_seq":{seq},"type":"reservation_create","args":{{"event_id":{event_id},'
            f'"reservation":{{"id":"{rid}",{reservation[1:]}}}}}]}}'
        ).encode()
        t0 = perf()
        try:
            status, payload = await client.conn.send(prefix, body)
        except TRANSPORT_ERRORS as exc:
            t1 = perf()
            client.conn.close()
            phase.error(f"{client.name}: transport error {type(exc).__name__}: {exc}")
            phase.samples.append((t1, t1 - t0, False))
            await asyncio.sleep(0.05)
            k -= 1  # resend the same command (same cmd_seq, same slot): exactly once on the server
            continue
        t1 = perf()
        if status != 200:
            phase.error(f"{client.name}: HTTP {status}: {payload[:300].decode('utf-8', 'replace')}")
            phase.samples.append((t1, t1 - t0, False))
            await asyncio.sleep(0.05)
            k -= 1
            continue
        out = json.loads(payload)
        client.acked_seq = max(client.acked_seq, out["last_cmd_seq"])
        res.next_slot[phase.name] = index + 1
        result = out["results"][-1]
        if result["status"] != "applied":
            phase.error(
                f"{client.name}: cmd_seq {seq} {result['status']}: {result.get('code')} {result.get('message')}"
            )
            phase.samples.append((t1, t1 - t0, False))
            continue
        for rec in result["reservations"]:
            phase.made[rec["id"]] = rec["resource_id"]
        phase.samples.append((t1, t1 - t0, True))


@dataclass
class PhaseResult:
    name: str
    window_s: float
    bookings: int
    requests: int
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    loadgen_cpu_share: float
    server_cpu_share: float
    made_total: int
    error_examples: list[str]

    @property
    def bookings_per_s(self) -> float:
        return self.bookings / self.window_s


async def run_phase(
    phase: Phase,
    loop,
    clients: list[Client],
    owned: list[list[Resource]],
    loop_args: tuple,
    server_pid: int,
    warmup: float,
    duration: float,
) -> PhaseResult:
    """Run ``loop(client, phase, *loop_args, owned)`` per client: warm up, then measure."""
    await reconnect(clients)
    tasks = [asyncio.create_task(loop(c, phase, *loop_args, o)) for c, o in zip(clients, owned, strict=True)]
    try:
        await asyncio.sleep(warmup)
        w0, c0, s0 = time.perf_counter(), time.process_time(), proc_cpu_seconds(server_pid)
        e0 = phase.errors
        say(f"  warmed up for {warmup:.1f} s; measuring for {duration:.1f} s")
        end = w0 + duration
        seen = len(phase.samples)
        while (left := end - time.perf_counter()) > 0:
            await asyncio.sleep(min(2.0, left))
            now_n = len(phase.samples)
            say(f"  … {time.perf_counter() - w0:5.1f} s  {now_n - seen:6d} requests in the last 2 s or so")
            seen = now_n
        w1, c1, s1 = time.perf_counter(), time.process_time(), proc_cpu_seconds(server_pid)
        e1 = phase.errors
    finally:
        phase.stop = True
        await asyncio.gather(*tasks)
    window = [s for s in phase.samples if w0 <= s[0] <= w1]
    lat = sorted(s[1] for s in window)
    ncpu = os.cpu_count() or 1
    wall = w1 - w0
    return PhaseResult(
        name=phase.name,
        window_s=wall,
        bookings=sum(1 for s in window if s[2]),
        requests=len(window),
        errors=phase.errors,
        p50_ms=percentile(lat, 50) * 1000,
        p90_ms=percentile(lat, 90) * 1000,
        p99_ms=percentile(lat, 99) * 1000,
        max_ms=(lat[-1] if lat else float("nan")) * 1000,
        loadgen_cpu_share=(c1 - c0) / (wall * ncpu),
        server_cpu_share=(s1 - s0) / (wall * ncpu),
        made_total=len(phase.made),
        error_examples=phase.error_examples
        + ([f"({e1 - e0} of the errors in the measured window)"] if e1 > e0 else []),
    )


def report_phase(r: PhaseResult) -> None:
    say(
        f"  {r.name}: {r.bookings_per_s:,.0f} bookings/s; latency p50 {r.p50_ms:.1f} ms, p90 {r.p90_ms:.1f} ms,"
        f" p99 {r.p99_ms:.1f} ms, max {r.max_ms:.1f} ms; errors {r.errors};"
        f" CPU share load generator {r.loadgen_cpu_share:.0%}, server {r.server_cpu_share:.0%}"
    )
    for example in r.error_examples:
        say(f"    error: {example}")


# -- the conflict race -------------------------------------------------------------------------------


@dataclass
class Race:
    rounds: int = 0
    winners: list[int] = field(default_factory=list)  # per round
    losers_409: int = 0  # 409 reservation_conflict naming the winner's booking
    wrong: int = 0  # anything else (transport errors, other statuses, a 409 naming another booking)
    wrong_examples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    made: dict[str, str] = field(default_factory=dict)

    def bad(self, message: str) -> None:
        self.wrong += 1
        if len(self.wrong_examples) < 8:
            self.wrong_examples.append(message)


async def race(clients: list[Client], event_id: int, resources: list[Resource], region: float, rounds: int) -> Race:
    out = Race()
    path = f"/api/v1/events/{event_id}/reservations"
    prefixes = [c.conn.prefix("POST", path, c.token, with_body=True) for c in clients]
    perf = time.perf_counter

    async def one(i: int, body: bytes) -> tuple[int, float, Any]:
        t0 = perf()
        try:
            status, payload = await clients[i].conn.send(prefixes[i], body)
        except TRANSPORT_ERRORS as exc:
            clients[i].conn.close()
            return -1, perf() - t0, f"{type(exc).__name__}: {exc}"
        t1 = perf()
        try:
            return status, t1 - t0, json.loads(payload)
        except ValueError:
            return status, t1 - t0, payload[:200]

    for k in range(rounds):
        # Connect first (idle keep-alive connections are closed by the server after a few seconds), so
        # that all requests of the round leave together.
        await asyncio.gather(*(c.conn.open() for c in clients if c.conn.closed))
        res = resources[k % len(resources)]
        index = res.next_slot.get("race", 0)
        res.next_slot["race"] = index + 1
        # A day apart per round of one resource: rounds never touch each other's slots, buffers included.
        start = region + index * 86400 + (k % 24) * 1800
        bodies = []
        for i in range(len(clients)):
            jitter = 0 if k % 2 == 0 else ((i % 5) - 2) * 300  # odd rounds: -10 … +10 min, all overlapping
            bodies.append(booking_body(res, start + jitter, start + jitter + SLOT_S, f"racer {i}"))
        # Every request is written before any answer is awaited: they reach the server together.
        answers = await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))
        out.rounds += 1
        won = [a for a in answers if a[0] == 201]
        out.winners.append(len(won))
        winner_ids = {rec["id"] for _s, _t, body in won for rec in body["reservations"]}
        for rid in winner_ids:
            out.made[rid] = res.id
        for status, latency, body in answers:
            out.latencies.append(latency)
            if status == 201:
                continue
            if status == 409 and isinstance(body, dict) and body.get("code") == "reservation_conflict":
                named = (body.get("conflict") or {}).get("id")
                if named in winner_ids:
                    out.losers_409 += 1
                else:
                    out.bad(f"round {k}: 409 names booking {named}, the winner was {sorted(winner_ids)}")
            else:
                out.bad(f"round {k}: HTTP {status}: {str(body)[:200]}")
    return out


# -- read-back -----------------------------------------------------------------------------------------


def overlapping_pairs(bookings: list[tuple[float, float, str]], buffer_s: float) -> list[tuple[str, str]]:
    """Pairs of active bookings of one resource that conflict under the domain rule, buffers included."""
    ordered = sorted(bookings)
    pairs = []
    for i, (a_start, a_end, a_id) in enumerate(ordered):
        for b_start, b_end, b_id in ordered[i + 1 :]:
            if b_start >= a_end + buffer_s:  # sorted by start: no later one can reach back
                break
            if a_start < b_end + buffer_s and b_start < a_end + buffer_s:
                pairs.append((a_id, b_id))
    return pairs


async def read_back(client: Client, event_id: int, resources: list[Resource]) -> dict[str, Any]:
    active: dict[str, str] = {}
    pairs: list[tuple[str, str, str]] = []
    total = 0
    for res in resources:
        path = f"/api/v1/events/{event_id}/reservations?resource_id={res.id}"
        status, recs = await client.conn.request_json("GET", path, client.token)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {str(recs)[:300]}")
        total += len(recs)
        mine = []
        for r in recs:
            if r["resource_id"] != res.id:
                raise RuntimeError(f"GET {path} returned a booking of {r['resource_id']}")
            if r["status"] in ACTIVE:
                active[r["id"]] = res.id
                mine.append((parse_iso(r["start"]), parse_iso(r["end"]), r["id"]))
        pairs.extend((res.id, a, b) for a, b in overlapping_pairs(mine, res.buffer_s))
    return {"active": active, "pairs": pairs, "total": total}


# -- the run -------------------------------------------------------------------------------------------


def split_resources(resources: list[Resource], parts: int) -> list[list[Resource]]:
    out = [resources[i::parts] for i in range(parts)]
    if any(not s for s in out):
        raise SystemExit(f"need at least {parts} resources; pass a larger --resources")
    return out


async def drive(args, event_id: int, port: int, server_pid: int) -> dict[str, Any]:
    # Regions of the timeline, far enough apart that no phase's look-around (two weeks) sees another's.
    day0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=2)
    base = day0.timestamp()
    # (a 20 s REST phase at 1,000/s fills ~5 days of each resource's timeline)
    regions = {"rest": base, "desk": base + 100 * 86400, "race": base + 200 * 86400}

    admin = Client("bench-admin", Connection(HOST, port))
    await sign_in_all([admin])
    t = time.perf_counter()
    resources = await add_resources(admin, event_id, args.resources)
    say(
        f"{len(resources)} resources added in {time.perf_counter() - t:.1f} s"
        f" ({sum(r.kind == 'room' for r in resources)} rooms, {sum(r.kind == 'device' for r in resources)} devices;"
        f" buffers {', '.join(str(b) for b in BUFFERS_MIN)} min)"
    )

    clients = [Client(f"client-{i:02d}", Connection(HOST, port)) for i in range(args.clients)]
    desks = [
        Client(f"Bench desk {i:02d}", Connection(HOST, port), station_id=f"bench-bk-desk-{i:02d}")
        for i in range(args.clients if args.desk_duration > 0 else 0)
    ]
    racers = [Client(f"racer-{i:02d}", Connection(HOST, port)) for i in range(args.race_clients)]
    t = time.perf_counter()
    await sign_in_all(clients + desks + racers)
    say(
        f"{len(clients)} clients, {len(desks)} desks and {len(racers)} racers signed in in {time.perf_counter() - t:.1f} s"
    )
    owned = split_resources(resources, args.clients)

    say(f"phase throughput (REST): {args.clients} clients, one booking per request")
    rest_phase = Phase("rest")
    rest = await run_phase(
        rest_phase, rest_loop, clients, owned, (event_id, regions["rest"]), server_pid, args.warmup, args.duration
    )
    report_phase(rest)

    desk = None
    desk_phase = Phase("desk")
    if desks:
        say(f"phase desk commands: {len(desks)} desks, one reservation_create per POST /api/v1/commands")
        desk = await run_phase(
            desk_phase,
            desk_loop,
            desks,
            owned,
            (event_id, regions["desk"]),
            server_pid,
            args.warmup,
            args.desk_duration,
        )
        report_phase(desk)

    say(f"phase conflict race: {args.race_rounds} rounds of {len(racers)} clients booking one slot at once")
    await reconnect(racers)  # idle since they signed in
    t = time.perf_counter()
    raced = await race(racers, event_id, resources, regions["race"], args.race_rounds)
    race_s = time.perf_counter() - t
    lat = sorted(raced.latencies)
    say(
        f"  {raced.rounds} rounds in {race_s:.1f} s: winners per round min {min(raced.winners, default=0)}"
        f" max {max(raced.winners, default=0)}; {raced.losers_409} losers got 409 reservation_conflict naming the"
        f" winner; {raced.wrong} other answers; latency p50 {percentile(lat, 50) * 1000:.1f} ms,"
        f" p99 {percentile(lat, 99) * 1000:.1f} ms"
    )
    for example in raced.wrong_examples:
        say(f"    wrong: {example}")

    admin.conn.close()  # idle since the resources were added
    t = time.perf_counter()
    back = await read_back(admin, event_id, resources)
    say(
        f"read back {back['total']:,} bookings of {len(resources)} resources in {time.perf_counter() - t:.1f} s:"
        f" {len(back['active']):,} active, {len(back['pairs'])} overlapping pairs"
    )
    for c in [admin, *clients, *desks, *racers]:
        c.conn.close()
    return {
        "rest": rest,
        "desk": desk,
        "race": raced,
        "race_s": race_s,
        "back": back,
        "made": {**rest_phase.made, **desk_phase.made, **raced.made},
        "resources": resources,
    }


def check(run: dict[str, Any]) -> list[str]:
    problems = []
    back, made, raced = run["back"], run["made"], run["race"]
    for resource_id, a, b in back["pairs"][:10]:
        problems.append(f"double booking on {resource_id}: {a} and {b}")
    if len(back["pairs"]) > 10:
        problems.append(f"… and {len(back['pairs']) - 10} more overlapping pairs")
    bad_rounds = [i for i, w in enumerate(raced.winners) if w != 1]
    if bad_rounds:
        problems.append(f"{len(bad_rounds)} race rounds without exactly one winner: {bad_rounds[:10]}")
    if raced.wrong:
        problems.append(f"{raced.wrong} race answers were neither 201 nor a 409 naming the winner")
    missing = [rid for rid in made if rid not in back["active"]]
    extra = [rid for rid in back["active"] if rid not in made]
    if missing:
        problems.append(f"{len(missing)} bookings the clients were told were made are not active: {missing[:5]}")
    if extra:
        problems.append(f"{len(extra)} active bookings nobody was told about: {extra[:5]}")
    moved = [rid for rid, res in made.items() if rid in back["active"] and back["active"][rid] != res]
    if moved:
        problems.append(f"{len(moved)} bookings on another resource than answered: {moved[:5]}")
    return problems


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=16, help="concurrent booking clients, one connection each (16)")
    p.add_argument("--resources", type=int, default=200, help="resources of the event (200)")
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds of the REST phase (20)")
    p.add_argument("--warmup", type=float, default=1.5, help="unmeasured seconds before each phase (1.5)")
    p.add_argument("--desk-duration", type=float, default=10.0, help="measured seconds of desk commands (10; 0 skips)")
    p.add_argument("--race-rounds", type=int, default=100, help="conflict-race rounds (100)")
    p.add_argument("--race-clients", type=int, default=50, help="clients racing for each slot (50)")
    p.add_argument("--database", metavar="URL", help="database URL (default: a fresh SQLite file in a temp dir)")
    p.add_argument("--port", type=int, help="server port (default: a free one)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (database, server.log)")
    p.add_argument("--json", action="store_true", help="print one JSON line (last on stdout)")
    args = p.parse_args(argv)
    if args.clients < 1 or args.duration <= 0 or args.warmup < 0 or args.desk_duration < 0:
        p.error("--clients must be at least 1, --duration positive, --warmup and --desk-duration not negative")
    if args.race_clients < 2 or args.race_rounds < 1:
        p.error("--race-clients must be at least 2 and --race-rounds at least 1")
    if args.resources < args.clients:
        p.error("--resources must be at least --clients (each client walks its own resources)")
    return args


def _raise_exit(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_exit)  # so the server is cleaned up on SIGTERM too
    tmp = Path(tempfile.mkdtemp(prefix="focusdesk-bench-bookings-"))
    url = args.database or f"sqlite:///{tmp / 'bench.db'}"
    port = args.port or free_port()
    log_path = tmp / "server.log"
    proc: subprocess.Popen | None = None
    try:
        event_id = seed(url)
        proc = start_server(url, port, log_path)
        wait_healthy(proc, port, log_path)
        say(f"server pid {proc.pid} healthy on http://{HOST}:{port} (log: {log_path}); event {event_id}")
        run, loop_name = run_async(drive(args, event_id, port, proc.pid))
        say(f"load generator event loop: {loop_name}")
        code = stop_server(proc)
        if code not in (0, -signal.SIGTERM):
            say(f"the server exited with status {code}:\n{log_tail(log_path)}")
    except BaseException:
        if proc is not None:
            say(f"server log tail ({log_path}):\n{log_tail(log_path)}")
        raise
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if args.keep:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    problems = check(run)
    for problem in problems:
        say(f"CHECK FAILED: {problem}")
    rest: PhaseResult = run["rest"]
    desk: PhaseResult | None = run["desk"]
    raced: Race = run["race"]
    race_lat = sorted(raced.latencies)
    result: dict[str, Any] = {
        "bookings_per_s": round(rest.bookings_per_s, 1),
        "p50_ms": round(rest.p50_ms, 2),
        "p99_ms": round(rest.p99_ms, 2),
        "errors": rest.errors,
        "double_bookings": len(run["back"]["pairs"]),
        "race_rounds": raced.rounds,
        "race_winners_per_slot": {"min": min(raced.winners), "max": max(raced.winners)},
        "loadgen_cpu_share": round(rest.loadgen_cpu_share, 3),
        "server_cpu_share": round(rest.server_cpu_share, 3),
        "resources": len(run["resources"]),
        "clients": args.clients,
        "p90_ms": round(rest.p90_ms, 2),
        "max_ms": round(rest.max_ms, 2),
        "duration_s": round(rest.window_s, 2),
        "rest_bookings_total": rest.made_total,
        "race_clients": args.race_clients,
        "race_losers_409_conflict": raced.losers_409,
        "race_wrong_answers": raced.wrong,
        "race_p50_ms": round(percentile(race_lat, 50) * 1000, 2),
        "race_p99_ms": round(percentile(race_lat, 99) * 1000, 2),
        "race_s": round(run["race_s"], 2),
        "bookings_read_back": run["back"]["total"],
        "active_bookings": len(run["back"]["active"]),
        "cpus": os.cpu_count(),
        "verified": not problems,
        "meets_targets": rest.bookings_per_s >= TARGET_BOOKINGS_PER_S
        and rest.p99_ms < TARGET_P99_MS
        and not run["back"]["pairs"],
    }
    if desk is not None:
        result |= {
            "desk_bookings_per_s": round(desk.bookings_per_s, 1),
            "desk_p50_ms": round(desk.p50_ms, 2),
            "desk_p99_ms": round(desk.p99_ms, 2),
            "desk_max_ms": round(desk.max_ms, 2),
            "desk_errors": desk.errors,
            "desk_loadgen_cpu_share": round(desk.loadgen_cpu_share, 3),
            "desk_server_cpu_share": round(desk.server_cpu_share, 3),
        }
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        print_table(result)
    return 0 if not problems else 1


def print_table(r: dict[str, Any]) -> None:
    print(f"Bookings: {r['clients']} clients, {r['resources']} resources, {r['cpus']} CPUs (shares are of all CPUs)")
    rows = [
        ("REST bookings/s", f"{r['bookings_per_s']:,.0f}", f"target ≥ {TARGET_BOOKINGS_PER_S}"),
        (
            "latency p50 / p90 / p99 / max (ms)",
            f"{r['p50_ms']:.1f} / {r['p90_ms']:.1f} / {r['p99_ms']:.1f} / {r['max_ms']:.1f}",
            f"p99 target < {TARGET_P99_MS}",
        ),
        ("errors (non-201)", str(r["errors"]), ""),
        ("CPU load generator / server", f"{r['loadgen_cpu_share']:.0%} / {r['server_cpu_share']:.0%}", ""),
    ]
    if "desk_bookings_per_s" in r:
        rows += [
            ("desk commands bookings/s", f"{r['desk_bookings_per_s']:,.0f}", ""),
            (
                "  latency p50 / p99 / max (ms)",
                f"{r['desk_p50_ms']:.1f} / {r['desk_p99_ms']:.1f} / {r['desk_max_ms']:.1f}",
                "",
            ),
            ("  errors", str(r["desk_errors"]), ""),
        ]
    w = r["race_winners_per_slot"]
    rows += [
        ("race rounds × clients", f"{r['race_rounds']} × {r['race_clients']}", ""),
        ("  winners per slot min / max", f"{w['min']} / {w['max']}", "must be 1 / 1"),
        (
            "  losers with 409 reservation_conflict",
            f"{r['race_losers_409_conflict']:,}",
            f"wrong answers {r['race_wrong_answers']}",
        ),
        ("  latency p50 / p99 (ms)", f"{r['race_p50_ms']:.1f} / {r['race_p99_ms']:.1f}", ""),
        ("double bookings (overlapping pairs)", str(r["double_bookings"]), "must be 0"),
        ("bookings read back / active", f"{r['bookings_read_back']:,} / {r['active_bookings']:,}", ""),
    ]
    w0 = max(len(a) for a, _, _ in rows)
    w1 = max(len(b) for _, b, _ in rows)
    for a, b, c in rows:
        print(f"  {a:<{w0}}  {b:>{w1}}  {c}")
    print(
        f"  verified: {'yes' if r['verified'] else 'NO'}; meets the issue 8 targets: {'yes' if r['meets_targets'] else 'no'}"
    )


if __name__ == "__main__":
    sys.exit(main())
