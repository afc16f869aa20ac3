"""The Notices screen (F5): what the organizers told this desk, acknowledging it, and sending a notice.

The feed is ``station.notices.list()``, newest first, rendered by :class:`NoticeList`: priority, body, who
sent it, to whom, when (on the venue's clock), its expiry, and the acknowledgements — who acknowledged,
for people who send notices; whether *you* did, for the people a notice is for. Expired notices are
hidden until ``x`` shows them. ``a`` acknowledges the highlighted notice and ``c`` opens the form to send
one (organizers). Both are desk commands: they show at once as pending and work offline.

High-priority notices also interrupt whatever screen is showing; that is the app's job (``app.py``), so
it happens even when this screen was never opened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static

from focusdesk.domain.errors import DomainError
from focusdesk.domain.notices import Audience
from focusdesk.domain.roles import NOTICE_POST
from focusdesk.station.model import Notice
from focusdesk.tui.commands import ScreenCommands
from focusdesk.tui.dialogs.compose_notice import ComposeNoticeDialog
from focusdesk.tui.widgets.notice_list import EMPTY, FeedView, NoticeList
from focusdesk.tui.widgets.status_bar import StatusBar

# Expiry is said against the clock: repaint this often even when nothing else changes.
TICK_S = 15.0
NOT_A_SENDER = "Only organizers send notices; your account may read and acknowledge them."


class NoticesCommands(ScreenCommands):
    """The Notices screen's actions in the command palette."""

    def commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        screen = self.screen
        if not isinstance(screen, NoticesScreen):
            return []
        return [
            ("Notices: acknowledge", "Acknowledge the highlighted notice (a)", screen.action_acknowledge),
            ("Notices: compose", "Send a notice to staff (c, organizers)", screen.action_compose),
            ("Notices: show or hide expired", "Toggle expired notices in the feed (x)", screen.action_toggle_expired),
        ]


class NoticesScreen(Screen[None]):
    DEFAULT_CSS = """
    NoticesScreen #notices-summary-box {
        height: auto;
        border: round $primary 60%;
        border-title-style: bold;
        padding: 0 1;
    }
    NoticesScreen #notices-summary { height: auto; }
    """
    BINDINGS = [
        Binding(
            "a", "acknowledge", "Acknowledge", id="notices.acknowledge", tooltip="Acknowledge the highlighted notice"
        ),
        Binding("c", "compose", "Compose", id="notices.compose", tooltip="Send a notice to staff (organizers)"),
        Binding("x", "toggle_expired", "Expired", id="notices.expired", tooltip="Show or hide expired notices"),
    ]
    COMMANDS = {NoticesCommands}
    AUTO_FOCUS = "#notices-feed"

    def __init__(self) -> None:
        super().__init__()
        self.show_expired = False

    def compose(self) -> ComposeResult:
        with Vertical(id="notices-summary-box") as box:
            box.border_title = "Notices"
            yield Static(id="notices-summary")
        yield NoticeList(id="notices-feed")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.app.desk_changed.subscribe(self, self._desk_changed)  # type: ignore[attr-defined]
        self.set_interval(TICK_S, self._tick)
        self.refresh_notices()

    def on_screen_resume(self) -> None:
        self.refresh_notices()

    # While another mode is shown this screen stays mounted; it catches up when it is shown again.
    def _tick(self) -> None:
        if self.is_current:
            self.refresh_notices()

    def _desk_changed(self, _: Any) -> None:
        if self.is_current:
            self.refresh_notices()

    @property
    def feed(self) -> NoticeList:
        return self.query_one("#notices-feed", NoticeList)

    @property
    def desk(self) -> Any:
        return getattr(self.app, "desk", None)

    def _view(self) -> FeedView:
        station = self.desk.station
        event = station.event() or {}
        return FeedView(station.server_now(), event.get("timezone") or "UTC", station.can(NOTICE_POST))

    def refresh_notices(self) -> None:
        summary = self.query_one("#notices-summary", Static)
        if self.desk is None:
            summary.update(Text("Not signed in", style="bold red"))
            return
        view = self._view()
        everything = self.desk.station.notices.list(include_expired=True)
        shown = everything if self.show_expired else [n for n in everything if not n.expired(view.now)]
        hidden = len(everything) - len(shown)
        empty = f"No current notices ({hidden} expired; press x to show them)." if hidden else EMPTY
        if self.feed.show(shown, view, empty):
            self.refresh_bindings()
        summary.update(self._summary(everything, hidden, view))
        self.feed.border_title = f"Feed ({len(shown)})"
        keys = [
            "a acknowledge",
            "c compose" if view.sender else "",
            "x hide expired" if self.show_expired else "x show expired",
        ]
        self.feed.border_subtitle = " · ".join(k for k in keys if k)

    def _summary(self, everything: list[Notice], hidden: int, view: FeedView) -> Text:
        waiting = [n for n in everything if n.needs_my_ack(view.now) and not n.pending]
        text = Text()
        if waiting:
            high = sum(1 for n in waiting if n.priority == "high")
            text.append(f"● {len(waiting)} to acknowledge", style="bold red" if high else "bold yellow")
            if high:
                text.append(f" ({high} high priority)", style="bold red")
            text.append(" · highlight one, press a", style="dim")
        else:
            text.append("✓ nothing waiting for your acknowledgement", style="green")
        sending = sum(1 for n in everything if n.pending)
        if sending:
            text.append(f" · {sending} sending…", style="yellow")
        text.append("\n")
        if hidden:
            text.append(f"{hidden} expired hidden (x shows)", style="dim")
        elif self.show_expired:
            text.append("expired shown (x hides)", style="dim")
        else:
            text.append("none expired", style="dim")
        text.append(" · ", style="dim")
        text.append("you send notices (c)" if view.sender else "only organizers send notices", style="dim")
        return text

    # -- actions ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "acknowledge" and self.is_mounted and self.desk is not None:
            notice = self.feed.highlighted_notice
            waiting = notice is not None and notice.needs_my_ack(self.desk.station.server_now()) and not notice.pending
            return True if waiting else None
        return True

    @on(OptionList.OptionHighlighted, "#notices-feed")
    def _highlighted(self) -> None:
        self.refresh_bindings()

    def action_acknowledge(self) -> None:
        notice = self.feed.highlighted_notice
        if notice is None:
            self.notify("No notice highlighted.", severity="warning")
            return
        try:
            self.desk.station.notices.acknowledge(notice.id)
        except DomainError as exc:
            self.notify(exc.message, title="Cannot acknowledge", severity="warning")
            return
        self.refresh_notices()
        self.notify("Acknowledged (sent to the server when it can be reached).", title="Notice")

    def action_compose(self) -> None:
        station = self.desk.station
        if not station.can(NOTICE_POST):
            self.notify(NOT_A_SENDER, title="Cannot send notices", severity="warning")
            return

        def send(body: str, priority: str, audience: Audience, expires_in_s: float | None) -> Notice:
            notice = station.notices.post(body, priority=priority, audience=audience, expires_in_s=expires_in_s)
            # Before the event loop turns again (the server's echo may come back within it).
            self.app.notice_sent_here(notice.id)  # type: ignore[attr-defined]
            return notice

        def sent(notice: Notice | None) -> None:
            if notice is None:
                return
            self.refresh_notices()
            self.notify(f"Sending to {notice.audience}: {notice.body[:60]}", title="Notice")

        self.app.push_screen(ComposeNoticeDialog(send, this_desk=station.station_id), sent)

    def action_toggle_expired(self) -> None:
        self.show_expired = not self.show_expired
        self.refresh_notices()
