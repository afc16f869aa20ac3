from __future__ import annotations

import pytest

from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, LiveServer


@pytest.fixture
def server(tmp_path):
    """A fresh server on its own SQLite database."""
    srv = LiveServer.on_sqlite(tmp_path).start()
    yield srv
    srv.stop()


@pytest.fixture
def admin(server):
    api = Api(server.url)
    api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    yield api
    api.close()
