"""Bookings as an iCalendar file (RFC 5545), so a room's or a person's bookings open in any calendar app.

Pure: records in, bytes out. The server serves it from its tables (the ``.ics`` endpoints), a desk builds
the same file from its replica while offline. Each booking keeps its UID (``<id>@focusdesk``) and carries
its ``rev`` as SEQUENCE, so a calendar that imports the file again updates the event instead of
duplicating it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from icalendar import Calendar, Event

from focusdesk.domain.attendees import clean_text
from focusdesk.domain.reservations import ACTIVE, PENDING
from focusdesk.domain.timeutil import from_iso

PRODID = "-//FocusDesk//Reservations//EN"
TENTATIVE = "tentative"  # a desk's booking the server has not answered yet (only desks have these)


def _line(text: str) -> str:
    """Text for a one-line property: white space folded and control characters dropped — a name from a
    query string may hold a line break, which would end the property early."""
    return clean_text("".join(ch if ch.isprintable() else " " for ch in text))


def _utc(iso: str) -> datetime:
    stamp = from_iso(iso)
    assert stamp is not None
    return datetime.fromtimestamp(stamp, UTC)


def _event(booking: Mapping[str, Any], resources_by_id: Mapping[str, Mapping[str, Any]]) -> Event:
    resource = resources_by_id.get(booking["resource_id"]) or {}
    place = resource.get("name") or booking["resource_id"]
    event = Event()
    event.add("uid", f"{booking['id']}@focusdesk")
    # DTSTAMP is required: when this version of the booking was written (the start if nothing better).
    event.add("dtstamp", _utc(booking.get("updated_at") or booking.get("created_at") or booking["start"]))
    event.add("dtstart", _utc(booking["start"]))
    event.add("dtend", _utc(booking["end"]))
    event.add("summary", _line(f"{place} — {booking.get('holder_name') or 'booking'}"))
    event.add("location", _line(place))
    unsure = booking["status"] in (PENDING, TENTATIVE)
    event.add("status", "TENTATIVE" if unsure else "CONFIRMED")
    if booking.get("note"):
        event.add("description", booking["note"])
    if booking.get("rev") is not None:
        event.add("sequence", int(booking["rev"]))
    return event


def bookings_calendar(
    name: str, bookings: Iterable[Mapping[str, Any]], resources_by_id: Mapping[str, Mapping[str, Any]]
) -> bytes:
    """A VCALENDAR called ``name`` with one VEVENT per booking that holds its slot (times in UTC).

    ``bookings`` are reservation records as they travel (ISO times); rejected, cancelled and released
    ones are left out, a desk's unanswered ones (status ``tentative``) are in, marked TENTATIVE.
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", _line(name))
    kept = [b for b in bookings if b.get("status") in ACTIVE or b.get("status") == TENTATIVE]
    for booking in sorted(kept, key=lambda b: (from_iso(b["start"]), b["id"])):
        calendar.add_component(_event(booking, resources_by_id))
    return calendar.to_ical()
