"""The Drawing screen, driven with keys on an offline desk whose replica holds three draws
(tests/tui_offline.py): the result with seed, pool and winners, the history, exporting the results, what an
offline desk says when asked to draw, redraw asking first, and staff who see results but cannot draw."""

from __future__ import annotations

import asyncio
import csv
import io

from textual.widgets import Input

from focusdesk.tui.dialogs.confirm import ConfirmDialog
from focusdesk.tui.screens.drawing import DrawingScreen
from focusdesk.tui.widgets.draw_views import DrawHistory
from tests.tui_offline import attendee_records, offline_app, rooms_notices_draws_state
from tests.tui_support import make_tui_world, shown, until

NOW = 1_795_430_040.0  # 2026-11-23 11:34 at the venue (Europe/Berlin)
SIZE = (120, 40)
PEOPLE = {r["registration_number"]: r["name"] for r in attendee_records(120)}


def seeded_app(tmp_path, role: str):
    app = offline_app(tmp_path, wall=NOW)
    station = app.desk.station
    station.set_account({"id": 12, "email": f"{role}@demo.focusdesk.test", "grants": [{"role": role, "event_id": 1}]})
    station.apply_snapshot("offline-epoch", 1, rooms_notices_draws_state(NOW))
    return app


async def open_drawing(pilot, app) -> DrawingScreen:
    await pilot.press("f6")
    return await until(pilot, lambda: isinstance(app.screen, DrawingScreen) and app.screen, what="the Drawing screen")


def result_text(app) -> str:
    """The result panel's words, spaces squeezed (winner numbers are right-aligned in their column)."""
    return " ".join(shown(app.screen.query_one("#draw-result")).split())


def said(app, words: str) -> bool:
    return any(words in n.message for n in app._notifications)


def test_seeded_draws_show_seed_pool_winners_and_history(tmp_path):
    async def go():
        app = seeded_app(tmp_path, "organizer")
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_drawing(pilot, app)
            history = shown(screen.query_one(DrawHistory))
            assert "History (3)" in history
            assert "11:09  proposed   Mechanical keyboard" in history
            assert "11:04  discarded  Mechanical keyboard" in history
            assert f"09:34  confirmed  Conference hoodie  2 of 212: {PEOPLE[7]}, {PEOPLE[42]}" in history
            # The newest draw is shown in full: status, pool, seed, the winner with their number.
            text = result_text(app)
            assert "Mechanical keyboard · proposed — y confirms, r redraws" in text
            assert "1 from a pool of 240 (checked-in attendees only)" in text
            assert "seed " + "c0de" * 8 in text
            assert f"1. #118 {PEOPLE[118]}" in text

            screen.history.focus()
            await pilot.press("down", "down")
            await until(pilot, lambda: "Conference hoodie" in result_text(app), what="the hoodie draw")
            text = result_text(app)
            assert "confirmed" in text and "2 from a pool of 212" in text
            assert f"1. #7 {PEOPLE[7]}" in text and f"2. #42 {PEOPLE[42]}" in text
            # A confirmed draw cannot be confirmed or redrawn again: the keys are off.
            assert screen.check_action("confirm", ()) is None and screen.check_action("redraw", ()) is None

    asyncio.run(go())


def test_export_writes_the_kept_draws_winners_as_csv(tmp_path):
    async def go():
        app = seeded_app(tmp_path, "organizer")
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_drawing(pilot, app)
            screen.history.focus()
            await pilot.press("e")
            path = tmp_path / "draws-1.csv"
            await until(pilot, lambda: said(app, str(path)), what="where the file went")
            assert "3 winners of 2 draws" in screen.message and str(path) in screen.message
            rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
            # The discarded draw is left out; every winner of the others is there with the draw's seed.
            assert [(r["prize"], r["status"], r["name"], r["registration_number"]) for r in rows] == [
                ("Conference hoodie", "confirmed", PEOPLE[7], "7"),
                ("Conference hoodie", "confirmed", PEOPLE[42], "42"),
                ("Mechanical keyboard", "proposed", PEOPLE[118], "118"),
            ]
            assert rows[2]["seed"] == "c0de" * 8 and rows[2]["pool_size"] == "240"

    asyncio.run(go())


