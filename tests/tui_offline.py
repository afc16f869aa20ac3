"""A desk with a loaded replica and no server: deterministic screens for snapshot tests, and a 50,000-person
desk for the TUI benchmark. Nothing runs under it (no sync loop, no printer worker)."""

from __future__ import annotations

from pathlib import Path

from focusdesk.domain.demo_data import DEMO_EVENT, demo_attendees
from focusdesk.domain.timers import BREAK, PAUSED, POMODORO, RUNNING, TimerState
from focusdesk.domain.timeutil import to_iso
from focusdesk.station.desk import DeskConfig
from focusdesk.tui.app import FocusDeskApp
from focusdesk.tui.context import DeskContext
from printers.virtual.world import VirtualWorld

EVENT_ID = 1
UNREACHABLE = "http://127.0.0.1:9"


def attendee_records(count: int) -> list[dict]:
    records = []
    for i, person in enumerate(demo_attendees(count), start=1):
        records.append(
            {
                **person,
                "id": f"att-{i:06d}",
                "event_id": EVENT_ID,
                "registration_number": i,
                "status": "registered",
                "qr_secret": f"QR{i:020d}",
                "checked_in": False,
                "checkin_count": 0,
            }
        )
    return records


def rooms_notices_draws_state(server_now: float) -> dict:
    """Replica sections for the rooms, notices and drawing screens, timed around ``server_now``; load them with
    ``desk.station.apply_snapshot("offline-epoch", 1, rooms_notices_draws_state(now))`` (the attendees stay).

    Notices, as the organizers' desk would hold them: a high one for everyone that Desk 1 acknowledged, a
    medium one for staff that expires in half an hour, a low one three people acknowledged, one for this
    desk only, and one that expired an hour ago. Draws: a confirmed hoodie draw, a keyboard draw that was
    discarded, and its redraw still proposed. Rooms, one in each look (by name): Hall A running a talk
    (35:00 left), Hall B full and in its second pomodoro work phase, Hall C idle, Lounge paused, Studio on a
    pomodoro break, Workshop 1 in its last minute (00:42), Workshop 2 full with its time up."""

    def at(minutes: float) -> str:
        return to_iso(server_now + minutes * 60)

    def ack(user_id: int, user: str, desk: str, minutes: float) -> dict:
        return {"user_id": user_id, "user": user, "station_name": desk, "at": at(minutes)}

    def notice(id_, priority, body, audience, label, minutes, *, expires=None, acks=()):
        return {
            "id": id_, "event_id": EVENT_ID, "priority": priority, "body": body,
            "audience": audience, "audience_label": label,
            "author": "organizer@demo.focusdesk.test", "station_name": "Organizer laptop",
            "created_at": at(minutes), "expires_at": None if expires is None else at(expires), "acks": list(acks),
        }  # fmt: skip

    everyone = {"kind": "all", "value": None}
    notices = [
        notice("n-high", "high", "Hall B is full — send people to Hall C", everyone, "everyone", -20,
               acks=[ack(7, "staff@demo.focusdesk.test", "Desk 1", -18)]),
        notice("n-coffee", "medium", "Coffee refill at the Hall A bar at 12:00", {"kind": "role", "value": "staff"},
               "staff", -40, expires=30),
        notice("n-desk", "low", "Desk 2: a box of label rolls is under the counter",
               {"kind": "desk", "value": "desk-offline"}, "desk Desk 2", -50),
        notice("n-lost", "low", "Lost and found is at the info desk", everyone, "everyone", -70,
               acks=[ack(7, "staff@demo.focusdesk.test", "Desk 1", -69), ack(8, "anna@demo.focusdesk.test",
                     "Desk 3", -65), ack(9, "tech@demo.focusdesk.test", "Printer cart", -60)]),
        notice("n-old", "medium", "Doors open at 08:30", everyone, "everyone", -180, expires=-60),
    ]  # fmt: skip

    people = attendee_records(120)

    def winners(*numbers: int) -> list[dict]:
        return [{"attendee_id": people[n - 1]["id"], "name": people[n - 1]["name"], "registration_number": n}
                for n in numbers]  # fmt: skip

    def draw(id_, prize, status, numbers, minutes, seed, pool, *, decided=None):
        return {
            "id": id_, "event_id": EVENT_ID, "prize": prize, "checked_in_only": True, "count": len(numbers),
            "seed": seed, "pool_size": pool, "winners": winners(*numbers), "status": status,
            "by": "organizer@demo.focusdesk.test", "created_at": at(minutes),
            "decided_at": None if decided is None else at(decided),
        }  # fmt: skip

    draws = [
        draw("d-hoodie", "Conference hoodie", "confirmed", (7, 42), -120, "5be1" * 8, 212, decided=-119),
        draw("d-kb-1", "Mechanical keyboard", "discarded", (13,), -30, "9f3a" * 8, 240, decided=-25),
        draw("d-kb-2", "Mechanical keyboard", "proposed", (118,), -25, "c0de" * 8, 240),
    ]

    def room(id_, name, capacity, occupancy, timer: TimerState, *, rev: int = 3) -> dict:
        return {
            "id": id_, "event_id": EVENT_ID, "name": name, "capacity": capacity, "occupancy": occupancy,
            "work_s": timer.work_s, "break_s": timer.break_s or 300.0, "timer": timer.to_dict(), "rev": rev,
            "updated_by": "Organizer laptop",
        }  # fmt: skip

    def countdown(length_s: float, left_s: float, message: str = "") -> TimerState:
        started = server_now - (length_s - left_s)
        return TimerState(status=RUNNING, started_at=started, duration=length_s, work_s=length_s, message=message)

    rooms = [
        room("room-a", "Hall A", 300, 120, countdown(45 * 60, 35 * 60, "Keynote: building for the offline desk")),
        room("room-b", "Hall B", 200, 200, TimerState(
            status=RUNNING, mode=POMODORO, started_at=server_now - 20 * 60, duration=50 * 60, work_s=50 * 60,
            break_s=10 * 60, cycle=1, message="Full — overflow in Hall C")),
        room("room-c", "Hall C", 250, 35, TimerState(duration=20 * 60, work_s=20 * 60), rev=1),
        room("room-lounge", "Lounge", None, 14, TimerState(
            status=PAUSED, duration=15 * 60, work_s=15 * 60, paused_remaining=12 * 60 + 30, message="Back at 11:30")),
        room("room-studio", "Studio", 30, 12, TimerState(
            status=RUNNING, mode=POMODORO, phase=BREAK, started_at=server_now - 120, duration=5 * 60, work_s=25 * 60,
            break_s=5 * 60, cycle=2)),
        room("room-w1", "Workshop 1", 40, 38, countdown(90 * 60, 42, "Wrap up, please")),
        room("room-w2", "Workshop 2", 40, 40, countdown(20 * 60, -100)),
    ]  # fmt: skip
    return {"notices": notices, "draws": draws, "rooms": rooms}


