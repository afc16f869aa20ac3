"""Book a room or device: for whom (optionally linked to an attendee found by name), from when to when,
a note, and a daily or weekly series.

The form starts on the slot the timeline's cursor was on (an hour long). As times are typed it asks the
desk whether the slot looks free (``check``: the same rules the server applies, on the desk's replica)
and, when it does not, says why with the nearest free slot and offers to use it (ctrl+f). Saving calls
``save`` (the screen's call into ``station.reservations.create``); a refused field appears under that
field and a refused booking ("Studio A is booked … ; nearest free slot …") at the top, with the same
offer — nothing typed is lost. Only the server decides: a booking saved here is tentative until it answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from focusdesk.domain.errors import DomainError, FieldProblem, ValidationFailed
from focusdesk.domain.reservations import local_datetime, parse_time, span_text
from focusdesk.domain.timeutil import from_iso, local_hhmm
from focusdesk.tui.dialogs.field_form import FieldForm

if TYPE_CHECKING:
    from focusdesk.station.model import Attendee, Conflict, Reservation, Resource

# Form field -> label; the station's names for fields map onto these.
FIELDS = {
    "resource": "Resource",
    "holder": "For",
    "start": "From",
    "end": "To",
    "note": "Note",
    "repeat": "Repeat",
    "count": "Times",
}
_BY_STATION_NAME = {
    "resource_id": "resource",
    "holder_name": "holder",
    "attendee_id": "holder",
    "start": "start",
    "end": "end",
    "note": "note",
    "repeat": "repeat",
    "freq": "repeat",
    "count": "count",
    "skip_conflicts": "repeat",
}
REPEATS = [("Once", "none"), ("Every day", "daily"), ("Every week", "weekly")]
SUGGESTIONS = 5
_HHMM = re.compile(r"^(\d{1,2})[:.](\d{2})$")
_DATE_HHMM = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2})[:.](\d{2})$")
_PLUS = re.compile(r"^\+\s*(\d{1,4})\s*(m|min)?$")

Save = Callable[[dict[str, Any]], "list[Reservation]"]
Check = Callable[[str, float, float], "Conflict | None"]
Search = Callable[[str], "Sequence[Attendee]"]


def parse_when(text: str, day: date, tz: str, field: str) -> float:
    """``10:30`` on ``day``, or ``2026-11-24 10:30``, on the venue's clock (a time the clocks skip is refused)."""
    value = text.strip()
    if (match := _HHMM.match(value)) and int(match[1]) < 24 and int(match[2]) < 60:
        return parse_time(f"{day.isoformat()}T{int(match[1]):02d}:{match[2]}", tz, field)
    if (match := _DATE_HHMM.match(value)) and int(match[2]) < 24 and int(match[3]) < 60:
        try:
            return parse_time(f"{match[1]}T{int(match[2]):02d}:{match[3]}", tz, field)
        except ValidationFailed as exc:
            if "does not exist" in str(exc.problems[0].reason):
                raise  # a time the clocks skip: the rules say so in their own words
    raise ValidationFailed([FieldProblem(field, "must be a time like 10:30 (or 2026-11-24 10:30)")])


def parse_end(text: str, start: float | None, day: date, tz: str) -> float:
    """The end: a time (on the start's day), or ``+90`` minutes after the start."""
    if match := _PLUS.match(text.strip()):
        if start is None:
            raise ValidationFailed([FieldProblem("end", "needs a valid start to count minutes from")])
        return start + int(match[1]) * 60
    on_day = local_datetime(start, tz).date() if start is not None else day
    try:
        return parse_when(text, on_day, tz, "end")
    except ValidationFailed:
        raise ValidationFailed([FieldProblem("end", "must be a time like 11:30, or +90 for 90 minutes")]) from None


def when_text(ts: float, day: date, tz: str) -> str:
    """How a time is written back into the form: ``10:30``, or with its date when not on ``day``."""
    local = local_datetime(ts, tz)
    return local_hhmm(ts, tz) if local.date() == day else f"{local:%Y-%m-%d} {local_hhmm(ts, tz)}"


@dataclass
class Typed:
    """What the form holds, as typed."""

    resource_id: str
    holder: str
    attendee_id: str | None
    start: str
    end: str
    note: str
    repeat: str  # none | daily | weekly
    count: str
    skip_conflicts: bool


def parse_form(typed: Typed, day: date, tz: str) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The booking's arguments for ``station.reservations.create`` from what was typed, and what could not
    be read (the station checks the rest: a name, a length of at least five minutes, …)."""
    problems: list[FieldProblem] = []
    values: dict[str, Any] = {
        "resource_id": typed.resource_id,
        "holder_name": typed.holder,
        "attendee_id": typed.attendee_id,
        "note": typed.note,
        "repeat": None,
        "skip_conflicts": typed.skip_conflicts,
    }
    start: float | None = None
    try:
        start = values["start"] = parse_when(typed.start, day, tz, "start")
    except ValidationFailed as exc:
        problems.extend(exc.problems)
    try:
        values["end"] = parse_end(typed.end, start, day, tz)
    except ValidationFailed as exc:
        problems.extend(exc.problems)
    if typed.repeat != "none":
        count = typed.count.strip()
        if count.isdigit():
            values["repeat"] = {"freq": typed.repeat, "count": int(count)}
        else:
            problems.append(FieldProblem("count", "must be how many times in all, e.g. 4"))
    return values, problems


class BookingFormDialog(FieldForm["list[Reservation] | None"]):
    FORM_PREFIX = "booking-form"
    FORM_LABELS = FIELDS
    STATION_NAMES = _BY_STATION_NAME

    DEFAULT_CSS = """
    BookingFormDialog > #booking-form-box {
        width: 76;
        max-width: 98%;
        max-height: 98%;
        overflow-y: auto;
    }
    BookingFormDialog .booking-form-row { height: auto; margin-top: 1; }
    BookingFormDialog .booking-form-label { width: 9; color: $text-muted; }
    BookingFormDialog .booking-form-row > Input { width: 1fr; }
    BookingFormDialog #booking-form-start, BookingFormDialog #booking-form-end { width: 18; }
    BookingFormDialog #booking-form-count { width: 6; }
    BookingFormDialog #booking-form-resource { width: 1fr; }
    BookingFormDialog #booking-form-repeat { width: 16; }
    BookingFormDialog .booking-form-between { width: auto; padding: 0 1; color: $text-muted; }
    BookingFormDialog #booking-form-skip { border: none; padding: 0; height: 1; background: transparent; }
    BookingFormDialog .booking-form-hint { color: $text-muted; padding-left: 9; height: auto; }
    BookingFormDialog .booking-form-hint.-empty { display: none; }
    BookingFormDialog #booking-form-people { height: auto; max-height: 7; margin-left: 9; border: none; }
    BookingFormDialog #booking-form-people.-empty { display: none; }
    BookingFormDialog .booking-form-error { color: $text-error; padding-left: 9; height: auto; }
    BookingFormDialog .booking-form-error.-empty { display: none; }
    BookingFormDialog .-problem { background: $error 30%; }
    BookingFormDialog #booking-form-message { color: $text-error; text-style: bold; height: auto; margin-top: 1; }
    BookingFormDialog #booking-form-message.-empty { display: none; }
    BookingFormDialog #booking-form-check { height: auto; margin-top: 1; }
    BookingFormDialog #booking-form-check.-free { color: $text-success; }
    BookingFormDialog #booking-form-check.-clash { color: $text-warning; }
    BookingFormDialog #booking-form-check.-empty { display: none; }
    BookingFormDialog #booking-form-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    BookingFormDialog #booking-form-buttons Button { margin-left: 2; }
    BookingFormDialog #booking-form-use.-empty { display: none; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="booking_form.cancel", tooltip="Close; nothing is booked"),
        Binding("ctrl+s", "save", "Book", id="booking_form.save", tooltip="Book it"),
        Binding(
            "ctrl+f", "use_free", "Use free slot", id="booking_form.use_free", tooltip="Take the nearest free slot"
        ),
        Binding("down", "people", "Attendees", show=False, id="booking_form.people", tooltip="Pick a found attendee"),
    ]

    def __init__(
        self,
        *,
        resources: Sequence[Resource],
        resource_id: str,
        day: date,
        tz: str,
        start: float,
        end: float,
        save: Save,
        check: Check,
        search: Search | None = None,
    ) -> None:
        super().__init__()
        self.resources = list(resources)
        self.resource_id = resource_id
        self.day = day
        self.tz = tz
        self.start, self.end = start, end
        self.save = save
        self.check = check
        self.search = search
        self.linked: Attendee | None = None  # the attendee the booking is for, when picked from the list
        self.free_offer: tuple[float, float] | None = None
        self._found: list[Attendee] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="booking-form-box", classes="dialog-box") as box:
            box.border_title = f"New booking — {self.day:%a %d %b %Y}"
            box.border_subtitle = "Enter or ctrl+s books · Escape cancels"
            yield Static("", id="booking-form-message", markup=False, classes="-empty")
            with Horizontal(classes="booking-form-row"):
                yield Label("Resource", classes="booking-form-label")
                yield Select(
                    [(r.name, r.id) for r in self.resources],
                    value=self.resource_id,
                    allow_blank=False,
                    compact=True,
                    id="booking-form-resource",
                )
            yield from self._error("resource")
            with Horizontal(classes="booking-form-row"):
                yield Label("For", classes="booking-form-label")
                yield Input(placeholder="Who it is for (type a name to find an attendee)", id="booking-form-holder",
                            compact=True)  # fmt: skip
            yield OptionList(id="booking-form-people", classes="-empty", compact=True)
            yield Static("", id="booking-form-linked", classes="booking-form-hint -empty", markup=False)
            yield from self._error("holder")
            with Horizontal(classes="booking-form-row"):
                yield Label("From", classes="booking-form-label")
                yield Input(when_text(self.start, self.day, self.tz), id="booking-form-start", compact=True)
                yield Label("to", classes="booking-form-between")
                yield Input(when_text(self.end, self.day, self.tz), id="booking-form-end", compact=True)
                yield Label("10:30 · +90 min", classes="booking-form-between")
            yield from self._error("start")
            yield from self._error("end")
            with Horizontal(classes="booking-form-row"):
                yield Label("Note", classes="booking-form-label")
                yield Input(placeholder="optional", id="booking-form-note", compact=True)
            yield from self._error("note")
            with Horizontal(classes="booking-form-row"):
                yield Label("Repeat", classes="booking-form-label")
                yield Select(REPEATS, value="none", allow_blank=False, compact=True, id="booking-form-repeat")
                yield Label("times", classes="booking-form-between")
                yield Input("4", id="booking-form-count", compact=True, disabled=True)
                yield Checkbox("Skip clashing days", id="booking-form-skip", disabled=True)
            yield from self._error("repeat")
            yield from self._error("count")
            yield Static("", id="booking-form-check", markup=False, classes="-empty")
            with Horizontal(id="booking-form-buttons"):
                yield Button("Use the free slot (ctrl+f)", id="booking-form-use", classes="-empty", compact=True)
                yield Button("Cancel", id="booking-form-cancel", compact=True)
                yield Button("Book (ctrl+s)", id="booking-form-save", variant="primary", compact=True)

    def _error(self, field: str) -> ComposeResult:
        yield Static("", id=f"booking-form-{field}-error", classes="booking-form-error -empty", markup=False)

    def on_mount(self) -> None:
        self.query_one("#booking-form-holder", Input).focus()
        self._check()

    # -- reading the form ----------------------------------------------------------------------------

    def _value(self, field: str) -> str:
        return self.query_one(f"#booking-form-{field}", Input).value

    def typed(self) -> Typed:
        return Typed(
            resource_id=str(self.query_one("#booking-form-resource", Select).value),
            holder=self._value("holder"),
            attendee_id=self.linked.id if self.linked is not None else None,
            start=self._value("start"),
            end=self._value("end"),
            note=self._value("note"),
            repeat=str(self.query_one("#booking-form-repeat", Select).value),
            count=self._value("count"),
            skip_conflicts=self.query_one("#booking-form-skip", Checkbox).value,
        )

    # -- the live check ------------------------------------------------------------------------------

    @on(Input.Changed, "#booking-form-start, #booking-form-end")
    @on(Select.Changed, "#booking-form-resource")
    def _check(self) -> None:
        values, problems = parse_form(self.typed(), self.day, self.tz)
        line = self.query_one("#booking-form-check", Static)
        line.remove_class("-free", "-clash")
        if problems or not values["resource_id"]:
            self._offer(None)
            self._say("#booking-form-check", "")
            return
        try:
            conflict = self.check(values["resource_id"], values["start"], values["end"])
        except DomainError as exc:
            conflict = None
            self._say("#booking-form-check", exc.message)
            line.add_class("-clash")
        else:
            if conflict is None:
                self._say("#booking-form-check", f"✓ {span_text(values['start'], values['end'], self.tz)} looks free")
                line.add_class("-free")
            else:
                self._say("#booking-form-check", f"⚠ {conflict.message}")
                line.add_class("-clash")
        self._offer(conflict.nearest_free if conflict is not None else None)

    def _offer(self, slot: tuple[float, float] | None) -> None:
        self.free_offer = slot
        button = self.query_one("#booking-form-use", Button)
        button.set_class(slot is None, "-empty")
        if slot is not None:
            same_day = local_datetime(slot[0], self.tz).date() == self.day
            span = f"{local_hhmm(slot[0], self.tz)}–{local_hhmm(slot[1], self.tz)}"
            button.label = f"Use {span if same_day else span_text(slot[0], slot[1], self.tz)} (ctrl+f)"

    @on(Button.Pressed, "#booking-form-use")
    def action_use_free(self) -> None:
        if self.free_offer is None:
            self.notify("No free slot to offer: the times look free (or cannot be read).", severity="warning")
            return
        start, end = self.free_offer
        self.query_one("#booking-form-start", Input).value = when_text(start, self.day, self.tz)
        self.query_one("#booking-form-end", Input).value = when_text(
            end, local_datetime(start, self.tz).date(), self.tz
        )
        self._say("#booking-form-message", "")

    @on(Select.Changed, "#booking-form-repeat")
    def _repeat_changed(self, event: Select.Changed) -> None:
        repeating = event.value != "none"
        self.query_one("#booking-form-count", Input).disabled = not repeating
        self.query_one("#booking-form-skip", Checkbox).disabled = not repeating

    # -- finding the attendee ------------------------------------------------------------------------

    @on(Input.Changed, "#booking-form-holder")
    def _holder_changed(self, event: Input.Changed) -> None:
        if self.linked is not None and event.value != self.linked.name:
            self.linked = None  # a different name: no longer that attendee's booking
        self._say("#booking-form-linked", self._linked_words())
        query = event.value.strip()
        found = list(self.search(query))[:SUGGESTIONS] if self.search and len(query) >= 2 and not self.linked else []
        self._found = found
        people = self.query_one("#booking-form-people", OptionList)
        people.set_options(Option(_person_prompt(p), id=p.id) for p in found)
        people.set_class(not found, "-empty")

    def _linked_words(self) -> str:
        person = self.linked
        if person is None:
            return ""
        number = f" #{person.registration_number}" if person.registration_number else ""
        return f"✓ attendee {person.name}{number}" + (f" · {person.company}" if person.company else "")

    def action_people(self) -> None:
        people = self.query_one("#booking-form-people", OptionList)
        if self.focused is self.query_one("#booking-form-holder") and self._found:
            people.focus()
            people.highlighted = 0
        else:
            self.focus_next()

    @on(OptionList.OptionSelected, "#booking-form-people")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        person = next((p for p in self._found if p.id == event.option.id), None)
        if person is None:
            return
        self.linked = person
        self.query_one("#booking-form-holder", Input).value = person.name
        self.query_one("#booking-form-start", Input).focus()

    # -- saving --------------------------------------------------------------------------------------

    @property
    def message(self) -> str:
        return str(self.query_one("#booking-form-message", Static).content)

    @property
    def check_line(self) -> str:
        return str(self.query_one("#booking-form-check", Static).content)

    @on(Input.Submitted)
    @on(Button.Pressed, "#booking-form-save")
    def action_save(self) -> None:
        values, problems = parse_form(self.typed(), self.day, self.tz)
        if problems:
            self.show_problems(problems)
            return
        try:
            made = self.save(values)
        except ValidationFailed as exc:
            self.show_problems(list(exc.problems))
            return
        except DomainError as exc:
            self.show_problems([], exc.message)
            nearest = exc.details.get("nearest_free")
            if isinstance(nearest, dict):
                self._offer((from_iso(nearest["start"]) or 0.0, from_iso(nearest["end"]) or 0.0))
            return
        self.dismiss(made)

    @on(Button.Pressed, "#booking-form-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def _person_prompt(person: Attendee) -> str:
    number = f"#{person.registration_number} " if person.registration_number else ""
    company = f" · {person.company}" if person.company else ""
    return f"{number}{person.name}{company}"
