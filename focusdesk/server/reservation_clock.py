"""The server's own clock work for bookings: no-shows released, undecided requests expired, finished
bookings completed, reminders sent — by the server itself, no cron.

One asyncio task sleeps until the next thing falls due (asked of the database, so a restart loses
nothing: whatever fell due while the server was down is done on the first pass), at most
``max_sleep_s``, and looks again as soon as a booking changes (it hears committed changes as the live hub
does), so a booking made meanwhile with an earlier deadline is not released late. Each pass is one write transaction whose
changes go through the change log like any desk's, so every desk hears of a released slot live.

``clock`` is injectable: tests move time forward and call :meth:`wake` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from sqlalchemy import Connection, select

from focusdesk.server.db import Database
from focusdesk.server.loops import cancel_and_wait
from focusdesk.server.schema import events
from focusdesk.server.store import reservations as store
from focusdesk.server.store.changelog import append_changes, event_scope

log = logging.getLogger(__name__)


# The change kind that can move the next deadline earlier.
BOOKING_CHANGED = "reservation.updated"


class ReservationClock:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time, max_sleep_s: float = 30.0):
        self.db = db
        self.clock = clock
        self.max_sleep_s = max_sleep_s
        self.passes = 0  # completed passes, for tests that wait for one
        self.begun = 0  # passes started: a pass completed after a wake is one with passes > begun-at-wake
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="reservation-clock")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def hear(self, changes: list) -> None:
        """Committed changes (from any thread): a booking changed, so the next deadline may be earlier."""
        if any(getattr(change, "kind", None) == BOOKING_CHANGED for change in changes):
            self.wake()

    def hear_kinds(self, kinds: set[str]) -> None:
        """Another instance committed changes of these kinds (server/fanout.py)."""
        if BOOKING_CHANGED in kinds:
            self.wake()

    def wake(self) -> None:
        """Look again now (safe from any thread): a booking changed, or a test moved the clock."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run_once(self) -> float | None:
        """One pass at the clock's present; returns when the next pass is due (None: nothing ahead)."""
        self.begun += 1
        now = self.clock()

        def work(conn: Connection) -> float | None:
            tz_of = dict(conn.execute(select(events.c.id, events.c.timezone)).all())
            for event_id, entries in store.sweep(conn, now, tz_of).items():
                append_changes(conn, event_scope(event_id), entries, origin="server", now=now)
            return store.next_due(conn, now)

        due = await self.db.write(work)
        self.passes += 1
        return due

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                due = await self.run_once()
            except Exception:  # a database hiccup must not stop the clock for the rest of the event
                log.exception("the reservation clock's pass failed; trying again shortly")
                due = None
            wait = self.max_sleep_s if due is None else min(self.max_sleep_s, max(0.5, due - self.clock()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
