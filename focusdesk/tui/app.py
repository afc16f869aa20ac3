"""The FocusDesk app: its modes (Desk, Printers, Sync, Rooms, Notices, Drawing, Reservations, Devices,
Operations) over one signed-in desk.

Thin on purpose: screens render the desk's state and send intents to ``focusdesk.station.desk.Desk``;
the long-lived work (sync loop, printer queue) runs as workers on the app, so screens come and go
without stopping them. Station and printer changes reach widgets through signals, coalesced so a burst
of live changes from other desks repaints once; bookings and devices have their own, so a rush of
check-ins does not make the Reservations and Devices screens re-read the station.

``FocusDeskApp(context, room="Hall A")`` is a room display (``focusdesk room NAME``): the desk opens on
that room's focus view and stays there — no mode keys, nothing else to wander into.
"""

from __future__ import annotations

import logging
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.signal import Signal

from focusdesk.domain.roles import OPERATIONS_READ
from focusdesk.station.engine import Update
from focusdesk.station.printing import PrintUpdate
from focusdesk.tui.context import DeskContext
from focusdesk.tui.notice_alerts import NoticeAlerts
from focusdesk.tui.screens.desk import DeskScreen
from focusdesk.tui.screens.devices import DevicesScreen
from focusdesk.tui.screens.drawing import DrawingScreen
from focusdesk.tui.screens.notices import NoticesScreen
from focusdesk.tui.screens.operations import OperationsScreen
from focusdesk.tui.screens.printers import PrintersScreen
from focusdesk.tui.screens.reservations import ReservationsScreen
from focusdesk.tui.screens.room_focus import RoomFocusScreen
from focusdesk.tui.screens.rooms import RoomsScreen
from focusdesk.tui.screens.signin import SignInScreen
from focusdesk.tui.screens.sync import SyncScreen

log = logging.getLogger(__name__)

# Live changes can arrive hundreds a second during a rush; the screen repaints at most this often.
COALESCE_S = 0.05


