"""The notice feed: one entry per notice, newest first, with who sent it, to whom, when it stops mattering
and who acknowledged it.

What a row says depends on who looks: a sender (someone who may post notices) sees who acknowledged each
notice; anyone a notice is addressed to sees whether *they* did, and a notice still waiting for their
acknowledgement is marked so it cannot be missed. Expired notices are dimmed.

Rows are rebuilt only when what they show changed, so the highlight stays where the person put it while
the screen refreshes on every change the desk hears about.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from focusdesk.domain.timeutil import local_hhmm
from focusdesk.station.model import Notice, NoticeAck

_BADGE = {
    "high": (" HIGH ", "bold white on red"),
    "medium": (" MED  ", "bold black on yellow"),
    "low": (" low  ", "dim"),
}
PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}
# Sender rows list this many acknowledgements by name, then a count of the rest.
ACKS_NAMED = 4
EMPTY = "No notices. Notices from the organizers appear here; high-priority ones also ring on every screen."


@dataclass(frozen=True, slots=True)
class FeedView:
    """Everything a row's words depend on besides the notice itself."""

    now: float  # server time
    tz: str  # the event's timezone (times are said on the venue's clock)
    sender: bool  # this desk's person may post notices (and sees who acknowledged)


def badge(priority: str) -> Text:
    words, style = _BADGE.get(priority, (f" {priority[:4]:<4} ", "bold"))
    return Text(words, style=style)


def _who(ack: NoticeAck) -> str:
    # An email says who, but its domain is the same for everyone at an event: the part before @ is enough.
    return ack.user.partition("@")[0] if "@" in ack.user else ack.user


def acks_text(notice: Notice, view: FeedView) -> Text:
    """What a sender reads: "acknowledged by 3: staff at Desk 1 09:15, …"."""
    if not notice.acks:
        return Text("no acknowledgements yet", style="dim")
    text = Text(f"acknowledged by {len(notice.acks)}: ", style="green")
    for i, ack in enumerate(notice.acks[:ACKS_NAMED]):
        if i:
            text.append(", ")
        text.append(f"{_who(ack)} at {ack.station_name} {local_hhmm(ack.at, view.tz)}")
        if ack.pending:
            text.append(" (sending…)", style="yellow")
    if len(notice.acks) > ACKS_NAMED:
        text.append(f", … and {len(notice.acks) - ACKS_NAMED} more", style="dim")
    return text


def my_ack_text(notice: Notice, view: FeedView) -> Text | None:
    """Whether *this* person acknowledged a notice addressed to them (None: not addressed to them)."""
    if not notice.for_me or notice.pending:
        return None
    if notice.acked_by_me:
        mine = next((a for a in notice.acks if a.pending), None)
        if mine is not None:
            return Text(f"✓ you acknowledged it {local_hhmm(mine.at, view.tz)} (sending…)", style="green")
        return Text("✓ you acknowledged it", style="green")
    if notice.expired(view.now):
        return Text("you did not acknowledge it", style="dim")
    style = "bold white on red" if notice.priority == "high" else "bold black on yellow"
    return Text(" ▶ NEEDS YOUR ACKNOWLEDGEMENT — press a ", style=style)


def notice_prompt(notice: Notice, view: FeedView) -> Table:
    """Marker and badge on the left; body, then when / from / to / expiry, then acknowledgements."""
    expired = notice.expired(view.now)
    waiting = notice.needs_my_ack(view.now) and not notice.pending
    mark = Text()
    mark.append("● " if waiting else "  ", style="bold red")
    mark.append_text(badge(notice.priority))

    body = Text(notice.body, style="bold" if waiting else "")
    meta = Text()
    meta.append(local_hhmm(notice.created_at, view.tz))
    meta.append(" · from ", style="dim")
    meta.append(notice.author or "—")
    meta.append(" · to ", style="dim")
    meta.append(notice.audience)
    if notice.expires_at is not None:
        when = local_hhmm(notice.expires_at, view.tz)
        meta.append(" · ", style="dim")
        meta.append(f"expired {when}" if expired else f"expires {when}")
    if notice.pending:
        meta.append(" · sending…", style="bold yellow")

    lines: list[Text] = [body, meta]
    mine = my_ack_text(notice, view)
    if mine is not None:
        lines.append(mine)
    if view.sender and not notice.pending:
        lines.append(acks_text(notice, view))
    if expired:
        for line in (mark, *lines):
            line.stylize("dim")
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(width=8, no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(mark, Group(*lines))
    return grid


class NoticeList(OptionList):
    """Shows ``Notice``s; ``show`` repaints only when a row's words changed."""

    DEFAULT_CSS = """
    NoticeList { height: 1fr; border: round $primary 60%; }
    NoticeList:focus { border: round $primary; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._notices: list[Notice] = []
        self._key: tuple | None = None

    @property
    def notices(self) -> list[Notice]:
        return list(self._notices)

    @property
    def highlighted_notice(self) -> Notice | None:
        if self.highlighted is None or not 0 <= self.highlighted < len(self._notices):
            return None
        return self._notices[self.highlighted]

    def show(self, notices: list[Notice], view: FeedView, empty: str = EMPTY) -> bool:
        """Show ``notices``; returns whether the rows changed. Keeps the highlight on the same notice; the
        first time, it starts on the most urgent notice waiting for this person's acknowledgement."""
        # Expiry and "needs my ack" move with the clock: they are part of what a row shows.
        key = (view.tz, view.sender, tuple((n, n.expired(view.now)) for n in notices))
        if key == self._key:
            return False
        # Nothing was highlighted yet (first paint, or the feed was empty): start where the person is needed.
        fresh = self._key is None or not self._notices
        self._key = key
        keep = self.highlighted_notice
        row = self.highlighted
        self._notices = list(notices)
        if not notices:
            self.set_options([Option(Text(empty, style="dim"), disabled=True)])
            return True
        options: list[Option | None] = []
        for notice in notices:
            options += [Option(notice_prompt(notice, view), id=notice.id), None]  # None: a divider line
        self.set_options(options[:-1])
        ids = [n.id for n in notices]
        if keep is not None and keep.id in ids:
            self.highlighted = ids.index(keep.id)
        elif fresh:
            self.highlighted = first_waiting(notices, view.now)
        else:
            self.highlighted = min(row or 0, len(notices) - 1)
        return True


def first_waiting(notices: list[Notice], now: float) -> int:
    """The row of the most urgent notice waiting for this person's acknowledgement (the top row if none)."""
    waiting = [i for i, n in enumerate(notices) if n.needs_my_ack(now) and not n.pending]
    return min(waiting, key=lambda i: (PRIORITY_RANK.get(notices[i].priority, 1), i), default=0)
