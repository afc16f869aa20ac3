"""Everything about one person: details, custom fields, check-in history and badges printed.

The screen says whose panel it is (``show``); the panel reads the desk itself and re-reads it when the
desk or the printer changed, so another desk's check-in or a badge coming out appears here on its own.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widgets import Static

from focusdesk.domain.timeutil import local_hhmm
from focusdesk.station.model import Attendee, HistoryEntry

_KIND = {"checkin": "checked in", "undo": "check-in undone", "walkin": "walk-in, checked in"}
PRINT_COALESCE_S = 0.2
TYPING_PAUSE_S = 0.08


def _heading(text: Text, title: str) -> None:
    text.append(f"\n{title}\n", style="bold underline")


def panel_text(
    person: Attendee, history: list[HistoryEntry], badges: int, tz: str, reprint_key: str = "ctrl+r"
) -> Text:
    text = Text(overflow="fold")
    text.append(person.name, style="bold")
    text.append("\n")
    number = "pending number" if person.registration_number is None else f"#{person.registration_number}"
    text.append(number, style="italic yellow" if person.registration_number is None else "")
    if person.ticket_type:
        text.append(f" · {person.ticket_type}", style="italic")
    text.append("\n")
    if person.company:
        text.append(f"{person.company}\n")
    if person.email:
        text.append(f"{person.email}\n", style="dim")
    text.append("\n")
    if person.status == "cancelled":
        text.append("✗ Registration cancelled", style="bold red")
        text.append(" — ask an organizer before admitting them\n")
    elif person.checked_in and person.checked_in_at is not None:
        where = f" at {person.checked_in_station}" if person.checked_in_station else ""
        text.append(f"✓ Checked in {local_hhmm(person.checked_in_at, tz)}{where}\n", style="bold green")
    else:
        text.append("Not checked in — Enter checks them in\n", style="dim")
    if person.pending:
        text.append("Registered at this desk; the server numbers them when it hears of it\n", style="yellow")

    if person.custom:
        _heading(text, "Details")
        width = min(16, max(len(k) for k in person.custom))
        for key, value in person.custom.items():
            text.append(f"{key:<{width}} ", style="dim")
            text.append(f"{value}\n")

    _heading(text, "Check-ins")
    if not history:
        text.append("none yet\n", style="dim")
    for entry in history[-8:]:
        text.append(f"{local_hhmm(entry.at, tz)} ")
        text.append(_KIND.get(entry.kind, entry.kind), style="green" if entry.kind != "undo" else "yellow")
        text.append(f" · {entry.station_name}", style="dim")
        if not entry.confirmed:
            text.append("  (not yet confirmed)", style="italic dim")
        text.append("\n")
    if len(history) > 8:
        text.append(f"… and {len(history) - 8} earlier\n", style="dim")

    _heading(text, "Badges")
    if badges == 0:
        text.append("none printed at this desk", style="dim")
    else:
        text.append(f"{badges} printed at this desk")
    text.append(f" · {reprint_key} reprints", style="dim")
    return text


class AttendeePanel(VerticalScroll, can_focus=False):
    """The highlighted person (or the last one acted on). ``attendee_id`` is None for an empty panel."""

    DEFAULT_CSS = """
    AttendeePanel {
        height: 1fr;
        border: round $border-blurred;
        border-title-color: $text-muted;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    AttendeePanel > #panel-body { width: 1fr; }
    """

    def __init__(self, *, id: str | None = None, reprint_key: str = "ctrl+r") -> None:
        super().__init__(id=id)
        self.attendee_id: str | None = None
        self.reprint_key = reprint_key
        self._print_pending = False
        self._render_timer: Timer | None = None

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(id="panel-body")

    def on_mount(self) -> None:
        self.border_title = "Attendee"
        self.app.desk_changed.subscribe(self, self._desk_changed)  # type: ignore[attr-defined]
        self.app.print_changed.subscribe(self, self._print_changed)  # type: ignore[attr-defined]
        self.refresh_panel()

    @property
    def person(self) -> Attendee | None:
        """Whom the panel is about, as the replica has them now."""
        desk = getattr(self.app, "desk", None)
        return desk.station.get(self.attendee_id) if desk is not None and self.attendee_id else None

    def show(self, attendee_id: str | None, *, now: bool = False) -> None:
        """Make the panel about ``attendee_id``. While someone is typing the highlight moves on every key,
        so the panel repaints once the keys pause (``now`` after an action)."""
        if attendee_id != self.attendee_id:
            self.attendee_id = attendee_id
            self.scroll_home(animate=False)
        if self._render_timer is not None:
            self._render_timer.stop()
            self._render_timer = None
        if now:
            self.refresh_panel()
        else:
            self._render_timer = self.set_timer(TYPING_PAUSE_S, self.refresh_panel)

    def _desk_changed(self, _: Any) -> None:
        self.refresh_panel()

    def _print_changed(self, update: Any) -> None:
        # Progress arrives many times a second while a badge is sending; only a job's state matters here.
        if getattr(update, "progress", None) is not None or self._print_pending:
            return
        self._print_pending = True
        self.set_timer(PRINT_COALESCE_S, self._print_settled)

    def _print_settled(self) -> None:
        self._print_pending = False
        self.refresh_panel()

    def refresh_panel(self) -> None:
        self._render_timer = None
        body = self.query_one("#panel-body", Static)
        desk = getattr(self.app, "desk", None)
        person = self.person
        if person is None or desk is None:
            body.update(Text("Search for someone to see their details here.", style="dim italic"))
            return
        event = desk.station.event()
        tz = event["timezone"] if event else "UTC"
        history = desk.station.history(person.id)
        badges = desk.printing.badges_printed(person.id)
        body.update(panel_text(person, history, badges, tz, self.reprint_key))
