"""The desk's copy of resources and bookings: kept from snapshots, live changes and command answers.

Records carry ``rev`` (their count of changes on the server): whichever of a command's answer and the
live change arrives first, the newer version is kept, and a deleted resource leaves a tombstone so a
late answer cannot bring it back.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from focusdesk.domain.timeutil import from_iso
from focusdesk.station.replica import CHANGE_APPLIERS, SNAPSHOT_LOADERS, ReplicaContext, Touched


def store_resource(conn: sqlite3.Connection, record: dict[str, Any]) -> bool:
    """Keep ``record`` unless the desk already holds a newer version of the resource; True if stored."""
    stored = conn.execute("SELECT rev FROM resources WHERE id = ?", (record["id"],)).fetchone()
    if stored is not None and stored[0] > record.get("rev", 0):
        return False
    conn.execute(
        "INSERT OR REPLACE INTO resources (id, event_id, rev, record) VALUES (?, ?, ?, ?)",
        (record["id"], record["event_id"], record.get("rev", 0), json.dumps(record, ensure_ascii=False)),
    )
    return True


def store_resource_deletion(conn: sqlite3.Connection, resource_id: str, event_id: int, rev: int) -> None:
    """A tombstone at the deletion's ``rev``. The server deletes the resource's bookings with it, so the
    desk does too (no later change will mention them)."""
    if store_resource(conn, {"id": resource_id, "event_id": event_id, "rev": rev, "deleted": True}):
        conn.execute("DELETE FROM reservations WHERE resource_id = ?", (resource_id,))


def store_reservation(conn: sqlite3.Connection, record: dict[str, Any]) -> bool:
    """Keep ``record`` unless the desk already holds a newer version of the booking; True if stored."""
    stored = conn.execute("SELECT rev FROM reservations WHERE id = ?", (record["id"],)).fetchone()
    if stored is not None and stored[0] > record.get("rev", 0):
        return False
    conn.execute(
        "INSERT OR REPLACE INTO reservations (id, event_id, resource_id, start, end, rev, record)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            record["id"],
            record["event_id"],
            record["resource_id"],
            from_iso(record["start"]),
            from_iso(record["end"]),
            record.get("rev", 0),
            json.dumps(record, ensure_ascii=False),
        ),
    )
    return True


def keep_answer(conn: sqlite3.Connection, result: dict[str, Any]) -> Touched:
    """An answer to a resource or booking command carries the server's new versions: keep them now (the
    live change with the same ``rev`` may come before or after). A refused booking's answer (and a series'
    skipped dates) name the bookings that won; keeping those too shows the desk why at once."""
    if isinstance(result.get("resource"), dict):
        store_resource(conn, result["resource"])
    if isinstance(result.get("deleted_resource"), dict):
        gone = result["deleted_resource"]
        store_resource_deletion(conn, gone["id"], gone["event_id"], gone.get("rev", 0))
    skipped = [s.get("conflict") for s in result.get("skipped") or () if isinstance(s, dict)]
    records = [result.get("reservation"), *(result.get("reservations") or ()), result.get("conflict"), *skipped]
    for record in records:
        if isinstance(record, dict) and {"id", "event_id", "resource_id", "start", "end"} <= set(record):
            store_reservation(conn, record)
    return Touched(reservations=True)


def _on_resource_updated(conn: sqlite3.Connection, data: dict, ctx: ReplicaContext) -> Touched:
    store_resource(conn, data["resource"])
    return Touched(reservations=True)


def _on_resource_deleted(conn: sqlite3.Connection, data: dict, ctx: ReplicaContext) -> Touched:
    store_resource_deletion(conn, data["id"], data["event_id"], data.get("rev", 0))
    return Touched(reservations=True)


def _on_reservation_updated(conn: sqlite3.Connection, data: dict, ctx: ReplicaContext) -> Touched:
    store_reservation(conn, data["reservation"])
    return Touched(reservations=True)


def _load_resources(conn: sqlite3.Connection, event_id: int, records: list[dict]) -> None:
    conn.execute("DELETE FROM resources WHERE event_id = ?", (event_id,))
    for record in records:
        store_resource(conn, record)


def _load_reservations(conn: sqlite3.Connection, event_id: int, records: list[dict]) -> None:
    conn.execute("DELETE FROM reservations WHERE event_id = ?", (event_id,))
    for record in records:
        store_reservation(conn, record)


CHANGE_APPLIERS.update(
    {
        "resource.updated": _on_resource_updated,
        "resource.deleted": _on_resource_deleted,
        "reservation.updated": _on_reservation_updated,
    }
)
SNAPSHOT_LOADERS["resources"] = _load_resources
SNAPSHOT_LOADERS["reservations"] = _load_reservations
