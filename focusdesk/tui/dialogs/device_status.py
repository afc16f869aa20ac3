"""Say how a device is: one of the five statuses and a note ("paper jam, tech on the way").

The dialog hands the choice to ``save`` (the screen's call into ``station.reservations.set_device_status``)
and closes with the device it returns; a refusal is said in the dialog and the choice is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from focusdesk.domain.errors import FieldProblem
from focusdesk.domain.reservations import DEVICE_STATUSES, NOTE_MAX
from focusdesk.tui.dialogs.form_submit import submit
from focusdesk.tui.dialogs.framed import FramedDialog
from focusdesk.tui.widgets.device_look import status_text

if TYPE_CHECKING:
    from focusdesk.station.model import Resource

Save = Callable[[str, str], "Resource"]


class DeviceStatusDialog(FramedDialog["Resource | None"]):
    DEFAULT_CSS = """
    DeviceStatusDialog > #device-status-box {
        width: 60;
        max-width: 96%;
        max-height: 98%;
    }
    DeviceStatusDialog #device-status-choice { height: auto; border: none; margin-bottom: 1; }
    DeviceStatusDialog #device-status-message { color: $text-error; text-style: bold; height: auto; }
    DeviceStatusDialog #device-status-message.-empty { display: none; }
    DeviceStatusDialog #device-status-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    DeviceStatusDialog Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="device_status.cancel", tooltip="Close; nothing is changed"),
        Binding("ctrl+s", "save", "Save", id="device_status.save", tooltip="Set the status"),
    ]

    def __init__(self, device: Resource, save: Save) -> None:
        super().__init__()
        self.device = device
        self.save = save

    def compose(self) -> ComposeResult:
        with Vertical(id="device-status-box", classes="dialog-box") as box:
            box.border_title = f"Status of {self.device.name}"
            box.border_subtitle = "↑↓ choose · Enter saves · Escape cancels"
            yield Static("", id="device-status-message", markup=False, classes="-empty")
            yield OptionList(*(Option(status_text(s), id=s) for s in DEVICE_STATUSES), id="device-status-choice")
            yield Input(
                self.device.status_note, placeholder="Note (optional)", max_length=NOTE_MAX, id="device-status-note"
            )
            with Horizontal(id="device-status-buttons"):
                yield Button("Cancel", id="device-status-cancel")
                yield Button("Set status (ctrl+s)", id="device-status-save", variant="primary")

    def on_mount(self) -> None:
        choice = self.query_one("#device-status-choice", OptionList)
        current = self.device.device_status
        choice.highlighted = DEVICE_STATUSES.index(current) if current in DEVICE_STATUSES else 0
        choice.focus()

    @property
    def chosen(self) -> str:
        choice = self.query_one("#device-status-choice", OptionList)
        return DEVICE_STATUSES[choice.highlighted or 0]

    def show_problems(self, problems: list[FieldProblem], message: str | None = None) -> None:
        words = [message] if message else []
        words += [f"{p.field.rsplit('.', 1)[-1].capitalize()} {p.reason}" for p in problems]
        line = self.query_one("#device-status-message", Static)
        line.update("\n".join(words))
        line.set_class(not words, "-empty")

    @property
    def message(self) -> str:
        return str(self.query_one("#device-status-message", Static).content)

    @on(OptionList.OptionSelected, "#device-status-choice")
    def _chosen(self) -> None:
        # Enter on a status moves on to the note; Enter there saves.
        self.query_one("#device-status-note", Input).focus()

    @on(Input.Submitted, "#device-status-note")
    @on(Button.Pressed, "#device-status-save")
    def action_save(self) -> None:
        status, note = self.chosen, self.query_one("#device-status-note", Input).value
        submit(self, lambda: self.save(status, note))

    @on(Button.Pressed, "#device-status-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
