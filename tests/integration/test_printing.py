"""End to end, as a desk prints: render a badge, run a print job through the real transport (bleak's
BleakScanner/BleakClient on the virtual backend, or a real TCP socket), let the virtual printer decode what
arrived — and check the label it would print is the rendered raster bit for bit, with a QR code an
independent decoder reads back to the attendee's secret."""

from __future__ import annotations

import asyncio
import secrets

import pytest
import zxingcpp

from printers.badge import BadgeContent
from printers.errors import PrinterState
from printers.jobs import JobState, PrintJob
from printers.models import MODELS
from printers.raster import Bitmap
from printers.transports.ble import scan
from printers.virtual.world import VirtualWorld

NAMES = [
    ("Ana Li", "Acme", "Speaker"),
    ("Maximiliana Wolfeschlegelsteinhausenbergerdorff", "Internationale Handelsgesellschaft mbH", "Attendee"),
    ("Zoë Ångström-Müller", "Société Générale", "Staff"),
    ("김민준", "삼성전자", "VIP"),
]


async def wait_printed(device, count: int, timeout: float = 5.0) -> None:
    """Families without a completion reply (ESC/POS, Phomemo) finish when the last byte is sent; over TCP the
    printer may still be reading it. Wait for the label to come out, with a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(device.printed) < count and loop.time() < deadline:
        await asyncio.sleep(0.01)


def decode_qr(bitmap: Bitmap) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(bitmap.to_image().convert("L"))]


async def print_all_names(world: VirtualWorld, model_id: str) -> list[tuple[str, str, Bitmap, Bitmap]]:
    session = world.session(model_id)
    device = world.device(model_id)
    results = []
    try:
        for name, company, ticket in NAMES:
            secret = secrets.token_urlsafe(16)
            job = PrintJob(BadgeContent(name=name, second_line=company, ribbon=ticket, qr=secret), label=name)
            printed_before = len(device.printed)
            outcome = await job.run(session)
            assert outcome.ok, f"{model_id} / {name}: {outcome.message}"
            await wait_printed(device, printed_before + 1)
            assert len(device.printed) == printed_before + 1, f"{model_id}: the printer decoded no label for {name}"
            results.append((name, secret, job.bitmap_for(session), device.printed[-1]))
    finally:
        await session.close()
    return results


@pytest.mark.slow
def test_every_model_prints_every_name_bit_for_bit_and_the_qr_scans():
    async def run():
        async with VirtualWorld() as world:
            per_model = await asyncio.gather(*(print_all_names(world, m) for m in MODELS))
            return {m: (r, world.device(m)) for m, r in zip(MODELS, per_model, strict=True)}

    results = asyncio.run(run())
    for model_id, (labels, device) in results.items():
        model = MODELS[model_id]
        assert len(labels) == len(NAMES)
        for name, secret, rendered, printed in labels:
            assert printed.difference(rendered) is None, f"{model_id} / {name}: {printed.difference(rendered)}"
            if model.qr:
                assert decode_qr(printed) == [secret], f"{model_id} / {name}: the printed QR does not scan"
            else:
                assert decode_qr(printed) == [], f"{model_id} has no room for a QR code and prints none"
        assert device.overruns == 0, f"{model_id}: the driver outran the printer's receive buffer"
        assert device.oversized_writes == 0, f"{model_id}: a write exceeded the negotiated MTU"


def test_scan_lists_the_virtual_printers_strongest_first_with_their_models():
    async def run():
        async with VirtualWorld() as world:
            return world, await scan(timeout=0.5, backend=world.ble_backend)

    world, found = asyncio.run(run())
    ble_models = {m.id for m in world.models if m.transport == "ble"}
    seen = {model for p in found for model in p.models}
    assert ble_models <= seen
    rssis = [p.rssi for p in found]
    assert rssis == sorted(rssis, reverse=True)
    assert all(0 <= p.bars <= 4 for p in found)


def _job(secret: str = "s3cret-badge-0001") -> PrintJob:
    return PrintJob(BadgeContent(name="Ana Li", second_line="Acme", ribbon="Speaker", qr=secret), label="Ana Li")


FAULTS = [
    # (fault attribute, value, the outcome code the desk shows)
    ("paper_out", True, PrinterState.NO_PAPER.value),
    ("cover_open", True, PrinterState.COVER_OPEN.value),
]


@pytest.mark.parametrize("model_id", ["niimbot-b1", "phomemo-m110", "brother-ql820nwb", "escpos-58"])
@pytest.mark.parametrize(("fault", "value", "code"), FAULTS)
def test_a_reported_fault_fails_the_job_clearly_and_the_retry_prints(model_id, fault, value, code):
    async def run():
        async with VirtualWorld([model_id]) as world:
            device = world.device(model_id)
            session = world.session(model_id)
            job = _job()
            setattr(device.faults, fault, value)
            failed = await job.run(session)
            printed_while_faulty = len(device.printed)
            setattr(device.faults, fault, False)
            retried = await job.retry(session)
            await wait_printed(device, 1)
            await session.close()
            return failed, printed_while_faulty, retried, device, job

    failed, printed_while_faulty, retried, device, job = asyncio.run(run())
    assert not failed.ok and failed.code == code, failed
    assert failed.message  # a sentence the desk can show
    assert printed_while_faulty == 0
    assert retried.ok and job.state is JobState.PRINTED and retried.attempt == 2
    assert device.printed[-1].difference(job.rendered) is None


# Over TCP a "write" the printer sees is one socket read, and the first few commands arrive as one.
DROPS = [("niimbot-b1", 3), ("phomemo-m110", 3), ("dymo-lt200b", 3), ("brother-ql820nwb", 1)]


@pytest.mark.parametrize(("model_id", "after_writes"), DROPS)
def test_a_printer_that_drops_mid_job_fails_it_as_disconnected_and_the_retry_reconnects(model_id, after_writes):
    async def run():
        async with VirtualWorld([model_id]) as world:
            device = world.device(model_id)
            session = world.session(model_id)
            job = _job()
            device.faults.disconnect_after_writes = after_writes
            failed = await job.run(session)
            printed_after_failure = len(device.printed)
            retried = await job.retry(session)
            await wait_printed(device, printed_after_failure + 1)
            await session.close()
            return failed, retried, device, job

    failed, retried, device, job = asyncio.run(run())
    assert not failed.ok and failed.code == "disconnected", failed
    assert retried.ok, retried
    assert device.printed[-1].difference(job.rendered) is None


def test_a_printer_switched_off_fails_the_job_and_prints_once_back_on():
    async def run():
        async with VirtualWorld(["niimbot-d110"], advert_interval_s=0.05) as world:
            device = world.device("niimbot-d110")
            session = world.session("niimbot-d110")
            job = _job()
            world.air.power_off(device)
            failed = await job.run(session)
            world.air.power_on(device)
            retried = await job.retry(session)
            await session.close()
            return failed, retried

    failed, retried = asyncio.run(run())
    assert not failed.ok and failed.code in ("not_found", "connect_failed"), failed
    assert "Switch" in failed.message or "range" in failed.message or "on" in failed.message
    assert retried.ok, retried


def test_slow_acknowledgements_still_print():
    async def run():
        async with VirtualWorld(["niimbot-b21"]) as world:
            device = world.device("niimbot-b21")
            device.faults.slow_ack_s = 0.3
            session = world.session("niimbot-b21")
            job = _job()
            outcome = await job.run(session)
            await session.close()
            return outcome, device, job

    outcome, device, job = asyncio.run(run())
    assert outcome.ok, outcome
    assert device.printed[-1].difference(job.rendered) is None


def test_status_of_an_unreachable_network_printer_says_disconnected():
    from printers.session import PrinterSession, PrinterTarget

    async def run():
        session = PrinterSession(PrinterTarget("brother-ql820nwb", "127.0.0.1:9"))
        try:
            return await session.status()
        finally:
            await session.close()

    status = asyncio.run(run())
    assert status.state is PrinterState.DISCONNECTED
    assert "127.0.0.1:9" in status.detail
