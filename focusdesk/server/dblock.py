"""One owner at a time for a SQLite database file: the running server, or a restore.

A restore replaces the database file; doing that under a running server would leave the server writing
to a file that is no longer the database (or to the moved-aside one). So a server on SQLite holds an
exclusive advisory lock on ``<db>.lock`` (``fcntl.flock``) while it runs, and ``focusdesk restore`` takes
the same lock first and refuses, saying "stop the server first", while it is held. The kernel drops the
lock when the process ends, however it ends (kill -9 included), so a crashed server never blocks a restore.

PostgreSQL has no such file; the restore looks at ``pg_stat_activity`` instead (server/backups.py).
Where ``fcntl`` does not exist (Windows) the lock is a no-op.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from focusdesk.server.db import DatabaseUnavailable

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class DatabaseLock:
    """An exclusive, non-blocking advisory lock on ``<database>.lock``."""

    def __init__(self, database: Path):
        self.database = database
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False if another process (or open file) holds it."""
        if self._fd is not None:
            return True
        if fcntl is None:  # pragma: no cover - Windows
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def sqlite_path(database_url: str) -> Path | None:
    """The file behind a ``sqlite:///PATH`` URL; None for any other database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def holding_database_lock(
    database_url: str, lifespan: Callable[[Any], AbstractAsyncContextManager[None]]
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """``lifespan`` run inside the database's lock (SQLite only): a second server on the same file, or
    one started during a restore, stops at start-up with the reason instead of sharing the file."""

    @asynccontextmanager
    async def locked(app: Any) -> AsyncIterator[None]:
        path = sqlite_path(database_url)
        lock = DatabaseLock(path) if path is not None else None
        if lock is not None and not lock.try_acquire():
            raise DatabaseUnavailable(
                f"{path} is in use by another FocusDesk server or a restore ({lock.path} is locked); stop that first"
            )
        try:
            async with lifespan(app):
                yield
        finally:
            if lock is not None:
                lock.release()

    return locked
