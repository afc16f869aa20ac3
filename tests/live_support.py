"""Test support for the live channel: raw WebSocket conversations with a running server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from focusdesk.station.live import live_url


async def open_ws(base_url: str, **kw) -> ClientConnection:
    return await connect(live_url(base_url), compression=None, max_size=64 << 20, **kw)


async def hello(ws: ClientConnection, token: str, station_id: str, proto: int = 1) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "hello", "token": token, "station_id": station_id, "proto": proto}))
    return await recv_json(ws)


async def recv_json(ws: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws: ClientConnection, predicate, timeout: float = 10.0) -> dict[str, Any]:
    """Frames are read (and dropped) until one satisfies ``predicate``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError("timed out waiting for a matching frame")
        frame = await recv_json(ws, left)
        if predicate(frame):
            return frame


async def subscribe(ws: ClientConnection, scope: str, epoch: str | None = None, since: int | None = None) -> dict:
    await ws.send(json.dumps({"type": "sub", "scope": scope, "epoch": epoch, "since": since}))
    return await recv_until(ws, lambda f: f["type"] in ("sub_ok", "error"))


async def closed_with(ws: ClientConnection, timeout: float = 10.0) -> tuple[int, str]:
    """Read until the server closes (within ``timeout`` seconds in all); returns its (code, reason)."""
    from websockets.exceptions import ConnectionClosed

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"the server did not close the connection within {timeout} s")
            await asyncio.wait_for(ws.recv(), left)
    except ConnectionClosed as exc:
        assert exc.rcvd is not None, f"closed without a close frame: {exc!r}"
        return exc.rcvd.code, exc.rcvd.reason


class ReplicaModel:
    """What a desk would hold for one scope, built only from a LiveClient's stream.

    ``seqs`` records every change applied since the last snapshot, so a test can prove the stream was
    contiguous: nothing skipped, nothing applied twice.
    """

    def __init__(self):
        self.attendees: dict[str, dict] = {}
        self.base: int | None = None
        self.seq: int | None = None
        self.seqs: list[int] = []
        self.snapshots = 0
        self.broken: list[str] = []

    def apply(self, item) -> None:
        from focusdesk.station.live import Applied, Snapshot

        if isinstance(item, Snapshot):
            self.attendees = {a["id"]: a for a in item.state.get("attendees", [])}
            self.base = self.seq = item.seq
            self.seqs = []
            self.snapshots += 1
        elif isinstance(item, Applied):
            if self.seq is None or item.seq != self.seq + 1:
                self.broken.append(f"applied seq {item.seq} after {self.seq}")
            self.seq = item.seq
            self.seqs.append(item.seq)
            data = item.data or {}
            if item.kind == "attendee.deleted":
                self.attendees.pop(data.get("id"), None)
            elif "attendee" in data:
                self.attendees[data["attendee"]["id"]] = data["attendee"]


class LossyConnection:
    """A WebSocket seen through a bad network: frames dropped, duplicated, swapped, delayed; the line
    cut now and then; frames from the desk lost on the way out. All decisions come from ``rng``."""

    def __init__(self, ws, rng, *, drop, dup, swap, delay, cut, drop_out):
        from collections import deque

        self.ws = ws
        self.rng = rng
        self.p = {"drop": drop, "dup": dup, "swap": swap, "delay": delay, "cut": cut, "drop_out": drop_out}
        self.ready = deque()
        self.held = None
        self.faults = 0

    def _roll(self, what: str) -> bool:
        hit = self.rng.random() < self.p[what]
        self.faults += hit
        return hit

    async def send(self, message: str) -> None:
        if self._roll("drop_out"):
            return
        await self.ws.send(message)

    async def recv(self):
        while True:
            if self.ready:
                return self.ready.popleft()
            if self._roll("cut"):
                await self.ws.close()
                raise ConnectionError("injected: the line was cut")
            message = await self.ws.recv()
            if self._roll("drop"):
                continue
            if self._roll("delay"):
                await asyncio.sleep(self.rng.uniform(0, 0.03))
            if self._roll("dup"):
                self.ready.append(message)
            if self.held is not None:
                self.ready.append(self.held)  # the held-back frame now arrives after this one
                self.held = None
            elif self._roll("swap"):
                self.held = message
                continue
            return message

    async def close(self) -> None:
        await self.ws.close()


def lossy_connector(rng, **probabilities):
    """A LiveClient ``connector`` whose connections all go through :class:`LossyConnection`."""
    import contextlib

    made: list[LossyConnection] = []

    @contextlib.asynccontextmanager
    async def connector(url: str):
        ws = await connect(url, compression=None, max_size=64 << 20, open_timeout=5, close_timeout=1)
        lossy = LossyConnection(ws, rng, **probabilities)
        made.append(lossy)
        try:
            yield lossy
        finally:
            await ws.close()

    connector.made = made
    return connector


async def consume(client, model: ReplicaModel) -> None:
    """Feed everything ``client`` streams into ``model`` (run as a task)."""
    async for item in client.items():
        model.apply(item)


async def until(condition, timeout: float, what: str) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


async def converged(models: list[ReplicaModel], head: int, timeout: float = 60) -> None:
    """Wait until every model has applied up to ``head``; fail saying where each one is stuck."""
    try:
        await until(lambda: all(m.seq == head for m in models), timeout, "the desks to converge")
    except AssertionError:
        raise AssertionError(f"desks at {[m.seq for m in models]}, server at {head}") from None
