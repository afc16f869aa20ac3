from __future__ import annotations

import contextlib

import pytest

# The PostgreSQL helpers live in tests/pg_support.py (usable from every test directory); they are named
# here too because helpers and tests import them from this module.
from tests.pg_support import (  # noqa: F401
    PG_ADMIN_URL,
    _pg_admin,
    _pg_unavailable_reason,
    fresh_pg_database,
    pg_database,
    pg_unavailable_reason,
    server_database,
)
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, LiveServer


def _server_on(request, tmp_path, **overrides) -> LiveServer:
    """A (not yet started) server on a fresh database, with ``overrides`` applied to its settings. The
    backend is the calling fixture's own param if it has one (``params=["sqlite", "postgresql"]``), else
    the ``backend`` fixture, which the calling fixture must then take so that ``--database`` parametrises
    the test."""
    backend = getattr(request, "param", None)
    if backend is None:
        url = request.getfixturevalue("server_database")
    else:
        stack = contextlib.ExitStack()
        request.addfinalizer(stack.close)  # after the calling fixture has stopped its server
        url = stack.enter_context(server_database(backend, tmp_path))
    return LiveServer.configured(url, **overrides)


@pytest.fixture
def server(backend, request, tmp_path):
    """A fresh server on its own database: every test that uses it runs on each backend ``--database``
    selects (SQLite and PostgreSQL by default)."""
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


@pytest.fixture
def live_server(backend, request, tmp_path):
    """Like ``server``, with fast live-channel timings and a small per-connection queue."""
    srv = _server_on(request, tmp_path, **FAST_LIVE).start()
    yield srv
    srv.stop()


@pytest.fixture
def tight_live_server(backend, request, tmp_path):
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
