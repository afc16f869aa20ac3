"""The Printers screen driven like a technician would, against virtual printers reached through the real
Bluetooth and driver code: scan, pair another printer (remembered across a desk restart), status, a test
print that comes out of the virtual device, a failed badge retried after the fault is fixed, discarding
with confirmation, a machine without Bluetooth — and the half-block preview's arithmetic."""

from __future__ import annotations

import asyncio

import pytest
from textual.command import CommandPalette
from textual.widgets import OptionList, Select

from focusdesk.tui.dialogs.confirm import ConfirmDialog
from focusdesk.tui.dialogs.pair_printer import PairPrinterDialog
from focusdesk.tui.screens import printers as printers_screen
from focusdesk.tui.screens.printers import PrintersScreen
from focusdesk.tui.widgets.badge_preview import SAMPLE, BadgePreview, bitmap_to_halfblocks, reading_orientation
from focusdesk.tui.widgets.print_queue import PrintQueueList
from focusdesk.tui.widgets.printer_list import BARS, PrinterList
from printers.badge import render_badge
from printers.errors import PrinterState
from printers.models import get_model
from printers.raster import Bitmap, pack_bits
from tests.tui_support import PRINTER_MODELS, make_tui_world, shown, until


@pytest.fixture(autouse=True)
def short_scans(monkeypatch):
    """The virtual printers advertise at once: a half-second scan hears them all (a desk listens 5 s)."""
    monkeypatch.setattr(printers_screen, "SCAN_TIMEOUT_S", 0.5)


async def open_printers(pilot, app) -> PrintersScreen:
    await pilot.press("f2")
    screen = await until(pilot, lambda: isinstance(app.screen, PrintersScreen) and app.screen, what="Printers")
    await until(pilot, lambda: not screen.scanning and screen.query_one(PrinterList).found, what="the scan")
    return screen


def test_scan_pair_another_printer_status_and_test_print(tmp_path, server_database):
    world = make_tui_world(tmp_path, server_database)
    m110 = world.printers.device("phomemo-m110")

    async def go():
        app = world.app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_printers(pilot, app)
            printers = screen.query_one(PrinterList)
            listing = shown(printers)
            for device in world.printers.devices:  # niimbot-b1, phomemo-m110, niimbot-d110 with their bars
                row = next((line for line in listing.splitlines() if device.address in line), None)
                assert row is not None, f"{device.address} is not listed:\n{listing}"
                assert device.name in row and device.model.name in row and f"{device.rssi} dBm" in row
                found = next(p for p in printers.found if p.address == device.address)
                assert found.bars > 0 and BARS in row  # four bar glyphs, the first `bars` lit
            assert sorted(p.models[0] for p in printers.found) == sorted(PRINTER_MODELS)
            b1_row = next(line for line in listing.splitlines() if "B1-" in line)
            assert "✓" in b1_row  # the desk's current printer is marked

            # Enter on the Phomemo row: the pairing dialog offers its label sizes; Enter on "Pair" keeps 50x30.
            while printers.highlighted_printer.address != m110.address:
                await pilot.press("down")
            await pilot.press("enter")
            dialog = await until(pilot, lambda: isinstance(app.screen, PairPrinterDialog) and app.screen, what="dialog")
            assert dialog.query_one("#pair-media", Select).value == "50x30"  # the M110's first label size
            await pilot.press("enter")
            await until(pilot, lambda: app.desk.printing.printer().model_id == "phomemo-m110", what="pairing")
            assert app.desk.printing.printer().media_id == "50x30"

            # The status check runs after pairing and shows the printer ready.
            panel = screen.query_one("#desk-printer")
            await until(pilot, lambda: "ready" in shown(panel), what="status ready")
            assert "Phomemo M110" in shown(panel) and "battery" in shown(panel)
            assert app.desk.printing.printer_status.state == PrinterState.READY
            assert "Phomemo M110" in screen.query_one(BadgePreview).border_title  # the preview follows the printer

            # A desk restart over the same station file still prints on the Phomemo.
            later = world.context(pair_printer=None)
            assert later.desk.printing.printer() == app.desk.printing.printer()
            later.desk.station.close()

            # Test print, from the command palette: it comes out of the virtual Phomemo, the queue says printed.
            await pilot.press("ctrl+p")
            await until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the command palette")
            await pilot.press(*"printers: test print")
            commands = app.screen.query_one(OptionList)
            await until(pilot, lambda: "Printers: test print" in shown(commands), what="the command")
            await pilot.press("enter")
            await until(pilot, lambda: m110.printed, what="the test label at the printer")
            queue = screen.query_one(PrintQueueList)
            await until(pilot, lambda: "printed" in shown(queue) and "Test label" in shown(queue), what="printed row")

    try:
        asyncio.run(go())
    finally:
        world.close()


