"""Label printers over Bluetooth LE, through bleak: scan for them, connect, and carry a driver's bytes.

Every entry point takes ``backend``: ``None`` is bleak's platform backend (BlueZ, CoreBluetooth, WinRT);
anything with ``scanner_backend()`` and ``client_backend()`` — a ``printers.virtual.ble.VirtualAir`` —
replaces bleak's platform layer while the real ``BleakScanner``/``BleakClient`` still run on top.

Failures of the platform stack when the machine simply has no Bluetooth (no D-Bus socket, no BlueZ, no
adapter, no permission, no backend for this OS) become ``BluetoothUnavailable`` with the detail, never a
traceback. ``bleak-retry-connector`` is deliberately not used: the retry with backoff below is all a label
printer needs and keeps the dependency list to bleak alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakBluetoothNotAvailableError, BleakDBusError, BleakDeviceNotFoundError, BleakError

from printers.errors import BluetoothUnavailable, ConnectFailed, LinkLost, PrinterNotFound, UnknownModel
from printers.link import Link, ReplyQueue
from printers.models import (
    DYMO_NOTIFY,
    DYMO_SERVICE,
    DYMO_WRITE,
    ESCPOS_NOTIFY,
    ESCPOS_SERVICE,
    ESCPOS_WRITE,
    NIIMBOT_CHAR,
    NIIMBOT_SERVICE,
    PHOMEMO_NOTIFY,
    PHOMEMO_SERVICE,
    PHOMEMO_WRITE,
    ModelSpec,
    get_model,
    models_for_advert,
)


class GattProfile(NamedTuple):
    """Where a family's bytes go: the service, the characteristic written to, the one that notifies.
    Niimbot uses one characteristic for both directions."""

    service: str
    write: str
    notify: str


GATT_PROFILES: dict[str, GattProfile] = {
    "niimbot": GattProfile(NIIMBOT_SERVICE, NIIMBOT_CHAR, NIIMBOT_CHAR),
    "phomemo": GattProfile(PHOMEMO_SERVICE, PHOMEMO_WRITE, PHOMEMO_NOTIFY),
    "dymo": GattProfile(DYMO_SERVICE, DYMO_WRITE, DYMO_NOTIFY),
    "escpos": GattProfile(ESCPOS_SERVICE, ESCPOS_WRITE, ESCPOS_NOTIFY),
}

DEFAULT_MAX_WRITE = 20  # ATT_MTU 23 − 3, what a link has before (or without) the MTU exchange
MAX_ACKNOWLEDGED_WRITE = 512  # the ATT limit on one attribute value (a long write with response)
MTU_WAIT_S = 2.0
MTU_POLL_S = 0.02

# Signal bars from RSSI (dBm), strongest first: -60 and better is "next to the desk", -90 and worse
# is at the edge of range where connects start failing.
RSSI_BARS: tuple[tuple[int, int], ...] = ((-60, 4), (-70, 3), (-80, 2), (-90, 1))


def rssi_bars(rssi: int) -> int:
    """0–4 signal bars for an RSSI reading (thresholds in ``RSSI_BARS``)."""
    for threshold, bars in RSSI_BARS:
        if rssi >= threshold:
            return bars
    return 0


class BleBackend(Protocol):
    """What ``backend=`` takes: a source of bleak backend classes (``printers.virtual.ble.VirtualAir``)."""

    def scanner_backend(self) -> type[BaseBleakScanner]: ...

    def client_backend(self) -> type[BaseBleakClient]: ...


def select_backend(name: str | None) -> BleBackend | None:
    """A backend by name, for settings and the command line: "system"/"bleak"/None → bleak's platform
    backend (None); "virtual" → the process-wide virtual air of the demo."""
    if name in (None, "", "system", "bleak"):
        return None
    if name == "virtual":
        from printers.virtual.ble import default_air

        return default_air()
    raise ValueError(f"Unknown Bluetooth backend {name!r}: use 'system' or 'virtual'.")


def _scanner_cls(backend: BleBackend | None) -> type[BaseBleakScanner] | None:
    return None if backend is None else backend.scanner_backend()


def _client_cls(backend: BleBackend | None) -> type[BaseBleakClient] | None:
    return None if backend is None else backend.client_backend()


# --- no Bluetooth on this machine -------------------------------------------------------------------------

_UNAVAILABLE_DBUS_ERRORS = {
    "org.freedesktop.DBus.Error.ServiceUnknown": "BlueZ (bluetoothd) is not running",
    "org.freedesktop.DBus.Error.AccessDenied": "the system refused access to BlueZ",
    "org.bluez.Error.NotReady": "the Bluetooth adapter is switched off",
}


def unavailable_detail(exc: BaseException, *, platform_backend: bool = True) -> str | None:
    """Why ``exc`` means "this machine has no usable Bluetooth", or None when it means something else.

    OS and import errors only count for bleak's platform backend (``platform_backend``): from a custom
    backend they are bugs, and hiding them behind "no Bluetooth" would mislead.
    """
    if isinstance(exc, BleakBluetoothNotAvailableError):
        return str(exc.args[0]) if exc.args else "Bluetooth is not available"
    if isinstance(exc, BleakDBusError) and exc.dbus_error in _UNAVAILABLE_DBUS_ERRORS:
        return f"{_UNAVAILABLE_DBUS_ERRORS[exc.dbus_error]} ({exc.dbus_error})"
    if isinstance(exc, BleakError):
        text = str(exc)
        if "No Bluetooth adapters" in text or "Unsupported platform" in text or "Unsupported backend" in text:
            return text
        return None
    if not platform_backend:
        return None
    if isinstance(exc, FileNotFoundError):
        return "no system D-Bus socket, so BlueZ cannot be reached"
    if isinstance(exc, ConnectionRefusedError):
        return "the system D-Bus refused the connection"
    if isinstance(exc, PermissionError):
        return f"permission denied talking to the Bluetooth stack: {exc}"
    if isinstance(exc, ImportError):
        return f"bleak has no working backend on this platform: {exc}"
    return None


@contextlib.contextmanager
def _bluetooth_errors(backend: BleBackend | None) -> Iterator[None]:
    """Turn "there is no Bluetooth here" failures into ``BluetoothUnavailable``; let the rest through."""
    try:
        yield
    except (BleakError, OSError, ImportError) as exc:
        detail = unavailable_detail(exc, platform_backend=backend is None)
        if detail is None:
            raise
        raise BluetoothUnavailable(detail) from None


# --- scanning ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoundPrinter:
    """A label printer heard during a scan. ``models`` are the model ids it could be (by advertised name,
    else by service). ``device`` is bleak's handle, so connecting needs no second scan."""

    address: str
    name: str
    rssi: int
    models: tuple[str, ...]
    device: BLEDevice | None = field(default=None, compare=False, repr=False)

    @property
    def bars(self) -> int:
        return rssi_bars(self.rssi)


