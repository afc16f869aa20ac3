"""The Operations board (F9), driven with keys.

Against a real server on loopback (each backend ``--database`` selects): other desks report over their
live connections — here raw WebSocket desks sending ``presence`` frames as a desk does — and the signed-in
desk reports itself. The board lists desks with problems first, follows a change on another desk without a
key and keeps the cursor on its desk, opens a desk's history with Enter; when the server goes away it says
why and keeps the last board, dimmed; a staff account has no F9 (and the server refuses it the board).
The offline desk of tests/tui_offline.py with a fixed board shows who may see the screen.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from focusdesk.station.desk import DeskConfig
from focusdesk.tui.app import FocusDeskApp
from focusdesk.tui.context import DeskContext
from focusdesk.tui.dialogs.desk_history import DeskHistoryDialog
from focusdesk.tui.screens.desk import DeskScreen
from focusdesk.tui.screens.operations import OperationsScreen
from tests.live_support import hello, open_ws
from tests.support import Api, add_user
from tests.tui.test_reservations import plain
from tests.tui_offline import offline_app
from tests.tui_operations import FixedBoard, board_body, history_body, printer, report, with_board
from tests.tui_support import FAST_SYNC, TuiWorld, make_tui_world, shown, until

SIZE = (120, 40)
NOW = 1_795_430_040.0


class RawDesk:
    """Another desk of the event, as the server sees one: signed in, on the live channel, reporting."""

    def __init__(self, world: TuiWorld, name: str) -> None:
        self.world = world
        self.name = name
        self.api = Api(world.server.url)
        self.ws = None

    async def open(self, **fields) -> RawDesk:
        from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD

        await asyncio.to_thread(self.api.login, ADMIN_EMAIL, ADMIN_PASSWORD, desk=self.name)
        self.station_id = self.api.station_id
        self.ws = await open_ws(self.world.server.url)
        welcome = await hello(self.ws, self.api.token, self.station_id)
        assert welcome["type"] == "welcome", welcome
        await self.report(**fields)
        return self

    def stored(self) -> dict | None:
        r = self.api.get(f"/api/v1/events/{self.world.event_id}/operations")
        assert r.status_code == 200, r.text
        return next((d for d in r.json()["desks"] if d["station_id"] == self.station_id), None)

    async def report(self, **fields) -> None:
        """Send a report and see the server store it (it refuses reports closer than half a second apart:
        then the desk sends it again, as a real desk does)."""
        body = report(**fields)
        deadline = time.monotonic() + 15
        while True:
            await self.ws.send(json.dumps({"type": "presence", "event_id": self.world.event_id, "report": body}))
            for _ in range(20):
                desk = await asyncio.to_thread(self.stored)
                if desk is not None and desk["report"] == body:
                    return
                await asyncio.sleep(0.05)
            assert time.monotonic() < deadline, f"the server never stored {self.name}'s report"

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await asyncio.to_thread(self.api.close)


async def open_operations(pilot, app) -> OperationsScreen:
    await until(pilot, lambda: app.desk.station.account() is not None, what="the desk to know who signed in")
    await pilot.press("f9")
    return await until(pilot, lambda: isinstance(app.screen, OperationsScreen) and app.screen, what="F9")


async def cursor_to(pilot, screen: OperationsScreen, station_id: str) -> None:
    """Arrow keys until the cursor is on that desk (this desk's own report may reorder the board meanwhile)."""
    for _ in range(30):
        if screen.selected is not None and screen.selected.desk.station_id == station_id:
            return
        await pilot.press("down" if screen.desk_ids.index(station_id) > screen.table.cursor_row else "up")
    raise AssertionError(f"the cursor never reached {station_id}")


def worst(row) -> int:
    """0: a critical problem, 1: warnings only, 2: healthy."""
    return 0 if any(p.severity == "critical" for p in row.problems) else 1 if row.problems else 2


def row_text(screen: OperationsScreen) -> str:
    return shown(screen.table)


def health(screen: OperationsScreen) -> str:
    return shown(screen.query_one("#ops-health"))


def test_the_board_puts_problems_first_follows_other_desks_live_and_enter_shows_a_history(
    tmp_path, server_database, monkeypatch
):
    # No timer: a change on another desk must reach the board through the live change it makes.
    monkeypatch.setattr(OperationsScreen, "REFRESH_S", 3600.0)
    world = make_tui_world(tmp_path, server_database)

    async def go():
        desk1 = await RawDesk(world, "Desk 1").open(printer=printer("Niimbot B1", battery=90))
        desk3 = await RawDesk(world, "Desk 3").open(queued=2, printer=printer("Niimbot D110", "no_paper", 64))
        app = world.app()
        try:
            async with app.run_test(size=SIZE) as pilot:
                screen = await open_operations(pilot, app)
                me = app.desk.station.station_id
                # This desk reports itself once its live channel is up; the board hears of it live.
                await until(pilot, lambda: me in screen.desk_ids, timeout=15, what="this desk on the board")
                # Problems first: critical (Desk 3, out of paper), then warnings, then the healthy (Desk 1).
                rank = {r.desk.station_id: worst(r) for r in screen.board.rows}
                assert list(rank.values()) == sorted(rank.values()), rank
                assert rank[desk3.station_id] == 0 and rank[desk1.station_id] == 2
                text = await until(pilot, lambda: "Desk 2 ◀" in row_text(screen) and row_text(screen))
                assert "✕ Desk 3" in text and "no paper · 64%" in text
                assert "3 online · 0 offline" in plain(screen.table.border_title)
                assert "ok" in health(screen) and "database ok" in health(screen)
                assert "Checked in 0 of 5" in plain(screen.query_one("#ops-rate").border_title)

                # The cursor on Desk 1; Desk 1's commands get stuck and it jumps to the top: the cursor follows.
                await cursor_to(pilot, screen, desk1.station_id)
                await desk1.report(queued=4, stuck=2, printer=printer("Niimbot B1", battery=90))
                await until(pilot, lambda: screen.desk_ids[0] == desk1.station_id, what="Desk 1 first, stuck")
                assert screen.selected.desk.station_id == desk1.station_id
                assert screen.table.cursor_row == screen.desk_ids.index(desk1.station_id) == 0
                await until(pilot, lambda: "4 · 2 stuck" in row_text(screen), what="the stuck commands shown")

                # Enter: Desk 3's history from the server, newest first; Escape closes it.
                await cursor_to(pilot, screen, desk3.station_id)
                await pilot.press("enter")
                dialog = await until(pilot, lambda: isinstance(app.screen, DeskHistoryDialog) and app.screen,
                                     what="the history dialog")  # fmt: skip
                await until(pilot, lambda: dialog.entries is not None, what="the history")
                assert dialog.entries[0]["summary"].startswith("online · printer no paper")
                assert "Desk 3" in shown(dialog.query_one("#desk-history-now"))
                await until(pilot, lambda: "printer no paper" in shown(dialog.query_one("#desk-history-body")))
                await pilot.press("escape")
                await until(pilot, lambda: app.screen is screen, what="the dialog to close")

                # Desk 3 closes and says goodbye: closed at once (no timeout to wait for). Its printer is no
                # one's problem any more, but the two commands it closed with are: a warning, not critical.
                await desk3.ws.send(json.dumps({"type": "presence", "leaving": True}))
                await until(pilot, lambda: "1 closed" in plain(screen.table.border_title), what="Desk 3 closed")
                assert "0 offline" in plain(screen.table.border_title)
                row = next(r for r in screen.board.rows if r.desk.station_id == desk3.station_id)
                assert [(p.severity, p.text) for p in row.problems] == [("warning", "closed with 2 queued")]
                assert screen.desk_ids[0] == desk1.station_id  # the stuck desk stays on top
                assert "○ closed" in row_text(screen)
                await app.action_quit()
        finally:
            await desk1.close()
            await desk3.close()

    try:
        asyncio.run(go())
    finally:
        world.close()


def test_when_the_server_goes_away_the_board_says_why_and_keeps_the_last_board_dimmed(tmp_path, server_database):
    world = make_tui_world(tmp_path, server_database)

    async def go():
        desk3 = await RawDesk(world, "Desk 3").open(printer=printer("Niimbot D110", "cover_open"))
        app = world.app()
        try:
            async with app.run_test(size=(80, 24)) as pilot:
                screen = await open_operations(pilot, app)
                await until(pilot, lambda: desk3.station_id in screen.desk_ids, what="Desk 3 on the board")
                before = screen.desk_ids
                assert not screen.has_class("-stale")
                await desk3.close()
                await asyncio.to_thread(world.server.stop)
                said = await until(pilot, lambda: "The board below is as of" in health(screen) and health(screen),
                                   timeout=15, what="the failure on screen")  # fmt: skip
                assert "Unreachable: cannot reach the server" in said
                assert screen.desk_ids == before and "cover open" in row_text(screen)  # the last board stays
                assert screen.has_class("-stale") and "as of " in plain(screen.table.border_subtitle)
                await asyncio.to_thread(world.server.start)
                await until(pilot, lambda: not screen.has_class("-stale"), timeout=20, what="the board back")
                await until(pilot, lambda: "Unreachable" not in health(screen), what="the failure gone")
                assert "as of" not in plain(screen.table.border_subtitle)
                await app.action_quit()
        finally:
            await desk3.close()

    try:
        asyncio.run(go())
    finally:
        world.close()


def staff_context(world: TuiWorld) -> DeskContext:
    add_user(world.api, "staff@test.example", "staff", world.event_id, "staff-password-1")
    staff = Api(world.server.url)
    token = staff.login("staff@test.example", "staff-password-1", desk="Desk 5")["token"]
    staff.close()
    config = DeskConfig(**{**vars(world.config), "station_id": staff.station_id, "station_name": "Desk 5",
                           "email": "staff@test.example"})  # fmt: skip
    context = DeskContext(config, directory=world.directory / "staff", use_keyring=False)
    context.open_desk(token, **FAST_SYNC)
    return context


def test_staff_have_no_f9_and_the_server_refuses_them_the_board(tmp_path, server_database):
    world = make_tui_world(tmp_path, server_database)

    async def go():
        app = FocusDeskApp(staff_context(world))
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.desk.station.account() is not None, what="the desk to know who it is")
            assert app.desk.station.roles() == {"staff"}
            await until(pilot, lambda: isinstance(app.screen, DeskScreen), what="the desk screen")
            assert not app.check_action("switch_mode", ("operations",))
            assert "Operations" not in {c.title for c in app.get_system_commands(app.screen)}
            await pilot.press("f9")
            await pilot.pause(0.2)
            assert isinstance(app.screen, DeskScreen)
            # Reached anyway (an old desk file that does not know its roles yet): the server says no, plainly.
            await app.switch_mode("operations")
            screen = await until(pilot, lambda: isinstance(app.screen, OperationsScreen) and app.screen)
            # (Waited for whole: the strip grows to two lines on the next layout.)
            said = await until(pilot, lambda: "Nothing to show" in health(screen) and health(screen),
                               what="the refusal on screen")  # fmt: skip
            assert "Cannot read the board" in said and "operations.read" in said and screen.desk_ids == []
            await app.action_quit()

    try:
        asyncio.run(go())
    finally:
        world.close()


