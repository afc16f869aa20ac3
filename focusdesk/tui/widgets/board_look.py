"""How the Operations board says things: the backend's health, each desk's row, the check-in rate — a mark
and a word with every colour, never the colour alone (as the Devices board does).

Pure functions of a :class:`~focusdesk.station.operations.Board` and ``now`` (the server's time as the desk
knows it), so the same board and clock always draw the same screen.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from focusdesk.domain.presence import (
    CLOCK_WARN_MS,
    CRITICAL,
    OFFLINE,
    PRINTER_WARNING,
    PRINTER_WORKING,
    DeskPresence,
    Problem,
    is_closed,
)
from focusdesk.domain.reservations import local_datetime
from focusdesk.domain.timeutil import local_hhmm
from focusdesk.station.operations import Board, BoardRow
from focusdesk.tui.connection import ago

COLUMNS = ("Desk", "State", "Problems", "Queue", "Clock", "Printer", "Report", "Version")
# Cut so the eight columns fit a 120-column terminal (at 80 the board scrolls sideways); the history dialog
# (Enter) says the desk in full.
DESK_W, PROBLEMS_W, PRINTER_W, VERSION_W = 18, 18, 16, 8
# After this desk's name; the board's bottom line says what it means ("◀ this desk").
HERE = " ◀"

_HEALTH = {"ok": ("●", "bold green"), "degraded": ("▲", "bold yellow")}
_PART = {"ok": "green", "off": "dim", "unavailable": "bold red", "unreachable": "bold red"}


def hhmmss(ts: float, tz: str) -> str:
    return f"{local_datetime(ts, tz):%H:%M:%S}"


def lasted(seconds: float) -> str:
    """How long a state has held, in the board's few words: ``45 s``, ``3 min``, ``2.5 h``."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def health_text(health: dict[str, Any], now: float, tz: str) -> Text:
    """``● ok · v0.9 · instance a1 · database ok · redis off · 4 live · change-log 1,204 · backup 11:20 (14 min
    ago)`` — what fits one line of a 120-column terminal (the change-log figure is its head)."""
    status = str(health.get("status") or "unknown")
    mark, style = _HEALTH.get(status, ("✕", "bold red"))
    text = Text().append(f"{mark} {status}", style=style)
    if health.get("version"):
        text.append(f" · v{health['version']}")
    if health.get("instance"):
        text.append(" · instance ", style="dim").append(str(health["instance"]))
    for part in ("database", "redis"):
        if part in health:
            value = str(health[part])
            text.append(f" · {part} ", style="dim").append(value, style=_PART.get(value, "yellow"))
    if health.get("live_connections") is not None:
        text.append(" · ").append(str(health["live_connections"])).append(" live", style="dim")
    if health.get("head") is not None:
        text.append(" · change-log ", style="dim").append(f"{health['head']:,}")
    backup = health.get("backup")
    if isinstance(backup, dict) and backup.get("last_at"):
        at = float(backup["last_at"])
        text.append(" · backup ", style="dim").append(local_hhmm(at, tz)).append(f" ({ago(at, now)})", style="dim")
    return text


def unavailable_text(reason: str, unreachable: bool, last: Board | None, tz: str) -> Text:
    """The board could not be read: why, in the server's or the network's words, and how old what is
    still shown is."""
    text = Text().append("✕ Unreachable: " if unreachable else "✕ Cannot read the board: ", style="bold red")
    # fetch_board adds this for a network failure; the next line says it with the time.
    text.append(reason.removesuffix(" — showing the last board read"), style="red")
    if last is None:
        text.append("\nNothing to show until the server answers; trying again every few seconds.", style="dim")
    else:
        text.append(f"\nThe board below is as of {hhmmss(last.server_time, tz)}; trying again every few seconds.",
                    style="dim")  # fmt: skip
    return text


def summary_text(board: Board) -> Text:
    """``Desks 5 online · 1 offline · 2 with problems`` (the board's title)."""
    text = Text("Desks ")
    text.append(f"{board.online} online", style="green" if board.online else "dim")
    text.append(" · ")
    text.append(f"{board.offline} offline", style="bold red" if board.offline else "dim")
    text.append(" · ")
    if board.closed:
        text.append(f"{board.closed} closed", style="dim").append(" · ")
    text.append(f"{board.with_problems} with problems", style="bold yellow" if board.with_problems else "dim")
    return text


def checked_in_text(board: Board) -> Text:
    text = Text(f"Checked in {board.checked_in:,} of {board.attendees:,}")
    if board.attendees:
        text.append(f" ({100 * board.checked_in / board.attendees:.0f}%)", style="dim")
    return text


def rate_caption(per_minute: list[int]) -> Text:
    """``check-ins per minute, last 15 min · now 12/min · peak 30/min``."""
    text = Text().append(f"check-ins per minute, last {len(per_minute)} min", style="dim")
    now = per_minute[-1] if per_minute else 0
    text.append(" · now ", style="dim").append(f"{now}/min", style="bold")
    text.append(" · peak ", style="dim").append(f"{max(per_minute, default=0)}/min", style="bold")
    return text


def _cut(text: Text, width: int) -> Text:
    text.truncate(width, overflow="ellipsis")
    return text


def problems_text(found: list[Problem]) -> Text:
    if not found:
        return Text("—", style="dim")
    text = Text()
    for i, problem in enumerate(found):
        if i:
            text.append(", ", style="dim")
        text.append(problem.text, style="bold red" if problem.severity == CRITICAL else "yellow")
    return text


