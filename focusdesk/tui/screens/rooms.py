"""The Rooms screen (F4): every room of the event as a card — its timer in big digits, phase, message, and
how many people are in — and the keys to run them.

Keys act on the selected card: space starts, pauses or resumes its timer, r resets it, + / - add or take
a minute, p starts a preset, m sets the room's message, ] / [ count one person in / out; n adds a room,
e changes it, x (or delete) deletes it, enter opens the room's focus view (a full screen for a display in
the room). Every action is a desk command: it shows at once (the card says "pending" until the server
confirms it) and works offline.

The screen reads ``station.rooms.list()`` only when the desk changed. Once a second it recomputes each
card's clock from server time and repaints only the digits that changed: fifty running rooms must cost
the desk next to nothing. A room whose countdown reaches zero turns red ("TIME IS UP") and rings once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from focusdesk.domain.errors import DomainError
from focusdesk.domain.roles import ROOMS_MANAGE, TIMER_CONTROL
from focusdesk.station.model import Room
from focusdesk.tui.commands import ScreenCommands
from focusdesk.tui.dialogs.confirm import ConfirmDialog
from focusdesk.tui.dialogs.room_form import RoomFormDialog
from focusdesk.tui.room_controls import RoomControls, TimerKeyActions, showing
from focusdesk.tui.room_look import BREAK, PAUSED, RUNNING, UP, WARNING
from focusdesk.tui.screens.room_focus import RoomFocusScreen
from focusdesk.tui.widgets.room_card import RoomCard
from focusdesk.tui.widgets.room_grid import RoomGrid
from focusdesk.tui.widgets.status_bar import StatusBar

TICK_S = 1.0
KEYS_HINT = "space start/pause · r reset · + - minute · p preset · m message · ] [ in/out · enter focus"
MANAGER_HINT = " · n new · e edit · x delete"


class RoomsCommands(ScreenCommands):
    """The Rooms screen's actions in the command palette."""

    def commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        screen = self.screen
        if not isinstance(screen, RoomsScreen):
            return []
        return [
            ("Rooms: start / pause / resume", "The selected room's timer (space)", screen.action_toggle),
            ("Rooms: reset the timer", "Back to idle (r)", screen.action_reset),
            ("Rooms: add a minute", "To the selected room's timer (+)", lambda: screen.action_adjust(60)),
            ("Rooms: take away a minute", "From the selected room's timer (-)", lambda: screen.action_adjust(-60)),
            ("Rooms: start a preset", "talk-20, workshop-90, pomodoro-25-5 … (p)", screen.action_preset),
            ("Rooms: set the message", "Shown under the room's timer (m)", screen.action_message),
            ("Rooms: count one person in", "(])", lambda: screen.action_count(1)),
            ("Rooms: count one person out", "([)", lambda: screen.action_count(-1)),
            ("Rooms: focus view", "The selected room full screen (enter)", screen.action_open_focus),
            ("Rooms: new room", "Add a room (n, organizers)", screen.action_new),
            ("Rooms: edit room", "Name, capacity, timer length (e, organizers)", screen.action_edit),
            ("Rooms: delete room", "Asks first (x, organizers)", screen.action_delete),
        ]


