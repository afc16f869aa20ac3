"""One desk on the Operations board (Enter on its row): the desk in full as the board last read it, then its
recent changes, newest first — when it came online or went offline and why, and what was wrong with it
then. Only the server keeps the history, so the dialog says "asking the server…" and then the changes — or,
when the server cannot answer, why."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from focusdesk.domain.presence import OFFLINE
from focusdesk.domain.reservations import local_datetime
from focusdesk.station.operations import BoardUnavailable
from focusdesk.tui.dialogs.framed import FramedDialog

log = logging.getLogger(__name__)

Load = Callable[[], Awaitable[list[dict[str, Any]]]]


def desk_history_text(entries: list[dict[str, Any]], tz: str) -> Text | Table:
    if not entries:
        return Text("No changes recorded yet.", style="dim")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")  # a long line wraps under itself, not under the time
    for entry in entries:
        offline = entry.get("state") == OFFLINE
        grid.add_row(
            f"{local_datetime(float(entry['at']), tz):%a %d %b %H:%M:%S}",
            Text("✕" if offline else "●", style="bold red" if offline else "green"),
            str(entry.get("summary") or entry.get("state") or "—"),
        )
    return grid


class DeskHistoryDialog(FramedDialog[None]):
    DEFAULT_CSS = """
    DeskHistoryDialog > #desk-history-box {
        width: 90;
        max-width: 98%;
        max-height: 90%;
    }
    DeskHistoryDialog #desk-history-now { height: auto; border-bottom: solid $accent 50%; margin-bottom: 1; }
    DeskHistoryDialog #desk-history-scroll { height: auto; max-height: 30; }
    DeskHistoryDialog #desk-history-body { height: auto; }
    DeskHistoryDialog #desk-history-body.-error { color: $text-error; }
    """
    BINDINGS = [Binding("escape,enter", "close", "Close", id="desk_history.close", tooltip="Back to the board")]

    def __init__(self, desk_name: str, load: Load, tz: str, now: Text | None = None) -> None:
        """``now``: the desk as the board last read it (board_look.desk_details)."""
        super().__init__()
        self.desk_name = desk_name
        self.now = now
        self.load = load
        self.tz = tz
        self.entries: list[dict[str, Any]] | None = None
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="desk-history-box", classes="dialog-box") as box:
            box.border_title = f"History of {self.desk_name}"
            box.border_subtitle = "Escape closes"
            if self.now is not None:
                yield Static(self.now, id="desk-history-now")
            with VerticalScroll(id="desk-history-scroll"):
                yield Static(Text("Asking the server…", style="italic"), id="desk-history-body")

    def on_mount(self) -> None:
        self._fetch()

    @property
    def body(self) -> str:
        return str(self.query_one("#desk-history-body", Static).content)

    @work(exclusive=True, group="desk-history", exit_on_error=False)
    async def _fetch(self) -> None:
        body = self.query_one("#desk-history-body", Static)
        try:
            self.entries = await self.load()
        except BoardUnavailable as exc:
            self._failed(f"The history needs the server: {exc}")
            return
        except Exception as exc:  # a bug must not leave "Asking the server…" on screen forever
            log.exception("history of desk %s", self.desk_name)
            self._failed(f"Could not read the history: {exc}")
            return
        body.update(desk_history_text(self.entries, self.tz))

    def _failed(self, message: str) -> None:
        self.error = message
        body = self.query_one("#desk-history-body", Static)
        body.update(Text(message))
        body.add_class("-error")

    def action_close(self) -> None:
        self.dismiss(None)
