"""`focusdesk serve --workers N`: N server processes on one port, each an instance of its own."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.integration.test_fanout import redis_unavailable_reason
from tests.support import free_port, wait_until

pytestmark = pytest.mark.slow


def serve(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "focusdesk.cli", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def test_workers_are_refused_on_sqlite_with_the_reason(tmp_path):
    proc = serve("--workers", "2", "--database", f"sqlite:///{tmp_path / 'x.db'}")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "--workers needs PostgreSQL" in out and "Traceback" not in out
    proc = serve("--workers", "0")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "must be at least 1" in out


def test_two_workers_answer_on_one_port_and_share_the_database(pg_database):
    reason = redis_unavailable_reason()
    if reason:
        pytest.skip(reason)
    port = free_port()
    proc = serve(
        "--port", str(port), "--workers", "2", "--database", pg_database, "--redis", "redis://127.0.0.1:6379/0"
    )
    try:
        seen: set[str] = set()

        def both_answered() -> bool:
            # The kernel spreads new connections over the workers' shared listening socket.
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
            except httpx.HTTPError:
                return False
            assert body["status"] == "ok" and body["redis"] == "ok", body
            seen.add(body["instance"])
            return len(seen) == 2

        wait_until(both_answered, timeout=60, interval=0.05, what="both workers to answer /health")
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert "Traceback" not in out, out[-3000:]
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
