"""The Notices screen and high-priority interrupts, driven with keys on an offline desk whose replica holds
the organizers' notices (tests/tui_offline.py): the feed, acknowledging (queued while offline), sending a
notice (organizers only) with its form's complaints, and a high-priority notice ringing once on whatever
screen is showing while medium and low ones wait quietly in the feed."""

from __future__ import annotations

import asyncio
import json

from textual.widgets import Select, TextArea

from focusdesk.domain.timeutil import to_iso
from focusdesk.tui.dialogs.compose_notice import ComposeNoticeDialog
from focusdesk.tui.screens.desk import DeskScreen
from focusdesk.tui.screens.notices import NoticesScreen
from focusdesk.tui.widgets.notice_list import NoticeList
from focusdesk.tui.widgets.status_bar import StatusBar
from tests.tui_offline import offline_app, rooms_notices_draws_state
from tests.tui_support import make_tui_world, shown, until

NOW = 1_795_430_040.0  # 2026-11-23 11:34 at the venue (Europe/Berlin)
TALL = (120, 60)  # every seeded notice on screen at once


def seeded_app(tmp_path, role: str):
    app = offline_app(tmp_path, wall=NOW)
    station = app.desk.station
    station.set_account({"id": 12, "email": f"{role}@demo.focusdesk.test", "grants": [{"role": role, "event_id": 1}]})
    station.apply_snapshot("offline-epoch", 1, rooms_notices_draws_state(NOW))
    return app


def count_bells(app) -> list[int]:
    rings: list[int] = []
    app.bell = lambda: rings.append(1)
    return rings


async def open_notices(pilot, app) -> NoticesScreen:
    await pilot.press("f5")
    return await until(pilot, lambda: isinstance(app.screen, NoticesScreen) and app.screen, what="the Notices screen")


def feed_text(app) -> str:
    return shown(app.screen.query_one(NoticeList))


def queued(app) -> list[tuple[str, dict]]:
    rows = app.desk.station.db.conn.execute("SELECT type, args FROM outbox ORDER BY cmd_seq").fetchall()
    return [(kind, json.loads(args)) for kind, args in rows]


def test_the_feed_shows_priority_sender_audience_expiry_and_what_waits_for_me(tmp_path):
    async def go():
        app = seeded_app(tmp_path, "staff")
        async with app.run_test(size=TALL) as pilot:
            await open_notices(pilot, app)
            text = feed_text(app)
            assert "HIGH" in text and "Hall B is full — send people to Hall C" in text
            assert "11:14 · from organizer@demo.focusdesk.test · to everyone" in text  # venue time, not UTC
            assert "Coffee refill at the Hall A bar at 12:00" in text and "to staff · expires 12:04" in text
            assert "to desk Desk 2" in text
            # Each of the four current notices waits for this person; staff do not see who else acknowledged.
            assert text.count("NEEDS YOUR ACKNOWLEDGEMENT") == 4
            assert "acknowledged by" not in text
            # The expired one is hidden until x shows it, dimmed and marked expired.
            assert "Doors open at 08:30" not in text
            summary = shown(app.screen.query_one("#notices-summary"))
            assert "4 to acknowledge (1 high priority)" in summary and "1 expired hidden" in summary
            await pilot.press("x")
            await until(pilot, lambda: "Doors open at 08:30" in feed_text(app), what="the expired notice")
            assert "expired 10:34" in feed_text(app) and "you did not acknowledge it" in feed_text(app)
            # The status bar counts what waits for me, on every screen.
            assert "✉ 4 to acknowledge (F5)" in shown(app.screen.query_one(StatusBar))

    asyncio.run(go())


def test_senders_see_who_acknowledged(tmp_path):
    async def go():
        app = seeded_app(tmp_path, "organizer")
        async with app.run_test(size=TALL) as pilot:
            await open_notices(pilot, app)
            text = feed_text(app)
            assert "acknowledged by 3: staff at Desk 1 10:25, anna at Desk 3 10:29, tech at Printer cart 10:34" in text
            assert "acknowledged by 1: staff at Desk 1 11:16" in text
            # The staff-only notice is shown to its sender, but it is not for them to acknowledge.
            assert "Coffee refill" in text and text.count("NEEDS YOUR ACKNOWLEDGEMENT") == 3

    asyncio.run(go())


def test_acknowledging_queues_a_command_and_shows_it_pending(tmp_path):
    async def go():
        app = seeded_app(tmp_path, "staff")
        async with app.run_test(size=TALL) as pilot:
            screen = await open_notices(pilot, app)
            # The highlight starts on the first notice waiting for me: the high one.
            assert screen.feed.highlighted_notice.id == "n-high"
            await pilot.press("a")
            await until(pilot, lambda: queued(app), what="the acknowledgement to be queued")
            ((kind, args),) = queued(app)
            assert kind == "notice_ack" and args["notice_id"] == "n-high"
            await until(pilot, lambda: "✓ you acknowledged it 11:34 (sending…)" in feed_text(app), what="pending")
            assert feed_text(app).count("NEEDS YOUR ACKNOWLEDGEMENT") == 3
            assert "3 to acknowledge" in shown(screen.query_one("#notices-summary"))
            # Once acknowledged, a is off for that notice: pressing it again queues nothing.
            await pilot.press("a")
            await pilot.pause(0.1)
            assert len(queued(app)) == 1

    asyncio.run(go())


