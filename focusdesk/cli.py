"""`focusdesk` command line. Heavy imports happen inside the commands so `--help` stays instant."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEMO_PORT = 8766


class CliError(Exception):
    """A problem the person can fix; printed without a traceback, exit status 2."""


def _database_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--database",
        metavar="URL",
        help="sqlite:///PATH or postgresql://… (default: $FOCUSDESK_DATABASE or a SQLite file in the user data dir)",
    )


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _settings(args):
    from focusdesk.server.settings import Settings

    settings = Settings()
    if getattr(args, "database", None):
        settings.database_url = args.database
    if getattr(args, "redis", None):
        settings.redis_url = args.redis
    if getattr(args, "log_format", None):
        settings.log_format = args.log_format
    if getattr(args, "log_level", None):
        settings.log_level = args.log_level
    return settings


def _open_db(args):
    from focusdesk.server.db import Database, DatabaseUnavailable

    url = _settings(args).database_url
    try:
        db = Database(url)
        db.migrate()
    except DatabaseUnavailable as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:
        raise CliError(f"cannot open the database {url}: {exc}") from None
    return db


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise CliError(f"cannot listen on {host}:{port} ({exc.strerror}); pass another --port") from None


def _run_server(settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from focusdesk.server.app import create_app
    from focusdesk.server.serving import uvicorn_config

    _check_port_free(host, port)
    if workers > 1:
        _run_workers(settings, host, port, workers)
        return
    settings.freeze_gc_after_start = True  # this process is the server (see server/gc_tuning.py)
    uvicorn.Server(uvicorn_config(create_app(settings), host, port, **_log_options(settings))).run()


def _log_options(settings) -> dict:
    """uvicorn's logging set up as ours (server/logs.py); its own access log stays off (the request
    observer writes one line per request in JSON mode)."""
    from focusdesk.server.logs import logging_config

    return {"log_config": logging_config(settings.log_format, settings.log_level), "log_level": settings.log_level}


def _run_workers(settings, host: str, port: int, workers: int) -> None:
    """N worker processes on one port: N instances of the server sharing its database (and Redis)."""
    import logging
    import os

    import uvicorn

    from focusdesk.server.serving import uvicorn_options

    if not settings.redis_url:
        logging.getLogger("focusdesk.cli").warning(
            "no --redis: a change made through one worker reaches desks connected to the others "
            "only with the periodic reconcile (every %g s)",
            settings.live_reconcile_s,
        )
    # Worker processes build their own app from the environment (server/app.py create_worker_app).
    os.environ["FOCUSDESK_DATABASE"] = settings.database_url
    if settings.redis_url:
        os.environ["FOCUSDESK_REDIS"] = settings.redis_url
    os.environ["FOCUSDESK_LOG_FORMAT"] = settings.log_format
    os.environ["FOCUSDESK_LOG_LEVEL"] = settings.log_level
    options = uvicorn_options(host, port, **_log_options(settings))
    uvicorn.run("focusdesk.server.app:create_worker_app", factory=True, workers=workers, **options)


# -- commands --------------------------------------------------------------------------------------


def _refuse_workers_on_sqlite(settings, workers: int) -> None:
    from sqlalchemy.engine import make_url

    if workers > 1 and make_url(settings.database_url).get_backend_name() != "postgresql":
        raise CliError(
            "--workers needs PostgreSQL: on SQLite one process must own the writes. "
            "Pass --database postgresql://… or leave --workers at 1"
        )


def cmd_serve(args) -> int:
    from focusdesk.server.logs import configure_logging

    settings = _settings(args)
    try:
        configure_logging(settings.log_format, settings.log_level)
    except ValueError as exc:  # from $FOCUSDESK_LOG_FORMAT / $FOCUSDESK_LOG_LEVEL (the flags have choices)
        raise CliError(str(exc)) from None
    _refuse_workers_on_sqlite(settings, args.workers)
    from focusdesk.cli_backups import apply_serve_options, describe_serve_options

    try:
        apply_serve_options(settings, args, args.workers)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    print(f"FocusDesk server: http://{args.host}:{args.port}  (API docs at /docs)", flush=True)
    print(f"Database: {_safe_url(settings.database_url)}", flush=True)
    if (backups := describe_serve_options(settings)) is not None:
        print(backups, flush=True)
    if settings.redis_url:
        print(f"Redis: {_safe_url(settings.redis_url)} (live changes reach the other instances through it)", flush=True)
    _run_server(settings, args.host, args.port, workers=args.workers)
    return 0


def cmd_demo(args) -> int:
    import platformdirs

    data_dir = Path(args.data_dir or platformdirs.user_data_dir("focusdesk"))
    if not args.server_only:
        from focusdesk.demo import run_demo

        _check_port_free(args.host, args.port)
        return run_demo(args.host, args.port, data_dir, args.fresh, args.role)

    from focusdesk.demo import prepare_server
    from focusdesk.server.demo import DEMO_ACCOUNTS

    print("Preparing the demo event…", flush=True)
    settings, event_id = prepare_server(data_dir, args.fresh)
    url = f"http://{args.host}:{args.port}"
    print(f"\nFocusDesk demo server: {url}   (API docs: {url}/docs)")
    print(f"Demo event id {event_id}; database {data_dir / 'demo.db'}")
    print("Sign in with (POST /api/v1/auth/login, or `focusdesk --server URL`):")
    for a in DEMO_ACCOUNTS:
        print(f"  {a.role:<11} {a.email:<32} password: {a.password}")
    print("Ctrl-C stops it.\n", flush=True)
    _run_server(settings, args.host, args.port)
    return 0


def cmd_room(args) -> int:
    from focusdesk.tui.run import run_tui

    name = " ".join(args.name.split())
    if not name:
        raise CliError("give the room's name, e.g. focusdesk room 'Hall A'")
    return run_tui(args.server, args.station, room=name)


def cmd_users_add(args) -> int:
    import time

    from focusdesk.domain.attendees import normalise_email
    from focusdesk.domain.errors import DomainError
    from focusdesk.domain.roles import ADMIN, Grant
    from focusdesk.server.passwords import hash_password, password_problem
    from focusdesk.server.store import accounts

    if not args.password_stdin:
        raise CliError("pass --password-stdin and pipe the password in (it never goes on the command line)")
    password = sys.stdin.readline().rstrip("\r\n")
    if (problem := password_problem(password)) is not None:
        raise CliError(f"password {problem}")
    if args.event is None and args.role != ADMIN:
        raise CliError(f"a {args.role} works at an event: pass --event ID (only admins may span all events)")
    email = normalise_email(args.email)
    if "@" not in email:
        raise CliError(f"'{args.email}' is not an email address")
    db = _open_db(args)
    hashed = hash_password(password)
    grant = Grant(args.role, args.event)

    def work(conn):
        existing = accounts.find_user(conn, email)
        if existing is None:
            accounts.create_user(conn, email, hashed, [grant], args.name or "", time.time())
            return "created"
        accounts.add_grant(conn, existing["id"], grant)
        return "updated (role added; password unchanged)"

    try:
        outcome = db.write_sync(work)
    except DomainError as exc:
        raise CliError(exc.message) from None
    finally:
        db.close()
    scope = f"event {args.event}" if args.event else "all events"
    print(f"User {email} {outcome}: {args.role} at {scope}")
    return 0


def cmd_users_list(args) -> int:
    from focusdesk.server.store import accounts

    db = _open_db(args)
    try:
        for u in db.read_sync(accounts.list_users):
            roles = ", ".join(f"{g['role']}@{g['event_id'] or 'all'}" for g in u["grants"])
            print(f"{u['id']:>4}  {u['email']:<36} {roles}{'  (disabled)' if u['disabled'] else ''}")
    finally:
        db.close()
    return 0


def cmd_events_add(args) -> int:
    import time

    from focusdesk.domain.errors import DomainError
    from focusdesk.domain.events import validate_event
    from focusdesk.server.store.events import create_event

    try:
        fields = validate_event(
            {
                "name": args.name,
                "starts_on": args.starts,
                "ends_on": args.ends or args.starts,
                "timezone": args.timezone,
                "status": args.status,
            }
        )
    except DomainError as exc:
        raise CliError(exc.message) from None
    db = _open_db(args)
    try:
        record, _ = db.write_sync(lambda c: create_event(c, fields, time.time()))
    finally:
        db.close()
    print(
        f"Event {record['id']} created: {record['name']} ({record['starts_on']}..{record['ends_on']}, {record['timezone']})"
    )
    return 0


def cmd_events_list(args) -> int:
    from focusdesk.domain.roles import ADMIN, Grant, Principal
    from focusdesk.server.store.events import list_events

    everyone = Principal(user_id=0, email="cli", grants=(Grant(ADMIN, None),))
    db = _open_db(args)
    try:
        for e in db.read_sync(lambda c: list_events(c, everyone)):
            print(f"{e['id']:>4}  {e['name']:<40} {e['starts_on']}..{e['ends_on']}  {e['timezone']:<20} {e['status']}")
    finally:
        db.close()
    return 0


def cmd_import_attendees(args) -> int:
    import time

    from focusdesk.domain.csv_io import CsvFormatError, parse_attendee_csv
    from focusdesk.domain.errors import DomainError
    from focusdesk.server.store.attendees import apply_import, plan_import

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    try:
        parsed = parse_attendee_csv(path.read_bytes(), encoding=args.encoding)
    except CsvFormatError as exc:
        where = f"row {exc.row}, " if exc.row else ""
        raise CliError(f"{path}: {where}{exc.field}: {exc.reason}") from None
    except LookupError:
        raise CliError(f"unknown encoding '{args.encoding}'") from None
    db = _open_db(args)

    def work(conn):
        plan = plan_import(conn, args.event, parsed, args.on_duplicate)
        if not args.dry_run and not plan.errors:
            apply_import(conn, args.event, plan, time.time())
        return plan

    try:
        plan = (db.read_sync if args.dry_run else db.write_sync)(work)
    except DomainError as exc:
        raise CliError(exc.message) from None
    finally:
        db.close()
    print(f"{path.name}: {plan.total_rows} row(s) read")
    for e in plan.errors:
        print(f"  row {e['row']}: {e['field']}: {e['reason']}")
    for s in plan.skipped:
        ex = s["existing"]
        print(
            f"  row {s['row']}: {s['email']} already registered as {ex['name']} (#{ex['registration_number']}) — skipped"
        )
    verb = "would create" if args.dry_run else "created"
    if plan.errors:
        print(
            f"{len(plan.errors)} error(s): nothing {'would be ' if args.dry_run else ''}imported. Fix the rows above and try again."
        )
        return 1
    print(
        f"{verb} {len(plan.creates)}, {'would update' if args.dry_run else 'updated'} {len(plan.updates)}, skipped {len(plan.skipped)}"
    )
    return 0


def cmd_export_attendees(args) -> int:
    from focusdesk.domain.csv_io import export_attendees_csv
    from focusdesk.domain.errors import DomainError
    from focusdesk.server.store.attendees import export_rows

    db = _open_db(args)
    try:
        rows = db.read_sync(lambda c: export_rows(c, args.event))
    except DomainError as exc:
        raise CliError(exc.message) from None
    finally:
        db.close()
    text = export_attendees_csv(rows)
    if args.excel:
        text = "\ufeff" + text
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8", newline="")
        print(f"{len(rows)} attendee(s) written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _safe_url(url: str) -> str:
    """The URL with any password masked, for printing."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