def test_an_offline_desk_says_a_draw_needs_the_server(tmp_path):
    async def go():
        app = seeded_app(tmp_path, "organizer")
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_drawing(pilot, app)
            # The newest draw is still proposed, so the list has the focus (y / r work at once); click the form.
            assert app.focused is screen.history
            await pilot.click("#draw-prize")
            assert app.focused is screen.query_one("#draw-prize", Input)
            assert not screen.query_one("#draw-not-allowed").is_on_screen  # that is for staff
            await pilot.press("enter")
            await until(pilot, lambda: screen.message == "Name the prize first.", what="the empty prize refused")

            await pilot.press(*"Drone", "tab", "backspace", "2", "enter")
            await until(pilot, lambda: "A draw needs the server" in screen.message, what="the offline error")
            assert "cannot be reached right now" in screen.message
            assert said(app, "A draw needs the server")
            assert screen.busy is None and len(app.desk.draws.list()) == 3  # nothing drawn, nothing half-done
            assert "Drone" not in shown(screen.history)

    asyncio.run(go())


def test_redraw_asks_first_and_needs_the_server_too(tmp_path):
    async def go():
        app = seeded_app(tmp_path, "organizer")
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_drawing(pilot, app)
            screen.history.focus()
            await pilot.press("r")
            dialog = await until(pilot, lambda: isinstance(app.screen, ConfirmDialog) and app.screen, what="the ask")
            assert "discards this draw" in str(dialog.detail) and PEOPLE[118] in str(dialog.detail)
            await pilot.press("n")
            await until(pilot, lambda: app.screen is screen, what="the dialog to close")
            await pilot.pause(0.1)
            assert screen.message == "" and app.desk.draws.get("d-kb-2").status == "proposed"

            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the ask again")
            await pilot.press("y")
            await until(pilot, lambda: "A draw needs the server" in screen.message, what="the offline error")
            assert app.desk.draws.get("d-kb-2").status == "proposed"

    asyncio.run(go())


def test_staff_see_results_but_not_the_form(tmp_path):
    async def go():
        app = seeded_app(tmp_path, "staff")
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_drawing(pilot, app)
            assert "Only organizers run draws" in shown(screen.query_one("#draw-not-allowed"))
            assert not screen.query_one("#draw-prize").is_on_screen
            assert not screen.query_one("#draw-run").is_on_screen
            assert f"1. #118 {PEOPLE[118]}" in result_text(app)
            assert "y confirms" not in result_text(app)  # not theirs to decide
            await pilot.press("d", "y", "r")
            await pilot.pause(0.2)
            assert screen.busy is None and screen.message == "" and isinstance(app.screen, DrawingScreen)

    asyncio.run(go())


def test_a_draw_against_the_server_is_proposed_confirmed_and_redrawn(tmp_path, server_database):
    """The real thing: a server with five registered people (none checked in yet)."""
    world = make_tui_world(tmp_path, server_database)
    names = {p["name"] for p in world.people}

    async def go():
        app = world.app()
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.desk.station.counts().registered == 5, what="the replica to fill")
            screen = await open_drawing(pilot, app)
            assert app.focused is screen.query_one("#draw-prize", Input)  # no draw waiting: straight to the form
            # Nobody is checked in: drawing among the checked in only is refused with the server's reason.
            await pilot.press(*"Hoodie", "enter")
            await until(pilot, lambda: "Only 0 people can win" in screen.message, what="the server's refusal")

            # Among everyone registered (the switch off), two winners.
            await pilot.press("tab", "backspace", "2", "tab", "space")
            assert screen.query_one("#draw-checked-in").value is False
            await pilot.press("d")
            await until(pilot, lambda: screen.message.startswith("Drawn: Hoodie"), what="the draw")
            first = screen.shown_draw
            assert first.status == "proposed" and first.pool_size == 5 and len(first.winners) == 2
            assert {w.name for w in first.winners} <= names
            assert "Hoodie · proposed — y confirms, r redraws" in result_text(app)
            assert app.focused is screen.history  # so y / r / e work at once

            # Redraw asks first, then discards the draw and draws again with a new seed.
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the ask")
            await pilot.press("y")
            await until(pilot, lambda: screen.message.startswith("Redrawn: Hoodie"), what="the redraw")
            second = screen.shown_draw
            assert second.id != first.id and second.seed != first.seed and second.status == "proposed"
            assert app.desk.draws.get(first.id).status == "discarded"

            await pilot.press("y")
            await until(pilot, lambda: screen.message.startswith("Confirmed: Hoodie"), what="the confirmation")
            assert app.desk.draws.get(second.id).status == "confirmed"
            assert "Hoodie · confirmed" in result_text(app)
            history = shown(screen.history)
            assert "History (2)" in history and "confirmed" in history and "discarded" in history

    try:
        asyncio.run(go())
    finally:
        world.close()
