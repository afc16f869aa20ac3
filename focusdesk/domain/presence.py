"""Desk presence: what a desk reports about itself, when a report is news, and what on the board is a problem.

A desk sends a report over its live connection when something in it changes and every ``presence_s``
seconds as a keep-alive. The server keeps the latest report per desk; a report that differs from the last
in something a person would act on (a printer out of paper, commands stuck) is *news* and goes into the
event's change log. A desk whose reports stop turns offline after the server's timeout.

Pure functions and values only: the server, the desks and the Operations screen share them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from focusdesk.domain.errors import DomainError

ONLINE = "online"
OFFLINE = "offline"
# The reason of a desk that closed and said goodbye: offline on purpose, not a problem unless it left
# commands behind.
SIGNED_OFF = "signed off"

# The printer conditions, by the names printers.errors.PrinterState gives them (a test keeps the two equal).
PRINTER_STATES = frozenset(
    {
        "ready",
        "printing",
        "no_paper",
        "cover_open",
        "low_battery",
        "battery_empty",
        "overheat",
        "busy",
        "data_error",
        "wrong_media",
        "no_cassette",
        "cutter_jam",
        "disconnected",
        "error",
        "unknown",
    }
)
PRINTER_WORKING = frozenset({"ready", "printing", "busy"})
PRINTER_WARNING = frozenset({"low_battery", "unknown"})

# A clock this far off the server's shows on the board (check-in times are corrected, but a person should
# know the laptop's clock is wrong).
CLOCK_WARN_MS = 5_000
# Below this a change of clock offset is measurement noise, not news.
CLOCK_NEWS_MS = 1_000

_MAX_COUNT = 10_000_000
_MAX_TEXT = 120


@dataclass(frozen=True, slots=True)
class PrinterReport:
    model: str
    state: str
    name: str = ""
    battery_percent: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DeskReport:
    """One desk's account of itself."""

    version: str
    queued: int = 0  # commands the server has not answered yet
    stuck: int = 0  # of those, the ones that failed too often
    attention: int = 0  # "Needs attention" entries nobody dismissed
    clock_offset_ms: int | None = None  # the desk's clock minus the server's, as the desk measured it
    print_pending: int = 0
    print_failed: int = 0
    printer: PrinterReport | None = None  # None: no printer paired

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _count(raw: dict[str, Any], name: str) -> int:
    value = raw.get(name, 0)
    if type(value) is not int or not 0 <= value <= _MAX_COUNT:
        raise DomainError("invalid", f"{name}: must be a whole number from 0 to {_MAX_COUNT}")
    return value


def _text(raw: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = raw.get(name, "")
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value) > _MAX_TEXT or (required and not value.strip()):
        need = "a non-empty text" if required else "a text"
        raise DomainError("invalid", f"{name}: must be {need} of at most {_MAX_TEXT} characters")
    return value.strip()


def parse_report(raw: Any) -> DeskReport:
    """A report as a desk sent it, checked field by field; :class:`DomainError` names the bad field."""
    if not isinstance(raw, dict):
        raise DomainError("invalid", "report: must be an object")
    offset = raw.get("clock_offset_ms")
    if offset is not None and (
        type(offset) not in (int, float) or not math.isfinite(offset) or abs(offset) > 10 * 365 * 86_400_000
    ):
        raise DomainError("invalid", "clock_offset_ms: must be a number of milliseconds, or null")
    printer = raw.get("printer")
    parsed_printer = None
    if printer is not None:
        if not isinstance(printer, dict):
            raise DomainError("invalid", "printer: must be an object, or null when no printer is paired")
        state = printer.get("state")
        if state not in PRINTER_STATES:
            raise DomainError("invalid", f"printer.state: must be one of {', '.join(sorted(PRINTER_STATES))}")
        battery = printer.get("battery_percent")
        if battery is not None and (type(battery) is not int or not 0 <= battery <= 100):
            raise DomainError("invalid", "printer.battery_percent: must be a whole number from 0 to 100, or null")
        parsed_printer = PrinterReport(
            model=_text(printer, "model", required=True),
            state=state,
            name=_text(printer, "name"),
            battery_percent=battery,
            detail=_text(printer, "detail"),
        )
    return DeskReport(
        version=_text(raw, "version", required=True),
        queued=_count(raw, "queued"),
        stuck=_count(raw, "stuck"),
        attention=_count(raw, "attention"),
        clock_offset_ms=None if offset is None else round(offset),
        print_pending=_count(raw, "print_pending"),
        print_failed=_count(raw, "print_failed"),
        printer=parsed_printer,
    )


def report_from_json(raw: dict[str, Any] | None) -> DeskReport | None:
    """A stored report (already checked once) back into its value; None stays None."""
    if raw is None:
        return None
    printer = raw.get("printer")
    fields = {k: v for k, v in raw.items() if k in DeskReport.__dataclass_fields__ and k != "printer"}
    return DeskReport(**fields, printer=PrinterReport(**printer) if printer else None)


