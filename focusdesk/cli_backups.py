"""`focusdesk backup`, `focusdesk restore`, and the scheduled-backup options of `focusdesk serve`.

The work is in server/backups.py and server/restore.py; this module only reads the command line and
says what happened. Heavy imports stay inside the commands so `focusdesk --help` stays instant.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path


def _duration(raw: str) -> float:
    from focusdesk.server.backups import parse_duration

    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_serve_options(p: argparse.ArgumentParser, positive_int: Callable[[str], int]) -> None:
    p.add_argument(
        "--backup-every",
        type=_duration,
        metavar="DURATION",
        help="take a backup every DURATION while serving (30s, 10m, 1h); needs --backup-dir",
    )
    p.add_argument("--backup-dir", metavar="DIR", help="where scheduled backups go (best on another disk)")
    p.add_argument(
        "--backup-keep", type=positive_int, metavar="N", help="scheduled backups to keep, newest first (default: 12)"
    )


def apply_serve_options(settings, args, workers: int) -> None:
    """Scheduled-backup flags into ``settings``; a ValueError says what is wrong with them."""
    every, directory, keep = args.backup_every, args.backup_dir, args.backup_keep
    if every is None:
        if directory is not None or keep is not None:
            raise ValueError("--backup-dir and --backup-keep go with --backup-every DURATION")
        return
    if directory is None:
        raise ValueError("--backup-every needs --backup-dir DIR (best on another disk than the database)")
    if workers > 1:
        raise ValueError(
            "--backup-every runs in a single server process; with --workers, run `focusdesk backup` from cron"
        )
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot use --backup-dir {path}: {exc.strerror}") from None
    settings.backup_every_s = every
    settings.backup_dir = str(path)
    if keep is not None:
        settings.backup_keep = keep


def describe_serve_options(settings) -> str | None:
    if not settings.backup_every_s:
        return None
    return (
        f"Backups: every {settings.backup_every_s:g} s into {settings.backup_dir}, newest {settings.backup_keep} kept"
    )


# -- commands --------------------------------------------------------------------------------------


def _database_url(args) -> str:
    from focusdesk.server.settings import Settings

    return args.database or Settings().database_url


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _fail(message: str) -> int:
    print(f"focusdesk: {message}", file=sys.stderr)
    return 2


def _progress_printer():
    """Prints "pages done/total" for a big copy, about once a second (stderr, so stdout stays the report)."""
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0 or done == total:
            last[0] = now
            print(f"  copied {done}/{total} pages ({100 * done // max(total, 1)}%)", file=sys.stderr, flush=True)

    return show


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


def cmd_backup(args) -> int:
    from focusdesk.server.backups import BackupError, backup

    url = _database_url(args)
    out = Path(args.out)
    print(f"Backing up {_safe(url)} to {out}", flush=True)
    try:
        report = backup(url, out, force=args.force, progress=_progress_printer())
    except BackupError as exc:
        return _fail(str(exc))
    print(f"Backup written: {report.path} ({_size(report.size)}; {report.check})")
    print(f"{report.events} event(s); change log heads:")
    for head in report.heads:
        print(f"  {head.scope:<14} seq {head.head_seq:<8} epoch {head.epoch}")
    if not report.heads:
        print("  (none yet)")
    return 0


def cmd_restore(args) -> int:
    from focusdesk.server.backup_io import iso_utc
    from focusdesk.server.backups import BackupError
    from focusdesk.server.restore import restore

    url = _database_url(args)
    file = Path(args.file)
    if not args.yes:
        if not sys.stdin.isatty():
            return _fail("pass --yes to restore without being asked (standard input is not a terminal)")
        answer = input(f"Replace the database {_safe(url)} with the backup {file}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing restored.")
            return 1
    try:
        report = restore(url, file)
    except BackupError as exc:
        return _fail(str(exc))
    taken = f" (taken {iso_utc(report.taken_at)})" if report.taken_at is not None else ""
    print(f"Restored {file}{taken} into {_safe(url)}.")
    if report.kept_at is not None:
        print(f"The database it replaced is kept at {report.kept_at}")
    if report.schema_from != report.schema_to:
        print(f"Schema migrated from {report.schema_from} to {report.schema_to}.")
    print(f"{report.events} event(s). A new epoch for each event's change log:")
    for e in report.epochs:
        print(f"  {e.scope:<14} seq {e.head_seq:<8} epoch {e.old_epoch} -> {e.new_epoch}")
    print(
        "Start the server again. Each desk that reconnects sees the new epoch and loads a fresh snapshot,\n"
        "then re-sends every action it still holds that this backup lacks (desks keep answered actions\n"
        "for 24 h by default, FOCUSDESK_OUTBOX_RETENTION_H); older ones are recorded as lost and each\n"
        "desk lists how many under Needs attention."
    )
    return 0


def add_commands(sub, database_arg) -> None:
    p = sub.add_parser(
        "backup",
        help="back up the server's database (safe while the server runs)",
        description="A consistent copy of the database, taken while the server runs. SQLite: one file "
        "(the SQLite backup API); PostgreSQL: a pg_dump custom archive (needs pg_dump on PATH).",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="the backup file to write")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    database_arg(p)
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser(
        "restore",
        help="restore a backup (stop the server first)",
        description="Put a backup back. The replaced database is kept (SQLite: moved aside; PostgreSQL: "
        "dumped first). The restored server starts a new epoch, and desks re-send what it lacks.",
    )
    p.add_argument("file", metavar="FILE", help="a file `focusdesk backup` wrote")
    p.add_argument("--yes", action="store_true", help="do not ask before replacing the database")
    database_arg(p)
    p.set_defaults(func=cmd_restore)
