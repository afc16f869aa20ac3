"""The Reservations screen's timeline widget on its own, in a tiny app (no desk, no server): the scale it
picks for the width, the cursor keys, which booking is under the cursor, what each row shows, and the
now-line — which moves when the clock crosses a column and costs no repaint otherwise."""

from __future__ import annotations

import asyncio
from datetime import date

from textual.app import App, ComposeResult

from focusdesk.domain.reservations import parse_time
from focusdesk.station.model import Reservation, Resource
from focusdesk.tui.widgets.timeline import Timeline
from focusdesk.tui.widgets.timeline_scale import choose_scale, day_window
from tests.tui_support import shown, until

TZ = "Europe/Berlin"
DAY = date(2026, 11, 23)


def at(hhmm: str, day: date = DAY) -> float:
    return parse_time(f"{day.isoformat()}T{hhmm}", TZ, "at")


def resource(id_: str, name: str, kind: str = "room", *, hours=(None, None), buffer: int = 0, status=None):
    return Resource(
        id=id_, event_id=1, kind=kind, name=name, capacity=10, buffer_min=buffer, open_from=hours[0],
        open_until=hours[1], needs_approval=False, release_after_min=15, device_status=status, status_note="",
        status_by=None, status_at=None, pending=False,
    )  # fmt: skip


def booking(id_: str, resource_id: str, holder: str, start: str, end: str, status: str = "approved"):
    return Reservation(
        id=id_, event_id=1, resource_id=resource_id, resource_name=resource_id, holder_name=holder,
        attendee_id=None, start=at(start), end=at(end), status=status, series_id=None, note="",
        created_by="Desk 1", station_id="desk-1", checked_in_at=None, reason="", tentative=status == "tentative",
        pending=status == "tentative",
    )  # fmt: skip


RESOURCES = [
    resource("studio", "Studio A", hours=("08:00", "20:00"), buffer=10),
    resource("quiet", "Quiet room"),
    resource("cam", "Camera 1", "device", status="offline"),
]
BOOKINGS = [
    booking("b-ana", "studio", "Ana Silva", "09:00", "10:30", "checked_in"),
    booking("b-ben", "studio", "Ben Ode", "14:00", "15:00", "pending"),
    booking("b-gone", "quiet", "Cancelled Carl", "09:00", "10:00", "cancelled"),
    booking("b-kim", "quiet", "김민준", "11:00", "12:00"),
    booking("b-new", "cam", "Tentative Tom", "13:00", "14:00", "tentative"),
]


class TimelineApp(App[None]):
    def __init__(self, bookings=BOOKINGS, resources=RESOURCES, now: float | None = None) -> None:
        super().__init__()
        self.data = (resources, bookings, now)
        self.moves = 0

    def compose(self) -> ComposeResult:
        yield Timeline(id="timeline")

    def on_mount(self) -> None:
        resources, bookings, now = self.data
        timeline = self.query_one(Timeline)
        timeline.show(DAY, TZ, resources, bookings, now)
        timeline.focus()

    def on_timeline_cursor_moved(self, _: Timeline.CursorMoved) -> None:
        self.moves += 1


def lines(timeline: Timeline) -> list[str]:
    return shown(timeline).split("\n")


def row_of(timeline: Timeline, name: str) -> str:
    """The line of ``name``'s row (its first line, when rows are two lines tall)."""
    return next(line for line in lines(timeline) if name in line[: timeline.name_w])


def test_the_scale_fits_the_width_with_15_or_30_minute_slots_and_scrolls_rather_than_crowd():
    start, end = at("07:00"), at("22:00")  # 15 hours
    wide = choose_scale(start, end, 150)
    assert (wide.slot_s, wide.cell_w, wide.width) == (900, 2, 120)  # 60 quarter hours, two characters each
    roomy = choose_scale(start, end, 100)
    assert (roomy.slot_s, roomy.cell_w, roomy.width) == (1800, 3, 90)
    narrow = choose_scale(start, end, 40)
    assert (narrow.slot_s, narrow.cell_w, narrow.width) == (900, 2, 120)  # wider than 40: it scrolls sideways
    assert narrow.slot_of(at("10:45")) == 15 and narrow.x_of(at("10:45")) == 30


