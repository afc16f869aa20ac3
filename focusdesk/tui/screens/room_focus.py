"""One room, full screen: for a display inside the room (``focusdesk room NAME``) or a closer look from
the Rooms screen (enter).

Shows the room's name, phase and cycle, its timer as large as the screen allows, its message and how many
people are in; the last minute is drawn in the warning colour, and when a countdown's time is up a big
"TIME IS UP" appears and the desk rings once. The timer keys of the Rooms screen work here too
(space, r, + / -, m, ] / [); escape goes back — except on a room-only desk, where this is the whole app.

The view follows the room by id, so a rename shows the new name. A room deleted elsewhere is said so; a
room-only desk then waits for a room of that name to appear again (and, at start, for the first sync to
bring the room at all), listing the rooms it does know.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from focusdesk.station.model import Room
from focusdesk.tui.connection import connection_text
from focusdesk.tui.room_controls import RoomControls, TimerKeyActions, showing
from focusdesk.tui.room_look import LOOKS, TIME_IS_UP, UP, TimerLook, occupancy_words, timer_look
from focusdesk.tui.widgets.big_clock import BigClock
from focusdesk.tui.widgets.status_bar import StatusBar

TICK_S = 1.0


def missing_words(name: str, known: list[str], *, deleted: bool, synced: bool) -> str:
    """Why no room is shown, and what the desk does know."""
    lines = [f"{name} was deleted." if deleted else f"No room called “{name}”."]
    if known:
        lines.append("Rooms at this event: " + ", ".join(known))
    else:
        lines.append("This event has no rooms yet.")
    if not synced:
        lines.append("This desk has not synced with the server yet — the room may still arrive.")
    return "\n".join(lines)


class RoomFocusScreen(TimerKeyActions, Screen[None]):
    DEFAULT_CSS = """
    RoomFocusScreen #focus-box { height: 1fr; padding: 0 2; }
    RoomFocusScreen #focus-name { text-align: center; text-style: bold; color: $text; padding-top: 1; }
    RoomFocusScreen #focus-phase { text-align: center; color: $text-muted; }
    RoomFocusScreen #focus-clock { color: $success; min-height: 3; }
    RoomFocusScreen #focus-alert {
        display: none;
        height: 3;
        content-align: center middle;
        background: $error;
        color: $text;
        text-style: bold;
    }
    RoomFocusScreen #focus-message { text-align: center; text-style: italic; height: auto; max-height: 3; }
    RoomFocusScreen #focus-occupancy { text-align: center; padding-bottom: 1; }
    RoomFocusScreen #focus-missing { display: none; height: 1fr; content-align: center middle; color: $warning; }
    RoomFocusScreen #focus-connection { height: 1; padding: 0 1; background: $panel; }
    RoomFocusScreen.-missing #focus-box { display: none; }
    RoomFocusScreen.-missing #focus-missing { display: block; }
    RoomFocusScreen.-idle #focus-clock, RoomFocusScreen.-paused #focus-clock { color: $text-muted; }
    RoomFocusScreen.-paused #focus-phase { color: $text; text-style: bold; }
    RoomFocusScreen.-break #focus-clock { color: $primary-lighten-3; }
    RoomFocusScreen.-break #focus-phase { color: $primary-lighten-3; }
    RoomFocusScreen.-warning #focus-clock { color: $warning; }
    RoomFocusScreen.-warning #focus-phase { color: $warning; text-style: bold; }
    RoomFocusScreen.-up #focus-box { background: $error 20%; }
    RoomFocusScreen.-up #focus-clock { color: $error; }
    RoomFocusScreen.-up #focus-phase { color: $error; text-style: bold; }
    RoomFocusScreen.-up #focus-alert { display: block; }
    RoomFocusScreen .-full { color: $error; text-style: bold; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="room_focus.back", tooltip="Back to all rooms"),
        Binding("space", "toggle", "Start/Pause", id="room_focus.toggle", tooltip="Start, pause or resume the timer"),
        Binding("plus,equals_sign", "adjust(60)", "+1 min", id="room_focus.add_minute", tooltip="Add a minute"),
        Binding("minus", "adjust(-60)", "-1 min", id="room_focus.take_minute", tooltip="Take away a minute"),
        Binding("r", "reset", "Reset", id="room_focus.reset", tooltip="Reset the timer to idle"),
        Binding("m", "message", "Message", id="room_focus.message", tooltip="Set the message under the timer"),
        Binding("right_square_bracket", "count(1)", "In", id="room_focus.count_in", tooltip="Count one person in"),
        Binding("left_square_bracket", "count(-1)", "Out", id="room_focus.count_out", tooltip="Count one out"),
    ]

    def __init__(self, *, room_id: str | None = None, name: str | None = None, room_only: bool = False) -> None:
        """Follow the room ``room_id``, or the room called ``name`` (``room_only``: the desk shows nothing else)."""
        super().__init__()
        self.room_id = room_id
        self.wanted_name = name
        self.room_only = room_only
        self.room: Room | None = None
        self.controls = RoomControls(self, self._changed_here)
        self._look: TimerLook | None = None
        self._deleted_name: str | None = None  # the room this view showed was deleted
        self._phase = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="focus-box"):
            yield Static("", id="focus-name", markup=False)
            yield Static("", id="focus-phase", markup=False)
            yield BigClock(id="focus-clock")
            yield Static(TIME_IS_UP, id="focus-alert", markup=False)
            yield Static("", id="focus-message", markup=False)
            yield Static("", id="focus-occupancy")
        yield Static("", id="focus-missing", markup=False)
        if self.room_only:
            # A display in a room has no printer or check-in queue to speak of: just whether it is live.
            yield Static("", id="focus-connection")
        else:
            yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.app.desk_changed.subscribe(self, self._desk_changed)  # type: ignore[attr-defined]
        self.set_interval(TICK_S, self._tick)
        self.refresh_room(ring=False)

    def on_screen_resume(self) -> None:
        self.refresh_room(ring=False)

    def _desk_changed(self, _: Any) -> None:
        if showing(self):
            self.refresh_room()

    def _changed_here(self) -> None:
        self.call_later(self.refresh_room)

    def _tick(self) -> None:
        if showing(self):
            self.paint_clock()

    @property
    def desk(self) -> Any:
        return getattr(self.app, "desk", None)

    # -- which room -------------------------------------------------------------------------------

    def _find(self) -> Room | None:
        rooms = self.desk.station.rooms
        room = rooms.get(self.room_id) if self.room_id else None
        if room is None and self.room_id is not None and self.room is not None:
            self._deleted_name = self.room.name  # it was here a moment ago
            self.room_id = None
        if room is None and self.wanted_name and (self.room_only or self._deleted_name is None):
            room = rooms.by_name(self.wanted_name)
            if room is not None:
                self.room_id, self._deleted_name = room.id, None
        if room is not None and self.room_only:
            self.wanted_name = room.name  # a renamed room is still this display's room
        return room

    def refresh_room(self, *, ring: bool = True) -> None:
        desk = self.desk
        if desk is None:
            return
        room = self._find()
        if (room is None) != (self.room is None):
            self.refresh_bindings()  # the timer keys need a room
        self.room = room
        self.set_class(room is None, "-missing")
        self._paint_connection()
        if room is None:
            self._paint_missing()
            return
        self.query_one("#focus-name", Static).update(room.name)
        self.query_one("#focus-message", Static).update(room.timer.message)
        occupancy = self.query_one("#focus-occupancy", Static)
        occupancy.update(Text.assemble(("People in the room: ", "dim"), occupancy_words(room)))
        occupancy.set_class(room.full, "-full")
        self.paint_clock(ring=ring)

    def _paint_missing(self) -> None:
        station = self.desk.station
        known = [r.name for r in station.rooms.list()]
        name = self._deleted_name or self.wanted_name or "This room"
        synced = station.connection == "online"
        words = missing_words(name, known, deleted=self._deleted_name is not None, synced=synced)
        if self._deleted_name is not None and self.room_only:
            words += f"\nWaiting for a room called “{self.wanted_name}”."
        if not self.room_only:
            words += "\n\nPress escape to go back to all rooms."
        self.query_one("#focus-missing", Static).update(words)
        self._look = None

    def _paint_connection(self) -> None:
        if self.room_only:
            status = self.desk.station.status()
            self.query_one("#focus-connection", Static).update(connection_text(status))

    def paint_clock(self, *, ring: bool = True) -> None:
        room = self.room
        if room is None:
            return
        look = timer_look(room, self.desk.station.server_now())
        before, self._look = self._look, look
        self.query_one("#focus-clock", BigClock).update(look.digits)
        phase = look.phase + (" · pending" if room.pending else "")
        if phase != self._phase:
            self._phase = phase
            self.query_one("#focus-phase", Static).update(phase)
        if before is None or before.look != look.look:
            for name in LOOKS:
                self.set_class(name == look.look, f"-{name}")
        if ring and before is not None and before.look != UP and look.look == UP:
            self.app.bell()

    # -- actions ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return not self.room_only
        if action in ("toggle", "adjust", "reset", "message", "count"):
            return self.room is not None
        return True

    def _room(self) -> Room | None:
        if self.room is None:
            self.notify("No room to act on.", severity="warning")
        return self.room

    def action_back(self) -> None:
        if not self.room_only:
            self.dismiss()
