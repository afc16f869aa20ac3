"""How a device's status looks — a mark, a colour and a word, never the colour alone — and its order on
the Devices board (problems first)."""

from __future__ import annotations

from rich.text import Text

from focusdesk.domain.reservations import STATUS_WORDS

# status -> (mark, style)
LOOK = {
    "offline": ("✕", "bold red"),
    "maintenance": ("▲", "bold yellow"),
    "in_use": ("◐", "bold blue"),
    "available": ("●", "green"),
    "online": ("●", "green"),
}
# Problems first: a device that is down is what the person looking at the board has to act on.
ORDER = {"offline": 0, "maintenance": 1, "in_use": 2, "available": 3, "online": 3}
PROBLEMS = ("offline", "maintenance")


def status_text(status: str | None) -> Text:
    if status is None:
        return Text("? unknown", style="dim")
    mark, style = LOOK.get(status, ("?", ""))
    return Text(f"{mark} {STATUS_WORDS.get(status, status)}", style=style)


def board_order(status: str | None) -> int:
    return ORDER.get(status or "", 4)
