"""A desk's connection to its printer: opened on demand, reused across jobs, reopened after a drop.

Label printers take seconds to connect over BLE, so a desk keeps one link open and prints every badge over
it; when the link dies (out of range, switched off) the next job or status check opens a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from printers.drivers import Driver, PrinterStatus, PrintSettings, ProgressCallback, driver_for
from printers.drivers.base import Progress, no_progress
from printers.errors import LinkLost, PrinterError, PrinterState
from printers.link import Link
from printers.models import Media, ModelSpec, get_model
from printers.raster import Bitmap


@dataclass(frozen=True, slots=True)
class PrinterTarget:
    """Which printer a desk prints on: a model, where it is (BLE address, or host[:port] for network
    printers), and the label loaded in it."""

    model_id: str
    address: str
    media_id: str | None = None
    density: int | None = None

    @property
    def model(self) -> ModelSpec:
        return get_model(self.model_id)

    @property
    def media(self) -> Media:
        return self.model.find_media(self.media_id)

    def settings(self, copies: int = 1) -> PrintSettings:
        return PrintSettings(density=self.density, copies=copies, media=self.media)

    def describe(self) -> str:
        return f"{self.model.name} at {self.address}"


LinkOpener = Callable[[PrinterTarget, ProgressCallback], Awaitable[Link]]


def split_host_port(address: str, default_port: int) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if sep and port.isdigit() and "]" not in port:
        return host.strip("[]"), int(port)
    return address, default_port


def default_opener(ble_backend: Any = None) -> LinkOpener:
    """Open BLE models through bleak (``ble_backend``: bleak's ``backend=``; None = the system's) and network
    models over TCP."""

    async def open_link(target: PrinterTarget, progress: ProgressCallback) -> Link:
        model = target.model
        if model.transport == "tcp":
            from printers.transports.tcp import open_tcp_link

            host, port = split_host_port(target.address, model.tcp_port)
            progress(Progress("connecting", message=f"Connecting to {host}:{port}…"))
            return await open_tcp_link(host, port)
        from printers.transports.ble import connect_ble

        def on_attempt(attempt: int, *_: object) -> None:
            progress(Progress("connecting", message=f"Connecting to {target.describe()} (attempt {attempt})…"))

        progress(Progress("connecting", message=f"Connecting to {target.describe()}…"))
        return await connect_ble(target.address, model, backend=ble_backend, on_attempt=on_attempt)

    return open_link


class PrinterSession:
    def __init__(self, target: PrinterTarget, opener: LinkOpener | None = None) -> None:
        self.target = target
        self.driver: Driver = driver_for(target.model)
        self._opener = opener or default_opener()
        self._link: Link | None = None
        # One job at a time on a printer: a second badge waits for the first rather than interleaving bytes.
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._link is not None and self._link.connected

    async def _ensure_link(self, progress: ProgressCallback) -> Link:
        if self._link is not None and not self._link.connected:
            await self._drop()
        if self._link is None:
            self._link = await self._opener(self.target, progress)
        return self._link

    async def _drop(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            # Closing a dead link: nothing left to tell the user.
            with contextlib.suppress(PrinterError, OSError):
                await link.close()

    async def print(self, bitmap: Bitmap, copies: int = 1, progress: ProgressCallback = no_progress) -> None:
        """Send one raster and wait for the printer's confirmation. Raises ``PrinterError`` on failure."""
        async with self._lock:
            link = await self._ensure_link(progress)
            link.discard_pending()
            try:
                await self.driver.print(link, bitmap, self.target.settings(copies), progress)
            except LinkLost:
                await self._drop()
                raise
            except OSError as exc:
                await self._drop()
                raise LinkLost(f"The connection to {self.target.describe()} failed: {exc}.") from exc

    async def status(self) -> PrinterStatus:
        """How the printer is, never raising: a printer that cannot be reached is DISCONNECTED, with why."""
        async with self._lock:
            try:
                link = await self._ensure_link(no_progress)
                return await self.driver.status(link)
            except LinkLost as exc:
                await self._drop()
                return PrinterStatus(PrinterState.DISCONNECTED, detail=str(exc))
            except PrinterError as exc:
                state = PrinterState.DISCONNECTED if not self.connected else PrinterState.UNKNOWN
                return PrinterStatus(state, detail=str(exc))

    async def close(self) -> None:
        async with self._lock:
            await self._drop()
