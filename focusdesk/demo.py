"""`focusdesk demo`: the whole desk experience in one command — an embedded server with the demo event, a
desk signed in as staff, virtual label printers with one paired, and the TUI.

Lives outside ``focusdesk/tui`` because it starts the server, which the TUI must never import.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from focusdesk.demo_venue import DemoVenue
from focusdesk.server.demo import DEMO_ACCOUNTS, seed_demo
from focusdesk.server.embedded import EmbeddedServer
from focusdesk.server.settings import Settings
from focusdesk.station.credentials import TokenStore
from focusdesk.station.desk import DeskConfig
from focusdesk.station.signin import sign_in
from focusdesk.tui.context import DeskContext

# One of each family a technician might meet; the B1 is paired to the demo desk.
DEMO_PRINTERS = ["niimbot-b1", "niimbot-d110", "phomemo-m110", "phomemo-d30", "dymo-lt200b", "brother-ql820nwb"]
DEMO_DESK_PRINTER = "niimbot-b1"
# Who the demo desk signs in as: the front desk (staff), or an organizer who runs rooms, notices and draws.
DEMO_ROLES = {"staff": "Front desk", "organizer": "Stage manager"}


def demo_account(role: str = "staff"):  # type: ignore[no-untyped-def]
    return next(a for a in DEMO_ACCOUNTS if a.role == role)


def staff_account():  # type: ignore[no-untyped-def]
    return demo_account("staff")


def prepare_server(data_dir: Path, fresh: bool, attendee_count: int = 1500) -> tuple[Settings, int]:
    from focusdesk.server.db import Database

    path = data_dir / "demo.db"
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        for desk_dir in data_dir.glob("demo-desk*"):
            shutil.rmtree(desk_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    settings.database_url = f"sqlite:///{path}"
    db = Database(settings.database_url)
    db.migrate()
    event_id = seed_demo(db, attendee_count=attendee_count)
    db.close()
    return settings, event_id


def demo_context(server_url: str, event_id: int, desk_dir: Path, role: str = "staff") -> DeskContext:
    """A desk signed in as the demo's staff (or organizer) account, with the virtual printers around it."""
    from printers.virtual.world import VirtualWorld

    desk_name = DEMO_ROLES[role]
    config = DeskConfig.load(desk_dir)
    if config.server_url != server_url or config.event_id != event_id:
        config = DeskConfig(server_url=server_url, station_name=desk_name)
    account = demo_account(role)
    store = TokenStore(desk_dir, use_keyring=False)  # the demo never touches the person's real keyring
    signed = asyncio.run(
        sign_in(
            server_url,
            account.email,
            account.password,
            station_id=config.ensure_station_id(),
            station_name=config.station_name or desk_name,
            store=store,
        )
    )
    config.email, config.event_id, config.event_name = account.email, event_id, "Northwind DevConf 2026"
    config.save(desk_dir)
    world = VirtualWorld(DEMO_PRINTERS)
    context = DeskContext(
        config, directory=desk_dir, ble_backend=world.ble_backend, virtual_world=world, use_keyring=False
    )
    desk = context.open_desk(signed.token)
    desk.station.on_server_watermark(signed.last_cmd_seq)
    desk.station.set_account(signed.user)
    paired = desk.printing.printer()
    # Network printers get a new port each run; a BLE pairing from last time is still valid.
    if paired is None or paired.model.transport != "ble" or paired.model_id not in DEMO_PRINTERS:
        desk.printing.set_printer(world.target(DEMO_DESK_PRINTER))
    return context


def _staff_sign_in() -> tuple[str, str]:
    staff = demo_account("staff")
    return staff.email, staff.password


def run_demo(host: str, port: int, data_dir: Path, fresh: bool, role: str = "staff") -> int:
    from focusdesk.tui.app import FocusDeskApp

    print("Preparing the demo event…", flush=True)
    settings, event_id = prepare_server(data_dir, fresh)
    server = EmbeddedServer(settings, host, port).start()
    # The other desks of the venue, so the Operations board and the counts have company.
    venue = DemoVenue(server.url, event_id, *_staff_sign_in()).start()
    try:
        # Each role is its own desk (its own station file and queue).
        desk_dir = data_dir / ("demo-desk" if role == "staff" else f"demo-desk-{role}")
        context = demo_context(server.url, event_id, desk_dir, role)
        FocusDeskApp(context).run()
    finally:
        venue.stop()
        server.stop()
    print(f"Demo stopped. Its data is in {data_dir} (run `focusdesk demo --fresh` to start over).")
    return 0
