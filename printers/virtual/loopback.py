"""A ``Link`` straight into a virtual printer, with no radio or socket in between.

Driver unit tests and the encode/decode proofs use it; it keeps the device's write-size limit and delivers
replies through the same queue discipline as the real transports.
"""

from __future__ import annotations

import asyncio

from printers.errors import LinkLost
from printers.link import Link, ReplyQueue
from printers.virtual.base import VirtualPrinter


class LoopbackLink(Link):
    def __init__(self, device: VirtualPrinter) -> None:
        self.device = device
        self.description = device.name
        self._replies = ReplyQueue()
        self._open = True
        device.attach(self._replies.push, self._lost)

    def _lost(self) -> None:
        self._open = False
        self._replies.mark_gone()

    @property
    def max_write(self) -> int:
        return self.device.limits.max_write

    @property
    def connected(self) -> bool:
        return self._open

    async def write(self, data: bytes, *, response: bool = False) -> None:
        if not self._open:
            raise LinkLost()
        self.device.receive(bytes(data), response)
        await asyncio.sleep(0)

    async def read(self, timeout: float) -> bytes:
        if not self._open and self._replies.empty:
            raise LinkLost()
        return await self._replies.get(timeout, self.description, LinkLost().message)

    def discard_pending(self) -> None:
        self._replies.discard()

    async def close(self) -> None:
        if self._open:
            self._open = False
            self.device.detach()
