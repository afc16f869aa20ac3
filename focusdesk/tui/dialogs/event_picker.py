"""Which event this desk works at, when the account may work at several: ``EventPicker(events, current=id)``
dismisses with the chosen event (the server's dict) or None. Enter picks, Escape cancels."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from focusdesk.tui.dialogs.framed import FramedDialog

_STATUS_STYLE = {"open": "green", "draft": "yellow", "closed": "red"}


def event_prompt(event: dict[str, Any]) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(str(event.get("name") or f"Event {event.get('id')}"), style="bold")
    starts, ends = event.get("starts_on"), event.get("ends_on")
    if starts:
        text.append(f"  {starts}" + (f" – {ends}" if ends and ends != starts else ""), style="dim")
    status = str(event.get("status") or "")
    if status:
        text.append(f"  {status}", style=_STATUS_STYLE.get(status, "dim"))
    return text


class EventPicker(FramedDialog[dict[str, Any] | None]):
    DEFAULT_CSS = """
    EventPicker > #event-box {
        width: 72;
        max-width: 95%;
        max-height: 90%;
        border: thick $primary 80%;
        padding: 1 2;
    }
    EventPicker #event-question { margin-bottom: 1; }
    EventPicker #event-list { height: auto; max-height: 16; }
    EventPicker #event-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="event_picker.cancel", tooltip="Close without picking an event"),
    ]

    def __init__(self, events: list[dict[str, Any]], *, current: int | None = None) -> None:
        super().__init__()
        self.events = list(events)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="event-box", classes="dialog-box") as box:
            box.border_title = "Pick the event"
            yield Static("This account works at several events. Which one is this desk at?", id="event-question")
            yield OptionList(*(Option(event_prompt(e), id=str(i)) for i, e in enumerate(self.events)), id="event-list")
            yield Static("↑↓ choose · Enter open · Esc cancel", id="event-hint")

    def on_mount(self) -> None:
        options = self.query_one("#event-list", OptionList)
        ids = [e.get("id") for e in self.events]
        options.highlighted = ids.index(self.current) if self.current in ids else 0
        options.focus()

    @on(OptionList.OptionSelected, "#event-list")
    def _picked(self, message: OptionList.OptionSelected) -> None:
        self.dismiss(self.events[message.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
