"""The Reservations screen (F7) and the Devices board (F8), driven with keys.

Most flows run on an offline desk whose replica holds a day of bookings (tests/tui_bookings.py) with the
desk's clock frozen at Mon 23 Nov 2026 11:34 at the venue: the timeline and its days, booking a free slot
with the form (attendee found by name), a clash with the nearest free slot offered and taken, the
approval inbox, check-in / complete / cancel, what staff and technicians may not do, live changes from
other desks, and the Devices board. The last tests run the real thing: a server on loopback, bookings
confirmed, refused and approved by it, and a device's status history read from it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from textual.content import Content
from textual.widgets import Input, OptionList

from focusdesk.domain.reservations import local_datetime, parse_time
from focusdesk.domain.timeutil import to_iso
from focusdesk.tui.dialogs.booking_form import BookingFormDialog
from focusdesk.tui.dialogs.confirm import ConfirmDialog
from focusdesk.tui.dialogs.device_status import DeviceStatusDialog
from focusdesk.tui.dialogs.reason import ReasonDialog
from focusdesk.tui.dialogs.status_history import StatusHistoryDialog
from focusdesk.tui.screens.devices import DevicesScreen
from focusdesk.tui.screens.reservations import ReservationsCommands, ReservationsScreen
from tests.tui_bookings import TZ, bookings_state
from tests.tui_offline import attendee_records, offline_context
from tests.tui_support import make_tui_world, shown, until

NOW = 1_795_430_040.0  # Mon 23 Nov 2026 11:34 at the venue (Europe/Berlin)
SIZE = (120, 40)
DAY = local_datetime(NOW, TZ).date()


class Clock:
    """The desk's wall clock, moved by the test."""

    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def at(hhmm: str, day=DAY) -> float:
    return parse_time(f"{day.isoformat()}T{hhmm}", TZ, "at")


def seeded_app(tmp_path, role: str = "organizer"):
    from focusdesk.tui.app import FocusDeskApp

    context = offline_context(tmp_path)
    station = context.desk.station
    clock = Clock(NOW)
    station._wall = station.clock._wall = clock
    station.set_account({"id": 12, "email": f"{role}@demo.focusdesk.test", "grants": [{"role": role, "event_id": 1}]})
    station.apply_snapshot("offline-epoch", 1, bookings_state(NOW))
    app = FocusDeskApp(context)
    app.clock = clock  # type: ignore[attr-defined]
    return app


def queued(app) -> list[tuple[str, dict]]:
    rows = app.desk.station.db.conn.execute("SELECT type, args FROM outbox ORDER BY cmd_seq").fetchall()
    return [(kind, json.loads(args)) for kind, args in rows]


def toasts(app) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


def footer_keys(app) -> set[str]:
    return {b.binding.action for b in app.active_bindings.values() if b.enabled and b.binding.show}


async def open_bookings(pilot, app) -> ReservationsScreen:
    await pilot.press("f7")
    screen = await until(pilot, lambda: isinstance(app.screen, ReservationsScreen) and app.screen, what="F7")
    await until(pilot, lambda: screen.timeline.resources, what="the resources")
    return screen


async def goto(pilot, screen: ReservationsScreen, name: str, hhmm: str) -> None:
    """Move the timeline's cursor with the arrow keys to ``name``'s row and the slot holding ``hhmm``."""
    timeline = screen.timeline
    names = [r.name for r in timeline.resources]
    rows = names.index(name) - names.index(timeline.cursor_resource.name)
    await pilot.press(*(["down"] * rows if rows > 0 else ["up"] * -rows))
    slots = timeline.scale.slot_of(at(hhmm, screen.day)) - timeline.scale.slot_of(timeline.cursor_slot[0])
    await pilot.press(*(["right"] * slots if slots > 0 else ["left"] * -slots))
    wanted = at(hhmm, screen.day)
    assert timeline.cursor_resource.name == name and timeline.cursor_slot[0] <= wanted < timeline.cursor_slot[1]


def plain(title) -> str:
    """A border title as read on screen (it is kept as markup)."""
    return Content.from_markup(str(title)).plain


def title(screen: ReservationsScreen) -> str:
    return plain(screen.timeline.border_title)


# -- the timeline ------------------------------------------------------------------------------------


