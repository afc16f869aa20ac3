from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import uuid

import pytest

from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, LiveServer, create_admin

# Where the PostgreSQL runs of the integration tests go; FOCUSDESK_TEST_PG="" turns them off.
PG_ADMIN_URL = os.environ.get("FOCUSDESK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


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
def pg_unavailable_reason() -> str | None:
    """Probed once per test session."""
    return _pg_unavailable_reason()


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
def fresh_pg_database():
    """A fresh, empty PostgreSQL database (dropped afterwards); skips if PG is absent."""
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
    """A fresh, empty PostgreSQL database for one test."""
    with fresh_pg_database() as url:
        yield url


def _server_on(request, tmp_path, **overrides) -> LiveServer:
    if request.param == "sqlite":
        return LiveServer.on_sqlite(tmp_path, **overrides)
    url = request.getfixturevalue("pg_database")
    create_admin(url)
    srv = LiveServer(database_url=url)
    for key, value in overrides.items():
        setattr(srv.settings, key, value)
    return srv


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path):
    """A fresh server on its own database: every test that uses it runs on SQLite and on PostgreSQL."""
    srv = _server_on(request, tmp_path).start()
    yield srv
    srv.stop()


# Live-channel timings short enough for tests to watch heartbeats, reconciles and timeouts happen.
FAST_LIVE = {
    "live_heartbeat_s": 0.5,
    "live_reconcile_s": 0.3,
    "live_hello_timeout_s": 1.0,
    "live_queue_frames": 300,
}


@pytest.fixture(params=["sqlite", "postgresql"])
def live_server(request, tmp_path):
    """Like ``server``, with fast live-channel timings and a small per-connection queue."""
    srv = _server_on(request, tmp_path, **FAST_LIVE).start()
    yield srv
    srv.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def tight_live_server(request, tmp_path):
    """``live_server`` whose sockets have 16 KiB kernel send buffers: a desk that stops reading is
    noticed after a few hundred frames rather than the ~4 MB Linux would otherwise buffer for it."""
    srv = _server_on(request, tmp_path, **FAST_LIVE).start(send_buffer=16 << 10)
    yield srv
    srv.stop()


@pytest.fixture
def admin(server):
    api = Api(server.url)
    api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    yield api
    api.close()
