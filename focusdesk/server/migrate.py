"""Apply Alembic migrations programmatically (no alembic.ini: the server finds its own scripts)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade_to_head(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")
    # Alembic leaves its transaction for the caller to finish.
    if connection.in_transaction():
        connection.commit()
