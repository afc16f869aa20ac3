"""The Operations board (F9; organizers, technicians, admins): every desk of the event and its printer, problems
first — which desks are offline and for how long, what each has queued or stuck, whose clock is off, which
printer is out of paper — with the check-in rate over the last 15 minutes and the backend's health.

The board is the server's (``GET /events/{id}/operations``, station/operations.py): it is about the other
desks, which only the server sees. It is read every ``REFRESH_S`` while the screen is seen, at once when a
live change about a desk arrives (the app's ``desks_changed`` signal) and on ``r``; one read at a time,
in a worker, so a slow server never holds the keys. When the board cannot be read the screen says why and
keeps the last board, dimmed, "as of" when it was read. Enter on a desk shows its recent history.

The screen reads through a :class:`BoardSource`, by default the desk's server; tests and snapshots hand it
a fixed board. "Ago" and "for 3 min" are counted from the desk's server clock, so a frozen clock draws the
same screen every time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Sparkline, Static

from focusdesk.station.api import Transient
from focusdesk.station.operations import Board, BoardRow, BoardUnavailable, fetch_board, fetch_history
from focusdesk.tui.commands import ScreenCommands
from focusdesk.tui.dialogs.desk_history import DeskHistoryDialog
from focusdesk.tui.room_controls import showing
from focusdesk.tui.widgets.board_look import (
    COLUMNS,
    checked_in_text,
    desk_cells,
    desk_details,
    health_text,
    hhmmss,
    rate_caption,
    summary_text,
    unavailable_text,
)
from focusdesk.tui.widgets.status_bar import StatusBar

log = logging.getLogger(__name__)


class BoardSource(Protocol):
    """Where the screen reads the board and a desk's history; both raise :class:`BoardUnavailable`."""

    async def board(self) -> Board: ...

    async def history(self, station_id: str) -> list[dict[str, Any]]: ...


class ServerBoard:
    """The board from this desk's server, through the sync loop's client (None while no loop runs)."""

    def __init__(self, station: Any) -> None:
        self.station = station

    def _api(self) -> Any:
        api = self.station.api
        if api is None:
            raise BoardUnavailable("this desk is not connected to its server (its sync is not running)")
        return api

    async def board(self) -> Board:
        return await fetch_board(self._api(), self.station.event_id, self.station.station_id)

    async def history(self, station_id: str) -> list[dict[str, Any]]:
        return await fetch_history(self._api(), self.station.event_id, station_id)


class OperationsCommands(ScreenCommands):
    def commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        screen = self.screen
        if not isinstance(screen, OperationsScreen):
            return []
        return [
            ("Operations: refresh now", "Read the board from the server now (r)", screen.action_refresh),
            ("Operations: desk history", "The selected desk's recent changes, from the server (Enter)",
             screen.action_history),
        ]  # fmt: skip


