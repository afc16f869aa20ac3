"""The byte pipe between a driver and one printer, whatever carries it (BLE characteristic pair, TCP socket).

Drivers talk to a ``Link`` and never to bleak or sockets, so the real transport and the virtual printer are
peers chosen at construction (the bleak ``backend=`` idea, one level up).
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from printers.errors import LinkLost, ReplyTimeout


@dataclass(frozen=True, slots=True)
class Pacing:
    """How a family wants its bytes: at most ``chunk`` bytes per write, writes ``interval_s`` apart,
    acknowledged (``response``) or not. ``chunk=None``: one protocol frame per write, never split."""

    interval_s: float
    chunk: int | None = None
    response: bool = False


class Pacer:
    """Spaces writes on a fixed schedule, ``interval_s`` apart.

    The schedule is absolute (start + n * interval), so asyncio's oversleep on one write is not added to the
    next: a 240-frame label takes 240 intervals, not 240 intervals plus 240 oversleeps. When the sender falls
    behind (a slow write), the schedule restarts from now rather than bursting to catch up — a burst is exactly
    what overflows a printer's receive buffer.
    """

    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._next: float | None = None

    async def wait(self) -> None:
        now = self._clock()
        if self._next is None or self._next < now - self.interval_s:
            self._next = now
        delay = self._next - now
        if delay > 0:
            await asyncio.sleep(delay)
        self._next += self.interval_s


class ReplyQueue:
    """What a printer sent, in arrival order, for ``Link`` implementations: a notification or socket read that
    lands before anyone reads is kept, and "the link is gone" is a mark every later read sees."""

    _GONE = None

    def __init__(self) -> None:
        self._items: asyncio.Queue[bytes | None] = asyncio.Queue()

    def push(self, data: bytes | bytearray) -> None:
        self._items.put_nowait(bytes(data))

    def mark_gone(self) -> None:
        """Wake a waiting read with LinkLost (and every read after it)."""
        self._items.put_nowait(self._GONE)

    @property
    def empty(self) -> bool:
        return self._items.empty()

    async def get(self, timeout: float, who: str, gone: str) -> bytes:
        """The next chunk; ``ReplyTimeout`` naming ``who`` after ``timeout`` s, ``LinkLost(gone)`` once gone."""
        try:
            item = await asyncio.wait_for(self._items.get(), timeout)
        except TimeoutError:
            raise ReplyTimeout(f"{who} did not answer within {timeout:g} s.") from None
        if item is self._GONE:
            self._items.put_nowait(self._GONE)  # keep saying so to later readers
            raise LinkLost(gone)
        return item

    def discard(self) -> None:
        """Drop replies not yet read (stale answers from an earlier, failed job), keeping the gone mark."""
        while not self._items.empty():
            if self._items.get_nowait() is self._GONE:
                self._items.put_nowait(self._GONE)
                return


class Link(ABC):
    """One open connection to a printer.

    ``read`` returns the next chunk the printer sent (a BLE notification, or bytes from the socket) and
    raises ``ReplyTimeout`` when none arrives in time and ``LinkLost`` once the connection is gone.
    """

    description: str = "printer"
    _pacer: Pacer | None = None

    def pacer(self, interval_s: float) -> Pacer:
        """The link's one write schedule. It outlives a job, so the first write of the next badge still keeps
        its distance from the last write of the one before (the printer is still draining that)."""
        if self._pacer is None or self._pacer.interval_s != interval_s:
            self._pacer = Pacer(interval_s)
        return self._pacer

    @property
    @abstractmethod
    def max_write(self) -> int:
        """The largest single write the link takes now (BLE: max_write_without_response_size)."""

    @property
    @abstractmethod
    def connected(self) -> bool: ...

    @abstractmethod
    async def write(self, data: bytes, *, response: bool = False) -> None: ...

    @abstractmethod
    async def read(self, timeout: float) -> bytes: ...

    @abstractmethod
    def discard_pending(self) -> None:
        """Drop replies received but not read (stale answers from an earlier, failed job)."""

    @abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Link:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