class RoomsScreen(TimerKeyActions, Screen[None]):
    DEFAULT_CSS = """
    RoomsScreen #rooms-empty {
        height: 1fr;
        content-align: center middle;
        color: $text-muted;
        border: round $primary 60%;
    }
    RoomsScreen.-empty RoomGrid { display: none; }
    RoomsScreen #rooms-empty { display: none; }
    RoomsScreen.-empty #rooms-empty { display: block; }
    """
    BINDINGS = [
        Binding("space", "toggle", "Start/Pause", id="rooms.toggle", tooltip="Start, pause or resume the timer"),
        Binding("enter", "open_focus", "Focus", id="rooms.focus", tooltip="The selected room, full screen"),
        Binding("plus,equals_sign", "adjust(60)", "+1 min", id="rooms.add_minute", show=False, tooltip="Add a minute"),
        Binding("minus", "adjust(-60)", "-1 min", id="rooms.take_minute", show=False, tooltip="Take away a minute"),
        Binding(
            "p", "preset", "Preset", id="rooms.preset", show=False, tooltip="Start a preset: talk-20, pomodoro-25-5 …"
        ),
        Binding(
            "m", "message", "Message", id="rooms.message", show=False, tooltip="Set the message shown under the timer"
        ),
        Binding(
            "right_square_bracket", "count(1)", "In", id="rooms.count_in", show=False, tooltip="Count one person in"
        ),
        Binding(
            "left_square_bracket", "count(-1)", "Out", id="rooms.count_out", show=False, tooltip="Count one person out"
        ),
        Binding("r", "reset", "Reset", id="rooms.reset", show=False, tooltip="Reset the timer to idle"),
        Binding("n", "new", "New room", id="rooms.new", tooltip="Add a room (organizers)"),
        Binding("e", "edit", "Edit", id="rooms.edit", show=False, tooltip="Change name, capacity, timer length"),
        Binding("x,delete", "delete", "Delete", id="rooms.delete", show=False, tooltip="Delete the room (asks first)"),
    ]
    COMMANDS = {RoomsCommands}

    def __init__(self) -> None:
        super().__init__()
        self.controls = RoomControls(self, self._changed_here)
        self._focus_next: str | None = None  # a room just added here gets the focus once it is shown
        self._title: tuple[object, ...] = ()

    def compose(self) -> ComposeResult:
        yield RoomGrid(id="rooms-grid")
        yield Static("", id="rooms-empty", markup=False)
        yield StatusBar()
        yield Footer()

    async def on_mount(self) -> None:
        self.app.desk_changed.subscribe(self, self._desk_changed)  # type: ignore[attr-defined]
        self.set_interval(TICK_S, self._tick)
        await self.refresh_rooms(ring=False)

    async def on_screen_resume(self) -> None:
        # What happened while another screen was shown is shown now, without ringing for it after the fact.
        await self.refresh_rooms(ring=False)

    # While another mode is shown this screen stays mounted; it catches up when it is shown again.
    async def _desk_changed(self, _: Any) -> None:
        if showing(self):
            await self.refresh_rooms()

    def _changed_here(self) -> None:
        self.call_later(self.refresh_rooms)

    def _tick(self) -> None:
        desk = self.desk
        if desk is None or not showing(self):
            return
        if self.grid.tick(desk.station.server_now()):
            self.app.bell()
        self._paint_title()

    @property
    def desk(self) -> Any:
        return getattr(self.app, "desk", None)

    @property
    def grid(self) -> RoomGrid:
        return self.query_one("#rooms-grid", RoomGrid)

    @property
    def selected(self) -> Room | None:
        card = self.grid.current
        return card.room if card is not None else None

    async def refresh_rooms(self, *, ring: bool = True) -> None:
        desk = self.desk
        if desk is None:
            return
        station = desk.station
        rooms = station.rooms.list()
        self.set_class(not rooms, "-empty")
        if not rooms:
            words = (
                "No rooms yet — press n to add one."
                if station.can(ROOMS_MANAGE)
                else "No rooms yet; an organizer adds them."
            )
            self.query_one("#rooms-empty", Static).update(words)
        rang = await self.grid.show_rooms(rooms, station.server_now())
        if rang and ring:
            self.app.bell()
        self._place_focus()
        self._paint_title()

    def _place_focus(self) -> None:
        grid = self.grid
        wanted = grid.card(self._focus_next) if self._focus_next else None
        if wanted is not None:
            self._focus_next = None
            wanted.focus()
        elif not isinstance(self.focused, RoomCard) and grid.current is not None:
            grid.current.focus()

    def _paint_title(self) -> None:
        grid = self.grid
        cards = grid.cards
        looks = Counter(card.look.look for card in cards if card.look is not None)
        full = sum(1 for card in cards if card.room.full)
        station = self.desk.station
        manager = station.can(ROOMS_MANAGE)
        key = (len(cards), tuple(sorted(looks.items())), full, manager, station.can(TIMER_CONTROL))
        if key == self._title:
            return
        self._title = key
        title = Text(f"Rooms ({len(cards)})")
        running = looks[RUNNING] + looks[WARNING] + looks[BREAK]
        if running:
            title.append(f" · {running} running", style="green")
        if looks[PAUSED]:
            title.append(f" · {looks[PAUSED]} paused", style="yellow")
        if looks[UP]:
            title.append(f" · {looks[UP]} TIME UP", style="bold red")
        if full:
            title.append(f" · {full} full", style="bold red")
        grid.border_title = title
        if station.can(TIMER_CONTROL):
            grid.border_subtitle = KEYS_HINT + (MANAGER_HINT if manager else "")
        else:
            grid.border_subtitle = "] [ count in/out · enter focus · organizers run the timers"

    # -- actions ---------------------------------------------------------------------------------

    def _room(self) -> Room | None:
        room = self.selected
        if room is None:
            self.notify("No room selected — add one with n.", severity="warning")
        return room

    def action_open_focus(self) -> None:
        if room := self._room():
            self.app.push_screen(RoomFocusScreen(room_id=room.id))

    def action_new(self) -> None:
        if not self.controls.may(ROOMS_MANAGE):
            return
        rooms = self.desk.station.rooms

        def save(fields: dict[str, Any]) -> Room:
            return rooms.create(fields["name"], capacity=fields["capacity"], work_s=fields["work_s"])

        def added(room: Room | None) -> None:
            if room is not None:
                self._focus_next = room.id
                self._changed_here()
                self.notify(f"{room.name} added (sent to the server when it can be reached).", title="Rooms")

        self.app.push_screen(RoomFormDialog(save), added)

    def action_edit(self) -> None:
        room = self._room()
        if room is None or not self.controls.may(ROOMS_MANAGE):
            return
        rooms = self.desk.station.rooms

        def save(fields: dict[str, Any]) -> Room:
            before = {"name": room.name, "capacity": room.capacity, "work_s": room.work_s}
            changed = {k: v for k, v in fields.items() if before.get(k) != v}
            wanted = " ".join(str(fields["name"]).split()).casefold()
            clash = next((r for r in rooms.list() if r.id != room.id and r.name.casefold() == wanted), None)
            if "name" in changed and clash is not None:
                # The server refuses a second room of the same name; say so now, not after it answered.
                raise DomainError("duplicate_room", f"there is already a room called {clash.name}")
            return rooms.update(room.id, **changed) if changed else room

        def saved(after: Room | None) -> None:
            if after is not None:
                self._focus_next = after.id
                self._changed_here()

        self.app.push_screen(RoomFormDialog(save, room), saved)

    def action_delete(self) -> None:
        room = self._room()
        if room is None or not self.controls.may(ROOMS_MANAGE):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.controls.run(room, lambda: self.desk.station.rooms.delete(room.id))

        self.app.push_screen(
            ConfirmDialog(
                f"Delete {room.name}?",
                detail="The room, its timer and its count go for every desk.",
                yes="Delete",
                no="Keep",
                default=False,
                title="Delete room",
            ),
            answered,
        )
