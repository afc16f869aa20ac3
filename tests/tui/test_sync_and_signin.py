"""The Sync screen and signing in, driven like a person would, against a real server that goes away and
comes back: what the desk shows offline and after, a check-in the server refuses, the sign-in form's
errors, and a desk that starts while the server is down."""

from __future__ import annotations

import asyncio
import time

from focusdesk.station.credentials import TokenStore
from focusdesk.station.desk import DeskConfig
from focusdesk.tui.dialogs.confirm import ConfirmDialog
from focusdesk.tui.dialogs.event_picker import EventPicker
from focusdesk.tui.run import build_app
from focusdesk.tui.screens.desk import DeskScreen
from focusdesk.tui.screens.signin import SignInScreen
from focusdesk.tui.screens.sync import SyncScreen
from focusdesk.tui.widgets.attention_list import AttentionList
from focusdesk.tui.widgets.status_bar import StatusBar
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, LiveServer, free_port, make_event
from tests.tui_support import make_tui_world, shown, until


def status_line(app) -> str:
    return shown(app.screen.query_one(StatusBar))


def sync_summary(app) -> str:
    return shown(app.screen.query_one("#sync-summary"))


async def open_sync(pilot, app) -> SyncScreen:
    await until(pilot, lambda: app.desk.station.counts().registered == 5, what="the replica to fill")
    await pilot.press("f3")
    return await until(pilot, lambda: isinstance(app.screen, SyncScreen) and app.screen, what="the Sync screen")


def test_a_check_in_the_server_refuses_needs_attention_and_discarding_asks_first(tmp_path, server_database):
    world = make_tui_world(tmp_path, server_database)
    kim = world.people[2]  # 김민준

    async def go():
        app = world.app()
        async with app.run_test(size=(100, 30)) as pilot:
            await open_sync(pilot, app)
            await until(pilot, lambda: "Online — live updates" in sync_summary(app), what="online via live")
            assert "Queue" in sync_summary(app) and "all sent" in sync_summary(app)
            assert "± " in sync_summary(app) and "s ago" in sync_summary(app)  # clock offset ± error, last sync

            # While the desk cannot reach its server, it checks Kim in (queued) — and meanwhile an
            # organizer removes Kim through another server instance on the same database.
            await asyncio.to_thread(world.server.stop)
            app.desk.check_in(kim["id"])
            elsewhere = await asyncio.to_thread(LiveServer(database_url=world.server.database_url).start)
            admin = Api(elsewhere.url)
            await asyncio.to_thread(admin.login, ADMIN_EMAIL, ADMIN_PASSWORD)
            r = await asyncio.to_thread(admin.delete, f"/api/v1/events/{world.event_id}/attendees/{kim['id']}")
            assert r.status_code == 204, r.text
            admin.close()
            await asyncio.to_thread(elsewhere.stop)
            await asyncio.to_thread(world.server.start)

            attention = app.screen.query_one(AttentionList)
            await until(pilot, lambda: attention.items, timeout=15, what="the refusal to come back")
            (item,) = attention.items
            assert item.kind == "rejected" and item.code == "unknown_attendee"
            text = shown(attention)
            assert "Refused" in text and "Check-in of 김민준 was refused by the server" in text
            assert "Needs attention (1)" in text
            await until(pilot, lambda: "Queue 0" in status_line(app), what="the queue to drain")
            assert "1 need attention" in status_line(app)
            # ... and it was said at once (with the next coalesced repaint), whatever screen the person was on.
            # The Sync screen's once-a-second repaint may list the item a moment before that repaint.
            await until(
                pilot,
                lambda: any("was refused by the server" in n.message for n in app._notifications),
                timeout=2,
                what="the refusal to be said as a notification",
            )

            # Discarding asks first; "Keep" keeps it.
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the confirmation")
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, SyncScreen), what="back on the Sync screen")
            assert [i.id for i in attention.items] == [item.id]
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the confirmation")
            await pilot.press("y")
            await until(pilot, lambda: not attention.items, what="the item to go")
            assert app.desk.station.attention() == []
            assert "Nothing needs attention" in shown(attention)
            await pilot.press("ctrl+q")

    try:
        asyncio.run(go())
    finally:
        world.close()


def test_offline_mid_shift_the_desk_queues_and_catches_up_when_the_server_is_back(tmp_path, server_database):
    world = make_tui_world(tmp_path, server_database)
    anna = world.people[0]

    async def go():
        app = world.app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_sync(pilot, app)
            await until(pilot, lambda: app.desk.station.status().connection == "online", what="online")
            await asyncio.to_thread(world.server.stop)
            await until(
                pilot,
                lambda: "Offline" in sync_summary(app) or "Reconnecting" in sync_summary(app),
                timeout=10,
                what="offline or reconnecting on the Sync screen",
            )
            result = app.desk.check_in(anna["id"])
            assert result.attendee.checked_in  # at once, on the replica
            await until(pilot, lambda: "Queue 1" in status_line(app), what="the check-in to be queued")
            assert "1 waiting to be sent" in sync_summary(app)
            await until(pilot, lambda: "Offline" in sync_summary(app), timeout=10, what="offline")
            assert "cannot reach the server" in sync_summary(app)  # the last problem, in words
            # After five failed sends the command is listed as stuck, with who it is about and why.
            await until(pilot, lambda: "Stuck" in sync_summary(app), timeout=15, what="the command to be stuck")
            assert "#1 checkin Anna Smith" in sync_summary(app)

            await pilot.press("r")  # retry now: harmless while the server is away
            await asyncio.to_thread(world.server.start)
            await until(pilot, lambda: "Queue 0" in status_line(app), timeout=15, what="the queue to drain")
            await until(pilot, lambda: "Online" in sync_summary(app), what="online again")
            assert "all sent" in sync_summary(app)
            assert app.desk.station.attention() == []
            truth = (
                await asyncio.to_thread(world.api.get, f"/api/v1/events/{world.event_id}/attendees/{anna['id']}")
            ).json()
            assert truth["checked_in"] and truth["checked_in_station"] == "Desk 2"
            await pilot.press("ctrl+q")

    try:
        asyncio.run(go())
    finally:
        world.close()