# -- parser ----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from focusdesk import __version__
    from focusdesk.cli_backups import add_serve_options as add_backup_serve_options

    parser = argparse.ArgumentParser(
        prog="focusdesk",
        description="On-site operations for events and venues. Without a command: open the check-in desk.",
    )
    parser.add_argument("--version", action="version", version=f"focusdesk {__version__}")
    parser.add_argument(
        "--server", metavar="URL", help="the desk's server, e.g. http://10.0.0.5:8765 (a different one: sign in again)"
    )
    parser.add_argument("--station", metavar="NAME", help="this desk's name, e.g. 'Entrance 2' (shown to other desks)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("serve", help="run the shared backend")
    p.add_argument("--host", default=DEFAULT_HOST)
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    _database_arg(p)
    p.add_argument(
        "--redis",
        metavar="URL",
        help="redis://HOST:PORT/N shared by every instance on the same database, so a change made on one "
        "reaches desks on the others at once (default: $FOCUSDESK_REDIS; without it, within "
        "$FOCUSDESK_LIVE_RECONCILE_S seconds)",
    )
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        metavar="N",
        help="run N server processes on this port (PostgreSQL only; give --redis too) — or run several "
        "`focusdesk serve` on different ports or machines behind a reverse proxy (README)",
    )
    add_backup_serve_options(p, _positive_int)
    p.add_argument(
        "--log-format",
        choices=["text", "json"],
        help="logs on standard error as text for a console, or as JSON lines with a request id and one "
        "access line per request (default: $FOCUSDESK_LOG_FORMAT or text)",
    )
    p.add_argument(
        "--log-level",
        choices=["critical", "error", "warning", "info", "debug"],
        help="the least severe log lines written (default: $FOCUSDESK_LOG_LEVEL or info)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="run a backend with a seeded demo event")
    p.add_argument("--host", default=DEFAULT_HOST)
    p.add_argument("--port", type=int, default=DEMO_PORT)
    p.add_argument("--data-dir", help="where demo.db lives (default: the user data dir)")
    p.add_argument("--fresh", action="store_true", help="throw away earlier demo data first")
    p.add_argument("--server-only", action="store_true", help="run only the demo backend, no desk TUI")
    p.add_argument(
        "--as",
        dest="role",
        choices=["staff", "organizer"],
        default="staff",
        help="sign the demo desk in as the front desk (staff, default) or an organizer (rooms, notices, draws)",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "room",
        help="show one room's timer full screen (a display in the room)",
        description="Open this desk as a display for one room: its timer, message and occupancy, full screen.",
    )
    p.add_argument("name", metavar="NAME", help="the room's name, e.g. 'Hall A' (case does not matter)")
    p.set_defaults(func=cmd_room)

    users = sub.add_parser("users", help="staff accounts").add_subparsers(
        dest="users_cmd", metavar="ACTION", required=True
    )
    p = users.add_parser("add", help="add an account, or a role to an existing one")
    p.add_argument("email")
    p.add_argument("--role", required=True, choices=["admin", "organizer", "staff", "technician"])
    p.add_argument("--event", type=int, help="event id the role applies to (omit for an admin of all events)")
    p.add_argument("--name", help="display name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    _database_arg(p)
    p.set_defaults(func=cmd_users_add)
    p = users.add_parser("list", help="list accounts and their roles")
    _database_arg(p)
    p.set_defaults(func=cmd_users_list)

    evs = sub.add_parser("events", help="events").add_subparsers(dest="events_cmd", metavar="ACTION", required=True)
    p = evs.add_parser("add", help="create an event")
    p.add_argument("name")
    p.add_argument("--starts", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--ends", metavar="YYYY-MM-DD")
    p.add_argument("--timezone", required=True, help="IANA zone, e.g. Europe/Berlin")
    p.add_argument("--status", default="open", choices=["draft", "open", "closed"])
    _database_arg(p)
    p.set_defaults(func=cmd_events_add)
    p = evs.add_parser("list", help="list events")
    _database_arg(p)
    p.set_defaults(func=cmd_events_list)

    imp = sub.add_parser("import", help="import data").add_subparsers(dest="import_cmd", metavar="WHAT", required=True)
    p = imp.add_parser("attendees", help="import attendees from CSV (all rows or none)")
    p.add_argument("file")
    p.add_argument("--event", type=int, required=True)
    p.add_argument("--dry-run", action="store_true", help="only report what would happen")
    p.add_argument(
        "--on-duplicate",
        choices=["skip", "update", "error"],
        default="skip",
        help="rows whose email is already registered (default: skip)",
    )
    p.add_argument("--encoding", default="utf-8")
    _database_arg(p)
    p.set_defaults(func=cmd_import_attendees)

    exp = sub.add_parser("export", help="export data").add_subparsers(dest="export_cmd", metavar="WHAT", required=True)
    p = exp.add_parser("attendees", help="export attendees as CSV")
    p.add_argument("--event", type=int, required=True)
    p.add_argument("--out", help="file to write (default: standard output)")
    p.add_argument("--excel", action="store_true", help="start with a UTF-8 BOM for spreadsheet programs")
    _database_arg(p)
    p.set_defaults(func=cmd_export_attendees)

    from focusdesk.cli_backups import add_commands as add_backup_commands
    from printers.cli import add_commands as add_printer_commands

    add_backup_commands(sub, _database_arg)

    add_printer_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        from focusdesk.tui.run import run_tui

        try:
            return run_tui(args.server, args.station)
        except KeyboardInterrupt:
            return 130
    try:
        return args.func(args)
    except CliError as exc:
        print(f"focusdesk: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
