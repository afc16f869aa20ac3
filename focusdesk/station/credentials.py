"""Where a desk keeps its sign-in token: the OS keyring, or a private file when there is none.

Never in a plain config file. Servers in a venue are often headless Linux boxes with no keyring
daemon; there the token goes to a ``0600`` file in the user state dir and a warning says so.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

SERVICE = "focusdesk"


def _account(server_url: str, station_id: str) -> str:
    return f"{server_url.rstrip('/')}#{station_id}"


def _keyring():
    """The keyring module if a real backend is available, else None."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration must not stop a desk from working
        return None
    if isinstance(backend, fail.Keyring) or ("chainer" in type(backend).__module__ and not backend.backends):
        return None
    return keyring


class TokenStore:
    """Save, load and forget the token of one desk at one server."""

    def __init__(self, directory: Path, *, use_keyring: bool = True):
        self.directory = Path(directory)
        self.use_keyring = use_keyring
        self.warning: str | None = None

    def _file(self, server_url: str, station_id: str) -> Path:
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in _account(server_url, station_id))
        return self.directory / "tokens" / safe

    def save(self, server_url: str, station_id: str, token: str) -> str:
        """Store ``token``; returns where it went ("keyring" or the file path)."""
        ring = _keyring() if self.use_keyring else None
        if ring is not None:
            try:
                ring.set_password(SERVICE, _account(server_url, station_id), token)
                self._file(server_url, station_id).unlink(missing_ok=True)
                return "keyring"
            except Exception as exc:
                log.warning("keyring refused the token (%s); using a private file instead", exc)
        path = self._file(server_url, station_id)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Created 0600 from the start: never world-readable, not even for a moment.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token)
        os.chmod(path, 0o600)
        self.warning = f"no system keyring here: the sign-in token is kept in {path} (readable only by you)"
        log.warning(self.warning)
        return str(path)

    def load(self, server_url: str, station_id: str) -> str | None:
        ring = _keyring() if self.use_keyring else None
        if ring is not None:
            try:
                token = ring.get_password(SERVICE, _account(server_url, station_id))
            except Exception:
                token = None
            if token:
                return token
        path = self._file(server_url, station_id)
        try:
            return path.read_text().strip() or None
        except FileNotFoundError:
            return None

    def forget(self, server_url: str, station_id: str) -> None:
        ring = _keyring() if self.use_keyring else None
        if ring is not None:
            with contextlib.suppress(Exception):
                ring.delete_password(SERVICE, _account(server_url, station_id))
        self._file(server_url, station_id).unlink(missing_ok=True)