def is_news(old: DeskReport | None, new: DeskReport) -> bool:
    """Does ``new`` differ from ``old`` in something the board shows? Clock jitter and the queue going
    1 → 0 → 1 during a rush are not news; the queue emptying or filling is."""
    if old is None:
        return True
    if (old.version, old.stuck, old.attention, old.print_failed, old.printer) != (
        new.version,
        new.stuck,
        new.attention,
        new.print_failed,
        new.printer,
    ):
        return True
    if (old.queued == 0) != (new.queued == 0) or abs(old.queued - new.queued) >= 10:
        return True
    if (old.clock_offset_ms is None) != (new.clock_offset_ms is None):
        return True
    if old.clock_offset_ms is not None and new.clock_offset_ms is not None:
        return abs(old.clock_offset_ms - new.clock_offset_ms) >= CLOCK_NEWS_MS
    return False


@dataclass(frozen=True, slots=True)
class DeskPresence:
    """What the server knows about one desk, as the board shows it."""

    station_id: str
    name: str
    state: str  # online | offline
    reported_at: float | None  # the last report (server time)
    changed_at: float  # when ``state`` last changed
    report: DeskReport | None
    offline_reason: str = ""  # "signed off", "no report for 60 s"

    def to_json(self) -> dict[str, Any]:
        return {
            "station_id": self.station_id,
            "name": self.name,
            "state": self.state,
            "reported_at": self.reported_at,
            "changed_at": self.changed_at,
            "offline_reason": self.offline_reason,
            "report": None if self.report is None else self.report.to_json(),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> DeskPresence:
        return cls(
            station_id=raw["station_id"],
            name=raw.get("name") or raw["station_id"],
            state=raw["state"],
            reported_at=raw.get("reported_at"),
            changed_at=raw["changed_at"],
            report=report_from_json(raw.get("report")),
            offline_reason=raw.get("offline_reason") or "",
        )


CRITICAL = "critical"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    severity: str  # critical | warning
    text: str
    code: str = ""  # what kind of problem, for code that treats one kind apart (offline, printer, stuck…)


def is_closed(desk: DeskPresence) -> bool:
    """Closed on purpose (signed off), as opposed to gone silent."""
    return desk.state == OFFLINE and desk.offline_reason == SIGNED_OFF


def problems(desk: DeskPresence) -> list[Problem]:
    """What a person should look at on this desk, worst first."""
    out: list[Problem] = []
    report = desk.report
    if is_closed(desk):
        # Its printer is nobody's problem now; commands it closed with are (they wait for it to return).
        queued = report.queued if report is not None else 0
        return [Problem(WARNING, f"closed with {queued} queued", "closed_queued")] if queued else []
    if desk.state == OFFLINE:
        out.append(Problem(CRITICAL, f"offline ({desk.offline_reason})" if desk.offline_reason else "offline", OFFLINE))
    if report is None:
        return out
    printer = report.printer
    if printer is None:
        out.append(Problem(WARNING, "no printer paired", "no_printer"))
    elif printer.state not in PRINTER_WORKING and printer.state not in PRINTER_WARNING:
        out.append(Problem(CRITICAL, f"printer {printer.state.replace('_', ' ')}", "printer"))
    elif printer.state in PRINTER_WARNING:
        out.append(Problem(WARNING, f"printer {printer.state.replace('_', ' ')}", "printer"))
    if report.stuck:
        out.append(Problem(CRITICAL, f"{report.stuck} stuck command{'s' if report.stuck != 1 else ''}", "stuck"))
    if report.print_failed:
        out.append(
            Problem(
                WARNING, f"{report.print_failed} failed print{'s' if report.print_failed != 1 else ''}", "print_failed"
            )
        )
    if report.clock_offset_ms is not None and abs(report.clock_offset_ms) >= CLOCK_WARN_MS:
        out.append(Problem(WARNING, f"clock off by {report.clock_offset_ms / 1000:+.0f} s", "clock"))
    out.sort(key=lambda p: p.severity != CRITICAL)
    return out


def board_order(desks: list[DeskPresence]) -> list[DeskPresence]:
    """Problems first (critical, then warnings), then the healthy desks, then the closed ones; by name within
    each."""

    def rank(desk: DeskPresence) -> tuple[int, str, str]:
        found = problems(desk)
        worst = 0 if any(p.severity == CRITICAL for p in found) else 1 if found else 3 if is_closed(desk) else 2
        return worst, desk.name.casefold(), desk.station_id

    return sorted(desks, key=rank)


def per_minute(times: list[float], now: float, minutes: int) -> list[int]:
    """How many of ``times`` fall in each of the last ``minutes`` whole minutes, oldest first (the current,
    partial minute is the last bucket)."""
    buckets = [0] * minutes
    this_minute = math.floor(now / 60)
    for t in times:
        age = this_minute - math.floor(t / 60)
        if 0 <= age < minutes:
            buckets[minutes - 1 - age] += 1
    return buckets


def describe(desk: DeskPresence) -> str:
    """One line for a history entry: the state, then what was wrong (or that all was well)."""
    head = desk.state if desk.state == ONLINE or not desk.offline_reason else f"offline ({desk.offline_reason})"
    found = [p.text for p in problems(desk) if p.code != OFFLINE]
    report = desk.report
    if report is not None and report.queued:
        found.append(f"{report.queued} queued")
    if report is not None and report.printer is not None and not found:
        found.append(f"printer {report.printer.state.replace('_', ' ')}")
    return " · ".join([head, *found])
