"""The BLE transport, driven through the real BleakScanner/BleakClient with the virtual bleak backend.

Everything here runs without Bluetooth: ``VirtualAir`` replaces bleak's platform layer only, so scanning,
connecting, MTU, writes, notifications and drops go through the same bleak code a real printer would.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDBusError, BleakError

from printers.errors import BluetoothUnavailable, ConnectFailed, LinkLost, PrinterNotFound, ReplyTimeout
from printers.models import (
    NIIMBOT_CHAR,
    NIIMBOT_SERVICE,
    PHOMEMO_NOTIFY,
    PHOMEMO_SERVICE,
    PHOMEMO_WRITE,
    get_model,
)
from printers.transports.ble import (
    GATT_PROFILES,
    BleLink,
    FoundPrinter,
    backoff_delays,
    connect_ble,
    rssi_bars,
    scan,
    unavailable_detail,
)
from printers.virtual.base import LinkLimits, VirtualPrinter
from printers.virtual.ble import VirtualAir

ROOT = Path(__file__).resolve().parents[2]
FAST_BACKOFF = 0.01


class EchoPrinter(VirtualPrinter):
    """Records every write and answers each with ``ack:`` + the bytes (one characteristic, like Niimbot)."""

    service_uuid = NIIMBOT_SERVICE
    write_uuid = NIIMBOT_CHAR
    notify_uuid = NIIMBOT_CHAR

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.received: list[bytes] = []

    def handle(self, data: bytes) -> None:
        self.received.append(data)
        self.reply(b"ack:" + data)


class SplitEchoPrinter(EchoPrinter):
    """Separate write and notify characteristics, like Phomemo."""

    service_uuid = PHOMEMO_SERVICE
    write_uuid = PHOMEMO_WRITE
    notify_uuid = PHOMEMO_NOTIFY


class StrangeGadget(EchoPrinter):
    """A BLE device that is no label printer (a fitness band next to the desk)."""

    service_uuid = "0000180d-0000-1000-8000-00805f9b34fb"


B1 = get_model("niimbot-b1")
M110 = get_model("phomemo-m110")


def make_air() -> tuple[VirtualAir, EchoPrinter, SplitEchoPrinter]:
    air = VirtualAir(advert_interval_s=0.02)
    niimbot = air.add(EchoPrinter(B1, address="AA:BB:CC:00:00:01", rssi=-52, limits=LinkLimits(max_write=182)))
    phomemo = air.add(SplitEchoPrinter(M110, address="AA:BB:CC:00:00:02", rssi=-75, limits=LinkLimits(max_write=120)))
    assert isinstance(niimbot, EchoPrinter) and isinstance(phomemo, SplitEchoPrinter)
    return air, niimbot, phomemo


async def connect(air: VirtualAir, device: VirtualPrinter, **kwargs: object) -> BleLink:
    kwargs.setdefault("backoff_s", FAST_BACKOFF)
    kwargs.setdefault("timeout", 2.0)
    return await connect_ble(device.address, device.model, backend=air, **kwargs)  # type: ignore[arg-type]


# --- scanning ---------------------------------------------------------------------------------------------


def test_scan_lists_the_printers_in_range_with_signal_and_model():
    """Broken, the Printers screen's scan list would be empty or mislabelled."""

    async def run() -> tuple[list[FoundPrinter], list[FoundPrinter]]:
        air, _, _ = make_air()
        air.add(StrangeGadget(B1, address="AA:BB:CC:00:00:09", name="HeartRate"))
        live: list[FoundPrinter] = []
        found = await scan(timeout=0.2, backend=air, on_found=live.append)
        return found, live

    found, live = asyncio.run(run())
    assert [(p.address, p.rssi, p.bars, p.models) for p in found] == [
        ("AA:BB:CC:00:00:01", -52, 4, ("niimbot-b1",)),
        ("AA:BB:CC:00:00:02", -75, 2, ("phomemo-m110",)),
    ]
    assert found[0].name.startswith("B1") and found[1].name.startswith("M110")
    assert found[0].device is not None  # connecting from the list needs no second scan
    # The live list heard each printer once, although each advertised ~10 times.
    assert sorted(p.address for p in live) == ["AA:BB:CC:00:00:01", "AA:BB:CC:00:00:02"]


