"""A real TCP server on 127.0.0.1 that carries bytes to any virtual printer: the network printer's side of a
``TcpLink``, for tests and the demo.

It knows nothing of the family: bytes from the socket go to ``device.receive`` in whatever chunks TCP
delivers (so the device must parse a stream), and ``device.reply`` writes back to the socket. One connection
is served at a time, like a printer's port 9100; a newer connection takes the device over.
"""

from __future__ import annotations

import asyncio
import contextlib

from printers.virtual.base import VirtualPrinter

READ_SIZE = 65536


class VirtualTcpPrinterServer:
    """``async with VirtualTcpPrinterServer(device) as server: link = await open_tcp_link(server.host, server.port)``."""

    def __init__(self, device: VirtualPrinter, host: str = "127.0.0.1", port: int = 0) -> None:
        self.device = device
        self.host = host
        self._requested_port = port
        self.port = 0
        self.connections = 0  # accepted so far, for tests
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # A socket read can hand over up to READ_SIZE bytes at once; the device must not reject it as an
        # oversized (BLE-style) write. TCP does its own flow control, so nothing else changes.
        device.limits.max_write = max(device.limits.max_write, READ_SIZE)

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    async def start(self) -> VirtualTcpPrinterServer:
        self._server = await asyncio.start_server(self._serve, self.host, self._requested_port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_link()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> VirtualTcpPrinterServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def drop_link(self) -> None:
        """The printer goes away mid-conversation: the client sees the connection close."""
        if self._writer is not None:
            self.device.drop_link()  # calls back into _close_connection for the attached socket

    # --- one connection -----------------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.connections += 1
        if self._writer is not None:
            self.drop_link()  # one client at a time: the newer connection wins
        self._writer = writer

        def notify(data: bytes) -> None:
            if not writer.is_closing():
                writer.write(data)

        def disconnect() -> None:
            self._close_connection(writer)

        self.device.attach(notify, disconnect)
        try:
            while not writer.is_closing():
                data = await reader.read(READ_SIZE)
                if not data:
                    break
                self.device.receive(data)
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            if self._writer is writer:
                self.device.detach()
            self._close_connection(writer)
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    def _close_connection(self, writer: asyncio.StreamWriter) -> None:
        if self._writer is writer:
            self._writer = None
        if not writer.is_closing():
            writer.close()


__all__ = ["VirtualTcpPrinterServer"]
