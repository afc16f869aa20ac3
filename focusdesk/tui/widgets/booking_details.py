"""What the Reservations screen says about the cell under the timeline's cursor: a booking (who, when, its
state and the keys that apply to it) or a free slot (the resource's rules and how to book it).

Pure functions from station views to Rich Text, so the words are the same wherever a booking is shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from focusdesk.domain.reservations import span_text
from focusdesk.domain.timeutil import local_hhmm

if TYPE_CHECKING:
    from focusdesk.station.model import Reservation, Resource

TENTATIVE_WORDS = "tentative — waiting for the server"
STATUS_WORDS = {
    "pending": "awaiting approval",
    "approved": "approved",
    "checked_in": "checked in",
    "completed": "completed",
    "rejected": "rejected",
    "cancelled": "cancelled",
    "no_show": "released (no show)",
    "tentative": TENTATIVE_WORDS,
}
STATUS_STYLE = {
    "pending": "bold yellow",
    "approved": "bold blue",
    "checked_in": "bold green",
    "completed": "dim",
    "rejected": "red",
    "cancelled": "red",
    "no_show": "red",
    "tentative": "italic yellow",
}
# What each key does to a booking in these states (the station refuses the rest with the reason).
# (key, whether it needs the approver's right rather than the booker's)
KEYS_FOR = {
    "pending": (("a approve", True), ("r reject", True), ("c cancel", False)),
    "approved": (("i check in", False), ("c cancel", False)),
    "checked_in": (("o complete", False),),
    "tentative": (("c cancel", False),),
}


def status_words(booking: Reservation) -> tuple[str, str]:
    """(words, style) for a booking's state (``tentative``: only this desk has it so far)."""
    key = booking.status
    return STATUS_WORDS.get(key, key.replace("_", " ")), STATUS_STYLE.get(key, "")


def resource_facts(resource: Resource) -> str:
    facts = []
    if resource.capacity:
        facts.append(f"for {resource.capacity}")
    if resource.open_from and resource.open_until:
        facts.append(f"bookable {resource.open_from}–{resource.open_until}")
    else:
        facts.append("bookable any time")
    if resource.buffer_min:
        facts.append(f"{resource.buffer_min} min between bookings")
    if resource.needs_approval:
        facts.append("needs approval")
    facts.append(f"released {resource.release_after_min} min after start if nobody checks in")
    return " · ".join(facts)


def booking_text(booking: Reservation, tz: str, *, may_reserve: bool, may_approve: bool) -> Text:
    text = Text()
    text.append(booking.holder_name or "—", style="bold")
    text.append(f" — {booking.resource_name}, {span_text(booking.start, booking.end, tz)}  ")
    words, style = status_words(booking)
    text.append(words, style=style)
    if booking.pending and not booking.tentative:
        text.append(" · sending…", style="italic yellow")
    facts = []
    if booking.note:
        facts.append(f"“{booking.note}”")
    if booking.checked_in_at is not None:
        facts.append(f"checked in {local_hhmm(booking.checked_in_at, tz)}")
    if booking.series_id:
        facts.append("part of a series")
    if booking.created_by:
        facts.append(f"booked by {booking.created_by}")
    if booking.reason:
        facts.append(f"reason: {booking.reason}")
    if facts:
        text.append("\n" + " · ".join(facts), style="dim")
    keys = [key for key, approver in KEYS_FOR.get(booking.status, ()) if (may_approve if approver else may_reserve)]
    if keys:
        text.append("\n" + " · ".join(keys), style="dim italic")
    return text


def free_text(
    resource: Resource, start: float, end: float, tz: str, *, may_reserve: bool, closed: bool, may_manage: bool = False
) -> Text:
    text = Text()
    text.append(resource.name, style="bold")
    text.append(f" — {span_text(start, end, tz)}  ")
    if closed:
        text.append("closed", style="dim")
    else:
        text.append("free", style="green")
    if resource.kind == "device" and resource.device_status:
        text.append(f" · device {resource.device_status.replace('_', ' ')}", style="dim")
    if resource.pending:
        text.append(" · sending…", style="italic yellow")
    text.append("\n" + resource_facts(resource), style="dim")
    keys = ["n or Enter books it (60 min to start with)"] if may_reserve and not closed else []
    if may_manage:  # organizers: the resource itself (short, to fit the line beside booking)
        keys.append("E edit · X delete · + add" if keys else "E edit · X delete the resource · + add one")
    if keys:
        text.append("\n" + " · ".join(keys), style="dim italic")
    return text


def inbox_prompt(booking: Reservation, tz: str) -> Text:
    """Two lines of the approval inbox: when and what, then for whom and which desk asked."""
    text = Text(overflow="ellipsis")
    text.append(span_text(booking.start, booking.end, tz), style="bold")
    text.append(f"  {booking.resource_name}\n")
    text.append(f"  {booking.holder_name}")
    if booking.created_by:
        text.append(f" · asked by {booking.created_by}", style="dim")
    if booking.pending:
        text.append(" · sending…", style="italic yellow")
    return text
