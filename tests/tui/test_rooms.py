"""The Rooms screen (F4), the room focus view and ``focusdesk room NAME``, driven with keys on an offline desk
whose replica holds seven rooms, one in each look (tests/tui_offline.py): cards, the timer keys (each a
queued ``timer`` command), presets, messages, counting people, adding / changing / deleting rooms, what a
staff account may not do, the last-minute warning and "time is up" with the desk's clock moved by hand,
and the one-room display."""

from __future__ import annotations

import asyncio
import json

from textual.widgets import Input, OptionList

from focusdesk import cli
from focusdesk.tui.app import FocusDeskApp
from focusdesk.tui.dialogs.confirm import ConfirmDialog
from focusdesk.tui.dialogs.preset_picker import PresetPicker
from focusdesk.tui.dialogs.room_form import RoomFormDialog
from focusdesk.tui.dialogs.room_message import RoomMessageDialog
from focusdesk.tui.screens.desk import DeskScreen
from focusdesk.tui.screens.room_focus import RoomFocusScreen
from focusdesk.tui.screens.rooms import RoomsScreen
from focusdesk.tui.widgets.big_clock import BigClock
from focusdesk.tui.widgets.room_card import RoomCard
from tests.tui_offline import offline_context, rooms_notices_draws_state
from tests.tui_support import shown, until

NOW = 1_795_430_040.0
SIZE = (120, 40)  # four columns: every seeded room on screen at once


class Clock:
    """The desk's wall clock, moved by the test."""

    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def seeded_app(tmp_path, role: str = "organizer", *, rooms: bool = True, room: str | None = None):
    context = offline_context(tmp_path)
    station = context.desk.station
    clock = Clock(NOW)
    station._wall = station.clock._wall = clock
    station.set_account({"id": 12, "email": f"{role}@demo.focusdesk.test", "grants": [{"role": role, "event_id": 1}]})
    state = rooms_notices_draws_state(NOW)
    station.apply_snapshot("offline-epoch", 1, {"rooms": state["rooms"] if rooms else []})
    app = FocusDeskApp(context, room=room)
    app.clock = clock  # type: ignore[attr-defined]
    return app


def count_bells(app) -> list[int]:
    rings: list[int] = []
    app.bell = lambda: rings.append(1)
    return rings


async def open_rooms(pilot, app) -> RoomsScreen:
    await pilot.press("f4")
    screen = await until(pilot, lambda: isinstance(app.screen, RoomsScreen) and app.screen, what="the Rooms screen")
    await until(pilot, lambda: screen.grid.cards or screen.has_class("-empty"), what="the rooms")
    return screen


def card(app, name: str) -> RoomCard:
    return next(c for c in app.screen.grid.cards if c.room.name == name)


async def select(pilot, app, name: str) -> RoomCard:
    wanted = card(app, name)
    wanted.focus()
    await until(pilot, lambda: app.focused is wanted, what=f"{name} selected")
    return wanted


def digits(c: RoomCard) -> str:
    return c.query_one("Digits").value


def card_text(c: RoomCard) -> str:
    """The card's title and subtitle ("pending"), and what its lines show."""
    return "\n".join([str(c.border_title), str(c.border_subtitle)] + [shown(part) for part in c.children])


def missing_text(focus: RoomFocusScreen) -> str:
    """What the focus view says when it has no room to show (one line; "" while it has one)."""
    return " ".join(shown(focus.query_one("#focus-missing")).split()) if focus.has_class("-missing") else ""


def queued(app) -> list[tuple[str, dict]]:
    rows = app.desk.station.db.conn.execute("SELECT type, args FROM outbox ORDER BY cmd_seq").fetchall()
    return [(kind, json.loads(args)) for kind, args in rows]


def toasts(app) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


