"""Server settings: command-line flags first, then FOCUSDESK_* environment variables, then defaults."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from focusdesk.server.db import sqlite_url_for


def default_database_url() -> str:
    return sqlite_url_for(Path(platformdirs.user_data_dir("focusdesk")) / "focusdesk.db")


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a number") from None


@dataclass
class Settings:
    database_url: str = field(default_factory=lambda: os.environ.get("FOCUSDESK_DATABASE") or default_database_url())
    # Several instances on one PostgreSQL: the Redis they announce committed changes on (server/fanout.py).
    redis_url: str | None = field(default_factory=lambda: os.environ.get("FOCUSDESK_REDIS") or None)
    # When set, GET /metrics wants "Authorization: Bearer <this>"; None leaves it open like /health.
    metrics_token: str | None = field(default_factory=lambda: os.environ.get("FOCUSDESK_METRICS_TOKEN") or None)
    # `focusdesk serve` logs (server/logs.py): "text" for a console, "json" lines for a log shipper.
    log_format: str = field(default_factory=lambda: os.environ.get("FOCUSDESK_LOG_FORMAT") or "text")
    log_level: str = field(default_factory=lambda: os.environ.get("FOCUSDESK_LOG_LEVEL") or "info")
    token_ttl_s: float = float(os.environ.get("FOCUSDESK_TOKEN_TTL_HOURS", "16")) * 3600
    # A revoked token may still be honoured by another server process for this long.
    token_cache_s: float = 10.0
    # A server process freezes what start-up loaded out of the garbage collector's view (gc_tuning.py).
    freeze_gc_after_start: bool = False
    # The clock the server's own booking work runs on (no-show release, reminders); tests move it.
    clock: Callable[[], float] = time.time
    max_body_bytes: int = 1 << 20
    max_import_bytes: int = 32 << 20
    # Failed logins allowed per email and per client address inside the window.
    login_failures_per_email: int = 5
    login_failures_per_ip: int = 30
    login_window_s: float = 60.0
    # Live channel (/api/v1/live).
    live_heartbeat_s: float = field(default_factory=lambda: _env_float("FOCUSDESK_LIVE_HEARTBEAT_S", 30.0))
    # How often followed scopes' heads are compared with the database (heals lost publishes and
    # picks up writes made by other processes).
    live_reconcile_s: float = field(default_factory=lambda: _env_float("FOCUSDESK_LIVE_RECONCILE_S", 2.0))
    live_hello_timeout_s: float = 10.0
    # A desk that has not reported (over its live connection) for this long shows offline on the board.
    presence_timeout_s: float = field(default_factory=lambda: _env_float("FOCUSDESK_PRESENCE_TIMEOUT_S", 60.0))
    # Frames a connection may have waiting before it is closed as lagging. Frames are shared between
    # connections, so this bounds how far behind a desk may fall, not memory per desk.
    live_queue_frames: int = field(default_factory=lambda: int(_env_float("FOCUSDESK_LIVE_QUEUE_FRAMES", 20_000)))
    live_per_token: int = field(default_factory=lambda: int(_env_float("FOCUSDESK_LIVE_PER_TOKEN", 4)))
    live_per_ip: int = field(default_factory=lambda: int(_env_float("FOCUSDESK_LIVE_PER_IP", 500)))
    # Scheduled backups (`serve --backup-every`, server/backups.py): off while backup_every_s is None.
    backup_every_s: float | None = None
    backup_dir: str | None = None
    backup_keep: int = 12