def test_compose_refuses_an_empty_message_and_queues_a_notice_with_priority_and_audience(tmp_path):
    async def go():
        app = seeded_app(tmp_path, "organizer")
        async with app.run_test(size=TALL) as pilot:
            await open_notices(pilot, app)
            await pilot.press("c")
            dialog = await until(
                pilot, lambda: isinstance(app.screen, ComposeNoticeDialog) and app.screen, what="the form"
            )
            await pilot.press("ctrl+s")
            await until(pilot, lambda: dialog.problems_shown, what="the complaint")
            assert dialog.problems_shown == {"body": "Message must not be empty"}
            assert queued(app) == []

            # "One desk" with no desk named is refused next to the desk field.
            await pilot.press(*"Hall C doors are stuck", "tab")  # tab leaves the message for the priority
            await pilot.press("enter", "up", "enter")  # priority: medium -> high
            await until(pilot, lambda: dialog.query_one("#compose-priority", Select).value == "high", what="high")
            await pilot.press("tab", "enter", *["down"] * 5, "enter")  # to: one desk…
            await until(pilot, lambda: dialog.query_one("#compose-audience", Select).value == "desk", what="desk")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: "desk" in dialog.problems_shown, what="the desk complaint")
            assert dialog.problems_shown == {"desk": "Desk must be the station id of a desk"}
            assert dialog.query_one("#compose-body", TextArea).text == "Hall C doors are stuck"  # nothing lost

            # To staff instead, expiring in 30 minutes.
            audience = dialog.query_one("#compose-audience", Select)
            audience.focus()
            await pilot.press("enter", *["up"] * 4, "enter")  # one desk… -> staff
            await until(pilot, lambda: audience.value == "role:staff", what="staff")
            dialog.query_one("#compose-expiry").focus()
            await pilot.press(*"30", "ctrl+s")
            await until(pilot, lambda: isinstance(app.screen, NoticesScreen), what="the form to close")

            ((kind, args),) = queued(app)
            assert kind == "notice_post"
            assert args["notice"]["body"] == "Hall C doors are stuck"
            assert args["notice"]["priority"] == "high"
            assert args["notice"]["audience"] == {"kind": "role", "value": "staff"}
            assert args["notice"]["expires_in_s"] == 1800
            await until(pilot, lambda: "Hall C doors are stuck" in feed_text(app), what="the new notice")
            assert "to staff · expires 12:04 · sending…" in feed_text(app)

    asyncio.run(go())


def test_staff_cannot_compose_and_are_told_why(tmp_path):
    async def go():
        app = seeded_app(tmp_path, "staff")
        async with app.run_test(size=TALL) as pilot:
            await open_notices(pilot, app)
            await pilot.press("c")
            await until(
                pilot,
                lambda: any("Only organizers send notices" in n.message for n in app._notifications),
                what="the reason",
            )
            assert isinstance(app.screen, NoticesScreen)  # no form opened
            assert queued(app) == []

    asyncio.run(go())


def notice_record(notice_id: str, priority: str, body: str) -> dict:
    return {
        "id": notice_id,
        "event_id": 1,
        "priority": priority,
        "body": body,
        "audience": {"kind": "all", "value": None},
        "audience_label": "everyone",
        "author": "organizer@demo.focusdesk.test",
        "station_name": "Organizer laptop",
        "created_at": to_iso(NOW),
        "expires_at": None,
        "acks": [],
    }


def test_a_high_priority_notice_rings_once_on_any_screen_and_a_low_one_does_not(tmp_path):
    async def go():
        app = seeded_app(tmp_path, "staff")
        rings = count_bells(app)
        station = app.desk.station
        seq = station.cursor().seq
        async with app.run_test(size=(100, 30)) as pilot:
            # At start: the high notice still waiting from before rings once; the medium and low ones do not.
            await until(pilot, lambda: isinstance(app.screen, DeskScreen), what="the desk")
            await until(pilot, lambda: rings, what="the waiting high notice to ring")
            await pilot.pause(0.2)
            assert len(rings) == 1
            assert [n.message.splitlines()[0] for n in app._notifications] == ["Hall B is full — send people to Hall C"]

            # A new high one arrives while the person is on the Desk screen: a bell and an error toast.
            station.apply_changes(
                [(seq + 1, "notice.posted", {"notice": notice_record("n-fire", "high", "Fire drill")})]
            )
            await until(pilot, lambda: len(rings) == 2, what="the new high notice to ring")
            toast = next(n for n in app._notifications if n.message.startswith("Fire drill"))
            assert toast.severity == "error" and toast.timeout >= 20 and "F5" in toast.message

            # A low one and another change touching the high one: no more bells, no toast.
            low = notice_record("n-low", "low", "Cake in the lobby")
            ack = {"user_id": 7, "user": "staff@demo.focusdesk.test", "station_name": "Desk 1", "at": to_iso(NOW)}
            station.apply_changes(
                [
                    (seq + 2, "notice.posted", {"notice": low}),
                    (seq + 3, "notice.acked", {"notice_id": "n-fire", "ack": ack}),
                ]
            )
            await until(pilot, lambda: station.cursor().seq == seq + 3, what="the changes")
            await pilot.pause(0.3)
            assert len(rings) == 2
            assert not any("Cake" in n.message for n in app._notifications)
            # ... but it is in the feed and counted.
            assert "✉ 6 to acknowledge (F5)" in shown(app.screen.query_one(StatusBar))
            await open_notices(pilot, app)
            assert "Cake in the lobby" in feed_text(app)

    asyncio.run(go())


