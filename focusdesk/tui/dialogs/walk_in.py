"""Register someone at the desk: name, email, company, ticket type. Dismisses with the fields, or None.

The dialog is only a form. The screen calls ``desk.walk_in`` with what it returns; when the station
refuses a field (``ValidationFailed`` names each one) the screen opens the form again with the same
values and the problems, which appear under their fields — nothing typed is lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from focusdesk.domain.errors import FieldProblem
from focusdesk.tui.dialogs.framed import FramedDialog

FIELDS = (
    ("name", "Name", "First and last name (required)"),
    ("email", "Email", "name@example.com (optional)"),
    ("company", "Company", "Company or organisation (optional)"),
    ("ticket_type", "Ticket type", "Attendee"),
)


class WalkInDialog(FramedDialog[dict[str, str] | None]):
    DEFAULT_CSS = """
    WalkInDialog > #walkin-box {
        width: 70;
        max-width: 96%;
        max-height: 96%;
        padding: 0 2;
        overflow-y: auto;
    }
    WalkInDialog .walkin-row { height: auto; }
    WalkInDialog .walkin-label { width: 13; padding-top: 1; color: $text-muted; }
    WalkInDialog .walkin-row Input { width: 1fr; }
    WalkInDialog .walkin-error { color: $text-error; padding-left: 13; height: auto; }
    WalkInDialog .walkin-error.-empty { display: none; }
    WalkInDialog Input.-problem { border: tall $error; }
    WalkInDialog #walkin-message { color: $text-error; text-style: bold; height: auto; margin-top: 1; }
    WalkInDialog #walkin-message.-empty { display: none; }
    WalkInDialog #walkin-buttons { height: auto; align-horizontal: right; }
    WalkInDialog Button { margin-left: 2; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="walk_in.cancel", tooltip="Close the form; nobody is registered"),
        Binding("ctrl+s", "submit", "Register", id="walk_in.submit", tooltip="Register and check in"),
    ]

    def __init__(
        self,
        values: Mapping[str, str | None] | None = None,
        problems: Iterable[FieldProblem] = (),
        message: str | None = None,
    ) -> None:
        super().__init__()
        self.values = {k: (v or "") for k, v in (values or {}).items()}
        self.problems: dict[str, list[str]] = {}
        known = {key for key, _, _ in FIELDS}
        others = []
        for problem in problems:
            if problem.field in known:
                self.problems.setdefault(problem.field, []).append(problem.reason)
            else:
                others.append(f"{problem.field} {problem.reason}")
        self.message = "\n".join([m for m in [message] if m] + others) or None

    def compose(self) -> ComposeResult:
        with Vertical(id="walkin-box", classes="dialog-box") as box:
            box.border_title = "Walk-in: register and check in"
            box.border_subtitle = "Enter registers · Escape cancels"
            message = self.message or ""
            yield Static(message, id="walkin-message", markup=False, classes="" if message else "-empty")
            for key, label, placeholder in FIELDS:
                with Horizontal(classes="walkin-row"):
                    yield Label(label, classes="walkin-label")
                    field = Input(self.values.get(key, ""), placeholder=placeholder, id=f"walkin-{key}")
                    if key in self.problems:
                        field.add_class("-problem")
                    yield field
                reasons = self.problems.get(key, [])
                yield Static(
                    "\n".join(f"{label} {reason}" for reason in reasons),
                    id=f"walkin-{key}-error",
                    classes="walkin-error" if reasons else "walkin-error -empty",
                    markup=False,
                )
            with Horizontal(id="walkin-buttons"):
                yield Button("Cancel", id="walkin-cancel")
                yield Button("Register + check in", id="walkin-ok", variant="primary")

    def on_mount(self) -> None:
        first_bad = next((key for key, _, _ in FIELDS if key in self.problems), "name")
        self.query_one(f"#walkin-{first_bad}", Input).focus()

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        # Once the field is being fixed, its complaint has done its job.
        key = (event.input.id or "").removeprefix("walkin-")
        if event.input.has_class("-problem") and event.value != self.values.get(key, ""):
            event.input.remove_class("-problem")
            self.query_one(f"#walkin-{key}-error", Static).add_class("-empty")

    def fields(self) -> dict[str, str]:
        return {key: self.query_one(f"#walkin-{key}", Input).value for key, _, _ in FIELDS}

    @on(Input.Submitted)
    @on(Button.Pressed, "#walkin-ok")
    def action_submit(self) -> None:
        self.dismiss(self.fields())

    @on(Button.Pressed, "#walkin-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
