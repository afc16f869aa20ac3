"""The line at the bottom of every screen: connection, outbox, notices waiting for this person, printer, and
"changed on another desk"."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from focusdesk.tui.connection import ago, connection_text
from printers.errors import PrinterState

_PRINTER_STYLE = {PrinterState.READY: "green", PrinterState.PRINTING: "green", PrinterState.LOW_BATTERY: "yellow"}


class StatusBar(Static):
    """Repaints when the desk or the printer changed (the app's signals), and every few seconds for "ago"."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.app.desk_changed.subscribe(self, self._changed)  # type: ignore[attr-defined]
        self.app.print_changed.subscribe(self, self._changed)  # type: ignore[attr-defined]
        self.set_interval(5, self.refresh_status)
        self.refresh_status()

    def _changed(self, _: Any) -> None:
        self.refresh_status()

    def refresh_status(self) -> None:
        self.update(self.render_status())

    def render_status(self) -> Text:
        desk = getattr(self.app, "desk", None)
        text = Text(no_wrap=True, overflow="ellipsis")
        if desk is None:
            return text.append("Not signed in")
        status = desk.station.status()
        text.append_text(connection_text(status))
        text.append(f"  Queue {status.queued}", style="bold yellow" if status.queued else "")
        if status.stuck:
            text.append(f"  Stuck {status.stuck}", style="bold red")
        if status.attention:
            text.append(f"  ⚠ {status.attention} need attention", style="bold red")
        waiting = desk.station.notices.unacknowledged()  # highest priority first
        if waiting:
            text.append(
                f"  ✉ {len(waiting)} to acknowledge (F5)",
                style="bold red" if waiting[0].priority == "high" else "bold yellow",
            )
        text.append("  ·  ")
        text.append_text(self._printer_text(desk))
        text.append(f"  ·  synced {ago(status.last_sync_at)}", style="dim")
        return text

    def _printer_text(self, desk: Any) -> Text:
        queue = desk.printing
        target = queue.printer()
        if target is None:
            return Text("No printer (F2)", style="yellow")
        state = queue.printer_status.state if queue.printer_status else None
        label = state.value.replace("_", " ") if state else "…"
        out = Text(f"Printer {target.model.name}: {label}", style=_PRINTER_STYLE.get(state, "yellow") if state else "")
        pending, failed = queue.pending_count(), queue.failed_count()
        if pending:
            out.append(f" ({pending} to print)")
        if failed:
            out.append(f" {failed} failed", style="bold red")
        return out
