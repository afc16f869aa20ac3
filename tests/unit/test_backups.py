"""Backups and restores without a desk: durations, rotation, the copy itself, and what a restore refuses."""

from __future__ import annotations

import sqlite3
import time

import pytest

from focusdesk.cli import build_parser
from focusdesk.cli_backups import apply_serve_options
from focusdesk.server.backups import BackupError, backup, parse_duration, rotate, scheduled_name
from focusdesk.server.db import Database, sqlite_url_for
from focusdesk.server.dblock import DatabaseLock
from focusdesk.server.restore import restore
from focusdesk.server.settings import Settings
from focusdesk.server.store.events import create_event
from tests.support import create_admin, wait_until


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("10m", 600), ("1h", 3600), ("1.5h", 5400), (" 2M ", 120)])
def test_durations_read_as_seconds(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["10", "10x", "m", "", "-1m", "0s", "0.5s", "1h30m"])
def test_a_bad_duration_says_how_to_write_one(text):
    with pytest.raises(ValueError, match=r"duration|too short"):
        parse_duration(text)


def test_serve_backup_flags_are_checked_with_reasons(tmp_path, capsys):
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--backup-every", "10x"])
    assert "is not a duration" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--backup-every", "1m", "--backup-dir", str(tmp_path), "--backup-keep", "0"])
    assert "must be at least 1" in capsys.readouterr().err

    def settings_for(*argv: str, workers: int = 1) -> Settings:
        settings = Settings()
        apply_serve_options(settings, parser.parse_args(["serve", *argv]), workers)
        return settings

    with pytest.raises(ValueError, match="needs --backup-dir"):
        settings_for("--backup-every", "10m")
    with pytest.raises(ValueError, match="go with --backup-every"):
        settings_for("--backup-dir", str(tmp_path))
    with pytest.raises(ValueError, match="cron"):
        settings_for("--backup-every", "10m", "--backup-dir", str(tmp_path), workers=2)
    settings = settings_for("--backup-every", "10m", "--backup-dir", str(tmp_path / "new"), "--backup-keep", "3")
    assert (settings.backup_every_s, settings.backup_keep) == (600, 3) and (tmp_path / "new").is_dir()
    assert settings_for().backup_every_s is None


def test_rotation_keeps_the_newest_n_and_nothing_else_is_touched(tmp_path):
    start = time.time()
    names = [scheduled_name("sqlite:///x.db", start + i * 600) for i in range(5)]
    assert names == sorted(names) and names[0].startswith("focusdesk-") and names[0].endswith("Z.db")
    for name in names:
        (tmp_path / name).write_text("x")
    (tmp_path / "mine.db").write_text("a file of someone else's")
    (tmp_path / (names[0] + ".partial")).write_text("a backup that crashed")
    deleted = rotate(tmp_path, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names[-2:], "mine.db"])
    assert len(deleted) == 4
    assert scheduled_name("postgresql://h/db", start).endswith(".pgdump")


@pytest.fixture
def store(tmp_path):
    url = sqlite_url_for(tmp_path / "server.db")
    create_admin(url)
    db = Database(url)
    db.write_sync(
        lambda c: create_event(
            c,
            {"name": "Expo", "starts_on": "2026-11-24", "ends_on": "2026-11-24", "timezone": "UTC", "status": "open"},
            time.time(),
        )
    )
    db.close()
    return url, tmp_path / "server.db"


def test_a_backup_is_checked_whole_and_never_overwrites_by_accident(store, tmp_path):
    url, _path = store
    out = tmp_path / "backup.db"
    report = backup(url, out)
    assert report.events == 1 and [h.scope for h in report.heads] == ["event:1"] and report.size == out.stat().st_size
    assert not (tmp_path / "backup.db.partial").exists() and not (tmp_path / "backup.db-wal").exists()
    with sqlite3.connect(out) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("SELECT value FROM server_meta WHERE key = 'backup_taken_at'").fetchone()[0].endswith("Z")
    with pytest.raises(BackupError, match="already exists; pass --force"):
        backup(url, out)
    assert backup(url, out, force=True).events == 1
    with pytest.raises(BackupError, match="no database"):
        backup(sqlite_url_for(tmp_path / "missing.db"), tmp_path / "other.db")


