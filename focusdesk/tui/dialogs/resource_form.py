"""Add a room or device to lend, or change one: kind, name, capacity, minutes kept free between bookings,
daily bookable hours, whether bookings need an organizer's approval, and how long after its start a
booking nobody checked in to is released.

The dialog hands the parsed fields to ``save`` (the screen's call into ``station.reservations.
create_resource`` or ``update_resource``) and closes with the resource it returns. What cannot be read
(a capacity of "lots") is said under its field before anything is sent; a field the station refuses
(``ValidationFailed`` names each one: hours the wrong way round, a buffer over four hours) appears under
that field too, and nothing typed is lost. Any other refusal ("there is already a resource called
Studio A") is said at the top. The kind is fixed once a resource exists (the server keeps it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from focusdesk.domain.errors import FieldProblem
from focusdesk.domain.reservations import RELEASE_DEFAULT_MIN
from focusdesk.station.model import Resource
from focusdesk.tui.dialogs.field_form import FieldForm
from focusdesk.tui.dialogs.form_submit import submit

# Form field (the station's name for it) -> label
FIELDS = {
    "kind": "Kind",
    "name": "Name",
    "capacity": "Capacity",
    "buffer_min": "Buffer",
    "open_from": "From",
    "open_until": "Until",
    "needs_approval": "Approval",
    "release_after_min": "Release",
}
KINDS = [("Room", "room"), ("Device to lend", "device")]
_HHMM = re.compile(r"^(\d{1,2})[:.](\d{2})$")
# The station's words are the API's; the form says them in its own.
_WORDS = (
    ("give both open_from and open_until, or neither", "and From go together: give both, or neither for any time"),
    ("must be later than open_from", "must be later than From"),
    (", or null", ", or empty for any time"),
)

Save = Callable[[dict[str, Any]], Resource]


def _minutes(text: str, field: str, problems: list[FieldProblem], *, empty: int | None) -> int | None:
    value = text.strip()
    if not value and empty is not None:
        return empty
    if value.isdigit():
        return int(value)
    problems.append(FieldProblem(field, "must be a whole number of minutes"))
    return None


def hhmm(text: str) -> str | None:
    """A time of day as the station wants it (``8:30`` -> ``08:30``); empty -> None; anything else is
    passed on as typed, for the station to say what is wrong with it."""
    value = text.strip()
    if not value:
        return None
    if match := _HHMM.match(value):
        return f"{int(match[1]):02d}:{match[2]}"
    return value


def parse_form(
    *,
    kind: str,
    name: str,
    capacity: str,
    buffer: str,
    open_from: str,
    open_until: str,
    needs_approval: bool,
    release: str,
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The resource's fields from what was typed, and what could not be read (the station checks the rest:
    a name, ranges, both hours or neither, the hours in order)."""
    problems: list[FieldProblem] = []
    fields: dict[str, Any] = {"kind": kind, "name": name}
    value = capacity.strip()
    if not value:
        fields["capacity"] = None
    elif value.isdigit():
        fields["capacity"] = int(value)
    else:
        problems.append(FieldProblem("capacity", "must be a whole number of people, or empty for no limit"))
    fields["buffer_min"] = _minutes(buffer, "buffer_min", problems, empty=0)
    fields["open_from"] = hhmm(open_from)
    fields["open_until"] = hhmm(open_until)
    fields["needs_approval"] = needs_approval
    fields["release_after_min"] = _minutes(release, "release_after_min", problems, empty=None)
    return fields, problems


def say(reason: str) -> str:
    for api_words, words in _WORDS:
        reason = reason.replace(api_words, words)
    return reason


