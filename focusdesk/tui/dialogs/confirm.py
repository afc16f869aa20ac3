"""A yes/no question: ``ConfirmDialog(question, detail=…)`` dismisses with True or False.

Keys: y / n, Enter on the focused button, Escape for no. ``default`` says which button has the focus, so a
stray Enter (a scanner firing while the dialog is open) does the safe thing where it matters.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from focusdesk.tui.dialogs.framed import FramedDialog


class ConfirmDialog(FramedDialog[bool]):
    DEFAULT_CSS = """
    ConfirmDialog > #confirm-box {
        width: 64;
        max-width: 95%;
        max-height: 90%;
        border: thick $warning 80%;
        padding: 1 2;
    }
    ConfirmDialog #confirm-question { text-style: bold; margin-bottom: 1; }
    ConfirmDialog #confirm-detail { color: $text-muted; margin-bottom: 1; }
    ConfirmDialog #confirm-buttons { height: auto; align-horizontal: right; }
    ConfirmDialog Button { margin-left: 2; }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Answer yes"),
        Binding("n", "answer(False)", "No", id="confirm.no", tooltip="Answer no"),
        Binding("escape", "answer(False)", "Cancel", id="confirm.cancel", tooltip="Close without doing it"),
    ]

    def __init__(
        self,
        question: str,
        *,
        detail: str | None = None,
        yes: str = "Yes",
        no: str = "No",
        default: bool = True,
        title: str = "Please confirm",
    ) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.yes_label = yes
        self.no_label = no
        self.default = default
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog-box") as box:
            box.border_title = self.title_text
            yield Static(self.question, id="confirm-question", markup=False)
            if self.detail:
                yield Static(self.detail, id="confirm-detail", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.no_label} (n)", id="confirm-no", variant="default")
                yield Button(f"{self.yes_label} (y)", id="confirm-yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#confirm-yes" if self.default else "#confirm-no", Button).focus()

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
