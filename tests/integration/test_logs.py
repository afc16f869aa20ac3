"""Structured logs: `focusdesk serve --log-format json` writes one JSON object a line, each request's
lines carry its request id, and the id a person quotes from a 500 finds the log line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI

from focusdesk.server.errors import install_error_handlers
from focusdesk.server.logs import (
    REQUEST_ID,
    BackgroundStreamHandler,
    JsonFormatter,
    TextFormatter,
    logging_config,
    new_request_id,
    sane_request_id,
)
from focusdesk.server.metrics import ServerMetrics
from focusdesk.server.observer import RequestObserver
from tests.support import free_port, wait_until

# -- the formatters ----------------------------------------------------------------------------------


def _record(msg: str, *args, exc_info=None, **extra) -> logging.LogRecord:
    record = logging.getLogger("focusdesk.test").makeRecord(
        "focusdesk.test", logging.WARNING, __file__, 1, msg, args, exc_info, extra=extra
    )
    return record


def test_a_json_line_has_time_level_logger_message_and_extra_fields():
    line = json.loads(JsonFormatter().format(_record("desk %s is %d s behind", "Front", 42, station_id="d-1")))
    assert line["level"] == "WARNING" and line["logger"] == "focusdesk.test"
    assert line["msg"] == "desk Front is 42 s behind"
    assert line["station_id"] == "d-1"
    assert line["ts"].endswith("Z")
    assert datetime.fromisoformat(line["ts"].replace("Z", "+00:00")).utcoffset().total_seconds() == 0
    assert "request_id" not in line, "outside a request there is no request id"
    assert "exc" not in line


def test_inside_a_request_every_line_carries_its_id_and_exceptions_come_as_text():
    token = REQUEST_ID.set("req-7")
    try:
        try:
            raise ValueError("the printer caught fire")
        except ValueError:
            record = _record("printing failed", exc_info=sys.exc_info())
        line = json.loads(JsonFormatter().format(record))
        text = TextFormatter().format(_record("plain"))
    finally:
        REQUEST_ID.reset(token)
    assert line["request_id"] == "req-7"
    assert "Traceback" in line["exc"] and "ValueError: the printer caught fire" in line["exc"]
    assert text.endswith("focusdesk.test: plain [request_id=req-7]")
    # An id given explicitly (the server-error handler, outside the request's context) wins.
    assert json.loads(JsonFormatter().format(_record("x", request_id="given")))["request_id"] == "given"


def test_the_background_handler_writes_every_line_in_order_with_its_request_id():
    """Lines are written by a thread of the handler's own; the request id is the logging context's."""
    out = io.StringIO()
    handler = BackgroundStreamHandler(out)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("focusdesk.test.background")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        shared = ["the list as it was"]
        log.info("first %s", shared)
        shared[0] = "changed after logging"  # the line says what was true when it was logged
        token = REQUEST_ID.set("req-in-context")
        try:
            for i in range(200):
                log.info("line %d", i)
        finally:
            REQUEST_ID.reset(token)
        log.info("after the request")
    finally:
        log.removeHandler(handler)
        handler.close()  # writes what is still queued
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["msg"] for line in lines] == [
        "first ['the list as it was']",
        *(f"line {i}" for i in range(200)),
        "after the request",
    ]
    assert {line.get("request_id") for line in lines[1:201]} == {"req-in-context"}
    assert "request_id" not in lines[0] and "request_id" not in lines[-1]


def test_only_sane_request_ids_are_taken_from_a_client():
    assert sane_request_id(b"abc-123") == "abc-123"
    assert sane_request_id(b"A.b_c-9" * 9) == "A.b_c-9" * 9  # 63 characters
    for bad in (b"", b"x" * 65, b"has space", b"new\r\nline", b"caf\xc3\xa9", b"{json}"):
        assert sane_request_id(bad) is None, bad
    fresh = [new_request_id() for _ in range(1000)]
    assert len(set(fresh)) == 1000 and all(sane_request_id(i.encode()) == i for i in fresh)


def test_unknown_formats_and_levels_are_refused():
    with pytest.raises(ValueError, match="json"):
        logging_config("xml")
    with pytest.raises(ValueError, match="debug"):
        logging_config("json", "chatty")


# -- a 500 a person can quote --------------------------------------------------------------------------


def test_a_server_error_answer_carries_the_request_id_that_its_log_line_has(caplog):
    """The real observer and error handlers around a route that crashes."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom():
        raise RuntimeError("disk on fire")

    app.add_middleware(RequestObserver, metrics=ServerMetrics())
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)

    async def call(headers):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/boom", headers=headers)

    with caplog.at_level(logging.ERROR, logger="focusdesk.server.errors"):
        quoted = asyncio.run(call({"X-Request-ID": "abc-123"}))
        generated = asyncio.run(call({"X-Request-ID": "no spaces allowed"}))
    assert quoted.status_code == 500
    assert quoted.json()["request_id"] == "abc-123" == quoted.headers["x-request-id"]
    assert "abc-123" in quoted.json()["message"]
    fresh = generated.json()["request_id"]
    assert fresh != "no spaces allowed" and generated.headers["x-request-id"] == fresh
    crashes = [r for r in caplog.records if r.name == "focusdesk.server.errors"]
    assert [r.request_id for r in crashes] == ["abc-123", fresh]
    assert all(r.exc_info for r in crashes)


