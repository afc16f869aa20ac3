"""Ask why (rejecting a booking): dismisses with the reason typed — empty is a fine answer — or None when
Escape calls the whole thing off."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from focusdesk.domain.reservations import NOTE_MAX
from focusdesk.tui.dialogs.framed import FramedDialog


class ReasonDialog(FramedDialog[str | None]):
    DEFAULT_CSS = """
    ReasonDialog > #reason-box {
        width: 70;
        max-width: 96%;
        border: thick $warning 80%;
    }
    ReasonDialog #reason-question { text-style: bold; height: auto; }
    ReasonDialog #reason-hint { color: $text-muted; height: auto; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="reason.cancel", tooltip="Close without doing it"),
    ]

    def __init__(self, question: str, *, title: str, hint: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.question = question
        self.title_text = title
        self.hint = hint
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="reason-box", classes="dialog-box") as box:
            box.border_title = self.title_text
            box.border_subtitle = "Enter confirms · Escape cancels"
            yield Static(self.question, id="reason-question", markup=False)
            yield Input(placeholder=self.placeholder, max_length=NOTE_MAX, id="reason-input")
            if self.hint:
                yield Static(self.hint, id="reason-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#reason-input", Input).focus()

    @on(Input.Submitted, "#reason-input")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