def _found(device: BLEDevice, adv: AdvertisementData) -> FoundPrinter | None:
    name = adv.local_name or device.name or ""
    models = models_for_advert(name, adv.service_uuids)
    if not models:
        return None
    return FoundPrinter(device.address, name, adv.rssi, tuple(m.id for m in models), device)


async def scan(
    timeout: float = 5.0,
    backend: BleBackend | None = None,
    on_found: Callable[[FoundPrinter], None] | None = None,
) -> list[FoundPrinter]:
    """Listen for ``timeout`` seconds and return the label printers heard, strongest signal first.

    ``on_found`` is called once per printer, the first time it is heard (a live list while scanning).
    Raises ``BluetoothUnavailable`` when this machine has no usable Bluetooth.
    """
    announced: set[str] = set()

    def detected(device: BLEDevice, adv: AdvertisementData) -> None:
        if on_found is None or device.address in announced:
            return
        found = _found(device, adv)
        if found is not None:
            announced.add(device.address)
            on_found(found)

    with _bluetooth_errors(backend):
        # BleakScanner.discover(return_adv=True), spelled out to pass the live detection callback.
        async with BleakScanner(detected, backend=_scanner_cls(backend)) as scanner:
            await asyncio.sleep(timeout)
    heard = scanner.discovered_devices_and_advertisement_data
    printers = [p for device, adv in heard.values() if (p := _found(device, adv)) is not None]
    return sorted(printers, key=lambda p: (-p.rssi, p.name, p.address))


# --- connecting -------------------------------------------------------------------------------------------


def backoff_delays(retries: int, first_s: float = 0.5) -> list[float]:
    """The waits between connect attempts: first_s, 2·first_s, 4·first_s … (one per retry)."""
    return [first_s * 2**i for i in range(retries)]


AttemptCallback = Callable[[int, int, str | None], None]
"""``on_attempt(attempt, attempts_total, previous_failure)``: before each connect attempt (1-based)."""


