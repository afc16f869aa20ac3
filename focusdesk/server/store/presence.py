"""Desk presence in the database: the latest report per desk, a short history, and the change-log entries
that tell the event's desks (kind ``desk.updated``, entity = station id, data = the desk as the board shows it).

A report that is not news (domain/presence.py ``is_news``) only refreshes ``reported_at``: keep-alives do
not grow the change log.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, delete, func, insert, select, update

from focusdesk.domain.presence import (
    OFFLINE,
    ONLINE,
    DeskPresence,
    DeskReport,
    describe,
    is_news,
    report_from_json,
)
from focusdesk.server.schema import desk_presence, desk_presence_history
from focusdesk.server.store.changelog import Change, append_changes, event_scope

HISTORY_KEEP = 50  # per desk: enough for "what happened this morning", small enough to never matter


def _desk(row) -> DeskPresence:
    return DeskPresence(
        station_id=row["station_id"],
        name=row["name"],
        state=row["state"],
        reported_at=row["reported_at"],
        changed_at=row["changed_at"],
        report=report_from_json(json.loads(row["report"])) if row["report"] else None,
        offline_reason=row["offline_reason"] or "",
    )


def _note(conn: Connection, desk: DeskPresence, event_id: int, now: float) -> list[Change]:
    """History row plus change-log entry for a desk whose shown state changed."""
    report = None if desk.report is None else json.dumps(desk.report.to_json(), separators=(",", ":"))
    conn.execute(
        insert(desk_presence_history).values(
            station_id=desk.station_id, at=now, state=desk.state, report=report, offline_reason=desk.offline_reason
        )
    )
    # Trim: keep the newest HISTORY_KEEP rows of this desk.
    cutoff = conn.execute(
        select(desk_presence_history.c.id)
        .where(desk_presence_history.c.station_id == desk.station_id)
        .order_by(desk_presence_history.c.id.desc())
        .offset(HISTORY_KEEP)
        .limit(1)
    ).scalar()
    if cutoff is not None:
        conn.execute(
            delete(desk_presence_history).where(
                desk_presence_history.c.station_id == desk.station_id, desk_presence_history.c.id <= cutoff
            )
        )
    return append_changes(
        conn, event_scope(event_id), [("desk.updated", desk.station_id, desk.to_json())], origin="server", now=now
    )


def record_report(
    conn: Connection, *, station_id: str, name: str, event_id: int, report: DeskReport, now: float
) -> DeskPresence | None:
    """Store a desk's report; returns the desk when it was news (and so logged), else None."""
    row = (
        conn.execute(select(desk_presence).where(desk_presence.c.station_id == station_id).with_for_update())
        .mappings()
        .first()
    )
    encoded = json.dumps(report.to_json(), separators=(",", ":"))
    if row is not None:
        old = _desk(row)
        if old.state == ONLINE and row["event_id"] == event_id and old.name == name and not is_news(old.report, report):
            conn.execute(
                update(desk_presence)
                .where(desk_presence.c.station_id == station_id)
                .values(report=encoded, reported_at=now)
            )
            return None
    changed_at = now if row is None or row["state"] != ONLINE else row["changed_at"]
    values = dict(
        event_id=event_id,
        name=name,
        state=ONLINE,
        report=encoded,
        reported_at=now,
        changed_at=changed_at,
        offline_reason="",
    )
    if row is None:
        conn.execute(insert(desk_presence).values(station_id=station_id, **values))
    else:
        conn.execute(update(desk_presence).where(desk_presence.c.station_id == station_id).values(**values))
    desk = DeskPresence(station_id, name, ONLINE, now, changed_at, report)
    _note(conn, desk, event_id, now)
    return desk


def _go_offline(conn: Connection, row, reason: str, now: float) -> DeskPresence:
    conn.execute(
        update(desk_presence)
        .where(desk_presence.c.station_id == row["station_id"])
        .values(state=OFFLINE, changed_at=now, offline_reason=reason)
    )
    desk = DeskPresence(
        row["station_id"],
        row["name"],
        OFFLINE,
        row["reported_at"],
        now,
        report_from_json(json.loads(row["report"])) if row["report"] else None,
        reason,
    )
    _note(conn, desk, row["event_id"], now)
    return desk


def mark_offline(conn: Connection, station_id: str, reason: str, now: float) -> DeskPresence | None:
    """The desk said goodbye (signed off, closed): offline at once, no timeout to wait for."""
    row = (
        conn.execute(
            select(desk_presence)
            .where(desk_presence.c.station_id == station_id, desk_presence.c.state == ONLINE)
            .with_for_update()
        )
        .mappings()
        .first()
    )
    return None if row is None else _go_offline(conn, row, reason, now)


def sweep_silent(conn: Connection, cutoff: float, reason: str, now: float) -> list[DeskPresence]:
    """Every online desk whose last report is older than ``cutoff`` turns offline. Safe to run on several
    instances at once: the rows are locked and re-checked."""
    rows = (
        conn.execute(
            select(desk_presence)
            .where(desk_presence.c.state == ONLINE, desk_presence.c.reported_at < cutoff)
            .order_by(desk_presence.c.station_id)
            .with_for_update()
        )
        .mappings()
        .all()
    )
    return [_go_offline(conn, row, reason, now) for row in rows]


def silent_exists(conn: Connection, cutoff: float) -> bool:
    """A cheap read before the write: is any online desk silent since ``cutoff``?"""
    found = conn.execute(
        select(desk_presence.c.station_id)
        .where(desk_presence.c.state == ONLINE, desk_presence.c.reported_at < cutoff)
        .limit(1)
    ).first()
    return found is not None


def list_desks(conn: Connection, event_id: int) -> list[DeskPresence]:
    rows = conn.execute(
        select(desk_presence).where(desk_presence.c.event_id == event_id).order_by(desk_presence.c.name)
    ).mappings()
    return [_desk(r) for r in rows]


def desk_event(conn: Connection, station_id: str) -> int | None:
    return conn.execute(select(desk_presence.c.event_id).where(desk_presence.c.station_id == station_id)).scalar()


def history(conn: Connection, station_id: str, limit: int = HISTORY_KEEP) -> list[dict]:
    rows = conn.execute(
        select(desk_presence_history)
        .where(desk_presence_history.c.station_id == station_id)
        .order_by(desk_presence_history.c.id.desc())
        .limit(limit)
    ).mappings()
    out = []
    for r in rows:
        report = json.loads(r["report"]) if r["report"] else None
        desk = DeskPresence(
            station_id, "", r["state"], None, r["at"], report_from_json(report), r["offline_reason"] or ""
        )
        out.append({"at": r["at"], "state": r["state"], "summary": describe(desk), "report": report})
    return out


def counts(conn: Connection) -> dict[str, int]:
    found = dict(conn.execute(select(desk_presence.c.state, func.count()).group_by(desk_presence.c.state)).all())
    return {ONLINE: int(found.get(ONLINE, 0)), OFFLINE: int(found.get(OFFLINE, 0))}
