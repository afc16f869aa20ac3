"""The keys that run one room — timer, message, preset, counting people — for every screen showing rooms.

The Rooms screen and the room focus view both hold a ``RoomControls`` and call it with the room the person
has selected, so a key means the same thing on both. Each action is a desk command (queued, works
offline); what the person may not do is answered with who may, and every refusal is shown, never raised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.screen import Screen

from focusdesk.domain import timers
from focusdesk.domain.errors import DomainError
from focusdesk.domain.roles import OCCUPANCY_COUNT, ROOMS_MANAGE, TIMER_CONTROL
from focusdesk.station.model import Room
from focusdesk.tui.dialogs.preset_picker import PresetPicker
from focusdesk.tui.dialogs.room_message import RoomMessageDialog

MAY_NOT = {
    TIMER_CONTROL: "Your account may not run timers — ask an organizer.",
    OCCUPANCY_COUNT: "Your account may not count people in rooms — ask an organizer.",
    ROOMS_MANAGE: "Your account may not add, change or delete rooms — ask an organizer.",
}


def showing(screen: Screen[Any]) -> bool:
    """Whether ``screen`` is seen: on top, or under a dialog's dimmed backdrop. (``Screen.is_current`` is
    also true under a full screen pushed on top, where a ticking clock would only waste time and ring
    a second bell for the same room.)"""
    top = screen.app.screen
    return top is screen or (top.is_modal and screen.is_current)


class RoomControls:
    def __init__(self, screen: Screen[Any], changed: Callable[[], Any]) -> None:
        """``changed`` repaints the screen at once (the app's coalesced ``desk_changed`` comes later)."""
        self.screen = screen
        self.changed = changed

    @property
    def rooms(self) -> Any:
        return self.screen.app.desk.station.rooms  # type: ignore[attr-defined]

    def may(self, permission: str) -> bool:
        """Whether the person may; when not, they are told so (and who may)."""
        if self.screen.app.desk.station.can(permission):  # type: ignore[attr-defined]
            return True
        self.screen.notify(MAY_NOT[permission], title="Not allowed", severity="warning")
        return False

    def run(self, room: Room, action: Callable[[], Any]) -> bool:
        """Do ``action`` (a call into ``station.rooms``); a refusal is shown with its reason."""
        try:
            action()
        except DomainError as exc:
            self.screen.notify(exc.message, title=room.name, severity="error", markup=False)
            return False
        self.changed()
        return True

    # -- the keys ---------------------------------------------------------------------------------

    def toggle(self, room: Room) -> None:
        if self.may(TIMER_CONTROL):
            self.run(room, lambda: self.rooms.toggle(room.id))

    def reset(self, room: Room) -> None:
        if self.may(TIMER_CONTROL):
            self.run(room, lambda: self.rooms.timer(room.id, "reset"))

    def adjust(self, room: Room, delta_s: float) -> None:
        if self.may(TIMER_CONTROL):
            self.run(room, lambda: self.rooms.timer(room.id, "adjust", delta_s=delta_s))

    def count(self, room: Room, delta: int) -> None:
        if self.may(OCCUPANCY_COUNT):
            self.run(room, lambda: self.rooms.count(room.id, delta=delta))

    def message(self, room: Room) -> None:
        if not self.may(TIMER_CONTROL):
            return

        def answered(text: str | None) -> None:
            if text is not None and text != room.timer.message:
                self.run(room, lambda: self.rooms.timer(room.id, "message", text=text))

        self.screen.app.push_screen(RoomMessageDialog(room.name, room.timer.message), answered)

    def preset(self, room: Room) -> None:
        if not self.may(TIMER_CONTROL):
            return
        restarts = room.timer.status != timers.IDLE

        def picked(name: str | None) -> None:
            if name is None:
                return

            def start() -> None:
                # Asked again now: another desk may have reset or started it while the picker was open.
                current = self.rooms.get(room.id)
                if current is not None and current.timer.status != timers.IDLE:
                    self.rooms.timer(room.id, "reset")
                self.rooms.timer(room.id, "start", preset=name)

            self.run(room, start)

        self.screen.app.push_screen(PresetPicker(room.name, restarts=restarts), picked)


class TimerKeyActions:
    """The timer and counting keys, for a screen with ``controls`` and a ``_room()`` (the room the keys act on,
    or None after saying why) — the Rooms grid and one room's display share them."""

    controls: RoomControls

    def _room(self) -> Room | None:
        raise NotImplementedError

    def action_toggle(self) -> None:
        if room := self._room():
            self.controls.toggle(room)

    def action_reset(self) -> None:
        if room := self._room():
            self.controls.reset(room)

    def action_adjust(self, delta_s: float) -> None:
        if room := self._room():
            self.controls.adjust(room, delta_s)

    def action_preset(self) -> None:
        if room := self._room():
            self.controls.preset(room)

    def action_message(self) -> None:
        if room := self._room():
            self.controls.message(room)

    def action_count(self, delta: int) -> None:
        if room := self._room():
            self.controls.count(room, delta)
