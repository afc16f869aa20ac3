"""Event field rules."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from focusdesk.domain.attendees import clean_text
from focusdesk.domain.errors import FieldProblem, ValidationFailed

EVENT_STATUSES = ("draft", "open", "closed")
NAME_MAX = 200


def validate_event(data: Mapping[str, object], *, current: Mapping[str, object] | None = None) -> dict:
    """Validate a new event (``current`` None) or an edit of ``current``; returns cleaned fields."""
    problems: list[FieldProblem] = []
    out: dict[str, object] = {}
    merged = {**(current or {}), **data}

    if "name" in data or current is None:
        name = clean_text(data.get("name") or "")
        if not name:
            problems.append(FieldProblem("name", "is required"))
        elif len(name) > NAME_MAX:
            problems.append(FieldProblem("name", f"is longer than {NAME_MAX} characters"))
        out["name"] = name
    for key in ("starts_on", "ends_on"):
        if key in data or current is None:
            raw = data.get(key)
            try:
                out[key] = date.fromisoformat(str(raw)).isoformat()
            except (TypeError, ValueError):
                problems.append(FieldProblem(key, f"'{raw}' is not a date (expected YYYY-MM-DD)"))
    if "timezone" in data or current is None:
        tz = str(data.get("timezone") or "")
        if not _is_timezone(tz):
            problems.append(FieldProblem("timezone", f"'{tz}' is not an IANA time zone (e.g. Europe/Berlin)"))
        out["timezone"] = tz
    if "status" in data or current is None:
        status = data.get("status") or "draft"
        if status not in EVENT_STATUSES:
            problems.append(FieldProblem("status", f"must be one of {', '.join(EVENT_STATUSES)}"))
        out["status"] = status
    if not problems:
        starts = str(out.get("starts_on", merged.get("starts_on")))
        ends = str(out.get("ends_on", merged.get("ends_on")))
        if ends < starts:
            problems.append(FieldProblem("ends_on", f"{ends} is before starts_on {starts}"))
    if problems:
        raise ValidationFailed(problems)
    return out


def _is_timezone(name: str) -> bool:
    if not name or len(name) > 64:
        return False
    if name in available_timezones():
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