def test_the_day_opens_on_now_and_brackets_move_between_days(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_bookings(pilot, app)
            timeline = screen.timeline
            assert "Mon 23 Nov 2026 · today · 9 booked · 2 awaiting approval" in title(screen)
            assert [r.name for r in timeline.resources][:2] == ["Board room", "Camera 1"]
            assert timeline.cursor_slot[0] == at("11:30")  # the cursor starts where now is
            assert "Board room — Mon 23 Nov 11:30–12:00  free" in screen.details
            assert "needs approval" in screen.details
            assert "▼11:34" in shown(timeline)
            await pilot.press("right_square_bracket")
            await until(pilot, lambda: "Tue 24 Nov 2026 · 0 booked" in title(screen), what="the next day")
            assert "today" not in title(screen) and "▼" not in shown(timeline)  # no now-line on another day
            assert timeline.cursor_slot[0] == at("11:30", DAY + timedelta(days=1))  # same time of day
            await pilot.press("left_square_bracket", "left_square_bracket")
            await until(pilot, lambda: "Sun 22 Nov 2026" in title(screen), what="the day before")
            await pilot.press("t")
            await until(pilot, lambda: "Mon 23 Nov 2026 · today" in title(screen), what="today again")

    asyncio.run(go())


def test_the_panel_says_what_is_under_the_cursor(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_bookings(pilot, app)
            await goto(pilot, screen, "Studio A", "11:00")
            details = screen.details
            assert "José Müller — Studio A, Mon 23 Nov 11:00–12:30  checked in" in details
            assert "“interview recording” · checked in 10:58 · booked by Desk 1" in details
            assert "o complete" in details
            await goto(pilot, screen, "Board room", "10:00")
            assert "Globex team" in screen.details and "awaiting approval" in screen.details
            assert "a approve · r reject · c cancel" in screen.details
            await goto(pilot, screen, "Studio A", "07:00")
            assert "closed" in screen.details and "bookable 08:00–20:00" in screen.details
            await pilot.press("e")  # the resource's bookings as a calendar file
            await until(pilot, lambda: "bookings written to" in toasts(app), what="the export")
            calendar = (app.context.directory / "bookings-studio-a.ics").read_text(encoding="utf-8")
            assert calendar.startswith("BEGIN:VCALENDAR") and "José Müller" in calendar

    asyncio.run(go())


def test_a_free_slot_is_booked_for_an_attendee_found_by_name_and_shows_tentative(tmp_path):
    person = attendee_records(300)[2]  # Anna Becker

    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_bookings(pilot, app)
            await goto(pilot, screen, "Quiet room", "14:00")
            await pilot.press("n")
            form = await until(pilot, lambda: isinstance(app.screen, BookingFormDialog) and app.screen, what="form")
            assert form.typed().resource_id == "res-quiet"
            assert (form.typed().start, form.typed().end) == ("14:00", "15:00")  # an hour from the slot
            await until(pilot, lambda: "looks free" in form.check_line, what="the live check")
            await pilot.press(*"Anna Bec")
            people = form.query_one("#booking-form-people", OptionList)
            await until(pilot, lambda: people.option_count > 0, what="attendees found by name")
            await pilot.press("down", "enter")  # the first one found
            assert form.linked is not None and form.linked.name == person["name"]
            assert form.query_one("#booking-form-holder", Input).value == person["name"]
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.screen is screen, what="the form to close")
            ((kind, args),) = queued(app)
            wanted = args["reservation"]
            assert kind == "reservation_create" and wanted["resource_id"] == "res-quiet"
            assert wanted["holder_name"] == person["name"] and wanted["attendee_id"] == person["id"]
            assert (wanted["start"], wanted["end"]) == (to_iso(at("14:00")), to_iso(at("15:00")))
            assert "tentative until the server confirms" in toasts(app)
            booking = screen.timeline.cursor_reservation
            assert booking is not None and booking.status == "tentative"
            assert "tentative — waiting for the server" in screen.details
            assert "~ Ann…" in shown(screen.timeline)  # an hour is six columns here

    asyncio.run(go())


def test_the_form_names_each_problem_and_keeps_what_was_typed(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_bookings(pilot, app)
            await goto(pilot, screen, "Quiet room", "16:00")
            await pilot.press("enter")  # Enter on a free slot books it too
            form = await until(pilot, lambda: isinstance(app.screen, BookingFormDialog) and app.screen, what="form")
            start = form.query_one("#booking-form-start", Input)
            start.value = "25:99"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: form.problems_shown, what="the problems")
            assert form.problems_shown == {"start": "From must be a time like 10:30 (or 2026-11-24 10:30)"}
            start.value = "16:00"
            form.query_one("#booking-form-end", Input).value = "+3"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "holder" in form.problems_shown, what="the station's refusal")
            assert form.problems_shown == {
                "holder": "For must say who the booking is for",
                "end": "To a booking lasts at least 5 minutes",
            }
            assert start.value == "16:00" and app.screen is form and queued(app) == []

    asyncio.run(go())