def test_sign_in_shows_the_servers_words_keeps_the_fields_and_opens_the_desk(tmp_path, server_database):
    world = make_tui_world(tmp_path, server_database)
    other = make_event(world.api, name="Other Conf")

    async def type_into(pilot, app, field: str, text: str) -> None:
        box = app.screen.field(field)
        box.value = ""
        box.focus()
        await pilot.press(*text)

    async def go():
        app = world.app(signed_in=False)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await until(pilot, lambda: isinstance(app.screen, SignInScreen) and app.screen, what="sign-in")
            assert screen.field("server").value == world.server.url
            assert screen.field("email").value == ADMIN_EMAIL
            assert screen.field("password").password and screen.field("password").value == ""
            assert screen.field("desk").value == "Desk 2"

            # A server that is not there.
            nowhere = f"http://127.0.0.1:{free_port()}"
            await type_into(pilot, app, "server", nowhere)
            await type_into(pilot, app, "password", "whatever-1")
            await pilot.press("enter")
            await until(pilot, lambda: "Cannot reach" in screen.message, what="the network error")
            assert screen.message == f"Cannot reach the server at {nowhere} — check the address and the network."
            assert app.desk is None

            # The right server, a wrong password: the server's words, and every field kept.
            await type_into(pilot, app, "server", world.server.url)
            await type_into(pilot, app, "password", "wrong-password")
            await pilot.press("enter")
            await until(pilot, lambda: "Wrong" in screen.message, what="the server's refusal")
            assert screen.message == "Wrong email or password."
            assert screen.values() == {
                "server": world.server.url,
                "email": ADMIN_EMAIL,
                "password": "wrong-password",
                "desk": "Desk 2",
            }
            assert app.desk is None

            # The right password: two events, so the picker asks (the remembered one first).
            await type_into(pilot, app, "password", ADMIN_PASSWORD)
            await pilot.press("enter")
            picker = await until(pilot, lambda: isinstance(app.screen, EventPicker) and app.screen, what="picker")
            assert [e["id"] for e in picker.events] == [world.event_id, other["id"]]
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DeskScreen), what="the desk screen")
            assert app.desk is not None and app.desk.station.event_id == world.event_id
            await until(pilot, lambda: app.desk.station.counts().registered == 5, what="the replica to fill")
            saved = DeskConfig.load(world.directory)
            assert (saved.server_url, saved.email, saved.event_id, saved.event_name) == (
                world.server.url,
                ADMIN_EMAIL,
                world.event_id,
                "Test Conf",
            )
            assert TokenStore(world.directory, use_keyring=False).load(saved.server_url, saved.station_id)
            await pilot.press("ctrl+q")

    try:
        asyncio.run(go())
    finally:
        world.close()


def test_a_desk_with_a_replica_opens_offline_when_the_server_is_down(tmp_path, server_database, monkeypatch):
    world = make_tui_world(tmp_path, server_database)

    async def first_shift():
        # The desk worked once: its station file holds the replica.
        context = world.context(pair_printer=None)
        desk = context.desk
        await desk.start()
        deadline = time.monotonic() + 10
        while desk.station.counts().registered < 5:
            assert time.monotonic() < deadline, "the replica never filled"
            await asyncio.sleep(0.05)
        await desk.stop()

    try:
        asyncio.run(first_shift())
        world.config.save(world.directory)
        TokenStore(world.directory, use_keyring=False).save(world.server.url, world.config.station_id, world.token)
        world.server.stop()
        monkeypatch.setenv("FOCUSDESK_NO_KEYRING", "1")

        async def go():
            app = build_app(None, None, world.directory)
            async with app.run_test(size=(80, 24)) as pilot:
                await until(pilot, lambda: isinstance(app.screen, DeskScreen), what="the desk screen")
                assert app.desk.station.counts().registered == 5
                await pilot.press("f3")
                await until(pilot, lambda: isinstance(app.screen, SyncScreen), what="the Sync screen")
                # The summary is redrawn as the status settles: wait for the offline state and its row.
                await until(
                    pilot,
                    lambda: "Offline" in sync_summary(app) and "Last sync" in sync_summary(app),
                    timeout=15,
                    what="offline, with the last sync",
                )
                (last_sync,) = [line for line in sync_summary(app).splitlines() if "Last sync" in line]
                assert "s ago" in last_sync  # how old the list is, from the last run — not "never"
                await pilot.press("ctrl+q")

        asyncio.run(go())
    finally:
        world.close()
