"""A virtual printer: the device side of a link. It receives what a driver writes, enforces the limits a real
unit has (write size, pacing, a small receive buffer), decodes the job back into the bitmap it would have
printed, answers status, and can be told to misbehave.

Family subclasses implement ``handle`` (bytes in → maybe replies out) and push decoded pages to ``printed``.
The BLE backend (``printers.virtual.ble``) and the TCP server (``printers.virtual.tcp``) carry bytes to it.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from printers.models import Media, ModelSpec
from printers.raster import Bitmap


@dataclass
class Faults:
    """What to break. Tests flip these between a failing job and its retry."""

    paper_out: bool = False
    cover_open: bool = False
    low_battery: bool = False  # prints, but says so
    battery_empty: bool = False  # refuses to print
    wrong_media: bool = False
    disconnect_after_writes: int | None = None  # drop the link after this many writes of the next job
    slow_ack_s: float = 0.0  # delay before every reply
    lose_fast_writes: bool = False  # writes that overflow the receive buffer are lost (real units do this)
    silent: bool = False  # never reply (a hung firmware)


@dataclass
class LinkLimits:
    """The physical limits the virtual device enforces."""

    max_write: int = 182  # MTU 185 − 3
    min_interval_s: float = 0.0  # the rate at which the device drains its receive buffer
    buffer_writes: int = 4  # writes it can hold before it overflows


class VirtualPrinter(ABC):
    """Subclasses set GATT uuids for BLE families (``service_uuid``, ``write_uuid``, ``notify_uuid``)."""

    service_uuid: str = ""
    write_uuid: str = ""
    notify_uuid: str = ""

    def __init__(
        self,
        model: ModelSpec,
        *,
        address: str,
        name: str | None = None,
        rssi: int = -55,
        media: Media | None = None,
        limits: LinkLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.address = address
        self.name = name or f"{model.ble_names[0] if model.ble_names else model.name}-{address[-5:].replace(':', '')}"
        self.rssi = rssi
        self.media = media or model.default_media()
        self.limits = limits or LinkLimits()
        self.faults = Faults()
        self.printed: list[Bitmap] = []
        self.writes: list[tuple[float, int, bool]] = []  # (time, size, response) of every write received
        self.overruns = 0  # writes that arrived with the receive buffer full
        self.lost_writes = 0
        self.oversized_writes = 0
        self.battery_percent = 80
        self._clock = clock
        self._buffer_level = 0.0
        self._buffer_at = 0.0
        self._notify: Callable[[bytes], None] | None = None
        self._disconnect: Callable[[], None] | None = None
        self._job_writes = 0
        self.connected = False

    # --- wiring, called by the transport that carries this device -------------------------------------------

    def attach(self, notify: Callable[[bytes], None], disconnect: Callable[[], None]) -> None:
        self._notify = notify
        self._disconnect = disconnect
        self.connected = True
        self._job_writes = 0
        self._buffer_level = 0.0

    def detach(self) -> None:
        self._notify = None
        self._disconnect = None
        self.connected = False

    def receive(self, data: bytes, response: bool = False) -> None:
        """One write from the central. Enforces the size and rate limits, then hands the bytes on."""
        now = self._clock()
        self.writes.append((now, len(data), response))
        if len(data) > self.limits.max_write and not response:
            # A real stack rejects or truncates it; either way the printer never sees the bytes.
            self.oversized_writes += 1
            return
        if self.limits.min_interval_s > 0 and not response:
            drained = (now - self._buffer_at) / self.limits.min_interval_s
            self._buffer_level = max(0.0, self._buffer_level - drained)
            self._buffer_at = now
            if self._buffer_level + 1 > self.limits.buffer_writes:
                self.overruns += 1
                if self.faults.lose_fast_writes:
                    self.lost_writes += 1
                    return
            # A kept overrun still leaves the buffer merely full: counting it above capacity would make every
            # later write, however well paced, an overrun too.
            self._buffer_level = min(self._buffer_level + 1, float(self.limits.buffer_writes))
        self._job_writes += 1
        limit = self.faults.disconnect_after_writes
        if limit is not None and self._job_writes > limit:
            self.faults.disconnect_after_writes = None
            self.drop_link()
            return
        self.handle(data)

    def reply(self, data: bytes) -> None:
        """Send a notification (BLE) or bytes (TCP) back, honouring ``slow_ack_s`` and ``silent``."""
        if self.faults.silent or self._notify is None:
            return
        notify = self._notify
        if self.faults.slow_ack_s > 0:
            asyncio.get_running_loop().call_later(self.faults.slow_ack_s, self._late_reply, notify, data)
        else:
            notify(data)

    def _late_reply(self, notify: Callable[[bytes], None], data: bytes) -> None:
        if self._notify is notify:
            notify(data)

    def drop_link(self) -> None:
        """Out of range / switched off: the transport sees a disconnect."""
        disconnect = self._disconnect
        self.detach()
        if disconnect is not None:
            disconnect()

    # --- the family's protocol ------------------------------------------------------------------------------

    @abstractmethod
    def handle(self, data: bytes) -> None:
        """Parse the bytes (they may split or join protocol frames), act, reply, and append decoded pages."""

    def blocking_fault(self) -> str | None:
        """The first fault that stops a print, as a name the family maps to its own error code."""
        f = self.faults
        for name in ("cover_open", "paper_out", "battery_empty", "wrong_media"):
            if getattr(f, name):
                return name
        return None


@dataclass
class VirtualFleet:
    """The printers "in the air" for one virtual Bluetooth world (a test, the demo)."""

    devices: list[VirtualPrinter] = field(default_factory=list)

    def add(self, device: VirtualPrinter) -> VirtualPrinter:
        self.devices.append(device)
        return device

    def by_address(self, address: str) -> VirtualPrinter | None:
        for d in self.devices:
            if d.address.lower() == address.lower():
                return d
        return None
