"""What each screen looks like, at 80×24 and 120×40, compared with the stored SVG snapshots
(pytest-textual-snapshot; `pytest tests/tui/test_snapshots.py --snapshot-update` after an intended change).

The desk is the offline one of tests/tui_offline.py — a loaded replica, no server, nothing running under it
— so every run draws the same screen."""

from __future__ import annotations

import time

import pytest
from textual.widgets import Input

from focusdesk.domain.reservations import local_datetime
from focusdesk.tui.app import FocusDeskApp
from focusdesk.tui.context import DeskContext
from focusdesk.tui.screens import printers as printers_screen
from tests.tui_bookings import TZ, bookings_state
from tests.tui_offline import offline_app, offline_config, rooms_notices_draws_state
from tests.tui_operations import FixedBoard, board_body, with_board

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.fixture(autouse=True)
def short_scans(monkeypatch):
    monkeypatch.setattr(printers_screen, "SCAN_TIMEOUT_S", 0.3)


@pytest.fixture(autouse=True)
def steady_cursor(monkeypatch):
    # A focused input's cursor blinks every 0.5 s: on a loaded machine the picture could catch it in
    # either phase. Held on, every run draws it the same (and as the stored snapshots show it).
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


async def settle(pilot, condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the screen did not settle"
        await pilot.pause(0.05)
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", SIZES)
def test_desk_with_search_results(snap_compare, tmp_path, size):
    app = offline_app(tmp_path)

    async def type_a_name(pilot):
        await pilot.press(*"ann")
        await settle(pilot, lambda: app.screen.results.highlighted_person is not None)

    assert snap_compare(app, terminal_size=size, run_before=type_a_name)


@pytest.mark.parametrize("size", SIZES)
def test_desk_after_a_check_in(snap_compare, tmp_path, size):
    # The banner and the panel show the check-in's time: a frozen desk clock keeps the picture the same.
    app = offline_app(tmp_path, wall=1_795_430_040.0)

    async def check_in(pilot):
        await pilot.press(*"QR00000000000000000007", "enter")
        await settle(pilot, lambda: app.desk.station.find_by_qr("QR00000000000000000007").checked_in)

    assert snap_compare(app, terminal_size=size, run_before=check_in)


@pytest.mark.parametrize("size", SIZES)
def test_printers_after_a_scan(snap_compare, tmp_path, size):
    app = offline_app(tmp_path)

    async def scan(pilot):
        await pilot.press("f2")
        await settle(pilot, lambda: not app.screen.scanning and len(app.screen.query_one("PrinterList").options) >= 3)

    assert snap_compare(app, terminal_size=size, run_before=scan)


@pytest.mark.parametrize("size", SIZES)
def test_sync_offline(snap_compare, tmp_path, size):
    app = offline_app(tmp_path)

    async def open_sync(pilot):
        await pilot.press("f3")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=open_sync)


def organizer_desk(tmp_path, wall: float) -> FocusDeskApp:
    """The offline desk, frozen at ``wall``, signed in as an organizer, with notices and draws."""
    app = offline_app(tmp_path, wall=wall)
    station = app.desk.station
    station.set_account(
        {"id": 12, "email": "organizer@demo.focusdesk.test", "grants": [{"role": "organizer", "event_id": 1}]}
    )
    station.apply_snapshot("offline-epoch", 1, rooms_notices_draws_state(wall))
    return app


@pytest.mark.parametrize("size", SIZES)
def test_notices_feed(snap_compare, tmp_path, size):
    app = organizer_desk(tmp_path, 1_795_430_040.0)

    async def open_notices(pilot):
        await pilot.press("f5")
        await settle(pilot, lambda: app.screen.query("#notices-feed") and app.screen.feed.notices)
        app.clear_notifications()  # the high-priority toast from start-up would cover the feed
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=open_notices)


@pytest.mark.parametrize("size", SIZES)
def test_drawing_with_history(snap_compare, tmp_path, size):
    app = organizer_desk(tmp_path, 1_795_430_040.0)

    async def open_drawing(pilot):
        await pilot.press("f6")
        await settle(pilot, lambda: app.screen.query("#draw-history") and app.screen.history.draws)
        app.clear_notifications()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=open_drawing)


