"""Facts about the installation (the ``server_meta`` table)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from focusdesk.server.schema import server_meta


def read_installation_id(conn: Connection) -> str:
    """The random id the first migration gave this database; instances sharing it share a Redis channel."""
    found = conn.execute(select(server_meta.c.value).where(server_meta.c.key == "installation_id")).scalar()
    if found is None:
        raise LookupError("server_meta has no installation_id: the database was not migrated by FocusDesk")
    return found
