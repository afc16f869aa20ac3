"""How the desk's connection and "last synced" are said — one wording for the status bar and the Sync screen."""

from __future__ import annotations

import time

from rich.text import Text

from focusdesk.station.model import StationStatus

# connection -> (mark, short words for the status bar, long words for the Sync screen, colour)
_CONNECTION = {
    "online": ("●", "Online", "Online", "green"),
    "reconnecting": ("◐", "Reconnecting", "Reconnecting…", "yellow"),
    "offline": (
        "○",
        "Offline — working locally",
        "Offline — working locally; check-ins are queued and sent when the server is back",
        "red",
    ),
    "signed_out": (
        "○",
        "Signed out — restart to sign in",
        "Signed out — quit (Ctrl+Q) and start FocusDesk again to sign in",
        "red",
    ),
    "starting": ("◌", "Connecting", "Connecting…", "yellow"),
}


def connection_text(status: StationStatus, *, long: bool = False) -> Text:
    mark, short, full, colour = _CONNECTION.get(
        status.connection, ("?", status.connection, status.connection, "yellow")
    )
    words = full if long else short
    if status.connection == "online":
        if long:
            words = "Online — live updates" if status.via == "live" else "Online — polling (live channel down)"
        elif status.via == "polling":
            words = "Online (polling)"
    return Text(f"{mark} {words}", style=f"bold {colour}")


def ago(at: float | None, now: float | None = None) -> str:
    if at is None:
        return "never"
    seconds = max(0.0, (time.time() if now is None else now) - at)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"
