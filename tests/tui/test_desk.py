"""The check-in desk as staff use it: keys only, against a real server and a virtual printer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from textual.widgets import Input, Static

from focusdesk.station.model import Attendee
from focusdesk.tui.dialogs.confirm import ConfirmDialog
from focusdesk.tui.dialogs.walk_in import WalkInDialog
from focusdesk.tui.screens.desk import DeskScreen
from focusdesk.tui.widgets.attendee_panel import AttendeePanel
from focusdesk.tui.widgets.counters import Counters
from focusdesk.tui.widgets.results import Columns, ResultsList, result_line
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api
from tests.tui_support import make_tui_world

SIZE = (120, 40)


@pytest.fixture
def world(tmp_path, server_database):
    w = make_tui_world(tmp_path, server_database)
    yield w
    w.close()


async def until(pilot, condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def person(world, name: str) -> dict:
    return next(p for p in world.people if p["name"] == name)


async def desk_ready(app, pilot) -> DeskScreen:
    """The desk screen is up and its replica holds the event's people."""
    await until(pilot, lambda: isinstance(app.screen, DeskScreen), "the desk screen")
    await until(pilot, lambda: app.desk.station.counts().registered == 5, "the replica to sync")
    return app.screen


def banner(screen) -> Static:
    return screen.query_one("#banner", Static)


def banner_text(screen) -> str:
    return str(banner(screen).render())


def printed(world) -> int:
    return len(world.printers.device("niimbot-b1").printed)


def test_three_letters_list_matches_and_enter_checks_in_and_prints(world):
    anna = person(world, "Anna Smith")

    async def run():
        app = world.app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await desk_ready(app, pilot)
            results = screen.query_one(ResultsList)
            box = screen.query_one("#search", Input)
            assert not results.people, "an empty box shows a hint, not everyone"
            await pilot.press(*"ann")
            assert [p.name for p in results.people] == ["Anna Smith", "Annika Berg"]
            await pilot.pause()
            rows = [results.render_line(y).text for y in range(2)]
            assert "Anna Smith" in rows[0] and "#1" in rows[0] and "ACME" in rows[0] and "Speaker" in rows[0]
            assert results.highlighted_person.id == anna["id"]
            assert screen.query_one(AttendeePanel).attendee_id == anna["id"]

            await pilot.press("down", "up", "down")  # the highlight moves; the box keeps the focus
            assert results.highlighted_person.name == "Annika Berg"
            assert app.focused is box
            await pilot.press("up", "enter")
            assert app.desk.station.get(anna["id"]).checked_in
            await pilot.pause()
            assert box.value == "" and app.focused is box
            assert "Anna Smith checked in" in banner_text(screen)
            assert "badge queued on Niimbot B1" in banner_text(screen)
            assert banner(screen).has_class("-success")
            await until(pilot, lambda: printed(world) == 1, "the badge to print")
            # The panel keeps showing who was just checked in, with the badge once it is out.
            panel = screen.query_one(AttendeePanel)
            assert panel.attendee_id == anna["id"]
            await until(pilot, lambda: "1 printed" in str(panel.query_one("#panel-body", Static).render()), "panel")

    asyncio.run(run())


def test_scanned_badge_checks_in_and_a_second_scan_warns_without_a_second_badge(world):
    jose = person(world, "José Müller")

    async def run():
        app = world.app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await desk_ready(app, pilot)
            secret = app.desk.station.get(jose["id"]).qr_secret
            await pilot.press(*secret, "enter")  # what a USB scanner types
            assert app.desk.station.get(jose["id"]).checked_in
            assert "José Müller checked in" in banner_text(screen)
            await until(pilot, lambda: printed(world) == 1, "the badge to print")

            await pilot.press(*secret, "enter")
            await pilot.pause()
            text = banner_text(screen)
            assert "José Müller was already checked in at" in text and "at Desk 2" in text
            assert banner(screen).has_class("-warning")
            assert screen.query_one("#search", Input).value == ""
            badge_jobs = [j for j in app.desk.printing.jobs() if j.attendee_id == jose["id"]]
            assert len(badge_jobs) == 1, "a duplicate scan queues no second badge"
            await pilot.pause(0.5)
            assert printed(world) == 1

            await pilot.press(*"no-such-code-123456", "enter")
            assert "belongs to nobody" in banner_text(screen)
            assert banner(screen).has_class("-error")

    asyncio.run(run())


def test_undo_takes_back_the_last_check_in(world):
    zoe = person(world, "Zoë Ångström")

    async def run():
        app = world.app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await desk_ready(app, pilot)
            await pilot.press("ctrl+z")
            assert "has not checked anyone in" in banner_text(screen)
            await pilot.press(*"zoe", "enter")
            assert app.desk.station.get(zoe["id"]).checked_in
            await pilot.press("ctrl+z")
            assert not app.desk.station.get(zoe["id"]).checked_in
            assert "check-in of Zoë Ångström undone" in banner_text(screen)
            assert app.focused is screen.query_one("#search", Input)

    asyncio.run(run())


