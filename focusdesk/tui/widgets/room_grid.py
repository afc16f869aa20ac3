"""The Rooms screen's grid of room cards: as many columns as fit, arrows (or h j k l) between cards.

The grid keeps its cards while the set of rooms stays the same (a desk change updates each card in
place); only a room added, deleted or renamed (the order is by name) rebuilds it. The clock's once-a-second
tick goes to the cards directly and repaints only digits that changed — the screen must stay cheap with
fifty running rooms.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.events import Resize

from focusdesk.station.model import Room
from focusdesk.tui.widgets.room_card import CARD_HEIGHT, CARD_MIN_WIDTH, RoomCard


class RoomGrid(ScrollableContainer, can_focus=False):
    DEFAULT_CSS = f"""
    RoomGrid {{
        layout: grid;
        grid-size: 3;
        grid-gutter: 0 1;
        grid-rows: {CARD_HEIGHT};
        height: 1fr;
        border: round $primary 60%;
        border-title-style: bold;
        padding: 0 1;
    }}
    """
    # The grid's own bindings win over ScrollableContainer's (which would scroll instead of moving).
    BINDINGS = [
        Binding("left,h", "move(-1, 0)", "Left", show=False, id="rooms.left"),
        Binding("right,l", "move(1, 0)", "Right", show=False, id="rooms.right"),
        Binding("up,k", "move(0, -1)", "Up", show=False, id="rooms.up"),
        Binding("down,j", "move(0, 1)", "Down", show=False, id="rooms.down"),
    ]

    @property
    def columns(self) -> int:
        return max(1, self.scrollable_content_region.width // CARD_MIN_WIDTH)

    def on_resize(self, _: Resize) -> None:
        if self.styles.grid_size_columns != self.columns:
            self.styles.grid_size_columns = self.columns

    @property
    def cards(self) -> list[RoomCard]:
        return list(self.query_children(RoomCard))

    def card(self, room_id: str) -> RoomCard | None:
        return next((c for c in self.cards if c.room_id == room_id), None)

    @property
    def current(self) -> RoomCard | None:
        """The card with the focus, else the first one (keys act on the room a person sees selected)."""
        focused = self.screen.focused if self.is_attached else None
        if isinstance(focused, RoomCard) and focused.parent is self:
            return focused
        cards = self.cards
        return cards[0] if cards else None

    def action_move(self, dx: int, dy: int) -> None:
        cards = self.cards
        if not cards:
            return
        current = self.current
        index = cards.index(current) if current in cards else 0
        target = index + dx + dy * self.columns
        if 0 <= target < len(cards):
            cards[target].focus()

    def tick(self, now: float) -> bool:
        """Repaint the clocks; True when some room's time just ran out."""
        rang = False
        for card in self.cards:
            rang |= card.tick(now)
        return rang

    async def show_rooms(self, rooms: Sequence[Room], now: float) -> bool:
        """Show ``rooms`` (in this order); True when some room's time just ran out."""
        cards = self.cards
        if [c.room_id for c in cards] == [r.id for r in rooms]:
            rang = False
            for card, room in zip(cards, rooms, strict=True):
                rang |= card.show(room, now)
            return rang
        # The set of rooms changed: rebuild, keeping which card had the focus and each room's last look
        # (a room that was counting down before the rebuild still rings when it reaches zero after it).
        had_focus = self.current.room_id if self.current is not None and self.current.has_focus else None
        looks = {c.room_id: c.look for c in cards}
        fresh = [RoomCard(room, now, looks.get(room.id)) for room in rooms]
        await self.remove_children()
        await self.mount_all(fresh)
        rang = self.tick(now)
        focus_to = next((c for c in fresh if c.room_id == had_focus), None)
        if focus_to is None and had_focus is not None and fresh:
            focus_to = fresh[0]
        if focus_to is not None:
            focus_to.focus()
        return rang
