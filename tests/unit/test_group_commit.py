"""The SQLite group-commit writer: shared transactions without shared fate.

SQLite only, whatever ``--database`` says: these are about the writer thread, its WAL and checkpointer, and
the SQLite file another connection reads; PostgreSQL commits are covered through the server tests."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import text

from focusdesk.server.db import Database, sqlite_url_for
from tests.support import wait_until


@pytest.fixture
def db(tmp_path):
    database = Database(sqlite_url_for(tmp_path / "w.db"))
    database.write_sync(lambda c: c.execute(text("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")))
    database.start()
    yield database
    database.close()


def rows(db: Database) -> dict[str, int]:
    return dict(db.read_sync(lambda c: c.execute(text("SELECT k, v FROM t")).all()))


def insert(key: str, value: int = 1):
    def work(conn):
        conn.execute(text("INSERT INTO t (k, v) VALUES (:k, :v)"), {"k": key, "v": value})
        return key

    return work


def insert_many(conn, payloads: list[tuple[str, int]]) -> list[str]:
    for key, value in payloads:
        if value < 0:
            raise ValueError(f"negative value for {key}")
        conn.execute(text("INSERT INTO t (k, v) VALUES (:k, :v)"), {"k": key, "v": value})
    return [k for k, _ in payloads]


async def gather(*aws):
    return await asyncio.gather(*aws, return_exceptions=True)


def test_concurrent_writes_share_commits_and_all_land(db):
    results = asyncio.run(gather(*(db.write(insert(f"k{i}")) for i in range(200))))
    assert results == [f"k{i}" for i in range(200)]
    assert len(rows(db)) == 200
    assert db.writer_stats["groups"] < 200  # grouped, not one commit each


def test_a_failing_unit_fails_alone(db):
    db.write_sync(insert("dup"))
    units = (
        [db.write(insert(f"a{i}")) for i in range(5)]
        + [db.write(insert("dup"))]
        + [db.write(insert(f"b{i}")) for i in range(5)]
    )
    results = asyncio.run(gather(*units))
    assert isinstance(results[5], Exception)
    assert [r for i, r in enumerate(results) if i != 5] == [f"a{i}" for i in range(5)] + [f"b{i}" for i in range(5)]
    assert len(rows(db)) == 11


def test_a_merged_pass_that_fails_is_retried_unit_by_unit(db):
    payloads = [(f"m{i}", i) for i in range(8)] + [("bad", -1)] + [(f"n{i}", i) for i in range(8)]
    results = asyncio.run(gather(*(db.write_merged(insert_many, p) for p in payloads)))
    assert isinstance(results[8], ValueError)
    good = [r for i, r in enumerate(results) if i != 8]
    assert good == [p[0] for i, p in enumerate(payloads) if i != 8]
    assert "bad" not in rows(db) and len(rows(db)) == 16


def test_an_answer_means_committed(db, tmp_path):
    async def write_then_look() -> int:
        await db.write(insert("seen", 7))
        # Another connection (another process, as far as SQLite knows) sees it at once.
        with sqlite3.connect(tmp_path / "w.db") as other:
            return other.execute("SELECT v FROM t WHERE k='seen'").fetchone()[0]

    assert asyncio.run(write_then_look()) == 7


def test_checkpoints_run_beside_the_writer_and_shutdown_truncates_the_wal(tmp_path):
    path = tmp_path / "cp.db"
    database = Database(sqlite_url_for(path))
    database.write_sync(lambda c: c.execute(text("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")))
    database.start()
    # The writer's commits never checkpoint (that stalled every desk behind one big commit).
    assert database.write_sync(lambda c: c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()) == 0

    async def write_lots():
        await asyncio.gather(*(database.write(insert(f"k{i}", i)) for i in range(2000)))

    asyncio.run(write_lots())
    checkpointer = database._checkpointer

    def caught_up():
        result = checkpointer.last_result
        return result is not None and result[1] > 0 and result[1] == result[2]

    wait_until(caught_up, timeout=10, what="the checkpointer to copy the WAL back")
    database.close()
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 2000
