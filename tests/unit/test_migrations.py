"""Alembic migrations build exactly the schema the code declares, on a fresh database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from focusdesk.server.db import Database, sqlite_url_for
from focusdesk.server.schema import metadata


def test_migrations_match_the_declared_schema(tmp_path):
    url = sqlite_url_for(tmp_path / "m.db")
    db = Database(url)
    db.migrate()
    db.migrate()  # applying twice is a no-op
    db.close()
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []
