"""Time as the server stores it: float seconds since the epoch, rendered as ISO 8601 UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo


# Cached: a batch stamps many rows with the same few instants (its commit time, a desk's clock).
@lru_cache(maxsize=4096)
def to_iso(ts: float | None) -> str | None:
    """Render epoch seconds as ISO 8601 UTC with millisecond precision and a `Z`."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_datetime(value: datetime) -> float:
    """Epoch seconds of an aware datetime (naive ones are refused at the edge)."""
    return value.timestamp()


def from_iso(text: str | None) -> float | None:
    """Epoch seconds of an ISO 8601 stamp as :func:`to_iso` writes it (None stays None)."""
    if text is None:
        return None
    return datetime.fromisoformat(text).timestamp()


@lru_cache(maxsize=4096)  # repeats of one person name the same first check-in again and again
def local_hhmm(ts: float, tz_name: str) -> str:
    """``09:14``: an instant as the venue's wall clock shows it (what a person at a desk reads)."""
    return datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo(tz_name)).strftime("%H:%M")
