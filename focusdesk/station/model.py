"""What the station hands to its user interface: plain, immutable views."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

ATTENDEE_SELECT = (
    "SELECT id, event_id, reg_no, name, email, company, ticket_type, custom, status, qr_secret, checked_in,"
    " checked_in_at, checked_in_station, checkin_count, local_only FROM attendees"
)


@dataclass(frozen=True, slots=True)
class Attendee:
    id: str
    event_id: int
    registration_number: int | None  # None: a walk-in the server has not numbered yet
    name: str
    email: str | None
    company: str
    ticket_type: str
    custom: dict[str, str]
    status: str
    qr_secret: str
    checked_in: bool
    checked_in_at: float | None
    checked_in_station: str | None
    checkin_count: int
    pending: bool  # registered on this desk, not yet accepted by the server

    @classmethod
    def from_row(cls, row: sqlite3.Row | tuple) -> Attendee:
        return cls(
            id=row[0],
            event_id=row[1],
            registration_number=row[2],
            name=row[3],
            email=row[4],
            company=row[5],
            ticket_type=row[6],
            custom=json.loads(row[7]),
            status=row[8],
            qr_secret=row[9],
            checked_in=bool(row[10]),
            checked_in_at=row[11],
            checked_in_station=row[12],
            checkin_count=row[13],
            pending=bool(row[14]),
        )

    def search_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "company": self.company,
            "registration_number": self.registration_number,
            "qr_secret": self.qr_secret,
        }


@dataclass(frozen=True, slots=True)
class AlreadyIn:
    at: float
    station: str
    local_time: str  # "09:14" on the venue's clock


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action did on this desk, at once (the server's word follows later)."""

    cmd_seq: int
    attendee: Attendee
    message: str
    already_in: AlreadyIn | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    kind: str  # checkin | undo
    at: float
    station_name: str
    confirmed: bool  # False: this desk's, not yet reported back by the server


@dataclass(frozen=True, slots=True)
class AttentionItem:
    id: int
    kind: str  # rejected | conflict | notice | sync
    code: str
    message: str
    attendee_id: str | None
    cmd_seq: int | None
    created_at: float


@dataclass(frozen=True, slots=True)
class StuckCommand:
    """A queued command that keeps failing to reach the server (it is still retried, never dropped: the
    server needs every command number in order)."""

    cmd_seq: int
    type: str  # checkin | undo | walkin
    label: str  # who it is about
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Counts:
    registered: int
    checked_in: int


@dataclass(frozen=True, slots=True)
class StationStatus:
    """Everything a status bar shows."""

    connection: str  # starting | online | reconnecting | offline | signed_out
    via: str | None  # live | polling, while online
    queued: int
    stuck: int
    attention: int
    last_sync_at: float | None  # desk time of the last exchange that reached the server
    clock_offset_s: float
    clock_error_s: float | None  # None: not measured yet
    problem: str | None  # the last failure, in words
