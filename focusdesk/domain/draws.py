"""Prize drawings that can be audited: the same seed and the same eligible people give the same winners.

The server records the seed with the result; anyone can re-run ``draw`` on the recorded inputs and get the
same names. Candidates are sorted by id first, so the order rows come out of a database does not matter.
"""

from __future__ import annotations

import csv
import io
import random
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from focusdesk.domain.errors import DomainError


@dataclass(frozen=True, slots=True)
class Candidate:
    attendee_id: str
    checked_in: bool
    status: str = "registered"  # cancelled registrations never win


def new_seed() -> str:
    return secrets.token_hex(16)


def eligible(candidates: Iterable[Candidate], *, checked_in_only: bool, previous_winners: Iterable[str]) -> list[str]:
    """Ids that may win, sorted: not cancelled, not a previous winner, and checked in when asked."""
    excluded = set(previous_winners)
    return sorted(
        c.attendee_id
        for c in candidates
        if c.status != "cancelled" and c.attendee_id not in excluded and (c.checked_in or not checked_in_only)
    )


def draw(pool: Sequence[str], count: int, seed: str) -> list[str]:
    """``count`` distinct winners from ``pool`` (as returned by :func:`eligible`), fixed by ``seed``."""
    if count < 1:
        raise DomainError("invalid_input", "Draw at least one winner.")
    if count > len(pool):
        raise DomainError(
            "not_enough_people",
            f"Only {len(pool)} people can win; cannot draw {count}. Include people not checked in, or draw fewer.",
        )
    # random.Random seeded with a string is stable across Python versions (seed version 2, SHA-512 based).
    return random.Random(seed).sample(sorted(pool), count)


CSV_COLUMNS = (
    "draw_id",
    "prize",
    "status",
    "place",
    "registration_number",
    "name",
    "attendee_id",
    "checked_in_only",
    "pool_size",
    "seed",
    "drawn_at",
    "drawn_by",
)


def results_csv(records: Iterable[Mapping[str, Any]], *, include_discarded: bool = False) -> str:
    """Draw results as CSV, one row per winner, with the seed and pool size that make each draw checkable.

    ``records`` are draws as the API and the change log carry them.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for draw in records:
        if draw["status"] == "discarded" and not include_discarded:
            continue
        for place, winner in enumerate(draw["winners"], start=1):
            writer.writerow(
                [
                    draw["id"],
                    draw["prize"],
                    draw["status"],
                    place,
                    winner.get("registration_number") or "",
                    winner.get("name") or "",
                    winner["attendee_id"],
                    "yes" if draw["checked_in_only"] else "no",
                    draw["pool_size"],
                    draw["seed"],
                    draw["created_at"],
                    draw["by"],
                ]
            )
    return out.getvalue()
