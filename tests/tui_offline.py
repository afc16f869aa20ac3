"""A desk with a loaded replica and no server: deterministic screens for snapshot tests, and a 50,000-person
desk for the TUI benchmark. Nothing runs under it (no sync loop, no printer worker)."""

from __future__ import annotations

from pathlib import Path

from focusdesk.domain.demo_data import DEMO_EVENT, demo_attendees
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
