"""Pick a timer preset for a room (``timers.PRESETS``): dismisses with the preset's name, or None.

Only a picker: the caller starts the timer. When the room's timer is already running or paused the dialog
says that picking a preset starts it over, so nobody resets a talk's clock without seeing it coming.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from focusdesk.domain import timers
from focusdesk.domain.timers import Preset
from focusdesk.tui.dialogs.framed import FramedDialog
from focusdesk.tui.room_look import minutes_words


def preset_words(preset: Preset) -> Text:
    text = Text(f"{preset.name:<16}", style="bold")
    if preset.mode == timers.POMODORO:
        text.append(f"pomodoro: {minutes_words(preset.duration_s)} work, {minutes_words(preset.break_s)} break")
    else:
        text.append(f"countdown: {minutes_words(preset.duration_s)}")
    return text


class PresetPicker(FramedDialog[str | None]):
    DEFAULT_CSS = """
    PresetPicker > #preset-box {
        width: 64;
        max-width: 96%;
        max-height: 96%;
    }
    PresetPicker #preset-list { height: auto; max-height: 12; border: none; }
    PresetPicker #preset-note { color: $warning; height: auto; margin-bottom: 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="preset_picker.cancel", tooltip="Close; the timer is not changed"),
    ]

    def __init__(self, room_name: str, *, restarts: bool = False) -> None:
        super().__init__()
        self.room_name = room_name
        self.restarts = restarts

    def compose(self) -> ComposeResult:
        with Vertical(id="preset-box", classes="dialog-box") as box:
            box.border_title = f"Start a preset in {self.room_name}"
            box.border_subtitle = "Enter starts · Escape cancels"
            if self.restarts:
                yield Static(
                    "The timer is running or paused: a preset resets it and starts over.",
                    id="preset-note",
                    markup=False,
                )
            yield OptionList(
                *(Option(preset_words(preset), id=name) for name, preset in timers.PRESETS.items()),
                id="preset-list",
            )

    def on_mount(self) -> None:
        self.query_one("#preset-list", OptionList).focus()

    @on(OptionList.OptionSelected, "#preset-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
