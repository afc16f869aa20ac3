"""A whole virtual printer room: one unit of each chosen model, BLE ones in a ``VirtualAir`` and network ones
behind loopback TCP servers. The demo, the CLI's ``--virtual`` and the end-to-end tests all use it, so they
drive the same transports and drivers a real desk does."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from printers.models import MODELS, ModelSpec, get_model
from printers.session import LinkOpener, PrinterSession, PrinterTarget, default_opener
from printers.virtual import virtual_printer
from printers.virtual.base import VirtualFleet, VirtualPrinter
from printers.virtual.ble import VirtualAir
from printers.virtual.tcp import VirtualTcpPrinterServer

# A spread of signal strengths so a scan list shows the bars doing something.
_DEMO_RSSI = (-48, -57, -63, -69, -74, -81, -86, -52, -66, -78)


def virtual_ble_address(index: int) -> str:
    return f"F0:C5:D0:00:{index // 256:02X}:{index % 256:02X}"


class VirtualWorld:
    """``async with VirtualWorld(["niimbot-b1", "brother-ql820nwb"]) as world: ...`` (None: every model)."""

    def __init__(self, model_ids: Iterable[str] | None = None, *, air: VirtualAir | None = None, **air_options: Any):
        self.models: list[ModelSpec] = [get_model(m) for m in (model_ids if model_ids is not None else MODELS)]
        self.air = air or VirtualAir(VirtualFleet(), **air_options)
        self._devices: dict[str, VirtualPrinter] = {}
        self._servers: dict[str, VirtualTcpPrinterServer] = {}
        for index, model in enumerate(self.models, start=1):
            address = virtual_ble_address(index) if model.transport == "ble" else f"virtual-{model.id}"
            device = virtual_printer(model, address, rssi=_DEMO_RSSI[index % len(_DEMO_RSSI)])
            self._devices[model.id] = device
            if model.transport == "ble":
                self.air.add(device)
            else:
                self._servers[model.id] = VirtualTcpPrinterServer(device)

    @property
    def ble_backend(self) -> VirtualAir:
        """What ``scan(backend=…)`` and ``connect_ble(backend=…)`` take to reach these printers."""
        return self.air

    @property
    def opener(self) -> LinkOpener:
        return default_opener(self.air)

    def device(self, model_id: str) -> VirtualPrinter:
        return self._devices[model_id]

    @property
    def devices(self) -> list[VirtualPrinter]:
        return list(self._devices.values())

    def target(self, model_id: str, media_id: str | None = None, density: int | None = None) -> PrinterTarget:
        device = self._devices[model_id]
        if device.model.transport == "tcp":
            host, port = self._servers[model_id].address
            address = f"{host}:{port}"
        else:
            address = device.address
        return PrinterTarget(model_id, address, media_id, density)

    def session(self, model_id: str, media_id: str | None = None) -> PrinterSession:
        return PrinterSession(self.target(model_id, media_id), self.opener)

    async def start(self) -> VirtualWorld:
        for server in self._servers.values():
            await server.start()
        return self

    async def stop(self) -> None:
        for server in self._servers.values():
            await server.stop()

    async def __aenter__(self) -> VirtualWorld:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
