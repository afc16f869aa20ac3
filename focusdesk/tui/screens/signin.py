"""Signing this desk in: server address, email, password and the desk's name → a token (to the keyring),
then the event (picked when the account works at several) → the desk opens.

The app pushes this screen when it has no desk and waits for ``dismiss(True)``, which comes once
``context.desk`` is open. Failures are shown inline in the server's own words (or "cannot reach the
server" for the network) and every field keeps what was typed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Static

from focusdesk.station.api import ApiError, ServerApi, Transient
from focusdesk.station.db import StationDatabaseError
from focusdesk.station.signin import sign_in
from focusdesk.tui.dialogs.event_picker import EventPicker
from focusdesk.tui.widgets.status_bar import StatusBar

DEFAULT_SERVER = "http://127.0.0.1:8765"
FIELDS = ("server", "email", "password", "desk")


def describe_failure(exc: Exception, server_url: str) -> str:
    """What went wrong, for the person at the desk: the server's words, or what to check."""
    if isinstance(exc, Transient):
        if exc.status is None:
            return f"Cannot reach the server at {server_url} — check the address and the network."
        return f"The server could not answer: {exc.message} — try again in a moment."
    if isinstance(exc, ApiError):
        return exc.message
    return f"Sign-in failed: {exc}"


class SignInCommands(Provider):
    async def discover(self) -> Hits:
        screen = self.screen
        if isinstance(screen, SignInScreen):
            yield DiscoveryHit("Sign in", screen.action_sign_in, help="Sign this desk in with the form's details")

    async def search(self, query: str) -> Hits:
        screen = self.screen
        matcher = self.matcher(query)
        if isinstance(screen, SignInScreen) and (score := matcher.match("Sign in")) > 0:
            yield Hit(score, matcher.highlight("Sign in"), screen.action_sign_in, help="Sign this desk in")


