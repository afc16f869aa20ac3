"""A device's status history, newest first. It lives on the server only: the dialog says "asking the
server…", then shows the changes — or, offline, that the history needs the server (the desk's own view
of the device is on the board behind)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from focusdesk.domain.errors import DomainError
from focusdesk.domain.reservations import local_datetime
from focusdesk.domain.timeutil import local_hhmm
from focusdesk.tui.dialogs.framed import FramedDialog
from focusdesk.tui.widgets.device_look import status_text

if TYPE_CHECKING:
    from focusdesk.station.model import DeviceStatusEntry, Resource

log = logging.getLogger(__name__)

Load = Callable[[], Awaitable["list[DeviceStatusEntry]"]]


def history_text(entries: list[DeviceStatusEntry], tz: str) -> Text:
    if not entries:
        return Text("No status changes yet.", style="dim")
    text = Text()
    for i, entry in enumerate(entries):
        if i:
            text.append("\n")
        when = local_datetime(entry.at, tz)
        text.append(f"{when:%a %d %b} {local_hhmm(entry.at, tz)}  ", style="dim")
        text.append_text(status_text(entry.status))
        who = entry.by or "—"
        text.append(f"  {who}" + (f" ({entry.source})" if entry.source and entry.source != "staff" else ""))
        if entry.note:
            text.append(f" · {entry.note}", style="italic")
    return text


class StatusHistoryDialog(FramedDialog[None]):
    DEFAULT_CSS = """
    StatusHistoryDialog > #history-box {
        width: 84;
        max-width: 98%;
        max-height: 90%;
    }
    StatusHistoryDialog #history-scroll { height: auto; max-height: 30; }
    StatusHistoryDialog #history-body { height: auto; }
    StatusHistoryDialog #history-body.-error { color: $text-error; }
    """
    BINDINGS = [Binding("escape,enter,h", "close", "Close", id="history.close", tooltip="Back to the board")]

    def __init__(self, device: Resource, load: Load, tz: str) -> None:
        super().__init__()
        self.device = device
        self.load = load
        self.tz = tz
        self.entries: list[DeviceStatusEntry] | None = None
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="history-box", classes="dialog-box") as box:
            box.border_title = f"Status history of {self.device.name}"
            box.border_subtitle = "Escape closes"
            with VerticalScroll(id="history-scroll"):
                yield Static(Text("Asking the server…", style="italic"), id="history-body")

    def on_mount(self) -> None:
        self._fetch()

    @property
    def body(self) -> str:
        return str(self.query_one("#history-body", Static).content)

    @work(exclusive=True, group="status-history", exit_on_error=False)
    async def _fetch(self) -> None:
        body = self.query_one("#history-body", Static)
        try:
            self.entries = await self.load()
        except DomainError as exc:
            self.error = exc.message
            body.update(exc.message)
            body.add_class("-error")
            return
        except Exception as exc:  # a bug must not leave "Asking the server…" on screen forever
            log.exception("status history of %s", self.device.id)
            self.error = f"Could not read the history: {exc}"
            body.update(self.error)
            body.add_class("-error")
            return
        body.update(history_text(self.entries, self.tz))

    def action_close(self) -> None:
        self.dismiss(None)
