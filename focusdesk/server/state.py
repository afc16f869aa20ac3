"""What the running server shares between requests."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from fastapi import Request

from focusdesk.server.backups import BackupSchedule
from focusdesk.server.db import Database
from focusdesk.server.fanout import RedisFanout
from focusdesk.server.live.hub import Hub
from focusdesk.server.metrics import ServerMetrics
from focusdesk.server.presence import Presence
from focusdesk.server.ratelimit import FailureWindow
from focusdesk.server.reservation_clock import ReservationClock
from focusdesk.server.settings import Settings
from focusdesk.server.store.accounts import TokenCheck


@dataclass
class TokenCache:
    """Recently checked tokens, so the hot path does not hit the database on every request."""

    ttl_s: float
    _entries: dict[str, tuple[float, TokenCheck]] = field(default_factory=dict)

    def get(self, token: str) -> TokenCheck | None:
        hit = self._entries.get(token)
        if hit is None:
            return None
        cached_at, check = hit
        now = time.monotonic()
        if now - cached_at > self.ttl_s or (check.expires_at is not None and check.expires_at <= time.time()):
            self._entries.pop(token, None)
            return None
        return check

    def put(self, token: str, check: TokenCheck) -> None:
        if len(self._entries) > 50_000:
            self._entries.clear()
        self._entries[token] = (time.monotonic(), check)

    def clear(self) -> None:
        """Forget everything (after a revocation: the next request re-reads the database)."""
        self._entries.clear()


@dataclass
class ServerState:
    settings: Settings
    db: Database
    tokens: TokenCache
    login_by_email: FailureWindow
    login_by_ip: FailureWindow
    hub: Hub
    reservation_clock: ReservationClock
    presence: Presence
    # A name for this process, so a load balancer's health checks and the other instances can tell
    # instances apart.
    instance_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    # The link to the other instances (None without --redis).
    fanout: RedisFanout | None = None
    # Scheduled backups (None unless `serve --backup-every`; server/backups.py).
    backups: BackupSchedule | None = None
    # What /metrics reports (the app hands its own in: its request observer counts into the same one).
    metrics: ServerMetrics = field(default_factory=ServerMetrics)

    @classmethod
    def create(cls, settings: Settings, db: Database) -> ServerState:
        return cls(
            settings=settings,
            db=db,
            reservation_clock=ReservationClock(db, settings.clock),
            presence=Presence(db, settings.presence_timeout_s),
            hub=Hub(db, heartbeat_s=settings.live_heartbeat_s, reconcile_s=settings.live_reconcile_s),
            tokens=TokenCache(settings.token_cache_s),
            login_by_email=FailureWindow(settings.login_failures_per_email, settings.login_window_s),
            login_by_ip=FailureWindow(settings.login_failures_per_ip, settings.login_window_s),
        )

    @property
    def last_backup(self) -> dict | None:
        """The last scheduled backup (when, which file, any later failure); None without a schedule."""
        return self.backups.health() if self.backups is not None else None

    def login_failed(self, email_key: str, client: str) -> None:
        """Count a failed sign-in here and on every other instance (the throttle is per venue, not per
        instance)."""
        self.login_by_email.fail(email_key)
        self.login_by_ip.fail(client)
        if self.fanout is not None:
            self.fanout.announce_login_failure(email_key, client)

    def tokens_revoked(self) -> None:
        """A sign-in was revoked here: forget cached checks, and tell the other instances to do the same."""
        self.tokens.clear()
        if self.fanout is not None:
            self.fanout.announce_tokens_revoked()


async def get_state(request: Request) -> ServerState:
    # async on purpose: FastAPI runs a plain `def` dependency in a worker thread, a thread hop per request.
    return request.app.state.focusdesk
