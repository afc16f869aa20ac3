"""Set the message a room shows under its timer ("Back at 14:00"): dismisses with the text, or None.

An empty message clears it (that is a message too: the room shows none). Escape changes nothing.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from focusdesk.domain.timers import MAX_MESSAGE
from focusdesk.tui.dialogs.framed import FramedDialog


class RoomMessageDialog(FramedDialog[str | None]):
    DEFAULT_CSS = """
    RoomMessageDialog > #room-message-box {
        width: 70;
        max-width: 96%;
    }
    RoomMessageDialog #room-message-hint { color: $text-muted; height: auto; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="room_message.cancel", tooltip="Close; the message is not changed"),
    ]

    def __init__(self, room_name: str, current: str = "") -> None:
        super().__init__()
        self.room_name = room_name
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="room-message-box", classes="dialog-box") as box:
            box.border_title = f"Message for {self.room_name}"
            box.border_subtitle = "Enter sets it · Escape cancels"
            yield Input(
                self.current,
                placeholder="e.g. Back at 14:00 — please take your seats",
                max_length=MAX_MESSAGE,
                id="room-message-input",
            )
            yield Static(
                f"Shown under the room's timer on every desk. Up to {MAX_MESSAGE} characters; empty clears it.",
                id="room-message-hint",
                markup=False,
            )

    def on_mount(self) -> None:
        self.query_one("#room-message-input", Input).focus()

    @on(Input.Submitted, "#room-message-input")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