def test_a_failed_job_shows_why_retries_from_the_screen_and_discard_asks_first(tmp_path, server_database):
    world = make_tui_world(tmp_path, server_database)
    b1 = world.printers.device("niimbot-b1")

    async def go():
        app = world.app()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_printers(pilot, app)
            queue = screen.query_one(PrintQueueList)
            assert not screen.query_one(BadgePreview).display  # 80 columns: the preview waits for "v"

            b1.faults.paper_out = True
            job = app.desk.printing.enqueue_test()
            await until(pilot, lambda: app.desk.printing.job(job).state == "failed", what="the job to fail")
            await until(pilot, lambda: "out of labels" in shown(queue), what="the reason in the queue")
            assert "failed" in shown(queue)

            b1.faults.paper_out = False
            queue.focus()
            queue.highlight_job(job)
            await pilot.press("r")
            await until(pilot, lambda: app.desk.printing.job(job).state == "printed", what="the retried job to print")
            assert len(b1.printed) == 1
            await until(pilot, lambda: "out of labels" not in shown(queue), what="the queue to repaint")

            # A second failure; discarding asks first, "No" keeps it, "Yes" drops it.
            b1.faults.cover_open = True
            failed = app.desk.printing.enqueue_test()
            await until(pilot, lambda: app.desk.printing.job(failed).state == "failed", what="the second failure")
            await until(pilot, lambda: failed in [j.id for j in queue.jobs], what="the new job listed")
            await pilot.press("home")  # the newest job is at the top
            assert queue.highlighted_job.id == failed and queue.highlighted_job.state == "failed"
            await pilot.press("d")
            dialog = await until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen, what="confirm")
            assert "Discard the test job" in shown(dialog.query_one("#confirm-question"))
            await pilot.press("n")
            await until(pilot, lambda: app.screen is screen, what="the dialog to close")
            assert app.desk.printing.job(failed) is not None
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="confirm again")
            await pilot.press("y")
            await until(pilot, lambda: app.desk.printing.job(failed) is None, what="the job to go")

            # The preview can be asked for on a narrow screen.
            await pilot.press("v")
            await until(pilot, lambda: screen.query_one(BadgePreview).display, what="the preview")

    try:
        asyncio.run(go())
    finally:
        world.close()


def test_no_bluetooth_is_a_sentence_and_a_network_printer_can_be_added(tmp_path, server_database):
    world = make_tui_world(tmp_path, server_database)

    async def go():
        app = world.app(pair_printer=None)
        app.context.ble_backend = None  # this machine's own Bluetooth stack: there is none here
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("f2")
            screen = await until(pilot, lambda: isinstance(app.screen, PrintersScreen) and app.screen, what="screen")
            status = screen.query_one("#scan-status")
            await until(pilot, lambda: screen.bluetooth_problem, what="the scan to give up")
            text = " ".join(shown(status).split())
            assert "Bluetooth is not available on this machine" in text and "press n" in text
            assert "No printer for this desk yet" in shown(screen.query_one("#desk-printer"))

            await pilot.press("n")
            dialog = await until(pilot, lambda: isinstance(app.screen, PairPrinterDialog) and app.screen, what="dialog")
            await pilot.press("enter")  # an empty address is refused with what to type
            assert "host name or IP address" in shown(dialog.query_one("#pair-error"))
            await pilot.press(*"127.0.0.1:9", "enter")
            await until(pilot, lambda: app.desk.printing.printer() is not None, what="the network printer")
            target = app.desk.printing.printer()
            assert target.model.transport == "tcp" and target.address == "127.0.0.1:9"
            # Nothing listens there: the status says so instead of crashing.
            panel = screen.query_one("#desk-printer")
            await until(pilot, lambda: "disconnected" in shown(panel), what="the status check")

    try:
        asyncio.run(go())
    finally:
        world.close()


def _bitmap(rows: list[str]) -> Bitmap:
    return Bitmap.from_rows(len(rows[0]), [pack_bits([c == "#" for c in row]) for row in rows])


def test_halfblocks_draw_two_dot_rows_per_line():
    pattern = _bitmap(["#..#", ".#.#", "##..", "...."])
    assert bitmap_to_halfblocks(pattern, 10, 10) == ["▀▄ █", "▀▀  "]
    odd = _bitmap(["#.", ".#", "##"])  # an odd last row: its bottom half is paper
    assert bitmap_to_halfblocks(odd, 2, 2) == ["▀▄", "▀▀"]


def test_halfblocks_downscale_by_a_whole_factor_to_fit():
    solid = _bitmap(["#" * 40] * 30)
    lines = bitmap_to_halfblocks(solid, 10, 4)  # needs factor 4 across, 4 down (30 rows → 8 → 4 lines)
    assert lines == ["█" * 10] * 4
    assert bitmap_to_halfblocks(solid, 0, 5) == []

    # A 2×2 block with one inked dot of four stays paper; three of four become ink.
    sparse = _bitmap(["#.#.", "....", "##..", "#..."])
    assert bitmap_to_halfblocks(sparse, 2, 1) == ["▄ "]

    b1 = get_model("niimbot-b1")
    badge = render_badge(SAMPLE, b1, b1.default_media())  # 384 × 240 dots
    lines = bitmap_to_halfblocks(badge, 60, 20)
    assert len(lines) <= 20 and all(len(line) <= 60 for line in lines)
    assert len({len(line) for line in lines}) == 1 and any("█" in line for line in lines)


def test_sideways_labels_are_turned_back_to_reading_orientation():
    d110 = get_model("niimbot-d110")
    media = d110.default_media()  # 15x50: runs sideways through the 96-dot head
    raster = render_badge(SAMPLE, d110, media)
    upright = reading_orientation(raster, d110, media)
    assert raster.width < raster.height and (upright.width, upright.height) == (raster.height, raster.width)
    # The renderer turned the design clockwise, so its left-hand column was printed first (row 0, read
    # from the bottom up): turned back, row 0 is the upright left column again.
    assert [upright.pixel(0, upright.height - 1 - x) for x in range(raster.width)] == [
        raster.pixel(x, 0) for x in range(raster.width)
    ]
    assert any(raster.pixel(x, y) for y in range(raster.height) for x in range(raster.width))
