"""The Reservations screen (F7): one day of bookings of every room and device, and the keys to run them.

The timeline shows the day (today to start with; ``[`` / ``]`` the day before / after, ``t`` today) with a
cursor on one resource and slot; the panel below says what is under it. On a free slot ``n`` (or Enter)
books it; on a booking ``a`` approves, ``r`` rejects (asking why), ``c`` cancels (asking first), ``i``
checks in and ``o`` completes it. ``tab`` opens the approval inbox — pending bookings, oldest request
first — where ``a`` / ``r`` act on the highlighted one and the timeline follows it; ``e`` writes the
resource's bookings as an .ics calendar file. Organizers keep the rooms and devices themselves: ``+`` adds
one, ``E`` (shift+e) changes the one under the cursor and ``X`` (shift+x) deletes it, asking first (the
desk, then the server, refuses while it has bookings still to come). Every action is a desk command: it
shows at once, works offline, and the server has the last word (a booking made here is "tentative —
waiting for the server", a resource added here "sending…").

What the person may not do (staff approve nothing; technicians book nothing) is hidden from the footer and
the palette, and the key answers who may (the resource keys are not in the footer for anyone: it is full;
the palette and the empty screen tell organizers about them).

The screen reads the station only when bookings changed (the app's ``bookings_changed`` signal); once a
minute it moves the timeline's now-line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static

from focusdesk.domain.errors import DomainError
from focusdesk.domain.reservations import local_datetime, span_text
from focusdesk.domain.roles import RESERVATIONS_APPROVE, RESERVE, RESOURCES_MANAGE
from focusdesk.station.model import Reservation, Resource
from focusdesk.tui.bookings_follow import follow_bookings
from focusdesk.tui.commands import ScreenCommands
from focusdesk.tui.dialogs.booking_form import BookingFormDialog
from focusdesk.tui.dialogs.confirm import ConfirmDialog
from focusdesk.tui.dialogs.reason import ReasonDialog
from focusdesk.tui.dialogs.resource_form import ResourceFormDialog
from focusdesk.tui.guarded_keys import guarded
from focusdesk.tui.room_controls import showing
from focusdesk.tui.widgets.booking_details import booking_text, free_text
from focusdesk.tui.widgets.booking_inbox import BookingInbox
from focusdesk.tui.widgets.status_bar import StatusBar
from focusdesk.tui.widgets.timeline import Timeline

NEW_LENGTH_S = 60 * 60
KEYS_HINT = "←→↑↓ move · [ ] day · t today · n book · a approve · r reject · c cancel · i check in · o complete"
# action -> the permission it needs, and who to ask when the person lacks it
NEEDS = {
    "new": RESERVE,
    "enter": RESERVE,
    "cancel_booking": RESERVE,
    "check_in": RESERVE,
    "complete": RESERVE,
    "approve": RESERVATIONS_APPROVE,
    "reject": RESERVATIONS_APPROVE,
    "add_resource": RESOURCES_MANAGE,
    "edit_resource": RESOURCES_MANAGE,
    "delete_resource": RESOURCES_MANAGE,
}
MAY_NOT = {
    RESERVE: "Your account may not book, cancel or check in — ask staff at a desk or an organizer.",
    RESERVATIONS_APPROVE: "Only organizers approve or reject bookings.",
    RESOURCES_MANAGE: "Only organizers add, change or delete rooms and devices.",
}
EMPTY_WORDS = "No rooms or devices to book yet"


def export_path(directory: Path, name: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "resource"
    return directory / f"bookings-{slug}.ics"


class ReservationsCommands(ScreenCommands):
    """The Reservations screen's actions in the command palette (only those the person may do)."""

    def commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        screen = self.screen
        if not isinstance(screen, ReservationsScreen) or screen.desk is None:
            return []
        station = screen.desk.station
        out: list[tuple[str, str, Callable[[], Any]]] = [
            ("Reservations: previous day", "([)", lambda: screen.action_day(-1)),
            ("Reservations: next day", "(])", lambda: screen.action_day(1)),
            ("Reservations: today", "(t)", screen.action_today),
            ("Reservations: approval inbox", "Pending bookings, oldest first (tab)", screen.action_inbox),
            ("Reservations: export calendar", "The resource's bookings as .ics (e)", screen.action_export),
        ]
        if station.can(RESERVE):
            out += [
                ("Reservations: book", "The slot under the cursor (n)", screen.action_new),
                ("Reservations: cancel booking", "Asks first (c)", screen.action_cancel_booking),
                ("Reservations: check in", "The holder is here (i)", screen.action_check_in),
                ("Reservations: complete", "Done early: frees the rest of the slot (o)", screen.action_complete),
            ]
        if station.can(RESERVATIONS_APPROVE):
            out += [
                ("Reservations: approve", "The pending booking (a)", screen.action_approve),
                ("Reservations: reject", "Asks why (r)", screen.action_reject),
            ]
        if station.can(RESOURCES_MANAGE):
            out += [
                ("Reservations: add a room or device", "Name, hours, buffer, approval (+)",
                 screen.action_add_resource),
                ("Reservations: change the resource", "The room or device under the cursor (E)",
                 screen.action_edit_resource),
                ("Reservations: delete the resource", "Asks first; refused while bookings are to come (X)",
                 screen.action_delete_resource),
            ]  # fmt: skip
        return out


