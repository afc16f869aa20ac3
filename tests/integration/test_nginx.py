"""deploy/nginx.conf, the README's example, run as it is written in front of two instances.

Only the addresses change (free ports here); everything else is the shipped file, so a mistake in it
(the WebSocket upgrade, the upstream's failover) fails this test. Skipped where nginx is not installed.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.integration.test_fanout import instances, redis_unavailable_reason
from tests.live_support import hello, open_ws, recv_until, subscribe
from tests.support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Api,
    add_attendees,
    create_admin,
    free_port,
    make_event,
    wait_until,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)

pytestmark = pytest.mark.slow


def _site(backends: list[int], listen: int) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    servers = re.findall(r"^\s*server 127\.0\.0\.1:\d+ .*;$", text, flags=re.M)
    assert len(servers) == 2, "the example lists two instances"
    for line, port in zip(servers, backends, strict=True):
        text = text.replace(line, re.sub(r":\d+", f":{port}", line), 1)
    return text.replace("listen 8765;", f"listen 127.0.0.1:{listen};")


def _start_nginx(tmp_path: Path, backends: list[int]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    (tmp_path / "logs").mkdir()
    (tmp_path / "site.conf").write_text(_site(backends, port), encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        "daemon off;\nworker_processes 1;\npid nginx.pid;\nerror_log logs/error.log warn;\n"
        "events { worker_connections 256; }\n"
        "http {\n  access_log off;\n"
        "  client_body_temp_path tmp_body; proxy_temp_path tmp_proxy;\n"
        f"  include {tmp_path / 'site.conf'};\n}}\n",
        encoding="utf-8",
    )
    check = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], stderr=subprocess.PIPE)

    def answering() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(answering, timeout=15, what="nginx to answer")
    return proc, port


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed here (Debian: apt-get install nginx-light)")
def test_the_example_nginx_config_spreads_desks_carries_the_live_socket_and_survives_an_instance(tmp_path, pg_database):
    reason = redis_unavailable_reason()
    if reason:
        pytest.skip(reason)
    create_admin(pg_database)
    with instances(pg_database, "redis://127.0.0.1:6379/0") as (a, b):
        proc, port = _start_nginx(tmp_path, [a.port, b.port])
        front = f"http://127.0.0.1:{port}"
        try:
            # Round robin, no sticky sessions: fresh connections reach both instances.
            seen = {httpx.get(front + "/health").json()["instance"] for _ in range(6)}
            assert seen == {a.state.instance_id, b.state.instance_id}

            admin = Api(front)
            admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
            event = make_event(admin)
            people = add_attendees(admin, event["id"], [{"name": f"Guest {i}"} for i in range(3)])
            desk = Api(front)
            token = desk.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Door 1")["token"]

            async def live_through_nginx() -> list[str]:
                ws = await open_ws(front)  # the upgrade must pass through the proxy
                await hello(ws, token, desk.station_id)
                await subscribe(ws, f"event:{event['id']}")
                got = []
                for person in people[:2]:
                    await asyncio.to_thread(desk.checkin, event["id"], person["id"])
                    frame = await recv_until(ws, lambda f: f["type"] == "change", timeout=10)
                    got.append(frame["data"]["attendee"]["id"])
                await ws.close()
                return got

            assert asyncio.run(live_through_nginx()) == [people[0]["id"], people[1]["id"]]

            # One instance goes away: nginx skips it and every request still gets its answer.
            b.stop()
            answers = [httpx.get(front + "/health", timeout=10) for _ in range(6)]
            assert all(r.status_code == 200 for r in answers), [r.status_code for r in answers]
            assert {r.json()["instance"] for r in answers} == {a.state.instance_id}
            assert desk.checkin(event["id"], people[2]["id"])["status"] == "applied"
        finally:
            proc.terminate()
            proc.wait(10)
