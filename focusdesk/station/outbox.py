"""The desk's outbox: numbered commands waiting for the server, and what became of them.

A command is appended in the same local transaction as its optimistic effect (see ``actions.py``), so an
action that returned is on disk. ``cmd_seq`` comes from the station file and is never reused — not even
after the file is moved to a new laptop, because the server's watermark (sign-in, ``welcome``) moves the
counter past anything the server has already seen from this station.

States: ``queued`` until the server answers, then ``applied`` or ``rejected`` (final). A queued command
the server's watermark shows it already has is ``delivered``: it no longer needs retries, only its stored
answer (the next send fetches it with no second effect). Answered commands are kept for a retention
window before they are pruned, so a server restored from a backup can be given them again.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from typing import Any

from focusdesk.domain.timeutil import to_iso

log = logging.getLogger(__name__)

STUCK_AFTER_ATTEMPTS = 5
RETENTION_S = 24 * 3600
RETENTION_ENV = "FOCUSDESK_OUTBOX_RETENTION_H"


def retention_from_env() -> float:
    """How long answered commands are kept, in seconds: ``$FOCUSDESK_OUTBOX_RETENTION_H`` hours, or 24 h.

    A desk must keep working at the event, so a bad value is logged and the default used."""
    raw = os.environ.get(RETENTION_ENV, "").strip()
    if not raw:
        return RETENTION_S
    try:
        hours = float(raw)
    except ValueError:
        hours = -1.0
    if not hours > 0 or hours == float("inf"):
        log.warning("%s=%r is not a positive number of hours; keeping answered actions 24 h", RETENTION_ENV, raw)
        return RETENTION_S
    return hours * 3600


@dataclass(frozen=True, slots=True)
class OutboxRow:
    cmd_seq: int
    type: str
    args: dict[str, Any]
    device_time: float
    attempts: int
    state: str

    def wire(self) -> dict[str, Any]:
        """The command as ``POST /commands`` takes it."""
        return {"cmd_seq": self.cmd_seq, "type": self.type, "args": self.args, "device_time": to_iso(self.device_time)}


def allocate_cmd_seq(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'next_cmd_seq'").fetchone()
    seq = int(row[0]) if row else 1
    top = conn.execute("SELECT max(cmd_seq) FROM outbox").fetchone()[0]
    seq = max(seq, (top or 0) + 1)
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('next_cmd_seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (str(seq + 1),),
    )
    return seq


def raise_cmd_seq_floor(conn: sqlite3.Connection, server_last: int) -> None:
    """Never hand out a number the server has already used for this station."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'next_cmd_seq'").fetchone()
    current = int(row[0]) if row else 1
    if server_last + 1 > current:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('next_cmd_seq', ?) ON CONFLICT (key)"
            " DO UPDATE SET value = excluded.value",
            (str(server_last + 1),),
        )


def append(
    conn: sqlite3.Connection,
    type_: str,
    args: dict[str, Any],
    *,
    device_time: float,
    now: float,
    event_id: int | None,
    attendee_id: str | None,
    predicted: str | None = None,
    label: str | None = None,
) -> int:
    cmd_seq = allocate_cmd_seq(conn)
    conn.execute(
        "INSERT INTO outbox (cmd_seq, type, args, device_time, created_at, event_id, attendee_id, predicted, label)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            cmd_seq,
            type_,
            json.dumps(args, ensure_ascii=False, separators=(",", ":")),
            device_time,
            now,
            event_id,
            attendee_id,
            predicted,
            label,
        ),
    )
    return cmd_seq


def next_batch(conn: sqlite3.Connection, limit: int, *, from_seq: int | None = None) -> list[OutboxRow]:
    """The oldest unanswered commands in cmd_seq order (or everything from ``from_seq``, when the
    server asked to resend from there)."""
    if from_seq is not None:
        rows = conn.execute(
            "SELECT cmd_seq, type, args, device_time, attempts, state FROM outbox WHERE cmd_seq >= ?"
            " ORDER BY cmd_seq LIMIT ?",
            (from_seq, limit),
        )
    else:
        rows = conn.execute(
            "SELECT cmd_seq, type, args, device_time, attempts, state FROM outbox WHERE state = 'queued'"
            " ORDER BY cmd_seq LIMIT ?",
            (limit,),
        )
    out = [OutboxRow(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5]) for r in rows]
    # A batch must be consecutive: stop at the first hole (answered commands between queued ones).
    for i in range(1, len(out)):
        if out[i].cmd_seq != out[0].cmd_seq + i:
            return out[:i]
    return out


def note_failure(conn: sqlite3.Connection, cmd_seqs: list[int], error: str) -> int:
    """One more failed attempt for these commands; returns the highest attempt count now."""
    if not cmd_seqs:
        return 0
    conn.executemany(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE cmd_seq = ? AND state = 'queued'",
        [(error, s) for s in cmd_seqs],
    )
    marks = ",".join("?" * len(cmd_seqs))
    return conn.execute(f"SELECT max(attempts) FROM outbox WHERE cmd_seq IN ({marks})", cmd_seqs).fetchone()[0] or 0