async def connect_ble(
    address_or_found: str | FoundPrinter,
    model: ModelSpec | str,
    *,
    backend: BleBackend | None = None,
    retries: int = 3,
    timeout: float = 10.0,
    on_attempt: AttemptCallback | None = None,
    backoff_s: float = 0.5,
) -> BleLink:
    """Find the printer, connect (1 + ``retries`` attempts with exponential backoff), wait for the MTU
    exchange, and subscribe to its replies.

    ``timeout`` bounds the search for the printer and each connect attempt. Raises ``PrinterNotFound``
    when it was never heard, ``ConnectFailed`` with the last reason when every attempt failed,
    ``BluetoothUnavailable`` when this machine has no usable Bluetooth.
    """
    spec = get_model(model) if isinstance(model, str) else model
    link = BleLink(
        address_or_found,
        spec,
        backend=backend,
        retries=retries,
        timeout=timeout,
        on_attempt=on_attempt,
        backoff_s=backoff_s,
    )
    await link.open()
    return link


class BleLink(Link):
    """One GATT connection to a label printer: writes to the family's write characteristic, replies from
    its notifications, through a ``ReplyQueue`` so a reply that lands before ``read`` is not lost."""

    def __init__(
        self,
        address_or_found: str | FoundPrinter,
        model: ModelSpec,
        *,
        backend: BleBackend | None = None,
        retries: int = 3,
        timeout: float = 10.0,
        on_attempt: AttemptCallback | None = None,
        backoff_s: float = 0.5,
    ) -> None:
        profile = GATT_PROFILES.get(model.family)
        if model.transport != "ble" or profile is None:
            raise UnknownModel(f"{model.name} is not a Bluetooth LE printer.", "Connect it over the network instead.")
        if isinstance(address_or_found, FoundPrinter):
            self.address = address_or_found.address
            self._device: BLEDevice | None = address_or_found.device
            name = address_or_found.name
        else:
            self.address = address_or_found
            self._device = None
            name = ""
        self.model = model
        self.profile = profile
        self.description = f"{model.name} ({name or self.address})"
        self._backend = backend
        self._retries = max(0, retries)
        self._timeout = timeout
        self._on_attempt = on_attempt
        self._backoff_s = backoff_s
        self._client: BleakClient | None = None
        self._write_char: BleakGATTCharacteristic | None = None
        self._notify_char: BleakGATTCharacteristic | None = None
        self._replies = ReplyQueue()
        self._open = False
        self._notifying = False

    # --- Link ----------------------------------------------------------------------------------------------

    @property
    def max_write(self) -> int:
        char = self._write_char
        if char is None or not self._open:
            return DEFAULT_MAX_WRITE
        return char.max_write_without_response_size

    @property
    def connected(self) -> bool:
        return self._open and self._client is not None and self._client.is_connected

    async def write(self, data: bytes, *, response: bool = False) -> None:
        client, char = self._client, self._write_char
        if not self.connected or client is None or char is None:
            raise LinkLost(f"{self.description} is not connected.")
        limit = MAX_ACKNOWLEDGED_WRITE if response else self.max_write
        if len(data) > limit:
            # bleak sends it anyway (hbldh/bleak #737) and the stack drops or truncates it: refuse loudly.
            kind = "an acknowledged write" if response else "a write without response"
            raise ValueError(
                f"{len(data)} bytes is too large for {kind} to {self.description}: the link takes at most "
                f"{limit} bytes now. Split the data by link.max_write."
            )
        try:
            await client.write_gatt_char(char, data, response=response)
        except (BleakError, OSError, EOFError) as exc:
            self._lost()
            raise LinkLost(f"{self.description} disconnected during the job ({_reason(exc)}).") from exc

    async def read(self, timeout: float) -> bytes:
        if not self._open and self._replies.empty:
            raise LinkLost(f"{self.description} is not connected.")
        return await self._replies.get(timeout, self.description, LinkLost().message)

    def discard_pending(self) -> None:
        self._replies.discard()

    async def close(self) -> None:
        """Stop notifications and disconnect; safe to call twice and after the link dropped."""
        client, notify_char, notifying = self._client, self._notify_char, self._notifying
        was_open = self._open
        self._client, self._write_char, self._notify_char = None, None, None
        self._open = self._notifying = False
        if was_open:
            self._replies.mark_gone()  # a read waiting on this link learns it is gone
        if client is None:
            return
        if notifying and notify_char is not None and client.is_connected:
            with contextlib.suppress(BleakError, OSError, EOFError, TimeoutError):
                await client.stop_notify(notify_char)
        with contextlib.suppress(BleakError, OSError, EOFError, TimeoutError):
            await client.disconnect()

    # --- connecting ----------------------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, retrying with backoff. See ``connect_ble``."""
        with _bluetooth_errors(self._backend):
            await self._open_with_retries()

    async def reconnect(self) -> None:
        """Drop whatever is left of this connection and connect again (the job layer's retry)."""
        await self.close()
        await self.open()

    async def _find(self) -> BLEDevice:
        # bleak wants a BLEDevice: given a bare address it would scan implicitly, without our backend
        # choice and with its own 30 s timeout.
        if self._backend is None:
            device = await BleakScanner.find_device_by_address(self.address, timeout=self._timeout)
        else:
            device = await BleakScanner.find_device_by_address(
                self.address, timeout=self._timeout, backend=self._backend.scanner_backend()
            )
        if device is None:
            raise PrinterNotFound(
                f"{self.model.name} at {self.address} was not found.",
                "Switch the printer on, bring it within a few metres of the desk and scan again.",
            )
        return device

    async def _open_with_retries(self) -> None:
        self._replies = ReplyQueue()
        delays = backoff_delays(self._retries, self._backoff_s)
        attempts = len(delays) + 1
        reason: str | None = None
        for attempt in range(1, attempts + 1):
            if self._on_attempt is not None:
                self._on_attempt(attempt, attempts, reason)
            if self._device is None:
                self._device = await self._find()
            try:
                await self._connect_once(self._device)
                return
            except BleakDeviceNotFoundError as exc:
                # The stack forgot the device (it was switched off, or its cache expired): find it again.
                self._device = None
                reason = _reason(exc)
            except (BleakError, OSError, EOFError, TimeoutError) as exc:
                if unavailable_detail(exc, platform_backend=self._backend is None) is not None:
                    raise
                reason = _reason(exc)
            if attempt < attempts:
                await asyncio.sleep(delays[attempt - 1])
        raise ConnectFailed(
            f"Could not connect to {self.description} after {attempts} attempts (last error: {reason}).",
            "Switch the printer off and on, bring it closer to the desk and retry.",
        )

    async def _connect_once(self, device: BLEDevice) -> None:
        client = BleakClient(
            device,
            disconnected_callback=self._on_disconnected,
            timeout=self._timeout,
            backend=_client_cls(self._backend),
        )
        try:
            async with asyncio.timeout(self._timeout):
                await client.connect()
            write_char, notify_char = self._characteristics(client)
            await _wait_for_mtu(write_char, client)
            self._client, self._write_char, self._notify_char = client, write_char, notify_char
            self._open = True
            await client.start_notify(notify_char, self._on_notification)
            self._notifying = True
            if not client.is_connected:
                raise BleakError("the printer disconnected while the link was being set up")
        except BaseException:
            self._open = self._notifying = False
            self._client = None
            self._write_char = self._notify_char = None
            with contextlib.suppress(BleakError, OSError, EOFError, TimeoutError):
                await client.disconnect()
            raise

    def _characteristics(self, client: BleakClient) -> tuple[BleakGATTCharacteristic, BleakGATTCharacteristic]:
        service = client.services.get_service(self.profile.service)
        write_char = service.get_characteristic(self.profile.write) if service else None
        notify_char = service.get_characteristic(self.profile.notify) if service else None
        if write_char is None or notify_char is None:
            # Not a transient fault: retrying will not grow the missing service.
            raise _WrongDevice(
                f"{self.address} does not offer the {self.model.name}'s Bluetooth service.",
                "Check the printer model chosen for this desk, or scan again and pick the printer from the list.",
            )
        return write_char, notify_char

    def _on_notification(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        self._replies.push(data)

    def _on_disconnected(self, client: BleakClient) -> None:
        if client is not self._client:
            return  # a previous connection of this link, or one that failed while being set up
        self._lost()

    def _lost(self) -> None:
        if self._open:
            self._open = False
            self._replies.mark_gone()


class _WrongDevice(ConnectFailed):
    """The device connected but lacks the family's GATT service (raised through, never retried)."""


async def _wait_for_mtu(char: BleakGATTCharacteristic, client: BleakClient) -> None:
    """Wait until the MTU exchange lifts the write size above 20, or ``MTU_WAIT_S`` passed (old BlueZ
    < 5.62 always reports 20; the link then works with 20-byte writes)."""
    deadline = time.monotonic() + MTU_WAIT_S
    while char.max_write_without_response_size <= DEFAULT_MAX_WRITE and time.monotonic() < deadline:
        if not client.is_connected:
            raise BleakError("the printer disconnected during the MTU exchange")
        await asyncio.sleep(MTU_POLL_S)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = [
    "GATT_PROFILES",
    "RSSI_BARS",
    "BleBackend",
    "BleLink",
    "FoundPrinter",
    "GattProfile",
    "backoff_delays",
    "connect_ble",
    "rssi_bars",
    "scan",
    "select_backend",
    "unavailable_detail",
]
