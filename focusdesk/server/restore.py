"""Putting a backup back: ``focusdesk restore FILE``. The server must be stopped.

What a restore does, on either database:

1. checks FILE is a FocusDesk backup (SQLite: integrity ok, has ``scope_head`` and ``alembic_version``;
   PostgreSQL: a ``pg_dump`` custom archive holding those tables);
2. makes sure no server is using the database (SQLite: the server's lock file, server/dblock.py;
   PostgreSQL: FocusDesk connections in ``pg_stat_activity``);
3. keeps what was there: SQLite moves the database (with its ``-wal``/``-shm``) aside to
   ``<db>.before-restore-<UTC stamp>``; PostgreSQL dumps it to ``<FILE dir>/<db>.before-restore-<stamp>.pgdump``;
4. puts the backup in place (SQLite: a copy, renamed in; PostgreSQL: ``pg_restore`` in one transaction);
5. migrates it if it is from an older FocusDesk;
6. starts a **new epoch**: every event's change log gets a new random epoch, in one transaction. That is
   the desks' signal: their cursors no longer match, so each takes a fresh snapshot; and the server's
   lower ``last_cmd_seq`` for each desk tells it to re-send the commands it still holds (it keeps them
   for a retention window, 24 h by default) that the backup lacks. ``server_meta`` records
   ``restored_at`` and the backup's ``backup_taken_at``.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.engine import make_url

from focusdesk.server.backup_io import (
    BackupError,
    archive_created_at,
    archive_tables,
    fsync_dir,
    iso_utc,
    libpq_target,
    parse_iso_utc,
    publish,
    require_tool,
    run_tool,
    utc_stamp,
)
from focusdesk.server.backups import Head, check_sqlite, connect_readonly, sqlite_tables
from focusdesk.server.db import SERVER_APPLICATION_NAME, Database
from focusdesk.server.dblock import DatabaseLock, sqlite_path
from focusdesk.server.schema import events, metadata, scope_head, server_meta
from focusdesk.server.store.changelog import new_epoch

# What makes a database FocusDesk's: a restore refuses a backup without these, and will not clear a
# PostgreSQL database that has tables but not these.
REQUIRED_TABLES = ("scope_head", "alembic_version")
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


@dataclass(frozen=True, slots=True)
class NewEpoch:
    scope: str
    old_epoch: str
    new_epoch: str
    head_seq: int


@dataclass(frozen=True, slots=True)
class RestoreReport:
    events: int
    epochs: list[NewEpoch]
    kept_at: Path | None  # where the database it replaced is now (None: there was none)
    taken_at: float | None
    restored_at: float
    schema_from: str | None  # the backup's Alembic revision
    schema_to: str | None  # after migration


def _read_head(conn: Connection) -> list[Head]:
    return [
        Head(r.scope, r.epoch, r.head_seq)
        for r in conn.execute(
            select(scope_head.c.scope, scope_head.c.epoch, scope_head.c.head_seq).order_by(scope_head.c.scope)
        )
    ]


def _alembic_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def start_new_epoch(
    database_url: str, *, taken_at: float | None, now: float, kept_at: Path | None = None
) -> tuple[int, list[NewEpoch], str | None, str | None]:
    """Migrate the restored database, then give every scope a new epoch and record the restore, in one
    transaction. Returns (events, epochs, schema before, schema after)."""
    try:
        return _start_new_epoch(database_url, taken_at=taken_at, now=now)
    except BackupError:
        raise
    except Exception as exc:
        kept = f"; the database it replaced is at {kept_at}" if kept_at is not None else ""
        raise BackupError(
            f"the backup is in place but could not be migrated or given a new epoch ({type(exc).__name__}: {exc})"
            f"{kept}. Do not start the server on it"
        ) from exc


def _start_new_epoch(
    database_url: str, *, taken_at: float | None, now: float
) -> tuple[int, list[NewEpoch], str | None, str | None]:
    db = Database(database_url)
    try:
        before = db.read_sync(_alembic_revision)
        db.migrate()

        def work(conn: Connection) -> tuple[int, list[NewEpoch], str | None]:
            renewed = []
            for head in _read_head(conn):
                epoch = new_epoch()
                conn.execute(update(scope_head).where(scope_head.c.scope == head.scope).values(epoch=epoch))
                renewed.append(NewEpoch(head.scope, head.epoch, epoch, head.head_seq))
            facts = {"restored_at": iso_utc(now)}
            if taken_at is not None:
                facts["backup_taken_at"] = iso_utc(taken_at)
            conn.execute(delete(server_meta).where(server_meta.c.key.in_(list(facts))))
            conn.execute(insert(server_meta), [{"key": k, "value": v} for k, v in facts.items()])
            count = conn.execute(select(func.count()).select_from(events)).scalar_one()
            return count, renewed, _alembic_revision(conn)

        count, renewed, after = db.write_sync(work)
    finally:
        db.close()
    return count, renewed, before, after


# -- SQLite ----------------------------------------------------------------------------------------


def _check_sqlite_backup(file: Path) -> float | None:
    """Refuse anything but a whole FocusDesk SQLite database; returns when the backup was taken."""
    with file.open("rb") as f:
        if f.read(16) != SQLITE_MAGIC:
            raise BackupError(f"{file} is not a SQLite database, so not a FocusDesk backup of one")
    conn = connect_readonly(file)
    try:
        check_sqlite(conn, str(file))
        missing = [t for t in REQUIRED_TABLES if t not in sqlite_tables(conn)]
        if missing:
            raise BackupError(f"{file} is not a FocusDesk database (it has no {' or '.join(missing)} table)")
        found = None
        if "server_meta" in sqlite_tables(conn):
            found = conn.execute("SELECT value FROM server_meta WHERE key = 'backup_taken_at'").fetchone()
    finally:
        conn.close()
    return parse_iso_utc(found[0]) if found is not None else file.stat().st_mtime


def _set_aside(database: Path, stamp: str) -> Path | None:
    """Move the database and its -wal/-shm to ``<db>.before-restore-<stamp>`` (renamed together, so
    SQLite opens the moved file with its WAL as it was)."""
    if not database.exists():
        return None
    aside = database.with_name(f"{database.name}.before-restore-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{database}{suffix}")
        if source.exists():
            source.replace(Path(f"{aside}{suffix}"))
    fsync_dir(database.parent)
    return aside


def _restore_sqlite(database_url: str, database: Path, file: Path, now: float) -> RestoreReport:
    if database.exists() and file.resolve() == database.resolve():
        raise BackupError(f"{file} is the database itself; give a backup file")
    taken_at = _check_sqlite_backup(file)
    lock = DatabaseLock(database)
    if not lock.try_acquire():
        raise BackupError(f"a FocusDesk server is running on {database} (it holds {lock.path}): stop the server first")
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
        kept = _set_aside(database, utc_stamp(now))
        incoming = database.with_name(database.name + ".restoring")
        shutil.copyfile(file, incoming)
        publish(incoming, database)
        count, epochs, before, after = start_new_epoch(database_url, taken_at=taken_at, now=now, kept_at=kept)
    finally:
        lock.release()
    return RestoreReport(count, epochs, kept, taken_at, now, before, after)


# -- PostgreSQL --------------------------------------------------------------------------------------


async def _pg_inspect(database_url: str) -> tuple[int, set[str]]:
    """(other FocusDesk connections to this database, its tables in the public schema)."""
    import asyncpg

    dsn, env = libpq_target(database_url)
    conn = await asyncpg.connect(
        dsn, password=env.get("PGPASSWORD"), server_settings={"application_name": "focusdesk-restore"}
    )
    try:
        others = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND application_name = $1",
            SERVER_APPLICATION_NAME,
        )
        tables = {r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    finally:
        await conn.close()
    return int(others), tables


async def _pg_clear(database_url: str) -> None:
    """Drop FocusDesk's tables, so tables a newer schema added do not outlive a restore of an older one."""
    import asyncpg

    dsn, env = libpq_target(database_url)
    conn = await asyncpg.connect(dsn, password=env.get("PGPASSWORD"))
    try:
        async with conn.transaction():
            for table in [*reversed(metadata.sorted_tables), "alembic_version"]:
                name = table if isinstance(table, str) else table.name
                await conn.execute(f'DROP TABLE IF EXISTS "{name}" CASCADE')
    finally:
        await conn.close()