def test_the_day_shows_the_bookable_hours_widened_to_every_booking():
    assert day_window(DAY, TZ, [RESOURCES[0]], []) == (at("08:00"), at("20:00"))
    assert day_window(DAY, TZ, RESOURCES, []) == (at("07:00"), at("22:00"))  # one resource bookable any time
    early = booking("b-early", "quiet", "Early Eve", "05:30", "06:15")
    late = booking("b-late", "quiet", "Late Lou", "22:00", "23:10")
    assert day_window(DAY, TZ, RESOURCES, [early, late]) == (at("05:00"), at("23:59") + 60)
    gone = booking("b-gone", "quiet", "Cancelled", "05:00", "06:00", "cancelled")
    assert day_window(DAY, TZ, RESOURCES, [gone])[0] == at("07:00")  # a cancelled booking holds nothing


def test_arrow_keys_move_the_cursor_by_slot_resource_and_hour():
    async def go():
        app = TimelineApp(now=at("09:40"))
        async with app.run_test(size=(120, 20)) as pilot:
            timeline = app.query_one(Timeline)
            assert timeline.scale.slot_s == 1800
            assert timeline.cursor_resource.name == "Studio A" and timeline.cursor_slot[0] == at("09:30")
            await pilot.press("right")
            assert timeline.cursor_slot == (at("10:00"), at("10:30"))
            await pilot.press("left", "left")
            assert timeline.cursor_slot[0] == at("09:00")
            await pilot.press("down")
            assert timeline.cursor_resource.name == "Quiet room" and timeline.cursor_slot[0] == at("09:00")
            await pilot.press("down", "down")  # the last row stays the last
            assert timeline.cursor_resource.name == "Camera 1"
            await pilot.press("up")
            assert timeline.cursor_resource.name == "Quiet room"
            await pilot.press("pagedown")
            assert timeline.cursor_slot[0] == at("10:00")
            await pilot.press("pageup", "pageup")
            assert timeline.cursor_slot[0] == at("08:00")
            await pilot.press("end")
            assert timeline.cursor_slot == (at("21:30"), at("22:00"))
            await pilot.press("home")
            assert timeline.cursor_slot[0] == at("07:00")
            await pilot.press("left")  # nothing before the first slot
            assert timeline.cursor_slot[0] == at("07:00")

    asyncio.run(go())


def test_the_booking_under_the_cursor_is_found_and_announced():
    async def go():
        app = TimelineApp(now=at("08:00"))
        async with app.run_test(size=(120, 20)) as pilot:
            timeline = app.query_one(Timeline)
            assert timeline.cursor_reservation is None  # 08:00 in Studio A is free
            before = app.moves
            await pilot.press("right", "right")  # 09:00
            assert timeline.cursor_reservation.id == "b-ana"
            await pilot.press("right", "right", "right")  # 10:30: Ana's booking has ended
            assert timeline.cursor_reservation is None
            await until(pilot, lambda: app.moves >= before + 5, what="a CursorMoved per move")
            await pilot.press("down", "left", "left", "left")  # Quiet room, 09:00: only a cancelled booking
            assert timeline.cursor_resource.id == "quiet" and timeline.cursor_reservation is None
            assert timeline.reservation_at("quiet", at("11:30")).holder_name == "김민준"
            assert timeline.reservation_at("studio", at("14:59")).id == "b-ben"
            assert timeline.reservation_at("studio", at("15:00")) is None  # the end is not in it
            timeline.move_to("cam", at("13:10"))
            assert timeline.cursor_reservation.id == "b-new" and timeline.cursor_slot[0] == at("13:00")

    asyncio.run(go())


