"""The check-in desk: one search box that never loses the focus, the matches, and the person's panel.

Type three letters or scan a badge, press Enter: the person is checked in and their badge is queued
(``Desk.check_in`` does both). A USB scanner types the QR secret and Enter, so Enter first asks the
replica whether the box holds an exact secret. Everything here is an intent sent to the ``Desk``; what
the screen shows is read back from its station, and re-read whenever ``app.desk_changed`` says the
station changed (another desk's check-in, a sync).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, OptionList, Static

from focusdesk.domain.errors import DomainError, ValidationFailed
from focusdesk.station.model import ActionResult
from focusdesk.tui.commands import ScreenCommands
from focusdesk.tui.dialogs.confirm import ConfirmDialog
from focusdesk.tui.dialogs.walk_in import WalkInDialog
from focusdesk.tui.widgets.attendee_panel import AttendeePanel
from focusdesk.tui.widgets.counters import Counters
from focusdesk.tui.widgets.results import ResultsList
from focusdesk.tui.widgets.search_box import SearchBox
from focusdesk.tui.widgets.status_bar import StatusBar

RESULT_LIMIT = 50
HINT = "Type a name, email or number — or scan a badge.\nEnter checks in · ctrl+n walk-in · ctrl+z undo"
REPRINT_KEY = "ctrl+r"


def _looks_like_code(text: str) -> bool:
    """A scanned secret is one long word; a typed name usually is not."""
    return len(text) >= 12 and not any(c.isspace() for c in text)


class DeskCommands(ScreenCommands):
    """The desk's actions in the command palette (ctrl+p)."""

    def commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        screen = self.screen
        assert isinstance(screen, DeskScreen)
        return [
            ("Check in highlighted person", "Check in whoever is highlighted (Enter)", screen.action_check_in),
            ("Undo last check-in", "Take back this desk's last check-in (ctrl+z)", screen.action_undo),
            ("Walk-in registration", "Register someone new and check them in (ctrl+n)", screen.action_walk_in),
            ("Reprint badge", f"Print another badge for the person shown ({REPRINT_KEY})", screen.action_reprint),
            ("Clear search", "Empty the search box (Escape)", screen.action_clear),
        ]


