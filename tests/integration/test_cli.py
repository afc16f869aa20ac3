"""The `focusdesk` command line, run as a person would run it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.pg_support import empty_database

pytestmark = pytest.mark.slow


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "focusdesk.cli", *args], input=stdin, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def url(backend, tmp_path):
    """An empty database on each backend: the command line migrates it itself."""
    with empty_database(backend, tmp_path, "cli.db") as empty:
        yield empty


def test_events_users_import_export_from_the_command_line(tmp_path, url):
    r = run("events", "add", "Expo", "--starts", "2026-11-23", "--timezone", "Europe/Berlin", "--database", url)
    assert r.returncode == 0, r.stderr
    assert "Event 1 created: Expo" in r.stdout

    r = run(
        "users",
        "add",
        "org@example.org",
        "--role",
        "organizer",
        "--event",
        "1",
        "--password-stdin",
        "--database",
        url,
        stdin="org-password\n",
    )
    assert r.returncode == 0, r.stderr
    assert "organizer at event 1" in r.stdout
    r = run("users", "list", "--database", url)
    assert "org@example.org" in r.stdout and "organizer@1" in r.stdout

    csv_file = tmp_path / "people.csv"
    csv_file.write_text("name;email;company\nAnn Lee;ann@example.org;Acme\nBo;bo@example.org;\n", encoding="utf-8")
    r = run("import", "attendees", str(csv_file), "--event", "1", "--dry-run", "--database", url)
    assert r.returncode == 0, r.stderr
    assert "would create 2" in r.stdout
    r = run("import", "attendees", str(csv_file), "--event", "1", "--database", url)
    assert "created 2" in r.stdout
    r = run("import", "attendees", str(csv_file), "--event", "1", "--database", url)
    assert "skipped 2" in r.stdout and "already registered as Ann Lee" in r.stdout

    r = run("export", "attendees", "--event", "1", "--database", url)
    assert r.returncode == 0
    assert r.stdout.splitlines()[0].startswith("registration_number,name,email")
    assert "Ann Lee" in r.stdout


def test_cli_errors_are_sentences_not_tracebacks(tmp_path, url):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nAnn,not-an-email\n", encoding="utf-8")
    run("events", "add", "Expo", "--starts", "2026-11-23", "--timezone", "UTC", "--database", url)
    r = run("import", "attendees", str(bad), "--event", "1", "--database", url)
    assert r.returncode == 1
    assert "row 2: email" in r.stdout and "nothing imported" in r.stdout
    r = run("import", "attendees", str(tmp_path / "missing.csv"), "--event", "1", "--database", url)
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr
    r = run(
        "users", "add", "x@example.org", "--role", "staff", "--password-stdin", "--database", url, stdin="long-enough\n"
    )
    assert r.returncode == 2 and "--event" in r.stderr
    r = run("users", "add", "x@example.org", "--role", "admin", "--password-stdin", "--database", url, stdin="short\n")
    assert r.returncode == 2 and "at least 8" in r.stderr
    r = run("events", "add", "Bad", "--starts", "2026-02-30", "--timezone", "UTC", "--database", url)
    assert r.returncode == 2 and "starts_on" in r.stderr
    r = run("export", "attendees", "--event", "42", "--database", url)
    assert r.returncode == 2 and "event 42 does not exist" in r.stderr


def test_help_is_fast_to_reach_and_lists_the_commands():
    r = run("--help")
    assert r.returncode == 0
    for command in ("serve", "demo", "users", "events", "import", "export"):
        assert command in r.stdout
