"""The virtual Bluetooth world, as a bleak backend: virtual printers advertise, accept connections and
exchange GATT writes and notifications through the real ``BleakScanner`` and ``BleakClient`` classes.

Tests and the demo pass a ``VirtualAir`` wherever the transport takes a ``backend`` (it offers
``scanner_backend()`` and ``client_backend()``), so the code under test is the same code that drives a
real printer — only bleak's platform layer is swapped, the ``backend=`` idea bleak itself offers.

What the air imitates, because real stacks behave this way and a transport must cope:

- Devices advertise repeatedly (``advert_interval_s``), not once: ``BleakScanner.find_device_by_*``
  subscribes only after ``start()``, so a one-shot advert would be missed.
- ``max_write_without_response_size`` reads 20 until a short MTU exchange after connecting has finished
  (``mtu_exchange_s``); a transport that chunks by it straight after ``connect()`` sends 20-byte writes.
- bleak does not size-check writes; the *device* counts an oversized write-without-response and drops it.
- A dropped link (``device.drop_link()``, ``air.power_off(device)``) fires the client's
  ``disconnected_callback`` and every later write raises ``BleakError``.
- As on BlueZ, the ``disconnected_callback`` also fires after an explicit ``disconnect()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDBusError, BleakDeviceNotFoundError, BleakError
from bleak.uuids import normalize_uuid_16, normalize_uuid_str

from printers.virtual.base import VirtualFleet, VirtualPrinter

logger = logging.getLogger(__name__)

DEFAULT_MAX_WRITE = 20  # ATT_MTU 23 − 3: what every link has before the MTU exchange
DEFAULT_MTU = 23
CCCD_UUID = normalize_uuid_16(0x2902)


class VirtualAir:
    """One virtual radio neighbourhood: the printers in ``fleet``, which of them are switched on, and the
    timing of adverts, connects, MTU exchange and acknowledged writes.

    Each test builds its own air, so no state leaks between tests; ``default_air()`` is the one the demo
    shares across the process.
    """

    def __init__(
        self,
        fleet: VirtualFleet | None = None,
        *,
        advert_interval_s: float = 0.1,
        rssi_jitter: int = 0,
        connect_delay_s: float = 0.01,
        mtu_exchange_s: float = 0.05,
        ack_delay_s: float = 0.002,
        seed: int | None = None,
    ) -> None:
        self.fleet = fleet if fleet is not None else VirtualFleet()
        self.advert_interval_s = advert_interval_s
        self.rssi_jitter = rssi_jitter
        self.connect_delay_s = connect_delay_s
        self.mtu_exchange_s = mtu_exchange_s
        self.ack_delay_s = ack_delay_s
        self.connect_attempts: dict[str, int] = {}  # address (lower case) → connects tried, for tests
        self._off: set[str] = set()
        self._fail_connects: dict[str, int] = {}
        self._random = random.Random(seed)
        self._scanner_cls: type[BaseBleakScanner] | None = None
        self._client_cls: type[BaseBleakClient] | None = None

    # --- the world's state ------------------------------------------------------------------------------------

    def add(self, device: VirtualPrinter) -> VirtualPrinter:
        return self.fleet.add(device)

    def power_off(self, device: VirtualPrinter) -> None:
        """Switch the printer off: it stops advertising, refuses connects, and an open link drops."""
        self._off.add(device.address.lower())
        if device.connected:
            device.drop_link()

    def power_on(self, device: VirtualPrinter) -> None:
        self._off.discard(device.address.lower())

    def is_on(self, device: VirtualPrinter) -> bool:
        return device.address.lower() not in self._off

    def fail_connects(self, device: VirtualPrinter, times: int) -> None:
        """Make the next ``times`` connects to ``device`` fail the way a flaky radio does."""
        self._fail_connects[device.address.lower()] = times

    def _take_connect_failure(self, device: VirtualPrinter) -> bool:
        key = device.address.lower()
        # A family's VirtualPrinter may carry its own ``connect_failures`` counter; honour it too.
        own = getattr(device, "connect_failures", 0)
        if isinstance(own, int) and own > 0:
            device.connect_failures = own - 1  # type: ignore[attr-defined]
            return True
        left = self._fail_connects.get(key, 0)
        if left > 0:
            self._fail_connects[key] = left - 1
            return True
        return False

    def advertising(self) -> list[VirtualPrinter]:
        """The devices a scan can hear now: BLE models that are switched on."""
        return [d for d in self.fleet.devices if d.service_uuid and self.is_on(d)]

    def advert_for(self, device: VirtualPrinter) -> AdvertisementData:
        jitter = self._random.randint(-self.rssi_jitter, self.rssi_jitter) if self.rssi_jitter else 0
        return AdvertisementData(
            local_name=device.name,
            manufacturer_data={},
            service_data={},
            service_uuids=[normalize_uuid_str(device.service_uuid)],
            tx_power=None,
            rssi=device.rssi + jitter,
            platform_data=("virtual",),
        )

    # --- bleak backends bound to this air --------------------------------------------------------------------

    def scanner_backend(self) -> type[BaseBleakScanner]:
        """A ``BaseBleakScanner`` subclass for ``BleakScanner(backend=…)`` that hears this air only."""
        if self._scanner_cls is None:
            self._scanner_cls = type("VirtualBleakScanner", (VirtualBleakScanner,), {"air": self})
        return self._scanner_cls

    def client_backend(self) -> type[BaseBleakClient]:
        """A ``BaseBleakClient`` subclass for ``BleakClient(backend=…)`` that connects into this air only."""
        if self._client_cls is None:
            self._client_cls = type("VirtualBleakClient", (VirtualBleakClient,), {"air": self})
        return self._client_cls


_default_air: VirtualAir | None = None


def default_air() -> VirtualAir:
    """The process-wide air of the demo (tests make their own ``VirtualAir``)."""
    global _default_air
    if _default_air is None:
        _default_air = VirtualAir(rssi_jitter=3)
    return _default_air


class VirtualBleakScanner(BaseBleakScanner):
    """Hears every switched-on device of its air, every ``advert_interval_s``, while started."""

    air: VirtualAir  # set on the per-air subclass made by ``VirtualAir.scanner_backend()``

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,  # bluez=, cb=: platform options with no meaning here
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.seen_devices = {}  # bleak's contract: cleared when scanning starts
        if self._task is None:
            self._task = asyncio.create_task(self._advertise_forever(), name="virtual-ble-adverts")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _advertise_forever(self) -> None:
        while True:
            self.hear_once()
            await asyncio.sleep(self.air.advert_interval_s)

    def hear_once(self) -> None:
        for device in self.air.advertising():
            adv = self.air.advert_for(device)
            if not self.is_allowed_uuid(adv.service_uuids):
                continue
            ble_device = self.create_or_update_device(device.address, device.address, device.name, device, adv)
            self.call_detection_callbacks(ble_device, adv)


class VirtualBleakClient(BaseBleakClient):
    """A GATT connection to one virtual printer of its air."""

    air: VirtualAir  # set on the per-air subclass made by ``VirtualAir.client_backend()``

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,  # services=, bluez=, winrt=, pair options
    ) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self._device: VirtualPrinter | None = None
        self._connected = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._mtu_ready_at = float("inf")
        self._write_char: BleakGATTCharacteristic | None = None
        self._notify_char: BleakGATTCharacteristic | None = None
        self._notify_callbacks: dict[int, NotifyCallback] = {}

    # --- connection ------------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._device.name if self._device is not None else self.address.replace(":", "-")

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def mtu_size(self) -> int:
        if self._device is None or not self._mtu_exchanged():
            return DEFAULT_MTU
        return self._device.limits.max_write + 3

    def _mtu_exchanged(self) -> bool:
        return time.monotonic() >= self._mtu_ready_at

    def _max_write_without_response(self) -> int:
        if self._device is None or not self._connected or not self._mtu_exchanged():
            return DEFAULT_MAX_WRITE
        return self._device.limits.max_write

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        if self._connected:
            return
        air = self.air
        key = self.address.lower()
        air.connect_attempts[key] = air.connect_attempts.get(key, 0) + 1
        device = air.fleet.by_address(self.address)
        if device is None:
            raise BleakDeviceNotFoundError(self.address, f"Device with address {self.address} was not found.")
        await asyncio.sleep(air.connect_delay_s)
        if not air.is_on(device):
            # BlueZ gives up on a silent peer with this error (after its own timeout, shortened here).
            raise BleakDBusError("org.bluez.Error.Failed", ["le-connection-abort-by-local"])
        if air._take_connect_failure(device):
            raise BleakDBusError("org.bluez.Error.Failed", ["le-connection-abort-by-local"])
        if device.connected:
            # Printers take one central at a time; a second link would interleave two jobs' bytes.
            raise BleakDBusError("org.bluez.Error.InProgress", ["the printer is connected to another central"])
        self._loop = asyncio.get_running_loop()
        self._device = device
        self.services = self._build_services(device)
        self._notify_callbacks.clear()
        self._mtu_ready_at = time.monotonic() + air.mtu_exchange_s
        self._connected = True
        device.attach(self._on_device_notify, self._on_device_drop)

    def _build_services(self, device: VirtualPrinter) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        service = BleakGATTService(device, 0x000C, normalize_uuid_str(device.service_uuid))
        collection.add_service(service)
        write_uuid = normalize_uuid_str(device.write_uuid)
        notify_uuid = normalize_uuid_str(device.notify_uuid or device.write_uuid)
        if write_uuid == notify_uuid:
            char = BleakGATTCharacteristic(
                device, 0x000D, write_uuid, ["write-without-response", "write", "notify"],
                self._max_write_without_response, service,
            )  # fmt: skip
            collection.add_characteristic(char)
            collection.add_descriptor(BleakGATTDescriptor(device, 0x000F, CCCD_UUID, char))
            self._write_char = self._notify_char = char
        else:
            write_char = BleakGATTCharacteristic(
                device, 0x000D, write_uuid, ["write-without-response", "write"],
                self._max_write_without_response, service,
            )  # fmt: skip
            notify_char = BleakGATTCharacteristic(
                device, 0x0010, notify_uuid, ["notify"], self._max_write_without_response, service
            )
            collection.add_characteristic(write_char)
            collection.add_characteristic(notify_char)
            collection.add_descriptor(BleakGATTDescriptor(device, 0x0012, CCCD_UUID, notify_char))
            self._write_char, self._notify_char = write_char, notify_char
        return collection

    async def disconnect(self) -> None:
        if not self._connected:
            return
        self._connected = False
        self._notify_callbacks.clear()
        if self._device is not None:
            self._device.detach()
        await asyncio.sleep(0)
        self.services = None
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    def _on_device_drop(self) -> None:
        """The device went away (out of range, switched off): tell bleak's user, from the event loop."""
        if not self._connected:
            return
        self._connected = False
        self._notify_callbacks.clear()
        self.services = None
        callback = self._disconnected_callback
        if callback is not None and self._loop is not None:
            self._loop.call_soon(callback)

    def _on_device_notify(self, data: bytes) -> None:
        # Delivered from the event loop like a real notification, never inside the write that caused it;
        # call_soon keeps replies in order and ahead of a disconnect that follows them.
        if self._loop is None:
            return
        self._loop.call_soon(self._deliver, bytes(data))

    def _deliver(self, data: bytes) -> None:
        char = self._notify_char
        if char is None or not self._connected:
            return
        callback = self._notify_callbacks.get(char.handle)
        if callback is not None:
            callback(bytearray(data))

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Label printers pair without a PIN (Just Works); nothing to do."""

    async def unpair(self) -> None:
        """Nothing is stored, so nothing to forget."""

    # --- GATT I/O --------------------------------------------------------------------------------------------

    def _require_connection(self) -> VirtualPrinter:
        if not self._connected or self._device is None:
            raise BleakError("Not connected")
        return self._device

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        self._require_connection()
        raise BleakError(f"Characteristic {characteristic.uuid} does not support read (ATT error 0x02)")

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        self._require_connection()
        enabled = descriptor.characteristic_handle in self._notify_callbacks
        return bytearray(b"\x01\x00" if enabled else b"\x00\x00")

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool) -> None:
        device = self._require_connection()
        kind = "write" if response else "write-without-response"
        if kind not in characteristic.properties:
            raise BleakError(f"Characteristic {characteristic.uuid} does not support {kind} (ATT error 0x03)")
        # No size check here on purpose: bleak 3.1 has none (hbldh/bleak #737); the device counts and drops
        # an oversized write-without-response, as a real stack would lose it.
        device.receive(bytes(data), response)
        if response:
            await asyncio.sleep(self.air.ack_delay_s)
            if not self._connected:
                raise BleakError("Not connected: the link dropped before the write was acknowledged")
        else:
            await asyncio.sleep(0)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        self._require_connection()
        raise BleakError(f"Descriptor {descriptor.uuid} is not writable (ATT error 0x03)")

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        self._require_connection()
        if "notify" not in characteristic.properties:
            raise BleakError(f"Characteristic {characteristic.uuid} does not support notify")
        self._notify_callbacks[characteristic.handle] = callback

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._require_connection()
        self._notify_callbacks.pop(characteristic.handle, None)


__all__ = ["VirtualAir", "VirtualBleakClient", "VirtualBleakScanner", "default_air"]
