"""One station's live connection: a bounded send queue drained by its own writer task.

The hub never awaits a station. It appends already-encoded frames to the connection's queue and moves
on; the writer task sends them. A station that stops reading makes its writer wait on the socket, its
queue grows, and at ``max_queue`` frames the connection is declared *lagging*: it leaves every feed, its
queue is dropped, and it is closed with ``CLOSE_LAGGING`` so the station resumes from its cursors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from focusdesk.domain.live import CLOSE_LAGGING

if TYPE_CHECKING:
    from focusdesk.domain.roles import Principal
    from focusdesk.server.live.hub import Hub, PrivateFrame

log = logging.getLogger(__name__)
AsgiSend = Callable[[dict[str, Any]], Awaitable[None]]


class Subscription:
    """A connection's interest in one scope, with its cursor (the last seq queued to the station).

    While the catch-up answer is being read it is *syncing*: live frames wait in ``buffer`` (they may
    overlap the answer, or arrive with gaps; :meth:`Hub.subscribe` sorts that out).
    """

    __slots__ = ("buffer", "connection", "cursor", "scope")

    def __init__(self, connection: LiveConnection, scope: str):
        self.connection = connection
        self.scope = scope
        self.cursor = 0
        self.buffer: list[tuple[int, str]] | None = []

    @property
    def syncing(self) -> bool:
        return self.buffer is not None

    def offer(self, seq: int, frame: str | PrivateFrame) -> None:
        if not isinstance(frame, str):
            frame = frame.for_viewer(self.connection.principal)
        if self.buffer is not None:
            self.buffer.append((seq, frame))
            if len(self.buffer) > self.connection.max_queue:
                self.connection.lagging()
        elif seq > self.cursor:
            self.cursor = seq
            self.connection.enqueue(frame)


class LiveConnection:
    """Server side of one WebSocket: who it is, what it follows, and what waits to be sent."""

    def __init__(self, send: AsgiSend, *, principal: Principal, token: str, station_id: str, ip: str, max_queue: int):
        self._send = send
        self.principal = principal
        self.token = token
        self.station_id = station_id
        self.ip = ip
        self.max_queue = max_queue
        self.subscriptions: dict[str, Subscription] = {}
        self.hub: Hub | None = None
        self._queue: deque[str] = deque()
        self._waiter: asyncio.Future | None = None  # the idle writer waits on this
        self._close: tuple[int, str] | None = None
        self.closed = asyncio.Event()  # set once the writer has finished (close sent or peer gone)
        self.sent = 0
        self.last_presence_at = float("-inf")  # when this desk's last presence report was stored
        self._writer: asyncio.Task | None = None

    @property
    def queued(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name=f"live-writer-{self.station_id}")

    def enqueue(self, frame: str) -> None:
        if self._close is not None:
            return
        if len(self._queue) >= self.max_queue:
            self.lagging()
            return
        self._queue.append(frame)
        self._wake()

    def lagging(self) -> None:
        log.info(
            "live: station %s (%s) is lagging (%d frames queued); closing it", self.station_id, self.ip, self.queued
        )
        self.close(CLOSE_LAGGING, "lagging: you fell behind; resubscribe from your cursors")

    def close(self, code: int, reason: str) -> None:
        """Stop feeding this connection and close it once the frames before this point are out.

        Lagging connections drop their queue: the frames would only make the station later.
        """
        if self._close is not None:
            return
        self._close = (code, reason)
        if self.hub is not None:
            self.hub.detach(self)
        if code == CLOSE_LAGGING:
            self._queue.clear()
            if self.hub is not None:
                self.hub.lagging_closes += 1
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _write_loop(self) -> None:
        send = self._send
        queue = self._queue
        try:
            while True:
                while queue:
                    await send({"type": "websocket.send", "text": queue.popleft()})
                    self.sent += 1
                if self._close is not None:
                    code, reason = self._close
                    await send({"type": "websocket.close", "code": code, "reason": reason})
                    return
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter
                self._waiter = None
        except Exception:  # the peer went away (ClientDisconnected, OSError): nothing left to send to
            log.debug("live: writer for %s stopped", self.station_id, exc_info=True)
            if self._close is None:
                self._close = (1006, "connection lost")
                if self.hub is not None:
                    self.hub.detach(self)
        finally:
            self._queue.clear()
            self.closed.set()

    async def finish(self) -> None:
        """Wait for the writer to end (after :meth:`close`), or stop it if the peer is gone."""
        if self._writer is None:
            return
        if self._close is None:
            self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._writer
