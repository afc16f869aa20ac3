"""Rooms and devices with a day of bookings, for the Reservations and Devices screens on an offline desk
(tests/tui_offline.py): load them with ``desk.station.apply_snapshot("offline-epoch", 1, bookings_state(now))``.

On the day of ``server_now`` (the venue's clock, Europe/Berlin in the demo event):
- Studio A (for 12, bookable 08:00–20:00, 10 min between bookings): Anna Smith 09:00–10:30 completed, José
  Müller 11:00–12:30 checked in, Zoë Ångström 14:00–15:00 approved.
- Board room (needs approval, 08:00–18:00): Globex team 10:00–11:00 pending (asked first), Workshop prep
  13:00–14:30 approved, 김민준 16:00–17:00 pending (asked later).
- Quiet room (any time): Annika Berg 12:00–13:00 approved; a cancelled booking 09:00–10:00 (not drawn).
- Devices: Camera 1 available (Keynote recording 15:00–17:00), Laptop loaner 3 offline ("battery dead"),
  Podcast kit in use (Speaker podcast 11:00–13:00, checked in), Projector 2 in maintenance.
"""

from __future__ import annotations

from focusdesk.domain.reservations import local_datetime, parse_time
from focusdesk.domain.timeutil import to_iso

EVENT_ID = 1
TZ = "Europe/Berlin"


def bookings_state(server_now: float, tz: str = TZ) -> dict:
    day = local_datetime(server_now, tz).date()

    def at(hhmm: str) -> str:
        return to_iso(parse_time(f"{day.isoformat()}T{hhmm}", tz, "at"))

    def ago(minutes: float) -> str:
        return to_iso(server_now - minutes * 60)

    def resource(
        id_,
        kind,
        name,
        *,
        capacity=None,
        buffer=0,
        hours=(None, None),
        approval=False,
        status=None,
        note="",
        by=None,
        since=None,
    ):
        return {
            "id": id_, "event_id": EVENT_ID, "kind": kind, "name": name, "capacity": capacity, "buffer_min": buffer,
            "open_from": hours[0], "open_until": hours[1], "needs_approval": approval, "release_after_min": 15,
            "device_status": status, "status_note": note, "status_by": by,
            "status_at": None if since is None else ago(since), "rev": 2, "updated_at": ago(300),
        }  # fmt: skip

    def booking(id_, resource_id, holder, start, end, status, *, asked=600, checked_in=None, note="", by="Desk 1"):
        return {
            "id": id_, "event_id": EVENT_ID, "resource_id": resource_id, "holder_name": holder, "attendee_id": None,
            "start": at(start), "end": at(end), "status": status, "series_id": None, "note": note,
            "created_by": by, "station_id": "desk-1", "created_at": ago(asked),
            "checked_in_at": None if checked_in is None else at(checked_in), "decided_by": None,
            "reason": "changed plans" if status == "cancelled" else "", "rev": 3, "updated_at": ago(5),
        }  # fmt: skip

    resources = [
        resource("res-studio-a", "room", "Studio A", capacity=12, buffer=10, hours=("08:00", "20:00")),
        resource("res-board", "room", "Board room", capacity=20, hours=("08:00", "18:00"), approval=True),
        resource("res-quiet", "room", "Quiet room", capacity=4),
        resource("dev-camera-1", "device", "Camera 1", status="available", by="tech@demo.focusdesk.test", since=90),
        resource("dev-laptop-3", "device", "Laptop loaner 3", status="offline", note="battery dead",
                 by="staff@demo.focusdesk.test", since=25),
        resource("dev-podcast", "device", "Podcast kit", status="in_use", by="Desk 1", since=40),
        resource("dev-projector-2", "device", "Projector 2", status="maintenance", note="lamp replaced, testing",
                 by="tech@demo.focusdesk.test", since=200),
    ]  # fmt: skip
    reservations = [
        booking("bk-anna", "res-studio-a", "Anna Smith", "09:00", "10:30", "completed", checked_in="08:57"),
        booking("bk-jose", "res-studio-a", "José Müller", "11:00", "12:30", "checked_in", checked_in="10:58",
                note="interview recording"),
        booking("bk-zoe", "res-studio-a", "Zoë Ångström", "14:00", "15:00", "approved"),
        booking("bk-globex", "res-board", "Globex team", "10:00", "11:00", "pending", asked=900, by="Desk 3"),
        booking("bk-prep", "res-board", "Workshop prep", "13:00", "14:30", "approved"),
        booking("bk-minjun", "res-board", "김민준", "16:00", "17:00", "pending", asked=120),
        booking("bk-annika", "res-quiet", "Annika Berg", "12:00", "13:00", "approved"),
        booking("bk-gone", "res-quiet", "Felix Weber", "09:00", "10:00", "cancelled"),
        booking("bk-podcast", "dev-podcast", "Speaker podcast", "11:00", "13:00", "checked_in", checked_in="10:55"),
        booking("bk-keynote", "dev-camera-1", "Keynote recording", "15:00", "17:00", "approved"),
    ]  # fmt: skip
    return {"resources": resources, "reservations": reservations}
