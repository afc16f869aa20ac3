"""The backend's disk dies mid-event: a restore from the last backup loses none of the check-ins the desks
still remember, and repeats none.

Two desks check people in; `focusdesk backup` runs while the server serves; more check-ins and a walk-in
follow; the server is killed; `focusdesk restore` puts the backup back and the server starts again on
the same port. The desks reconnect by themselves, see the new epoch, take a fresh snapshot and re-send
what the backup lacks — so the server ends with every check-in from before and after the backup, each
exactly once, and both desks equal to it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from focusdesk.server.db import sqlite_url_for
from tests.integration.test_durability import start_server
from tests.integration.test_station import replica_matches_server
from tests.live_support import until
from tests.station_support import Desk, sign_in_desk
from tests.support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Api,
    LiveServer,
    add_attendees,
    create_admin,
    free_port,
    make_event,
)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def focusdesk(*args: str) -> subprocess.CompletedProcess:
    """The `focusdesk` command line, as an operator would run it."""
    return subprocess.run(
        [sys.executable, "-m", "focusdesk.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@dataclass
class Backend:
    url: str
    base: str
    backup_file: Path
    restart: Callable[[], None]  # the server again, on the same port
    stop: Callable[[], None]  # the server gone (kill -9 where it is a process of its own)


def server_checkins(admin: Api, event_id: int) -> list[dict]:
    r = admin.get("/api/v1/sync", params={"scope": f"event:{event_id}"})
    assert r.status_code == 200, r.text
    return r.json()["state"]["checkins"]


def server_epoch(admin: Api, event_id: int) -> str:
    return admin.get("/api/v1/sync", params={"scope": f"event:{event_id}"}).json()["epoch"]


async def settled(desks: list[Desk], admin: Api, event_id: int, facts: int, what: str) -> None:
    """Every desk has its queue answered and the server holds ``facts`` check-in facts."""

    def done() -> bool:
        if any(d.station.status().queued for d in desks):
            return False
        try:
            return len(server_checkins(admin, event_id)) >= facts
        except httpx.HTTPError:
            return False

    await until(done, 60, what)


def equal_to_server(desks: list[Desk], admin: Api, event_id: int) -> bool:
    try:
        for desk in desks:
            replica_matches_server(desk, admin, event_id)
    except (AssertionError, httpx.HTTPError):
        return False
    return True


async def lose_the_server_and_restore(backend: Backend, tmp_path: Path) -> None:
    admin = Api(backend.base)
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    event_id = make_event(admin)["id"]
    people = [p["id"] for p in add_attendees(admin, event_id, [{"name": f"Guest {i}"} for i in range(10)])]
    east = await sign_in_desk(backend.base, tmp_path, event_id, "East", live=True)
    west = await sign_in_desk(backend.base, tmp_path, event_id, "West", live=True)
    desks = [east, west]
    for desk in desks:
        desk.sync.start()
    try:
        await until(lambda: all(d.station.counts().registered == 10 for d in desks), 30, "the desks' replicas")

        # Before the backup.
        east.station.check_in(people[0])
        east.station.check_in(people[1])
        west.station.check_in(people[2])
        west.station.check_in(people[3])
        await settled(desks, admin, event_id, 4, "the first check-ins to reach the server")

        taken = await asyncio.to_thread(
            focusdesk, "backup", "--out", str(backend.backup_file), "--database", backend.url
        )
        assert taken.returncode == 0, taken.stderr
        assert "Backup written" in taken.stdout and f"event:{event_id}" in taken.stdout
        old_epoch = server_epoch(admin, event_id)

        # After it: more on both desks, and a walk-in.
        east.station.check_in(people[4])
        east.station.check_in(people[5])
        west.station.check_in(people[6])
        west.station.check_in(people[7])
        walk_in = east.station.walk_in("Wanda Walker", email="wanda@example.com").attendee.id
        await settled(desks, admin, event_id, 9, "the later check-ins to reach the server")

        # A restore under a running server is refused, and changes nothing.
        refused = await asyncio.to_thread(
            focusdesk, "restore", str(backend.backup_file), "--database", backend.url, "--yes"
        )
        assert refused.returncode == 2 and "stop the server first" in refused.stderr, refused.stderr
        assert len(server_checkins(admin, event_id)) == 9

        await asyncio.to_thread(backend.stop)
        restored = await asyncio.to_thread(
            focusdesk, "restore", str(backend.backup_file), "--database", backend.url, "--yes"
        )
        assert restored.returncode == 0, restored.stderr
        assert "new epoch" in restored.stdout and "re-sends" in restored.stdout
        await asyncio.to_thread(backend.restart)
        for desk in desks:
            desk.sync.wake()  # reconnect now rather than after the live channel's backoff

        # The desks reconnect by themselves and re-send what the backup lacks.
        await until(lambda: all(d.station.cursor().epoch != old_epoch for d in desks), 60, "the new-epoch snapshots")
        await settled(desks, admin, event_id, 9, "the desks to re-send what the backup lacked")
        await until(lambda: equal_to_server(desks, admin, event_id), 60, "both replicas to equal the server")

        facts = server_checkins(admin, event_id)
        per_person = Counter(f["attendee_id"] for f in facts)
        assert per_person == Counter({p: 1 for p in [*people[:8], walk_in]}), per_person
        assert len({(f["station_id"], f["cmd_seq"]) for f in facts}) == len(facts) == 9
        new_epoch = server_epoch(admin, event_id)
        assert new_epoch != old_epoch and all(d.station.cursor().epoch == new_epoch for d in desks)
        for desk, lost in ((east, 3), (west, 2)):
            (notice,) = [a for a in desk.station.attention() if a.code == "server_restored"]
            assert notice.kind == "notice" and f"re-sending {lost} actions it had made since" in notice.message
            assert not [a for a in desk.station.attention() if a.kind == "rejected"]
        walker = east.station.get(walk_in)
        assert walker is not None and walker.checked_in and not walker.pending
    finally:
        for desk in desks:
            await desk.close()
        admin.close()


def test_a_restore_loses_no_check_in_the_desks_remember_sqlite(tmp_path):
    url = sqlite_url_for(tmp_path / "server.db")
    create_admin(url)
    port = free_port()
    procs = [start_server(url, port)]

    def kill() -> None:
        os.kill(procs[-1].pid, signal.SIGKILL)
        procs[-1].wait()

    backend = Backend(
        url, f"http://127.0.0.1:{port}", tmp_path / "backup.db", lambda: procs.append(start_server(url, port)), kill
    )
    try:
        asyncio.run(lose_the_server_and_restore(backend, tmp_path))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
    # The database the restore replaced is kept, not destroyed.
    assert len(list(tmp_path.glob("server.db.before-restore-*Z"))) == 1


def test_a_restore_loses_no_check_in_the_desks_remember_postgresql(pg_database, tmp_path):
    create_admin(pg_database)
    server = LiveServer(database_url=pg_database).start()
    backend = Backend(pg_database, server.url, tmp_path / "backup.pgdump", server.start, server.stop)
    try:
        asyncio.run(lose_the_server_and_restore(backend, tmp_path))
    finally:
        server.stop()
    # The database the restore replaced was dumped first.
    assert len(list(tmp_path.glob("*.before-restore-*Z.pgdump"))) == 1


def test_a_second_server_on_the_same_sqlite_file_refuses_to_start(tmp_path):
    url = sqlite_url_for(tmp_path / "server.db")
    create_admin(url)
    first = LiveServer(database_url=url).start()
    try:
        second = subprocess.run(
            [sys.executable, "-m", "focusdesk.cli", "serve", "--port", str(free_port()), "--database", url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        assert "in use by another FocusDesk server or a restore" in second.stdout + second.stderr
    finally:
        first.stop()


def test_commands_older_than_the_retention_window_are_declared_lost_not_asked_for_forever(server_database, tmp_path):
    from focusdesk.server.backups import backup
    from focusdesk.server.restore import restore

    server = LiveServer.configured(server_database).start()
    admin = Api(server.url)
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    event_id = make_event(admin)["id"]
    people = [p["id"] for p in add_attendees(admin, event_id, [{"name": f"Guest {i}"} for i in range(4)])]
    file = tmp_path / ("backup.db" if server_database.startswith("sqlite") else "backup.pgdump")

    async def go() -> None:
        desk = await sign_in_desk(server.url, tmp_path, event_id, "East")
        desk.station.retention_s = 0  # answered actions go as soon as their fact is back
        try:
            await desk.sync.sync_once()
            desk.station.check_in(people[0])  # cmd 1: in the backup
            await desk.sync.sync_once()
            await asyncio.to_thread(backup, server_database, file)
            desk.station.check_in(people[1])  # cmds 2 and 3: after it, and pruned by the desk
            desk.station.check_in(people[2])
            await desk.sync.sync_once()
            await desk.sync.sync_once()
            desk.station.on_server_watermark(3)
            assert desk.station.db.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0

            await asyncio.to_thread(server.stop)
            await asyncio.to_thread(restore, server_database, file)
            await asyncio.to_thread(server.start)
            desk.station.check_in(people[3])  # cmd 4: the server asks for 2 and 3, which the desk no longer has
            await desk.sync.sync_once()
            assert desk.station.status().queued == 0 and desk.station.problem is None
            (lost,) = [a for a in desk.station.attention() if a.code == "lost"]
            assert "lost 2 earlier actions of this desk (#2–#3)" in lost.message and "0 h retention" in lost.message
            # The server recorded them as refused with code "lost" and went on from there.
            replay = httpx.post(
                f"{server.url}/api/v1/commands",
                json={"commands": [{"cmd_seq": 2, "type": "checkin", "args": {}}]},
                headers={"Authorization": f"Bearer {desk.token}"},
            ).json()
            assert replay["last_cmd_seq"] == 4 and replay["results"][0]["code"] == "lost"
            checked_in = Counter(f["attendee_id"] for f in server_checkins(admin, event_id))
            assert checked_in == Counter({people[0]: 1, people[3]: 1})
            await desk.sync.sync_once()
            replica_matches_server(desk, admin, event_id)
        finally:
            await desk.close()

    try:
        asyncio.run(go())
    finally:
        admin.close()
        server.stop()