class OperationsScreen(Screen[None]):
    DEFAULT_CSS = """
    OperationsScreen #ops-health {
        height: auto;
        border: round $primary 60%;
        border-title-style: bold;
        padding: 0 1;
    }
    OperationsScreen.-unavailable #ops-health { border: round $error; }
    OperationsScreen #ops-rate {
        height: auto;
        border: round $accent 50%;
        border-title-style: bold;
        padding: 0 1;
    }
    OperationsScreen #ops-spark { height: 2; }
    OperationsScreen.-tall #ops-spark { height: 4; }
    OperationsScreen #ops-caption { height: 1; }
    OperationsScreen #ops-board {
        height: 1fr;
        border: round $primary 60%;
        border-title-style: bold;
        scrollbar-size-horizontal: 1;  /* at 80 columns the board scrolls sideways: one line, not two */
    }
    OperationsScreen #ops-board:focus { border: round $primary; }
    OperationsScreen.-stale #ops-board, OperationsScreen.-stale #ops-rate > * { text-opacity: 50%; }
    OperationsScreen #ops-empty {
        height: 1fr;
        content-align: center middle;
        color: $text-muted;
        border: round $primary 60%;
        display: none;
    }
    OperationsScreen.-empty #ops-empty { display: block; }
    OperationsScreen.-empty #ops-board { display: none; }
    """
    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="operations.refresh", tooltip="Read the board from the server now"),
        Binding("enter,h", "history", "History", id="operations.history", tooltip="The selected desk's recent changes"),
    ]
    COMMANDS = {OperationsCommands}
    REFRESH_S = 2.0

    def __init__(self, source: BoardSource | None = None) -> None:
        """``source``: where the board comes from (None: this desk's server)."""
        super().__init__()
        self._source = source
        self.board: Board | None = None  # the last board read
        self.problem: str | None = None  # why the last read failed; None when it worked
        self._unreachable = False
        self._reading = False
        self._again = False
        self._keys: list[str] = []

    def compose(self) -> ComposeResult:
        health = Static(id="ops-health")
        health.border_title = "Backend"
        yield health
        with Vertical(id="ops-rate") as rate:
            rate.border_title = "Check-ins"
            yield Sparkline([], id="ops-spark")
            yield Static(id="ops-caption")
        table: DataTable[Any] = DataTable(id="ops-board", cursor_type="row", zebra_stripes=True)
        for name in COLUMNS:
            table.add_column(name, key=name)
        yield table
        yield Static("", id="ops-empty", markup=False)
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.app.desks_changed.subscribe(self, self._desks_changed)  # type: ignore[attr-defined]
        self.set_interval(self.REFRESH_S, self._tick)
        self._paint()
        self.refresh_board()
        self.table.focus()

    def on_screen_resume(self) -> None:
        self.refresh_board()

    def on_resize(self, event: events.Resize) -> None:
        # A taller terminal gives the check-in rate more lines; at 24 the board keeps them.
        self.set_class(event.size.height >= 34, "-tall")

    @property
    def source(self) -> BoardSource:
        if self._source is None:
            self._source = ServerBoard(self.app.desk.station)  # type: ignore[attr-defined]
        return self._source

    @property
    def station(self) -> Any:
        return self.app.desk.station  # type: ignore[attr-defined]

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#ops-board", DataTable)

    @property
    def desk_ids(self) -> list[str]:
        """The desks in board order (tests read it)."""
        return list(self._keys)

    @property
    def selected(self) -> BoardRow | None:
        """The highlighted desk's row of the board shown, or None."""
        cursor = self.table.cursor_row
        if self.board is None or cursor is None or not 0 <= cursor < len(self.board.rows):
            return None
        return self.board.rows[cursor]

    # -- reading the board: one read at a time, never on the UI's time -------------------------------

    def _tick(self) -> None:
        if showing(self):
            self.refresh_board()

    def _desks_changed(self, _: Any) -> None:
        if showing(self):
            self.refresh_board()

    def refresh_board(self) -> None:
        """Read the board now; while a read is out, one more follows it (never two at once)."""
        if self._reading:
            self._again = True
            return
        self._reading = True
        self._read()

    @work(group="operations-board", exit_on_error=False)
    async def _read(self) -> None:
        try:
            while True:
                self._again = False
                try:
                    self.board, self.problem = await self.source.board(), None
                except BoardUnavailable as exc:
                    self.problem, self._unreachable = str(exc), isinstance(exc.__cause__, Transient)
                except Exception as exc:  # a bug must not freeze the board without a word
                    log.exception("operations board")
                    self.problem, self._unreachable = f"could not read the board: {exc}", False
                self._paint()
                if not self._again or not self.is_attached:
                    return
        finally:
            self._reading = False

    # -- painting ------------------------------------------------------------------------------------

    def _paint(self) -> None:
        station = self.station
        now, tz = station.server_now(), station.timezone()
        board, problem = self.board, self.problem
        self.set_class(problem is not None, "-unavailable")
        self.set_class(problem is not None and board is not None, "-stale")
        health = self.query_one("#ops-health", Static)
        if problem is not None:
            health.update(unavailable_text(problem, self._unreachable, board, tz))
        elif board is not None:
            health.update(health_text(board.health, now, tz))
        else:
            health.update("Reading the board…")
        self._paint_rate(board)
        self._paint_rows(board, now)
        table = self.table
        if board is None:
            table.border_title, table.border_subtitle = "Desks", ""
            return
        table.border_title = summary_text(board)
        stale = f"as of {hhmmss(board.server_time, tz)} · " if problem is not None else ""
        table.border_subtitle = f"{stale}◀ this desk · ↑↓ choose · Enter history · r refresh"

    def _paint_rate(self, board: Board | None) -> None:
        rate = self.query_one("#ops-rate", Vertical)
        values = board.checkins_per_minute if board is not None else []
        self.query_one("#ops-spark", Sparkline).data = values
        self.query_one("#ops-caption", Static).update(rate_caption(values))
        rate.border_title = checked_in_text(board) if board is not None else "Check-ins"

    def _paint_rows(self, board: Board | None, now: float) -> None:
        rows = board.rows if board is not None else []
        self.set_class(board is not None and not rows, "-empty")
        if board is not None and not rows:
            self.query_one("#ops-empty", Static).update(
                "No desk has reported yet: desks report as soon as they connect to the server."
            )
        table = self.table
        keys = [row.desk.station_id for row in rows]
        cells = [desk_cells(row, now) for row in rows]
        if keys == self._keys:
            # Same desks in the same order: only what changed is redrawn, the cursor stays put.
            for key, row_cells in zip(keys, cells, strict=True):
                for column, value in zip(COLUMNS, row_cells, strict=True):
                    if table.get_cell(key, column) != value:
                        table.update_cell(key, column, value, update_width=True)
            return
        keep = self._keys[table.cursor_row] if self._keys and 0 <= table.cursor_row < len(self._keys) else None
        self._keys = keys
        table.clear()
        for key, row_cells in zip(keys, cells, strict=True):
            table.add_row(*row_cells, key=key)
        if keep in keys:
            table.move_cursor(row=keys.index(keep), animate=False)

    # -- the keys -----------------------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.refresh_board()

    @on(DataTable.RowSelected, "#ops-board")
    def _selected(self) -> None:
        self.action_history()

    def action_history(self) -> None:
        row = self.selected
        if row is None:
            self.notify("No desk selected.", severity="warning")
            return
        source, station_id = self.source, row.desk.station_id

        async def load() -> list[dict[str, Any]]:
            return await source.history(station_id)

        station = self.station
        details = desk_details(row, station.server_now())
        self.app.push_screen(DeskHistoryDialog(row.desk.name, load, station.timezone(), details))
