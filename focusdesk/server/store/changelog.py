"""The per-scope change log: gap-free sequence numbers assigned under the scope_head row lock.

Every change is appended in the same transaction as the change itself. The head is bumped with one
``UPDATE … RETURNING`` which takes the row lock (PostgreSQL) or runs under the single writer (SQLite), so
the order of commits equals the order of seq and a reader tailing ``seq > last`` can never skip one.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, insert, select, update

from focusdesk.server.db import publish_after_commit
from focusdesk.server.schema import change_log, scope_head
from focusdesk.server.store.prepared import Prepared


def event_scope(event_id: int) -> str:
    return f"event:{event_id}"


def parse_event_scope(scope: str) -> int | None:
    prefix, _, rest = scope.partition(":")
    if prefix != "event" or not rest.isdigit() or len(rest) > 18:
        return None
    return int(rest)


@dataclass(frozen=True, slots=True)
class Change:
    """One committed change, ready to publish. ``data`` is already-encoded JSON."""

    scope: str
    seq: int
    at: float
    kind: str
    entity_id: str
    data: str
    origin: str

    def to_json(self) -> str:
        """The `change` frame body, built around the stored JSON without decoding it."""
        return (
            f'{{"scope":{json.dumps(self.scope)},"seq":{self.seq},"kind":{json.dumps(self.kind)},'
            f'"at":{self.at!r},"data":{self.data}}}'
        )


def new_epoch() -> str:
    """A fresh random epoch: a new scope's, or every scope's after a restore (server/backups.py)."""
    return secrets.token_hex(8)


def create_scope(conn: Connection, scope: str) -> str:
    epoch = new_epoch()
    conn.execute(insert(scope_head).values(scope=scope, epoch=epoch, head_seq=0, min_seq=0))
    return epoch


def append_changes(
    conn: Connection,
    scope: str,
    entries: list[tuple[str, str, object]],
    *,
    origin: str | list[str],
    now: float,
) -> list[Change]:
    """Append ``(kind, entity_id, data)`` entries to ``scope``'s log; returns them with their seq.

    ``origin`` names who made the changes: one value for all, or one per entry.
    """
    if not entries:
        return []
    n = len(entries)
    head = _BUMP_HEAD.scalar(conn, {"scope": scope, "n": n})
    if head is None:
        raise LookupError(f"no change log for scope {scope}")
    changes = numbered_changes(scope, entries, origin=origin, now=now, first=head - n + 1)
    _INSERT_CHANGE.many(
        conn,
        [
            {
                "scope": c.scope,
                "seq": c.seq,
                "at": c.at,
                "kind": c.kind,
                "entity_id": c.entity_id,
                "data": c.data,
                "origin": c.origin,
            }
            for c in changes
        ],
    )
    publish_after_commit(conn, changes)
    return changes


def numbered_changes(
    scope: str, entries: list[tuple[str, str, object]], *, origin: str | list[str], now: float, first: int
) -> list[Change]:
    """The changes ``entries`` become once the head has given them the seqs ``first``, ``first + 1``, …"""
    return [
        Change(
            scope=scope,
            seq=first + i,
            at=now,
            kind=kind,
            entity_id=entity_id,
            data=data if isinstance(data, str) else json.dumps(data, separators=(",", ":")),
            origin=origin if isinstance(origin, str) else origin[i],
        )
        for i, (kind, entity_id, data) in enumerate(entries)
    ]


# The head bump takes the scope_head row lock (PostgreSQL) for the rest of the transaction: that is
# what keeps seq order equal to commit order.
_BUMP_HEAD = Prepared(
    update(scope_head)
    .where(scope_head.c.scope == bindparam("scope"))
    .values(head_seq=scope_head.c.head_seq + bindparam("n"))
    .returning(scope_head.c.head_seq)
)
_CHANGE_COLUMNS = ("scope", "seq", "at", "kind", "entity_id", "data", "origin")
_INSERT_CHANGE = Prepared(insert(change_log).values({c: bindparam(c) for c in _CHANGE_COLUMNS}))


def read_head(conn: Connection, scope: str):
    return conn.execute(
        select(scope_head.c.epoch, scope_head.c.head_seq, scope_head.c.min_seq).where(scope_head.c.scope == scope)
    ).first()


def read_changes(conn: Connection, scope: str, since: int, limit: int) -> list[Change]:
    rows = conn.execute(
        select(change_log)
        .where(change_log.c.scope == scope, change_log.c.seq > since)
        .order_by(change_log.c.seq)
        .limit(limit)
    )
    return [Change(r.scope, r.seq, r.at, r.kind, r.entity_id, r.data, r.origin) for r in rows]