class DeskScreen(Screen[None]):
    """What front-desk staff live in: search, Enter, next."""

    COMMANDS = {DeskCommands}
    DEFAULT_CSS = """
    DeskScreen #desk-top { height: 1; padding: 0 1; background: $panel; }
    DeskScreen #desk-event { width: 1fr; text-style: bold; }
    DeskScreen #search { margin: 0 0; border: tall $accent; }
    DeskScreen #search:focus { border: tall $accent; }
    DeskScreen #banner { height: auto; padding: 0 1; margin: 0 1; display: none; }
    DeskScreen #banner.-shown { display: block; }
    DeskScreen #banner.-success { background: $success 20%; border-left: outer $success; }
    DeskScreen #banner.-info { background: $primary 15%; border-left: outer $primary; }
    DeskScreen #banner.-warning {
        background: $warning; color: auto 95%; text-style: bold; padding: 1 2; border-left: outer $error;
    }
    DeskScreen #banner.-error {
        background: $error 25%; border-left: outer $error; text-style: bold; padding: 1 2;
    }
    DeskScreen #desk-body { height: 1fr; }
    DeskScreen #results { width: 1fr; }
    DeskScreen #panel { width: 36%; min-width: 28; max-width: 60; }
    """

    BINDINGS = [
        Binding(
            "enter", "check_in", "Check in", id="desk.check_in", tooltip="Check in the scanned or highlighted person"
        ),
        Binding("ctrl+z", "undo", "Undo", id="desk.undo", tooltip="Take back this desk's last check-in"),
        Binding("ctrl+n", "walk_in", "Walk-in", id="desk.walk_in", tooltip="Register someone new and check them in"),
        Binding(REPRINT_KEY, "reprint", "Reprint", id="desk.reprint", tooltip="Print another badge (asks first)"),
        Binding("escape", "clear", "Clear", id="desk.clear", show=False, tooltip="Empty the search box"),
        Binding("up", "cursor('up')", "Previous", id="desk.up", show=False),
        Binding("down", "cursor('down')", "Next", id="desk.down", show=False),
        Binding("pageup", "cursor('page_up')", "Page up", id="desk.page_up", show=False),
        Binding("pagedown", "cursor('page_down')", "Page down", id="desk.page_down", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.last_result: ActionResult | None = None  # what the banner shows (benchmarks wait for it)
        self._last_acted: str | None = None  # the panel shows them while the search box is empty
        self._tz = "UTC"
        self._event_words = ""

    # -- layout ---------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="desk-top"):
            yield Label(id="desk-event")
            yield Counters(id="counters")
        yield SearchBox(placeholder="Search name, email, company or number — or scan a badge", id="search")
        yield Static(id="banner", markup=False)
        with Horizontal(id="desk-body"):
            yield ResultsList(id="results")
            yield AttendeePanel(id="panel", reprint_key=REPRINT_KEY)
        yield StatusBar()
        yield Footer()

    @property
    def desk(self) -> Any:
        return self.app.desk  # type: ignore[attr-defined]

    @property
    def search_box(self) -> Input:
        return self.query_one("#search", Input)

    @property
    def results(self) -> ResultsList:
        return self.query_one("#results", ResultsList)

    @property
    def panel(self) -> AttendeePanel:
        return self.query_one("#panel", AttendeePanel)

    def on_mount(self) -> None:
        # The replica's search index is hundreds of thousands of long-lived objects; without this, every full
        # garbage collection walks all of them (80-150 ms at 50,000 attendees) and lands on some keystroke.
        gc.freeze()
        self.app.desk_changed.subscribe(self, self._desk_changed)  # type: ignore[attr-defined]
        self._read_event()
        self._search(self.search_box.value)
        self.refocus()

    def on_screen_resume(self) -> None:
        self.refocus()

    def refocus(self) -> None:
        self.search_box.focus()

    def _read_event(self) -> None:
        event = self.desk.station.event() if self.desk is not None else None
        self._tz = event["timezone"] if event else "UTC"
        config = self.app.context.config  # type: ignore[attr-defined]
        name = (event or {}).get("name") or config.event_name or "FocusDesk"
        words = f"{name}  ·  {config.station_name}" if config.station_name else name
        if words != self._event_words:  # a label update re-lays out the screen: only when it changed
            self._event_words = words
            label = Text(name, style="bold")
            if config.station_name:
                label.append(f"  ·  {config.station_name}", style="dim")
            self.query_one("#desk-event", Label).update(label)

    def on_resize(self) -> None:
        self.query_one(Counters).refresh_counts()  # the bar comes and goes with the width

    # -- searching ------------------------------------------------------------------------------------

    @on(Input.Changed, "#search")
    def _query_changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    def _search(self, query: str, keep: str | None = None) -> None:
        query = query.strip()
        results = self.results
        if not query:
            results.show_hint(HINT)
            self.panel.show(self._last_acted)
            return
        people = self.desk.station.search(query, limit=RESULT_LIMIT)
        if people:
            results.show_people(people, self._tz, keep=keep)
        else:
            results.show_hint(f"Nobody matches “{query}”. Try part of the name or the email — or ctrl+n for a walk-in.")
            self.panel.show(None)

    @on(OptionList.OptionHighlighted, "#results")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # Highlight messages are delivered after the fact: typing fast, one can arrive for a list that a
        # later keystroke already replaced (even by "nobody matches"). Only the current highlight counts.
        current = self.results.highlighted_person
        if current is not None and current.id == event.option_id:
            self.panel.show(event.option_id)

    def _desk_changed(self, _: Any) -> None:
        # Another desk (or a sync) changed the replica: re-read, keeping the highlight on the same person.
        self._read_event()
        current = self.results.highlighted_person
        self._search(self.search_box.value, keep=current.id if current else None)

    def action_cursor(self, where: str) -> None:
        results = self.results
        {
            "up": results.action_cursor_up,
            "down": results.action_cursor_down,
            "page_up": results.action_page_up,
            "page_down": results.action_page_down,
        }[where]()

    def action_clear(self) -> None:
        self.search_box.value = ""
        self.refocus()

    # -- checking in ----------------------------------------------------------------------------------

    @on(Input.Submitted, "#search")
    def _submitted(self) -> None:
        self.action_check_in()

    def action_check_in(self) -> None:
        text = self.search_box.value.strip()
        station = self.desk.station
        try:
            if text and station.find_by_qr(text) is not None:
                result = self.desk.check_in_by_qr(text)
            elif (person := self.results.highlighted_person) is not None:
                result = self.desk.check_in(person.id)
            elif text and _looks_like_code(text):
                result = self.desk.check_in_by_qr(text)  # says this code belongs to nobody
            elif text:
                self.show_banner(f"✗ Nobody matches “{text}” — ctrl+n registers a walk-in", "error")
                return
            else:
                return
        except DomainError as exc:
            self.show_error(exc.message)
            return
        self._acted(result, badge=result.already_in is None)

    def _acted(self, result: ActionResult, *, badge: bool) -> None:
        """After an action: banner, box cleared and focused, the person in the panel."""
        self.last_result = result
        self._last_acted = result.attendee.id
        if result.already_in is not None:
            self.show_banner(f"⚠ {result.message} — no new badge ({REPRINT_KEY} reprints)", "warning")
        elif badge:
            self.show_banner(f"✓ {result.message} · {self._badge_words()}", "success")
        else:
            self.show_banner(f"↶ {result.message}", "info")
        box = self.search_box
        if box.value:
            box.value = ""  # the Changed message shows the hint
        self.panel.show(result.attendee.id, now=True)
        self.refocus()

    def _badge_words(self) -> str:
        target = self.desk.printing.printer()
        if target is None:
            return "no printer paired — F2 to pair one (the badge waits in the queue)"
        return f"badge queued on {target.model.name}"

    def show_banner(self, message: str, kind: str) -> None:
        banner = self.query_one("#banner", Static)
        banner.set_classes(f"-shown -{kind}")
        banner.update(message)

    def show_error(self, message: str) -> None:
        self.show_banner(f"✗ {message}", "error")
        self.refocus()

    def action_undo(self) -> None:
        try:
            result = self.desk.undo_last()
        except DomainError as exc:
            self.show_error(exc.message)
            return
        self._acted(result, badge=False)

    # -- walk-in --------------------------------------------------------------------------------------

    def action_walk_in(self) -> None:
        text = self.search_box.value.strip()
        values: dict[str, str] = {}
        if text and not self.results.people and not _looks_like_code(text):  # nobody matched: start with it
            values["email" if "@" in text else "name"] = text
        self.app.push_screen(WalkInDialog(values), self._walk_in_done)

    def _walk_in_done(self, fields: dict[str, str] | None) -> None:
        if fields is None:
            self.refocus()
            return
        try:
            result = self.desk.walk_in(
                name=fields.get("name", ""),
                email=fields.get("email") or None,
                company=fields.get("company", ""),
                ticket_type=fields.get("ticket_type", ""),
            )
        except ValidationFailed as exc:
            self.app.push_screen(WalkInDialog(fields, exc.problems), self._walk_in_done)
            return
        except DomainError as exc:
            self.app.push_screen(WalkInDialog(fields, message=exc.message), self._walk_in_done)
            return
        self._acted(result, badge=True)

    # -- reprint --------------------------------------------------------------------------------------

    def action_reprint(self) -> None:
        person = self.panel.person
        if person is None:
            self.app.notify("Highlight someone first, then reprint their badge.", severity="warning")
            return
        printed = self.desk.printing.badges_printed(person.id)
        already = f"{printed} badge{'s' if printed != 1 else ''} already printed at this desk. "
        status = "" if person.checked_in else f"{person.name} is NOT checked in. "
        question = f"Print another badge for {person.name}?"
        detail = f"{already}{status}Printing a badge is not admitting a person — Enter on the search box checks in."

        def answered(yes: bool | None) -> None:
            if yes:
                self._reprint(person.id, person.name)
            self.refocus()

        self.app.push_screen(ConfirmDialog(question, detail=detail, yes="Reprint", title="Reprint badge"), answered)

    def _reprint(self, attendee_id: str, name: str) -> None:
        try:
            self.desk.reprint(attendee_id)
        except LookupError as exc:
            self.show_error(str(exc))
            return
        target = self.desk.printing.printer()
        where = f"queued on {target.model.name}" if target else "queued — no printer paired, F2 to pair one"
        self.show_banner(f"↻ Reprint of {name}'s badge {where}", "info")
