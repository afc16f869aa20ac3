"""The Sync screen (F3): is this desk talking to the server, what is still to send, and what needs a person.

Shows the connection (live / polling / reconnecting / offline / signed out) with the last problem in
words, the queue and stuck counts, the clock offset against the server, when the desk last synced, and
the needs-attention items with the server's reason. Two intents: "retry now" (cuts the sync loop's
backoff short) and "discard" the highlighted item (after a confirmation). Everything shown is read from
``app.desk.station``; the screen repaints on ``app.desk_changed`` and every second for the "ago".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static

from focusdesk.station.model import StationStatus, StuckCommand
from focusdesk.station.outbox import STUCK_AFTER_ATTEMPTS
from focusdesk.tui.commands import ScreenCommands
from focusdesk.tui.connection import ago, connection_text
from focusdesk.tui.dialogs.confirm import ConfirmDialog
from focusdesk.tui.widgets.attention_list import AttentionList
from focusdesk.tui.widgets.status_bar import StatusBar


def clock_text(status: StationStatus) -> Text:
    if status.clock_error_s is None:
        if status.clock_offset_s:
            return Text(f"{status.clock_offset_s:+.3f} s (from the last run; not measured yet)", style="yellow")
        return Text("not measured yet", style="dim")
    text = Text(f"{status.clock_offset_s:+.3f} s ± {status.clock_error_s:.3f}")
    text.append("  (server time minus this computer's)", style="dim")
    return text


def queue_text(status: StationStatus) -> Text:
    if not status.queued:
        return Text("all sent", style="green")
    text = Text(f"{status.queued} waiting to be sent", style="bold yellow")
    if status.stuck:
        text.append(f" · {status.stuck} stuck (failed {STUCK_AFTER_ATTEMPTS}+ times; still retrying)", style="bold red")
    return text


def stuck_text(stuck: list[StuckCommand], total: int) -> Text:
    """The oldest stuck commands with why they fail; they stay queued (the server needs every number in
    order), so the way out is the network or the server coming back — and "retry now"."""
    text = Text()
    for i, command in enumerate(stuck):
        if i:
            text.append("\n")
        text.append(f"#{command.cmd_seq} {command.type} {command.label}".rstrip(), style="bold")
        text.append(f" · {command.attempts} attempts · {command.last_error or 'no answer'}", style="red")
    if total > len(stuck):
        text.append(f"\n… and {total - len(stuck)} more", style="dim")
    return text


class SyncCommands(ScreenCommands):
    """The Sync screen's actions in the command palette."""

    def commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        screen = self.screen
        if not isinstance(screen, SyncScreen):
            return []
        return [
            ("Sync: retry now", "Send the queue and reconnect now instead of waiting (r)", screen.action_retry),
            ("Sync: discard the highlighted item", "Discard a needs-attention item (d)", screen.action_discard),
        ]


class SyncScreen(Screen[None]):
    DEFAULT_CSS = """
    SyncScreen #sync-summary-box {
        height: auto;
        border: round $primary 60%;
        border-title-style: bold;
        padding: 0 1;
    }
    SyncScreen #sync-summary { height: auto; }
    """
    BINDINGS = [
        Binding(
            "r", "retry", "Retry now", id="sync.retry", tooltip="Send the queue and reconnect now instead of waiting"
        ),
        Binding(
            "d,delete",
            "discard",
            "Discard",
            id="sync.dismiss",
            tooltip="Discard the highlighted needs-attention item (asks first)",
        ),
    ]
    COMMANDS = {SyncCommands}
    AUTO_FOCUS = "#sync-attention"

    def compose(self) -> ComposeResult:
        with Vertical(id="sync-summary-box") as box:
            box.border_title = "Sync"
            yield Static(id="sync-summary")
        yield AttentionList(id="sync-attention")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.app.desk_changed.subscribe(self, self._desk_changed)  # type: ignore[attr-defined]
        self.set_interval(1.0, self._tick)
        self.refresh_sync()

    def on_screen_resume(self) -> None:
        self.refresh_sync()

    # While another mode is shown this screen stays mounted; it catches up when it is shown again.
    def _tick(self) -> None:
        if self.is_current:
            self.refresh_sync()

    def _desk_changed(self, _: Any) -> None:
        if self.is_current:
            self.refresh_sync()

    @property
    def attention(self) -> AttentionList:
        return self.query_one("#sync-attention", AttentionList)

    def refresh_sync(self) -> None:
        desk = getattr(self.app, "desk", None)
        summary = self.query_one("#sync-summary", Static)
        if desk is None:
            summary.update(Text("Not signed in", style="bold red"))
            return
        status = desk.station.status()
        summary.update(self._summary(desk, status))
        attention = self.attention
        items = desk.station.attention()
        if attention.show(items, desk.station.get):
            self.refresh_bindings()
        attention.border_title = f"Needs attention ({len(items)})"
        attention.border_subtitle = "d discard · r retry now" if items else "r retry now"

    def _summary(self, desk: Any, status: StationStatus) -> Table:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row("Connection", connection_text(status, long=True))
        event = desk.station.event() or {}
        where = Text(desk.api.base_url)
        where.append(f" · {event.get('name') or self.app.context.config.event_name or '—'}")  # type: ignore[attr-defined]
        where.append(f" · {desk.station.station_name}", style="dim")
        grid.add_row("Server", where)
        problem = Text(status.problem, style="red") if status.problem else Text("none", style="dim")
        grid.add_row("Last problem", problem)
        grid.add_row("Queue", queue_text(status))
        if status.stuck:
            grid.add_row("Stuck", stuck_text(self.app.desk.station.stuck_commands(limit=5), status.stuck))  # type: ignore[attr-defined]
        grid.add_row("Clock offset", clock_text(status))
        if status.last_sync_at is None:
            last = Text("never", style="dim")
        else:
            last = Text(time.strftime("%H:%M:%S", time.localtime(status.last_sync_at)))
            last.append(f" ({ago(status.last_sync_at)})", style="dim")
        grid.add_row("Last sync", last)
        return grid

    # -- actions ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "discard" and self.is_mounted:
            return True if self.attention.highlighted_item is not None else None
        return True

    @on(OptionList.OptionHighlighted, "#sync-attention")
    def _highlighted(self) -> None:
        self.refresh_bindings()

    def action_retry(self) -> None:
        desk = getattr(self.app, "desk", None)
        if desk is None:
            return
        status = desk.station.status()
        if status.connection == "signed_out":
            self.notify(
                "This desk is signed out: quit (Ctrl+Q) and start FocusDesk again to sign in. Queued check-ins are kept.",
                title="Cannot retry",
                severity="error",
            )
            return
        desk.sync.wake()
        what = f"sending {status.queued} queued" if status.queued else "reconnecting"
        self.notify(f"Trying again now ({what}).", title="Retry")

    def action_discard(self) -> None:
        item = self.attention.highlighted_item
        if item is None:
            self.notify("Nothing highlighted to discard.", severity="warning")
            return
        desk = self.app.desk  # type: ignore[attr-defined]

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            desk.station.dismiss(item.id)
            self.refresh_sync()
            self.notify("Discarded.", title="Needs attention")

        self.app.push_screen(
            ConfirmDialog(
                "Discard this item?",
                detail=f"{item.message}\n\nIt is only removed from this list; nothing is sent to the server.",
                yes="Discard",
                no="Keep",
                default=False,
                title="Needs attention",
            ),
            answered,
        )