# -- `focusdesk serve --log-format json` ---------------------------------------------------------------


def _serve(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "focusdesk.cli", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _stop(proc: subprocess.Popen) -> tuple[str, str]:
    proc.terminate()
    try:
        return proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def _json_lines(stderr: str) -> list[dict]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "the server logged nothing"
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON log line: {line!r}\n--- all of stderr ---\n{stderr}")
    return parsed


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
def test_serve_with_json_logs_writes_an_access_line_with_the_request_id(tmp_path):
    port = free_port()
    proc = _serve("--port", str(port), "--database", f"sqlite:///{tmp_path / 'x.db'}", "--log-format", "json")
    try:
        wait_until(lambda: _up(port) or proc.poll() is not None, timeout=60, what="the server to answer")
        assert proc.poll() is None, "the server exited"
        r = httpx.get(f"http://127.0.0.1:{port}/health", headers={"X-Request-ID": "abc-123"})
        assert r.headers["x-request-id"] == "abc-123"
        missing = httpx.get(f"http://127.0.0.1:{port}/api/v1/events/77/nothing")
        assert missing.status_code == 404 and sane_request_id(missing.headers["x-request-id"].encode())
    finally:
        out, err = _stop(proc)
    lines = _json_lines(err)
    assert {"ts", "level", "logger", "msg"} <= set(lines[0])
    assert any(line["logger"].startswith("uvicorn") for line in lines), "uvicorn's own lines are JSON too"
    access = [line for line in lines if line["logger"] == "focusdesk.access"]
    mine = [line for line in access if line.get("request_id") == "abc-123"]
    assert len(mine) == 1, access
    assert mine[0]["route"] == "/health" and mine[0]["path"] == "/health"
    assert mine[0]["method"] == "GET" and mine[0]["status"] == 200 and mine[0]["level"] == "INFO"
    assert isinstance(mine[0]["duration_ms"], float) and mine[0]["client"].startswith("127.0.0.1:")
    unmatched = [line for line in access if line["request_id"] == missing.headers["x-request-id"]]
    assert unmatched[0]["route"] == "<unmatched>" and unmatched[0]["status"] == 404
    assert "FocusDesk server: http://" in out, "the banner stays on standard output, apart from the logs"


@pytest.mark.slow
def test_text_logs_stay_quiet_per_request_and_a_bad_format_is_refused(tmp_path):
    port = free_port()
    proc = _serve("--port", str(port), "--database", f"sqlite:///{tmp_path / 'x.db'}")
    try:
        wait_until(lambda: _up(port) or proc.poll() is not None, timeout=60, what="the server to answer")
        httpx.get(f"http://127.0.0.1:{port}/health", headers={"X-Request-ID": "abc-123"})
    finally:
        _out, err = _stop(proc)
    assert "Application startup complete" in err
    assert "abc-123" not in err and "focusdesk.access" not in err
    refused = _serve("--port", str(free_port()), env={"FOCUSDESK_LOG_FORMAT": "xml"})
    _out, err = refused.communicate(timeout=60)
    assert refused.returncode == 2 and "log format must be one of text, json" in err and "Traceback" not in err


@pytest.mark.slow
def test_worker_processes_log_json_too(pg_database):
    port = free_port()
    proc = _serve("--port", str(port), "--workers", "2", "--database", pg_database, "--log-format", "json")
    try:
        wait_until(lambda: _up(port) or proc.poll() is not None, timeout=90, what="the workers to answer")
        for i in range(4):
            httpx.get(f"http://127.0.0.1:{port}/health", headers={"X-Request-ID": f"worker-req-{i}"})
    finally:
        _out, err = _stop(proc)
    lines = _json_lines(err)
    assert any(line["logger"] == "focusdesk.cli" and "no --redis" in line["msg"] for line in lines)
    access = {line["request_id"] for line in lines if line["logger"] == "focusdesk.access"}
    assert {f"worker-req-{i}" for i in range(4)} <= access