def test_rssi_bars_thresholds():
    """The bars next to each printer are how a technician picks the one on their desk."""
    assert [rssi_bars(r) for r in (-40, -60, -61, -70, -80, -90, -91, -120)] == [4, 4, 3, 3, 2, 1, 0, 0]


def test_scanner_backend_honours_the_service_uuid_filter():
    """bleak's service_uuids filter must work on the virtual air, or filtered scans would list everything."""

    async def run() -> set[str]:
        air, _, _ = make_air()
        heard = await BleakScanner.discover(
            0.1, return_adv=True, service_uuids=[PHOMEMO_SERVICE], backend=air.scanner_backend()
        )
        return set(heard)

    assert asyncio.run(run()) == {"AA:BB:CC:00:00:02"}


def test_a_switched_off_printer_is_not_found_until_switched_on():
    """A printer that is off must not appear in the list (and must appear again once it is on)."""

    async def run() -> tuple[list[str], list[str]]:
        air, niimbot, _ = make_air()
        air.power_off(niimbot)
        off = [p.address for p in await scan(timeout=0.1, backend=air)]
        air.power_on(niimbot)
        on = [p.address for p in await scan(timeout=0.1, backend=air)]
        return off, on

    off, on = asyncio.run(run())
    assert off == ["AA:BB:CC:00:00:02"]
    assert on == ["AA:BB:CC:00:00:01", "AA:BB:CC:00:00:02"]


# --- connecting, MTU, writes and replies ------------------------------------------------------------------


def test_the_virtual_client_reports_20_bytes_until_the_mtu_exchange_finished():
    """The trap the transport must avoid: right after connect(), bleak says 20 bytes, as on real stacks."""

    async def run() -> tuple[int, int, int, int]:
        air, niimbot, _ = make_air()
        device = await BleakScanner.find_device_by_address(niimbot.address, timeout=1, backend=air.scanner_backend())
        assert device is not None
        async with BleakClient(device, backend=air.client_backend()) as client:
            char = client.services.get_characteristic(NIIMBOT_CHAR)
            assert char is not None
            early = char.max_write_without_response_size
            early_mtu = client.mtu_size
            deadline = time.monotonic() + 1
            while char.max_write_without_response_size == 20 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            return early, early_mtu, char.max_write_without_response_size, client.mtu_size

    assert asyncio.run(run()) == (20, 23, 182, 185)


def test_the_virtual_client_drops_like_a_real_one():
    """The virtual backend must fail the way bleak does, or the transport's drop handling is untested."""

    async def run() -> None:
        air, niimbot, _ = make_air()
        device = await BleakScanner.find_device_by_address(niimbot.address, timeout=1, backend=air.scanner_backend())
        assert device is not None
        dropped = asyncio.Event()
        client = BleakClient(device, disconnected_callback=lambda _c: dropped.set(), backend=air.client_backend())
        await client.connect()
        char = client.services.get_characteristic(NIIMBOT_CHAR)
        assert char is not None and {"write-without-response", "write", "notify"} <= set(char.properties)
        await client.write_gatt_char(char, b"ok", response=False)
        niimbot.drop_link()
        await asyncio.wait_for(dropped.wait(), 1.0)
        assert not client.is_connected
        with pytest.raises(BleakError):
            await client.write_gatt_char(char, b"late", response=False)
        assert niimbot.received == [b"ok"]
        await client.disconnect()  # harmless after the drop, as on BlueZ

    asyncio.run(run())


