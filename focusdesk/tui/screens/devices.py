"""The Devices board (F8): every device of the event with its status — mark, colour and word — its booking
now or next, the note, and who set the status when; devices with a problem (offline, maintenance) first.
The panel below says the selected device in full, with its bookings of the day.

``s`` sets the selected device's status (a choice and a note; a desk command, so it works offline and
shows at once as "sending…"), ``h`` shows its status history, which only the server keeps; organizers add a
device with ``+`` (the resource form, its kind preset to device). The board reads
the station when bookings or devices changed (the app's ``bookings_changed`` signal), and once a minute
for "now" and "next".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from focusdesk.domain.reservations import local_datetime
from focusdesk.domain.roles import DEVICE_STATUS, RESOURCES_MANAGE
from focusdesk.domain.timeutil import local_hhmm
from focusdesk.station.model import Reservation, Resource
from focusdesk.tui.bookings_follow import follow_bookings
from focusdesk.tui.commands import ScreenCommands
from focusdesk.tui.dialogs.device_status import DeviceStatusDialog
from focusdesk.tui.dialogs.resource_form import ResourceFormDialog
from focusdesk.tui.dialogs.status_history import StatusHistoryDialog
from focusdesk.tui.room_controls import showing
from focusdesk.tui.widgets.device_look import PROBLEMS, board_order, status_text
from focusdesk.tui.widgets.status_bar import StatusBar

COLUMNS = ("Device", "Status", "Now / next", "Note", "Set")
BOOKING_W, NOTE_W = 34, 26
# A booking in these states is the device's, now or later.
HOLDING = frozenset({"pending", "approved", "checked_in", "tentative"})
MAY_NOT = "Your account may not set device status — ask staff, a technician or an organizer."
MAY_NOT_ADD = "Only organizers add, change or delete rooms and devices."


def when_words(ts: float | None, now: float, tz: str) -> str:
    """``14:05`` today, ``Mon 23 Nov 14:05`` on another day, ``—`` never."""
    if ts is None:
        return "—"
    here = local_datetime(ts, tz)
    if here.date() == local_datetime(now, tz).date():
        return local_hhmm(ts, tz)
    return f"{here:%a %d %b} {local_hhmm(ts, tz)}"


def set_words(device: Resource, now: float, tz: str) -> Text:
    """When the status was set, then by whom (the time first: it is what a narrow board keeps)."""
    if device.status_at is None:
        return Text("—", style="dim")
    text = Text(when_words(device.status_at, now, tz))
    if device.status_by:
        text.append(f" by {device.status_by}", style="dim")
    return text


def now_or_next(bookings: Sequence[Reservation], now: float, tz: str) -> Text:
    """The booking holding the device now (who, until when), else the next one, else a dash."""
    ahead = sorted((b for b in bookings if b.status in HOLDING and b.end > now), key=lambda b: b.start)
    if not ahead:
        return Text("—", style="dim")
    first = ahead[0]
    if first.start <= now:
        mark = "✓ " if first.status == "checked_in" else ""
        return Text(f"{mark}{first.holder_name} until {local_hhmm(first.end, tz)}", style="bold")
    return Text(f"next {when_words(first.start, now, tz)} {first.holder_name}", style="dim")


def device_details(device: Resource, bookings: Sequence[Reservation], now: float, tz: str) -> Text:
    """The selected device in full (the board's cells are cut to fit): status, note, the day's bookings."""
    text = Text()
    text.append(device.name, style="bold")
    text.append(" — ")
    text.append_text(status_text(device.device_status))
    if device.status_at is not None:
        text.append(f" since {when_words(device.status_at, now, tz)}", style="dim")
    if device.status_by:
        text.append(f" · set by {device.status_by}", style="dim")
    if device.pending:
        text.append(" · sending…", style="italic yellow")
    if device.status_note:
        text.append(f"\n“{device.status_note}”", style="italic")
    today = local_datetime(now, tz).date()
    mine = sorted(
        (b for b in bookings if b.status in HOLDING and local_datetime(b.start, tz).date() == today),
        key=lambda b: b.start,
    )
    if mine:
        spans = [f"{local_hhmm(b.start, tz)}–{local_hhmm(b.end, tz)} {b.holder_name}" for b in mine]
        text.append("\nToday: " + " · ".join(spans), style="dim")
    else:
        text.append("\nNo bookings today.", style="dim")
    return text


def board_rows(
    devices: Sequence[Resource], bookings: Sequence[Reservation], now: float, tz: str
) -> list[tuple[str, tuple[Any, ...]]]:
    """(device id, cells) for each device, problems first, then by name."""
    by_device: dict[str, list[Reservation]] = {}
    for booking in bookings:
        by_device.setdefault(booking.resource_id, []).append(booking)
    rows = []
    for device in sorted(devices, key=lambda d: (board_order(d.device_status), d.name.casefold(), d.id)):
        status = status_text(device.device_status)
        if device.pending:
            status.append(" · sending…", style="italic yellow")
        # The board's cells are cut so five columns fit 120 characters; the details panel shows them whole.
        booking = now_or_next(by_device.get(device.id, []), now, tz)
        booking.truncate(BOOKING_W, overflow="ellipsis")
        note = Text(device.status_note or "—", style="" if device.status_note else "dim")
        note.truncate(NOTE_W, overflow="ellipsis")
        rows.append((device.id, (Text(device.name, style="bold"), status, booking, note, set_words(device, now, tz))))
    return rows


class DevicesCommands(ScreenCommands):
    def commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        screen = self.screen
        if not isinstance(screen, DevicesScreen) or screen.desk is None:
            return []
        out: list[tuple[str, str, Callable[[], Any]]] = [
            ("Devices: status history", "The selected device's changes, from the server (h)", screen.action_history)
        ]
        if screen.desk.station.can(DEVICE_STATUS):
            out.insert(0, ("Devices: set status", "Online, offline, in use, available, maintenance (s)",
                           screen.action_set_status))  # fmt: skip
        if screen.desk.station.can(RESOURCES_MANAGE):
            out.append(("Devices: add a device", "Name, hours, approval … (+)", screen.action_add_device))
        return out


class DevicesScreen(Screen[None]):
    DEFAULT_CSS = """
    DevicesScreen #devices-table {
        height: 1fr;
        border: round $primary 60%;
        border-title-style: bold;
    }
    DevicesScreen #devices-table:focus { border: round $primary; }
    DevicesScreen #devices-details { height: 5; border: round $accent 50%; padding: 0 1; }
    DevicesScreen.-empty #devices-details { display: none; }
    DevicesScreen #devices-empty {
        height: 1fr;
        content-align: center middle;
        color: $text-muted;
        border: round $primary 60%;
        display: none;
    }
    DevicesScreen.-empty #devices-empty { display: block; }
    DevicesScreen.-empty #devices-table { display: none; }
    """
    BINDINGS = [
        Binding("s", "set_status", "Set status", id="devices.set_status", tooltip="Say how the device is"),
        Binding("s", "refuse", "Not allowed", show=False, id="devices.set_status_refused", tooltip="Says who may"),
        Binding("h", "history", "History", id="devices.history", tooltip="Its status changes (needs the server)"),
        # Not in the footer (as on the Reservations screen); the palette and the empty board tell organizers.
        Binding("plus", "add_device", "Add device", show=False, id="devices.add", tooltip="Add a device (organizers)"),
        Binding("plus", "refuse_add", "Not allowed", show=False, id="devices.add_refused", tooltip="Says who may"),
    ]
    COMMANDS = {DevicesCommands}

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[tuple[str, tuple[Any, ...]]] | None = None
        self._minute = -1
        self._devices: dict[str, Resource] = {}
        self._bookings: list[Reservation] = []

    def compose(self) -> ComposeResult:
        table: DataTable[Any] = DataTable(id="devices-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Static("", id="devices-details")
        yield Static("", id="devices-empty", markup=False)
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        follow_bookings(self, self.refresh_board, self._tick)
        self.refresh_board()
        self.table.focus()

    def on_screen_resume(self) -> None:
        self.refresh_board()

    def _tick(self) -> None:
        # "Now" and "next" change with the minute; the rows are rebuilt only if what they say changed.
        desk = self.desk
        if desk is None or not showing(self):
            return
        minute = int(desk.station.server_now() // 60)
        if minute != self._minute:
            self._minute = minute
            self.refresh_board()

    @property
    def desk(self) -> Any:
        return getattr(self.app, "desk", None)

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#devices-table", DataTable)

    @property
    def selected(self) -> Resource | None:
        table = self.table
        if not self._rows or table.cursor_row is None or not 0 <= table.cursor_row < len(self._rows):
            return None
        return self._devices.get(self._rows[table.cursor_row][0])

    @property
    def device_ids(self) -> list[str]:
        """The devices in board order (tests read it)."""
        return [device_id for device_id, _ in self._rows or []]

    def refresh_board(self) -> None:
        desk = self.desk
        if desk is None:
            return
        station = desk.station
        book = station.reservations
        tz, now = station.timezone(), station.server_now()
        devices = book.devices()
        self._devices = {d.id: d for d in devices}
        ids = set(self._devices)
        bookings = self._bookings = [b for b in book.list() if b.resource_id in ids]
        rows = board_rows(devices, bookings, now, tz)
        self.set_class(not devices, "-empty")
        if not devices:
            words = " — press + to add one." if station.can(RESOURCES_MANAGE) else "; an organizer adds them."
            self.query_one("#devices-empty", Static).update("No devices yet" + words)
        self._paint_title(devices, station.can(DEVICE_STATUS))
        if rows == self._rows:
            self._show_details()
            return
        table = self.table
        keep = self.selected.id if self.selected is not None else None
        self._rows = rows
        table.clear()
        for device_id, cells in rows:
            table.add_row(*cells, key=device_id)
        order = [device_id for device_id, _ in rows]
        if keep in order:
            table.move_cursor(row=order.index(keep), animate=False)
        self._show_details()

    @on(DataTable.RowHighlighted, "#devices-table")
    def _show_details(self) -> None:
        device = self.selected
        panel = self.query_one("#devices-details", Static)
        if device is None:
            panel.update("")
            return
        station = self.desk.station
        mine = [b for b in self._bookings if b.resource_id == device.id]
        panel.update(device_details(device, mine, station.server_now(), station.timezone()))

    @property
    def details(self) -> str:
        """What the panel under the board says (tests read it)."""
        return str(self.query_one("#devices-details", Static).content)

    def _paint_title(self, devices: list[Resource], may_set: bool) -> None:
        title = Text(f"Devices ({len(devices)})")
        for status in PROBLEMS:
            count = sum(1 for d in devices if d.device_status == status)
            if count:
                title.append(f" · {count} {status}", style="bold red" if status == "offline" else "bold yellow")
        busy = sum(1 for d in devices if d.device_status == "in_use")
        if busy:
            title.append(f" · {busy} in use")
        table = self.table
        table.border_title = title
        table.border_subtitle = "↑↓ choose · s set status · h history" if may_set else "↑↓ choose · h history"

    # -- the keys ------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        needed = {"set_status": DEVICE_STATUS, "add_device": RESOURCES_MANAGE}.get(action)
        if needed is not None and self.is_mounted and self.desk is not None:
            # Not allowed: hidden from the footer, and the key falls through to "refuse", which says so.
            return self.desk.station.can(needed)
        return True

    def action_refuse(self) -> None:
        self.notify(MAY_NOT, title="Not allowed", severity="warning")

    def action_refuse_add(self) -> None:
        self.notify(MAY_NOT_ADD, title="Not allowed", severity="warning")

    def _device(self) -> Resource | None:
        device = self.selected
        if device is None:
            self.notify("No device selected.", severity="warning")
        return device

    def action_set_status(self) -> None:
        if not self.desk.station.can(DEVICE_STATUS):
            self.action_refuse()
            return
        device = self._device()
        if device is None:
            return
        book = self.desk.station.reservations

        def save(status: str, note: str) -> Resource:
            return book.set_device_status(device.id, status, note)

        def saved(after: Resource | None) -> None:
            if after is not None:
                self.refresh_board()

        self.app.push_screen(DeviceStatusDialog(device, save), saved)

    def action_history(self) -> None:
        device = self._device()
        if device is None:
            return
        station = self.desk.station

        async def load() -> Any:
            return await station.reservations.status_history(device.id)

        self.app.push_screen(StatusHistoryDialog(device, load, station.timezone()))

    def action_add_device(self) -> None:
        if not self.desk.station.can(RESOURCES_MANAGE):
            self.action_refuse_add()
            return
        book = self.desk.station.reservations

        def save(fields: dict[str, Any]) -> Resource:
            return book.create_resource(**fields)

        def added(resource: Resource | None) -> None:
            if resource is None:
                return
            self.notify(f"{resource.name} added (sent to the server when it can be reached).",
                        title="Devices", markup=False)  # fmt: skip
            self.refresh_board()
            if resource.id in self.device_ids:
                self.table.move_cursor(row=self.device_ids.index(resource.id), animate=False)
            self.table.focus()

        self.app.push_screen(ResourceFormDialog(save, kind="device"), added)
