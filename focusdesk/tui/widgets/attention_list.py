"""What needs a person's attention on this desk: commands the server refused (with its reason), check-ins
that lost to another desk, and notices — oldest first, each with the attendee's name.

Rows are rebuilt only when the set of items changed, so the highlight stays where the person put it while
the screen around the list refreshes every second.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Group
from rich.padding import Padding
from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from focusdesk.station.model import Attendee, AttentionItem

_KIND = {
    "rejected": ("✗", "Refused", "bold red"),
    "conflict": ("⇄", "Changed elsewhere", "bold yellow"),
    "notice": ("i", "Notice", "bold cyan"),
    "sync": ("!", "Sync", "bold yellow"),
}


def item_prompt(item: AttentionItem, name: str | None) -> Group:
    """One item: kind, time, attendee; the server's reason below, indented and wrapped."""
    icon, word, style = _KIND.get(item.kind, ("!", item.kind.capitalize(), "bold yellow"))
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append(f"{icon} {word:<18}", style=style)
    head.append(time.strftime("%H:%M:%S  ", time.localtime(item.created_at)), style="dim")
    head.append(name or "—", style="bold")
    if item.cmd_seq is not None:
        head.append(f"  (command #{item.cmd_seq})", style="dim")
    return Group(head, Padding(Text(item.message), (0, 0, 0, 2)))


EMPTY = "Nothing needs attention. Check-ins the server refuses and conflicts with other desks show up here."


class AttentionList(OptionList):
    """Shows ``AttentionItem``s; ``names`` finds an attendee's name by id (the desk's replica)."""

    DEFAULT_CSS = """
    AttentionList { height: 1fr; border: round $error 60%; }
    AttentionList:focus { border: round $error; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._items: list[AttentionItem] = []
        self._shown = False

    @property
    def items(self) -> list[AttentionItem]:
        return list(self._items)

    @property
    def highlighted_item(self) -> AttentionItem | None:
        if self.highlighted is None or not 0 <= self.highlighted < len(self._items):
            return None
        return self._items[self.highlighted]

    def show(self, items: list[AttentionItem], find: Callable[[str], Attendee | None]) -> bool:
        """Show ``items``; returns whether the rows changed. Keeps the highlight on the same item, or on
        the row where it was when that item went away."""
        if self._shown and [i.id for i in items] == [i.id for i in self._items]:
            return False
        self._shown = True
        keep = self.highlighted_item
        row = self.highlighted
        self._items = list(items)
        if not items:
            self.set_options([Option(Text(EMPTY, style="dim"), disabled=True)])
            return True
        options = []
        for item in items:
            person = find(item.attendee_id) if item.attendee_id else None
            options.append(Option(item_prompt(item, person.name if person else _fallback_name(item)), id=str(item.id)))
        self.set_options(options)
        ids = [i.id for i in items]
        if keep is not None and keep.id in ids:
            self.highlighted = ids.index(keep.id)
        else:
            self.highlighted = min(row or 0, len(items) - 1)
        return True


def _fallback_name(item: AttentionItem) -> str | None:
    """The person may be gone from the replica (removed at the server); the reason usually names them."""
    return "(no longer at this event)" if item.attendee_id else None
