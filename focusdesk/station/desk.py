"""A desk, wired: the Station (replica, outbox, actions), its SyncLoop and its PrintQueue — plus what the
desk remembers between runs (server, station id and name, event). The TUI holds one ``Desk`` and calls it;
the rules of "check in, then print the badge" live here, not in a screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from focusdesk.station.api import ServerApi
from focusdesk.station.db import state_dir
from focusdesk.station.draws import Draws
from focusdesk.station.engine import Station
from focusdesk.station.live import cancel_and_wait
from focusdesk.station.model import ActionResult
from focusdesk.station.presence import PresenceReporter
from focusdesk.station.printing import PrintQueue
from focusdesk.station.sync import SyncLoop
from printers.session import LinkOpener

log = logging.getLogger(__name__)

CONFIG_FILE = "desk.json"


@dataclass
class DeskConfig:
    """What a desk remembers between runs (never the token: that is in the keyring)."""

    server_url: str = ""
    station_id: str = ""
    station_name: str = ""
    event_id: int | None = None
    event_name: str = ""
    email: str = ""
    # Hours answered actions are kept, so a server restored from a backup can be given them again
    # (None: $FOCUSDESK_OUTBOX_RETENTION_H, else 24).
    outbox_retention_h: float | None = None

    def retention_s(self) -> float | None:
        """The configured retention in seconds; None (the default) when unset or not a positive number."""
        hours = self.outbox_retention_h
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours < float("inf"):
            return None
        return float(hours) * 3600

    @classmethod
    def load(cls, directory: Path | None = None) -> DeskConfig:
        path = (directory or state_dir()) / CONFIG_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable desk settings %s (%s)", path, exc)
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def save(self, directory: Path | None = None) -> None:
        directory = directory or state_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / CONFIG_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        tmp.replace(path)

    def use_server(self, server_url: str) -> bool:
        """Point the desk at ``server_url``; returns True when that is a different server than before.

        A different server is a different desk: the station id (and with it the station file, whose
        queue belongs to the old server) and the event are forgotten, so signing in there starts afresh
        and nothing queued for the old server is ever sent to the new one.
        """
        url = server_url.strip().rstrip("/")
        changed = bool(self.server_url) and url != self.server_url.rstrip("/")
        if changed:
            self.station_id = ""
            self.event_id = None
            self.event_name = ""
        self.server_url = url
        return changed

    def ensure_station_id(self) -> str:
        if not self.station_id:
            self.station_id = f"desk-{uuid.uuid4().hex[:12]}"
        return self.station_id


class Desk:
    """One signed-in desk at one event. ``start`` runs the sync loop and the printer; ``stop`` ends both."""

    def __init__(self, station: Station, api: ServerApi, sync: SyncLoop, printing: PrintQueue) -> None:
        self.station = station
        self.api = api
        self.sync = sync
        self.printing = printing
        self.draws = Draws(station, api)
        # The desk's presence on the Operations board (station/presence.py).
        self.presence = PresenceReporter(station, printing, lambda: sync.live)
        station.listeners.append(self.presence.poke)
        printing.listeners.append(self.presence.poke)
        self._print_task: asyncio.Task[None] | None = None
        self._presence_task: asyncio.Task[None] | None = None

    @classmethod
    def open(
        cls,
        config: DeskConfig,
        token: str,
        *,
        directory: Path | None = None,
        printer_opener: LinkOpener | None = None,
        live: bool = True,
        **sync_options: Any,
    ) -> Desk:
        if config.event_id is None:
            raise ValueError("pick an event before opening the desk")
        station = Station.open(
            station_id=config.station_id,
            station_name=config.station_name,
            event_id=config.event_id,
            directory=directory,
            retention_s=config.retention_s(),
        )
        api = ServerApi(config.server_url, token)
        sync = SyncLoop(station, api, live=live, **sync_options)
        return cls(station, api, sync, PrintQueue(station, printer_opener))

    async def start(self) -> None:
        self.sync.start()
        if self._print_task is None:
            self._print_task = asyncio.create_task(self.printing.run(), name="desk-printer")
        if self._presence_task is None:
            self._presence_task = asyncio.create_task(self.presence.run(), name="desk-presence")

    async def stop(self) -> None:
        task, self._presence_task = self._presence_task, None
        if task is not None:
            await cancel_and_wait(task)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.presence.leave(), 1.0)  # offline on the board at once
        await self.sync.stop()
        task, self._print_task = self._print_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.printing.close()
        await self.api.aclose()
        self.station.close()

    # -- actions: the engine's, with the badge that goes with them --------------------------------------

    def _with_badge(self, result: ActionResult) -> ActionResult:
        if result.already_in is None:
            self.printing.enqueue_badge(result.attendee)
        return result

    def check_in(self, attendee_id: str) -> ActionResult:
        """Check in and queue the badge; someone already in gets no second badge (reprint for that)."""
        return self._with_badge(self.station.check_in(attendee_id))

    def check_in_by_qr(self, secret: str) -> ActionResult:
        return self._with_badge(self.station.check_in_by_qr(secret))

    def walk_in(self, **fields: Any) -> ActionResult:
        return self._with_badge(self.station.walk_in(**fields))

    def undo_last(self) -> ActionResult:
        return self.station.undo_last()

    def reprint(self, attendee_id: str) -> int:
        attendee = self.station.get(attendee_id)
        if attendee is None:
            raise LookupError(f"no attendee {attendee_id} at this desk")
        return self.printing.enqueue_badge(attendee, reprint=True)