def _restore_postgres(database_url: str, file: Path, now: float) -> RestoreReport:
    with file.open("rb") as f:
        if f.read(5) != PGDUMP_MAGIC:
            raise BackupError(
                f"{file} is not a pg_dump custom archive (`focusdesk backup` of a PostgreSQL database writes one);"
                " a SQLite backup is restored with --database sqlite:///PATH"
            )
    pg_restore = require_tool("pg_restore")
    pg_dump = require_tool("pg_dump")
    missing = [t for t in REQUIRED_TABLES if t not in archive_tables(file)]
    if missing:
        raise BackupError(f"{file} is not a FocusDesk backup (it has no {' or '.join(missing)} table)")
    try:
        others, tables = asyncio.run(_pg_inspect(database_url))
        # A server stopped a moment ago: its connections' backends may take a moment to go.
        deadline = time.monotonic() + 3
        while others and time.monotonic() < deadline:
            time.sleep(0.2)
            others, tables = asyncio.run(_pg_inspect(database_url))
    except Exception as exc:
        raise BackupError(f"cannot connect to the database: {type(exc).__name__}: {exc}") from None
    if others:
        raise BackupError(f"{others} FocusDesk server connection(s) to this database are open: stop the server first")
    if tables and not all(t in tables for t in REQUIRED_TABLES):
        raise BackupError(
            "this PostgreSQL database holds tables that are not FocusDesk's; restore into an empty database"
            " or a FocusDesk one"
        )
    dsn, env = libpq_target(database_url)
    kept = None
    if tables:
        safety = file.parent / f"{make_url(database_url).database}.before-restore-{utc_stamp(now)}.pgdump"
        run_tool([pg_dump, "--format=custom", f"--file={safety}", f"--dbname={dsn}"], env)
        kept = safety
        asyncio.run(_pg_clear(database_url))
    # One transaction: a restore that fails half-way leaves nothing half-restored behind.
    run_tool(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-comments",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={dsn}",
            str(file),
        ],
        env,
    )
    taken_at = archive_created_at(file) or file.stat().st_mtime
    count, epochs, before, after = start_new_epoch(database_url, taken_at=taken_at, now=now, kept_at=kept)
    return RestoreReport(count, epochs, kept, taken_at, now, before, after)


def restore(database_url: str, file: Path) -> RestoreReport:
    """Restore ``file`` into the database at ``database_url`` (see the module docstring). Raises
    :class:`BackupError` with what to do when it cannot."""
    if not file.is_file():
        raise BackupError(f"no such file: {file}")
    now = time.time()
    path = sqlite_path(database_url)
    if path is not None:
        return _restore_sqlite(database_url, path, file, now)
    if make_url(database_url).get_backend_name() == "postgresql":
        return _restore_postgres(database_url, file, now)
    raise BackupError(f"cannot restore into {make_url(database_url).get_backend_name()}: use SQLite or PostgreSQL")
