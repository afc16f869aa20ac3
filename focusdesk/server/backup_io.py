"""What backups and restores do with files and outside tools: write a file so that a crash never leaves a
half one under its final name, and run PostgreSQL's ``pg_dump`` / ``pg_restore``.

Used by server/backups.py (taking backups) and server/restore.py (putting one back).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """A backup or restore cannot go on; the message says why and what to do about it."""


def utc_stamp(at: float) -> str:
    """``20261124T034500Z``: sorts in time order as text, safe in file names."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y%m%dT%H%M%SZ")


def iso_utc(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso_utc(text: str) -> float:
    """The inverse of :func:`iso_utc`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


# -- files -----------------------------------------------------------------------------------------


def partial_path(final: Path) -> Path:
    """Where a file is written before it is complete: ``FILE.partial``."""
    return final.with_name(final.name + ".partial")


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def publish(partial: Path, final: Path) -> None:
    """Flush ``partial`` to disk and rename it to ``final`` in one step: readers see all of it or nothing."""
    fsync_file(partial)
    partial.replace(final)
    fsync_dir(final.parent)


def check_target(out: Path, *, force: bool) -> None:
    """Refuse to overwrite an existing backup unless told to; the directory must exist."""
    if out.is_dir():
        raise BackupError(f"{out} is a directory; give a file name, e.g. {out / 'focusdesk.db'}")
    if out.exists() and not force:
        raise BackupError(f"{out} already exists; pass --force to overwrite it, or choose another name")
    if not out.parent.is_dir():
        raise BackupError(f"the directory {out.parent} does not exist")


# -- PostgreSQL client tools -------------------------------------------------------------------------

INSTALL_HINT = (
    "install the PostgreSQL client tools of the server's major version or newer "
    "(Debian/Ubuntu: apt install postgresql-client; macOS: brew install libpq) and make sure they are on PATH"
)


def require_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not on PATH: {INSTALL_HINT}")
    return found


def libpq_target(database_url: str) -> tuple[str, dict[str, str]]:
    """The URL as libpq tools take it (``postgresql://user@host:port/db``), and the environment that
    carries the password, so it never shows on a command line (``ps``)."""
    url = make_url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None, query={})
    return plain.render_as_string(hide_password=False), env


def run_tool(args: list[str], env: dict[str, str] | None = None) -> str:
    """Run a PostgreSQL tool; its own error message becomes a :class:`BackupError`. Returns stdout."""
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tool = Path(args[0]).name
        detail = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
        raise BackupError(f"{tool} failed: {detail}")
    return done.stdout


def archive_tables(archive: Path) -> set[str]:
    """The tables a ``pg_dump --format=custom`` archive holds (from its table of contents)."""
    listing = run_tool([require_tool("pg_restore"), "--list", str(archive)])
    return {m.group(1) for m in re.finditer(r"^\d+; \d+ \d+ TABLE \S+ (\S+) ", listing, re.MULTILINE)}


def archive_created_at(archive: Path) -> float | None:
    """When ``pg_dump`` wrote the archive (its header says), as epoch seconds."""
    listing = run_tool([require_tool("pg_restore"), "--list", str(archive)])
    found = re.search(r"^;\s+Archive created at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (\S+)", listing, re.MULTILINE)
    if found is None:
        return None
    when, zone = found.groups()
    if zone != "UTC":
        return None  # another zone's abbreviation cannot be read reliably; the caller falls back
    return datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()


def archive_rows(archive: Path, table: str) -> list[dict[str, str | None]]:
    """The rows of ``table`` as stored in the archive (text values; None for NULL), read back with
    ``pg_restore --data-only``: proof that the archive holds the data and can be read."""
    out = run_tool([require_tool("pg_restore"), "--data-only", f"--table={table}", "--file=-", str(archive)])
    header = re.search(rf"^COPY \S*{re.escape(table)} \((.*)\) FROM stdin;$", out, re.MULTILINE)
    if header is None:
        return []
    columns = [c.strip().strip('"') for c in header.group(1).split(",")]
    rows = []
    for line in out[header.end() + 1 :].splitlines():
        if line == "\\.":
            break
        values = [None if v == "\\N" else v for v in line.split("\t")]
        rows.append(dict(zip(columns, values, strict=True)))
    return rows
