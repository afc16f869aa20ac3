"""The Operations board as a desk reads it: every desk and printer of the event, check-ins per minute, and
the backend's health — one ``GET /events/{id}/operations``.

The board is read from the server, not the desk's replica: it is about the other desks, which only the
server sees, and technicians (who do not hold the attendee list) need it too. Live ``desk.updated`` changes of the
event make the screen read it again at once; otherwise it is read every few seconds while shown.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from focusdesk.domain.presence import DeskPresence, Problem, board_order, is_closed, problems
from focusdesk.station.api import Refused, ServerApi, SignedOutError, Transient


@dataclass(frozen=True, slots=True)
class BoardRow:
    desk: DeskPresence
    problems: list[Problem]
    is_me: bool = False  # the desk this board is shown on


@dataclass(frozen=True, slots=True)
class Board:
    rows: list[BoardRow]  # problems first
    checkins_per_minute: list[int]  # oldest first; the last is the current minute
    checked_in: int
    attendees: int
    health: dict[str, Any]  # /health's answer plus live connections and the change-log head
    server_time: float
    timeout_s: float  # how long a silent desk stays online
    fetched_at: float = field(default_factory=time.time)

    @property
    def online(self) -> int:
        return sum(1 for r in self.rows if r.desk.state == "online")

    @property
    def closed(self) -> int:
        """Desks that signed off: offline on purpose."""
        return sum(1 for r in self.rows if is_closed(r.desk))

    @property
    def offline(self) -> int:
        """Desks gone silent (not the ones that signed off)."""
        return len(self.rows) - self.online - self.closed

    @property
    def with_problems(self) -> int:
        return sum(1 for r in self.rows if r.problems)


def board_from_json(body: dict[str, Any], my_station_id: str | None = None) -> Board:
    desks = board_order([DeskPresence.from_json(d) for d in body.get("desks") or []])
    return Board(
        rows=[BoardRow(d, problems(d), d.station_id == my_station_id) for d in desks],
        checkins_per_minute=[int(n) for n in body.get("checkins_per_minute") or []],
        checked_in=int(body.get("checked_in") or 0),
        attendees=int(body.get("attendees") or 0),
        health=dict(body.get("health") or {}),
        server_time=float(body.get("server_time") or time.time()),
        timeout_s=float(body.get("timeout_s") or 0),
    )


class BoardUnavailable(Exception):
    """The board could not be read; ``str()`` says why and what to do."""


async def fetch_board(api: ServerApi, event_id: int, my_station_id: str | None = None) -> Board:
    try:
        body = await api.call("GET", f"/events/{event_id}/operations")
    except SignedOutError as exc:
        raise BoardUnavailable(f"signed out: {exc.message} — sign in again") from exc
    except Refused as exc:
        raise BoardUnavailable(exc.message) from exc
    except Transient as exc:
        raise BoardUnavailable(f"{exc.message} — showing the last board read") from exc
    return board_from_json(body, my_station_id)


async def fetch_history(api: ServerApi, event_id: int, station_id: str) -> list[dict[str, Any]]:
    """One desk's recent state changes, newest first: ``[{at, state, summary}]``."""
    try:
        body = await api.call("GET", f"/events/{event_id}/desks/{station_id}/history")
    except (SignedOutError, Refused, Transient) as exc:
        raise BoardUnavailable(getattr(exc, "message", str(exc))) from exc
    return list(body.get("history") or [])
