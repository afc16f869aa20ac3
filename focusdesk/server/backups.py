"""Backups of the server's store, taken while it runs: ``focusdesk backup`` and the scheduled backups of
``focusdesk serve --backup-every``. Restoring one is server/restore.py.

- **SQLite**: SQLite's online backup API copies the database page by page from one read transaction,
  so the copy is the database as of one moment even while the server keeps writing (WAL lets the
  writer go on meanwhile). The copy is written to ``FILE.partial``, checked (``PRAGMA quick_check``),
  flushed and only then renamed to ``FILE``: a crash never leaves a half backup under the final name.
  The copy is a single self-contained file (rollback journal, no ``-wal`` beside it) and records when
  it was taken (``server_meta.backup_taken_at``).
- **PostgreSQL**: ``pg_dump --format=custom`` into ``FILE.partial``, read back with ``pg_restore`` as
  the check, then renamed the same way.

Scheduled backups are named by their UTC time (``focusdesk-20261124T034500Z.db`` / ``.pgdump``), the
newest ``keep`` are kept. A failed one is logged and tried again the next period; it never stops the
server, and it runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from focusdesk.server.backup_io import (
    BackupError,
    archive_rows,
    check_target,
    iso_utc,
    libpq_target,
    partial_path,
    publish,
    require_tool,
    run_tool,
    utc_stamp,
)
from focusdesk.server.dblock import sqlite_path
from focusdesk.server.loops import cancel_and_wait

log = logging.getLogger(__name__)

PAGES_PER_STEP = 4096  # 16 MiB of 4 KiB pages between progress reports
PROGRESS_FROM_PAGES = 25_000  # show progress only for files above ~100 MB: smaller ones take a moment

__all__ = [
    "BackupError",
    "BackupReport",
    "BackupSchedule",
    "Head",
    "backup",
    "parse_duration",
    "rotate",
    "scheduled_name",
    "with_scheduled_backups",
]


@dataclass(frozen=True, slots=True)
class Head:
    """One event's change log in a backup: where it ends, and in which epoch."""

    scope: str
    epoch: str
    head_seq: int


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    size: int
    events: int
    heads: list[Head]
    taken_at: float
    check: str  # what verified the copy, for the person reading


# -- durations -------------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh])\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """``30s``, ``10m``, ``1h`` (or ``1.5h``) as seconds; anything else raises ValueError saying why."""
    found = _DURATION.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a duration: give a number and s, m or h, e.g. 30s, 10m or 1h")
    seconds = float(found.group(1)) * _UNIT_S[found.group(2).lower()]
    if seconds < 1:
        raise ValueError(f"{text!r} is too short: at least 1s")
    return seconds


# -- SQLite ----------------------------------------------------------------------------------------


def connect_readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)


def sqlite_tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def sqlite_summary(conn: sqlite3.Connection) -> tuple[int, list[Head]]:
    """(events, change-log heads) of a FocusDesk SQLite database."""
    tables = sqlite_tables(conn)
    events = conn.execute("SELECT count(*) FROM events").fetchone()[0] if "events" in tables else 0
    heads = []
    if "scope_head" in tables:
        heads = [Head(*r) for r in conn.execute("SELECT scope, epoch, head_seq FROM scope_head ORDER BY scope")]
    return events, heads


def check_sqlite(conn: sqlite3.Connection, what: str) -> None:
    """Refuse a damaged file: ``PRAGMA quick_check`` must say ok."""
    try:
        verdict = [r[0] for r in conn.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what} is not a readable SQLite database ({exc})") from None
    if verdict != ["ok"]:
        raise BackupError(f"{what} failed SQLite's integrity check: {'; '.join(verdict[:5])}")


def _backup_sqlite(
    source: Path, out: Path, *, force: bool, progress: Callable[[int, int], Any] | None, now: float
) -> BackupReport:
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if out.resolve() == source.resolve():
        raise BackupError("the backup cannot be written over the database itself; choose another file")
    check_target(out, force=force)
    partial = partial_path(out)
    partial.unlink(missing_ok=True)  # left by a backup that crashed: ours to replace
    src = connect_readonly(source)
    dst = sqlite3.connect(partial, isolation_level=None)
    try:
        # One read transaction across every step: the copy is the database at this moment, and the
        # server's writes meanwhile (into the WAL) neither restart nor tear it.
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()

        def step(_status: int, remaining: int, total: int) -> None:
            if progress is not None and total >= PROGRESS_FROM_PAGES:
                progress(total - remaining, total)

        src.backup(dst, pages=PAGES_PER_STEP, progress=step)
        src.execute("COMMIT")
        # The copy stands alone: no -wal beside it, and it says when it was taken.
        dst.execute("PRAGMA journal_mode=DELETE")
        if "server_meta" in sqlite_tables(dst):
            dst.execute("DELETE FROM server_meta WHERE key = 'backup_taken_at'")
            dst.execute("INSERT INTO server_meta (key, value) VALUES ('backup_taken_at', ?)", (iso_utc(now),))
        check_sqlite(dst, f"the copy {partial}")
        events, heads = sqlite_summary(dst)
    except sqlite3.Error as exc:
        dst.close()
        partial.unlink(missing_ok=True)
        raise BackupError(f"copying {source} failed: {exc}") from None
    except BaseException:
        dst.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    dst.close()
    publish(partial, out)
    return BackupReport(out, out.stat().st_size, events, heads, now, "SQLite quick_check ok")


