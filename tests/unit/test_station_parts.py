"""Station parts without a server: the clock, the file's schema guard, token storage, Retry-After."""

from __future__ import annotations

import os
import stat

import keyring
import pytest
from keyring.backend import KeyringBackend

from focusdesk.station import db as station_db
from focusdesk.station.api import retry_after_seconds
from focusdesk.station.clock import Clock
from focusdesk.station.credentials import TokenStore
from focusdesk.station.db import SCHEMA_VERSION, StationDatabaseError, StationDB
from focusdesk.station.engine import Station


class FakeTime:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_clock_keeps_the_lowest_rtt_sample_of_the_recent_window():
    mono = FakeTime()
    clock = Clock(wall=FakeTime(5000.0), mono=mono, window_s=60)
    assert clock.offset_s == 0 and clock.error_s is None
    clock.add(100.0, 112.0, 101.0)  # rtt 1 s, offset 11.5
    clock.add(200.0, 210.1, 200.2)  # rtt 0.2 s, offset 10.0
    clock.add(300.0, 315.0, 302.0)  # rtt 2 s
    assert clock.offset_s == pytest.approx(10.0) and clock.error_s == pytest.approx(0.1)
    assert clock.now() == pytest.approx(5010.0)
    mono.t += 120  # the good sample ages out; a newer one takes over even if worse
    clock.add(400.0, 420.5, 401.0)
    assert clock.offset_s == pytest.approx(20.0)
    assert clock.add(500.0, 1.0, 499.0) is None  # the desk clock stepped back mid-trip: ignored


def test_clock_seed_is_used_until_measured():
    clock = Clock(wall=FakeTime(100.0))
    clock.seed(-3.0)
    assert clock.now() == 97.0
    clock.add(100.0, 110.0, 100.0)
    assert clock.now() == 110.0


def test_a_station_file_from_a_newer_version_is_refused_clearly(tmp_path):
    path = tmp_path / "s.db"
    StationDB(path).close()
    import sqlite3

    with sqlite3.connect(path) as c:
        c.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(StationDatabaseError, match="newer FocusDesk"):
        StationDB(path)


def test_a_file_that_is_not_a_station_file_is_refused(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StationDatabaseError, match="not a FocusDesk station file"):
        StationDB(path)


def test_a_station_file_belongs_to_one_station(tmp_path):
    path = tmp_path / "s.db"
    Station.open(station_id="desk-a", station_name="A", event_id=1, path=path).close()
    with pytest.raises(StationDatabaseError, match="belongs to station desk-a"):
        Station.open(station_id="desk-b", station_name="B", event_id=1, path=path)


def test_migrations_upgrade_an_older_file_in_place(tmp_path, monkeypatch):
    path = tmp_path / "s.db"
    # A file written by the first release (check-ins only), holding a queued command …
    with monkeypatch.context() as first_release:
        first_release.setattr(station_db, "MIGRATIONS", station_db.MIGRATIONS[:1])
        first_release.setattr(station_db, "SCHEMA_VERSION", 1)
        old = StationDB(path)
        old.conn.execute(
            "INSERT INTO outbox (cmd_seq, type, args, device_time, created_at) VALUES (1, 'checkin', '{}', 0, 0)"
        )
        old.close()
    # … opened by this one: upgraded in place (rooms, notices, draws added), the queue kept.
    db = StationDB(path)
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.conn.execute("INSERT INTO rooms VALUES ('r1', 1, 1, '{}')")
    assert [tuple(r) for r in db.conn.execute("SELECT cmd_seq, type FROM outbox")] == [(1, "checkin")]
    db.close()


def test_retry_after_accepts_seconds_and_http_dates():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == pytest.approx(10.0)


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self):
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username), None)


@pytest.fixture
def restore_keyring():
    before = keyring.get_keyring()
    yield
    keyring.set_keyring(before)


def test_tokens_go_to_the_keyring_when_there_is_one(tmp_path, restore_keyring):
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    store = TokenStore(tmp_path)
    assert store.save("http://srv:8000", "desk-1", "secret-token") == "keyring"
    assert not (tmp_path / "tokens").exists() or not any((tmp_path / "tokens").iterdir())
    assert store.load("http://srv:8000", "desk-1") == "secret-token"
    assert store.warning is None
    store.forget("http://srv:8000", "desk-1")
    assert store.load("http://srv:8000", "desk-1") is None and not ring.items


def test_without_a_keyring_tokens_go_to_a_private_file_with_a_warning(tmp_path, restore_keyring, caplog):
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    store = TokenStore(tmp_path)
    where = store.save("http://srv:8000", "desk-1", "secret-token")
    assert where != "keyring"
    mode = stat.S_IMODE(os.stat(where).st_mode)
    assert mode == 0o600
    assert "no system keyring" in (store.warning or "") and "no system keyring" in caplog.text
    assert store.load("http://srv:8000", "desk-1") == "secret-token"
    assert store.load("http://srv:8000", "desk-2") is None
    store.forget("http://srv:8000", "desk-1")
    assert store.load("http://srv:8000", "desk-1") is None
