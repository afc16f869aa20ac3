"""The desk tells the server how it is: queue, stuck commands, clock offset, version, its printer.

A report goes over the live connection (a ``presence`` frame) when something in it changed — at most
once per ``debounce_s`` — and every ``presence_s`` seconds (the server's ``welcome`` says how often) as a
keep-alive; after a reconnect the first report goes at once. When the desk closes it says goodbye, so the
board shows it offline at once instead of after the timeout. Without a live connection nothing is sent:
the server's timeout then says the desk is offline, which is the truth the board needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from focusdesk import __version__
from focusdesk.station.engine import Station
from focusdesk.station.live import LiveClient
from focusdesk.station.printing import PrintQueue

log = logging.getLogger(__name__)


def build_report(station: Station, printing: PrintQueue | None, version: str = __version__) -> dict[str, Any]:
    """This desk's report, as the server's ``parse_report`` takes it."""
    counts = station.status()
    best = station.clock.best
    printer: dict[str, Any] | None = None
    target = printing.printer() if printing is not None else None
    if target is not None:
        status = printing.printer_status if printing is not None else None
        printer = {
            "model": target.model.name,
            "name": target.address,
            "state": str(status.state) if status is not None else "unknown",
            "battery_percent": status.battery_percent if status is not None else None,
            "detail": (status.detail or "")[:120] if status is not None else "",
        }
    return {
        "version": version,
        "queued": counts.queued,
        "stuck": counts.stuck,
        "attention": counts.attention,
        # The desk's clock minus the server's (the station stores it the other way round).
        "clock_offset_ms": None if best is None else round(-best.offset_s * 1000),
        "print_pending": printing.pending_count() if printing is not None else 0,
        "print_failed": printing.failed_count() if printing is not None else 0,
        "printer": printer,
    }


class PresenceReporter:
    """Runs beside the sync loop; ``poke()`` when something a report shows may have changed."""

    def __init__(
        self,
        station: Station,
        printing: PrintQueue | None,
        live: Callable[[], LiveClient | None],
        *,
        debounce_s: float = 1.0,
        version: str = __version__,
    ) -> None:
        self.station = station
        self.printing = printing
        self._live = live
        self.debounce_s = debounce_s
        self.version = version
        self._changed = asyncio.Event()
        self._last: dict[str, Any] | None = None
        self._last_at = float("-inf")
        self._welcome: Any = None
        self.sent = 0

    def poke(self, *_: Any) -> None:
        self._changed.set()

    def _refused(self, frame: dict[str, Any]) -> None:
        log.info("presence: the server refused a report: %s", frame.get("message"))
        self._last = None  # send it again
        self._changed.set()

    def report(self) -> dict[str, Any]:
        return build_report(self.station, self.printing, self.version)

    async def run(self) -> None:
        while True:
            try:
                if not await self._step():
                    return
            except asyncio.CancelledError:
                raise
            except Exception:  # a report that cannot be built must not end reporting for the session
                log.exception("presence: reporting failed; trying again shortly")
                await asyncio.sleep(max(1.0, self.debounce_s))

    async def _step(self) -> bool:
        """One round: send a report if one is due, else wait for a change or the keep-alive; False when there
        is no live channel to report on."""
        live = self._live()
        if live is None:
            return False  # no live channel (polling desk): nothing to report on
        live.on_presence_refused = self._refused
        if not live.connected.is_set():
            await live.connected.wait()
        if live.welcome is not self._welcome:  # a new connection: report at once
            self._welcome, self._last = live.welcome, None
        report = self.report()
        now = time.monotonic()
        due = now - self._last_at >= live.presence_s
        if report != self._last or due:
            wait = self.debounce_s - (now - self._last_at)
            if wait > 0 and not due:
                await asyncio.sleep(wait)  # a burst of changes becomes one report
                report = self.report()
            self._changed.clear()
            if await live.send_frame({"type": "presence", "event_id": self.station.event_id, "report": report}):
                self._last, self._last_at = report, time.monotonic()
                self.sent += 1
            else:
                await asyncio.sleep(0.2)  # the connection is going away: wait for the next one
            return True
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), max(0.05, live.presence_s - (now - self._last_at)))
        return True

    async def leave(self) -> None:
        """Tell the server this desk is closing (best effort: a dead connection cannot say goodbye)."""
        live = self._live()
        if live is not None:
            await live.send_frame({"type": "presence", "leaving": True})
