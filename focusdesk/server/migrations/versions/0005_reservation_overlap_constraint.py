"""reservation overlap constraint: reservations.hold_until, and on PostgreSQL an exclusion constraint

Every booking gets ``hold_until`` = end + its resource's buffer, so two active bookings of a resource
overlap (the rule in domain/reservations.py ``first_conflict``) exactly when their ``[start, hold_until)``
overlap. On PostgreSQL the database then refuses an overlap itself, next to the resource-row lock the
server decides under: ``EXCLUDE USING gist (resource_id WITH =, numrange(start, hold_until) WITH &&)``
over the active statuses. SQLite gets the column only (it has no exclusion constraints, and its single
writer decides every booking in turn anyway).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CONSTRAINT = "ex_reservations_resource_id_hold"  # schema.RESERVATION_OVERLAP
# domain.reservations.ACTIVE, spelled out: a migration keeps meaning what it meant when it was written.
HOLDING = "('pending', 'approved', 'checked_in', 'completed')"


def upgrade() -> None:
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_until", sa.Double(), nullable=True))
    op.execute(
        'UPDATE reservations SET hold_until = "end" + 60 * COALESCE('
        "(SELECT resources.buffer_min FROM resources WHERE resources.id = reservations.resource_id), 0)"
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.alter_column("hold_until", existing_type=sa.Double(), nullable=False)
    if op.get_bind().dialect.name == "postgresql":
        _exclusion_constraint()


def _exclusion_constraint() -> None:
    # A buffer raised before this revision was accepted without looking at the bookings, so two of them may
    # sit closer than today's buffer. Those keep what they had: the earlier one holds only until the next
    # one starts (never less than its own end). The server still keeps the whole buffer for new bookings;
    # the database just never refuses more than the server's rule does (hold_until <= end + buffer).
    op.execute(
        f"""
        UPDATE reservations AS r SET hold_until = GREATEST(r."end", n.next_start)
        FROM (
            SELECT id, LEAD(start) OVER (PARTITION BY resource_id ORDER BY start, id) AS next_start
            FROM reservations WHERE status IN {HOLDING}
        ) AS n
        WHERE n.id = r.id AND n.next_start IS NOT NULL AND r.hold_until > n.next_start
        """
    )
    # What is left overlapping overlaps without any buffer: the server never allowed that, so it is damage
    # someone must look at, not something to guess about. (Only neighbours by start need checking: a
    # booking overlapping a later one overlaps every booking starting between them.)
    clashes = (
        op.get_bind()
        .execute(
            sa.text(
                f"""
                SELECT id, next_id, resource_id FROM (
                    SELECT id, resource_id, "end",
                           LEAD(start) OVER w AS next_start, LEAD(id) OVER w AS next_id
                    FROM reservations WHERE status IN {HOLDING}
                    WINDOW w AS (PARTITION BY resource_id ORDER BY start, id)
                ) AS s
                WHERE next_start < "end"
                ORDER BY resource_id, id
                LIMIT 5
                """
            )
        )
        .all()
    )
    if clashes:
        pairs = "; ".join(f"{a} and {b} (resource {res})" for a, b, res in clashes)
        raise RuntimeError(
            f"active reservations overlap, which the server never allows: {pairs}. Cancel one of each pair "
            "(UPDATE reservations SET status = 'cancelled' WHERE id = …) and start the server again."
        )
    # Trusted since PostgreSQL 13: the database owner may create it without being a superuser.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    # numrange over the stored epoch seconds (PostgreSQL has no float8 range type; tstzrange over
    # to_timestamp() would work too, but adds a type the columns do not have). float8 -> numeric keeps 15
    # significant digits, 10 µs at today's epoch; the rounding is monotone, so bookings that merely touch
    # never overlap, and a refusal is never stricter than the rule.
    op.execute(
        f"ALTER TABLE reservations ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist "
        "(resource_id WITH =, numrange(start::numeric, hold_until::numeric) WITH &&) "
        f"WHERE (status IN {HOLDING})"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE reservations DROP CONSTRAINT IF EXISTS {CONSTRAINT}")
        # btree_gist stays: other things in the database may use it.
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_column("hold_until")
