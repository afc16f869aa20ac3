"""The approval inbox: bookings waiting for an organizer, the oldest request first (``tab`` on the
Reservations screen). The highlighted one is what ``a`` / ``r`` act on; Enter shows it on the timeline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from focusdesk.tui.widgets.booking_details import inbox_prompt

if TYPE_CHECKING:
    from focusdesk.station.model import Reservation

EMPTY = "Nothing waiting for approval."


class BookingInbox(OptionList):
    DEFAULT_CSS = """
    BookingInbox { height: 1fr; border: round $warning 60%; border-title-style: bold; }
    BookingInbox:focus { border: round $warning; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._bookings: list[Reservation] = []
        self._key: tuple | None = None

    @property
    def bookings(self) -> list[Reservation]:
        return list(self._bookings)

    @property
    def highlighted_booking(self) -> Reservation | None:
        if self.highlighted is None or not 0 <= self.highlighted < len(self._bookings):
            return None
        return self._bookings[self.highlighted]

    def show(self, bookings: list[Reservation], tz: str) -> bool:
        """Show ``bookings``; the highlight stays on the same booking (or the one after a decided one)."""
        key = (tz, tuple(bookings))
        if key == self._key:
            return False
        keep = self.highlighted_booking
        index = self.highlighted or 0
        self._key = key
        self._bookings = list(bookings)
        self.border_title = f"Waiting for approval ({len(bookings)})"
        if not bookings:
            self.set_options([Option(Text(EMPTY, style="dim"), disabled=True)])
            return True
        self.set_options([Option(inbox_prompt(b, tz), id=b.id) for b in bookings])
        ids = [b.id for b in bookings]
        self.highlighted = ids.index(keep.id) if keep is not None and keep.id in ids else min(index, len(ids) - 1)
        return True