def mark_delivered(conn: sqlite3.Connection, watermark: int) -> int:
    return conn.execute(
        "UPDATE outbox SET delivered = 1 WHERE state = 'queued' AND delivered = 0 AND cmd_seq <= ?", (watermark,)
    ).rowcount


def prune(
    conn: sqlite3.Connection, now: float, retention_s: float = RETENTION_S, *, server_has: int | None = None
) -> int:
    """Drop answered commands older than the retention window whose fact the desk has seen back — and
    never one above ``server_has`` (the server's watermark), which the server may still need again."""
    return conn.execute(
        "DELETE FROM outbox WHERE state != 'queued' AND answered_at < ? AND cmd_seq <= ?"
        " AND (state = 'rejected' OR type NOT IN ('checkin', 'undo_checkin', 'walkin')"
        " OR attendee_id NOT IN (SELECT id FROM attendees) OR cmd_seq IN"
        " (SELECT cmd_seq FROM facts WHERE station_id = (SELECT value FROM meta WHERE key = 'station_id')))",
        (now - retention_s, 2**63 - 1 if server_has is None else server_has),
    ).rowcount


@dataclass(frozen=True, slots=True)
class Requeued:
    """Commands the server had (answered or acknowledged) and no longer has: going out again."""

    lost: int  # answered or delivered commands above the server's watermark: all are re-sent
    requeued: int  # of which back in the queue (the rest were refused, and stay so)
    attendees: list[str]  # whose displayed state depends on them again


def requeue_lost(
    conn: sqlite3.Connection, server_last: int, *, answered_before: float | None = None
) -> Requeued | None:
    """The server's watermark ``server_last`` is below commands it had answered or acknowledged: it has
    lost them (restored from a backup). Put them back in the queue; None when it has lost nothing.

    Only answers recorded before ``answered_before`` prove a loss: one that arrived after the watermark
    was read (an answer racing a reconnect) says nothing about it. Applied and delivered commands go back
    to ``queued`` (their old result stays until the new answer replaces it), so they count in the
    optimistic view again; rejected ones stay rejected — they are re-sent, for the server's gap-free
    numbering, but their refusal was already shown once. A re-queued walk-in's person is local again, so
    the fresh snapshot (which lacks them) keeps them on this desk.
    """
    before = float("inf") if answered_before is None else answered_before
    lost = conn.execute(
        "SELECT count(*) FROM outbox WHERE cmd_seq > ?"
        " AND ((state != 'queued' AND answered_at < ?) OR (state = 'queued' AND delivered = 1))",
        (server_last, before),
    ).fetchone()[0]
    if not lost:
        return None
    walkins = [
        r[0]
        for r in conn.execute(
            "SELECT attendee_id FROM outbox WHERE cmd_seq > ? AND state = 'applied' AND type = 'walkin'",
            (server_last,),
        )
    ]
    if walkins:
        marks = ",".join("?" * len(walkins))
        conn.execute(f"UPDATE attendees SET local_only = 1 WHERE id IN ({marks})", walkins)
    changed = conn.execute(
        "UPDATE outbox SET state = 'queued', delivered = 0, attempts = 0, last_error = NULL"
        " WHERE cmd_seq > ? AND (state = 'applied' OR (state = 'queued' AND delivered = 1))",
        (server_last,),
    ).rowcount
    attendees = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT attendee_id FROM outbox WHERE cmd_seq > ? AND state = 'queued' AND attendee_id IS NOT NULL",
            (server_last,),
        )
    ]
    return Requeued(lost, changed, attendees)


@dataclass(frozen=True, slots=True)
class Counts:
    queued: int  # not answered yet (includes stuck)
    stuck: int  # failed STUCK_AFTER_ATTEMPTS times and still not delivered
    attention: int  # entries nobody has dismissed yet


def counts(conn: sqlite3.Connection) -> Counts:
    queued, stuck = conn.execute(
        "SELECT count(*), coalesce(sum(attempts >= ? AND delivered = 0), 0) FROM outbox WHERE state = 'queued'",
        (STUCK_AFTER_ATTEMPTS,),
    ).fetchone()
    attention = conn.execute("SELECT count(*) FROM attention WHERE dismissed_at IS NULL").fetchone()[0]
    return Counts(queued, stuck, attention)


def add_attention(
    conn: sqlite3.Connection,
    *,
    kind: str,
    code: str,
    message: str,
    now: float,
    cmd_seq: int | None = None,
    attendee_id: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO attention (cmd_seq, kind, code, message, attendee_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (cmd_seq, kind, code, message, attendee_id, now),
    )
