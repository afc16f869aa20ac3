"""An acknowledged check-in survives `kill -9` of the server process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import httpx
import pytest

from tests.pg_support import empty_database
from tests.support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Api,
    add_attendees,
    free_port,
    make_event,
    wait_until,
)

pytestmark = pytest.mark.slow


def start_server(url: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "focusdesk.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--database", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def healthy():
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stderr.read().decode()[-2000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, timeout=20, what="the server to answer /health")
    return proc


# On both backends: an answer to a command means committed, whether the SQLite writer or PostgreSQL commits.
def test_acknowledged_checkins_survive_kill_9(server_database):
    url = server_database
    port = free_port()
    proc = start_server(url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        admin = Api(base)
        admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        event = make_event(admin)
        people = add_attendees(admin, event["id"], [{"name": f"D{i}"} for i in range(300)])
        desks = []
        for i in range(4):
            d = Api(base)
            d.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk=f"Durable {i}", station_id=f"durable-desk-{i}")
            desks.append(d)

        acknowledged: dict[str, set[str]] = {d.station_id: set() for d in desks}
        last_acked: dict[str, int] = {d.station_id: 0 for d in desks}
        stop = threading.Event()

        def drive(i: int, d: Api) -> None:
            for p in people[i::4]:
                if stop.is_set():
                    return
                try:
                    r = d.send({"type": "checkin", "args": {"event_id": event["id"], "attendee_id": p["id"]}})
                except httpx.HTTPError:
                    return  # the server died under us: this one was never acknowledged
                if r.status_code == 200:
                    acknowledged[d.station_id].add(p["id"])
                    last_acked[d.station_id] = r.json()["last_cmd_seq"]

        threads = [threading.Thread(target=drive, args=(i, d)) for i, d in enumerate(desks)]
        for t in threads:
            t.start()
        wait_until(lambda: sum(map(len, acknowledged.values())) >= 60, timeout=30, what="some acknowledged check-ins")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        total_acked = sum(map(len, acknowledged.values()))
        assert total_acked >= 60

        proc = start_server(url, port)
        admin = Api(base)
        admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        for d in desks:
            d.http.close()
            again = Api(base)
            out = again.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Durable again", station_id=d.station_id)
            # The watermark the server kept is at least what it acknowledged before dying.
            assert out["station"]["last_cmd_seq"] >= last_acked[d.station_id]
            again.close()
        for ids in acknowledged.values():
            for attendee_id in ids:
                detail = admin.get(f"/api/v1/events/{event['id']}/attendees/{attendee_id}").json()
                assert detail["checked_in"] is True, attendee_id
        assert admin.get(f"/api/v1/events/{event['id']}/counts").json()["checked_in"] >= total_acked
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_sigterm_shuts_down_cleanly(backend, tmp_path):
    with empty_database(backend, tmp_path, "clean.db") as url:  # serve migrates a fresh database itself
        _sigterm_shuts_down_cleanly(url)


def _sigterm_shuts_down_cleanly(url: str) -> None:
    port = free_port()
    proc = start_server(url, port)
    proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status says "terminated by
    # SIGTERM" (the Unix convention, what systemd and shells expect) rather than a plain 0.
    assert proc.wait(timeout=15) == -signal.SIGTERM
    err = proc.stderr.read().decode()
    assert "Traceback" not in err
    assert "Application shutdown complete" in err