# -- on an offline desk with a fixed board ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "sees"), [("admin", True), ("organizer", True), ("technician", True), ("staff", False)]
)
def test_who_sees_the_operations_screen(tmp_path, role, sees):
    async def go():
        app = with_board(offline_app(tmp_path, wall=NOW), FixedBoard(board_body(NOW), history_body(NOW)))
        app.desk.station.set_account({"id": 3, "email": f"{role}@x.test", "grants": [{"role": role, "event_id": 1}]})
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f9")
            await pilot.pause(0.2)
            assert isinstance(app.screen, OperationsScreen) is sees
            assert ("Operations" in {c.title for c in app.get_system_commands(app.screen)}) is sees

    asyncio.run(go())


def test_the_cursor_stays_on_its_desk_when_the_board_reorders_and_r_reads_again(tmp_path):
    async def go():
        body = board_body(NOW)
        source = FixedBoard(body, history_body(NOW))
        app = with_board(offline_app(tmp_path, wall=NOW), source)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f9")
            screen = await until(pilot, lambda: isinstance(app.screen, OperationsScreen) and app.screen.desk_ids)
            screen = app.screen
            assert screen.desk_ids == ["desk-3", "desk-4", "desk-offline", "entrance", "desk-1", "cart"]
            await pilot.press("ctrl+end")
            assert screen.selected.desk.name == "Printer cart"
            # The cart's printer runs out of paper: it moves up among the critical desks, the cursor with it.
            cart = next(d for d in body["desks"] if d["station_id"] == "cart")
            cart["report"]["printer"]["state"] = "no_paper"
            reads = source.reads
            await pilot.press("r")
            await until(pilot, lambda: screen.desk_ids[2] == "cart", what="the cart among the critical desks")
            assert source.reads > reads
            assert screen.selected.desk.name == "Printer cart" and screen.table.cursor_row == 2

    asyncio.run(go())
