"""The desk's badge queue: which printer this desk uses, the badges waiting for it, and the worker that
prints them one at a time.

Jobs live in the station file, so a badge queued just before the laptop closes still prints after it
opens again. A job interrupted mid-print (crash, kill) is not resent on its own: it comes back as failed
with the reason, and the desk decides — a second badge is cheap, but it is the desk's call.
Reprints are counted per attendee; the TUI asks before one (printing a badge is not admitting a person).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from focusdesk.station.engine import Station
from focusdesk.station.model import Attendee
from printers.badge import BadgeContent, render_test_label
from printers.drivers.base import PrinterStatus, Progress
from printers.errors import PrinterState
from printers.jobs import PrintJob
from printers.session import LinkOpener, PrinterSession, PrinterTarget

log = logging.getLogger(__name__)

PRINTER_META_KEY = "printer"
INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class QueuedPrint:
    """A print job as the queue list shows it."""

    id: int
    kind: str  # badge | reprint | test
    attendee_id: str | None
    label: str  # the attendee's name, or "Test label"
    state: str  # queued | printing | printed | failed
    attempts: int
    error: str | None  # the printer's reason, in words, for a failed job
    error_code: str | None
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class PrintUpdate:
    """Sent to listeners when a job or the printer changed; ``progress`` while a job is sending."""

    job_id: int | None = None
    progress: Progress | None = None
    printer: bool = False  # the printer's configuration or status changed


_COLUMNS = "id, kind, attendee_id, payload, state, attempts, last_error, created_at, updated_at"


def _row_to_job(row: Any) -> QueuedPrint:
    payload = json.loads(row[3])
    error = json.loads(row[6]) if row[6] else None
    return QueuedPrint(
        id=row[0],
        kind=row[1],
        attendee_id=row[2],
        label=payload.get("label", ""),
        state=row[4],
        attempts=row[5],
        error=error["message"] if error else None,
        error_code=error["code"] if error else None,
        created_at=row[7],
        updated_at=row[8],
    )


def badge_content(attendee: Attendee) -> BadgeContent:
    return BadgeContent(
        name=attendee.name,
        second_line=attendee.company or None,
        ribbon=attendee.ticket_type or None,
        qr=attendee.qr_secret,
    )


class PrintQueue:
    """One desk's printer and its queue. ``run()`` is the worker; everything else is quick and synchronous."""

    def __init__(
        self,
        station: Station,
        opener: LinkOpener | None = None,
        *,
        wall: Callable[[], float] = time.time,
        status_every_s: float = 15.0,
    ) -> None:
        self.station = station
        self.db = station.db
        self._opener = opener
        self._wall = wall
        self.status_every_s = status_every_s
        self.listeners: list[Callable[[PrintUpdate], Any]] = []
        self.printer_status: PrinterStatus | None = None
        self.progress: dict[int, Progress] = {}
        self._session: PrinterSession | None = None
        self._wake = asyncio.Event()
        self._recover_interrupted()

    # -- the desk's printer ----------------------------------------------------------------------------

    def printer(self) -> PrinterTarget | None:
        raw = self.db.get_meta(PRINTER_META_KEY)
        if not raw:
            return None
        data = json.loads(raw)
        return PrinterTarget(data["model_id"], data["address"], data.get("media_id"), data.get("density"))

    def set_printer(self, target: PrinterTarget | None) -> None:
        """Make ``target`` this desk's printer (remembered in the station file); None forgets it."""
        if target is not None:
            target.media  # noqa: B018 -- refuses an unknown model or label size before anything is stored
        value = (
            ""
            if target is None
            else json.dumps(
                {
                    "model_id": target.model_id,
                    "address": target.address,
                    "media_id": target.media_id,
                    "density": target.density,
                }
            )
        )
        with self.db.tx():
            self.db.set_meta(PRINTER_META_KEY, value)
        old, self._session = self._session, None
        if old is not None:
            self._closing = old  # the worker closes it: closing a link needs the event loop
        self.printer_status = None
        self._emit(PrintUpdate(printer=True))
        self._wake.set()

    def _session_for(self, target: PrinterTarget) -> PrinterSession:
        if self._session is None or self._session.target != target:
            self._session = PrinterSession(target, self._opener)
        return self._session

    # -- jobs ------------------------------------------------------------------------------------------

    def enqueue_badge(self, attendee: Attendee, *, reprint: bool = False) -> int:
        content = badge_content(attendee)
        payload = {
            "label": attendee.name,
            "name": content.name,
            "second_line": content.second_line,
            "ribbon": content.ribbon,
            "qr": content.qr,
        }
        return self._insert("reprint" if reprint else "badge", attendee.id, payload)

    def enqueue_test(self) -> int:
        return self._insert("test", None, {"label": "Test label"})

    def _insert(self, kind: str, attendee_id: str | None, payload: dict[str, Any]) -> int:
        now = self._wall()
        with self.db.tx() as c:
            cur = c.execute(
                "INSERT INTO print_jobs (kind, attendee_id, payload, state, created_at, updated_at)"
                " VALUES (?, ?, ?, 'queued', ?, ?)",
                (kind, attendee_id, json.dumps(payload), now, now),
            )
            job_id = int(cur.lastrowid or 0)
        self._emit(PrintUpdate(job_id))
        self._wake.set()
        return job_id

    def jobs(self, limit: int = 100) -> list[QueuedPrint]:
        """Newest first: what the queue panel lists."""
        rows = self.db.conn.execute(f"SELECT {_COLUMNS} FROM print_jobs ORDER BY id DESC LIMIT ?", (limit,))
        return [_row_to_job(r) for r in rows]

    def job(self, job_id: int) -> QueuedPrint | None:
        row = self.db.conn.execute(f"SELECT {_COLUMNS} FROM print_jobs WHERE id = ?", (job_id,)).fetchone()
        return _row_to_job(row) if row else None

    def pending_count(self) -> int:
        row = self.db.conn.execute("SELECT count(*) FROM print_jobs WHERE state IN ('queued', 'printing')").fetchone()
        return int(row[0])

    def failed_count(self) -> int:
        return int(self.db.conn.execute("SELECT count(*) FROM print_jobs WHERE state = 'failed'").fetchone()[0])

    def badges_printed(self, attendee_id: str) -> int:
        """Badges this desk printed for the person (the first and every reprint)."""
        row = self.db.conn.execute(
            "SELECT count(*) FROM print_jobs WHERE attendee_id = ? AND state = 'printed'", (attendee_id,)
        ).fetchone()
        return int(row[0])

    def retry(self, job_id: int) -> None:
        """Queue a failed job again (the same badge)."""
        with self.db.tx() as c:
            changed = c.execute(
                "UPDATE print_jobs SET state = 'queued', updated_at = ? WHERE id = ? AND state = 'failed'",
                (self._wall(), job_id),
            ).rowcount
        if not changed:
            raise ValueError(f"print job {job_id} is not a failed job")
        self._emit(PrintUpdate(job_id))
        self._wake.set()

    def retry_failed(self) -> int:
        with self.db.tx() as c:
            count = c.execute(
                "UPDATE print_jobs SET state = 'queued', updated_at = ? WHERE state = 'failed'", (self._wall(),)
            ).rowcount
        if count:
            self._emit(PrintUpdate())
            self._wake.set()
        return count

    def discard(self, job_id: int) -> None:
        """Drop a job that has not printed (queued or failed)."""
        with self.db.tx() as c:
            changed = c.execute(
                "DELETE FROM print_jobs WHERE id = ? AND state IN ('queued', 'failed')", (job_id,)
            ).rowcount
        if not changed:
            raise ValueError(f"print job {job_id} is printing or printed; it cannot be discarded")
        self._emit(PrintUpdate(job_id))

    def _recover_interrupted(self) -> None:
        message = "The desk stopped while this badge was printing; it may or may not have come out. Retry to print it."
        with self.db.tx() as c:
            c.execute(
                "UPDATE print_jobs SET state = 'failed', last_error = ?, updated_at = ? WHERE state = 'printing'",
                (json.dumps({"code": INTERRUPTED, "message": message}), self._wall()),
            )

    # -- the worker ------------------------------------------------------------------------------------

    def _next_queued(self) -> tuple[int, str, dict[str, Any]] | None:
        row = self.db.conn.execute(
            "SELECT id, kind, payload FROM print_jobs WHERE state = 'queued' ORDER BY id LIMIT 1"
        ).fetchone()
        return (row[0], row[1], json.loads(row[2])) if row else None

    def _set_state(self, job_id: int, state: str, error: dict[str, str] | None = None, attempt: bool = False) -> None:
        with self.db.tx() as c:
            c.execute(
                "UPDATE print_jobs SET state = ?, last_error = ?, attempts = attempts + ?, printer = ?,"
                " updated_at = ? WHERE id = ?",
                (
                    state,
                    json.dumps(error) if error else None,
                    1 if attempt else 0,
                    self._printer_label(),
                    self._wall(),
                    job_id,
                ),
            )
        self._emit(PrintUpdate(job_id))

    def _printer_label(self) -> str | None:
        target = self.printer()
        return target.describe() if target else None

    async def print_next(self) -> bool:
        """Print the oldest queued job; False when there is none or no printer is set."""
        target = self.printer()
        if target is None:
            return False
        found = self._next_queued()
        if found is None:
            return False
        job_id, kind, payload = found
        session = self._session_for(target)
        if kind == "test":
            content: Any = render_test_label(target.model, target.media)
        else:
            content = BadgeContent(
                name=payload["name"], second_line=payload.get("second_line"), ribbon=payload.get("ribbon"),
                qr=payload.get("qr"),
            )  # fmt: skip
        self._set_state(job_id, "printing", attempt=True)

        def on_progress(progress: Progress) -> None:
            self.progress[job_id] = progress
            self._emit(PrintUpdate(job_id, progress))

        try:
            outcome = await PrintJob(content, label=payload.get("label", "")).run(session, on_progress)
        except Exception as exc:  # a bug or a font/layout refusal: the job fails with the reason, the queue lives
            log.exception("printing job %s failed", job_id)
            code = getattr(exc, "code", "internal")
            self._set_state(job_id, "failed", {"code": code, "message": str(exc)})
            return True
        finally:
            self.progress.pop(job_id, None)
        if outcome.ok:
            self._set_state(job_id, "printed")
            if self.printer_status is None or not self.printer_status.can_print:
                self.printer_status = PrinterStatus(PrinterState.READY)
                self._emit(PrintUpdate(printer=True))
        else:
            self._set_state(job_id, "failed", {"code": outcome.code, "message": outcome.message})
            await self.refresh_status()
        return True

    async def refresh_status(self) -> PrinterStatus | None:
        target = self.printer()
        if target is None:
            self.printer_status = None
        else:
            self.printer_status = await self._session_for(target).status()
        self._emit(PrintUpdate(printer=True))
        return self.printer_status

    async def run(self) -> None:
        """Print queued jobs as they come; check the printer's status every ``status_every_s`` when idle."""
        last_status = 0.0
        try:
            while True:
                await self._close_replaced()
                while await self.print_next():
                    await self._close_replaced()
                now = time.monotonic()
                if self.printer() is not None and now - last_status >= self.status_every_s:
                    last_status = now
                    await self.refresh_status()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.status_every_s)
        finally:
            await self.close()

    _closing: PrinterSession | None = None

    async def _close_replaced(self) -> None:
        old, self._closing = self._closing, None
        if old is not None:
            await old.close()

    async def close(self) -> None:
        await self._close_replaced()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _emit(self, update: PrintUpdate) -> None:
        for listener in list(self.listeners):
            try:
                listener(update)
            except Exception:  # a broken view must not stop the printer
                log.exception("print queue: listener failed")
