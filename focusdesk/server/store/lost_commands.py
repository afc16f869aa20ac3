"""A desk's declaration that some of its commands are gone for good.

After a restore from a backup the server's ``last_cmd_seq`` for a desk can be lower than what the desk
has had answered. The desk re-sends what it still holds, but it keeps answered commands only for a
retention window; older ones are pruned. Commands are applied strictly in ``cmd_seq`` order, so without a
way to skip those the server would answer "resend from N" forever. The desk therefore says, in its own
authenticated ``POST /commands``, "my commands from your watermark up to (not including) my first one in
this batch are gone" (``lost_before``). The server then records each skipped number as a refused command
with code ``lost`` and moves that desk's watermark past them, in one transaction. Only the desk's own
watermark moves, and only up to the batch it is sending.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, update

from focusdesk.domain.errors import DomainError
from focusdesk.domain.roles import Principal
from focusdesk.server.schema import command_results, stations
from focusdesk.server.store.commands import ensure_station
from focusdesk.server.store.records import dumps

# A desk makes a few thousand commands a day; more than this at once is not a lost tail but a mistake.
MAX_LOST = 100_000


def declare_lost(conn: Connection, principal: Principal, before: int, now: float) -> int:
    """Skip this desk's commands from its watermark + 1 to ``before - 1``; returns how many were skipped
    (0 when the server already has them all: declaring twice changes nothing)."""
    station_id = principal.station_id
    assert station_id, "the router only lets desk tokens send commands"
    last = ensure_station(conn, station_id, principal.station_name or station_id, now)
    first = last + 1
    count = before - first
    if count <= 0:
        return 0
    if count > MAX_LOST:
        raise DomainError(
            "too_many_lost",
            f"this desk declares {count} commands lost ({first}..{before - 1}); at most {MAX_LOST} at once",
        )
    message = "this desk no longer held this command when the server, restored from a backup, asked for it"
    conn.execute(
        insert(command_results),
        [
            {
                "station_id": station_id,
                "cmd_seq": seq,
                "result": dumps({"cmd_seq": seq, "status": "rejected", "code": "lost", "message": message}),
                "at": now,
            }
            for seq in range(first, before)
        ],
    )
    conn.execute(update(stations).where(stations.c.id == station_id).values(last_cmd_seq=before - 1, last_seen_at=now))
    return count
