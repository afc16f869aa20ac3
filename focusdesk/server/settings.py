"""Server settings: command-line flags first, then FOCUSDESK_* environment variables, then defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from focusdesk.server.db import sqlite_url_for


def default_database_url() -> str:
    return sqlite_url_for(Path(platformdirs.user_data_dir("focusdesk")) / "focusdesk.db")


@dataclass
class Settings:
    database_url: str = field(default_factory=lambda: os.environ.get("FOCUSDESK_DATABASE") or default_database_url())
    token_ttl_s: float = float(os.environ.get("FOCUSDESK_TOKEN_TTL_HOURS", "16")) * 3600
    # A revoked token may still be honoured by another server process for this long.
    token_cache_s: float = 10.0
    max_body_bytes: int = 1 << 20
    max_import_bytes: int = 32 << 20
    # Failed logins allowed per email and per client address inside the window.
    login_failures_per_email: int = 5
    login_failures_per_ip: int = 30
    login_window_s: float = 60.0