class FocusDeskApp(App[None]):
    TITLE = "FocusDesk"
    MODES = {
        "desk": DeskScreen,
        "printers": PrintersScreen,
        "sync": SyncScreen,
        "rooms": RoomsScreen,
        "notices": NoticesScreen,
        "drawing": DrawingScreen,
        "reservations": ReservationsScreen,
        "devices": DevicesScreen,
        "operations": OperationsScreen,
    }
    BINDINGS = [
        Binding("f1", "switch_mode('desk')", "Desk", id="mode.desk", tooltip="Check people in"),
        Binding("f2", "switch_mode('printers')", "Printers", id="mode.printers", tooltip="Scan, pair, test, queue"),
        Binding("f3", "switch_mode('sync')", "Sync", id="mode.sync", tooltip="Connection, queue, needs attention"),
        Binding("f4", "switch_mode('rooms')", "Rooms", id="mode.rooms", tooltip="Room timers and occupancy"),
        Binding("f5", "switch_mode('notices')", "Notices", id="mode.notices", tooltip="Notices to staff, acknowledge"),
        Binding("f6", "switch_mode('drawing')", "Drawing", id="mode.drawing", tooltip="Prize draws and their results"),
        Binding(
            "f7", "switch_mode('reservations')", "Bookings", id="mode.reservations", tooltip="Book rooms and devices"
        ),
        Binding("f8", "switch_mode('devices')", "Devices", id="mode.devices", tooltip="Device status board"),
        Binding(
            "f9",
            "switch_mode('operations')",
            "Operations",
            id="mode.operations",
            tooltip="Desks, printers, check-in rate, backend health",
        ),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", tooltip="Close the desk (queued check-ins are kept)"),
    ]

    def __init__(self, context: DeskContext, *, room: str | None = None) -> None:
        """``room``: show only the focus view of the room with this name (a display in the room)."""
        super().__init__()
        self.context = context
        self.room_name = room
        # Published (coalesced) after the station's replica, outbox or status changed.
        self.desk_changed: Signal[Update | None] = Signal(self, "desk_changed")
        # Published after a print job or the printer changed; carries the update (progress while sending).
        self.print_changed: Signal[PrintUpdate] = Signal(self, "print_changed")
        # Published (coalesced, with desk_changed) after resources, bookings or device status changed.
        self.bookings_changed: Signal[None] = Signal(self, "bookings_changed")
        # Published (coalesced, with desk_changed) after a live change about a desk's presence: the
        # Operations board reads the server again at once.
        self.desks_changed: Signal[None] = Signal(self, "desks_changed")
        self._desk_pending = False
        self._attention_seen: set[int] = set()
        self._notice_alerts = NoticeAlerts()
        self._notices_changed = False
        self._bookings_changed = False
        self._desks_changed = False

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
        self._notice_alerts.start(desk.station.notices.list(), desk.station.server_now())
        desk.station.listeners.append(self._on_station_update)
        desk.printing.listeners.append(self._on_print_update)
        if self.context.autostart:
            self.run_worker(desk.start(), name="desk", group="desk", exit_on_error=False)
        if self.room_name is not None:
            name = self.room_name
            self.add_mode("room", lambda: RoomFocusScreen(name=name, room_only=True))
            await self.switch_mode("room")
        else:
            await self.switch_mode("desk")
        self._announce_notices()  # high-priority notices still waiting from before this start, once
        # The desk is on screen; now build the search index (the first keystroke would build it anyway).
        self.call_after_refresh(desk.station.warm_index)

    def _on_station_update(self, update: Update) -> None:
        # Notices are re-read only when a notice changed (not on every check-in of a rush).
        touched = update.touched
        self._notices_changed |= touched.notices or touched.everything
        self._bookings_changed |= touched.reservations or touched.everything
        self._desks_changed |= touched.desks or touched.everything
        if not self._desk_pending:
            self._desk_pending = True
            self.set_timer(COALESCE_S, self._publish_desk)

    def _publish_desk(self) -> None:
        self._desk_pending = False
        self._announce_attention()
        if self._notices_changed:
            self._notices_changed = False
            self._announce_notices()
        self.desk_changed.publish(None)
        if self._bookings_changed:
            self._bookings_changed = False
            self.bookings_changed.publish(None)
        if self._desks_changed:
            self._desks_changed = False
            self.desks_changed.publish(None)

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

    def _announce_notices(self) -> None:
        """A new high-priority notice for this person rings and pops up on whatever screen is showing."""
        desk = self.context.desk
        # A room display faces the audience: staff notices are not theirs to read, and F5 is off there.
        if desk is None or self.room_name is not None:
            return
        station = desk.station
        for notice in self._notice_alerts.new(station.notices.list(), station.server_now()):
            self.bell()
            self.notify(
                f"{notice.body}\n— {notice.author}. Acknowledge it on Notices (F5, then a).",
                title="HIGH PRIORITY NOTICE",
                severity="error",
                timeout=30,
                markup=False,
            )

    def notice_sent_here(self, notice_id: str) -> None:
        """The Notices screen says this desk just posted ``notice_id``: it does not interrupt its own sender."""
        self._notice_alerts.sent_here(notice_id)

    def _on_print_update(self, update: PrintUpdate) -> None:
        self.print_changed.publish(update)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A room display stays on its room: the mode keys are neither shown nor acted on.
        if action == "switch_mode" and self.room_name is not None:
            return False
        # The Operations board is for organizers, technicians and admins: for anyone else F9 does nothing.
        return not (action == "switch_mode" and parameters == ("operations",) and not self.may_see_operations())

    def may_see_operations(self) -> bool:
        desk = self.context.desk
        return desk is not None and desk.station.can(OPERATIONS_READ)

    def get_system_commands(self, screen: Screen[Any]):  # type: ignore[no-untyped-def]
        yield from super().get_system_commands(screen)
        if self.room_name is not None:
            return
        yield SystemCommand("Desk", "Check people in (F1)", lambda: self.run_action("switch_mode('desk')"))
        yield SystemCommand(
            "Printers", "Scan, pair and test printers (F2)", lambda: self.run_action("switch_mode('printers')")
        )
        yield SystemCommand(
            "Sync", "Connection, queue and needs-attention items (F3)", lambda: self.run_action("switch_mode('sync')")
        )
        yield SystemCommand("Rooms", "Room timers and occupancy (F4)", lambda: self.run_action("switch_mode('rooms')"))
        yield SystemCommand(
            "Notices", "Notices to staff; acknowledge or send (F5)", lambda: self.run_action("switch_mode('notices')")
        )
        yield SystemCommand(
            "Drawing", "Prize draws: run, confirm, export (F6)", lambda: self.run_action("switch_mode('drawing')")
        )
        yield SystemCommand(
            "Reservations",
            "Book rooms and devices; approve, check in (F7)",
            lambda: self.run_action("switch_mode('reservations')"),
        )
        yield SystemCommand(
            "Devices",
            "Device status board: set status, history (F8)",
            lambda: self.run_action("switch_mode('devices')"),
        )
        if self.may_see_operations():
            yield SystemCommand(
                "Operations",
                "Desks, printers, check-in rate, backend health (F9)",
                lambda: self.run_action("switch_mode('operations')"),
            )

    async def action_quit(self) -> None:
        desk = self.context.desk
        if desk is not None:
            await desk.stop()
        if self.context.virtual_world is not None:
            await self.context.virtual_world.stop()
        self.exit()