def test_rows_show_holders_states_and_the_hours_a_resource_cannot_be_booked():
    async def go():
        app = TimelineApp(now=at("08:00"))
        async with app.run_test(size=(120, 20)) as pilot:
            timeline = app.query_one(Timeline)
            await until(pilot, lambda: timeline.row_h == 2, what="two-line rows (there is room)")
            text = lines(timeline)
            assert text[0].split()[:3] == ["Mon", "23", "Nov"]
            assert "07:00" in text[0] and "21:00" in text[0]
            studio = row_of(timeline, "Studio A")
            x = timeline.name_w
            # 30-minute slots of three characters from 07:00: 09:00 is column 12 of the time area.
            assert studio[x + 12 :].startswith("✓ Ana Si…░")  # nine columns: cut with an ellipsis
            assert studio[x : x + 6] == "╱" * 6  # 07:00–08:00: Studio A opens at 08:00
            assert studio[x + 10 : x + 12] == " ░"  # the ten minutes (one column) kept free before a booking
            assert "? Ben…" in studio  # pending: a question mark, not only a colour
            second = text[text.index(studio) + 1]
            assert second[x + 12 :].startswith("09:00–10…")  # the second line: its times
            assert "for 10" in second[:x]
            quiet = row_of(timeline, "Quiet room")
            assert "Cancelled" not in quiet and "김민준" in quiet
            assert "~ Ten…" in row_of(timeline, "Camera 1")  # tentative: a tilde
            assert row_of(timeline, "Camera 1").startswith("✕ ")  # an offline device is marked
            for strip in (timeline.render_line(y) for y in range(timeline.size.height)):
                assert strip.cell_length == timeline.scrollable_content_region.width  # wide names fit

    asyncio.run(go())


def test_the_now_line_moves_only_when_the_clock_crosses_a_column():
    async def go():
        app = TimelineApp(now=at("11:34"))
        async with app.run_test(size=(120, 20)) as pilot:
            timeline = app.query_one(Timeline)
            await pilot.pause(0.1)
            # 30-minute slots of three characters: ten minutes a column; 11:34 is column 27 from 07:00.
            assert timeline.scale.char_s == 600 and timeline.now_x == 27
            ruler = lines(timeline)[0]
            assert ruler[timeline.name_w + 27 :].startswith("▼11:34")
            assert row_of(timeline, "Camera 1")[timeline.name_w + 27] == "│"  # a free cell: the line itself
            assert row_of(timeline, "Quiet room")[timeline.name_w + 24 :].startswith("김민준")  # kept under it
            drawn = timeline.renders
            assert not timeline.set_now(at("11:39"))  # same column: nothing to repaint
            await pilot.pause(0.1)
            assert timeline.renders == drawn and timeline.now_x == 27
            assert timeline.set_now(at("11:41"))
            await pilot.pause(0.1)
            assert timeline.now_x == 28 and timeline.renders > drawn
            timeline.set_now(at("23:00"))
            assert timeline.now_x is None  # after the shown hours: no line
            await pilot.pause(0.1)
            assert "▼" not in lines(timeline)[0]

    asyncio.run(go())


def test_a_narrow_timeline_scrolls_sideways_to_keep_the_cursor_in_view():
    async def go():
        app = TimelineApp(now=at("08:00"))
        async with app.run_test(size=(60, 12)) as pilot:
            timeline = app.query_one(Timeline)
            assert timeline.scale.width > timeline.scrollable_content_region.width - timeline.name_w
            assert timeline.scroll_offset.x == 0
            await pilot.press("end")
            await until(pilot, lambda: timeline.scroll_offset.x > 0, what="scrolled to the evening")
            assert lines(timeline)[0].split()[-1].startswith("21")  # the ruler scrolled with it
            assert lines(timeline)[0].startswith(" Mon 23 Nov")  # the name column did not

    asyncio.run(go())