def test_cards_show_each_room_in_its_look(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_rooms(pilot, app)
            assert [c.room.name for c in screen.grid.cards] == [
                "Hall A", "Hall B", "Hall C", "Lounge", "Studio", "Workshop 1", "Workshop 2",
            ]  # fmt: skip
            assert screen.grid.columns == 4  # as many as fit at 120 columns
            expected = {
                "Hall A": ("35:00", "-running", "running · countdown"),
                "Hall B": ("30:00", "-running", "running · work 2/∞ cycle"),
                "Hall C": ("20:00", "-idle", "idle · countdown 20 min"),
                "Lounge": ("12:30", "-paused", "paused · countdown"),
                "Studio": ("03:00", "-break", "break · after work 2"),
                "Workshop 1": ("00:42", "-warning", "running · countdown"),
                "Workshop 2": ("00:00", "-up", "TIME IS UP"),
            }
            for name, (clock, look, phase) in expected.items():
                c = card(app, name)
                assert digits(c) == clock, name
                assert c.has_class(look), name
                assert phase in card_text(c), name
            hall_a = card_text(card(app, "Hall A"))
            assert "Hall A" in hall_a and "Keynote: building for t…" in hall_a and "People 120 / 300" in hall_a
            assert "People 200 / 200 · full" in card_text(card(app, "Hall B")) and card(app, "Hall B").has_class(
                "-full"
            )
            assert "People 14 in" in card_text(card(app, "Lounge"))  # no capacity set
            title = str(screen.grid.border_title)
            assert "Rooms (7)" in title and "1 paused" in title and "1 TIME UP" in title and "2 full" in title
            assert "pending" not in card_text(card(app, "Hall A"))

    asyncio.run(go())


def test_space_starts_a_timer_queues_it_and_the_clock_runs(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_rooms(pilot, app)
            hall_c = await select(pilot, app, "Hall C")
            await pilot.press("space")
            assert queued(app) == [("timer", {"event_id": 1, "room_id": "room-c", "op": "start"})]
            await until(pilot, lambda: hall_c.has_class("-running"), what="Hall C running")
            assert "pending" in card_text(hall_c)  # not confirmed by the server yet
            assert digits(hall_c) == "20:00"
            app.clock.at = NOW + 65
            await until(pilot, lambda: digits(hall_c) == "18:55", what="the clock to move")
            # Updated in place: the same card widgets, not a new grid.
            assert card(app, "Hall C") is hall_c and screen.grid.cards[0] is card(app, "Hall A")
            await pilot.press("space")
            assert queued(app)[-1] == ("timer", {"event_id": 1, "room_id": "room-c", "op": "pause"})
            await until(pilot, lambda: hall_c.has_class("-paused"), what="Hall C paused")
            await pilot.press("space")
            assert queued(app)[-1][1]["op"] == "resume"
            await pilot.press("r")
            assert queued(app)[-1][1]["op"] == "reset"
            await until(pilot, lambda: hall_c.has_class("-idle") and digits(hall_c) == "20:00", what="reset")

    asyncio.run(go())


def test_plus_and_minus_add_and_take_a_minute(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_rooms(pilot, app)
            hall_a = await select(pilot, app, "Hall A")
            await pilot.press("plus")
            await until(pilot, lambda: digits(hall_a) == "36:00", what="a minute added")
            await pilot.press("minus", "minus")
            await until(pilot, lambda: digits(hall_a) == "34:00", what="two minutes taken away")
            assert [args.get("delta_s") for _, args in queued(app)] == [60, -60, -60]
            # An idle timer has no time to change: the refusal is said, nothing is queued.
            await select(pilot, app, "Hall C")
            await pilot.press("plus")
            await until(pilot, lambda: "Start the timer before adding" in toasts(app), what="the refusal")
            assert len(queued(app)) == 3

    asyncio.run(go())


def test_preset_picker_starts_a_preset_and_restarts_a_running_timer(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_rooms(pilot, app)
            hall_c = await select(pilot, app, "Hall C")
            await pilot.press("p")
            picker = await until(pilot, lambda: isinstance(app.screen, PresetPicker) and app.screen, what="picker")
            options = picker.query_one(OptionList)
            assert [options.get_option_at_index(i).id for i in range(options.option_count)] == [
                "talk-20", "talk-45", "workshop-90", "break-15", "pomodoro-25-5", "pomodoro-50-10",
            ]  # fmt: skip
            assert "pomodoro: 25 min work, 5 min break" in shown(options)
            assert not picker.query("#preset-note")  # Hall C is idle: nothing is reset
            await pilot.press("down", "enter")  # talk-45
            await until(pilot, lambda: digits(hall_c) == "45:00" and hall_c.has_class("-running"), what="talk-45")
            assert queued(app) == [("timer", {"event_id": 1, "room_id": "room-c", "op": "start", "preset": "talk-45"})]
            # A running timer: the picker warns, and picking resets it first.
            hall_b = await select(pilot, app, "Hall B")
            await pilot.press("p")
            picker = await until(pilot, lambda: isinstance(app.screen, PresetPicker) and app.screen, what="picker")
            assert "resets it and starts over" in " ".join(shown(picker.query_one("#preset-note")).split())
            await pilot.press("enter")  # talk-20
            await until(pilot, lambda: digits(hall_b) == "20:00" and "countdown" in card_text(hall_b), what="talk-20")
            assert [args["op"] for _, args in queued(app)[1:]] == ["reset", "start"]
            # Escape picks nothing.
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, PresetPicker), what="picker")
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, RoomsScreen), what="back on Rooms")
            assert len(queued(app)) == 3

    asyncio.run(go())


