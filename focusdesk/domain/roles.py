"""Who may do what. Roles are granted per event (or for all events with no event)."""

from __future__ import annotations

from dataclasses import dataclass

ADMIN = "admin"
ORGANIZER = "organizer"
STAFF = "staff"
TECHNICIAN = "technician"
ROLES = (ADMIN, ORGANIZER, STAFF, TECHNICIAN)

# Permissions that apply within one event.
EVENT_READ = "event.read"
EVENT_UPDATE = "event.update"
ATTENDEE_READ = "attendee.read"
ATTENDEE_WRITE = "attendee.write"
ATTENDEE_EXPORT = "attendee.export"
CHECKIN = "checkin"
COUNTS_READ = "counts.read"
ROOMS_READ = "rooms.read"  # rooms, their timers and occupancy
ROOMS_MANAGE = "rooms.manage"  # create, rename, delete rooms
TIMER_CONTROL = "timer.control"  # start, pause, reset, adjust a room's timer; its message
OCCUPANCY_COUNT = "occupancy.count"  # count people into and out of a room
NOTICE_READ = "notice.read"  # notices addressed to you (and acknowledging them)
NOTICE_POST = "notice.post"  # send notices; see every notice of the event and who acknowledged it
DRAW_READ = "draw.read"
DRAW_RUN = "draw.run"
RESERVATIONS_READ = "reservations.read"  # resources, their bookings and device status
RESERVE = "reserve"  # book a resource for someone, cancel, check in, complete
RESERVATIONS_APPROVE = "reservations.approve"  # the approval queue
RESOURCES_MANAGE = "resources.manage"  # add, change, delete resources
DEVICE_STATUS = "device.status"  # set or report a device's status
OPERATIONS_READ = "operations.read"  # the Operations board: every desk and printer, check-in rate, health
# Permissions that span the whole installation: only an admin granted for all events has them.
EVENT_CREATE = "event.create"
USERS_MANAGE = "users.manage"
STATIONS_MANAGE = "stations.manage"

_RUN_THE_EVENT = frozenset(
    {
        EVENT_READ,
        EVENT_UPDATE,
        ATTENDEE_READ,
        ATTENDEE_WRITE,
        ATTENDEE_EXPORT,
        CHECKIN,
        COUNTS_READ,
        ROOMS_READ,
        ROOMS_MANAGE,
        TIMER_CONTROL,
        OCCUPANCY_COUNT,
        NOTICE_READ,
        NOTICE_POST,
        DRAW_READ,
        DRAW_RUN,
        RESERVATIONS_READ,
        RESERVE,
        RESERVATIONS_APPROVE,
        RESOURCES_MANAGE,
        DEVICE_STATUS,
        OPERATIONS_READ,
    }
)
_EVENT_PERMISSIONS: dict[str, frozenset[str]] = {
    ADMIN: _RUN_THE_EVENT,
    ORGANIZER: _RUN_THE_EVENT,
    # Staff work the desks and the room doors: they see rooms and count people, organizers run the timers.
    STAFF: frozenset(
        {
            EVENT_READ,
            ATTENDEE_READ,
            CHECKIN,
            COUNTS_READ,
            ROOMS_READ,
            OCCUPANCY_COUNT,
            NOTICE_READ,
            DRAW_READ,
            RESERVATIONS_READ,
            RESERVE,
            DEVICE_STATUS,
        }
    ),
    # Technicians pair printers and watch devices; they see the event, not the attendee list.
    TECHNICIAN: frozenset(
        {EVENT_READ, COUNTS_READ, ROOMS_READ, NOTICE_READ, RESERVATIONS_READ, DEVICE_STATUS, OPERATIONS_READ}
    ),
}
_GLOBAL_PERMISSIONS = frozenset({EVENT_CREATE, USERS_MANAGE, STATIONS_MANAGE})


@dataclass(frozen=True)
class Grant:
    role: str
    event_id: int | None  # None: every event


@dataclass(frozen=True)
class Principal:
    """The signed-in person (and desk) behind a request."""

    user_id: int
    email: str
    grants: tuple[Grant, ...]
    station_id: str | None = None
    station_name: str | None = None
    token_id: int | None = None

    def can(self, permission: str, event_id: int | None = None) -> bool:
        if permission in _GLOBAL_PERMISSIONS:
            return any(g.role == ADMIN and g.event_id is None for g in self.grants)
        return any(
            permission in _EVENT_PERMISSIONS[g.role] and (g.event_id is None or g.event_id == event_id)
            for g in self.grants
        )

    @property
    def all_events(self) -> bool:
        """True when some grant covers every event."""
        return any(g.event_id is None for g in self.grants)

    def roles_at(self, event_id: int) -> set[str]:
        """The roles this person holds at ``event_id`` (grants for every event included)."""
        return {g.role for g in self.grants if g.event_id is None or g.event_id == event_id}

    def event_ids(self) -> set[int]:
        return {g.event_id for g in self.grants if g.event_id is not None}


def permissions_of(role: str) -> frozenset[str]:
    return _EVENT_PERMISSIONS[role]
