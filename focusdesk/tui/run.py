"""``focusdesk`` with no subcommand: open the desk this computer remembers, or the sign-in form.

A desk that knows its server, its event and has a token opens at once — without asking the server
anything, so an unreachable server at the start of a shift is not fatal: the desk opens offline on its
replica and the sync loop reconnects by itself. A different ``--server`` (or a new ``--station`` name,
which the server only learns at sign-in) means signing in again.

``focusdesk room NAME`` is the same desk opened as a display for one room (``room=NAME``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from focusdesk.station.db import StationDatabaseError, state_dir
from focusdesk.station.desk import DeskConfig
from focusdesk.tui.app import FocusDeskApp
from focusdesk.tui.context import DeskContext

NO_KEYRING_ENV = "FOCUSDESK_NO_KEYRING"


def keyring_wanted() -> bool:
    """False when ``FOCUSDESK_NO_KEYRING`` is set to something true (tests, headless boxes)."""
    return os.environ.get(NO_KEYRING_ENV, "").strip().lower() not in ("1", "true", "yes", "on")


def build_app(
    server: str | None,
    station: str | None,
    directory: Path | None = None,
    *,
    use_keyring: bool | None = None,
    room: str | None = None,
) -> FocusDeskApp:
    """The app, with the desk already open when the desk's config and token allow it; ``room``: show only
    that room's focus view.

    Raises :class:`StationDatabaseError` when the desk's own file cannot be used.
    """
    directory = directory or state_dir()
    config = DeskConfig.load(directory)
    sign_in_again = False
    if server:
        sign_in_again |= config.use_server(server)
    if station and station.strip() and station.strip() != config.station_name:
        config.station_name = station.strip()
        sign_in_again = True
    context = DeskContext(
        config, directory=directory, use_keyring=keyring_wanted() if use_keyring is None else use_keyring
    )
    if not sign_in_again and config.server_url and config.station_id and config.event_id is not None:
        token = context.token_store.load(config.server_url, config.station_id)
        if token:
            context.open_desk(token)
    return FocusDeskApp(context, room=room)


def run_tui(
    server: str | None,
    station: str | None,
    directory: Path | None = None,
    *,
    use_keyring: bool | None = None,
    room: str | None = None,
) -> int:
    try:
        app = build_app(server, station, directory, use_keyring=use_keyring, room=room)
    except StationDatabaseError as exc:
        print(f"focusdesk: {exc}", file=sys.stderr)
        return 2
    app.run()
    context = app.context
    desk = context.desk
    if desk is not None and desk.station.connection == "signed_out":
        # The server no longer takes this token: forget it so the next start asks to sign in.
        context.token_store.forget(context.config.server_url, context.config.station_id)
        print("focusdesk: this desk was signed out; start focusdesk again to sign in.", file=sys.stderr)
    return app.return_code or 0