def test_message_is_set_and_an_empty_one_clears_it(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_rooms(pilot, app)
            hall_a = await select(pilot, app, "Hall A")
            await pilot.press("m")
            dialog = await until(
                pilot, lambda: isinstance(app.screen, RoomMessageDialog) and app.screen, what="message dialog"
            )
            field = dialog.query_one(Input)
            assert field.value == "Keynote: building for the offline desk"  # starts from the current message
            field.value = ""
            await pilot.press(*"Back at 14:00", "enter")
            await until(pilot, lambda: "Back at 14:00" in card_text(hall_a), what="the new message")
            assert queued(app)[-1] == (
                "timer", {"event_id": 1, "room_id": "room-a", "op": "message", "text": "Back at 14:00"},
            )  # fmt: skip
            await pilot.press("m")
            dialog = await until(pilot, lambda: isinstance(app.screen, RoomMessageDialog) and app.screen, what="dialog")
            dialog.query_one(Input).value = ""
            await pilot.press("enter")
            await until(pilot, lambda: "Back at 14:00" not in card_text(hall_a), what="the message cleared")
            assert queued(app)[-1][1] == {"event_id": 1, "room_id": "room-a", "op": "message", "text": ""}

    asyncio.run(go())


def test_brackets_count_people_in_and_out_and_full_turns_red(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_rooms(pilot, app)
            w1 = await select(pilot, app, "Workshop 1")
            await pilot.press("right_square_bracket")
            await until(pilot, lambda: "People 39 / 40" in card_text(w1), what="one in")
            assert not w1.has_class("-full")
            await pilot.press("right_square_bracket")
            await until(pilot, lambda: "People 40 / 40 · full" in card_text(w1) and w1.has_class("-full"), what="full")
            await pilot.press("left_square_bracket")
            await until(pilot, lambda: "People 39 / 40" in card_text(w1), what="one out")
            assert [(kind, args["delta"]) for kind, args in queued(app)] == [
                ("occupancy", 1), ("occupancy", 1), ("occupancy", -1),
            ]  # fmt: skip

    asyncio.run(go())


def test_changes_from_other_desks_update_cards_in_place_and_a_deletion_rebuilds(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        rings = count_bells(app)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_rooms(pilot, app)
            before = list(screen.grid.cards)
            hall_c = card(app, "Hall C")
            state = rooms_notices_draws_state(NOW)["rooms"]
            started = {**state[2]["timer"], "status": "running", "started_at": NOW - 60}
            live = {"room": {**state[2], "rev": 4, "occupancy": 80, "timer": started, "updated_by": "Desk 1"}}
            app.desk.station.apply_changes([(2, "room.updated", live)])
            await until(pilot, lambda: digits(hall_c) == "19:00", what="Desk 1's start")
            assert "People 80 / 250" in card_text(hall_c) and "pending" not in card_text(hall_c)
            assert screen.grid.cards == before  # the same widgets, updated in place
            app.desk.station.apply_changes([(3, "room.deleted", {"id": "room-b", "event_id": 1, "rev": 9})])
            await until(pilot, lambda: len(screen.grid.cards) == 6, what="Hall B gone")
            assert "Hall B" not in [c.room.name for c in screen.grid.cards]
            assert rings == []  # a rebuild is no reason to ring for Workshop 2, which was already up

    asyncio.run(go())


def test_arrows_and_hjkl_move_between_cards(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_rooms(pilot, app)
            assert screen.grid.columns == 3  # as many as fit at 80 columns
            await until(pilot, lambda: app.focused is card(app, "Hall A"), what="the first card selected")
            moves = [
                ("right", "Hall B"), ("j", "Studio"), ("down", "Studio"),  # nothing below Studio
                ("h", "Lounge"), ("j", "Workshop 2"), ("l", "Workshop 2"), ("up", "Lounge"), ("k", "Hall A"),
                ("l", "Hall B"), ("left", "Hall A"),
            ]  # fmt: skip
            for key, name in moves:
                await pilot.press(key)
                assert app.focused is card(app, name), (key, name)
            await pilot.press("j", "j")
            assert app.focused is card(app, "Workshop 2")
            assert card(app, "Workshop 2").region.bottom <= screen.grid.region.bottom  # scrolled into view

    asyncio.run(go())


def test_new_room_appears_pending_and_the_form_says_what_is_wrong(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_rooms(pilot, app)
            await pilot.press("n")
            form = await until(pilot, lambda: isinstance(app.screen, RoomFormDialog) and app.screen, what="form")
            form.query_one("#room-form-name", Input).value = "hall a"
            form.query_one("#room-form-capacity", Input).value = "lots"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "capacity" in form.problems_shown, what="the capacity problem")
            assert "Capacity must be a whole number" in form.problems_shown["capacity"]
            form.query_one("#room-form-capacity", Input).value = "80"
            await pilot.press("ctrl+s")
            message = form.query_one("#room-form-message")
            await until(pilot, lambda: "already a room called Hall A" in shown(message), what="the duplicate")
            assert queued(app) == []
            form.query_one("#room-form-name", Input).value = "Hall D"
            form.query_one("#room-form-minutes", Input).value = "30"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, RoomsScreen), what="the form closed")
            hall_d = await until(pilot, lambda: screen.grid.card(queued(app)[0][1]["room"]["id"]), what="Hall D")
            assert "pending" in card_text(hall_d) and "People 0 / 80" in card_text(hall_d)
            assert digits(hall_d) == "30:00"
            await until(pilot, lambda: app.focused is hall_d, what="the new room selected")
            kind, args = queued(app)[0]
            assert kind == "room_create" and args["room"]["name"] == "Hall D" and args["room"]["work_s"] == 1800

    asyncio.run(go())


def test_edit_renames_and_delete_asks_first(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_rooms(pilot, app)
            await select(pilot, app, "Lounge")
            await pilot.press("e")
            form = await until(pilot, lambda: isinstance(app.screen, RoomFormDialog) and app.screen, what="form")
            assert form.query_one("#room-form-name", Input).value == "Lounge"
            assert form.query_one("#room-form-capacity", Input).value == ""  # no limit
            form.query_one("#room-form-name", Input).value = "hall c"
            await pilot.press("enter")
            message = form.query_one("#room-form-message")
            await until(pilot, lambda: "already a room called Hall C" in shown(message), what="the clash")
            assert queued(app) == []
            form.query_one("#room-form-name", Input).value = "Atrium"
            await pilot.press("enter")
            await until(pilot, lambda: screen.grid.cards[0].room.name == "Atrium", what="renamed")
            assert queued(app) == [
                ("room_update", {"event_id": 1, "room_id": "room-lounge", "fields": {"name": "Atrium"}})
            ]
            assert app.focused is card(app, "Atrium")  # still the selected room, now first by name
            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, RoomsScreen), what="kept")
            assert len(screen.grid.cards) == 7
            await pilot.press("delete")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
            await pilot.press("y")
            await until(pilot, lambda: len(screen.grid.cards) == 6, what="deleted")
            assert "Atrium" not in [c.room.name for c in screen.grid.cards]
            assert queued(app)[-1] == ("room_delete", {"event_id": 1, "room_id": "room-lounge"})

    asyncio.run(go())


def test_staff_count_people_but_may_not_run_timers_and_are_told_why(tmp_path):
    async def go():
        app = seeded_app(tmp_path, "staff")
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_rooms(pilot, app)
            hall_c = await select(pilot, app, "Hall C")
            for key in ("space", "plus", "p", "m", "r"):
                app.clear_notifications()
                await pilot.press(key)
                await until(pilot, lambda: "may not run timers — ask an organizer" in toasts(app), what=key)
            assert isinstance(app.screen, RoomsScreen)  # no dialog opened
            for key in ("n", "e", "x"):
                app.clear_notifications()
                await pilot.press(key)
                await until(pilot, lambda: "may not add, change or delete rooms" in toasts(app), what=key)
            assert queued(app) == [] and hall_c.has_class("-idle")
            assert "organizers run the timers" in screen.grid.border_subtitle
            await pilot.press("right_square_bracket")  # staff work the doors
            await until(pilot, lambda: "People 36 / 250" in card_text(hall_c), what="counted")
            assert [kind for kind, _ in queued(app)] == ["occupancy"]

    asyncio.run(go())


def test_empty_state_says_who_adds_rooms(tmp_path):
    async def go():
        for role, words in (
            ("organizer", "No rooms yet — press n to add one."),
            ("staff", "No rooms yet; an organizer adds them."),
        ):
            app = seeded_app(tmp_path / role, role, rooms=False)
            async with app.run_test(size=SIZE) as pilot:
                screen = await open_rooms(pilot, app)
                assert screen.has_class("-empty")
                assert words in shown(screen.query_one("#rooms-empty"))
                await pilot.press("space")
                await until(pilot, lambda app=app: "No room selected" in toasts(app), what="nothing to start")

    asyncio.run(go())


def test_last_minute_warns_and_time_up_rings_once(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        rings = count_bells(app)
        async with app.run_test(size=SIZE) as pilot:
            await open_rooms(pilot, app)
            w1 = card(app, "Workshop 1")
            assert w1.has_class("-warning") and digits(w1) == "00:42"
            assert rings == []  # Workshop 2 was already up when the screen opened: no bell for the past
            app.clock.at = NOW + 41.5
            await until(pilot, lambda: digits(w1) == "00:01", what="the last second")
            assert w1.has_class("-warning") and rings == []
            app.clock.at = NOW + 43
            await until(pilot, lambda: w1.has_class("-up"), what="time up")
            assert digits(w1) == "00:00" and "TIME IS UP" in card_text(w1) and not w1.has_class("-warning")
            assert rings == [1]
            app.clock.at = NOW + 50
            await pilot.pause(2.2)  # two more ticks
            assert rings == [1]  # once per transition, not every second
            assert "2 TIME UP" in str(app.screen.grid.border_title)
            # Reset and started again, it rings again when it runs out again.
            await select(pilot, app, "Workshop 1")
            await pilot.press("r")
            await until(pilot, lambda: w1.has_class("-idle"), what="reset")
            await pilot.press("space")
            await until(pilot, lambda: w1.has_class("-running"), what="running again")
            app.clock.at += 90 * 60 + 1
            await until(pilot, lambda: w1.has_class("-up"), what="time up again")
            assert rings == [1, 1]

    asyncio.run(go())


def test_enter_opens_the_focus_view_where_the_timer_keys_work(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_rooms(pilot, app)
            await select(pilot, app, "Hall A")
            await pilot.press("enter")
            focus = await until(pilot, lambda: isinstance(app.screen, RoomFocusScreen) and app.screen, what="focus")
            clock = focus.query_one(BigClock)
            assert clock.value == "35:00"
            assert shown(focus.query_one("#focus-name")).strip() == "Hall A"
            assert "running · countdown" in shown(focus.query_one("#focus-phase"))
            assert "Keynote: building for the offline desk" in shown(focus.query_one("#focus-message"))
            assert "120 / 300" in shown(focus.query_one("#focus-occupancy"))
            assert "█" not in shown(clock) and clock.region.height >= 10  # drawn large, in colour blocks
            await pilot.press("space")
            await until(pilot, lambda: focus.has_class("-paused"), what="paused")
            assert "pending" in shown(focus.query_one("#focus-phase"))
            await pilot.press("plus", "right_square_bracket")
            await until(pilot, lambda: clock.value == "36:00", what="a minute added")
            await until(pilot, lambda: "121 / 300" in shown(focus.query_one("#focus-occupancy")), what="counted")
            assert [args.get("op") or "count" for _, args in queued(app)] == ["pause", "adjust", "count"]
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, RoomsScreen), what="back on Rooms")
            assert digits(card(app, "Hall A")) == "36:00"

    asyncio.run(go())


def test_focus_view_warns_and_says_time_is_up_with_one_bell(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        rings = count_bells(app)
        async with app.run_test(size=SIZE) as pilot:
            await open_rooms(pilot, app)
            await select(pilot, app, "Workshop 1")
            await pilot.press("enter")
            focus = await until(pilot, lambda: isinstance(app.screen, RoomFocusScreen) and app.screen, what="focus")
            alert = focus.query_one("#focus-alert")
            assert focus.has_class("-warning") and not alert.display
            app.clock.at = NOW + 45
            await until(pilot, lambda: focus.has_class("-up"), what="time up")
            assert alert.display and "TIME IS UP" in shown(alert)
            assert focus.query_one(BigClock).value == "00:00"
            await pilot.pause(2.2)
            assert rings == [1]

    asyncio.run(go())


def test_focus_view_follows_a_rename_and_says_when_the_room_is_deleted(tmp_path):
    async def go():
        app = seeded_app(tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_rooms(pilot, app)
            await select(pilot, app, "Hall B")
            await pilot.press("enter")
            focus = await until(pilot, lambda: isinstance(app.screen, RoomFocusScreen) and app.screen, what="focus")
            rooms = app.desk.station.rooms
            rooms.update("room-b", name="Main Stage")  # as if another desk's change arrived
            await until(pilot, lambda: "Main Stage" in shown(focus.query_one("#focus-name")), what="the new name")
            rooms.delete("room-b")
            await until(pilot, lambda: "Main Stage was deleted." in missing_text(focus), what="the room gone")
            assert "Rooms at this event: Hall A, Hall C, Lounge" in missing_text(focus)
            app.clear_notifications()
            await pilot.press("space")  # no room: the timer keys do nothing
            assert [kind for kind, _ in queued(app)] == ["room_update", "room_delete"]
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, RoomsScreen), what="back on Rooms")

    asyncio.run(go())


def test_room_param_opens_only_that_rooms_focus_view(tmp_path):
    async def go():
        app = seeded_app(tmp_path, room="hall b")  # case does not matter
        async with app.run_test(size=(80, 24)) as pilot:
            focus = await until(pilot, lambda: isinstance(app.screen, RoomFocusScreen) and app.screen, what="focus")
            await until(pilot, lambda: focus.room is not None, what="the room")
            assert focus.room.name == "Hall B" and focus.query_one(BigClock).value == "30:00"
            assert "Offline" in shown(focus.query_one("#focus-connection"))
            bindings = {b.binding.key for b in app.screen.active_bindings.values() if b.enabled}
            assert "f1" not in bindings and "f4" not in bindings and "escape" not in bindings
            await pilot.press("f1", "f4", "escape")
            await pilot.pause(0.2)
            assert app.screen is focus  # a room display stays on its room
            await pilot.press("space")
            assert queued(app)[-1][1]["op"] == "pause"
            # Renamed elsewhere, it is still this display's room; deleted, it waits for one of that name.
            app.desk.station.rooms.update("room-b", name="Main Stage")
            await until(pilot, lambda: "Main Stage" in shown(focus.query_one("#focus-name")), what="renamed")
            app.desk.station.rooms.delete("room-b")
            await until(pilot, lambda: "Waiting for a room called “Main Stage”." in missing_text(focus), what="gone")
            app.desk.station.rooms.create("Main Stage", capacity=500)
            await until(pilot, lambda: not focus.has_class("-missing"), what="the new room")
            assert focus.room.name == "Main Stage" and focus.room.id != "room-b"

    asyncio.run(go())


def test_room_param_with_an_unknown_name_lists_the_rooms(tmp_path):
    async def go():
        app = seeded_app(tmp_path, room="Hall Z")
        async with app.run_test(size=SIZE) as pilot:
            focus = await until(pilot, lambda: isinstance(app.screen, RoomFocusScreen) and app.screen, what="focus")
            text = await until(pilot, lambda: missing_text(focus), what="the message")
            assert "No room called “Hall Z”." in text
            assert "Rooms at this event: Hall A, Hall B, Hall C, Lounge, Studio, Workshop 1, Workshop 2" in text
            assert "has not synced with the server yet" in text  # offline: the room may still come
            assert not isinstance(app.screen, DeskScreen)

    asyncio.run(go())


def test_cli_room_command_opens_the_desk_as_a_room_display(monkeypatch):
    args = cli.build_parser().parse_args(["--server", "http://10.0.0.5:8765", "room", "Hall A"])
    assert args.command == "room" and args.name == "Hall A" and args.server == "http://10.0.0.5:8765"
    started = []
    monkeypatch.setattr(
        "focusdesk.tui.run.run_tui", lambda server, station, **kw: started.append((server, station, kw)) or 0
    )
    assert cli.main(["--station", "Hall A screen", "room", "  Hall   A "]) == 0
    assert started == [(None, "Hall A screen", {"room": "Hall A"})]
    assert cli.main(["room", " "]) == 2  # no name: said, nothing opened
    assert len(started) == 1


def test_build_app_passes_the_room_on(tmp_path):
    from focusdesk.tui.run import build_app

    app = build_app(None, None, tmp_path, use_keyring=False, room="Hall A")
    assert app.room_name == "Hall A"