def test_a_printer_takes_one_connection_at_a_time():
    """Two desks (or two links) on one printer would interleave two labels' bytes: the second is refused."""

    async def run() -> str:
        air, niimbot, _ = make_air()
        async with await connect(air, niimbot):
            with pytest.raises(ConnectFailed) as info:
                await connect(air, niimbot, retries=0)
            return str(info.value)

    assert "connected to another central" in asyncio.run(run())


def test_connect_waits_for_the_mtu_then_writes_and_replies_flow():
    """Without the MTU wait every label would go out in 20-byte writes, nine times slower."""

    async def run() -> None:
        air, niimbot, phomemo = make_air()
        for device in (niimbot, phomemo):
            link = await connect(air, device)
            try:
                assert link.connected
                assert link.max_write == device.limits.max_write > 20
                await link.write(b"\x01" * link.max_write)
                assert await link.read(1.0) == b"ack:" + b"\x01" * link.max_write
                await link.write(b"status?", response=True)
                assert await link.read(1.0) == b"ack:status?"
                assert device.received == [b"\x01" * link.max_write, b"status?"]
                assert [(size, resp) for _, size, resp in device.writes] == [(link.max_write, False), (7, True)]
                assert device.oversized_writes == 0
            finally:
                await link.close()
            assert not link.connected and not device.connected

    asyncio.run(run())


def test_connect_from_a_scan_result_and_by_model_id():
    """Picking a printer from the scan list connects to that printer."""

    async def run() -> bytes:
        air, _, _ = make_air()
        found = await scan(timeout=0.1, backend=air)
        async with await connect_ble(found[0], "niimbot-b1", backend=air) as link:
            await link.write(b"hi")
            return await link.read(1.0)

    assert asyncio.run(run()) == b"ack:hi"


def test_read_times_out_when_the_printer_says_nothing():
    """A hung printer must surface as a timeout the job layer can report, not a frozen desk."""

    async def run() -> None:
        air, niimbot, _ = make_air()
        niimbot.faults.silent = True
        async with await connect(air, niimbot) as link:
            await link.write(b"status?")
            with pytest.raises(ReplyTimeout, match=r"did not answer within 0\.1 s"):
                await link.read(0.1)
            assert link.connected

    asyncio.run(run())


def test_an_oversized_write_without_response_is_refused_before_it_reaches_bleak():
    """bleak would send it and the stack would drop it silently: a label with a missing band."""

    async def run() -> None:
        air, niimbot, _ = make_air()
        async with await connect(air, niimbot) as link:
            with pytest.raises(ValueError, match=r"183 bytes is too large .* at most 182 bytes"):
                await link.write(b"\x00" * 183)
            with pytest.raises(ValueError, match="at most 512 bytes"):
                await link.write(b"\x00" * 513, response=True)
            assert niimbot.writes == [] and niimbot.oversized_writes == 0
            assert link.connected

    asyncio.run(run())


def test_discard_pending_drops_stale_replies():
    """A late answer from a failed job must not be read as the answer to the next job's first question."""

    async def run() -> None:
        air, niimbot, _ = make_air()
        async with await connect(air, niimbot) as link:
            await link.write(b"old")
            await link.write(b"older")
            # The virtual backend delivers a notification from the loop before the write that caused it
            # returns, so both stale acks are queued now.
            assert niimbot.received == [b"old", b"older"]
            link.discard_pending()
            await link.write(b"new")
            assert await link.read(1.0) == b"ack:new"

    asyncio.run(run())


# --- retries and failures ---------------------------------------------------------------------------------


def test_connect_retries_with_backoff_until_it_succeeds():
    """Flaky radios fail the first connect often; the desk retries instead of giving up."""

    async def run() -> tuple[list[tuple[int, int, str | None]], int, float]:
        air, niimbot, _ = make_air()
        air.fail_connects(niimbot, 2)
        attempts: list[tuple[int, int, str | None]] = []
        started = time.monotonic()
        link = await connect(air, niimbot, retries=3, backoff_s=0.05, on_attempt=lambda *a: attempts.append(a))
        elapsed = time.monotonic() - started
        async with link:
            await link.write(b"x")
            assert await link.read(1.0) == b"ack:x"
        return attempts, air.connect_attempts[niimbot.address.lower()], elapsed

    attempts, tried, elapsed = asyncio.run(run())
    assert [(n, total) for n, total, _ in attempts] == [(1, 4), (2, 4), (3, 4)]
    assert attempts[0][2] is None and "le-connection-abort-by-local" in (attempts[1][2] or "")
    assert tried == 3
    assert elapsed >= 0.05 + 0.1  # waited 0.05 s, then 0.1 s, between the attempts


