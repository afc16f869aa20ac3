"""Write a notice to staff: message, priority, who it is for, and (optionally) when it stops mattering.

The dialog hands what was typed to ``send`` (the screen's call into ``station.notices.post``) and closes
with the notice it returns. When the station refuses a field (``ValidationFailed`` names each one) the
problem appears under that field and nothing typed is lost; any other refusal is said at the top.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from focusdesk.domain.errors import FieldProblem
from focusdesk.domain.notices import AUDIENCE_ALL, AUDIENCE_DESK, AUDIENCE_ROLE, MAX_EXPIRY_S, Audience
from focusdesk.station.model import Notice
from focusdesk.tui.dialogs.field_form import FieldForm
from focusdesk.tui.dialogs.form_submit import submit

PRIORITY_CHOICES = [
    ("High — rings on every desk it is for", "high"),
    ("Medium", "medium"),
    ("Low", "low"),
]
AUDIENCE_CHOICES = [
    ("Everyone", AUDIENCE_ALL),
    ("Staff", "role:staff"),
    ("Organizers", "role:organizer"),
    ("Technicians", "role:technician"),
    ("Admins", "role:admin"),
    ("One desk…", AUDIENCE_DESK),
]
MAX_EXPIRY_MIN = int(MAX_EXPIRY_S // 60)
# The form's fields, by the name the station's problems use (without the "notice." prefix).
FIELD_LABELS = {"body": "Message", "priority": "Priority", "audience": "To", "desk": "Desk", "expiry": "Expires in"}

Send = Callable[[str, str, Audience, float | None], Notice]


def audience_of(choice: object, desk: str) -> Audience:
    if isinstance(choice, str) and choice.startswith(f"{AUDIENCE_ROLE}:"):
        return Audience(AUDIENCE_ROLE, choice.partition(":")[2])
    if choice == AUDIENCE_DESK:
        return Audience(AUDIENCE_DESK, desk.strip())
    return Audience()


def field_of(problem: FieldProblem, audience_choice: object) -> str | None:
    """Which field of the form a station problem is about (None: say it at the top)."""
    name = problem.field.removeprefix("notice.")
    if name.startswith("audience"):
        return "desk" if audience_choice == AUDIENCE_DESK else "audience"
    if name == "expires_in_s":
        return "expiry"
    return name if name in FIELD_LABELS else None


class ComposeNoticeDialog(FieldForm[Notice | None]):
    FORM_PREFIX = "compose"
    FORM_LABELS = FIELD_LABELS

    # Compact fields (one line each) so the whole form fits an 80×24 terminal.
    DEFAULT_CSS = """
    ComposeNoticeDialog > #compose-box {
        width: 76;
        max-width: 98%;
        max-height: 98%;
        overflow-y: auto;
    }
    ComposeNoticeDialog .compose-row { height: auto; margin-top: 1; }
    ComposeNoticeDialog .compose-label { width: 11; color: $text-muted; }
    ComposeNoticeDialog .compose-row > Input, ComposeNoticeDialog .compose-row > Select { width: 1fr; }
    ComposeNoticeDialog #compose-body { height: 5; width: 1fr; }
    ComposeNoticeDialog #compose-body-row { margin-top: 0; }
    ComposeNoticeDialog #compose-body-row > .compose-label { padding-top: 1; }
    ComposeNoticeDialog #compose-expiry { width: 12; }
    ComposeNoticeDialog #compose-expiry-hint { width: 1fr; padding-left: 1; color: $text-muted; }
    ComposeNoticeDialog #compose-desk-row.-hidden { display: none; }
    ComposeNoticeDialog .compose-error { color: $text-error; padding-left: 11; height: auto; }
    ComposeNoticeDialog .compose-error.-empty { display: none; }
    ComposeNoticeDialog TextArea.-problem { border: tall $error; }
    ComposeNoticeDialog Input.-problem, ComposeNoticeDialog Select.-problem { tint: $error 25%; }
    ComposeNoticeDialog #compose-message { color: $text-error; text-style: bold; height: auto; }
    ComposeNoticeDialog #compose-message.-empty { display: none; }
    ComposeNoticeDialog #compose-buttons { height: auto; margin-top: 1; align-horizontal: right; }
    ComposeNoticeDialog Button { margin-left: 2; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="compose_notice.cancel", tooltip="Close; nothing is sent"),
        Binding("ctrl+s", "send", "Send", id="compose_notice.send", tooltip="Send the notice"),
    ]

    def __init__(self, send: Send, *, this_desk: str | None = None) -> None:
        super().__init__()
        self.send = send
        self.this_desk = this_desk

    def compose(self) -> ComposeResult:
        with Vertical(id="compose-box", classes="dialog-box") as box:
            box.border_title = "New notice"
            box.border_subtitle = "ctrl+s sends · Escape cancels"
            yield Static("", id="compose-message", markup=False, classes="-empty")
            with Horizontal(classes="compose-row", id="compose-body-row"):
                yield Label("Message", classes="compose-label")
                yield TextArea(id="compose-body", soft_wrap=True, tab_behavior="focus")
            yield self._error("body")
            with Horizontal(classes="compose-row"):
                yield Label("Priority", classes="compose-label")
                yield Select(PRIORITY_CHOICES, value="medium", allow_blank=False, id="compose-priority", compact=True)
            yield self._error("priority")
            with Horizontal(classes="compose-row"):
                yield Label("To", classes="compose-label")
                yield Select(
                    AUDIENCE_CHOICES, value=AUDIENCE_ALL, allow_blank=False, id="compose-audience", compact=True
                )
            yield self._error("audience")
            with Horizontal(classes="compose-row -hidden", id="compose-desk-row"):
                yield Label("Desk", classes="compose-label")
                hint = f"the desk's station id (this desk is {self.this_desk})" if self.this_desk else "station id"
                yield Input(placeholder=hint, id="compose-desk", compact=True)
            yield self._error("desk")
            with Horizontal(classes="compose-row"):
                yield Label("Expires in", classes="compose-label")
                yield Input(placeholder="minutes", type="integer", id="compose-expiry", compact=True)
                yield Static("optional; empty: it never expires", id="compose-expiry-hint")
            yield self._error("expiry")
            with Horizontal(id="compose-buttons"):
                yield Button("Cancel", id="compose-cancel", compact=True)
                yield Button("Send (ctrl+s)", id="compose-send", variant="primary", compact=True)

    @staticmethod
    def _error(field: str) -> Static:
        return Static("", id=f"compose-{field}-error", classes="compose-error -empty", markup=False)

    def on_mount(self) -> None:
        self.query_one("#compose-body", TextArea).focus()

    def form_field(self, problem: FieldProblem) -> str | None:
        return field_of(problem, self.query_one("#compose-audience", Select).value)

    # -- the form ---------------------------------------------------------------------------------

    @on(Select.Changed, "#compose-audience")
    def _audience_changed(self, event: Select.Changed) -> None:
        row = self.query_one("#compose-desk-row")
        row.set_class(event.value != AUDIENCE_DESK, "-hidden")
        if event.value == AUDIENCE_DESK:
            self.query_one("#compose-desk", Input).focus()

    def _expiry_s(self) -> tuple[float | None, FieldProblem | None]:
        raw = self.query_one("#compose-expiry", Input).value.strip()
        if not raw:
            return None, None
        minutes = int(raw) if raw.lstrip("-").isdigit() else 0
        if not 1 <= minutes <= MAX_EXPIRY_MIN:
            return None, FieldProblem("expires_in_s", f"must be 1 to {MAX_EXPIRY_MIN} minutes (7 days), or empty")
        return minutes * 60.0, None

    @on(Button.Pressed, "#compose-send")
    def action_send(self) -> None:
        body = self.query_one("#compose-body", TextArea).text
        priority = str(self.query_one("#compose-priority", Select).value)
        choice = self.query_one("#compose-audience", Select).value
        audience = audience_of(choice, self.query_one("#compose-desk", Input).value)
        expires_in_s, expiry_problem = self._expiry_s()
        if expiry_problem is not None:
            self.show_problems([expiry_problem])
            return
        submit(self, lambda: self.send(body, priority, audience, expires_in_s))

    @on(Button.Pressed, "#compose-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