class ResourceFormDialog(FieldForm[Resource | None]):
    FORM_PREFIX = "resource-form"
    FORM_LABELS = FIELDS

    def problem_words(self, reason: str) -> str:
        return say(reason)

    DEFAULT_CSS = """
    ResourceFormDialog > #resource-form-box {
        width: 76;
        max-width: 98%;
        max-height: 98%;
        overflow-y: auto;
    }
    ResourceFormDialog .resource-form-row { height: auto; margin-top: 1; }
    ResourceFormDialog .resource-form-label { width: 10; color: $text-muted; }
    ResourceFormDialog .resource-form-row > Input { width: 1fr; }
    ResourceFormDialog #resource-form-kind { width: 24; }
    ResourceFormDialog #resource-form-capacity, ResourceFormDialog #resource-form-buffer_min,
    ResourceFormDialog #resource-form-release_after_min { width: 10; }
    ResourceFormDialog #resource-form-open_from, ResourceFormDialog #resource-form-open_until { width: 9; }
    ResourceFormDialog #resource-form-needs_approval { border: none; padding: 0; height: 1; background: transparent; }
    ResourceFormDialog .resource-form-hint { width: auto; padding: 0 1; color: $text-muted; }
    ResourceFormDialog .resource-form-error { color: $text-error; padding-left: 10; height: auto; }
    ResourceFormDialog .resource-form-error.-empty { display: none; }
    ResourceFormDialog .-problem { background: $error 30%; }
    ResourceFormDialog #resource-form-message { color: $text-error; text-style: bold; height: auto; margin-top: 1; }
    ResourceFormDialog #resource-form-message.-empty { display: none; }
    ResourceFormDialog #resource-form-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    ResourceFormDialog #resource-form-buttons Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="resource_form.cancel", tooltip="Close; nothing is changed"),
        Binding("ctrl+s", "save", "Save", id="resource_form.save", tooltip="Save the room or device"),
    ]

    def __init__(self, save: Save, resource: Resource | None = None, *, kind: str = "room") -> None:
        """``resource``: the one to change (the form starts with its values, its kind fixed); None adds a new
        one of ``kind`` (which can still be changed)."""
        super().__init__()
        self.save = save
        self.resource = resource
        self.kind = resource.kind if resource is not None else kind

    def compose(self) -> ComposeResult:
        resource = self.resource

        def text(value: Any) -> str:
            return "" if value is None else str(value)

        with Vertical(id="resource-form-box", classes="dialog-box") as box:
            box.border_title = f"Change {resource.name}" if resource else "New room or device"
            box.border_subtitle = "Enter or ctrl+s saves · Escape cancels"
            yield Static("", id="resource-form-message", markup=False, classes="-empty")
            with Horizontal(classes="resource-form-row"):
                yield Label("Kind", classes="resource-form-label")
                yield Select(
                    KINDS, value=self.kind, allow_blank=False, compact=True, id="resource-form-kind",
                    disabled=resource is not None,
                )  # fmt: skip
                if resource is not None:
                    yield Label("fixed once added", classes="resource-form-hint")
            yield from self._error("kind")
            with Horizontal(classes="resource-form-row"):
                yield Label("Name", classes="resource-form-label")
                yield Input(resource.name if resource else "", id="resource-form-name", compact=True,
                            placeholder="e.g. Studio A, Camera 2")  # fmt: skip
            yield from self._error("name")
            with Horizontal(classes="resource-form-row"):
                yield Label("Capacity", classes="resource-form-label")
                yield Input(text(resource.capacity if resource else None), id="resource-form-capacity", compact=True)
                yield Label("people; empty: no limit", classes="resource-form-hint")
            yield from self._error("capacity")
            with Horizontal(classes="resource-form-row"):
                yield Label("Buffer", classes="resource-form-label")
                yield Input(text(resource.buffer_min if resource else 0), id="resource-form-buffer_min", compact=True)
                yield Label("minutes kept free between two bookings", classes="resource-form-hint")
            yield from self._error("buffer_min")
            with Horizontal(classes="resource-form-row"):
                yield Label("Hours", classes="resource-form-label")
                yield Input(text(resource.open_from if resource else None), id="resource-form-open_from",
                            placeholder="08:00", compact=True)  # fmt: skip
                yield Label("to", classes="resource-form-hint")
                yield Input(text(resource.open_until if resource else None), id="resource-form-open_until",
                            placeholder="18:00", compact=True)  # fmt: skip
                yield Label("bookable daily; both empty: any time", classes="resource-form-hint")
            yield from self._error("open_from")
            yield from self._error("open_until")
            with Horizontal(classes="resource-form-row"):
                yield Label("Approval", classes="resource-form-label")
                yield Checkbox(
                    "Bookings wait for an organizer's approval",
                    resource.needs_approval if resource else False,
                    id="resource-form-needs_approval",
                    compact=True,
                )
            yield from self._error("needs_approval")
            with Horizontal(classes="resource-form-row"):
                yield Label("Release", classes="resource-form-label")
                release = resource.release_after_min if resource else RELEASE_DEFAULT_MIN
                yield Input(text(release), id="resource-form-release_after_min", compact=True)
                yield Label("minutes after the start if nobody checks in", classes="resource-form-hint")
            yield from self._error("release_after_min")
            with Horizontal(id="resource-form-buttons"):
                yield Button("Cancel", id="resource-form-cancel", compact=True)
                yield Button(
                    "Save (ctrl+s)" if resource else "Add (ctrl+s)",
                    id="resource-form-save",
                    variant="primary",
                    compact=True,
                )

    def _error(self, field: str) -> ComposeResult:
        yield Static("", id=f"resource-form-{field}-error", classes="resource-form-error -empty", markup=False)

    def on_mount(self) -> None:
        self.query_one("#resource-form-name", Input).focus()

    # -- reading the form ----------------------------------------------------------------------------

    def _value(self, field: str) -> str:
        return self.query_one(f"#resource-form-{field}", Input).value

    def typed(self) -> tuple[dict[str, Any], list[FieldProblem]]:
        """The fields as the station takes them, and what could not be read."""
        return parse_form(
            kind=str(self.query_one("#resource-form-kind", Select).value),
            name=self._value("name"),
            capacity=self._value("capacity"),
            buffer=self._value("buffer_min"),
            open_from=self._value("open_from"),
            open_until=self._value("open_until"),
            needs_approval=self.query_one("#resource-form-needs_approval", Checkbox).value,
            release=self._value("release_after_min"),
        )

    # -- problems ------------------------------------------------------------------------------------

    @property
    def message(self) -> str:
        """What is said at the top (a refusal that is not about one field)."""
        line = self.query_one("#resource-form-message", Static)
        return "" if line.has_class("-empty") else str(line.content)

    # -- the keys ------------------------------------------------------------------------------------

    @on(Input.Submitted)
    @on(Button.Pressed, "#resource-form-save")
    def action_save(self) -> None:
        fields, problems = self.typed()
        if problems:
            self.show_problems(problems)
            return
        submit(self, lambda: self.save(fields))

    @on(Button.Pressed, "#resource-form-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
