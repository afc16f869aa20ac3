"""Test support: a real FocusDesk server on loopback, and a small API client."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn

from focusdesk.domain.roles import ADMIN, Grant
from focusdesk.server.app import create_app
from focusdesk.server.db import Database, sqlite_url_for
from focusdesk.server.passwords import hash_password
from focusdesk.server.serving import uvicorn_config
from focusdesk.server.settings import Settings
from focusdesk.server.store import accounts

ADMIN_EMAIL = "admin@test.example"
ADMIN_PASSWORD = "admin-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    """Poll ``condition`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def create_admin(database_url: str, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    db = Database(database_url)
    db.migrate()
    hashed = hash_password(password)
    db.write_sync(lambda c: accounts.create_user(c, email, hashed, [Grant(ADMIN, None)], "Admin", time.time()))
    db.close()


@dataclass
class LiveServer:
    """uvicorn serving the real app on 127.0.0.1 in a background thread."""

    database_url: str
    settings: Settings = field(default=None)  # type: ignore[assignment]
    port: int = field(default_factory=free_port)

    def __post_init__(self):
        if self.settings is None:
            self.settings = Settings()
        self.settings.database_url = self.database_url
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def on_sqlite(cls, directory: Path, **overrides) -> LiveServer:
        settings = Settings()
        for key, value in overrides.items():
            setattr(settings, key, value)
        url = sqlite_url_for(directory / "server.db")
        create_admin(url)
        return cls(database_url=url, settings=settings)

    @classmethod
    def configured(cls, database_url: str, **overrides) -> LiveServer:
        """A server on ``database_url`` (made ready by tests.pg_support.server_database or the
        ``server_database`` fixture) whose settings get ``overrides``."""
        srv = cls(database_url=database_url)
        for key, value in overrides.items():
            setattr(srv.settings, key, value)
        return srv

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state(self):
        """The running server's shared state (database, caches), for white-box assertions."""
        return self._app.state.focusdesk

    def middleware(self, kind: type):
        """The running instance of middleware class ``kind`` (Starlette builds the stack lazily)."""
        layer = self._app.middleware_stack
        while layer is not None and not isinstance(layer, kind):
            layer = getattr(layer, "app", None)
        return layer

    def start(self, *, send_buffer: int | None = None) -> LiveServer:
        """Serve; ``send_buffer`` pins every accepted socket's kernel send buffer to that many bytes
        (Linux sockets inherit it from the listener), so a desk that stops reading backs up into the
        server's own queue after kilobytes instead of the megabytes autotuning allows."""
        self._app = create_app(self.settings)
        config = uvicorn_config(self._app, "127.0.0.1", self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        sockets = None
        if send_buffer is not None:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
            listener.bind(("127.0.0.1", self.port))
            sockets = [listener]
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": sockets}, name="test-server", daemon=True
        )
        self._thread.start()
        wait_until(lambda: self._server.started, what="the server to start")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
            self._server = None


class Api:
    """An httpx client that signs in and speaks the FocusDesk API."""

    def __init__(self, base_url: str):
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.token: str | None = None
        self.station_id: str | None = None
        self.next_seq = 1

    def close(self) -> None:
        self.http.close()

    def login(self, email: str, password: str, *, desk: str | None = None, station_id: str | None = None) -> dict:
        body: dict = {"email": email, "password": password}
        if desk is not None:
            self.station_id = station_id or f"desk-{uuid.uuid4().hex[:12]}"
            body.update(station_id=self.station_id, station_name=desk)
        r = self.http.post("/api/v1/auth/login", json=body)
        assert r.status_code == 200, r.text
        out = r.json()
        self.token = out["token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        if out.get("station"):
            self.next_seq = out["station"]["last_cmd_seq"] + 1
        return out

    def get(self, path: str, **kw) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, **kw) -> httpx.Response:
        return self.http.post(path, **kw)

    def patch(self, path: str, **kw) -> httpx.Response:
        return self.http.patch(path, **kw)

    def delete(self, path: str, **kw) -> httpx.Response:
        return self.http.delete(path, **kw)

    def send(self, *commands: dict) -> httpx.Response:
        """Number ``commands`` from this desk's counter and send them as one batch."""
        batch = []
        for c in commands:
            batch.append({"cmd_seq": self.next_seq, **c})
            self.next_seq += 1
        return self.http.post("/api/v1/commands", json={"commands": batch})

    def checkin(self, event_id: int, attendee_id: str, **extra) -> dict:
        r = self.send({"type": "checkin", "args": {"event_id": event_id, "attendee_id": attendee_id}, **extra})
        assert r.status_code == 200, r.text
        return r.json()["results"][0]

    def undo(self, event_id: int, attendee_id: str, **extra) -> dict:
        r = self.send({"type": "undo_checkin", "args": {"event_id": event_id, "attendee_id": attendee_id}, **extra})
        assert r.status_code == 200, r.text
        return r.json()["results"][0]


def make_event(api: Api, name: str = "Test Conf", **fields) -> dict:
    body = {
        "name": name,
        "starts_on": "2026-11-23",
        "ends_on": "2026-11-24",
        "timezone": "Europe/Berlin",
        "status": "open",
    }
    body.update(fields)
    r = api.post("/api/v1/events", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def add_user(api: Api, email: str, role: str, event_id: int | None, password: str = "password-123") -> str:
    r = api.post(
        "/api/v1/users",
        json={"email": email, "password": password, "grants": [{"role": role, "event_id": event_id}]},
    )
    assert r.status_code == 201, r.text
    return password


def add_attendees(api: Api, event_id: int, people: list[dict]) -> list[dict]:
    out = []
    for p in people:
        r = api.post(f"/api/v1/events/{event_id}/attendees", json=p)
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out