@pytest.mark.parametrize("size", SIZES)
def test_rooms_screen(snap_compare, tmp_path, size):
    # Seven rooms, one in each look: running, pomodoro work (full), idle, paused, break, last minute, time up.
    app = organizer_desk(tmp_path, 1_795_430_040.0)

    async def open_rooms(pilot):
        await pilot.press("f4")
        await settle(pilot, lambda: app.screen.query("#rooms-grid") and len(app.screen.grid.cards) == 7)
        app.clear_notifications()  # the high-priority toast from start-up would cover the cards
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=open_rooms)


@pytest.mark.parametrize("size", SIZES)
def test_room_focus_view(snap_compare, tmp_path, size):
    app = organizer_desk(tmp_path, 1_795_430_040.0)

    async def focus_hall_b(pilot):
        await pilot.press("f4")
        await settle(pilot, lambda: app.screen.query("#rooms-grid") and len(app.screen.grid.cards) == 7)
        await pilot.press("l", "enter")  # Hall B: second pomodoro work phase, full, with a message
        await settle(pilot, lambda: getattr(app.screen, "room", None) is not None)
        app.clear_notifications()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=focus_hall_b)


@pytest.mark.parametrize("size", SIZES)
def test_room_display_time_is_up(snap_compare, tmp_path, size):
    # ``focusdesk room "Workshop 2"``: only that room, its countdown run out.
    app = FocusDeskApp(organizer_desk(tmp_path, 1_795_430_040.0).context, room="Workshop 2")

    async def wait(pilot):
        await settle(pilot, lambda: getattr(app.screen, "room", None) is not None)
        app.clear_notifications()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=wait)


def booking_desk(tmp_path, wall: float) -> FocusDeskApp:
    """The organizer's desk with a day of bookings, and one made here the server has not answered yet."""
    app = organizer_desk(tmp_path, wall)
    station = app.desk.station
    station.apply_snapshot("offline-epoch", 1, bookings_state(wall))
    day = local_datetime(wall, TZ).date()
    station.reservations.create("res-quiet", "Lena Weber", f"{day}T15:00", f"{day}T16:00")
    return app


@pytest.mark.parametrize("size", SIZES)
def test_reservations_timeline(snap_compare, tmp_path, size):
    # Mon 23 Nov 11:34: the now-line, each state of a booking, closed hours, buffers, a tentative booking.
    app = booking_desk(tmp_path, 1_795_430_040.0)

    async def open_reservations(pilot):
        await pilot.press("f7")
        await settle(pilot, lambda: app.screen.query("#reservations-timeline") and app.screen.timeline.resources)
        await pilot.press("down", "down", "down", "down", "down", "down")  # Studio A: José Müller, checked in
        app.clear_notifications()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=open_reservations)


@pytest.mark.parametrize("size", SIZES)
def test_reservations_inbox(snap_compare, tmp_path, size):
    app = booking_desk(tmp_path, 1_795_430_040.0)

    async def open_inbox(pilot):
        await pilot.press("f7")
        await settle(pilot, lambda: app.screen.query("#reservations-timeline") and app.screen.timeline.resources)
        await pilot.press("tab")
        await settle(pilot, lambda: app.screen.inbox.has_focus)
        app.clear_notifications()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=open_inbox)


@pytest.mark.parametrize("size", SIZES)
def test_devices_board(snap_compare, tmp_path, size):
    app = booking_desk(tmp_path, 1_795_430_040.0)

    async def open_devices(pilot):
        await pilot.press("f8")
        await settle(pilot, lambda: app.screen.query("#devices-table") and app.screen.device_ids)
        app.clear_notifications()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=open_devices)


@pytest.mark.parametrize("size", SIZES)
def test_operations_board(snap_compare, tmp_path, size):
    # Six desks from tests/tui_operations.py, one in each look (problems first, this desk marked), the check-in
    # rate and the backend's health — a fixed board, read at the desk's frozen clock.
    wall = 1_795_430_040.0
    app = organizer_desk(tmp_path, wall)

    async def open_operations(pilot):
        with_board(app, FixedBoard(board_body(wall)))
        await pilot.press("f9")
        await settle(pilot, lambda: app.screen.query("#ops-board") and app.screen.desk_ids)
        app.clear_notifications()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=open_operations)


@pytest.mark.parametrize("size", SIZES)
def test_sign_in(snap_compare, tmp_path, size):
    app = FocusDeskApp(DeskContext(offline_config(), directory=tmp_path, use_keyring=False))

    async def wait(pilot):
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=wait)
