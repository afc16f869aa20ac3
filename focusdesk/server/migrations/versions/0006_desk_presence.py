"""desk presence: the latest report of each desk and a short history

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_presence",
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.Double(), nullable=True),
        sa.Column("changed_at", sa.Double(), nullable=False),
        sa.Column("offline_reason", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_desk_presence_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_desk_presence")),
    )
    with op.batch_alter_table("desk_presence", schema=None) as batch_op:
        batch_op.create_index("ix_desk_presence_event_id", ["event_id"], unique=False)
    op.create_table(
        "desk_presence_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("offline_reason", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["desk_presence.station_id"],
            name=op.f("fk_desk_presence_history_station_id_desk_presence"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_presence_history")),
    )
    with op.batch_alter_table("desk_presence_history", schema=None) as batch_op:
        batch_op.create_index("ix_desk_presence_history_station_id_at", ["station_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_table("desk_presence_history")
    op.drop_table("desk_presence")
