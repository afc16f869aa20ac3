"""stale-write check: on PostgreSQL, a function that refuses a statement whose rows changed since read

The PostgreSQL check-in path (server/store/checkins_pg.py) reads without locks and writes everything in
one statement that only updates rows still as they were read. ``focusdesk_unchanged(ok, what)`` is how that
statement refuses itself when they were not: it raises serialization_failure (40001), the statement and
its implicit transaction roll back, and the server applies the group the locking way instead. SQLite has
one writer and never takes that path: nothing to do there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 07:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION focusdesk_unchanged(ok boolean, what text) RETURNS boolean
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            IF ok IS NOT TRUE THEN
                RAISE EXCEPTION 'focusdesk: % changed since it was read', what
                    USING ERRCODE = 'serialization_failure';
            END IF;
            RETURN true;
        END
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS focusdesk_unchanged(boolean, text)")
