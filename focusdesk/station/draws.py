"""Prize drawings on the desk: past draws from the replica, and running one through the server.

A draw is not a desk command: who may win depends on who is checked in *on the server* at that moment, so
it needs the server and says so when the desk is offline. Results arrive on every desk as ``draw.updated``
changes, like anything else.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from focusdesk.domain.draws import results_csv
from focusdesk.domain.errors import DomainError
from focusdesk.domain.roles import DRAW_RUN
from focusdesk.domain.timeutil import from_iso
from focusdesk.station.api import Refused, ServerApi, SignedOutError, Transient
from focusdesk.station.model import Draw, DrawWinner
from focusdesk.station.replica import CHANGE_APPLIERS, SNAPSHOT_LOADERS, ReplicaContext, Touched

if TYPE_CHECKING:
    from focusdesk.station.engine import Station


def store_draw(conn: sqlite3.Connection, record: dict[str, Any]) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO draws (id, event_id, created_at, record) VALUES (?, ?, ?, ?)",
        (record["id"], record["event_id"], from_iso(record["created_at"]), json.dumps(record, ensure_ascii=False)),
    )


def _on_draw_updated(conn: sqlite3.Connection, data: dict, ctx: ReplicaContext) -> Touched:
    store_draw(conn, data["draw"])
    return Touched(draws=True)


def _load_draws(conn: sqlite3.Connection, event_id: int, records: list[dict]) -> None:
    conn.execute("DELETE FROM draws WHERE event_id = ?", (event_id,))
    for record in records:
        store_draw(conn, record)


CHANGE_APPLIERS["draw.updated"] = _on_draw_updated
SNAPSHOT_LOADERS["draws"] = _load_draws


def draw_from_record(record: dict[str, Any]) -> Draw:
    return Draw(
        id=record["id"],
        event_id=record["event_id"],
        prize=record.get("prize") or "",
        checked_in_only=bool(record.get("checked_in_only")),
        count=int(record.get("count") or 0),
        seed=record.get("seed") or "",
        pool_size=int(record.get("pool_size") or 0),
        winners=tuple(
            DrawWinner(w["attendee_id"], w.get("name") or "", w.get("registration_number"))
            for w in record.get("winners") or ()
        ),
        status=record.get("status") or "proposed",
        by=record.get("by") or "",
        created_at=from_iso(record["created_at"]) or 0.0,
        decided_at=from_iso(record.get("decided_at")),
    )


class Draws:
    """``desk.draws``: the event's draws, and running, confirming or redrawing one (needs the server)."""

    def __init__(self, station: Station, api: ServerApi):
        self.station = station
        self.api = api

    def list(self) -> list[Draw]:
        """Newest first."""
        rows = self.station.db.conn.execute(
            "SELECT record FROM draws WHERE event_id = ? ORDER BY created_at DESC, id", (self.station.event_id,)
        )
        return [draw_from_record(json.loads(raw)) for (raw,) in rows]

    def get(self, draw_id: str) -> Draw | None:
        return next((d for d in self.list() if d.id == draw_id), None)

    def export_csv(self, *, include_discarded: bool = False) -> str:
        """Results as CSV (oldest draw first), one row per winner, with seed and pool size."""
        rows = self.station.db.conn.execute(
            "SELECT record FROM draws WHERE event_id = ? ORDER BY created_at, id", (self.station.event_id,)
        )
        return results_csv((json.loads(raw) for (raw,) in rows), include_discarded=include_discarded)

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Draw:
        if not self.station.can(DRAW_RUN):
            raise DomainError("forbidden", "your account may not run prize draws at this event; ask an organizer")
        try:
            record = await self.api.call(method, f"/events/{self.station.event_id}/draws{path}", body)
        except Transient as exc:
            raise DomainError(
                "offline", f"A draw needs the server, which cannot be reached right now ({exc.message}). Try again."
            ) from exc
        except SignedOutError as exc:
            raise DomainError("signed_out", f"{exc.message} Sign in again, then draw.") from exc
        except Refused as exc:
            raise DomainError(str((exc.body or {}).get("code") or "refused"), exc.message) from exc
        # Keep the result at once; the live change that follows carries the same record.
        with self.station.db.tx() as conn:
            store_draw(conn, record)
        self.station.changed(Touched(draws=True))
        return draw_from_record(record)

    async def run(self, prize: str, *, count: int = 1, checked_in_only: bool = True) -> Draw:
        """Draw ``count`` winners for ``prize`` (proposed until confirmed)."""
        return await self._call("POST", "", {"prize": prize, "count": count, "checked_in_only": checked_in_only})

    async def confirm(self, draw_id: str) -> Draw:
        return await self._call("POST", f"/{draw_id}/confirm")

    async def redraw(self, draw_id: str) -> Draw:
        """Discard a proposed draw and draw again with the same settings and a new seed."""
        return await self._call("POST", f"/{draw_id}/redraw")
