"""server meta: the installation id that names the instances' Redis channel

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 01:50:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    meta = op.create_table(
        "server_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_server_meta")),
    )
    op.bulk_insert(meta, [{"key": "installation_id", "value": uuid.uuid4().hex}])


def downgrade() -> None:
    op.drop_table("server_meta")