def test_backoff_doubles():
    assert backoff_delays(3) == [0.5, 1.0, 2.0]
    assert backoff_delays(0) == []


def test_connect_gives_up_after_the_retries_with_the_last_reason():
    """The technician sees why the printer would not connect, after a bounded number of tries."""

    async def run() -> tuple[ConnectFailed, int]:
        air, niimbot, _ = make_air()
        air.fail_connects(niimbot, 5)
        with pytest.raises(ConnectFailed) as info:
            await connect(air, niimbot, retries=2)
        return info.value, air.connect_attempts[niimbot.address.lower()]

    err, tried = asyncio.run(run())
    assert tried == 3
    assert "after 3 attempts" in str(err) and "le-connection-abort-by-local" in str(err)
    assert err.hint


def test_an_unknown_address_is_printer_not_found():
    """A wrong or absent printer says "not found", quickly, with what to do."""

    async def run() -> PrinterNotFound:
        air, _, _ = make_air()
        with pytest.raises(PrinterNotFound) as info:
            await connect_ble("AA:BB:CC:99:99:99", B1, backend=air, timeout=0.2)
        return info.value

    err = asyncio.run(run())
    assert "AA:BB:CC:99:99:99 was not found" in str(err) and "Switch the printer on" in str(err)


def test_the_wrong_model_for_the_device_fails_without_retrying():
    """A Phomemo chosen for a Niimbot lacks the service: retrying cannot help, so say so at once."""

    async def run() -> tuple[ConnectFailed, int, bool]:
        air, niimbot, _ = make_air()
        with pytest.raises(ConnectFailed) as info:
            await connect_ble(niimbot.address, M110, backend=air, backoff_s=FAST_BACKOFF)
        return info.value, air.connect_attempts[niimbot.address.lower()], niimbot.connected

    err, tried, still_connected = asyncio.run(run())
    assert "does not offer the Phomemo M110's Bluetooth service" in str(err)
    assert tried == 1 and not still_connected


# --- drops and reconnects ---------------------------------------------------------------------------------


def test_a_drop_mid_job_fails_the_pending_read_and_later_writes_then_reconnect_works():
    """Out of range mid-label: the job fails with "disconnected" (not a hang), and a retry reconnects."""

    async def run() -> None:
        air, niimbot, _ = make_air()
        link = await connect(air, niimbot)
        pending = asyncio.create_task(link.read(5.0))
        await asyncio.sleep(0)
        niimbot.drop_link()
        with pytest.raises(LinkLost):
            await asyncio.wait_for(pending, 1.0)
        assert not link.connected
        with pytest.raises(LinkLost):
            await link.write(b"more")
        with pytest.raises(LinkLost):
            await link.read(0.1)

        await link.reconnect()
        assert link.connected and link.max_write == 182
        await link.write(b"again")
        assert await link.read(1.0) == b"ack:again"
        await link.close()
        await link.close()  # idempotent
        assert not niimbot.connected

    asyncio.run(run())


def test_a_drop_during_writes_raises_link_lost_from_write():
    """The printer vanishing between two writes must stop the job at the next write."""

    async def run() -> None:
        air, niimbot, _ = make_air()
        async with await connect(air, niimbot) as link:
            niimbot.faults.disconnect_after_writes = 2
            await link.write(b"1")
            await link.write(b"2")
            await link.write(b"3")  # the device drops the link on receiving this one
            with pytest.raises(LinkLost):
                await link.write(b"4")
            assert niimbot.received == [b"1", b"2"]

    asyncio.run(run())


