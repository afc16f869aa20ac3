"""Public shapes of stored rows: what the API, the change log and snapshots carry."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from focusdesk.domain.timeutil import to_iso


def event_record(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "starts_on": row["starts_on"],
        "ends_on": row["ends_on"],
        "timezone": row["timezone"],
        "status": row["status"],
        "updated_at": to_iso(row["updated_at"]),
    }


def attendee_record(row: Mapping[str, Any]) -> dict[str, Any]:
    custom = row["custom"]
    return {
        "id": row["id"],
        "event_id": row["event_id"],
        "registration_number": row["reg_no"],
        "name": row["name"],
        "email": row["email"],
        "company": row["company"],
        "ticket_type": row["ticket_type"],
        "custom": json.loads(custom) if isinstance(custom, str) else dict(custom or {}),
        "status": row["status"],
        "qr_secret": row["qr_secret"],
        "checked_in": bool(row["checked_in"]),
        "checked_in_at": to_iso(row["checked_in_at"]),
        "checked_in_station": row["checked_in_station"],
        "checkin_count": row["checkin_count"],
        "updated_at": to_iso(row["updated_at"]),
    }


def checkin_record(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "attendee_id": row["attendee_id"],
        "kind": row["kind"],
        "at": to_iso(row["at"]),
        "recorded_at": to_iso(row["recorded_at"]),
        "station_id": row["station_id"],
        "station_name": row["station_name"],
        "cmd_seq": row["cmd_seq"],
    }


# One encoder, made once: json.dumps with non-default options builds a new encoder on every call.
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(value: Any) -> str:
    """Compact JSON, UTF-8 kept readable (names are not escaped to \\uXXXX)."""
    return _ENCODE(value)
