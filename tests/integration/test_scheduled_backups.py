"""`focusdesk serve --backup-every`: backups while serving, the newest N kept, a failure survived."""

from __future__ import annotations

import shutil

import httpx
import pytest

from tests.support import LiveServer, wait_until

pytestmark = pytest.mark.slow


def health(server: LiveServer) -> dict:
    r = httpx.get(f"{server.url}/health", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_scheduled_backups_rotate_show_on_health_and_survive_a_failure(server_database, tmp_path):
    backups = tmp_path / "backups"
    server = LiveServer.configured(server_database, backup_every_s=1.0, backup_dir=str(backups), backup_keep=2).start()
    try:
        wait_until(
            lambda: server.state.backups.attempts >= 3 and health(server)["backup"]["file"],
            timeout=60,
            what="three backups",
        )
        files = sorted(p.name for p in backups.iterdir() if not p.name.endswith(".partial"))  # one may be under way
        assert len(files) == 2 and all(f.startswith("focusdesk-") for f in files), files
        shown = health(server)["backup"]
        assert shown["every_s"] == 1.0 and shown["last_error"] is None and shown["last_at"].endswith("Z")
        assert shown["file"].startswith(str(backups)) and shown["file"].endswith((".db", ".pgdump"))

        # The backup disk goes away: the attempt fails, is reported, and the server serves on.
        shutil.rmtree(backups)
        backups.write_text("not a directory any more")
        failed_at = server.state.backups.attempts
        wait_until(lambda: health(server)["backup"]["last_error"], timeout=30, what="a failed backup to show")
        assert health(server)["status"] == "ok"
        # It comes back: the next period succeeds again.
        backups.unlink()
        wait_until(
            lambda: server.state.backups.attempts > failed_at + 1 and health(server)["backup"]["last_error"] is None,
            timeout=30,
            what="backups to resume",
        )
        assert len(list(backups.iterdir())) >= 1
    finally:
        server.stop()


def test_health_says_nothing_of_backups_when_none_are_scheduled(server):
    assert "backup" not in health(server)
