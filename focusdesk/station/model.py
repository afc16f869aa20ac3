"""What the station hands to its user interface: plain, immutable views."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from focusdesk.domain import timers
from focusdesk.domain.timers import TimerState

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


@dataclass(frozen=True, slots=True)
class Room:
    """A room as the desk shows it: the server's version with this desk's unanswered changes on top."""

    id: str
    event_id: int
    name: str
    capacity: int | None
    occupancy: int
    work_s: float
    break_s: float
    timer: TimerState
    updated_by: str | None  # the desk that last changed it
    pending: bool  # this desk changed it and the server has not answered yet

    def remaining(self, server_now: float) -> float:
        return timers.remaining(self.timer, server_now)

    def phase_now(self, server_now: float) -> TimerState:
        """The timer with every pomodoro phase that ended by ``server_now`` rolled over."""
        return timers.advance(self.timer, server_now)

    def time_is_up(self, server_now: float) -> bool:
        return timers.time_is_up(self.timer, server_now)

    def in_warning(self, server_now: float) -> bool:
        return timers.in_warning(self.timer, server_now)

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.occupancy >= self.capacity


@dataclass(frozen=True, slots=True)
class NoticeAck:
    user: str  # who acknowledged (their display name or email)
    station_name: str
    at: float
    pending: bool = False  # this desk's acknowledgement, not yet confirmed by the server


@dataclass(frozen=True, slots=True)
class Notice:
    id: str
    event_id: int
    priority: str  # high | medium | low
    body: str
    audience: str  # in words: "everyone", "organizers", "desk Front desk"
    author: str
    created_at: float
    expires_at: float | None
    acks: tuple[NoticeAck, ...]
    for_me: bool  # addressed to this desk's person (senders also see notices meant for others)
    acked_by_me: bool
    pending: bool  # posted on this desk, not yet accepted by the server

    def expired(self, server_now: float) -> bool:
        return self.expires_at is not None and server_now >= self.expires_at

    def needs_my_ack(self, server_now: float) -> bool:
        return self.for_me and not self.acked_by_me and not self.expired(server_now)


@dataclass(frozen=True, slots=True)
class DrawWinner:
    attendee_id: str
    name: str
    registration_number: int | None


@dataclass(frozen=True, slots=True)
class Draw:
    """One prize drawing: who won, from how many, with the seed that reproduces it."""

    id: str
    event_id: int
    prize: str
    checked_in_only: bool
    count: int
    seed: str
    pool_size: int
    winners: tuple[DrawWinner, ...]
    status: str  # proposed | confirmed | discarded
    by: str
    created_at: float
    decided_at: float | None


@dataclass(frozen=True, slots=True)
class Resource:
    """A room or device lent by the slot, as the desk shows it (this desk's unanswered changes on top)."""

    id: str
    event_id: int
    kind: str  # room | device
    name: str
    capacity: int | None
    buffer_min: int  # minutes kept free between two bookings
    open_from: str | None  # "HH:MM" on the venue's clock; both None: bookable any time
    open_until: str | None
    needs_approval: bool
    release_after_min: int  # a booking nobody checked in to is released this long after its start
    device_status: str | None  # online | offline | in_use | available | maintenance; None for rooms
    status_note: str
    status_by: str | None
    status_at: float | None
    pending: bool  # this desk changed it and the server has not answered yet


@dataclass(frozen=True, slots=True)
class Reservation:
    """A booking as the desk shows it. ``status`` is the server's word, or ``tentative`` for a booking this
    desk made that the server has not answered yet (it may still be refused)."""

    id: str
    event_id: int
    resource_id: str
    resource_name: str
    holder_name: str
    attendee_id: str | None
    start: float
    end: float
    status: str  # pending | approved | rejected | cancelled | checked_in | completed | no_show | tentative
    series_id: str | None
    note: str
    created_by: str
    station_id: str | None  # the desk that made it
    checked_in_at: float | None
    reason: str  # why it was rejected, cancelled or released
    tentative: bool  # made on this desk, not yet answered by the server
    pending: bool  # this desk has an unanswered change of it (the create included)


@dataclass(frozen=True, slots=True)
class Conflict:
    """Why a wanted booking cannot be made, as far as this desk can see (only the server decides)."""

    code: str  # reservation_conflict | outside_hours | in_the_past
    message: str  # the words the server would use
    booking: Reservation | None  # the booking it clashes with (reservation_conflict only)
    nearest_free: tuple[float, float] | None  # the closest free slot of the same length, if any


@dataclass(frozen=True, slots=True)
class DeviceStatusEntry:
    """One change of a device's status, from the server's history."""

    status: str
    note: str
    source: str  # staff | device | booking
    by: str
    at: float