def test_switching_the_printer_off_drops_the_link_and_close_is_safe_afterwards():
    """Switched off mid-use: reads fail with LinkLost, close() does not raise, reconnect fails cleanly."""

    async def run() -> None:
        air, niimbot, _ = make_air()
        link = await connect(air, niimbot, retries=1)
        air.power_off(niimbot)
        with pytest.raises(LinkLost):
            await link.read(1.0)
        await link.close()
        with pytest.raises(ConnectFailed):
            await link.reconnect()
        air.power_on(niimbot)
        await link.reconnect()
        assert link.connected
        await link.close()

    asyncio.run(run())


def test_a_write_with_response_interrupted_by_a_drop_is_link_lost():
    """An acknowledged write whose ack never comes (link gone) is a lost link, not a bleak traceback."""

    async def run() -> None:
        air, niimbot, _ = make_air()
        async with await connect(air, niimbot) as link:
            niimbot.faults.disconnect_after_writes = 0
            with pytest.raises(LinkLost):
                await link.write(b"page", response=True)

    asyncio.run(run())


# --- no Bluetooth here ------------------------------------------------------------------------------------


def test_the_system_backend_on_a_machine_without_bluetooth_is_bluetooth_unavailable():
    """On CI and most servers: one clear sentence, not a FileNotFoundError traceback from D-Bus."""

    async def run() -> list[FoundPrinter]:
        return await scan(timeout=1)

    try:
        found = asyncio.run(run())
    except BluetoothUnavailable as err:
        assert str(err).startswith("Bluetooth is not available on this machine.")
        assert err.__cause__ is None and err.__suppress_context__
        assert "Traceback" not in str(err)
    else:
        pytest.skip(f"this machine has a working Bluetooth stack (the scan found {len(found)} printers)")


def test_connecting_with_the_system_backend_without_bluetooth_is_bluetooth_unavailable():
    """Printing on a desk with no Bluetooth names the real problem, not "printer not found"."""

    async def run() -> None:
        await connect_ble("AA:BB:CC:00:00:01", B1, timeout=1)

    try:
        asyncio.run(run())
    except BluetoothUnavailable as err:
        assert "Bluetooth is not available on this machine." in str(err)
    except PrinterNotFound:
        pytest.skip("this machine has a working Bluetooth stack")
    else:
        pytest.fail("connected to a printer that does not exist")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (FileNotFoundError(2, "No such file or directory"), "no system D-Bus socket"),
        (BleakError("No Bluetooth adapters found."), "No Bluetooth adapters found."),
        (BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", []), "BlueZ (bluetoothd) is not running"),
        (ModuleNotFoundError("No module named 'winrt'"), "no working backend"),
        (PermissionError(13, "Permission denied"), "permission denied"),
        (BleakError("Not connected"), None),
        (ValueError("unrelated"), None),
    ],
)
def test_unavailable_detail_recognises_a_missing_stack(exc, expected):
    detail = unavailable_detail(exc)
    if expected is None:
        assert detail is None
    else:
        assert detail is not None and expected in detail


def test_os_errors_from_a_custom_backend_are_not_hidden_as_no_bluetooth():
    """A bug in a custom backend must stay a bug, not read as "no Bluetooth here"."""
    assert unavailable_detail(FileNotFoundError("x"), platform_backend=False) is None


def test_every_ble_family_has_a_gatt_profile():
    from printers.models import MODELS

    ble_families = {m.family for m in MODELS.values() if m.transport == "ble"}
    assert ble_families <= set(GATT_PROFILES)


def test_bleak_retry_connector_is_not_required():
    """We retry ourselves; the package (and its Linux D-Bus dependencies) must not be needed."""
    code = (
        "import sys; sys.modules['bleak_retry_connector'] = None\n"
        "import printers.transports.ble, printers.virtual.ble\n"
        "print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "ok", result.stderr
    assert "bleak-retry-connector" not in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