def test_a_clash_names_the_booking_and_the_nearest_free_slot_can_be_taken(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_bookings(pilot, app)
            await goto(pilot, screen, "Studio A", "14:00")  # Zoë Ångström's
            await pilot.press("n")  # n books even on a booking: the form says why it cannot be there
            form = await until(pilot, lambda: isinstance(app.screen, BookingFormDialog) and app.screen, what="form")
            await until(pilot, lambda: "booked" in form.check_line, what="the clash")
            assert "Studio A is booked Mon 23 Nov 14:00–15:00 by Zoë Ångström" in form.check_line
            assert "with 10 min between bookings" in form.check_line
            assert "nearest free slot Mon 23 Nov 15:10–16:10" in form.check_line
            await pilot.press(*"Lena Weber")
            await pilot.press("ctrl+s")  # refused with the same words, nothing lost
            await until(pilot, lambda: form.message, what="the refusal")
            assert "nearest free slot Mon 23 Nov 15:10–16:10" in form.message and queued(app) == []
            assert "Use 15:10–16:10" in str(form.query_one("#booking-form-use").label)
            await pilot.press("ctrl+f")
            await until(pilot, lambda: "looks free" in form.check_line, what="the free slot taken")
            assert (form.typed().start, form.typed().end) == ("15:10", "16:10")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.screen is screen, what="the form to close")
            ((_, args),) = queued(app)
            assert args["reservation"]["start"] == to_iso(at("15:10"))

    asyncio.run(go())


# -- deciding ---------------------------------------------------------------------------------------


