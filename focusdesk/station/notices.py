"""Notices on the desk: what the server sent this desk's person, acknowledgements, and sending one.

The server only hands a desk the notices addressed to its person (or all of them to someone who may send
notices), so the replica needs no filtering; ``for_me`` tells a sender's own notices to others apart from
those they must acknowledge. Posting and acknowledging are commands: both work offline, and the desk
shows them at once as pending until the server's answer or the live change confirms them.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import TYPE_CHECKING, Any

from focusdesk.domain.errors import DomainError
from focusdesk.domain.notices import Audience, addressed_to, validate_notice
from focusdesk.domain.roles import NOTICE_POST, NOTICE_READ
from focusdesk.domain.timeutil import from_iso
from focusdesk.station.model import Notice, NoticeAck
from focusdesk.station.replica import CHANGE_APPLIERS, SNAPSHOT_LOADERS, ReplicaContext, Touched

if TYPE_CHECKING:
    from focusdesk.station.engine import Station

NOTICE_COMMANDS = ("notice_post", "notice_ack")
_PRIORITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def store_notice(conn: sqlite3.Connection, record: dict[str, Any]) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO notices (id, event_id, created_at, record) VALUES (?, ?, ?, ?)",
        (record["id"], record["event_id"], from_iso(record["created_at"]), json.dumps(record, ensure_ascii=False)),
    )
    for ack in record.get("acks") or ():
        store_ack(conn, record["id"], ack)


def store_ack(conn: sqlite3.Connection, notice_id: str, ack: dict[str, Any]) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO notice_acks (notice_id, user_id, record) VALUES (?, ?, ?)",
        (notice_id, ack["user_id"], json.dumps(ack, ensure_ascii=False)),
    )


def _on_posted(conn: sqlite3.Connection, data: dict, ctx: ReplicaContext) -> Touched:
    store_notice(conn, data["notice"])
    return Touched(notices=True)


def _on_acked(conn: sqlite3.Connection, data: dict, ctx: ReplicaContext) -> Touched:
    store_ack(conn, data["notice_id"], data["ack"])
    return Touched(notices=True)


def _load_notices(conn: sqlite3.Connection, event_id: int, records: list[dict]) -> None:
    conn.execute("DELETE FROM notice_acks WHERE notice_id IN (SELECT id FROM notices WHERE event_id = ?)", (event_id,))
    conn.execute("DELETE FROM notices WHERE event_id = ?", (event_id,))
    for record in records:
        store_notice(conn, record)


CHANGE_APPLIERS.update({"notice.posted": _on_posted, "notice.acked": _on_acked})
SNAPSHOT_LOADERS["notices"] = _load_notices


class NoticeBoard:
    """``station.notices``: the feed, acknowledging, and (for organizers) sending."""

    def __init__(self, station: Station):
        self.station = station

    def _mine(self, audience: Audience) -> bool:
        station = self.station
        return addressed_to(audience, roles=station.roles(), station_id=station.station_id)

    def list(self, *, include_expired: bool = True) -> list[Notice]:
        """Newest first; this desk's unsent notices on top."""
        station = self.station
        conn = station.db.conn
        me = station.user_id()
        acks: dict[str, list[NoticeAck]] = {}
        acked_by_me: set[str] = set()
        for notice_id, user_id, raw in conn.execute(
            "SELECT notice_id, user_id, record FROM notice_acks ORDER BY notice_id"
        ):
            ack = json.loads(raw)
            acks.setdefault(notice_id, []).append(
                NoticeAck(str(ack.get("user") or ""), str(ack.get("station_name") or ""), from_iso(ack["at"]) or 0.0)
            )
            if me is not None and user_id == me:
                acked_by_me.add(notice_id)
        queued = conn.execute(
            "SELECT type, args, device_time FROM outbox WHERE state = 'queued' AND type IN (?, ?) ORDER BY cmd_seq",
            NOTICE_COMMANDS,
        ).fetchall()
        for kind, raw, at in queued:
            args = json.loads(raw)
            if kind == "notice_ack" and args.get("notice_id") not in acked_by_me:
                acked_by_me.add(args["notice_id"])
                acks.setdefault(args["notice_id"], []).append(
                    NoticeAck(station.account_name(), station.station_name, at, pending=True)
                )
        notices = [
            self._notice(json.loads(raw), acks, acked_by_me, pending=False)
            for (raw,) in conn.execute(
                "SELECT record FROM notices WHERE event_id = ? ORDER BY created_at DESC, id", (station.event_id,)
            )
        ]
        known = {n.id for n in notices}
        unsent = [
            self._unsent(json.loads(raw), at)
            for kind, raw, at in reversed(queued)
            if kind == "notice_post" and json.loads(raw)["notice"]["id"] not in known
        ]
        out = unsent + notices
        if not include_expired:
            now = station.clock.now()
            out = [n for n in out if not n.expired(now)]
        return out

    def _notice(
        self, record: dict[str, Any], acks: dict[str, list[NoticeAck]], acked_by_me: set[str], *, pending: bool
    ) -> Notice:
        audience = Audience.from_dict(record.get("audience"))
        return Notice(
            id=record["id"],
            event_id=record["event_id"],
            priority=record.get("priority") or "medium",
            body=record.get("body") or "",
            audience=record.get("audience_label") or audience.describe(),
            author=record.get("author") or "",
            created_at=from_iso(record["created_at"]) or 0.0,
            expires_at=from_iso(record.get("expires_at")),
            acks=tuple(sorted(acks.get(record["id"], ()), key=lambda a: a.at)),
            for_me=self._mine(audience),
            acked_by_me=record["id"] in acked_by_me,
            pending=pending,
        )

    def _unsent(self, args: dict[str, Any], at: float) -> Notice:
        fields = args["notice"]
        audience = Audience.from_dict(fields.get("audience"))
        expires = fields.get("expires_in_s")
        return Notice(
            id=fields["id"],
            event_id=self.station.event_id,
            priority=fields.get("priority") or "medium",
            body=fields.get("body") or "",
            audience=audience.describe(),
            author=self.station.account_name(),
            created_at=at,
            expires_at=None if expires is None else at + float(expires),
            acks=(),
            for_me=self._mine(audience),
            acked_by_me=False,
            pending=True,
        )

    def get(self, notice_id: str) -> Notice | None:
        return next((n for n in self.list() if n.id == notice_id), None)

    def unacknowledged(self) -> list[Notice]:
        """Notices for this desk's person that still need their acknowledgement (highest priority first)."""
        now = self.station.clock.now()
        waiting = [n for n in self.list() if n.needs_my_ack(now) and not n.pending]
        return sorted(waiting, key=lambda n: (_PRIORITY_ORDER.get(n.priority, 1), -n.created_at))

    def post(
        self,
        body: str,
        *,
        priority: str = "medium",
        audience: Audience | None = None,
        expires_in_s: float | None = None,
    ) -> Notice:
        """Send a notice (organizers): to everyone, one role (``Audience("role", "staff")``) or one desk."""
        station = self.station
        if not station.can(NOTICE_POST):
            raise DomainError("forbidden", "your account may not send notices at this event; ask an organizer")
        data: dict[str, Any] = {"body": body, "priority": priority, "audience": (audience or Audience()).to_dict()}
        if expires_in_s is not None:
            data["expires_in_s"] = expires_in_s
        fields = validate_notice(data, prefix="notice.")
        notice_id = uuid.uuid4().hex
        wire = {
            "id": notice_id,
            "body": fields.body,
            "priority": fields.priority,
            "audience": fields.audience.to_dict(),
        }
        if fields.expires_in_s is not None:
            wire["expires_in_s"] = fields.expires_in_s
        self._queue("notice_post", {"notice": wire}, fields.body[:60])
        found = self.get(notice_id)
        assert found is not None
        return found

    def acknowledge(self, notice_id: str) -> Notice:
        station = self.station
        if not station.can(NOTICE_READ):
            raise DomainError("forbidden", "your account may not read notices at this event")
        notice = self.get(notice_id)
        if notice is None:
            raise DomainError("unknown_notice", "no such notice at this desk")
        if notice.pending:
            raise DomainError("not_sent", "this notice has not reached the server yet; acknowledge it once it has")
        if notice.acked_by_me:
            raise DomainError("already_acknowledged", "you have already acknowledged this notice")
        self._queue("notice_ack", {"notice_id": notice_id}, notice.body[:60])
        found = self.get(notice_id)
        assert found is not None
        return found

    def _queue(self, command: str, args: dict[str, Any], label: str) -> None:
        self.station.queue_event_command(command, args, label)
        self.station.changed(Touched(notices=True))
