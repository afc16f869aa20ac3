"""Desks for tests: a real Station on its own file, signed in to a real server, behind a network
that a test can cut, and that can lose a request's answer after the server acted on it."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from focusdesk.station.api import ServerApi
from focusdesk.station.clock import Clock
from focusdesk.station.engine import Station
from focusdesk.station.sync import SyncLoop
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD


class FlakyTransport(httpx.AsyncBaseTransport):
    """A real HTTP transport with a switch: ``down`` refuses before anything is sent; ``lose_next``
    answers the next N requests with a dropped connection *after* the server handled them."""

    def __init__(self):
        self._real = httpx.AsyncHTTPTransport()
        self.down = False
        self.lose_next = 0
        self.busy_next = 0  # answer this many command batches "429 busy, Retry-After: busy_retry_after"
        self.busy_retry_after = "1"
        self.sent = 0
        self.command_times: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("network is down (test)", request=request)
        if request.url.path.endswith("/commands"):
            self.command_times.append(time.monotonic())
            if self.busy_next > 0:
                self.busy_next -= 1
                return httpx.Response(
                    429,
                    json={"code": "busy", "message": "too many requests (test)"},
                    headers={"Retry-After": self.busy_retry_after},
                )
        response = await self._real.handle_async_request(request)
        self.sent += 1
        if self.lose_next > 0:
            self.lose_next -= 1
            await response.aread()
            await response.aclose()
            raise httpx.ReadError("connection dropped before the answer arrived (test)", request=request)
        return response

    async def aclose(self) -> None:
        await self._real.aclose()


@dataclass
class Desk:
    station: Station
    api: ServerApi
    sync: SyncLoop
    net: FlakyTransport
    path: Path
    station_id: str
    name: str
    token: str

    async def reopen(self, *, live: bool = False) -> Desk:
        """A crash and restart: everything in memory is gone, the station file is all that is left."""
        await self.sync.stop()
        await self.api.aclose()
        self.station.close()
        return await open_desk_from(self, live=live)

    async def close(self) -> None:
        await self.sync.stop()
        await self.api.aclose()
        self.station.close()


async def sign_in_desk(
    server_url: str,
    directory: Path,
    event_id: int,
    name: str = "Desk",
    *,
    live: bool = False,
    email: str = ADMIN_EMAIL,
    password: str = ADMIN_PASSWORD,
    clock: Clock | None = None,
    **sync_kw,
) -> Desk:
    station_id = f"desk-{uuid.uuid4().hex[:12]}"
    net = FlakyTransport()
    api = ServerApi(server_url, transport=net)
    out = await api.login(email, password, station_id, name)
    station = Station.open(
        station_id=station_id, station_name=name, event_id=event_id, path=directory / f"{station_id}.db", clock=clock
    )
    station.on_server_watermark(out["station"]["last_cmd_seq"])
    station.set_account(out["user"])
    sync = SyncLoop(station, api, live=live, backoff_base_s=0.01, backoff_cap_s=0.2, poll_interval_s=0.2, **sync_kw)
    return Desk(station, api, sync, net, station.db.path, station_id, name, out["token"])


async def open_desk_from(old: Desk, *, live: bool = False, **sync_kw) -> Desk:
    net = FlakyTransport()
    api = ServerApi(old.api.base_url, old.token, transport=net)
    station = Station.open(
        station_id=old.station_id, station_name=old.name, event_id=old.station.event_id, path=old.path
    )
    sync = SyncLoop(station, api, live=live, backoff_base_s=0.01, backoff_cap_s=0.2, poll_interval_s=0.2, **sync_kw)
    return Desk(station, api, sync, net, old.path, old.station_id, old.name, old.token)
