#!/usr/bin/env python
"""Regenerate screenshots/ from the real app: the demo's embedded server and event (1,500 attendees), a desk
signed in as staff (and one as an organizer, for rooms, notices and draws, and the Operations board with the
demo venue's other desks reporting), the virtual printers — driven by keys through Textual's Pilot, exported
as SVG by Textual and converted to PNG (cairosvg).

    .venv/bin/python scripts/screenshots.py            # writes screenshots/*.svg and *.png
"""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

OUT = REPO_ROOT / "screenshots"
SIZE = (120, 40)
SMALL = (80, 24)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_until(pilot, condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition() and loop.time() < deadline:
        await pilot.pause(0.05)


def save(app, name: str) -> None:  # type: ignore[no-untyped-def]
    import cairosvg

    svg = OUT / f"{name}.svg"
    app.save_screenshot(filename=svg.name, path=str(OUT))
    cairosvg.svg2png(url=str(svg), write_to=str(OUT / f"{name}.png"))
    print(f"  {svg.relative_to(REPO_ROOT)} (+ .png)")


async def shoot(context, size: tuple[int, int], suffix: str = "", theme: str | None = None, query: str = "ann") -> None:  # type: ignore[no-untyped-def]
    from focusdesk.tui.app import FocusDeskApp

    app = FocusDeskApp(context)
    async with app.run_test(size=size) as pilot:
        if theme:
            app.theme = theme
        desk = context.desk
        await wait_until(pilot, lambda: desk.station.status().connection == "online")
        await pilot.pause(0.3)
        save(app, f"desk-empty{suffix}")
        await pilot.press(*query)
        await pilot.pause(0.3)
        save(app, f"desk-search{suffix}")
        await pilot.press("enter")
        await pilot.pause(0.5)
        save(app, f"desk-checked-in{suffix}")
        await pilot.press("f2")
        await pilot.pause(3.0)  # the scan runs a few seconds
        save(app, f"printers{suffix}")
        await pilot.press("f3")
        await pilot.pause(0.5)
        save(app, f"sync{suffix}")
        await app.action_quit()


async def shoot_organizer(context, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """The organizer's screens: rooms with running timers, one room's display, notices, a prize draw,
    the day's bookings, the approval inbox, the devices board and the Operations board."""
    from focusdesk.tui.app import FocusDeskApp

    app = FocusDeskApp(context)
    async with app.run_test(size=size) as pilot:
        desk = context.desk
        await wait_until(pilot, lambda: desk.station.status().connection == "online")
        await wait_until(pilot, lambda: len(desk.station.rooms.list()) >= 8)
        await pilot.press("f4")
        await pilot.pause(0.5)
        save(app, "rooms")
        await pilot.press("enter")
        await pilot.pause(0.5)
        save(app, "room-focus")
        await pilot.press("escape")
        await pilot.press("f5")
        await pilot.pause(0.5)
        save(app, "notices")
        await pilot.press("f6")
        await pilot.pause(0.3)
        await pilot.press(*"Mechanical keyboard")
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(desk.draws.list()))
        await pilot.pause(0.5)
        save(app, "drawing")
        await wait_until(pilot, lambda: len(desk.station.reservations.resources()) >= 9)
        await pilot.press("f7")
        await pilot.pause(0.5)
        save(app, "reservations")
        await pilot.press("tab")
        await pilot.pause(0.3)
        save(app, "reservations-inbox")
        await pilot.press("tab")
        await pilot.press("f8")
        await pilot.pause(0.5)
        save(app, "devices")
        await pilot.press("f9")
        # The demo venue's four desks and this one, each reported at least once (the board reads every 2 s).
        await wait_until(pilot, lambda: len(getattr(app.screen, "desk_ids", ())) >= 5, timeout=20)
        await pilot.pause(0.5)
        save(app, "operations")
        await app.action_quit()


def main() -> int:
    from focusdesk.demo import demo_account, demo_context, prepare_server
    from focusdesk.demo_venue import DemoVenue
    from focusdesk.server.embedded import EmbeddedServer

    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        settings, event_id = prepare_server(data, fresh=True)
        server = EmbeddedServer(settings, "127.0.0.1", free_port()).start()
        try:
            print("120×40:")
            asyncio.run(shoot(demo_context(server.url, event_id, data / "desk-a"), SIZE))
            print("80×24:")
            # The three desks share the demo server: each checks in someone else, so none of the pictures
            # shows an "already checked in" left by the one before.
            asyncio.run(shoot(demo_context(server.url, event_id, data / "desk-b"), SMALL, "-80x24", query="mül"))
            print("120×40, light theme:")
            asyncio.run(
                shoot(demo_context(server.url, event_id, data / "desk-c"), SIZE, "-light", "textual-light", query="zo")
            )
            print("120×40, an organizer:")
            # The venue's other desks (one out of paper, one with a low battery and its clock off) for the
            # Operations board; started only now, so the staff pictures above stay as they were.
            staff = demo_account("staff")
            venue = DemoVenue(server.url, event_id, staff.email, staff.password).start()
            try:
                asyncio.run(shoot_organizer(demo_context(server.url, event_id, data / "desk-o", "organizer"), SIZE))
            finally:
                venue.stop()
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