def test_walk_in_keeps_the_form_on_a_bad_email_then_checks_in_and_prints(world):
    async def run():
        app = world.app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await desk_ready(app, pilot)
            await pilot.press(*"Bob Jones")  # nobody matches: the form starts with the name typed
            await pilot.press("ctrl+n")
            await until(pilot, lambda: isinstance(app.screen, WalkInDialog), "the walk-in form")
            first = app.screen
            assert first.query_one("#walkin-name", Input).value == "Bob Jones"
            await pilot.press("tab", *"bob@", "tab", *"Hooli", "enter")
            await until(
                pilot, lambda: isinstance(app.screen, WalkInDialog) and app.screen is not first, "the form again"
            )
            form = app.screen
            error = form.query_one("#walkin-email-error", Static)
            assert "not an email address" in str(error.render())
            assert error.display and error.region.height > 0, "the problem shows next to the field"
            assert form.query_one("#walkin-email", Input).has_class("-problem")
            assert form.query_one("#walkin-name", Input).value == "Bob Jones"
            assert form.query_one("#walkin-company", Input).value == "Hooli"
            assert app.focused is form.query_one("#walkin-email", Input)
            assert app.desk.station.counts().registered == 5, "nothing registered yet"

            await pilot.press("ctrl+u", *"bob@example.com", "enter")
            await until(pilot, lambda: app.screen is screen, "the desk again")
            bob = app.desk.station.search("Bob Jones")[0]
            assert bob.checked_in and bob.company == "Hooli"
            assert "Bob Jones registered and checked in" in banner_text(screen)
            assert app.focused is screen.query_one("#search", Input)
            await until(pilot, lambda: printed(world) == 1, "the walk-in's badge")

            await pilot.press("ctrl+n")
            await until(pilot, lambda: isinstance(app.screen, WalkInDialog), "the walk-in form")
            await pilot.press(*"Nobody", "escape")
            await until(pilot, lambda: app.screen is screen, "the desk again")
            assert not app.desk.station.search("Nobody")

    asyncio.run(run())


def test_reprint_asks_first_and_prints_only_after_yes(world):
    anna = person(world, "Anna Smith")

    async def run():
        app = world.app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await desk_ready(app, pilot)
            await pilot.press(*"anna", "enter")
            await until(pilot, lambda: printed(world) == 1, "the first badge")
            await until(pilot, lambda: app.desk.printing.badges_printed(anna["id"]) == 1, "the job marked printed")

            await pilot.press("ctrl+r")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
            detail = str(app.screen.query_one("#confirm-detail", Static).render())
            assert "1 badge already printed" in detail and "not admitting a person" in detail
            await pilot.press("n")
            await until(pilot, lambda: app.screen is screen, "the desk again")
            assert len(app.desk.printing.jobs()) == 1, "no means no badge"

            await pilot.press("ctrl+r")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
            await pilot.press("y")
            await until(pilot, lambda: printed(world) == 2, "the reprint")
            assert "Reprint of Anna Smith's badge queued on Niimbot B1" in banner_text(screen)
            assert app.focused is screen.query_one("#search", Input)

    asyncio.run(run())


def test_counters_and_results_follow_another_desk(world):
    annika = person(world, "Annika Berg")

    async def run():
        app = world.app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await desk_ready(app, pilot)
            counters = screen.query_one(Counters)
            await until(pilot, lambda: counters.counts is not None and counters.counts.checked_in == 0, "counters")
            await pilot.press(*"ann", "down")
            results = screen.query_one(ResultsList)
            assert results.highlighted_person.id == annika["id"]

            other = Api(world.server.url)
            try:
                other.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Desk 1")
                assert other.checkin(world.event_id, annika["id"])["status"] == "applied"
            finally:
                other.close()

            await until(pilot, lambda: counters.counts.checked_in == 1, "the counters to move", timeout=15)
            assert "1 / 5" in str(counters.render())
            await until(pilot, lambda: results.highlighted_person.checked_in, "the row to show the check-in")
            await pilot.pause()
            row = results.render_line(1).text
            assert "✓ Annika Berg" in row and "Desk 1" in row
            assert results.highlighted_person.id == annika["id"], "the highlight stays on the same person"
            assert results.highlighted_person.checked_in_station == "Desk 1"
            panel = str(screen.query_one(AttendeePanel).query_one("#panel-body", Static).render())
            assert "Checked in" in panel and "Desk 1" in panel

            # The second desk's check-in counts here too: Enter now says so, prominently.
            await pilot.press("enter")
            assert "already checked in" in banner_text(screen) and "Desk 1" in banner_text(screen)

    asyncio.run(run())


def test_desk_actions_are_in_the_command_palette(world):
    async def run():
        app = world.app()
        async with app.run_test(size=SIZE) as pilot:
            await desk_ready(app, pilot)
            await pilot.press("ctrl+p")
            await pilot.pause(0.2)
            await pilot.press(*"walk-in regis")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, WalkInDialog), "the walk-in form from the palette")

    asyncio.run(run())


def test_a_result_row_shows_number_or_pending_and_when_and_where_someone_came_in():
    walk_in = Attendee(
        id="a1", event_id=1, registration_number=None, name="Bob Jones", email=None, company="Hooli",
        ticket_type="VIP", custom={}, status="registered", qr_secret="s", checked_in=True,
        checked_in_at=1_795_000_000.0, checked_in_station="Desk 2", checkin_count=1, pending=True,
    )  # fmt: skip
    wide = result_line(walk_in, Columns.for_width(100), "Europe/Berlin").plain
    assert wide.startswith("✓ Bob Jones") and "pending" in wide and "Hooli" in wide and "VIP" in wide
    assert "12:06 Desk 2" in wide
    narrow = result_line(walk_in, Columns.for_width(40), "Europe/Berlin").plain
    assert len(narrow) <= 40 and "Bob Jones" in narrow and "pending" in narrow
