"""The FocusDesk app: three modes (Desk, Printers, Sync) over one signed-in desk.

Thin on purpose: screens render the desk's state and send intents to ``focusdesk.station.desk.Desk``;
the long-lived work (sync loop, printer queue) runs as workers on the app, so screens come and go
without stopping them. Station and printer changes reach widgets through two signals, coalesced so a burst
of live changes from other desks repaints once.
"""

from __future__ import annotations

import logging
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.signal import Signal

from focusdesk.station.engine import Update
from focusdesk.station.printing import PrintUpdate
from focusdesk.tui.context import DeskContext
from focusdesk.tui.screens.desk import DeskScreen
from focusdesk.tui.screens.printers import PrintersScreen
from focusdesk.tui.screens.signin import SignInScreen
from focusdesk.tui.screens.sync import SyncScreen

log = logging.getLogger(__name__)

# Live changes can arrive hundreds a second during a rush; the screen repaints at most this often.
COALESCE_S = 0.05


class FocusDeskApp(App[None]):
    TITLE = "FocusDesk"
    MODES = {"desk": DeskScreen, "printers": PrintersScreen, "sync": SyncScreen}
    BINDINGS = [
        Binding("f1", "switch_mode('desk')", "Desk", id="mode.desk", tooltip="Check people in"),
        Binding("f2", "switch_mode('printers')", "Printers", id="mode.printers", tooltip="Scan, pair, test, queue"),
        Binding("f3", "switch_mode('sync')", "Sync", id="mode.sync", tooltip="Connection, queue, needs attention"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", tooltip="Close the desk (queued check-ins are kept)"),
    ]

    def __init__(self, context: DeskContext) -> None:
        super().__init__()
        self.context = context
        # Published (coalesced) after the station's replica, outbox or status changed.
        self.desk_changed: Signal[Update | None] = Signal(self, "desk_changed")
        # Published after a print job or the printer changed; carries the update (progress while sending).
        self.print_changed: Signal[PrintUpdate] = Signal(self, "print_changed")
        self._desk_pending = False
        self._attention_seen: set[int] = set()

    @property
    def desk(self) -> Any:
        """The signed-in ``Desk`` (screens only run once there is one)."""
        return self.context.desk

    async def on_mount(self) -> None:
        if self.context.virtual_world is not None:
            await self.context.virtual_world.start()
        if self.context.desk is not None:
            await self.start_desk()
        else:
            self.push_screen(SignInScreen(), self._signed_in)

    async def _signed_in(self, _: object) -> None:
        await self.start_desk()

    async def start_desk(self) -> None:
        desk = self.context.desk
        assert desk is not None
        self._attention_seen = {item.id for item in desk.station.attention()}
        desk.station.listeners.append(self._on_station_update)
        desk.printing.listeners.append(self._on_print_update)
        if self.context.autostart:
            self.run_worker(desk.start(), name="desk", group="desk", exit_on_error=False)
        await self.switch_mode("desk")
        # The desk is on screen; now build the search index (the first keystroke would build it anyway).
        self.call_after_refresh(desk.station.warm_index)

    def _on_station_update(self, update: Update) -> None:
        if not self._desk_pending:
            self._desk_pending = True
            self.set_timer(COALESCE_S, self._publish_desk)

    def _publish_desk(self) -> None:
        self._desk_pending = False
        self._announce_attention()
        self.desk_changed.publish(None)

    def _announce_attention(self) -> None:
        """A check-in the server refused, or a conflict that went against this desk, is said at once on
        whatever screen the person is on (and stays listed on the Sync screen)."""
        desk = self.context.desk
        if desk is None:
            return
        for item in desk.station.attention():
            if item.id in self._attention_seen:
                continue
            self._attention_seen.add(item.id)
            title = "Changed on another desk" if item.kind == "conflict" else "Needs attention"
            self.notify(f"{item.message} — see Sync (F3).", title=title, severity="warning", timeout=10)

    def _on_print_update(self, update: PrintUpdate) -> None:
        self.print_changed.publish(update)

    def get_system_commands(self, screen: Screen[Any]):  # type: ignore[no-untyped-def]
        yield from super().get_system_commands(screen)
        yield SystemCommand("Desk", "Check people in (F1)", lambda: self.run_action("switch_mode('desk')"))
        yield SystemCommand(
            "Printers", "Scan, pair and test printers (F2)", lambda: self.run_action("switch_mode('printers')")
        )
        yield SystemCommand(
            "Sync", "Connection, queue and needs-attention items (F3)", lambda: self.run_action("switch_mode('sync')")
        )

    async def action_quit(self) -> None:
        desk = self.context.desk
        if desk is not None:
            await desk.stop()
        if self.context.virtual_world is not None:
            await self.context.virtual_world.stop()
        self.exit()
