"""Prize draws on the server: who may win is read in the same transaction that records the result.

A draw stores its pool (the sorted ids of everyone eligible at that moment) and its seed, so anyone can
re-run ``domain.draws.draw(pool, count, seed)`` and get the same winners (:func:`audit`). A new draw is
*proposed*; an organizer confirms it, or redraws — which discards it (kept, for the record) and draws again
with a new seed. Winners of confirmed and proposed draws are excluded from later draws.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select, update

from focusdesk.domain import draws as rule
from focusdesk.domain.attendees import clean_text
from focusdesk.domain.errors import DomainError, FieldProblem, ValidationFailed
from focusdesk.domain.roles import Principal
from focusdesk.domain.timeutil import to_iso
from focusdesk.server.schema import attendees, draws
from focusdesk.server.store.changelog import Change, append_changes, event_scope
from focusdesk.server.store.events import get_event_row
from focusdesk.server.store.notices import person_name
from focusdesk.server.store.records import dumps

PRIZE_MAX = 200
COUNT_MAX = 1000
PROPOSED, CONFIRMED, DISCARDED = "proposed", "confirmed", "discarded"


def draw_record(row: Mapping[str, Any], names: Mapping[str, tuple[str, int | None]]) -> dict[str, Any]:
    winners = json.loads(row["winners"])
    return {
        "id": row["id"],
        "event_id": row["event_id"],
        "prize": row["prize"],
        "checked_in_only": bool(row["checked_in_only"]),
        "count": row["count"],
        "seed": row["seed"],
        "pool_size": row["pool_size"],
        "winners": [
            {
                "attendee_id": w,
                "name": names.get(w, ("(removed)", None))[0],
                "registration_number": names.get(w, ("", None))[1],
            }
            for w in winners
        ],
        "status": row["status"],
        "by": row["by"],
        "created_at": to_iso(row["created_at"]),
        "decided_at": to_iso(row["decided_at"]),
    }


def _names(conn: Connection, ids: list[str]) -> dict[str, tuple[str, int | None]]:
    if not ids:
        return {}
    rows = conn.execute(select(attendees.c.id, attendees.c.name, attendees.c.reg_no).where(attendees.c.id.in_(ids)))
    return {r.id: (r.name, r.reg_no) for r in rows}


def _records(conn: Connection, rows: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    names = _names(conn, sorted({w for r in rows for w in json.loads(r["winners"])}))
    return [draw_record(r, names) for r in rows]


def list_draws(conn: Connection, event_id: int) -> list[dict[str, Any]]:
    rows = (
        conn.execute(select(draws).where(draws.c.event_id == event_id).order_by(draws.c.created_at, draws.c.id))
        .mappings()
        .all()
    )
    return _records(conn, list(rows))


def _row(conn: Connection, event_id: int, draw_id: str) -> Mapping[str, Any]:
    row = (
        conn.execute(select(draws).where(draws.c.id == draw_id, draws.c.event_id == event_id).with_for_update())
        .mappings()
        .first()
    )
    if row is None:
        raise DomainError("not_found", f"no draw {draw_id} at event {event_id}")
    return row


def validate_draw(prize: object, count: object) -> tuple[str, int]:
    problems = []
    name = clean_text(prize or "")
    if not name:
        problems.append(FieldProblem("prize", "must not be empty"))
    elif len(name) > PRIZE_MAX:
        problems.append(FieldProblem("prize", f"must be at most {PRIZE_MAX} characters"))
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= COUNT_MAX:
        problems.append(FieldProblem("count", f"must be a whole number from 1 to {COUNT_MAX}"))
    if problems:
        raise ValidationFailed(problems)
    return name, count  # type: ignore[return-value]


def _draw(
    conn: Connection, *, event_id: int, prize: str, count: int, checked_in_only: bool, by: str, now: float,
    replaces: str | None = None,
) -> Mapping[str, Any]:  # fmt: skip
    taken = [
        w
        for (raw,) in conn.execute(
            select(draws.c.winners).where(draws.c.event_id == event_id, draws.c.status.in_([PROPOSED, CONFIRMED]))
        )
        for w in json.loads(raw)
    ]
    candidates = (
        rule.Candidate(r.id, bool(r.checked_in), r.status)
        for r in conn.execute(
            select(attendees.c.id, attendees.c.checked_in, attendees.c.status).where(attendees.c.event_id == event_id)
        )
    )
    pool = rule.eligible(candidates, checked_in_only=checked_in_only, previous_winners=taken)
    seed = rule.new_seed()
    winners = rule.draw(pool, count, seed)
    row = {
        "id": uuid.uuid4().hex,
        "event_id": event_id,
        "prize": prize,
        "checked_in_only": checked_in_only,
        "count": count,
        "seed": seed,
        "pool": dumps(pool),
        "pool_size": len(pool),
        "winners": dumps(winners),
        "status": PROPOSED,
        "by": by,
        "created_at": now,
        "decided_at": None,
        "replaces": replaces,
    }
    conn.execute(insert(draws).values(**row))
    return row


def _publish(conn: Connection, event_id: int, rows: list[Mapping[str, Any]], now: float) -> tuple[dict, list[Change]]:
    records = _records(conn, rows)
    changes = append_changes(
        conn, event_scope(event_id), [("draw.updated", r["id"], {"draw": r}) for r in records], origin="api", now=now
    )
    return records[-1], changes


def run_draw(
    conn: Connection, *, event_id: int, principal: Principal, prize: object, count: object, checked_in_only: bool,
    now: float,
) -> tuple[dict, list[Change]]:  # fmt: skip
    name, how_many = validate_draw(prize, count)
    get_event_row(conn, event_id)
    row = _draw(
        conn, event_id=event_id, prize=name, count=how_many, checked_in_only=checked_in_only,
        by=person_name(conn, principal), now=now,
    )  # fmt: skip
    return _publish(conn, event_id, [row], now)


def confirm_draw(conn: Connection, *, event_id: int, draw_id: str, now: float) -> tuple[dict, list[Change]]:
    row = _row(conn, event_id, draw_id)
    if row["status"] != PROPOSED:
        raise DomainError("not_proposed", f"this draw is already {row['status']}")
    conn.execute(update(draws).where(draws.c.id == draw_id).values(status=CONFIRMED, decided_at=now))
    return _publish(conn, event_id, [{**row, "status": CONFIRMED, "decided_at": now}], now)


def redraw(
    conn: Connection, *, event_id: int, draw_id: str, principal: Principal, now: float
) -> tuple[dict, list[Change]]:
    """Discard a proposed draw and draw again with its settings and a new seed (its winners may win again)."""
    row = _row(conn, event_id, draw_id)
    if row["status"] != PROPOSED:
        raise DomainError("not_proposed", f"only a proposed draw can be redrawn; this one is {row['status']}")
    conn.execute(update(draws).where(draws.c.id == draw_id).values(status=DISCARDED, decided_at=now))
    again = _draw(
        conn, event_id=event_id, prize=row["prize"], count=row["count"], checked_in_only=row["checked_in_only"],
        by=person_name(conn, principal), now=now, replaces=draw_id,
    )  # fmt: skip
    return _publish(conn, event_id, [{**row, "status": DISCARDED, "decided_at": now}, again], now)


def audit(conn: Connection, *, event_id: int, draw_id: str) -> dict[str, Any]:
    """Everything needed to check a draw, and the check itself: re-running it gives the same winners."""
    row = conn.execute(select(draws).where(draws.c.id == draw_id, draws.c.event_id == event_id)).mappings().first()
    if row is None:
        raise DomainError("not_found", f"no draw {draw_id} at event {event_id}")
    pool = json.loads(row["pool"])
    again = rule.draw(pool, row["count"], row["seed"])
    return {
        "draw": _records(conn, [row])[0],
        "pool": pool,
        "recomputed_winners": again,
        "reproducible": again == json.loads(row["winners"]),
    }