def offline_config() -> DeskConfig:
    return DeskConfig(
        server_url=UNREACHABLE,
        station_id="desk-offline",
        station_name="Desk 2",
        event_id=EVENT_ID,
        event_name=DEMO_EVENT["name"],
        email="staff@demo.focusdesk.test",
    )


def offline_context(directory: Path, count: int = 300, printers: list[str] | None = None) -> DeskContext:
    config = offline_config()
    world = VirtualWorld(printers or ["niimbot-b1", "phomemo-m110", "niimbot-d110"])
    context = DeskContext(
        config,
        directory=directory,
        ble_backend=world.ble_backend,
        virtual_world=world,
        use_keyring=False,
        autostart=False,
    )
    desk = context.open_desk("offline-token")
    event = {"id": EVENT_ID, **DEMO_EVENT}
    desk.station.apply_snapshot(
        "offline-epoch", 1, {"event": event, "attendees": attendee_records(count), "checkins": []}
    )
    desk.printing.set_printer(world.target("niimbot-b1"))
    desk.station.set_connection("offline", problem=f"cannot reach the server at {UNREACHABLE}")
    return context


def offline_app(directory: Path, count: int = 300, *, wall: float | None = None) -> FocusDeskApp:
    """``wall``: freeze the desk's clock at that instant, so times shown (check-ins) are the same every run."""
    context = offline_context(directory, count)
    if wall is not None:
        station = context.desk.station
        station._wall = station.clock._wall = lambda: wall
    return FocusDeskApp(context)


def offline_context_from(directory: Path) -> DeskContext:
    """Reopen a desk prepared by ``offline_context`` (a cold start: the station file is all there is)."""
    config = offline_config()
    world = VirtualWorld(["niimbot-b1"])
    context = DeskContext(
        config, directory=directory, ble_backend=world.ble_backend, virtual_world=world, use_keyring=False,
        autostart=False,
    )  # fmt: skip
    desk = context.open_desk("offline-token")
    desk.station.set_connection("offline", problem=f"cannot reach the server at {UNREACHABLE}")
    return context
