"""Database tables (SQLAlchemy Core). Portable between SQLite and PostgreSQL.

Times are stored as float epoch seconds: the same on both databases, cheap to compare, and rendered as
ISO 8601 at the API edge. JSON payloads are stored as text so they can be passed through to clients
without being decoded and encoded again.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    cast,
    func,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("starts_on", String(10), nullable=False),
    Column("ends_on", String(10), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("next_reg_no", Integer, nullable=False, default=1),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
)

attendees = Table(
    "attendees",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("reg_no", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=True),
    Column("company", String(200), nullable=False, default=""),
    Column("ticket_type", String(64), nullable=False),
    Column("custom", Text, nullable=False, default="{}"),
    Column("status", String(16), nullable=False, default="registered"),
    Column("qr_secret", String(128), nullable=False),
    Column("checked_in", Boolean, nullable=False, default=False),
    Column("checked_in_at", Double, nullable=True),
    Column("checked_in_station", String(64), nullable=True),
    Column("checkin_count", Integer, nullable=False, default=0),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    UniqueConstraint("event_id", "reg_no"),
    UniqueConstraint("event_id", "email"),
    # Per event, not global: an event copied from another (export, import) keeps its printed badges.
    UniqueConstraint("event_id", "qr_secret"),
)

checkins = Table(
    "checkins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("attendee_id", String(64), ForeignKey("attendees.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("at", Double, nullable=False),
    Column("recorded_at", Double, nullable=False),
    Column("station_id", String(64), nullable=False),
    Column("station_name", String(64), nullable=False),
    Column("cmd_seq", Integer, nullable=False),
    Column("user_id", Integer, nullable=True),
    UniqueConstraint("station_id", "cmd_seq"),
    Index("ix_checkins_attendee_id", "attendee_id"),
    Index("ix_checkins_event_id_at", "event_id", "at"),
)

# One row per scope (an event's log is scope "event:<id>"): the head is bumped under this row's lock in
# the same transaction as the change, which makes seq gap-free and commit order equal to seq order.
scope_head = Table(
    "scope_head",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("epoch", String(32), nullable=False),
    Column("head_seq", Integer, nullable=False, default=0),
    Column("min_seq", Integer, nullable=False, default=0),
)

change_log = Table(
    "change_log",
    metadata,
    Column("scope", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", Double, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("data", Text, nullable=False),
    Column("origin", String(64), nullable=False),
)

stations = Table(
    "stations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("last_cmd_seq", Integer, nullable=False, default=0),
    Column("created_at", Double, nullable=False),
    Column("last_seen_at", Double, nullable=True),
)

command_results = Table(
    "command_results",
    metadata,
    Column("station_id", String(64), primary_key=True),
    Column("cmd_seq", Integer, primary_key=True, autoincrement=False),
    Column("result", Text, nullable=False),
    Column("at", Double, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False, default=""),
    Column("password_hash", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", Double, nullable=False),
)

grants = Table(
    "grants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=True),
    UniqueConstraint("user_id", "role", "event_id"),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("station_id", String(64), nullable=True),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("revoked_at", Double, nullable=True),
    Index("ix_tokens_station_id", "station_id"),
)

# Rooms of an event, each with its shared timer stored as data (a TimerState as JSON, never a ticking value).
# ``rev`` counts the room's changes, so a desk keeps the newest version whichever way it hears of it.
rooms = Table(
    "rooms",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(80), nullable=False),
    Column("name_key", String(80), nullable=False),  # casefolded: "Hall A" and "hall a" are one room
    Column("capacity", Integer, nullable=True),
    Column("occupancy", Integer, nullable=False, default=0),
    Column("work_s", Double, nullable=False),
    Column("break_s", Double, nullable=False),
    Column("timer", Text, nullable=False),
    Column("rev", Integer, nullable=False, default=1),
    Column("updated_by", String(64), nullable=True),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    UniqueConstraint("event_id", "name_key"),
)

notices = Table(
    "notices",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("priority", String(8), nullable=False),
    Column("body", Text, nullable=False),
    Column("audience_kind", String(8), nullable=False),
    Column("audience_value", String(64), nullable=True),
    Column("author_id", Integer, nullable=True),
    Column("author", String(254), nullable=False),
    Column("station_name", String(64), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=True),
    Index("ix_notices_event_id_created_at", "event_id", "created_at"),
)

# One acknowledgement per person and notice: a second one is answered "already acknowledged".
notice_acks = Table(
    "notice_acks",
    metadata,
    Column("notice_id", String(64), ForeignKey("notices.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, primary_key=True, autoincrement=False),
    Column("user", String(254), nullable=False),
    Column("station_id", String(64), nullable=False),
    Column("station_name", String(64), nullable=False),
    Column("at", Double, nullable=False),
)

# Prize draws with everything needed to re-run them: the eligible pool (sorted ids) and the seed.
draws = Table(
    "draws",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("prize", String(200), nullable=False),
    Column("checked_in_only", Boolean, nullable=False),
    Column("count", Integer, nullable=False),
    Column("seed", String(64), nullable=False),
    Column("pool", Text, nullable=False),
    Column("pool_size", Integer, nullable=False),
    Column("winners", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("by", String(254), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("decided_at", Double, nullable=True),
    Column("replaces", String(64), nullable=True),  # the discarded draw this one was redrawn from
    Index("ix_draws_event_id_created_at", "event_id", "created_at"),
)

# Rooms and devices lent out by the slot. ``device_status`` is the latest status of a device (None for
# rooms); its history is in ``device_status_history``. ``rev`` counts changes, as for rooms.
resources = Table(
    "resources",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("name", String(80), nullable=False),
    Column("name_key", String(80), nullable=False),
    Column("capacity", Integer, nullable=True),
    Column("buffer_min", Integer, nullable=False),
    Column("open_from", String(5), nullable=True),
    Column("open_until", String(5), nullable=True),
    Column("needs_approval", Boolean, nullable=False),
    Column("release_after_min", Integer, nullable=False),
    Column("device_status", String(12), nullable=True),
    Column("status_note", String(300), nullable=False),
    Column("status_by", String(254), nullable=True),
    Column("status_at", Double, nullable=True),
    Column("rev", Integer, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    UniqueConstraint("event_id", "name_key"),
)

# A booking holds [start, end) plus the resource's buffer on both sides while its status is active.
# The overlap rule is enforced under a lock on the resource's row (store/reservations.py); on PostgreSQL
# the database refuses an overlap as well (the exclusion constraint below), whoever writes the row.
reservations = Table(
    "reservations",
    metadata,
    Column("id", String(64), primary_key=True),  # a series' occurrences are "<id>-2", "<id>-3", …
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("resource_id", String(64), ForeignKey("resources.id", ondelete="CASCADE"), nullable=False),
    Column("holder_name", String(80), nullable=False),
    Column("attendee_id", String(64), nullable=True),
    Column("start", Double, nullable=False),
    Column("end", Double, nullable=False),
    # end + the resource's buffer: two active bookings of a resource overlap (first_conflict) exactly when
    # their [start, hold_until) overlap. Kept by store/reservations.py on every write and buffer change.
    # Never more than that (so the database never refuses what the rule allows), sometimes less: a finished
    # booking a later buffer change no longer reaches keeps the value it had (in the past), and bookings
    # already closer than a buffer raised before migration 0005 hold only until the next one starts.
    Column("hold_until", Double, nullable=False),
    Column("status", String(12), nullable=False),
    Column("series_id", String(64), nullable=True),
    Column("note", String(300), nullable=False),
    Column("created_by", String(254), nullable=False),
    Column("station_id", String(64), nullable=True),
    Column("created_at", Double, nullable=False),
    Column("checked_in_at", Double, nullable=True),
    Column("decided_by", String(254), nullable=True),
    Column("reason", String(300), nullable=False),
    Column("reminded_at", Double, nullable=True),
    Column("rev", Integer, nullable=False),
    Column("updated_at", Double, nullable=False),
    Index("ix_reservations_resource_id_start", "resource_id", "start"),
    # The server's own clock work (no-show release, reminders) looks bookings up by status and start.
    Index("ix_reservations_status_start", "status", "start"),
)

# PostgreSQL only (SQLite has no exclusion constraints; its single writer and the resource lock suffice):
# no two active bookings of one resource hold overlapping [start, hold_until). There is no float8 range
# type, so the times are cast to numeric; the cast keeps 15 significant digits (10 µs at today's epoch),
# and rounding never turns bookings that merely touch into an overlap (it is monotone), so the database
# never refuses what the rule allows. btree_gist lets "resource_id WITH =" share the GiST index.
# Migration 0005 creates it; Alembic autogenerate neither reflects nor compares exclusion constraints,
# so a change here needs a hand-written migration.
RESERVATION_OVERLAP = "ex_reservations_resource_id_hold"
_HOLDING = ("pending", "approved", "checked_in", "completed")  # domain.reservations.ACTIVE
reservations.append_constraint(
    ExcludeConstraint(
        (reservations.c.resource_id, "="),
        (func.numrange(cast(reservations.c.start, Numeric), cast(reservations.c.hold_until, Numeric)), "&&"),
        name=RESERVATION_OVERLAP,
        using="gist",
        where="status IN (" + ", ".join(f"'{s}'" for s in _HOLDING) + ")",
    ).ddl_if(dialect="postgresql")
)

device_status_history = Table(
    "device_status_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("resource_id", String(64), ForeignKey("resources.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(12), nullable=False),
    Column("note", String(300), nullable=False),
    Column("source", String(8), nullable=False),  # staff | device | booking
    Column("by", String(254), nullable=False),
    Column("at", Double, nullable=False),
    Index("ix_device_status_history_resource_id_at", "resource_id", "at"),
)

# Desk presence (domain/presence.py): the latest report of each desk and whether it is online. A desk
# belongs to the event it last reported for. ``report`` is the desk's report as JSON.
desk_presence = Table(
    "desk_presence",
    metadata,
    Column("station_id", String(64), primary_key=True),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("state", String(8), nullable=False),  # online | offline
    Column("report", Text, nullable=True),
    Column("reported_at", Double, nullable=True),
    Column("changed_at", Double, nullable=False),
    Column("offline_reason", String(60), nullable=False, default=""),
)

# The reports that were news (and each turn online/offline), a short history per desk for the board.
desk_presence_history = Table(
    "desk_presence_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("station_id", String(64), ForeignKey("desk_presence.station_id", ondelete="CASCADE"), nullable=False),
    Column("at", Double, nullable=False),
    Column("state", String(8), nullable=False),
    Column("report", Text, nullable=True),
    Column("offline_reason", String(60), nullable=False, default=""),
    Index("ix_desk_presence_history_station_id_at", "station_id", "at"),
)

# Facts about this installation rather than about an event. "installation_id" (a random id made by the
# migration that created this table) names the Redis channel instances sharing this database talk on, so
# two installations on one Redis never hear each other.
server_meta = Table(
    "server_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(300), nullable=False),
)
