"""Organizers keep the rooms and devices to lend from the TUI: ``+`` adds one (on the Reservations screen,
F7, and on the Devices board, F8, where the kind starts as device), ``E`` changes the one under the
timeline's cursor, ``X`` deletes it after asking — refused, with the reason, while it has bookings to come.

The offline desk of tests/tui_bookings.py (clock frozen at Mon 23 Nov 2026 11:34 at the venue) shows what
is queued and what staff may not do; the last test runs the real thing: an organizer's desk on a server on
loopback adds a room that shows at once as "sending…" and is then confirmed, gets a field error under the
field with nothing lost, renames it, deletes it, and is refused deleting a room with upcoming bookings.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

from textual.widgets import Checkbox, Input, Select

from focusdesk.domain.reservations import local_datetime
from focusdesk.station.desk import DeskConfig
from focusdesk.tui.app import FocusDeskApp
from focusdesk.tui.dialogs.confirm import ConfirmDialog
from focusdesk.tui.dialogs.resource_form import ResourceFormDialog
from focusdesk.tui.screens.devices import DevicesCommands, DevicesScreen
from focusdesk.tui.screens.reservations import ReservationsCommands, ReservationsScreen
from tests.support import Api, add_user
from tests.tui.test_reservations import SIZE, TZ, goto, open_bookings, open_devices, queued, seeded_app, toasts
from tests.tui_offline import offline_context
from tests.tui_support import make_tui_world, shown, until


def form_of(app) -> ResourceFormDialog | None:
    return app.screen if isinstance(app.screen, ResourceFormDialog) else None


def field(form: ResourceFormDialog, name: str) -> Input:
    return form.query_one(f"#resource-form-{name}", Input)


# -- on an offline desk --------------------------------------------------------------------------------


def test_plus_adds_a_room_that_shows_at_once_and_a_field_error_keeps_what_was_typed(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_bookings(pilot, app)
            await pilot.press("plus")
            form = await until(pilot, lambda: form_of(app), what="the form")
            assert form.query_one("#resource-form-kind", Select).value == "room"
            assert field(form, "release_after_min").value == "15" and field(form, "buffer_min").value == "0"
            await pilot.press(*"Recording booth")  # the name has the focus
            field(form, "capacity").value = "4"
            field(form, "buffer_min").value = "15"
            field(form, "open_from").value = "18:00"
            field(form, "open_until").value = "9:00"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: form.problems_shown, what="the station's refusal")
            assert form.problems_shown == {"open_until": "Until must be later than From"}
            assert field(form, "open_until").has_class("-problem") and field(form, "open_until").has_focus
            typed = {f: field(form, f).value for f in ("name", "capacity", "buffer_min", "open_from", "open_until")}
            assert typed == {"name": "Recording booth", "capacity": "4", "buffer_min": "15", "open_from": "18:00",
                             "open_until": "9:00"}  # fmt: skip
            assert app.screen is form and queued(app) == []
            field(form, "buffer_min").value = "ten"  # read by the form itself, before anything is sent
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "buffer_min" in form.problems_shown, what="the form's own check")
            assert form.problems_shown == {"buffer_min": "Buffer must be a whole number of minutes"}
            field(form, "buffer_min").value = "15"
            field(form, "open_from").value = "9:00"
            field(form, "open_until").value = "18:00"
            form.query_one("#resource-form-needs_approval", Checkbox).value = True
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.screen is screen, what="the form to close")
            ((kind, args),) = queued(app)
            made = args["resource"]
            assert kind == "resource_create"
            assert {k: v for k, v in made.items() if k != "id"} == {
                "kind": "room", "name": "Recording booth", "capacity": 4, "buffer_min": 15, "open_from": "09:00",
                "open_until": "18:00", "needs_approval": True, "release_after_min": 15,
            }  # fmt: skip
            # At once on the timeline, under the cursor, and said to be on its way to the server.
            resource = screen.timeline.cursor_resource
            assert resource.name == "Recording booth" and resource.pending
            assert "Recording booth — " in screen.details and "sending…" in screen.details
            assert "bookable 09:00–18:00 · 15 min between bookings · needs approval" in screen.details
            assert "E edit · X delete" in screen.details
            assert "sending… · for" in shown(screen.timeline)  # under its name, cut to the name column
            assert "Recording booth added" in toasts(app)

    asyncio.run(go())


def test_e_changes_the_resource_under_the_cursor_with_its_kind_fixed(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_bookings(pilot, app)
            await goto(pilot, screen, "Studio A", "16:00")
            await pilot.press("E")
            form = await until(pilot, lambda: form_of(app), what="the form")
            kind = form.query_one("#resource-form-kind", Select)
            assert kind.value == "room" and kind.disabled
            values = {f: field(form, f).value for f in ("name", "capacity", "buffer_min", "open_from", "open_until")}
            assert values == {"name": "Studio A", "capacity": "12", "buffer_min": "10", "open_from": "08:00",
                              "open_until": "20:00"}  # fmt: skip
            field(form, "open_until").value = ""  # only one of the two hours: the station says both or neither
            await pilot.press("ctrl+s")
            await until(pilot, lambda: form.problems_shown, what="the refusal")
            assert form.problems_shown == {
                "open_until": "Until and From go together: give both, or neither for any time"
            }
            assert queued(app) == [] and field(form, "open_from").value == "08:00"
            field(form, "open_until").value = "20:00"
            field(form, "name").value = "board ROOM"  # another resource's name
            await pilot.press("ctrl+s")
            await until(pilot, lambda: form.message, what="the duplicate")
            assert "there is already a resource called Board room" in form.message and queued(app) == []
            field(form, "name").value = "Studio Alpha"
            await pilot.press("enter")
            await until(pilot, lambda: app.screen is screen, what="the form to close")
            assert queued(app) == [
                ("resource_update", {"event_id": 1, "resource_id": "res-studio-a", "fields": {"name": "Studio Alpha"}})
            ]
            assert screen.timeline.cursor_resource.name == "Studio Alpha"  # the cursor stays on it
            await pilot.press("E", "ctrl+s")  # nothing changed: nothing sent
            await until(pilot, lambda: app.screen is screen, what="closed again")
            assert len(queued(app)) == 1

    asyncio.run(go())


def test_x_asks_first_and_a_resource_with_upcoming_bookings_is_not_deleted(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_bookings(pilot, app)
            await goto(pilot, screen, "Studio A", "16:00")
            await pilot.press("X")
            confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen, what="asks")
            assert confirm.question == "Delete Studio A?" and confirm.title_text == "Delete room"
            await pilot.press("n")
            await until(pilot, lambda: app.screen is screen, what="kept")
            assert queued(app) == [] and not app._notifications
            await pilot.press("X", "y")
            await until(pilot, lambda: "cancel them first" in toasts(app), what="the refusal")
            assert "Studio A has 2 upcoming bookings; cancel them first" in toasts(app)
            assert any(n.severity == "error" and n.title == "Studio A not deleted" for n in app._notifications)
            assert queued(app) == [] and "Studio A" in [r.name for r in screen.timeline.resources]
            # A resource whose bookings are all past or cancelled goes.
            await goto(pilot, screen, "Projector 2", "16:00")
            await pilot.press("X")
            confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen, what="asks")
            assert confirm.title_text == "Delete device"
            await pilot.press("y")
            await until(pilot, lambda: "Projector 2" not in [r.name for r in screen.timeline.resources], what="gone")
            assert queued(app) == [("resource_delete", {"event_id": 1, "resource_id": "dev-projector-2"})]
            assert screen.timeline.cursor_resource is not None  # the cursor lands on a neighbour

    asyncio.run(go())


def test_plus_on_the_devices_board_adds_a_device(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            board = await open_devices(pilot, app)
            await pilot.press("plus")
            form = await until(pilot, lambda: form_of(app), what="the form")
            assert form.query_one("#resource-form-kind", Select).value == "device"
            await pilot.press(*"Camera 3", "enter")
            await until(pilot, lambda: app.screen is board, what="the form to close")
            ((kind, args),) = queued(app)
            assert kind == "resource_create" and args["resource"]["kind"] == "device"
            assert args["resource"]["name"] == "Camera 3"
            await until(pilot, lambda: board.selected is not None and board.selected.name == "Camera 3", what="it")
            assert "Camera 3 — " in board.details and "sending…" in board.details
            offered = [name for name, _, _ in DevicesCommands(board).commands()]
            assert "Devices: add a device" in offered

    asyncio.run(go())


def test_staff_and_technicians_get_no_resource_keys_and_are_told_who_may(tmp_path):
    async def go():
        for role in ("staff", "technician"):
            app = seeded_app(tmp_path / role, role)
            async with app.run_test(size=SIZE) as pilot:
                screen = await open_bookings(pilot, app)
                for action in ("add_resource", "edit_resource", "delete_resource"):
                    assert screen.check_action(action, ()) is False
                for key in ("plus", "E", "X"):
                    app.clear_notifications()
                    await pilot.press(key)
                    await until(pilot, lambda app=app: "Only organizers add, change or delete" in toasts(app),
                                what=f"{role} {key}")  # fmt: skip
                    assert app.screen is screen
                offered = [name for name, _, _ in ReservationsCommands(screen).commands()]
                assert not [name for name in offered if "resource" in name or "room or device" in name]
                await goto(pilot, screen, "Quiet room", "16:00")
                assert "E edit" not in screen.details
                board = await open_devices(pilot, app)
                assert board.check_action("add_device", ()) is False
                app.clear_notifications()
                await pilot.press("plus")
                await until(pilot, lambda app=app: "Only organizers add" in toasts(app), what=f"{role} + on F8")
                assert app.screen is board and queued(app) == []
                assert "Devices: add a device" not in [name for name, _, _ in DevicesCommands(board).commands()]

    asyncio.run(go())


def test_the_empty_screens_tell_an_organizer_to_press_plus(tmp_path):
    async def go():
        for role, words in (
            ("organizer", "No rooms or devices to book yet — press + to add one."),
            ("staff", "No rooms or devices to book yet; an organizer adds them."),
        ):
            context = offline_context(tmp_path / role)
            context.desk.station.set_account(
                {"id": 12, "email": f"{role}@demo.focusdesk.test", "grants": [{"role": role, "event_id": 1}]}
            )
            app = FocusDeskApp(context)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("f7")
                screen = await until(pilot, lambda app=app: isinstance(app.screen, ReservationsScreen) and app.screen)
                await until(pilot, lambda s=screen: s.has_class("-empty"), what="the empty state")
                assert words in shown(screen.query_one("#reservations-empty"))
                await pilot.press("f8")
                board = await until(pilot, lambda app=app: isinstance(app.screen, DevicesScreen) and app.screen)
                await until(pilot, lambda b=board: b.has_class("-empty"), what="the empty board")
                device_words = words.replace("rooms or devices to book", "devices")
                assert device_words in shown(board.query_one("#devices-empty"))
                if role == "organizer":  # the first device: the board is no longer empty
                    await pilot.press("plus")
                    await until(pilot, lambda app=app: form_of(app), what="the form")
                    await pilot.press(*"Camera 1", "ctrl+s")
                    await until(pilot, lambda b=board: b.device_ids, what="the first device")
                    assert not board.has_class("-empty")
                    await pilot.press("f7")
                    await until(pilot, lambda s=screen: not s.has_class("-empty"), what="the timeline")
                    assert [r.name for r in screen.timeline.resources] == ["Camera 1"]

    asyncio.run(go())


# -- the real thing -----------------------------------------------------------------------------------


def organizer_world(tmp_path, server_database):
    """The test world of tests/tui_support.py, its desk signed in as an organizer of the event."""
    world = make_tui_world(tmp_path, server_database)
    email = "organizer@example.com"
    password = add_user(world.api, email, "organizer", world.event_id)
    station_id = "desk-organizer-1"
    desk_api = Api(world.server.url)
    token = desk_api.login(email, password, desk="Desk 3", station_id=station_id)["token"]
    desk_api.close()
    config = DeskConfig(**{**vars(world.config), "station_id": station_id, "station_name": "Desk 3", "email": email})
    return dataclasses.replace(world, token=token, config=config, directory=tmp_path / "organizer-desk")


def test_an_organizer_adds_changes_and_deletes_rooms_through_the_server(tmp_path, server_database):
    world = organizer_world(tmp_path, server_database)
    api, event = world.api, world.event_id
    made = api.post(f"/api/v1/events/{event}/resources", json={"kind": "room", "name": "Studio", "capacity": 8})
    assert made.status_code == 201, made.text
    studio = made.json()
    tomorrow = local_datetime(datetime.now(UTC).timestamp(), TZ).date() + timedelta(days=1)
    for hour in (10, 14):
        booked = api.post(
            f"/api/v1/events/{event}/reservations",
            json={"resource_id": studio["id"], "holder_name": f"Holder {hour}", "start": f"{tomorrow}T{hour}:00",
                  "end": f"{tomorrow}T{hour + 1}:00"},
        )  # fmt: skip
        assert booked.status_code == 201, booked.text

    def on_server() -> dict[str, dict]:
        answer = api.get(f"/api/v1/events/{event}/resources")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items = body["resources"] if isinstance(body, dict) else body
        return {r["name"]: r for r in items}

    async def go():
        app = world.app()
        async with app.run_test(size=SIZE) as pilot:
            book = app.desk.station.reservations
            assert app.desk.station.can("resources.manage")
            await until(pilot, lambda: len(book.list()) == 2, timeout=15, what="the replica to fill")
            screen = await open_bookings(pilot, app)
            seen: list[tuple[str, bool]] = []  # what the timeline was given to show, in order
            show = screen.timeline.show

            def recording(day, tz, resources, reservations, now=None):
                seen.extend((r.name, r.pending) for r in resources if r.name == "Recording booth")
                return show(day, tz, resources, reservations, now)

            screen.timeline.show = recording  # type: ignore[method-assign]

            # + with hours the wrong way round: the field says so, nothing typed is lost; then it is added.
            await pilot.press("plus")
            form = await until(pilot, lambda: form_of(app), what="the form")
            await pilot.press(*"Recording booth")
            field(form, "capacity").value = "4"
            field(form, "buffer_min").value = "15"
            field(form, "open_from").value = "18:00"
            field(form, "open_until").value = "09:00"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: form.problems_shown, what="the field error")
            assert form.problems_shown == {"open_until": "Until must be later than From"}
            assert [field(form, f).value for f in ("name", "capacity", "buffer_min", "open_from", "open_until")] == [
                "Recording booth", "4", "15", "18:00", "09:00"
            ]  # fmt: skip
            field(form, "open_from").value = "09:00"
            field(form, "open_until").value = "18:00"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.screen is screen, what="the form to close")
            assert screen.timeline.cursor_resource.name == "Recording booth"
            assert seen and seen[0] == ("Recording booth", True)  # at once, before the server answered

            def booth():
                return next((r for r in book.resources() if r.name == "Recording booth"), None)

            await until(pilot, lambda: booth() is not None and not booth().pending, timeout=15, what="the server")
            booth_id = booth().id
            await until(pilot, lambda: seen[-1] == ("Recording booth", False), what="the timeline to follow")
            server_booth = on_server()["Recording booth"]
            assert (server_booth["open_from"], server_booth["open_until"]) == ("09:00", "18:00")
            assert (server_booth["buffer_min"], server_booth["capacity"]) == (15, 4)
            assert "sending…" not in screen.details and "bookable 09:00–18:00" in screen.details

            # E renames it; the server agrees.
            await pilot.press("E")
            form = await until(pilot, lambda: form_of(app), what="the edit form")
            assert field(form, "name").value == "Recording booth"
            field(form, "name").value = "Podcast booth"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: app.screen is screen, what="the form to close")
            assert screen.timeline.cursor_resource.name == "Podcast booth"
            await until(pilot, lambda: "Podcast booth" in on_server(), timeout=15, what="renamed on the server")
            await until(pilot, lambda: not book.resource(booth_id).pending, timeout=15, what="confirmed")

            # X on the studio, which has two bookings tomorrow: refused, with the reason.
            await goto(pilot, screen, "Studio", "16:00")
            await pilot.press("X")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
            await pilot.press("y")
            await until(pilot, lambda: "Studio has 2 upcoming bookings; cancel them first" in toasts(app), what="no")
            assert "Studio" in on_server() and book.resource(studio["id"]) is not None

            # X on the booth, which has none: asked first, then gone here and on the server.
            await goto(pilot, screen, "Podcast booth", "16:00")
            await pilot.press("X")
            confirm = await until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen, what="asks")
            assert confirm.question == "Delete Podcast booth?"
            await pilot.press("y")
            await until(pilot, lambda: [r.name for r in screen.timeline.resources] == ["Studio"], what="gone here")
            await until(pilot, lambda: "Podcast booth" not in on_server(), timeout=15, what="gone on the server")
            await until(pilot, lambda: book.resource(booth_id) is None, what="gone from the replica")
            assert not app.desk.station.attention()  # nothing was refused by the server

    try:
        asyncio.run(go())
    finally:
        world.close()
