"""The desk's own SQLite file: replica, cursors, outbox, attention list, print queue.

One file per ``station_id`` in the user state dir. The schema is versioned with ``PRAGMA user_version``
and upgraded by the ordered steps in :data:`MIGRATIONS`; a file written by a newer FocusDesk is refused
with a clear error instead of being misread. Later features (rooms, timers, reservations, notices) add
their replica tables as further steps.

Durability: WAL with ``synchronous=FULL`` — an action that returned is on disk, even if the laptop's
battery dies the next moment (a desk does a few writes a second; the fsync is affordable).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import platformdirs

# Each step moves the file from version i to i + 1. Never edit a released step; append a new one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

    -- Where the desk is in each scope's change log: "snapshot at S plus contiguous changes up to seq".
    CREATE TABLE scopes (
        scope TEXT PRIMARY KEY,
        epoch TEXT,
        seq INTEGER,
        synced_at REAL
    );

    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        starts_on TEXT,
        ends_on TEXT,
        timezone TEXT NOT NULL,
        status TEXT NOT NULL,
        updated_at TEXT
    );

    -- The server's attendees plus this desk's walk-ins the server has not accepted yet (local_only).
    -- srv_* hold the server's check-in state; the unprefixed check-in columns hold what the desk
    -- shows: the server's state, or, while this desk has check-ins/undos for the person the server
    -- has not reported back yet, the state derived from the facts including them.
    CREATE TABLE attendees (
        id TEXT PRIMARY KEY,
        event_id INTEGER NOT NULL,
        reg_no INTEGER,
        name TEXT NOT NULL,
        email TEXT,
        company TEXT NOT NULL DEFAULT '',
        ticket_type TEXT NOT NULL,
        custom TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL,
        qr_secret TEXT NOT NULL,
        checked_in INTEGER NOT NULL DEFAULT 0,
        checked_in_at REAL,
        checked_in_station TEXT,
        checkin_count INTEGER NOT NULL DEFAULT 0,
        srv_checked_in INTEGER NOT NULL DEFAULT 0,
        srv_checked_in_at REAL,
        srv_checked_in_station TEXT,
        srv_checkin_count INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT,
        local_only INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX attendees_event ON attendees (event_id, reg_no);
    CREATE INDEX attendees_qr ON attendees (qr_secret);

    -- Check-in facts the server recorded (from snapshots and changes): the history panel, and the
    -- base the desk's optimistic state is derived from.
    CREATE TABLE facts (
        station_id TEXT NOT NULL,
        cmd_seq INTEGER NOT NULL,
        event_id INTEGER NOT NULL,
        attendee_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        at REAL NOT NULL,
        recorded_at REAL NOT NULL,
        station_name TEXT NOT NULL,
        PRIMARY KEY (station_id, cmd_seq)
    );
    CREATE INDEX facts_attendee ON facts (attendee_id);

    -- Commands in cmd_seq order. state: queued (not answered yet) | applied | rejected.
    -- delivered: the server's watermark shows it has the command, the answer is still to be fetched.
    CREATE TABLE outbox (
        cmd_seq INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        args TEXT NOT NULL,
        device_time REAL NOT NULL,
        created_at REAL NOT NULL,
        event_id INTEGER,
        attendee_id TEXT,
        state TEXT NOT NULL DEFAULT 'queued',
        delivered INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        result TEXT,
        answered_at REAL,
        label TEXT,  -- who it was about, as the desk knew them (for messages after a removal)
        predicted TEXT  -- what the desk told the person at once (e.g. already_in), to spot surprises
    );
    CREATE INDEX outbox_pending ON outbox (state, cmd_seq);
    CREATE INDEX outbox_attendee ON outbox (attendee_id, state);

    -- What a person must look at: refused commands, actions that lost to another desk.
    CREATE TABLE attention (
        id INTEGER PRIMARY KEY,
        cmd_seq INTEGER,
        kind TEXT NOT NULL,
        code TEXT NOT NULL,
        message TEXT NOT NULL,
        attendee_id TEXT,
        created_at REAL NOT NULL,
        dismissed_at REAL
    );

    -- Badges to print, kept until printed: printing works offline and survives a restart.
    CREATE TABLE print_jobs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        attendee_id TEXT,
        payload TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL DEFAULT 'queued',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        printer TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX print_jobs_state ON print_jobs (state, id);
    """,
    """
    -- Rooms, notices and draws as the server last said (``record`` is its JSON). ``rev`` counts a
    -- room's changes on the server, so an answer and a live change can arrive in either order and the
    -- desk still keeps the newer one.
    CREATE TABLE rooms (
        id TEXT PRIMARY KEY,
        event_id INTEGER NOT NULL,
        rev INTEGER NOT NULL,
        record TEXT NOT NULL
    );
    CREATE TABLE notices (
        id TEXT PRIMARY KEY,
        event_id INTEGER NOT NULL,
        created_at REAL NOT NULL,
        record TEXT NOT NULL
    );
    CREATE TABLE notice_acks (
        notice_id TEXT NOT NULL,
        user_id INTEGER NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (notice_id, user_id)
    );
    CREATE TABLE draws (
        id TEXT PRIMARY KEY,
        event_id INTEGER NOT NULL,
        created_at REAL NOT NULL,
        record TEXT NOT NULL
    );
    """,
    """
    -- Resources (rooms and devices lent by the slot) and their bookings as the server last said. ``rev``
    -- as for rooms: an answer and a live change may arrive in either order, the newer one is kept; a
    -- deleted resource stays as a tombstone so a late, older version cannot bring it back. ``start`` and
    -- ``end`` (epoch seconds) are columns so a day's timeline is read by index, not by parsing every record.
    CREATE TABLE resources (
        id TEXT PRIMARY KEY,
        event_id INTEGER NOT NULL,
        rev INTEGER NOT NULL,
        record TEXT NOT NULL
    );
    CREATE TABLE reservations (
        id TEXT PRIMARY KEY,
        event_id INTEGER NOT NULL,
        resource_id TEXT NOT NULL,
        start REAL NOT NULL,
        end REAL NOT NULL,
        rev INTEGER NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX reservations_resource_start ON reservations (resource_id, start);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


class StationDatabaseError(Exception):
    """The station file cannot be used (written by a newer FocusDesk, or not a FocusDesk file)."""


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir("focusdesk"))


def station_db_path(station_id: str, directory: Path | None = None) -> Path:
    return (directory or state_dir()) / f"station-{station_id}.db"


class StationDB:
    """A connection to one desk's file. Single-threaded: the desk's event loop owns it."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are explicit (``with db.tx():``), never implicit.
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self._depth = 0
        try:
            self._configure()
            self._migrate()
        except Exception:
            self.conn.close()
            raise

    def _configure(self) -> None:
        c = self.conn
        try:
            c.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as exc:
            raise StationDatabaseError(f"{self.path} is not a FocusDesk station file ({exc})") from exc
        c.execute("PRAGMA synchronous=FULL")
        c.execute("PRAGMA foreign_keys=ON")
        c.execute("PRAGMA busy_timeout=5000")
        c.execute("PRAGMA cache_size=-32768")  # 32 MiB: a 50,000-person replica stays in memory

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StationDatabaseError(
                f"{self.path} was written by a newer FocusDesk (station schema {version}; this version reads up"
                f" to {SCHEMA_VERSION}). Update FocusDesk on this desk, or move the file away to start afresh"
                " (its unsent actions would be lost)."
            )
        for step in range(version, SCHEMA_VERSION):
            with self.tx():
                for statement in _split(MIGRATIONS[step]):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version={step + 1}")

    @contextlib.contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One local transaction (nested uses join the outer one)."""
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.conn
        except BaseException:
            self._depth = 0
            self.conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self.conn.execute("COMMIT")

    # -- meta ------------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: object) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, str(value)),
        )

    def close(self) -> None:
        self.conn.close()


def _split(script: str) -> list[str]:
    """Statements of a migration step (executescript would commit the open transaction). SQLite's own
    tokenizer decides where a statement ends, so a ';' inside a comment or a string is no trouble."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
