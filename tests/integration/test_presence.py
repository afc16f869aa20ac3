"""Desk presence on the Operations board: desks report over their live connection, the organizer's board
shows their printers' states, a killed desk turns offline within the timeout, a closing desk at once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from focusdesk.station.desk import Desk
from focusdesk.station.operations import fetch_board
from focusdesk.station.printing import PrintQueue
from printers.virtual.world import VirtualWorld
from tests.integration.conftest import _server_on
from tests.live_support import hello, open_ws, recv_until
from tests.station_support import sign_in_desk
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, add_attendees, add_user, make_event, wait_until

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 2.0


@pytest.fixture
def presence_server(backend, request, tmp_path):
    srv = _server_on(request, tmp_path, presence_timeout_s=TIMEOUT_S).start()
    yield srv
    srv.stop()


@pytest.fixture
def event(presence_server):
    api = Api(presence_server.url)
    api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    ev = make_event(api)
    add_attendees(api, ev["id"], [{"name": "Ada Lovelace", "ticket_type": "Speaker"}])
    add_user(api, "org@test.example", "organizer", ev["id"], "org-password-1")
    add_user(api, "staff@test.example", "staff", ev["id"], "staff-password-1")
    add_user(api, "tech@test.example", "technician", ev["id"], "tech-password-1")
    api.close()
    return ev


def board_of(server, email: str, password: str, event_id: int) -> dict:
    api = Api(server.url)
    api.login(email, password)
    try:
        r = api.get(f"/api/v1/events/{event_id}/operations")
        assert r.status_code == 200, r.text
        return r.json()
    finally:
        api.close()


def desk_on(board: dict, station_id: str) -> dict | None:
    return next((d for d in board["desks"] if d["station_id"] == station_id), None)


def test_the_organizers_board_shows_a_desks_printer_out_of_paper_and_a_closing_desk_goes_offline_at_once(
    presence_server, event, tmp_path
):
    async def run():
        async with VirtualWorld(["niimbot-b1"]) as world:
            d = await sign_in_desk(presence_server.url, tmp_path, event["id"], "Desk 1", live=True)
            printing = PrintQueue(d.station, world.opener)
            printing.set_printer(world.target("niimbot-b1"))
            desk = Desk(d.station, d.api, d.sync, printing)
            await desk.start()
            org = await sign_in_desk(
                presence_server.url, tmp_path, event["id"], "Org", email="org@test.example", password="org-password-1"
            )

            async def board_until(predicate, what: str):
                deadline = time.monotonic() + 15
                while True:
                    board = await fetch_board(org.api, event["id"], org.station_id)
                    row = next((r for r in board.rows if r.desk.station_id == d.station_id), None)
                    if row is not None and predicate(row):
                        return board, row
                    assert time.monotonic() < deadline, f"the board never showed {what}: {board}"
                    await asyncio.sleep(0.05)

            _, row = await board_until(lambda r: r.desk.state == "online", "the desk online")
            assert row.desk.report.version and row.desk.report.printer.model == "Niimbot B1"
            world.device("niimbot-b1").faults.paper_out = True
            await printing.refresh_status()
            board, row = await board_until(
                lambda r: r.desk.report.printer.state == "no_paper", "the printer out of paper"
            )
            assert row.problems[0].text == "printer no paper"
            assert row.problems[0].severity == "critical"
            assert board.with_problems >= 1 and board.rows[0].desk.station_id == d.station_id  # problems first
            assert board.health["database"] == "ok" and board.health["live_connections"] >= 1

            # The change reached the event's change log like any other: the organizer desk hears it live.
            history = await org.api.call("GET", f"/events/{event['id']}/desks/{d.station_id}/history")
            assert history["history"][0]["summary"].startswith("online · printer no paper")

            await desk.stop()  # says goodbye: no timeout to wait for
            _, row = await board_until(lambda r: r.desk.state == "offline", "the closed desk offline")
            assert row.desk.offline_reason == "signed off"
            await org.close()

    asyncio.run(run())


def test_a_desk_whose_process_is_killed_turns_offline_within_the_timeout(presence_server, event, tmp_path):
    api = Api(presence_server.url)
    out = api.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Killed desk")
    api.close()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.desk_child",
            presence_server.url,
            out["token"],
            api.station_id,
            "Killed desk",
            str(tmp_path / "child.db"),
            str(event["id"]),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"

        def shown(state: str, printer_state: str | None = None):
            desk = desk_on(
                board_of(presence_server, "tech@test.example", "tech-password-1", event["id"]), api.station_id
            )
            if desk is None or desk["state"] != state:
                return None
            if printer_state and (desk["report"] or {}).get("printer", {}).get("state") != printer_state:
                return None
            return desk

        # A technician's board shows the desk and its printer's "no paper" from the virtual printer.
        online = wait_until(lambda: shown("online", "no_paper"), timeout=15, what="the desk online, out of paper")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        offline = wait_until(lambda: shown("offline"), timeout=TIMEOUT_S * 10, what="the killed desk offline")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert offline["offline_reason"] == f"no report for {TIMEOUT_S:g} s"
    assert offline["reported_at"] >= online["reported_at"]
    # Offline no later than the timeout plus one sweep period (timeout / 4) after the last report, give or take
    # the database write: the server's own timestamps, not this test's clock.
    assert offline["changed_at"] - offline["reported_at"] <= TIMEOUT_S * 1.25 + 1.0
    assert offline["changed_at"] - offline["reported_at"] >= TIMEOUT_S
    assert offline["report"]["printer"]["state"] == "no_paper"  # the last known state stays readable


def test_staff_may_not_read_the_board_and_bad_reports_are_refused_by_field(presence_server, event):
    staff = Api(presence_server.url)
    staff.login("staff@test.example", "staff-password-1")
    r = staff.get(f"/api/v1/events/{event['id']}/operations")
    assert r.status_code == 403, r.text
    staff.close()

    async def run():
        api = Api(presence_server.url)
        out = api.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Bad desk")
        api.close()
        ws = await open_ws(presence_server.url)
        try:
            await hello(ws, out["token"], api.station_id)
            bad = {"version": "1", "queued": -1}
            await ws.send(json.dumps({"type": "presence", "event_id": event["id"], "report": bad}))
            frame = await recv_until(ws, lambda f: f.get("type") == "error")
            assert frame["about"] == "presence" and frame["message"].startswith("queued:")
            printer = {"model": "B1", "state": "on_fire"}
            await ws.send(
                json.dumps(
                    {"type": "presence", "event_id": event["id"], "report": {"version": "1", "printer": printer}}
                )
            )
            frame = await recv_until(ws, lambda f: f.get("type") == "error")
            assert frame["message"].startswith("printer.state:")
            await ws.send(json.dumps({"type": "presence", "event_id": 999_999, "report": {"version": "1"}}))
            frame = await recv_until(ws, lambda f: f.get("type") == "error")
            assert frame["code"] == "not_found" and "999999" in frame["message"]
        finally:
            await ws.close()

    asyncio.run(run())
    board = board_of(presence_server, ADMIN_EMAIL, ADMIN_PASSWORD, event["id"])
    assert board["desks"] == []  # nothing half-stored