def other_problems(row: BoardRow) -> list[Problem]:
    """The row's problems for its Problems cell: being offline is said by the state beside it, so only why
    ("signed off", "no report for 60 s") stays."""
    desk, out = row.desk, []
    for problem in row.problems:
        if problem.code == OFFLINE:
            if desk.offline_reason:
                out.append(Problem(problem.severity, desk.offline_reason, OFFLINE))
        else:
            out.append(problem)
    return out


def desk_cells(row: BoardRow, now: float) -> tuple[Text, ...]:
    """One desk's row: the first cell carries the mark of its worst problem (✕ critical, ▲ warning)."""
    desk, report = row.desk, row.desk.report
    worst = next((p.severity for p in row.problems), None)
    mark = ("✕ ", "bold red") if worst == CRITICAL else ("▲ ", "bold yellow") if worst else ("  ", "")
    here = HERE if row.is_me else ""
    # A long name is cut, never the mark of this desk after it.
    name = Text().append(mark[0], style=mark[1])
    name.append_text(_cut(Text(desk.name, style="bold"), DESK_W - 2 - len(here))).append(here, style="bold cyan")
    # "✕ offline 12 min": how long it has been so (the word "for" would not leave room for the printer).
    state = state_text(desk)
    state.append(f" {lasted(now - desk.changed_at)}", style="dim")
    return (
        name,
        state,
        _cut(problems_text(other_problems(row)), PROBLEMS_W),
        queue_text(report),
        clock_text(report),
        _cut(printer_text(report), PRINTER_W),
        Text(ago(desk.reported_at, now), style="dim" if desk.reported_at is not None else "dim italic"),
        _cut(Text(report.version if report else "—", style="" if report else "dim"), VERSION_W),
    )


def queue_text(report: Any) -> Text:
    if report is None:
        return Text("—", style="dim")
    if not report.queued:
        return Text("0", style="dim")
    text = Text().append(f"{report.queued:,}", style="bold yellow")
    if report.stuck:
        text.append(f" · {report.stuck:,} stuck", style="bold red")
    return text


def clock_text(report: Any) -> Text:
    if report is None or report.clock_offset_ms is None:
        return Text("—", style="dim")
    offset = report.clock_offset_ms
    # "or 0.0": -40 ms rounds to -0.0, which would read as a clock behind.
    words = f"{round(offset / 1000, 1) or 0.0:+.1f} s" if abs(offset) < 10_000 else f"{offset / 1000:+.0f} s"
    return Text(words, style="bold yellow" if abs(offset) >= CLOCK_WARN_MS else "")


def printer_state(state: str) -> Text:
    style = "green" if state in PRINTER_WORKING else "yellow" if state in PRINTER_WARNING else "bold red"
    return Text(state.replace("_", " "), style=style)


def printer_text(report: Any) -> Text:
    """``no paper · 64% · Niimbot D110``: the state first, as a cut cell keeps it; ``none paired`` when the
    desk has no printer."""
    if report is None:
        return Text("—", style="dim")
    printer = report.printer
    if printer is None:
        return Text("none paired", style="dim")
    text = printer_state(printer.state)
    if printer.battery_percent is not None:
        text.append(f" · {printer.battery_percent}%", style="yellow" if printer.battery_percent < 20 else "dim")
    return text.append(f" · {printer.model}", style="dim")


def state_text(desk: DeskPresence) -> Text:
    """● online, ✕ offline (gone silent: a problem) or ○ closed (signed off on purpose)."""
    if is_closed(desk):
        return Text("○ closed", style="dim")
    if desk.state == OFFLINE:
        return Text("✕ offline", style="bold red")
    return Text("● online", style="green")


def desk_details(row: BoardRow, now: float) -> Text:
    """The desk in full, for the top of its history dialog (the board's cells are cut to fit)."""
    desk, report = row.desk, row.desk.report
    offline = desk.state == OFFLINE
    text = Text().append(desk.name, style="bold")
    if row.is_me:
        text.append(" (this desk)", style="italic cyan")
    text.append("  ").append_text(state_text(desk))
    text.append(f" for {lasted(now - desk.changed_at)}")
    if offline and desk.offline_reason:
        text.append(f" ({desk.offline_reason})")
    text.append(f" · last report {ago(desk.reported_at, now)}", style="dim")
    others = other_problems(row)
    if others:
        text.append("\nProblems: ", style="bold").append_text(problems_text(others))
    if report is None:
        return text.append("\nNo report from this desk yet.", style="dim")
    text.append("\nPrinter: ", style="bold")
    if report.printer is None:
        text.append("none paired", style="dim")
    else:
        printer = report.printer
        name = f" ({printer.name})" if printer.name else ""
        text.append(f"{printer.model}{name} · ").append_text(printer_state(printer.state))
        if printer.battery_percent is not None:
            text.append(f" · battery {printer.battery_percent}%")
        if printer.detail:
            text.append(f" · {printer.detail}", style="italic")
    text.append("\nQueue: ", style="bold").append_text(queue_text(report))
    text.append(f" · {report.attention} needing attention · prints {report.print_pending} waiting, "
                f"{report.print_failed} failed", style="dim")  # fmt: skip
    text.append(" · clock ").append_text(clock_text(report)).append(f" · version {report.version}")
    return text