def test_the_inbox_lists_pending_bookings_oldest_first_and_a_approves_r_rejects(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_bookings(pilot, app)
            await pilot.press("tab")
            inbox = screen.inbox
            await until(pilot, lambda: screen.inbox_open and inbox.has_focus, what="the inbox")
            assert [b.holder_name for b in inbox.bookings] == ["Globex team", "김민준"]  # asked 15 and 2 min ago
            assert "Waiting for approval (2)" in plain(inbox.border_title)
            assert "asked by Desk 3" in shown(inbox)
            # The timeline follows the highlighted request: the panel describes it.
            assert screen.timeline.cursor_reservation.id == "bk-globex"
            await pilot.press("a")
            assert queued(app) == [("reservation_approve", {"event_id": 1, "reservation_id": "bk-globex"})]
            await until(pilot, lambda: [b.id for b in inbox.bookings] == ["bk-minjun"], what="one left")
            await until(pilot, lambda: screen.timeline.cursor_reservation.id == "bk-minjun", what="following")
            assert "김민준" in screen.details
            await pilot.press("r")
            dialog = await until(pilot, lambda: isinstance(app.screen, ReasonDialog) and app.screen, what="why?")
            assert dialog.question == "Reject 김민준 — Board room, Mon 23 Nov 16:00–17:00?"
            await pilot.press(*"room kept for a talk", "enter")
            await until(pilot, lambda: len(queued(app)) == 2, what="the rejection")
            assert queued(app)[-1] == (
                "reservation_reject",
                {"event_id": 1, "reservation_id": "bk-minjun", "reason": "room kept for a talk"},
            )
            await until(pilot, lambda: not inbox.bookings, what="an empty inbox")
            assert "Nothing waiting for approval." in shown(inbox)
            await pilot.press("tab")
            await until(pilot, lambda: not screen.inbox_open and screen.timeline.has_focus, what="inbox closed")

    asyncio.run(go())


def test_check_in_complete_and_cancel_which_asks_first(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_bookings(pilot, app)
            await goto(pilot, screen, "Studio A", "14:00")
            await pilot.press("i")  # 11:34: too early for a 14:00 booking
            await until(pilot, lambda: "check-in for Zoë Ångström's booking opens at 13:45" in toasts(app), what="no")
            assert queued(app) == []
            app.clock.at = at("13:50")
            await pilot.press("i")
            await until(pilot, lambda: "checked in" in screen.details, what="checked in")
            assert queued(app) == [("reservation_checkin", {"event_id": 1, "reservation_id": "bk-zoe"})]
            assert "sending…" in screen.details and "✓ Zoë" in shown(screen.timeline)
            await pilot.press("o")
            await until(pilot, lambda: "completed" in screen.details, what="completed")
            assert queued(app)[-1][0] == "reservation_complete"
            await goto(pilot, screen, "Quiet room", "12:00")  # Annika Berg
            await pilot.press("c")
            confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen, what="asks")
            assert confirm.question == "Cancel Annika Berg's booking?"
            await pilot.press("n")  # keep it
            await until(pilot, lambda: app.screen is screen, what="kept")
            assert len(queued(app)) == 2
            await pilot.press("c", "y")
            await until(pilot, lambda: screen.timeline.cursor_reservation is None, what="the slot free again")
            assert queued(app)[-1] == ("reservation_cancel", {"event_id": 1, "reservation_id": "bk-annika"})

    asyncio.run(go())


def test_staff_book_but_do_not_approve_and_technicians_only_look(tmp_path):
    async def go():
        app = seeded_app(tmp_path / "staff", "staff")
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_bookings(pilot, app)
            keys = footer_keys(app)
            assert "approve" not in keys and {"new", "check_in", "inbox"} <= keys
            await goto(pilot, screen, "Board room", "10:00")
            assert "c cancel" in screen.details and "approve" not in screen.details
            await pilot.press("a")
            await until(pilot, lambda: "Only organizers approve or reject bookings." in toasts(app), what="refusal")
            await pilot.press("r")
            assert not isinstance(app.screen, ReasonDialog) and queued(app) == []
            offered = [name for name, _, _ in ReservationsCommands(screen).commands()]
            assert "Reservations: book" in offered and "Reservations: approve" not in offered  # nor in the palette

        app = seeded_app(tmp_path / "tech", "technician")
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_bookings(pilot, app)
            assert not {"new", "check_in", "approve"} & footer_keys(app)
            await pilot.press("n")
            await until(pilot, lambda: "may not book" in toasts(app), what="refusal")
            assert not isinstance(app.screen, BookingFormDialog)
            assert "n or Enter books it" not in screen.details

    asyncio.run(go())


def test_a_booking_changed_on_another_desk_shows_without_a_key(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_bookings(pilot, app)
            state = bookings_state(NOW)
            approved = {**next(r for r in state["reservations"] if r["id"] == "bk-globex"), "status": "approved"}
            approved["rev"] = 4
            app.desk.station.apply_changes([(2, "reservation.updated", {"reservation": approved})])
            await until(pilot, lambda: "1 awaiting approval" in title(screen), what="the live change")
            assert [b.id for b in screen.inbox.bookings] == ["bk-minjun"]

    asyncio.run(go())


# -- devices -----------------------------------------------------------------------------------------


async def open_devices(pilot, app) -> DevicesScreen:
    await pilot.press("f8")
    screen = await until(pilot, lambda: isinstance(app.screen, DevicesScreen) and app.screen, what="F8")
    await until(pilot, lambda: screen.device_ids, what="the devices")
    return screen


def test_the_devices_board_puts_problems_first_and_says_who_has_each(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_devices(pilot, app)
            assert screen.device_ids == ["dev-laptop-3", "dev-projector-2", "dev-podcast", "dev-camera-1"]
            board = shown(screen.table)
            assert "Devices (4) · 1 offline · 1 maintenance · 1 in use" in plain(screen.table.border_title)
            laptop = next(line for line in board.split("\n") if "Laptop loaner 3" in line)
            assert "✕ offline" in laptop and "battery dead" in laptop and "staff@demo" in laptop
            assert "11:09" in laptop  # set 25 minutes ago
            podcast = next(line for line in board.split("\n") if "Podcast kit" in line)
            assert "✓ Speaker podcast until 13:00" in podcast
            camera = next(line for line in board.split("\n") if "Camera 1" in line)
            assert "next 15:00 Keynote recording" in camera
            # The panel says the selected device in full: cells of a narrow board are cut.
            assert "Laptop loaner 3 — ✕ offline since 11:09 · set by staff@demo.focusdesk.test" in screen.details
            assert "“battery dead”" in screen.details and "No bookings today." in screen.details
            await pilot.press("down", "down", "down")
            await until(pilot, lambda: screen.details.startswith("Camera 1"), what="the panel to follow")
            assert "Today: 15:00–17:00 Keynote recording" in screen.details
            # Another desk (or the device itself) reports the camera offline: the board follows, problems first.
            camera = {**next(r for r in bookings_state(NOW)["resources"] if r["id"] == "dev-camera-1")}
            camera.update(device_status="offline", status_note="no signal", rev=5)
            app.desk.station.apply_changes([(2, "resource.updated", {"resource": camera})])
            await until(pilot, lambda: screen.device_ids[:2] == ["dev-camera-1", "dev-laptop-3"], what="re-sorted")
            assert "2 offline" in plain(screen.table.border_title) and "no signal" in screen.details

    asyncio.run(go())


def test_s_sets_a_devices_status_with_a_note_and_h_needs_the_server(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_devices(pilot, app)
            await pilot.press("down")  # Projector 2, in maintenance
            assert screen.selected.name == "Projector 2"
            await pilot.press("s")
            dialog = await until(pilot, lambda: isinstance(app.screen, DeviceStatusDialog) and app.screen, what="s")
            assert dialog.chosen == "maintenance"  # starts on the device's status
            await pilot.press("up", "up", "up", "up", "enter")  # past available, in use and offline to online
            assert dialog.chosen == "online"
            note = dialog.query_one("#device-status-note", Input)
            assert note.has_focus and note.value == "lamp replaced, testing"
            note.value = "fixed"
            await pilot.press("enter")
            await until(pilot, lambda: app.screen is screen, what="the dialog to close")
            assert queued(app) == [
                (
                    "device_status",
                    {"event_id": 1, "resource_id": "dev-projector-2", "status": "online", "note": "fixed"},
                )
            ]
            await until(pilot, lambda: screen.device_ids[1] != "dev-projector-2", what="no longer a problem")
            projector = next(line for line in shown(screen.table).split("\n") if "Projector 2" in line)
            assert "● online · sending…" in projector and "fixed" in projector
            assert screen.selected.name == "Projector 2"  # the selection follows the device
            await pilot.press("h")
            history = await until(pilot, lambda: isinstance(app.screen, StatusHistoryDialog) and app.screen, what="h")
            await until(pilot, lambda: history.error, what="the answer")
            assert "needs the server" in history.body
            await pilot.press("escape")

    asyncio.run(go())


def test_technicians_may_set_device_status(tmp_path):
    async def go():
        app = seeded_app(tmp_path, "technician")
        async with app.run_test(size=SIZE) as pilot:
            await open_devices(pilot, app)
            assert "set_status" in footer_keys(app)
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, DeviceStatusDialog), what="the dialog")

    asyncio.run(go())


# -- the real thing -----------------------------------------------------------------------------------


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def test_bookings_made_approved_and_checked_in_through_the_server(tmp_path, server_database):
    """The admin's desk books tomorrow 10:00 in a free slot, is told of a clash with the server's booking
    and takes the nearest free slot, approves a request made on the REST API, and checks in to a booking
    that starts in five minutes; the server confirms each. Then a device's status is set and its history read."""
    world = make_tui_world(tmp_path, server_database)
    api, event = world.api, world.event_id

    def add(**fields) -> dict:
        made = api.post(f"/api/v1/events/{event}/resources", json=fields)
        assert made.status_code == 201, made.text
        return made.json()

    studio = add(kind="room", name="Studio", capacity=8)
    lab = add(kind="device", name="VR rig", needs_approval=True)
    now = datetime.now(UTC).replace(second=0, microsecond=0).timestamp()
    tomorrow = local_datetime(now, TZ).date() + timedelta(days=1)
    taken = api.post(
        f"/api/v1/events/{event}/reservations",
        json={"resource_id": studio["id"], "holder_name": "Server Sam", "start": f"{tomorrow}T14:00",
              "end": f"{tomorrow}T15:00"},
    )  # fmt: skip
    asked = api.post(
        f"/api/v1/events/{event}/reservations",
        json={"resource_id": lab["id"], "holder_name": "Vera Request", "start": f"{tomorrow}T09:00",
              "end": f"{tomorrow}T10:00"},
    )  # fmt: skip
    soon = api.post(
        f"/api/v1/events/{event}/reservations",
        json={"resource_id": studio["id"], "holder_name": "Nina Now", "start": _iso(now + 300),
              "end": _iso(now + 1800)},
    )  # fmt: skip
    assert taken.status_code == asked.status_code == soon.status_code == 201, (taken.text, asked.text, soon.text)
    request_id = asked.json()["reservations"][0]["id"]
    soon_id = soon.json()["reservations"][0]["id"]

    async def go():
        app = world.app()
        async with app.run_test(size=SIZE) as pilot:
            book = app.desk.station.reservations
            await until(pilot, lambda: len(book.resources()) == 2, timeout=15, what="the replica to fill")
            screen = await open_bookings(pilot, app)
            await pilot.press("right_square_bracket")
            await until(pilot, lambda: screen.day == tomorrow, what="tomorrow")
            await until(pilot, lambda: len(screen.timeline.bookings(studio["id"])) == 1, what="Server Sam")

            # A free slot: booked, tentative, then confirmed by the server.
            await goto(pilot, screen, "Studio", "10:00")
            await pilot.press("n")
            form = await until(pilot, lambda: isinstance(app.screen, BookingFormDialog) and app.screen, what="form")
            await pilot.press(*"Walk-in Wanda", "ctrl+s")
            await until(pilot, lambda: app.screen is screen, what="the form to close")

            def wanda():
                return next((r for r in book.day(tomorrow) if r.holder_name == "Walk-in Wanda"), None)

            await until(pilot, lambda: wanda() and wanda().status == "approved", timeout=15, what="the server's yes")
            await until(pilot, lambda: "Walk-in Wanda" in screen.details and "approved" in screen.details,
                        what="the panel to show the server's word")  # fmt: skip

            # The server's booking at 14:00: the form names it and the nearest free slot, which is taken.
            await goto(pilot, screen, "Studio", "14:00")
            await pilot.press("n")
            form = await until(pilot, lambda: isinstance(app.screen, BookingFormDialog) and app.screen, what="form")
            await until(pilot, lambda: "Server Sam" in form.check_line, what="the clash")
            assert "nearest free slot" in form.check_line
            await pilot.press(*"Clash Carla", "ctrl+f", "ctrl+s")
            await until(pilot, lambda: app.screen is screen, what="booked in the free slot")

            def carla():
                return next((r for r in book.list() if r.holder_name == "Clash Carla"), None)

            await until(pilot, lambda: carla() and carla().status == "approved", timeout=15, what="confirmed")
            assert carla().start == at("15:00", tomorrow)

            # The request from the REST API waits in the inbox; a approves it, the server agrees.
            await pilot.press("tab")
            await until(pilot, lambda: [b.id for b in screen.inbox.bookings] == [request_id], what="the request")
            await pilot.press("a")
            await until(pilot, lambda: book.get(request_id).status == "approved" and not book.get(request_id).pending,
                        timeout=15, what="approved by the server")  # fmt: skip
            await pilot.press("tab")

            # Nina's booking starts in five minutes: i checks her in.
            screen.show_booking(book.get(soon_id))
            await until(pilot, lambda: screen.timeline.cursor_reservation is not None, what="Nina's booking")
            await pilot.press("i")
            await until(pilot, lambda: book.get(soon_id).status == "checked_in" and not book.get(soon_id).pending,
                        timeout=15, what="checked in on the server")  # fmt: skip
            assert "checked in" in screen.details

            # The device board: set the VR rig to maintenance; the server keeps the history.
            devices = await open_devices(pilot, app)
            await pilot.press("s")
            dialog = await until(pilot, lambda: isinstance(app.screen, DeviceStatusDialog) and app.screen, what="s")
            await pilot.press("down")
            assert dialog.chosen == "maintenance"  # the one after available
            await pilot.press("enter", *"lens cracked", "enter")
            await until(pilot, lambda: app.screen is devices, what="the dialog to close")
            await until(pilot, lambda: book.resource(lab["id"]).device_status == "maintenance"
                        and not book.resource(lab["id"]).pending, timeout=15, what="the server's word")  # fmt: skip
            await pilot.press("h")
            history = await until(pilot, lambda: isinstance(app.screen, StatusHistoryDialog) and app.screen, what="h")
            await until(pilot, lambda: history.entries is not None or history.error, timeout=15, what="the history")
            assert history.error is None
            assert history.entries[0].status == "maintenance" and history.entries[0].note == "lens cracked"
            assert "lens cracked" in history.body

    try:
        asyncio.run(go())
    finally:
        world.close()
