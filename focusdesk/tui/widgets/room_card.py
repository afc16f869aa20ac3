"""One room on the Rooms screen: its name, big timer digits, phase, message and occupancy.

A card is updated in place. ``show(room, now)`` takes a new version of the room (after a desk change);
``tick(now)`` only recomputes the digits and the look — it runs once a second for every card, so it
touches a widget only when what it shows really changed (a running card: its digits; the rest: nothing).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Digits, Static

from focusdesk.station.model import Room
from focusdesk.tui.room_look import LOOKS, UP, TimerLook, occupancy_words, timer_look

CARD_HEIGHT = 8
CARD_MIN_WIDTH = 24  # "h:mm:ss" in Digits is 17 cells, plus border and padding (and a gutter)


def occupancy_text(room: Room, width: int = 0) -> Text:
    """ "People 120 / 300", without the label when the card is too narrow for it; red when full."""
    words = occupancy_words(room)
    text = Text("People ", style="dim") if not width or len(words) + 7 <= width else Text()
    text.append(words, style="bold red" if room.full else "")
    return text


class RoomCard(Vertical, can_focus=True):
    DEFAULT_CSS = f"""
    RoomCard {{
        height: {CARD_HEIGHT};
        border: round $primary 50%;
        border-title-style: bold;
        border-title-color: $text;
        border-subtitle-color: $warning;
        padding: 0 1;
    }}
    RoomCard:focus {{ border: heavy $foreground 80%; background: $boost; }}
    RoomCard > Digits {{ width: 1fr; text-align: center; }}
    RoomCard > Static {{ height: 1; text-wrap: nowrap; text-overflow: ellipsis; }}
    RoomCard > .room-phase {{ text-align: center; color: $text-muted; }}
    RoomCard > .room-message {{ text-align: center; text-style: italic; }}
    RoomCard.-idle > Digits {{ color: $text-muted; }}
    RoomCard.-paused > Digits {{ color: $text-muted; text-style: dim; }}
    RoomCard.-paused > .room-phase {{ color: $text; text-style: bold; }}
    RoomCard.-running > Digits {{ color: $success; }}
    RoomCard.-break > Digits {{ color: $primary-lighten-3; }}
    RoomCard.-break > .room-phase {{ color: $primary-lighten-3; }}
    RoomCard.-warning > Digits {{ color: $warning; text-style: bold; }}
    RoomCard.-warning > .room-phase {{ color: $warning; }}
    RoomCard.-up {{ border: heavy $error 70%; background: $error 20%; }}
    RoomCard.-up:focus {{ border: heavy $error; background: $error 35%; }}
    RoomCard.-up > Digits {{ color: $error; text-style: bold; }}
    RoomCard.-up > .room-phase {{ background: $error; color: $text; text-style: bold; }}
    """

    def __init__(self, room: Room, now: float, look: TimerLook | None = None) -> None:
        """``look``: the room's look on the card this one replaces (the bell rings on a change of look;
        a card's first look is no change — no bell for a room whose time was already up)."""
        super().__init__(id=f"room-{room.id}")
        self.room = room
        self._look = look
        self._painted: TimerLook | None = None  # what the card's widgets show
        self._digits = Digits(timer_look(room, now).digits)
        self._phase = Static("", classes="room-phase", markup=False)
        self._message = Static("", classes="room-message", markup=False)
        self._occupancy = Static("", classes="room-occupancy")
        self._shown: tuple[object, ...] = ()

    def compose(self) -> ComposeResult:
        yield self._digits
        yield self._phase
        yield self._message
        yield self._occupancy

    def on_mount(self) -> None:
        self._paint_room()

    @property
    def room_id(self) -> str:
        return self.room.id

    @property
    def look(self) -> TimerLook | None:
        return self._look

    def show(self, room: Room, now: float) -> bool:
        """Take ``room``'s new version; True when its time just ran out (ring once)."""
        self.room = room
        if self.is_mounted:
            self._paint_room()
        return self.tick(now)

    def on_resize(self) -> None:
        # Long or short words depend on the card's width, known only now.
        self._shown = ()
        self._paint_room()
        if self._painted is not None:
            self._phase.update(self._painted.phase_for(self.content_size.width))

    def _paint_room(self) -> None:
        room = self.room
        shown = (room.name, room.pending, room.timer.message, room.occupancy, room.capacity)
        if shown == self._shown:
            return
        self._shown = shown
        self.border_title = Text(room.name)
        self.border_subtitle = "pending" if room.pending else ""
        self._message.update(room.timer.message)
        self._occupancy.update(occupancy_text(room, self.content_size.width))
        self.set_class(room.full, "-full")

    def tick(self, now: float) -> bool:
        """Repaint what the clock changed; True when the room's countdown just reached zero."""
        look = timer_look(self.room, now)
        painted = self._painted
        if painted != look:
            self._painted = look
            if painted is None or painted.digits != look.digits:
                self._digits.update(look.digits)
            if painted is None or painted.phase != look.phase:
                self._phase.update(look.phase_for(self.content_size.width))
            if painted is None or painted.look != look.look:
                for name in LOOKS:
                    self.set_class(name == look.look, f"-{name}")
        before, self._look = self._look, look
        return before is not None and before.look != UP and look.look == UP