def test_the_feed_starts_on_the_most_urgent_notice_when_they_arrive_while_it_is_open(tmp_path):
    """The toast says "F5, then a": a must then acknowledge the notice that rang, not the newest."""

    async def go():
        app = offline_app(tmp_path, wall=NOW)
        station = app.desk.station
        station.set_account(
            {"id": 12, "email": "staff@demo.focusdesk.test", "grants": [{"role": "staff", "event_id": 1}]}
        )
        async with app.run_test(size=TALL) as pilot:
            screen = await open_notices(pilot, app)
            assert "No notices" in feed_text(app)
            high, low = notice_record("n-fire", "high", "Fire drill"), notice_record("n-cake", "low", "Cake")
            low["created_at"] = to_iso(NOW + 1)  # the newest: the top row
            station.apply_changes([(2, "notice.posted", {"notice": high}), (3, "notice.posted", {"notice": low})])
            await until(pilot, lambda: len(screen.feed.notices) == 2, what="both notices")
            assert [n.id for n in screen.feed.notices] == ["n-cake", "n-fire"]
            assert screen.feed.highlighted_notice.id == "n-fire"
            await pilot.press("a")
            await until(pilot, lambda: queued(app), what="the acknowledgement")
            assert [args["notice_id"] for _, args in queued(app)] == ["n-fire"]

    asyncio.run(go())


def test_an_acknowledged_high_notice_does_not_ring_at_start(tmp_path):
    async def go():
        app = seeded_app(tmp_path, "staff")
        rings = count_bells(app)
        ack = {"user_id": 12, "user": "staff@demo.focusdesk.test", "station_name": "Desk 2", "at": to_iso(NOW - 60)}
        app.desk.station.apply_changes([(2, "notice.acked", {"notice_id": "n-high", "ack": ack})])
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, DeskScreen), what="the desk")
            await pilot.pause(0.3)
            assert rings == [] and not app._notifications

    asyncio.run(go())


def test_a_notice_sent_through_the_server_is_confirmed_and_does_not_ring_back_at_its_sender(tmp_path, server_database):
    """The real thing: the admin's desk sends a high-priority notice to everyone (themselves included) and
    acknowledges it; both go through the server and come back as live changes."""
    world = make_tui_world(tmp_path, server_database)

    async def go():
        app = world.app()
        rings = count_bells(app)
        async with app.run_test(size=TALL) as pilot:
            await until(pilot, lambda: app.desk.station.counts().registered == 5, what="the replica to fill")
            screen = await open_notices(pilot, app)
            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, ComposeNoticeDialog), what="the form")
            await pilot.press(*"Lunch is served", "tab", "enter", "up", "enter", "ctrl+s")
            await until(pilot, lambda: app.screen is screen, what="the form to close")

            ((_, args),) = [q for q in queued(app) if q[0] == "notice_post"]
            queued_id = args["notice"]["id"]

            def sent():
                found = app.desk.station.notices.get(queued_id)
                return found is not None and not found.pending

            await until(pilot, sent, timeout=15, what="the server to accept the notice")
            await until(pilot, lambda: "sending…" not in feed_text(app), what="the feed to show it sent")
            assert "Lunch is served" in feed_text(app) and "HIGH" in feed_text(app)
            await pilot.pause(0.3)
            assert rings == []  # the sender's own notice does not interrupt them

            assert screen.feed.highlighted_notice.id == queued_id
            await pilot.press("a")

            def acked():
                found = app.desk.station.notices.get(queued_id)
                return found is not None and found.acks and not any(a.pending for a in found.acks)

            await until(pilot, acked, timeout=15, what="the server to confirm the acknowledgement")
            # The sender sees who acknowledged (the admin's display name), and that they did themselves.
            await until(pilot, lambda: "acknowledged by 1: Admin at Desk 2" in feed_text(app), what="the ack")
            assert "✓ you acknowledged it" in feed_text(app) and "sending…" not in feed_text(app)

    try:
        asyncio.run(go())
    finally:
        world.close()
