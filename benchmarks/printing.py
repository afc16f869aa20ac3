#!/usr/bin/env python
"""Badge printing, per model: how long rendering and encoding take, how many bytes a badge is, and how close
the transfer through the virtual link comes to the floor the family's pacing sets.

Run from the repository root::

    .venv/bin/python benchmarks/printing.py --json            # figures per model, one JSON line last
    .venv/bin/python benchmarks/printing.py --json --models niimbot-b1,brother-ql820nwb

For every model, with its default label:

- ``render_ms``: median over ``--repeat`` renders of a realistic badge (a long name, a company, a ticket
  ribbon, a 22-character QR secret), a different name and secret each time; the first render (font discovery, caches) is reported apart as
  ``first_render_ms``.
- ``encode_ms``: median time for the driver to turn that raster into the writes it sends.
- ``bytes``: the bytes of those writes.
- ``transfer_s``: the writes sent through the real transport (bleak's BleakClient on the virtual backend,
  or a loopback TCP socket) at the family's pacing (``Pacer``), timed from the first write's start to the
  last write's return; ``floor_s`` is what the pacing allows at best ((writes − 1) × interval; 0 for TCP)
  and ``transfer_ratio`` their ratio (for TCP, where the floor is zero, the ratio is reported as null).
- ``print_s``: the whole job through the driver — commands and their replies, the bulk, and waiting for
  the printer to confirm — and ``identical``: whether the virtual printer decoded exactly the rendered
  raster.

It is a measurement, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from printers.badge import BadgeContent, render_badge  # noqa: E402
from printers.drivers import driver_for  # noqa: E402
from printers.jobs import PrintJob  # noqa: E402
from printers.link import Pacer  # noqa: E402
from printers.models import MODELS  # noqa: E402
from printers.virtual.world import VirtualWorld  # noqa: E402

BADGE = BadgeContent(
    name="Maximiliana Østergaard-Lindqvist",
    second_line="Internationale Veranstaltungstechnik GmbH",
    ribbon="Speaker",
    qr="q8Zk3vN1xYp0T7wLmR2sAe",
)


def median_ms(fn, repeat: int) -> float:
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def nth_badge(i: int) -> BadgeContent:
    """A different attendee each time, so no cache (QR matrix, text layout) flatters the figure."""
    return BadgeContent(
        name=f"{BADGE.name} {i}", second_line=BADGE.second_line, ribbon=BADGE.ribbon, qr=secrets.token_urlsafe(16)
    )


def measure_cpu(model_id: str, repeat: int) -> dict:
    model = MODELS[model_id]
    media = model.default_media()
    t0 = time.perf_counter()
    bitmap = render_badge(BADGE, model, media)
    first = (time.perf_counter() - t0) * 1000
    render_ms = median_ms(lambda i: render_badge(nth_badge(i), model, media), repeat)
    driver = driver_for(model)
    settings = driver_settings(model)
    max_write = 182 if model.transport == "ble" else 65536
    encode_ms = median_ms(lambda _i: driver.encode(bitmap, settings, max_write), repeat)
    return {
        "first_render_ms": round(first, 2),
        "render_ms": round(render_ms, 3),
        "encode_ms": round(encode_ms, 3),
        "render_encode_ms": round(render_ms + encode_ms, 3),
        "dots": f"{bitmap.width}x{bitmap.height}",
    }


def driver_settings(model):
    from printers.drivers.base import PrintSettings

    return PrintSettings(media=model.default_media())


async def wait_printed(device, count: int, timeout: float = 10.0) -> None:
    """Families with no completion reply are done once sent; the printer may still be reading."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(device.printed) < count and loop.time() < deadline:
        await asyncio.sleep(0.005)


async def measure_link(world: VirtualWorld, model_id: str) -> dict:
    model = MODELS[model_id]
    driver = driver_for(model)
    bitmap = render_badge(BADGE, model, model.default_media())
    target = world.target(model_id)
    link = await world.opener(target, lambda _p: None)
    try:
        writes = driver.encode(bitmap, driver_settings(model), link.max_write)
        pacer = Pacer(driver.pacing.interval_s)
        t0 = time.perf_counter()
        for w in writes:
            if driver.pacing.interval_s:
                await pacer.wait()
            await link.write(w.data, response=w.response)
        transfer = time.perf_counter() - t0
    finally:
        await link.close()
    floor = driver.pacing_floor_s(writes)
    device = world.device(model_id)
    await wait_printed(device, 1)  # the bare transfer is a label too
    printed_before = len(device.printed)

    job = PrintJob(bitmap)
    session = world.session(model_id)
    t0 = time.perf_counter()
    outcome = await job.run(session)
    print_s = time.perf_counter() - t0
    await session.close()
    await wait_printed(device, printed_before + 1)
    identical = outcome.ok and len(device.printed) > printed_before and device.printed[-1].difference(bitmap) is None
    return {
        "bytes": sum(len(w.data) for w in writes),
        "writes": len(writes),
        "transfer_s": round(transfer, 4),
        "floor_s": round(floor, 4),
        "transfer_ratio": round(transfer / floor, 3) if floor > 0 else None,
        "print_s": round(print_s, 3),
        "identical": identical,
        "outcome": outcome.code,
        "overruns": device.overruns,
    }


async def measure_links(model_ids: list[str]) -> dict:
    results = {}
    async with VirtualWorld(model_ids) as world:
        for model_id in model_ids:
            results[model_id] = await measure_link(world, model_id)
            print(f"  {model_id}: {results[model_id]}", file=sys.stderr)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON line last")
    parser.add_argument("--models", help="comma-separated model ids (default: all)")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    model_ids = args.models.split(",") if args.models else list(MODELS)
    figures = {}
    for model_id in model_ids:
        figures[model_id] = measure_cpu(model_id, args.repeat)
        print(f"  {model_id}: {figures[model_id]}", file=sys.stderr)
    for model_id, link in asyncio.run(measure_links(model_ids)).items():
        figures[model_id].update(link)
    worst_cpu = max(f["render_encode_ms"] for f in figures.values())
    ratios = [f["transfer_ratio"] for f in figures.values() if f["transfer_ratio"] is not None]
    summary = {
        "worst_render_encode_ms": worst_cpu,
        "worst_transfer_ratio": max(ratios) if ratios else None,
        "all_identical": all(f["identical"] for f in figures.values()),
    }
    if args.json:
        print(json.dumps({"models": figures, "summary": summary}))
    else:
        for model_id, f in figures.items():
            print(model_id, f)
        print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