class SignInScreen(Screen[bool]):
    DEFAULT_CSS = """
    SignInScreen #signin-center { height: 1fr; align: center middle; }
    SignInScreen #signin-box {
        width: 72;
        max-width: 100%;
        height: auto;
        border: round $primary;
        border-title-style: bold;
        padding: 0 2;
    }
    SignInScreen #signin-intro { color: $text-muted; margin-bottom: 1; }
    SignInScreen Grid { grid-size: 2; grid-columns: 11 1fr; grid-rows: 3; height: auto; }
    SignInScreen Grid Label { height: 3; content-align: left middle; text-style: bold; }
    SignInScreen #signin-message { height: auto; min-height: 1; margin: 0 0 0 0; }
    SignInScreen #signin-message.-error { color: $text-error; text-style: bold; }
    SignInScreen #signin-message.-busy { color: $text-warning; }
    SignInScreen #signin-actions { height: auto; align-horizontal: right; }
    SignInScreen #signin-hint { width: 1fr; height: 3; content-align: left middle; color: $text-muted; }
    """
    BINDINGS = [
        Binding("ctrl+s", "sign_in", "Sign in", id="signin.submit", tooltip="Sign this desk in (Enter in any field)"),
        # Every mode needs a signed-in desk: their keys do nothing here (and leave the footer).
        Binding("f1,f2,f3,f4,f5,f6,f7,f8", "not_yet", "Sign in first", id="signin.no_modes", show=False),
    ]
    COMMANDS = {SignInCommands}

    def __init__(self) -> None:
        super().__init__()
        self._busy = False

    @property
    def context(self) -> Any:
        return self.app.context  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        config = self.context.config
        with Vertical(id="signin-center"), Vertical(id="signin-box") as box:
            box.border_title = "FocusDesk — sign in this desk"
            yield Static("Staff sign in once per desk; the desk then keeps working even offline.", id="signin-intro")
            with Grid():
                yield Label("Server", id="signin-server-label")
                yield Input(config.server_url or DEFAULT_SERVER, placeholder="http://host:8765", id="signin-server")
                yield Label("Email")
                yield Input(config.email, placeholder="you@example.org", id="signin-email")
                yield Label("Password")
                yield Input(self.context.demo_password or "", password=True, id="signin-password")
                yield Label("Desk name")
                yield Input(config.station_name or "Desk", placeholder="e.g. Entrance 2", id="signin-desk")
            yield Static("", id="signin-message")
            with Horizontal(id="signin-actions"):
                yield Static("Enter: sign in · Tab: next field", id="signin-hint")
                yield Button("Sign in", id="signin-button", variant="primary")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        empty = [name for name in FIELDS if not self.field(name).value.strip()]
        self.field(empty[0] if empty else "password").focus()

    def field(self, name: str) -> Input:
        return self.query_one(f"#signin-{name}", Input)

    def values(self) -> dict[str, str]:
        out = {name: self.field(name).value.strip() for name in FIELDS}
        out["password"] = self.field("password").value  # spaces may be part of a password
        return out

    def say(self, message: str, kind: str = "error") -> None:
        box = self.query_one("#signin-message", Static)
        box.set_classes(f"-{kind}" if message else "")
        box.update(Text(message))

    @property
    def message(self) -> str:
        """The inline message shown under the form (empty when there is none)."""
        return str(self.query_one("#signin-message", Static).content)

    # -- intents ---------------------------------------------------------------------------------

    def action_not_yet(self) -> None:
        self.notify("Sign in first: every screen of the desk needs a signed-in desk.", severity="warning")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.action_sign_in()

    @on(Button.Pressed, "#signin-button")
    def _pressed(self) -> None:
        self.action_sign_in()

    def action_sign_in(self) -> None:
        if self._busy:
            return
        values = self.values()
        missing = [name for name in FIELDS if not values[name]]
        if missing:
            words = {"server": "the server address", "email": "your email", "password": "your password"}
            self.say(f"Enter {words.get(missing[0], 'a name for this desk')}.")
            self.field(missing[0]).focus()
            return
        parts = urlsplit(values["server"])
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.say("The server address must look like http://host:8765 (or https://…).")
            self.field("server").focus()
            return
        self._busy = True
        self.say(f"Signing in to {values['server']}…", "busy")
        self._sign_in(values)

    @work(exclusive=True, group="signin", exit_on_error=False)
    async def _sign_in(self, values: dict[str, str]) -> None:
        try:
            await self._sign_in_and_open(values)
        except Exception as exc:
            self.say(describe_failure(exc, values["server"].rstrip("/")))
            self.field("server" if isinstance(exc, Transient) and exc.status is None else "password").focus()
        finally:
            self._busy = False

    async def _sign_in_and_open(self, values: dict[str, str]) -> None:
        context = self.context
        config = context.config
        url = values["server"].rstrip("/")
        # Work on a copy: a failed attempt at a mistyped address must not make this a new desk.
        draft = type(config)(**vars(config))
        draft.use_server(url)
        signed = await sign_in(
            url,
            values["email"],
            values["password"],
            station_id=draft.ensure_station_id(),
            station_name=values["desk"],
            store=context.token_store,
        )
        draft.email = values["email"]
        draft.station_name = signed.station_name
        vars(config).update(vars(draft))
        config.save(context.directory)
        if signed.warning:
            self.notify(signed.warning, title="Token stored in a file", severity="warning", timeout=10)

        api = ServerApi(url, signed.token)
        try:
            events = await api.events()
        finally:
            await api.aclose()
        if not events:
            self.say("This account has no event to work at — ask an organizer to add you to one.")
            return
        if len(events) == 1:
            event: dict[str, Any] | None = events[0]
        else:
            self.say("")
            event = await self.app.push_screen_wait(EventPicker(events, current=config.event_id))
            if event is None:
                self.say("Pick an event to open the desk (press Enter to sign in again).")
                return
        config.event_id = int(event["id"])
        config.event_name = str(event.get("name") or "")
        config.save(context.directory)
        try:
            desk = context.open_desk(signed.token)
        except StationDatabaseError as exc:
            self.say(f"This desk's local file cannot be opened: {exc}")
            return
        desk.station.on_server_watermark(signed.last_cmd_seq)
        desk.station.set_account(signed.user)
        self.say("")
        self.dismiss(True)
