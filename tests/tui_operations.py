"""A fixed Operations board for snapshot tests and offline screen tests: the body of
``GET /events/{id}/operations`` as the server writes it, timed around ``now``, and a board source that hands
it out (or fails as the server would) — so the screen draws the same board every run.

Six desks, one in each look: Desk 4 offline for 12 minutes with 3 commands queued (1 stuck); Desk 3's
printer out of paper; Desk 2 (this desk) whose clock is 7 s off and printer low on battery; Entrance without
a printer; Desk 1 and the Printer cart healthy.
"""

from __future__ import annotations

from typing import Any

from focusdesk.station.api import Transient
from focusdesk.station.operations import Board, BoardUnavailable, board_from_json
from focusdesk.tui.app import FocusDeskApp
from focusdesk.tui.screens.operations import OperationsScreen

RATE = [4, 6, 9, 14, 22, 30, 27, 19, 16, 12, 11, 13, 15, 10, 12]


def report(version: str = "0.9.0", *, printer: dict | None = None, **fields: Any) -> dict:
    return {
        "version": version, "queued": 0, "stuck": 0, "attention": 0, "clock_offset_ms": 40, "print_pending": 0,
        "print_failed": 0, "printer": printer, **fields,
    }  # fmt: skip


def printer(model: str, state: str = "ready", battery: int | None = None) -> dict:
    return {"model": model, "state": state, "name": "", "battery_percent": battery, "detail": ""}


def board_body(now: float, my_station_id: str = "desk-offline") -> dict:
    def desk(station_id, name, state, *, reported, changed, rep, reason=""):
        return {
            "station_id": station_id, "name": name, "state": state,
            "reported_at": None if reported is None else now - reported, "changed_at": now - changed,
            "offline_reason": reason, "report": rep,
        }  # fmt: skip

    desks = [
        desk("desk-1", "Desk 1", "online", reported=4, changed=3 * 3600, rep=report(printer=printer("Niimbot B1", battery=86))),
        desk("desk-4", "Desk 4", "offline", reported=12 * 60 + 40, changed=12 * 60, reason="no report for 60 s",
             rep=report(queued=3, stuck=1, printer=printer("Phomemo M110", "disconnected"))),
        desk("cart", "Printer cart", "online", reported=9, changed=95 * 60,
             rep=report(printer=printer("Brother QL-820NWB", "printing"))),
        desk("desk-3", "Desk 3", "online", reported=2, changed=41 * 60,
             rep=report(queued=2, print_failed=1, printer=printer("Niimbot D110", "no_paper", 64))),
        desk("entrance", "Entrance", "online", reported=14, changed=20 * 60, rep=report("0.8.2")),
        desk(my_station_id, "Desk 2", "online", reported=1, changed=2 * 3600 + 300,
             rep=report(clock_offset_ms=7_200, printer=printer("Niimbot B1", "low_battery", 12))),
    ]  # fmt: skip
    health = {
        "status": "ok", "version": "0.9.0", "database": "ok", "redis": "off", "instance": "venue-1",
        "live_connections": 5, "head": 12_408, "backup": {"last_at": now - 14 * 60, "file": "fd-1120.db"},
    }  # fmt: skip
    return {
        "server_time": now,
        "timeout_s": 60,
        "desks": desks,
        "checkins_per_minute": RATE,
        "checked_in": 312,
        "attendees": 500,
        "health": health,
    }


def history_body(now: float) -> list[dict]:
    return [
        {"at": now - 12 * 60, "state": "offline", "summary": "offline (no report for 60 s) · 1 stuck command · 3 queued",
         "report": None},
        {"at": now - 14 * 60, "state": "online", "summary": "online · printer disconnected · 1 stuck command",
         "report": None},
        {"at": now - 55 * 60, "state": "online", "summary": "online · printer ready", "report": None},
    ]  # fmt: skip


class FixedBoard:
    """A board source that answers with ``body`` — or, once ``fail`` is set, fails as an unreachable
    server does. Counts the reads."""

    def __init__(self, body: dict, history: list[dict] | None = None, my_station_id: str = "desk-offline") -> None:
        self.body = body
        self.entries = history or []
        self.my_station_id = my_station_id
        self.fail: str | None = None
        self.reads = 0

    async def board(self) -> Board:
        self.reads += 1
        if self.fail is not None:
            raise BoardUnavailable(f"{self.fail} — showing the last board read") from Transient(self.fail)
        return board_from_json(self.body, self.my_station_id)

    async def history(self, station_id: str) -> list[dict]:
        if self.fail is not None:
            raise BoardUnavailable(self.fail) from Transient(self.fail)
        return list(self.entries)


def with_board(app: FocusDeskApp, source: Any) -> FocusDeskApp:
    """``app`` whose Operations screen (F9) reads ``source`` instead of the desk's server (call it with an event
    loop running: in the test's coroutine, or a snapshot's ``run_before``)."""
    app.remove_mode("operations")
    app.add_mode("operations", lambda: OperationsScreen(source=source))
    return app
