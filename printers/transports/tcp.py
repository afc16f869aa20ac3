"""Raw TCP (port 9100, "JetDirect") to a networked printer, as a ``Link``.

A background task reads the socket into a queue as bytes arrive, so a dropped connection is noticed even
while the driver is only writing, and ``discard_pending`` can throw away stale replies (the same discipline
as the BLE link's notification queue).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from printers.errors import ConnectFailed, LinkLost
from printers.link import Link, ReplyQueue

DEFAULT_PORT = 9100
MAX_WRITE = 16384  # TCP takes any size; this only keeps progress reports moving on big jobs
READ_SIZE = 65536


def _reason(err: BaseException, timeout: float) -> str:
    if isinstance(err, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(err, ConnectionRefusedError):
        return "the connection was refused (nothing is listening on that port)"
    if isinstance(err, socket.gaierror):
        return "the name could not be resolved"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror[:1].lower() + err.strerror[1:]
    return str(err) or type(err).__name__


async def open_tcp_link(host: str, port: int = DEFAULT_PORT, timeout: float = 5.0) -> TcpLink:
    """Connect to ``host:port``; ``ConnectFailed`` names the address and why (refused, timed out, bad name)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as err:
        raise ConnectFailed(
            f"Could not reach the printer at {host}:{port}: {_reason(err, timeout)}.",
            "Check it is on and on this network.",
        ) from err
    return TcpLink(reader, writer, f"{host}:{port}")


class TcpLink(Link):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, description: str) -> None:
        self.description = description
        self._reader = reader
        self._writer = writer
        self._replies = ReplyQueue()
        self._open = True
        self._pump = asyncio.get_running_loop().create_task(self._read_loop(), name=f"tcp-read {description}")

    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self._reader.read(READ_SIZE)
                if not data:
                    break
                self._replies.push(data)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            # EOF, reset or close(): whoever waits for a reply learns the link is gone.
            self._open = False
            self._replies.mark_gone()

    @property
    def max_write(self) -> int:
        return MAX_WRITE

    @property
    def connected(self) -> bool:
        return self._open

    async def write(self, data: bytes, *, response: bool = False) -> None:
        """``response`` has no meaning on TCP: delivery is acknowledged by the stack either way."""
        if not self._open or self._writer.is_closing():
            raise LinkLost(f"The connection to the printer at {self.description} was closed.")
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (OSError, RuntimeError) as err:
            self._open = False
            raise LinkLost(f"The connection to the printer at {self.description} dropped: {err}.") from err

    async def read(self, timeout: float) -> bytes:
        if not self._open and self._replies.empty:
            raise LinkLost(f"The connection to the printer at {self.description} was closed.")
        return await self._replies.get(
            timeout, f"The printer at {self.description}", f"The printer at {self.description} closed the connection."
        )

    def discard_pending(self) -> None:
        self._replies.discard()

    async def close(self) -> None:
        if self._writer.is_closing() and self._pump.done():
            return
        self._open = False
        self._pump.cancel()
        self._writer.close()
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await self._writer.wait_closed()
        await asyncio.wait({self._pump})  # let the reader task finish without re-raising its cancellation


__all__ = ["DEFAULT_PORT", "TcpLink", "open_tcp_link"]
