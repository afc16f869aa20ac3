"""Seed a demo event: ~1,500 attendees, demo accounts, and some check-ins already made at a demo desk."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass

from sqlalchemy import Connection, select

from focusdesk.domain.attendees import validate_attendee
from focusdesk.domain.demo_data import DEMO_EVENT, demo_attendees
from focusdesk.domain.events import validate_event
from focusdesk.domain.roles import ADMIN, ORGANIZER, STAFF, TECHNICIAN, Grant, Principal
from focusdesk.domain.timeutil import to_iso
from focusdesk.server.db import Database
from focusdesk.server.passwords import hash_password
from focusdesk.server.schema import attendees, events
from focusdesk.server.store import accounts
from focusdesk.server.store.attendees import ImportPlan, apply_import
from focusdesk.server.store.commands import CommandIn, apply_batch, ensure_station
from focusdesk.server.store.events import create_event


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    role: str


DEMO_ACCOUNTS = (
    DemoAccount("organizer@demo.focusdesk.test", "organizer-demo", ORGANIZER),
    DemoAccount("staff@demo.focusdesk.test", "staff-demo-pass", STAFF),
    DemoAccount("tech@demo.focusdesk.test", "tech-demo-pass", TECHNICIAN),
    DemoAccount("admin@demo.focusdesk.test", "admin-demo-pass", ADMIN),
)
DEMO_STATION = ("demo-seed-desk", "Desk 1")
DEMO_ORGANIZER_STATION = ("demo-organizer-laptop", "Organizer laptop")
# (name, capacity, people present, timer commands run at seed time, minutes ago they ran)
DEMO_ROOMS = (
    ("Main Hall", 600, 412, [({"op": "start", "preset": "talk-45"}, 31)]),
    ("Room B", 120, 120, [({"op": "start", "duration_s": 20 * 60}, 19.5)]),
    ("Room C", 80, 23, [({"op": "start", "preset": "pomodoro-25-5"}, 27)]),
    ("Workshop 1", 40, 38, [({"op": "start", "preset": "workshop-90"}, 50), ({"op": "pause"}, 3)]),
    ("Workshop 2", 40, 0, []),
    ("Quiet room", 20, 6, [({"op": "start", "preset": "pomodoro-50-10"}, 10)]),
    ("Lightning stage", 150, 97, [({"op": "start", "duration_s": 5 * 60}, 6)]),
    ("Sponsor lounge", None, 31, [({"op": "message", "text": "Coffee refill at 11:00"}, 0)]),
)
DEMO_NOTICES = (
    ("high", "Room B is full — send people to Room C", {"kind": "role", "value": "staff"}),
    ("medium", "Lunch starts at 12:30 in the Main Hall foyer", {"kind": "all"}),
    ("low", "Spare label rolls are in the blue box behind Desk 1", {"kind": "role", "value": "staff"}),
)


# (kind, name, buffer minutes, needs approval, open hours, device status and note)
DEMO_RESOURCES = (
    ("room", "Meeting room 1", 10, False, None, None),
    ("room", "Meeting room 2", 10, False, None, None),
    ("room", "Podcast studio", 15, True, None, None),
    ("device", "VR rig 1", 5, False, None, None),
    ("device", "VR rig 2", 5, False, None, None),
    ("device", "Console A", 0, False, None, None),
    ("device", "Console B", 0, False, None, ("maintenance", "Controller drifts; spare on order")),
    ("device", "Demo station 1", 0, True, None, None),
    ("device", "Camera kit", 0, False, ("09:00", "18:00"), ("offline", "Battery charging at the tech desk")),
)
# (resource, holder, minutes from now it starts, length in minutes, what happened: made / checked_in /
# completed / pending / cancelled)
DEMO_BOOKINGS = (
    ("Meeting room 1", "Sponsor sync — Contoso", -150, 60, "completed"),
    ("Meeting room 1", "Speaker prep: Aiko Tanaka", -30, 60, "checked_in"),
    ("Meeting room 1", "Press interview", 45, 45, "made"),
    ("Meeting room 2", "Volunteer briefing", 20, 30, "made"),
    ("Meeting room 2", "Hiring chat — Fabrikam", 120, 60, "made"),
    ("Podcast studio", "DevConf Radio, episode 3", 60, 90, "pending"),
    ("Podcast studio", "Interview: Søren Kierkegaard-Holm", 210, 45, "pending"),
    ("VR rig 1", "José Álvarez", -10, 30, "checked_in"),
    ("VR rig 1", "Mei Lin", 30, 30, "made"),
    ("VR rig 2", "Kofi Mensah", 5, 30, "made"),
    ("Console A", "Tournament heat 1", -60, 45, "completed"),
    ("Console A", "Tournament heat 2", 0, 45, "checked_in"),
    ("Console A", "Tournament final", 90, 60, "made"),
    ("Demo station 1", "Workshop demo — Ana Silva", 75, 30, "pending"),
    ("Meeting room 2", "Cancelled sync", 60, 30, "cancelled"),
)


def demo_event_id(conn: Connection) -> int | None:
    return conn.execute(select(events.c.id).where(events.c.name == DEMO_EVENT["name"])).scalar()


def seed_demo(db: Database, *, attendee_count: int = 1500, checked_in_share: float = 0.2) -> int:
    """Create the demo event once; returns its id (existing demo data is left as it is)."""
    existing = db.read_sync(demo_event_id)
    if existing is not None:
        return existing
    now = time.time()
    fields = validate_event(DEMO_EVENT)
    record, _ = db.write_sync(lambda c: create_event(c, fields, now))
    event_id = record["id"]
    people = [validate_attendee(p) for p in demo_attendees(attendee_count)]
    plan = ImportPlan(total_rows=len(people), creates=list(enumerate(people, start=2)))
    db.write_sync(lambda c: apply_import(c, event_id, plan, now))

    hashes = {a.email: hash_password(a.password) for a in DEMO_ACCOUNTS}

    def add_accounts(conn: Connection) -> None:
        for a in DEMO_ACCOUNTS:
            grant = Grant(a.role, None if a.role == ADMIN else event_id)
            accounts.create_user(conn, a.email, hashes[a.email], [grant], a.role.title(), now)
        ensure_station(conn, DEMO_STATION[0], DEMO_STATION[1], now)

    db.write_sync(add_accounts)

    # Some people are already in, checked in at the demo desk over the last two hours.
    ids = db.read_sync(
        lambda c: list(c.execute(select(attendees.c.id).where(attendees.c.event_id == event_id)).scalars())
    )
    rng = random.Random(7)
    chosen = rng.sample(ids, int(len(ids) * checked_in_share))
    desk = Principal(
        user_id=1,
        email="seed",
        grants=(Grant(ORGANIZER, event_id),),
        station_id=DEMO_STATION[0],
        station_name=DEMO_STATION[1],
    )
    start = now - 2 * 3600
    commands = [
        CommandIn(i + 1, "checkin", {"event_id": event_id, "attendee_id": a}, start + i * (7200 / max(1, len(chosen))))
        for i, a in enumerate(chosen)
    ]
    for offset in range(0, len(commands), 200):
        db.write_sync(lambda c, part=commands[offset : offset + 200]: apply_batch(c, desk, part))
    seed_rooms_and_notices(db, event_id)
    seed_resources_and_bookings(db, event_id)
    return event_id


def seed_rooms_and_notices(db: Database, event_id: int) -> None:
    """Rooms with timers in every state, and notices, made the way an organizer's laptop makes them: as
    commands. Timers are data anchored at real server times, so they are "already running" when seeded."""
    from focusdesk.server.schema import rooms

    if db.read_sync(lambda c: c.execute(select(rooms.c.id).where(rooms.c.event_id == event_id)).first()):
        return
    laptop = Principal(
        user_id=1,
        email="organizer@demo.focusdesk.test",
        grants=(Grant(ORGANIZER, event_id),),
        station_id=DEMO_ORGANIZER_STATION[0],
        station_name=DEMO_ORGANIZER_STATION[1],
    )
    seq = db.write_sync(lambda c: ensure_station(c, *DEMO_ORGANIZER_STATION, time.time()))
    rng = random.Random(11)

    def send(command: str, args: dict, at_offset_s: float = 0.0) -> None:
        nonlocal seq
        seq += 1
        cmd = CommandIn(seq, command, {"event_id": event_id, **args})
        # A timer command runs at the server's "now": a past one is applied as of that time.
        when = time.time() - at_offset_s
        db.write_sync(lambda c: apply_batch(c, laptop, [cmd], now=when))

    for name, capacity, present, timer_commands in DEMO_ROOMS:
        room_id = f"demo-room-{rng.getrandbits(48):012x}"
        room = {"id": room_id, "name": name, "capacity": capacity}
        send("room_create", {"room": {k: v for k, v in room.items() if v is not None}}, 60 * 60)
        if present:
            send("occupancy", {"room_id": room_id, "set": present})
        for args, minutes_ago in timer_commands:
            send("timer", {"room_id": room_id, **args}, minutes_ago * 60)
    for i, (priority, body, audience) in enumerate(DEMO_NOTICES):
        notice = {"id": f"demo-notice-{i:04d}", "body": body, "priority": priority, "audience": audience}
        send("notice_post", {"notice": notice}, (len(DEMO_NOTICES) - i) * 7 * 60)


def seed_resources_and_bookings(db: Database, event_id: int) -> None:
    """Rooms and devices to lend, and a day of bookings around now: finished, in use, coming up, and
    waiting for approval — made at the demo desk as commands at the times they would have happened."""
    from focusdesk.server.schema import resources

    if db.read_sync(lambda c: c.execute(select(resources.c.id).where(resources.c.event_id == event_id)).first()):
        return
    desk = Principal(
        user_id=1,
        email="organizer@demo.focusdesk.test",
        grants=(Grant(ORGANIZER, event_id),),
        station_id=DEMO_STATION[0],
        station_name=DEMO_STATION[1],
    )
    now = time.time()
    # Whole quarter hours read like a real schedule.
    base = now - now % 900
    seq = db.write_sync(lambda c: ensure_station(c, *DEMO_STATION, now))

    def send(command: str, args: dict, at: float) -> dict:
        nonlocal seq
        seq += 1
        cmd = CommandIn(seq, command, {"event_id": event_id, **args})
        outcome = db.write_sync(lambda c: apply_batch(c, desk, [cmd], now=min(at, time.time())))
        return json.loads(outcome.results[0])

    ids: dict[str, str] = {}
    for i, (kind, name, buffer_min, approval, hours, status) in enumerate(DEMO_RESOURCES):
        resource = {"id": f"demo-resource-{i:04d}", "kind": kind, "name": name, "buffer_min": buffer_min}
        resource["needs_approval"] = approval
        if hours:
            resource["open_from"], resource["open_until"] = hours
        send("resource_create", {"resource": resource}, base - 4 * 3600)
        ids[name] = resource["id"]
        if status:
            send("device_status", {"resource_id": resource["id"], "status": status[0], "note": status[1]}, now - 1800)
    for i, (name, holder, starts_in, minutes, what) in enumerate(DEMO_BOOKINGS):
        start = base + starts_in * 60
        booking = {
            "id": f"demo-booking-{i:04d}",
            "resource_id": ids[name],
            "holder_name": holder,
            "start": to_iso(start),
            "end": to_iso(start + minutes * 60),
        }
        send("reservation_create", {"reservation": booking}, start - 3600)
        ref = {"reservation_id": booking["id"]}
        if what == "cancelled":
            send("reservation_cancel", {**ref, "reason": "moved online"}, start - 1800)
        if what in ("checked_in", "completed"):
            send("reservation_checkin", ref, start + 60)
        if what == "completed":
            send("reservation_complete", ref, start + minutes * 60 - 120)