# -- PostgreSQL --------------------------------------------------------------------------------------


def _backup_postgres(database_url: str, out: Path, *, force: bool, now: float) -> BackupReport:
    pg_dump = require_tool("pg_dump")
    require_tool("pg_restore")  # the check below reads the archive back with it
    check_target(out, force=force)
    partial = partial_path(out)
    partial.unlink(missing_ok=True)
    dsn, env = libpq_target(database_url)
    try:
        run_tool([pg_dump, "--format=custom", f"--file={partial}", f"--dbname={dsn}"], env)
        # Reading rows back out of the archive proves it is whole and readable, and gives the summary.
        heads = [
            Head(r["scope"] or "", r["epoch"] or "", int(r["head_seq"] or 0))
            for r in archive_rows(partial, "scope_head")
        ]
        events = len(archive_rows(partial, "events"))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    publish(partial, out)
    return BackupReport(
        out, out.stat().st_size, events, sorted(heads, key=lambda h: h.scope), now, "pg_restore read it back"
    )


def backup(
    database_url: str, out: Path, *, force: bool = False, progress: Callable[[int, int], Any] | None = None
) -> BackupReport:
    """Back up the database at ``database_url`` to ``out`` while the server may be running.

    ``progress(done, total)`` hears how far a big SQLite copy is, in pages. Raises :class:`BackupError`.
    """
    now = time.time()
    path = sqlite_path(database_url)
    if path is not None:
        return _backup_sqlite(path, out, force=force, progress=progress, now=now)
    if make_url(database_url).get_backend_name() == "postgresql":
        return _backup_postgres(database_url, out, force=force, now=now)
    raise BackupError(f"cannot back up {make_url(database_url).get_backend_name()}: use SQLite or PostgreSQL")


# -- scheduled backups -------------------------------------------------------------------------------

_SCHEDULED = re.compile(r"^focusdesk-\d{8}T\d{6}Z\.(db|pgdump)$")


def scheduled_name(database_url: str, at: float) -> str:
    suffix = "db" if sqlite_path(database_url) is not None else "pgdump"
    return f"focusdesk-{utc_stamp(at)}.{suffix}"


def rotate(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` scheduled backups in ``directory`` (only files named like
    ours; anything else there is left alone); returns what was deleted. Stale ``.partial`` files of
    ours (a backup that crashed) go too."""
    ours = sorted(p for p in directory.iterdir() if _SCHEDULED.match(p.name))  # the stamp sorts by time
    doomed = ours[:-keep] if keep > 0 else ours
    doomed += [p for p in directory.iterdir() if p.name.endswith(".partial") and _SCHEDULED.match(p.name[:-8])]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def take_scheduled_backup(database_url: str, directory: Path, keep: int) -> BackupReport:
    """One scheduled backup into ``directory``, then rotation. Blocking: run it in a thread."""
    directory.mkdir(parents=True, exist_ok=True)
    report = backup(database_url, directory / scheduled_name(database_url, time.time()), force=True)
    rotate(directory, keep)
    return report


@dataclass
class BackupSchedule:
    """Backs the database up every ``every_s`` seconds into ``directory``; the first one after one period."""

    database_url: str
    directory: Path
    every_s: float
    keep: int
    # What /health shows: the last success (time, file) and the last failure, if it came after it.
    last_at: float | None = None
    last_file: str | None = None
    last_error: str | None = None
    attempts: int = 0  # finished, successful or not
    _task: asyncio.Task | None = field(default=None, repr=False)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="scheduled-backups")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            await self.run_once()

    async def run_once(self) -> BackupReport | None:
        """Take one backup now; a failure is logged and remembered, never raised."""
        try:
            report = await asyncio.to_thread(take_scheduled_backup, self.database_url, self.directory, self.keep)
        except Exception as exc:
            self.attempts += 1
            self.last_error = str(exc) if isinstance(exc, BackupError) else f"{type(exc).__name__}: {exc}"
            log.error("scheduled backup failed (next try in %g s): %s", self.every_s, self.last_error)
            return None
        self.attempts += 1
        self.last_at, self.last_file, self.last_error = report.taken_at, str(report.path), None
        log.info("scheduled backup written: %s (%d bytes)", report.path, report.size)
        return report

    def health(self) -> dict[str, Any]:
        return {
            "every_s": self.every_s,
            "last_at": iso_utc(self.last_at) if self.last_at is not None else None,
            "file": self.last_file,
            "last_error": self.last_error,
        }


def with_scheduled_backups(
    settings: Any, lifespan: Callable[[Any], AbstractAsyncContextManager[None]]
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """``lifespan`` plus the backup schedule while the server serves (when ``settings.backup_every_s``
    is set); the schedule is ``state.backups`` for /health."""
    if not getattr(settings, "backup_every_s", None):
        return lifespan

    @asynccontextmanager
    async def scheduled(app: Any) -> AsyncIterator[None]:
        async with lifespan(app):
            state = app.state.focusdesk
            state.backups = BackupSchedule(
                settings.database_url, Path(settings.backup_dir), settings.backup_every_s, settings.backup_keep
            )
            state.backups.start()
            try:
                yield
            finally:
                await state.backups.stop()

    return scheduled
