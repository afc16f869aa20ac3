"""Add a room, or change one: name, capacity (empty: no limit) and the timer's length in minutes.

The dialog hands the parsed fields to ``save`` (the screen's call into ``station.rooms.create`` or
``update``) and closes with the room it returns. A refused field (``ValidationFailed`` names each one)
appears under that field and nothing typed is lost; any other refusal ("there is already a room called
Hall A") is said at the top.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from focusdesk.domain.errors import FieldProblem
from focusdesk.station.model import Room
from focusdesk.tui.dialogs.field_form import FieldForm
from focusdesk.tui.dialogs.form_submit import submit

# Form field -> (label, the station's name for it)
FIELDS = {"name": ("Name", "name"), "capacity": ("Capacity", "capacity"), "minutes": ("Timer", "work_s")}
_BY_STATION_NAME = {station: form for form, (_, station) in FIELDS.items()}

Save = Callable[[dict[str, Any]], Room]


def parse_form(name: str, capacity: str, minutes: str) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The room's fields from what was typed (``work_s`` in seconds), and what could not be read."""
    fields: dict[str, Any] = {"name": name}
    problems: list[FieldProblem] = []
    capacity = capacity.strip()
    if not capacity:
        fields["capacity"] = None
    elif capacity.isdigit():
        fields["capacity"] = int(capacity)
    else:
        problems.append(FieldProblem("capacity", "must be a whole number of people, or empty for no limit"))
    try:
        fields["work_s"] = round(float(minutes.strip().replace(",", ".")) * 60.0, 3)
    except ValueError:
        problems.append(FieldProblem("work_s", "must be a number of minutes, e.g. 25"))
    return fields, problems


def minutes_of(seconds: float) -> str:
    minutes = seconds / 60.0
    return f"{minutes:g}"


class RoomFormDialog(FieldForm[Room | None]):
    FORM_PREFIX = "room-form"
    FORM_LABELS = {field: label for field, (label, _) in FIELDS.items()}
    STATION_NAMES = _BY_STATION_NAME

    DEFAULT_CSS = """
    RoomFormDialog > #room-form-box {
        width: 64;
        max-width: 98%;
        max-height: 98%;
        overflow-y: auto;
    }
    RoomFormDialog .room-form-row { height: auto; }
    RoomFormDialog .room-form-label { width: 10; padding-top: 1; color: $text-muted; }
    RoomFormDialog .room-form-row > Input { width: 1fr; }
    RoomFormDialog .room-form-hint { width: auto; padding: 1 0 0 1; color: $text-muted; }
    RoomFormDialog .room-form-error { color: $text-error; padding-left: 10; height: auto; }
    RoomFormDialog .room-form-error.-empty { display: none; }
    RoomFormDialog .-problem { border: tall $error; }
    RoomFormDialog #room-form-message { color: $text-error; text-style: bold; height: auto; }
    RoomFormDialog #room-form-message.-empty { display: none; }
    RoomFormDialog #room-form-buttons { height: auto; align-horizontal: right; }
    RoomFormDialog Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="room_form.cancel", tooltip="Close; nothing is changed"),
        Binding("ctrl+s", "save", "Save", id="room_form.save", tooltip="Save the room"),
    ]

    def __init__(self, save: Save, room: Room | None = None) -> None:
        """``room``: the room to change (the form starts with its values); None adds a new one."""
        super().__init__()
        self.save = save
        self.room = room

    def compose(self) -> ComposeResult:
        room = self.room
        values = {
            "name": room.name if room else "",
            "capacity": str(room.capacity) if room and room.capacity is not None else "",
            "minutes": minutes_of(room.work_s) if room else "25",
        }
        hints = {"name": "", "capacity": "people; empty: no limit", "minutes": "minutes"}
        with Vertical(id="room-form-box", classes="dialog-box") as box:
            box.border_title = f"Change {room.name}" if room else "New room"
            box.border_subtitle = "Enter or ctrl+s saves · Escape cancels"
            yield Static("", id="room-form-message", markup=False, classes="-empty")
            for field, (label, _) in FIELDS.items():
                with Horizontal(classes="room-form-row"):
                    yield Label(label, classes="room-form-label")
                    yield Input(values[field], id=f"room-form-{field}", placeholder=label)
                    if hints[field]:
                        yield Static(hints[field], classes="room-form-hint", markup=False)
                yield Static("", id=f"room-form-{field}-error", classes="room-form-error -empty", markup=False)
            with Horizontal(id="room-form-buttons"):
                yield Button("Cancel", id="room-form-cancel")
                yield Button("Save (ctrl+s)" if room else "Add room (ctrl+s)", id="room-form-save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#room-form-name", Input).focus()

    def _value(self, field: str) -> str:
        return self.query_one(f"#room-form-{field}", Input).value

    @on(Input.Submitted)
    @on(Button.Pressed, "#room-form-save")
    def action_save(self) -> None:
        fields, problems = parse_form(self._value("name"), self._value("capacity"), self._value("minutes"))
        if problems:
            self.show_problems(problems)
            return
        submit(self, lambda: self.save(fields))

    @on(Button.Pressed, "#room-form-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
