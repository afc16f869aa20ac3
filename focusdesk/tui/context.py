"""What the app is started with: where the desk keeps its files, how it reaches printers, and the desk
itself once signed in. Built by the CLI (``focusdesk``) or the demo; the screens read it from the app."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from focusdesk.station.credentials import TokenStore
from focusdesk.station.db import state_dir
from focusdesk.station.desk import Desk, DeskConfig
from printers.session import LinkOpener, default_opener


@dataclass
class DeskContext:
    config: DeskConfig = field(default_factory=DeskConfig)
    directory: Path = field(default_factory=state_dir)
    ble_backend: Any = None  # bleak backend for scans/connects: None = the system's, a VirtualAir in the demo
    printer_opener: LinkOpener | None = None
    virtual_world: Any = None  # printers.virtual.world.VirtualWorld in the demo, started with the app
    desk: Desk | None = None
    use_keyring: bool = True
    demo_password: str | None = None  # the demo pre-fills the sign-in form
    # False: the desk's sync loop and printer worker are not started (snapshot tests and benchmarks show a
    # frozen desk; nothing changes under them).
    autostart: bool = True

    def __post_init__(self) -> None:
        if self.printer_opener is None:
            self.printer_opener = default_opener(self.ble_backend)

    @property
    def token_store(self) -> TokenStore:
        return TokenStore(self.directory, use_keyring=self.use_keyring)

    def open_desk(self, token: str, **sync_options: Any) -> Desk:
        self.desk = Desk.open(
            self.config, token, directory=self.directory, printer_opener=self.printer_opener, **sync_options
        )
        return self.desk