def test_a_file_that_is_not_a_focusdesk_backup_is_refused_and_nothing_moves(store, tmp_path):
    url, path = store
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(BackupError, match="not a SQLite database"):
        restore(url, junk)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (x)")
    with pytest.raises(BackupError, match="not a FocusDesk database"):
        restore(url, other)
    with pytest.raises(BackupError, match="no such file"):
        restore(url, tmp_path / "nothing.db")
    assert sorted(p.name for p in tmp_path.iterdir() if "before-restore" in p.name) == []
    assert path.exists()


def test_a_restore_is_refused_while_a_server_holds_the_database(store, tmp_path):
    url, path = store
    out = tmp_path / "backup.db"
    backup(url, out)
    server = DatabaseLock(path)  # what a running server holds (server/dblock.py)
    assert server.try_acquire()
    try:
        with pytest.raises(BackupError, match="stop the server first"):
            restore(url, out)
    finally:
        server.release()
    assert not any("before-restore" in p.name for p in tmp_path.iterdir())
    report = restore(url, out)
    assert report.kept_at is not None and report.kept_at.exists()
    assert [e.scope for e in report.epochs] == ["event:1"] and report.epochs[0].new_epoch != report.epochs[0].old_epoch


def test_a_big_copy_reports_its_pages_and_a_writer_meanwhile_neither_stalls_nor_tears_it(store, tmp_path, monkeypatch):
    import threading

    from focusdesk.server import backups

    url, path = store
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE ballast (id INTEGER PRIMARY KEY, pad TEXT)")
        conn.executemany("INSERT INTO ballast (pad) VALUES (?)", [("x" * 500,) for _ in range(2000)])
    monkeypatch.setattr(backups, "PAGES_PER_STEP", 8)  # many small steps, each a chance to see the writer
    monkeypatch.setattr(backups, "PROGRESS_FROM_PAGES", 0)
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        while not stop.is_set():
            conn.execute("INSERT INTO ballast (pad) VALUES ('y')")
            written[0] += 1
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    seen: list[tuple[int, int]] = []
    try:
        wait_until(lambda: written[0] >= 5, what="the writer to be writing")
        report = backup(url, tmp_path / "busy.db", progress=lambda done, total: seen.append((done, total)))
    finally:
        stop.set()
        thread.join()
    assert report.events == 1
    assert len(seen) > 10 and seen[-1][0] == seen[-1][1]
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    with sqlite3.connect(tmp_path / "busy.db") as conn:
        copied = conn.execute("SELECT count(*) FROM ballast").fetchone()[0]
    assert 2000 <= copied <= 2000 + written[0]


def test_a_backup_from_an_older_focusdesk_is_migrated_on_restore(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine, text

    from focusdesk.server.migrate import alembic_config

    old = tmp_path / "old.db"
    engine = create_engine(sqlite_url_for(old))
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0004")  # the schema of an older release
        conn.execute(text("INSERT INTO scope_head (scope, epoch, head_seq, min_seq) VALUES ('event:7', 'e0', 42, 0)"))
    engine.dispose()
    backup(sqlite_url_for(old), tmp_path / "old-backup.db")
    report = restore(sqlite_url_for(tmp_path / "new.db"), tmp_path / "old-backup.db")
    assert report.schema_from == "0004" and report.schema_to not in (None, "0004")
    assert report.kept_at is None  # there was no database at the target: nothing to keep
    (epoch,) = report.epochs
    assert (epoch.scope, epoch.head_seq, epoch.old_epoch) == ("event:7", 42, "e0") and epoch.new_epoch != "e0"
    with sqlite3.connect(tmp_path / "new.db") as conn:
        meta = dict(conn.execute("SELECT key, value FROM server_meta"))
    assert meta["restored_at"].endswith("Z") and meta["backup_taken_at"].endswith("Z")
