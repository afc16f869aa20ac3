"""Which database backends the server-side tests run on.

Every test whose fixtures include ``backend`` (``server``, ``live_server``, ``server_database``, the TUI
worlds, …) is parametrised over the backends ``--database`` selects: ``both`` (default), ``sqlite`` or
``postgresql``; the environment variable FOCUSDESK_TEST_DATABASE gives the default. Test ids end in
``[sqlite]`` / ``[postgresql]``. With ``--database sqlite`` no PostgreSQL test runs at all: the PostgreSQL
variants are not generated and PostgreSQL-only tests (``pg_database``) are deselected. Tests without a
backend (pure rules, the desk's own SQLite file, the SQLite group-commit writer) run whatever is chosen.
"""

from __future__ import annotations

import os

import pytest

from tests import pg_support
from tests.pg_support import pg_database  # noqa: F401  (a fixture for every test directory)


def pytest_addoption(parser):
    parser.addoption(
        "--database",
        choices=pg_support.CHOICES,
        default=os.environ.get("FOCUSDESK_TEST_DATABASE") or "both",
        help="database backends for the server tests: sqlite, postgresql or both (default: both, or "
        "FOCUSDESK_TEST_DATABASE). PostgreSQL runs use FOCUSDESK_TEST_PG, an admin URL (empty: off).",
    )


def pytest_configure(config):
    pg_support.select_backends(config.getoption("--database"))
    config.addinivalue_line("markers", "postgresql: runs against PostgreSQL (deselected by --database sqlite)")


def pytest_report_header(config):
    backends = " and ".join(pg_support.selected_backends())
    reason = pg_support.pg_unavailable_reason() if "postgresql" in pg_support.selected_backends() else None
    line = f"server tests run on: {backends}"
    return [line + (f" (PostgreSQL tests will skip: {reason})" if reason else "")]


def _parametrised_explicitly(metafunc, name: str) -> bool:
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs.get("argnames", ())
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if name in names:
            return True
    return False


@pytest.hookimpl(trylast=True)  # after @parametrize, so the backend comes last in the test id
def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames and not _parametrised_explicitly(metafunc, "backend"):
        backends = pg_support.selected_backends()
        metafunc.parametrize("backend", backends, indirect=True, ids=list(backends))


def pytest_collection_modifyitems(config, items):
    wants_pg = "postgresql" in pg_support.selected_backends()
    kept, dropped = [], []
    for item in items:
        on_pg = "pg_database" in getattr(item, "fixturenames", ()) or (
            getattr(item, "callspec", None) is not None and item.callspec.params.get("backend") == "postgresql"
        )
        if on_pg:
            item.add_marker(pytest.mark.postgresql)
        if not wants_pg and (on_pg or item.get_closest_marker("postgresql")):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="module")
def backend(request) -> str:
    """The database backend this test's server runs on: "sqlite" or "postgresql" (see ``--database``).

    Module-scoped so module-wide servers can take it too; a module's tests run grouped by backend."""
    if request.param == "postgresql":
        reason = pg_support.pg_unavailable_reason()
        if reason:
            pytest.skip(reason)
    return request.param


@pytest.fixture
def server_database(backend, tmp_path):
    """A fresh server database URL on this test's backend: migrated, with the test admin; dropped after."""
    with pg_support.server_database(backend, tmp_path) as url:
        yield url
