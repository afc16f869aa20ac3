"""How a prize draw is shown: the result (winners, pool, seed, status) and the history list of draws.

A draw is checkable by anyone: the same seed and the same eligible people give the same winners, so the
seed and pool size are always on screen next to the names.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from focusdesk.domain.timeutil import local_hhmm
from focusdesk.station.model import Draw

STATUS_STYLE = {"proposed": "bold yellow", "confirmed": "bold green", "discarded": "dim strike"}
STATUS_WORDS = {
    "proposed": "proposed (not confirmed yet)",
    "confirmed": "confirmed",
    "discarded": "discarded (redrawn)",
}
EMPTY_HISTORY = "No draws yet."


def status_text(draw: Draw, *, long: bool = False, decide: bool = False) -> Text:
    """``decide``: the person may confirm or redraw, so a proposed draw says how."""
    words = STATUS_WORDS.get(draw.status, draw.status) if long else draw.status
    if long and decide and draw.status == "proposed":
        words = "proposed — y confirms, r redraws"
    return Text(words, style=STATUS_STYLE.get(draw.status, "bold"))


def winner_lines(draw: Draw) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", style="bold")
    grid.add_column(justify="right", style="cyan", no_wrap=True)
    grid.add_column()
    for place, winner in enumerate(draw.winners, start=1):
        number = f"#{winner.registration_number}" if winner.registration_number is not None else winner.attendee_id
        grid.add_row(f"{place}.", number, Text(winner.name or "—", style="bold"))
    return grid


def result_renderable(draw: Draw, tz: str, *, decide: bool = False) -> Group:
    """The draw in full: prize and status, who may have won, the seed, then the winners."""
    head = Text()
    head.append(draw.prize or "—", style="bold")
    head.append(" · ")
    head.append_text(status_text(draw, long=True, decide=decide))
    facts = Text(style="dim")
    facts.append(f"drawn {local_hhmm(draw.created_at, tz)} by {draw.by or '—'} · ")
    facts.append(f"{draw.count} from a pool of {draw.pool_size} ")
    facts.append("(checked-in attendees only)" if draw.checked_in_only else "(everyone registered)")
    seed = Text(f"seed {draw.seed} (the same seed and pool give the same winners)", style="dim")
    return Group(head, facts, seed, winner_lines(draw))


def history_prompt(draw: Draw, tz: str) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{local_hhmm(draw.created_at, tz)}  ", style="dim")
    text.append_text(status_text(draw))
    text.append(" " * max(1, 11 - len(draw.status)))
    text.append(draw.prize or "—", style="strike" if draw.status == "discarded" else "bold")
    names = ", ".join(w.name for w in draw.winners)
    text.append(f"  {len(draw.winners)} of {draw.pool_size}: {names}", style="dim")
    return text


class DrawHistory(OptionList):
    """The event's draws, newest first; the highlighted one is shown in full above the list."""

    DEFAULT_CSS = """
    DrawHistory { height: 1fr; border: round $primary 60%; }
    DrawHistory:focus { border: round $primary; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._draws: list[Draw] = []
        self._key: tuple | None = None

    @property
    def draws(self) -> list[Draw]:
        return list(self._draws)

    @property
    def highlighted_draw(self) -> Draw | None:
        if self.highlighted is None or not 0 <= self.highlighted < len(self._draws):
            return None
        return self._draws[self.highlighted]

    def show(self, draws: list[Draw], tz: str, *, select: str | None = None) -> bool:
        """Show ``draws``; returns whether the rows changed. Keeps the highlight on the same draw, or moves
        it to ``select`` (a draw just run)."""
        key = (tz, tuple(draws))
        if key == self._key and select is None:
            return False
        keep = self.highlighted_draw
        self._key = key
        self._draws = list(draws)
        if not draws:
            self.set_options([Option(Text(EMPTY_HISTORY, style="dim"), disabled=True)])
            return True
        self.set_options([Option(history_prompt(d, tz), id=d.id) for d in draws])
        ids = [d.id for d in draws]
        wanted = select or (keep.id if keep is not None else None)
        self.highlighted = ids.index(wanted) if wanted in ids else 0
        return True
