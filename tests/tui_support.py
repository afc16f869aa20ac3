"""A real desk for TUI tests: a server on loopback with an event and attendees, a signed-in desk whose
station file lives in the test's tmp dir, and virtual printers (one paired to the desk). Tests pass the
``server_database`` fixture, so each runs on every backend ``--database`` selects; the desk's own station
file is SQLite whatever the server runs on."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from focusdesk.station.desk import DeskConfig
from focusdesk.tui.app import FocusDeskApp
from focusdesk.tui.context import DeskContext
from printers.virtual.world import VirtualWorld
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, LiveServer, add_attendees, make_event

PEOPLE = [
    {"name": "Anna Smith", "email": "anna@example.com", "company": "ACME", "ticket_type": "Speaker"},
    {"name": "José Müller", "email": "jose@example.com", "company": "Globex", "ticket_type": "Attendee"},
    {"name": "김민준", "email": "minjun@example.com", "company": "Samsung", "ticket_type": "VIP"},
    {"name": "Annika Berg", "email": "annika@example.com", "company": "Initech", "ticket_type": "Attendee"},
    {"name": "Zoë Ångström", "email": "zoe@example.com", "company": "Umbrella", "ticket_type": "Staff"},
]
PRINTER_MODELS = ["niimbot-b1", "phomemo-m110", "niimbot-d110"]
FAST_SYNC = {"backoff_base_s": 0.05, "backoff_cap_s": 0.5, "poll_interval_s": 0.3}


@dataclass
class TuiWorld:
    server: LiveServer
    api: Api  # the admin's, for arranging things on the server side
    event_id: int
    people: list[dict]
    printers: VirtualWorld
    directory: Path
    token: str
    config: DeskConfig

    def context(self, *, signed_in: bool = True, pair_printer: str | None = "niimbot-b1") -> DeskContext:
        """A fresh context over the same station file (a desk restart keeps its replica)."""
        context = DeskContext(
            DeskConfig(**vars(self.config)),
            directory=self.directory,
            ble_backend=self.printers.ble_backend,
            virtual_world=self.printers,
            use_keyring=False,
        )
        if signed_in:
            desk = context.open_desk(self.token, **FAST_SYNC)
            if pair_printer is not None:
                desk.printing.set_printer(self.printers.target(pair_printer))
        return context

    def app(self, **kwargs) -> FocusDeskApp:
        return FocusDeskApp(self.context(**kwargs))

    def close(self) -> None:
        self.api.close()
        self.server.stop()


def make_tui_world(tmp_path: Path, database_url: str | None = None, people: list[dict] | None = None) -> TuiWorld:
    """``database_url``: the ``server_database`` fixture's (None: a SQLite file in ``tmp_path``)."""
    server = (LiveServer.configured(database_url) if database_url else LiveServer.on_sqlite(tmp_path)).start()
    api = Api(server.url)
    api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    event = make_event(api)
    added = add_attendees(api, event["id"], people or PEOPLE)
    station_id = f"desk-{uuid.uuid4().hex[:12]}"
    desk_api = Api(server.url)
    token = desk_api.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Desk 2", station_id=station_id)["token"]
    desk_api.close()
    config = DeskConfig(
        server_url=server.url,
        station_id=station_id,
        station_name="Desk 2",
        event_id=event["id"],
        event_name=event["name"],
        email=ADMIN_EMAIL,
    )
    return TuiWorld(server, api, event["id"], added, VirtualWorld(PRINTER_MODELS), tmp_path / "desk", token, config)


async def until(pilot, condition, timeout: float = 10.0, what: str = "condition"):
    """Wait for ``condition()`` to be truthy (and return it), letting the app run; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.05)


def shown(widget) -> str:
    """The text a widget shows on screen right now."""
    return "\n".join(strip.text for strip in widget.render_lines(widget.region.reset_offset))
