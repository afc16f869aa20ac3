"""Checked in / registered, live: repaints when this desk or another one checks someone in."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from focusdesk.station.model import Counts

BAR_W = 10


def counts_text(counts: Counts, *, bar: bool = True) -> Text:
    """``Checked in 1,234 / 5,000  ▰▰▱▱▱▱▱▱▱▱ 25%``."""
    share = counts.checked_in / counts.registered if counts.registered else 0.0
    text = Text(no_wrap=True, overflow="ellipsis", justify="right")
    text.append("Checked in ")
    text.append(f"{counts.checked_in:,}", style="bold")
    text.append(f" / {counts.registered:,}")
    if bar:
        filled = round(share * BAR_W)
        text.append("  ")
        text.append("▰" * filled, style="green")
        text.append("▱" * (BAR_W - filled), style="dim")
    text.append(f" {share:.0%}", style="bold")
    return text


class Counters(Static):
    """The event's progress, from the local replica (``station.counts()``), updated with the desk."""

    DEFAULT_CSS = """
    Counters { width: auto; height: 1; padding: 0 1; }
    """

    counts: Counts | None = None

    def on_mount(self) -> None:
        self.app.desk_changed.subscribe(self, self._changed)  # type: ignore[attr-defined]
        self.refresh_counts()

    def _changed(self, _: Any) -> None:
        self.refresh_counts()

    def refresh_counts(self) -> None:
        desk = getattr(self.app, "desk", None)
        if desk is None:
            return
        self.counts = desk.station.counts()
        self.update(counts_text(self.counts, bar=self.app.size.width >= 70))
