"""One REST change to an event, the way the routers make it: refused on a closed event, applied with
the event's time zone at one server time, and logged in the same transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from focusdesk.server.db import Database
from focusdesk.server.store.changelog import append_changes, event_scope
from focusdesk.server.store.events import ensure_open, get_event_row

Entry = tuple[str, str, object]
# change(conn, event's time zone, server time) -> (answer, change-log entries)
Change = Callable[[Connection, str, float], tuple[dict[str, Any], list[Entry]]]


async def write_event_change(db: Database, event_id: int, change: Change) -> dict[str, Any]:
    now = time.time()

    def work(conn: Connection) -> dict[str, Any]:
        event = get_event_row(conn, event_id)
        ensure_open(event)
        answer, entries = change(conn, event["timezone"], now)
        append_changes(conn, event_scope(event_id), entries, origin="api", now=now)
        return answer

    return await db.write(work)


# store_command(conn, *, event_id, command, args, actor, now) -> (answer, entries): the stores' command
# functions (change_room, change_resource) all take this shape.
StoreCommand = Callable[..., tuple[dict[str, Any], list[Entry]]]


async def write_event_command(
    db: Database, event_id: int, store_command: StoreCommand, command: str, args: dict[str, Any], actor: str
) -> dict[str, Any]:
    """A desk command made over REST: ``store_command`` applied as :func:`write_event_change` applies."""

    def change(conn: Connection, _tz: str, now: float):
        return store_command(
            conn, event_id=event_id, command=command, args={"event_id": event_id, **args}, actor=actor, now=now
        )

    return await write_event_change(db, event_id, change)