class ReservationsScreen(Screen[None]):
    DEFAULT_CSS = """
    ReservationsScreen #reservations-main { height: 1fr; }
    ReservationsScreen #reservations-timeline {
        width: 1fr;
        border: round $primary 60%;
        border-title-style: bold;
    }
    ReservationsScreen #reservations-timeline:focus { border: round $primary; }
    ReservationsScreen #reservations-inbox { width: 46; display: none; }
    ReservationsScreen.-inbox #reservations-inbox { display: block; }
    ReservationsScreen #reservations-details {
        height: 6;
        border: round $accent 50%;
        padding: 0 1;
    }
    ReservationsScreen #reservations-empty {
        height: 1fr;
        content-align: center middle;
        color: $text-muted;
        border: round $primary 60%;
        display: none;
    }
    ReservationsScreen.-empty #reservations-empty { display: block; }
    ReservationsScreen.-empty #reservations-main, ReservationsScreen.-empty #reservations-details { display: none; }
    """
    BINDINGS = [
        *guarded("n", "new", "Book", id="reservations.new", tooltip="Book the slot under the cursor"),
        *guarded("enter", "enter", "Book", show=False, id="reservations.enter", tooltip="Book a free slot"),
        *guarded("a", "approve", "Approve", id="reservations.approve", tooltip="Approve the pending booking"),
        *guarded("r", "reject", "Reject", show=False, id="reservations.reject", tooltip="Reject it (asks why)"),
        *guarded("c", "cancel_booking", "Cancel", show=False, id="reservations.cancel", tooltip="Cancel (asks first)"),
        *guarded("i", "check_in", "Check in", id="reservations.check_in", tooltip="The holder is here"),
        *guarded("o", "complete", "Complete", show=False, id="reservations.complete", tooltip="Done: frees the rest"),
        Binding("tab", "inbox", "Inbox", id="reservations.inbox", tooltip="Bookings waiting for approval"),
        Binding("left_square_bracket", "day(-1)", "Prev day", show=False, id="reservations.prev_day"),
        Binding("right_square_bracket", "day(1)", "Next day", show=False, id="reservations.next_day"),
        Binding("t", "today", "Today", show=False, id="reservations.today", tooltip="Back to today"),
        Binding("e", "export", "Export", show=False, id="reservations.export", tooltip="Bookings as an .ics file"),
        # Organizers' keys for the resources themselves (not in the footer: it is full; the palette has them).
        *guarded("plus", "add_resource", "Add resource", show=False, id="reservations.add_resource",
                 tooltip="Add a room or device (organizers)"),
        *guarded("E,shift+e", "edit_resource", "Edit resource", show=False, id="reservations.edit_resource",
                 tooltip="Change the room or device under the cursor (organizers)"),
        *guarded("X,shift+x", "delete_resource", "Delete resource", show=False, id="reservations.delete_resource",
                 tooltip="Delete the room or device under the cursor (asks first; organizers)"),
    ]  # fmt: skip
    COMMANDS = {ReservationsCommands}

    def __init__(self) -> None:
        super().__init__()
        self.day: date | None = None
        self._minute = -1
        self._title: tuple[Any, ...] = ()

    def compose(self) -> ComposeResult:
        with Horizontal(id="reservations-main"):
            yield Timeline(id="reservations-timeline")
            yield BookingInbox(id="reservations-inbox")
        yield Static("", id="reservations-details")
        yield Static("", id="reservations-empty", markup=False)
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        follow_bookings(self, self.refresh_bookings, self._tick)
        self.refresh_bookings()
        self.timeline.focus()

    def on_screen_resume(self) -> None:
        self.refresh_bookings()

    @property
    def desk(self) -> Any:
        return getattr(self.app, "desk", None)

    @property
    def timeline(self) -> Timeline:
        return self.query_one("#reservations-timeline", Timeline)

    @property
    def inbox(self) -> BookingInbox:
        return self.query_one("#reservations-inbox", BookingInbox)

    @property
    def inbox_open(self) -> bool:
        return self.has_class("-inbox")

    @property
    def details(self) -> str:
        """What the details panel says (tests read it)."""
        return str(self.query_one("#reservations-details", Static).content)

    def _tz(self) -> str:
        return self.desk.station.timezone()

    def today(self) -> date:
        station = self.desk.station
        return local_datetime(station.server_now(), station.timezone()).date()

    # -- reading the station --------------------------------------------------------------------------

    def refresh_bookings(self) -> None:
        desk = self.desk
        if desk is None:
            return
        station = desk.station
        book = station.reservations
        if self.day is None:
            self.day = self.today()
        tz = station.timezone()
        resources = book.resources()
        self.set_class(not resources, "-empty")
        if not resources:
            words = " — press + to add one." if station.can(RESOURCES_MANAGE) else "; an organizer adds them."
            self.query_one("#reservations-empty", Static).update(EMPTY_WORDS + words)
        bookings = book.day(self.day)
        self.timeline.show(self.day, tz, resources, bookings, station.server_now())
        self.inbox.show(book.inbox(), tz)
        self._paint_title()
        self._show_details()

    def _tick(self) -> None:
        """Once a minute (not once a second): the now-line, and "today" after midnight."""
        desk = self.desk
        if desk is None or not showing(self):
            return
        now = desk.station.server_now()
        minute = int(now // 60)
        if minute == self._minute:
            return
        self._minute = minute
        self.timeline.set_now(now)
        self._title = ()  # "today" may have become "yesterday"
        self._paint_title()

    def _paint_title(self) -> None:
        timeline = self.timeline
        shown = [b for r in timeline.resources for b in timeline.bookings(r.id)]
        waiting = len(self.inbox.bookings)
        key = (self.day, self.day == self.today(), len(shown), waiting, self.desk.station.can(RESERVE))
        if key == self._title or self.day is None:
            return
        self._title = key
        title = Text(f"Reservations · {self.day:%a %d %b %Y}")
        title.append(" · today" if key[1] else "", style="bold")
        title.append(f" · {len(shown)} booked")
        if waiting:
            title.append(f" · {waiting} awaiting approval (tab)", style="bold yellow")
        timeline.border_title = title
        timeline.border_subtitle = KEYS_HINT if self.desk.station.can(RESERVE) else "←→↑↓ move · [ ] day · t today"

    def _show_details(self) -> None:
        timeline = self.timeline
        panel = self.query_one("#reservations-details", Static)
        resource = timeline.cursor_resource
        station = self.desk.station
        may_reserve, may_approve = station.can(RESERVE), station.can(RESERVATIONS_APPROVE)
        booking = timeline.cursor_reservation
        if resource is None:
            panel.update("")
        elif booking is not None:
            panel.update(booking_text(booking, self._tz(), may_reserve=may_reserve, may_approve=may_approve))
        else:
            start, end = timeline.cursor_slot
            closed = _closed(resource, start, self._tz())
            panel.update(free_text(resource, start, end, self._tz(), may_reserve=may_reserve, closed=closed,
                                   may_manage=station.can(RESOURCES_MANAGE)))  # fmt: skip

    @on(Timeline.CursorMoved)
    def _cursor_moved(self) -> None:
        self._show_details()

    # -- days and the inbox ---------------------------------------------------------------------------

    def action_day(self, delta: int) -> None:
        if self.day is not None:
            self.day = self.day + timedelta(days=delta)
            self.refresh_bookings()

    def action_today(self) -> None:
        self.day = self.today()
        self.refresh_bookings()
        self.timeline.move_to(at=self.desk.station.server_now())

    def action_inbox(self) -> None:
        opening = not self.inbox_open
        self.set_class(opening, "-inbox")
        if opening:
            self.inbox.focus()
            self._follow_inbox()
        else:
            self.timeline.focus()

    @on(OptionList.OptionHighlighted, "#reservations-inbox")
    def _inbox_highlighted(self) -> None:
        if self.inbox_open:
            self._follow_inbox()

    def _follow_inbox(self) -> None:
        """The timeline shows the booking highlighted in the inbox (on its day), so the panel describes it."""
        booking = self.inbox.highlighted_booking
        if booking is None:
            return
        self.show_booking(booking)

    def show_booking(self, booking: Reservation) -> None:
        day = local_datetime(booking.start, self._tz()).date()
        if day != self.day:
            self.day = day
            self.refresh_bookings()
        self.timeline.move_to(booking.resource_id, max(booking.start, self.timeline.scale.start))

    @on(OptionList.OptionSelected, "#reservations-inbox")
    def _inbox_selected(self) -> None:
        self._follow_inbox()

    # -- what the keys act on --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        needed = NEEDS.get(action)
        if needed is None or not self.is_mounted or self.desk is None:
            return True
        # Not allowed: hidden from the footer, and the key falls through to its "refuse" twin, which says so.
        return self.desk.station.can(needed)

    def action_refuse(self, action: str) -> None:
        self.notify(MAY_NOT[NEEDS[action]], title="Not allowed", severity="warning")

    def _may(self, action: str) -> bool:
        if self.desk.station.can(NEEDS[action]):
            return True
        self.action_refuse(action)
        return False

    def _target(self) -> Reservation | None:
        """The booking the keys act on: the inbox's highlighted one while it has the focus, else the one under
        the timeline's cursor."""
        if self.inbox_open and self.inbox.has_focus:
            booking = self.inbox.highlighted_booking
            if booking is None:
                self.notify("Nothing is waiting for approval.", severity="warning")
            return booking
        booking = self.timeline.cursor_reservation
        if booking is None:
            self.notify("No booking here — the cursor is on a free slot (n books it).", severity="warning")
        return booking

    def _run(self, booking: Reservation, action: Callable[[], Any]) -> bool:
        try:
            action()
        except DomainError as exc:
            self.notify(exc.message, title=booking.resource_name, severity="error", markup=False)
            return False
        self.refresh_bookings()
        return True

    def _describe(self, booking: Reservation) -> str:
        return f"{booking.holder_name} — {booking.resource_name}, {span_text(booking.start, booking.end, self._tz())}"

    # -- the keys ------------------------------------------------------------------------------------

    def action_enter(self) -> None:
        booking = self.timeline.cursor_reservation
        if booking is None:
            self.action_new()
        else:
            self.notify(
                "a approve · r reject · c cancel · i check in · o complete", title=self._describe(booking), timeout=4
            )

    def action_new(self) -> None:
        if not self._may("new"):
            return
        timeline = self.timeline
        resource = timeline.cursor_resource
        if resource is None or self.day is None:
            self.notify("Nothing to book yet: an organizer adds rooms and devices.", severity="warning")
            return
        station = self.desk.station
        book = station.reservations
        start = timeline.cursor_slot[0]

        def save(values: dict[str, Any]) -> list[Reservation]:
            return book.create(**values)

        def booked(made: list[Reservation] | None) -> None:
            if not made:
                return
            first = made[0]
            more = f" (+{len(made) - 1} more in the series)" if len(made) > 1 else ""
            self.notify(
                f"{self._describe(first)}{more} — tentative until the server confirms.", title="Booked", markup=False
            )
            self.refresh_bookings()
            self.show_booking(first)

        self.app.push_screen(
            BookingFormDialog(
                resources=timeline.resources,
                resource_id=resource.id,
                day=self.day,
                tz=self._tz(),
                start=start,
                end=start + NEW_LENGTH_S,
                save=save,
                check=book.check,
                search=lambda query: station.search(query, limit=5),
            ),
            booked,
        )

    def action_approve(self) -> None:
        if self._may("approve") and (booking := self._target()):
            self._run(booking, lambda: self.desk.station.reservations.approve(booking.id))

    def action_reject(self) -> None:
        if not self._may("reject") or not (booking := self._target()):
            return

        def answered(reason: str | None) -> None:
            if reason is not None:
                self._run(booking, lambda: self.desk.station.reservations.reject(booking.id, reason))

        self.app.push_screen(
            ReasonDialog(
                f"Reject {self._describe(booking)}?",
                title="Reject booking",
                placeholder="Why (optional), e.g. the room is needed for a talk",
                hint="Enter rejects it; the reason goes with the booking. Escape keeps it waiting.",
            ),
            answered,
        )

    def action_cancel_booking(self) -> None:
        if not self._may("cancel_booking") or not (booking := self._target()):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._run(booking, lambda: self.desk.station.reservations.cancel(booking.id))

        self.app.push_screen(
            ConfirmDialog(
                f"Cancel {booking.holder_name}'s booking?",
                detail=f"{self._describe(booking)}. The slot becomes free for everyone.",
                yes="Cancel booking",
                no="Keep",
                default=False,
                title="Cancel booking",
            ),
            answered,
        )

    def action_check_in(self) -> None:
        if self._may("check_in") and (booking := self._target()):
            self._run(booking, lambda: self.desk.station.reservations.check_in(booking.id))

    def action_complete(self) -> None:
        if self._may("complete") and (booking := self._target()):
            self._run(booking, lambda: self.desk.station.reservations.complete(booking.id))

    def action_export(self) -> None:
        resource = self.timeline.cursor_resource
        if resource is None:
            self.notify("No resource to export.", severity="warning")
            return
        path = export_path(Path(self.app.context.directory), resource.name)  # type: ignore[attr-defined]
        try:
            text = self.desk.station.reservations.ical_for_resource(resource.id)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except (DomainError, OSError) as exc:
            self.notify(str(getattr(exc, "message", exc)), title="Export failed", severity="error", markup=False)
            return
        self.notify(f"{resource.name}'s bookings written to {path}", title="Exported", markup=False)

    # -- the rooms and devices themselves (organizers) -----------------------------------------------

    def _resource(self) -> Resource | None:
        resource = self.timeline.cursor_resource
        if resource is None:
            self.notify("No room or device here — + adds one.", severity="warning")
        return resource

    def action_add_resource(self, kind: str = "room") -> None:
        if not self._may("add_resource"):
            return
        book = self.desk.station.reservations

        def save(fields: dict[str, Any]) -> Resource:
            return book.create_resource(**fields)

        def added(resource: Resource | None) -> None:
            if resource is None:
                return
            self.notify(f"{resource.name} added (sent to the server when it can be reached).",
                        title="Rooms and devices", markup=False)  # fmt: skip
            self.refresh_bookings()
            self.timeline.move_to(resource.id)
            self.timeline.focus()

        self.app.push_screen(ResourceFormDialog(save, kind=kind), added)

    def action_edit_resource(self) -> None:
        if not self._may("edit_resource") or not (resource := self._resource()):
            return
        book = self.desk.station.reservations

        def save(fields: dict[str, Any]) -> Resource:
            fields.pop("kind", None)  # fixed once the resource exists
            changed = {k: v for k, v in fields.items() if getattr(resource, k) != v}
            return book.update_resource(resource.id, **changed) if changed else resource

        def saved(after: Resource | None) -> None:
            if after is not None:
                self.refresh_bookings()
                self.timeline.move_to(after.id)

        self.app.push_screen(ResourceFormDialog(save, resource), saved)

    def action_delete_resource(self) -> None:
        if not self._may("delete_resource") or not (resource := self._resource()):
            return
        what = "device" if resource.kind == "device" else "room"

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.desk.station.reservations.delete_resource(resource.id)
            except DomainError as exc:
                self.notify(exc.message, title=f"{resource.name} not deleted", severity="error", markup=False)
                return
            self.notify(f"{resource.name} deleted.", title="Rooms and devices", markup=False)
            self.refresh_bookings()

        self.app.push_screen(
            ConfirmDialog(
                f"Delete {resource.name}?",
                detail=f"The {what} goes from every desk's timeline. Refused while it has bookings still to come.",
                yes="Delete",
                no="Keep",
                default=False,
                title=f"Delete {what}",
            ),
            answered,
        )


def _closed(resource: Any, start: float, tz: str) -> bool:
    """Whether the slot is outside the resource's bookable hours."""
    if not (resource.open_from and resource.open_until):
        return False
    hhmm = f"{local_datetime(start, tz):%H:%M}"
    return not resource.open_from <= hhmm < resource.open_until
