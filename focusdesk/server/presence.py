"""Desk presence on the server: desks' reports from their live connections, and the sweep that turns a
silent desk offline.

A desk reports every ``presence_s`` seconds (told in ``welcome``) and whenever something in its report
changes; after ``timeout_s`` without a report the sweep marks it offline. Reports and the sweep write the
database (store/presence.py), so every instance sharing it agrees, and what is news reaches the event's
change log and from there every desk and the Operations board.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from focusdesk.domain.errors import DomainError
from focusdesk.domain.presence import SIGNED_OFF, parse_report
from focusdesk.domain.roles import EVENT_READ, Principal
from focusdesk.server.db import Database
from focusdesk.server.loops import cancel_and_wait
from focusdesk.server.store import presence as store
from focusdesk.server.store.events import get_event_row

log = logging.getLogger(__name__)

# A desk may not make the server write more often than this (a well-behaved desk debounces to 1 s).
MIN_REPORT_INTERVAL_S = 0.5


class PresenceReportRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Presence:
    def __init__(self, db: Database, timeout_s: float, clock: Callable[[], float] = time.time):
        self.db = db
        self.timeout_s = timeout_s
        self.clock = clock
        self._task: asyncio.Task | None = None

    @property
    def presence_s(self) -> float:
        """How often a desk should report: four reports fit in the timeout, so one lost is no alarm."""
        return max(0.25, self.timeout_s / 4)

    # -- reports ---------------------------------------------------------------------------------

    async def report(self, principal: Principal, station_id: str, frame: dict[str, Any], last_at: float) -> None:
        """Act on one ``presence`` frame; raises :class:`PresenceReportRefused` with what was wrong."""
        now = self.clock()
        if frame.get("leaving") is True:
            await self.db.write(partial(store.mark_offline, station_id=station_id, reason=SIGNED_OFF, now=now))
            return
        if now - last_at < MIN_REPORT_INTERVAL_S:
            raise PresenceReportRefused("too_fast", f"at most one report per {MIN_REPORT_INTERVAL_S:g} s")
        event_id = frame.get("event_id")
        if type(event_id) is not int or event_id <= 0:
            raise PresenceReportRefused("invalid", "event_id: must be the id of the event this desk works at")
        if not principal.can(EVENT_READ, event_id):
            raise PresenceReportRefused("forbidden", f"your account has no role at event {event_id}")
        try:
            report = parse_report(frame.get("report"))
        except DomainError as exc:
            raise PresenceReportRefused(exc.code, exc.message) from None
        name = (principal.station_name or station_id)[:64]

        def work(conn):
            get_event_row(conn, event_id)  # a clear "no event N", not a foreign-key failure
            return store.record_report(
                conn, station_id=station_id, name=name, event_id=event_id, report=report, now=now
            )

        try:
            await self.db.write(work)
        except DomainError as exc:
            raise PresenceReportRefused(exc.code, exc.message) from None
        except Exception as exc:  # the event was deleted meanwhile, the database is down: the desk retries
            log.warning("presence: storing %s's report failed: %s", station_id, exc)
            raise PresenceReportRefused("unavailable", "the server could not store the report; it is retried") from exc

    # -- the sweep -------------------------------------------------------------------------------

    async def sweep_once(self) -> int:
        now = self.clock()
        cutoff = now - self.timeout_s
        if not await self.db.read(partial(store.silent_exists, cutoff=cutoff)):
            return 0
        gone = await self.db.write(
            partial(store.sweep_silent, cutoff=cutoff, reason=f"no report for {self.timeout_s:g} s", now=now)
        )
        for desk in gone:
            log.info(
                "presence: desk %s (%s) is offline: no report for %g s", desk.station_id, desk.name, self.timeout_s
            )
        return len(gone)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(max(0.2, self.timeout_s / 4))
            try:
                await self.sweep_once()
            except Exception:  # the database is away for a moment: the next round tries again
                log.exception("presence: the offline sweep failed")

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._sweep_loop(), name="presence-sweep")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    # -- reads -----------------------------------------------------------------------------------

    async def counts(self) -> dict[str, int]:
        """Desks by state across all events (for /metrics)."""
        return await self.db.read(store.counts)
