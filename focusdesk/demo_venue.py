"""The rest of the demo venue: a few other desks that report their presence (one with a printer out of
paper, one whose laptop clock is off, one that goes silent and turns offline) and one that checks people in
now and then — so the Operations screen, the counts and the check-in rate have something to show.

They talk to the demo's embedded server exactly as real desks do (sign-in, live connection, presence
frames, ``POST /commands``), from a thread of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from focusdesk import __version__
from focusdesk.domain.timeutil import to_iso
from focusdesk.station.api import ServerApi
from focusdesk.station.live import LiveClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimDesk:
    station_id: str
    name: str
    printer: dict[str, Any] | None
    queued: int = 0
    clock_offset_ms: int = 40
    silent_after_s: float | None = None  # stops reporting (a laptop closed without signing off)
    checks_in: bool = False


SIM_DESKS = (
    SimDesk(
        "demo-sim-desk-2", "Desk 2", {"model": "Niimbot B21", "state": "ready", "battery_percent": 76}, checks_in=True
    ),
    SimDesk("demo-sim-desk-3", "Desk 3", {"model": "Phomemo M110", "state": "no_paper"}, queued=4),
    SimDesk(
        "demo-sim-desk-4",
        "Desk 4",
        {"model": "Brother QL-820NWB", "state": "low_battery", "battery_percent": 12},
        clock_offset_ms=8_200,
    ),
    SimDesk("demo-sim-kiosk", "Badge kiosk", {"model": "DYMO LabelWriter 550", "state": "ready"}, silent_after_s=20),
)


class DemoVenue:
    def __init__(self, server_url: str, event_id: int, email: str, password: str, seed: int = 7):
        self.server_url = server_url
        self.event_id = event_id
        self.email = email
        self.password = password
        self._rng = random.Random(seed)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def start(self) -> DemoVenue:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._stop = asyncio.Event()
            ready.set()
            try:
                self._loop.run_until_complete(self._run())
            except Exception:  # the demo's extras must never take the demo down
                log.exception("demo venue stopped")
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="demo-venue", daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(5)

    async def _run(self) -> None:
        assert self._stop is not None
        tasks = [asyncio.create_task(self._desk(sim)) for sim in SIM_DESKS]
        await self._stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _desk(self, sim: SimDesk) -> None:
        api = ServerApi(self.server_url)
        live: LiveClient | None = None
        try:
            signed = await api.login(self.email, self.password, sim.station_id, sim.name)
            next_seq = int(signed["station"]["last_cmd_seq"]) + 1
            live = LiveClient(self.server_url, signed["token"], sim.station_id, [])
            live.start()
            started = time.monotonic()
            people = await self._not_checked_in(api) if sim.checks_in else []
            next_checkin = time.monotonic() + self._rng.uniform(3, 8)
            while True:
                silent = sim.silent_after_s is not None and time.monotonic() - started > sim.silent_after_s
                if live.connected.is_set() and not silent:
                    report = {
                        "version": __version__,
                        "queued": sim.queued,
                        "clock_offset_ms": sim.clock_offset_ms + self._rng.randint(-30, 30),
                        "printer": sim.printer,
                    }
                    await live.send_frame({"type": "presence", "event_id": self.event_id, "report": report})
                if people and time.monotonic() >= next_checkin:
                    attendee_id = people.pop()
                    command = {"type": "checkin", "args": {"event_id": self.event_id, "attendee_id": attendee_id}}
                    await api.post_commands([{**command, "cmd_seq": next_seq, "device_time": _iso_now()}])
                    next_seq += 1
                    next_checkin = time.monotonic() + self._rng.uniform(4, 15)
                await asyncio.sleep(min(live.presence_s, 5.0))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("demo venue: %s stopped: %s", sim.name, exc)
        finally:
            if live is not None:
                await live.stop()
            await api.aclose()

    async def _not_checked_in(self, api: ServerApi) -> list[str]:
        page = await api.call("GET", f"/events/{self.event_id}/attendees?limit=200")
        items = page.get("items") if isinstance(page, dict) else page
        ids = [a["id"] for a in items or [] if not a.get("checked_in")]
        self._rng.shuffle(ids)
        return ids


def _iso_now() -> str:
    return to_iso(time.time())
