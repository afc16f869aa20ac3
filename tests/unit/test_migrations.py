"""Alembic migrations build exactly the schema the code declares, on a fresh database of each backend."""

from __future__ import annotations

import asyncio

import asyncpg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from focusdesk.server.db import Database
from focusdesk.server.schema import metadata
from tests.pg_support import empty_database


def _diff(conn) -> list:
    return compare_metadata(MigrationContext.configure(conn), metadata)


def _schema_diff(url: str) -> list:
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                return _diff(conn)
        finally:
            engine.dispose()

    # PostgreSQL through asyncpg, the driver the server uses (there is no synchronous one installed).
    async def run() -> list:
        engine = create_async_engine(make_url(url).set(drivername="postgresql+asyncpg"), poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(_diff)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _exclusion_constraints(url: str) -> set[tuple[str, str]]:
    async def run() -> set[tuple[str, str]]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch(
                "SELECT c.conrelid::regclass::text AS tbl, c.conname FROM pg_constraint c WHERE c.contype = 'x'"
            )
        finally:
            await conn.close()
        return {(r["tbl"], r["conname"]) for r in rows}

    return asyncio.run(run())


def test_migrations_match_the_declared_schema(backend, tmp_path):
    with empty_database(backend, tmp_path, "m.db") as url:
        db = Database(url)
        db.migrate()
        db.migrate()  # applying twice is a no-op
        db.close()
        assert _schema_diff(url) == []
        if backend == "postgresql":
            # Alembic autogenerate neither reflects nor compares exclusion constraints (PostgreSQL only, e.g.
            # the reservation overlap one of migration 0005), so compare_metadata is blind to them: check
            # that each one the schema declares exists under its name.
            declared = {
                (table.name, c.name)
                for table in metadata.tables.values()
                for c in table.constraints
                if isinstance(c, ExcludeConstraint)
            }
            assert declared <= _exclusion_constraints(url)
