"""The database backends a test server runs on, and PostgreSQL for the tests.

``--database sqlite|postgresql|both`` (tests/conftest.py; env FOCUSDESK_TEST_DATABASE, default both) picks
the backends that tests taking the ``backend`` fixture (directly or through ``server``, ``server_database``
and the like) run on. PostgreSQL runs create a throw-away database per test on FOCUSDESK_TEST_PG (an admin
URL, default postgresql://postgres@127.0.0.1:5432/postgres; empty switches PostgreSQL runs off) and skip,
saying why, where that server cannot be reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from focusdesk.server.db import sqlite_url_for
from tests.support import create_admin

BACKENDS = ("sqlite", "postgresql")
CHOICES = ("sqlite", "postgresql", "both")

# Where the PostgreSQL runs go; FOCUSDESK_TEST_PG="" turns them off.
PG_ADMIN_URL = os.environ.get("FOCUSDESK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

_selected: tuple[str, ...] = BACKENDS


def backends_for(choice: str) -> tuple[str, ...]:
    if choice not in CHOICES:
        raise ValueError(f"--database must be one of {', '.join(CHOICES)}, not {choice!r}")
    return BACKENDS if choice == "both" else (choice,)


def select_backends(choice: str) -> None:
    """Called once per test process (tests/conftest.py) with the ``--database`` choice."""
    global _selected
    _selected = backends_for(choice)


def selected_backends() -> tuple[str, ...]:
    return _selected


def _pg_unavailable_reason() -> str | None:
    if not PG_ADMIN_URL:
        return "FOCUSDESK_TEST_PG is empty: PostgreSQL runs are switched off"
    try:
        import asyncpg
    except ImportError:
        return "asyncpg is not installed"

    async def probe():
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:  # any failure means: no usable server here
        return f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({type(exc).__name__}: {exc})"
    return None


@functools.cache
def _probed_reason() -> str | None:
    return _pg_unavailable_reason()


def pg_unavailable_reason() -> str | None:
    """Why PostgreSQL tests cannot run here (None: they can). The server is probed once per process."""
    if "postgresql" not in _selected:
        return "PostgreSQL runs are off: --database sqlite (or FOCUSDESK_TEST_DATABASE=sqlite)"
    return _probed_reason()


def _pg_admin(sql: str) -> None:
    import asyncpg

    async def run():
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@contextlib.contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (dropped afterwards); skips if PG is absent or not selected."""
    reason = pg_unavailable_reason()
    if reason:
        pytest.skip(reason)
    name = f"fd_test_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_database():
    """A fresh, empty PostgreSQL database for one test (PostgreSQL-only tests; deselected by --database sqlite)."""
    with fresh_pg_database() as url:
        yield url


@contextlib.contextmanager
def empty_database(backend: str, directory: Path, name: str = "empty.db") -> Iterator[str]:
    """A fresh database on ``backend`` with no schema yet (whatever opens it migrates it): SQLite
    ``directory``/``name`` (not created), or a PostgreSQL database of its own, dropped when the block ends."""
    if backend == "sqlite":
        yield sqlite_url_for(directory / name)
    elif backend == "postgresql":
        with fresh_pg_database() as url:
            yield url
    else:
        raise ValueError(f"unknown backend {backend!r}: one of {', '.join(BACKENDS)}")


@contextlib.contextmanager
def server_database(backend: str, directory: Path) -> Iterator[str]:
    """A fresh server database on ``backend``, migrated and holding the test admin (tests.support.ADMIN_*).

    SQLite: ``directory``/server.db (left to the tmp dir). PostgreSQL: a database of its own, dropped when
    the block ends (skips where PostgreSQL is absent or not selected)."""
    if backend == "sqlite":
        url = sqlite_url_for(directory / "server.db")
        create_admin(url)
        yield url
    elif backend == "postgresql":
        with fresh_pg_database() as url:
            create_admin(url)
            yield url
    else:
        raise ValueError(f"unknown backend {backend!r}: one of {', '.join(BACKENDS)}")
