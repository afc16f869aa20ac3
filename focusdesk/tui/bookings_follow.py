"""What the Reservations and Devices screens share: they redraw from the station when a booking or a
resource changes — only while shown; a hidden screen catches up when it is shown again — and tick once a
second for the clock-driven parts (the now-line, "in use until")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.screen import Screen

from focusdesk.tui.room_controls import showing

TICK_S = 1.0


def follow_bookings(screen: Screen[Any], redraw: Callable[[], None], tick: Callable[[], None]) -> None:
    """Call from ``on_mount``; pair it with ``on_screen_resume`` calling ``redraw``."""

    def changed(_: Any) -> None:
        if showing(screen):
            redraw()

    screen.app.bookings_changed.subscribe(screen, changed)  # type: ignore[attr-defined]
    screen.set_interval(TICK_S, tick)
