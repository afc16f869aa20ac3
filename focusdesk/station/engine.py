"""One desk's engine: actions that answer at once, a replica that follows the server, an outbox that
gets everything there exactly once. No UI import: the TUI renders :class:`Station` and calls its methods.

Actions (check in, undo, walk-in) are synchronous and fast: each validates against the replica, applies
its effect optimistically and appends the command to the outbox in **one** local transaction, then
returns what the person should read. Everything about the network lives in ``sync.py``, which feeds the
server's answers and changes back through :meth:`Station.record_answers`, :meth:`Station.apply_snapshot`
and :meth:`Station.apply_changes`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from focusdesk.domain.attendees import new_attendee_id, new_qr_secret, normalise_email, validate_attendee
from focusdesk.domain.errors import DomainError
from focusdesk.domain.roles import Grant, Principal
from focusdesk.domain.timeutil import local_hhmm
from focusdesk.station import draws as _draws  # noqa: F401 -- registers the draw appliers with the replica
from focusdesk.station import outbox
from focusdesk.station.booking_replica import keep_answer as keep_booking_answer
from focusdesk.station.clock import Clock
from focusdesk.station.db import StationDatabaseError, StationDB, station_db_path
from focusdesk.station.model import (
    ATTENDEE_SELECT,
    ActionResult,
    AlreadyIn,
    Attendee,
    AttentionItem,
    Counts,
    HistoryEntry,
    StationStatus,
    StuckCommand,
)
from focusdesk.station.notices import NOTICE_COMMANDS, NoticeBoard, store_ack, store_notice
from focusdesk.station.replica import (
    Cursor,
    ReplicaContext,
    Touched,
    apply_changes,
    apply_snapshot,
    pending_facts,
    read_cursor,
    refresh_effective,
)
from focusdesk.station.reservations import BOOKING_COMMANDS, ReservationBook
from focusdesk.station.reservations import describe_command as describe_booking_command
from focusdesk.station.rooms import ROOM_COMMANDS, RoomBook, describe_command, store_deletion, store_room
from focusdesk.station.search import SearchIndex

if TYPE_CHECKING:
    from focusdesk.station.api import ServerApi

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Update:
    """Sent to listeners after anything the screen may show changed."""

    touched: Touched
    status: bool = False  # the status bar's figures may have changed


class Station:
    """A desk at one event. Open with :meth:`open`; single-threaded (the desk's event loop)."""

    def __init__(
        self,
        db: StationDB,
        *,
        station_id: str,
        station_name: str,
        event_id: int,
        clock: Clock | None = None,
        wall: Callable[[], float] = time.time,
        retention_s: float | None = None,
    ):
        self.db = db
        # How long answered commands are kept, so a server restored from a backup can be given them again.
        self.retention_s = outbox.retention_from_env() if retention_s is None else retention_s
        self.station_id = station_id
        self.station_name = station_name
        self.event_id = event_id
        self.scope = f"event:{event_id}"
        self.ctx = ReplicaContext(station_id, station_name)
        self.clock = clock or Clock()
        self._wall = wall
        self.listeners: list[Callable[[Update], Any]] = []
        # Connection facts the sync loop keeps up to date; the rest of the status is read from the file.
        self.connection = "starting"
        self.via: str | None = None
        self.last_sync_at: float | None = None
        self.problem: str | None = None
        self._check_identity()
        # Until this run reaches the server, "last sync" is when the replica was last brought up to date
        # (a desk started offline shows how old its list is, not "never").
        synced = db.conn.execute("SELECT synced_at FROM scopes WHERE scope = ?", (self.scope,)).fetchone()
        self.last_sync_at = synced[0] if synced else None
        offset = db.get_meta("clock_offset_s")
        if offset is not None:
            self.clock.seed(float(offset))
        # Built on first use, or by warm_index() once the desk has painted its first screen: at 50,000
        # people it takes about half a second, which a desk should not stare at before showing anything.
        self._index: SearchIndex | None = None
        # The server client of the sync loop serving this desk (it sets it), for the few reads that
        # need the server itself; None while no loop runs.
        self.api: ServerApi | None = None
        self.rooms = RoomBook(self)
        self.notices = NoticeBoard(self)
        self.reservations = ReservationBook(self)

    @classmethod
    def open(
        cls,
        *,
        station_id: str,
        station_name: str,
        event_id: int,
        directory: Path | None = None,
        path: Path | None = None,
        clock: Clock | None = None,
        retention_s: float | None = None,
    ) -> Station:
        db = StationDB(path or station_db_path(station_id, directory))
        try:
            return cls(
                db,
                station_id=station_id,
                station_name=station_name,
                event_id=event_id,
                clock=clock,
                retention_s=retention_s,
            )
        except Exception:
            db.close()
            raise

    def _check_identity(self) -> None:
        with self.db.tx():
            known = self.db.get_meta("station_id")
            if known is not None and known != self.station_id:
                raise StationDatabaseError(
                    f"{self.db.path} belongs to station {known}, not {self.station_id}; open that station's own file"
                )
            self.db.set_meta("station_id", self.station_id)
            self.db.set_meta("station_name", self.station_name)

    def close(self) -> None:
        self.db.close()

    # -- who is signed in here ------------------------------------------------------------------

    def set_account(self, user: dict[str, Any]) -> None:
        """Remember the signed-in person (id, name, role grants) from sign-in or the live ``welcome``."""
        keep = {k: user.get(k) for k in ("id", "email", "display_name", "grants")}
        with self.db.tx():
            self.db.set_meta("account", json.dumps(keep, ensure_ascii=False))
        self._account = keep
        self._notify(Touched(rooms=True, notices=True, draws=True, reservations=True))

    def account(self) -> dict[str, Any] | None:
        if not hasattr(self, "_account"):
            raw = self.db.get_meta("account")
            self._account = json.loads(raw) if raw else None
        return self._account

    def account_name(self) -> str:
        account = self.account() or {}
        return str(account.get("display_name") or account.get("email") or self.station_name)

    def user_id(self) -> int | None:
        account = self.account()
        return account.get("id") if account else None

    def principal(self) -> Principal | None:
        account = self.account()
        if not account or account.get("grants") is None:
            return None
        grants = tuple(Grant(g["role"], g.get("event_id")) for g in account["grants"])
        return Principal(account.get("id") or 0, account.get("email") or "", grants, self.station_id)

    def roles(self) -> set[str]:
        principal = self.principal()
        return principal.roles_at(self.event_id) if principal else set()

    def can(self, permission: str) -> bool:
        """May this desk's person do ``permission`` here? Unknown (an old station file): let the server say."""
        principal = self.principal()
        return True if principal is None else principal.can(permission, self.event_id)

    def wall(self) -> float:
        return self._wall()

    def timezone(self) -> str:
        """The event's time zone (venue wall clock), UTC until the replica knows the event."""
        return self._tz()

    def server_now(self) -> float:
        """The server's time as this desk best knows it (its clock corrected by the measured offset)."""
        return self.clock.now()

    # -- listeners -------------------------------------------------------------------------------

    def changed(self, touched: Touched) -> None:
        """Tell the screens that ``touched`` changed (room, notice and draw books call this)."""
        self._notify(touched)

    def queue_event_command(
        self, command: str, args: dict[str, Any], label: str, *, device_time: float | None = None
    ) -> None:
        """Queue a command about the event rather than one attendee (rooms, notices, bookings), in one
        local transaction; the caller says what changed on screen."""
        with self.db.tx() as conn:
            outbox.append(
                conn,
                command,
                {"event_id": self.event_id, **args},
                device_time=self.clock.now() if device_time is None else device_time,
                now=self._wall(),
                event_id=self.event_id,
                attendee_id=None,
                label=label,
            )

    def notify_rooms(self) -> None:
        self._notify(Touched(rooms=True))

    def _notify(self, touched: Touched, status: bool = True) -> None:
        update = Update(touched, status)
        for listener in list(self.listeners):
            try:
                listener(update)
            except Exception:  # a broken view must not break the engine
                log.exception("station: listener failed")

    @property
    def index(self) -> SearchIndex:
        if self._index is None:
            self._index = SearchIndex()
            self._rebuild_index()
        return self._index

    def warm_index(self) -> None:
        """Build the search index now, if it is not built yet (the TUI calls this after its first paint)."""
        _ = self.index

    def _refresh_index(self, touched: Touched) -> None:
        if self._index is None:
            return  # nothing built yet: the first search builds it from the file, changes included
        if touched.everything:
            self._rebuild_index()
            return
        for attendee_id in touched.removed:
            self.index.remove(attendee_id)
        for attendee_id in touched.attendees - touched.removed:
            found = self.get(attendee_id)
            if found is None:
                self.index.remove(attendee_id)
            else:
                self.index.upsert(found.search_row())

    def _rebuild_index(self) -> None:
        # Only the searchable columns: building whole Attendee rows (custom fields parsed from JSON) for
        # 50,000 people would add a fifth of a second to every desk start.
        rows = self.db.conn.execute(
            "SELECT id, name, email, company, reg_no, qr_secret FROM attendees WHERE event_id = ?", (self.event_id,)
        )
        if self._index is None:
            self._index = SearchIndex()
        self._index.build(
            {"id": r[0], "name": r[1], "email": r[2], "company": r[3], "registration_number": r[4], "qr_secret": r[5]}
            for r in rows
        )

    # -- reads -----------------------------------------------------------------------------------

    def get(self, attendee_id: str) -> Attendee | None:
        row = self.db.conn.execute(ATTENDEE_SELECT + " WHERE id = ?", (attendee_id,)).fetchone()
        return Attendee.from_row(row) if row else None

    def find_by_qr(self, secret: str) -> Attendee | None:
        row = self.db.conn.execute(
            ATTENDEE_SELECT + " WHERE qr_secret = ? AND event_id = ?", (secret.strip(), self.event_id)
        ).fetchone()
        return Attendee.from_row(row) if row else None

    def search(self, query: str, limit: int = 50) -> list[Attendee]:
        """Ranked matches from the local replica (name, email, company, number, QR secret)."""
        hits = self.index.search(query, limit)
        if not hits:
            return []
        ids = [h.attendee_id for h in hits]
        marks = ",".join("?" * len(ids))
        rows = {r[0]: r for r in self.db.conn.execute(ATTENDEE_SELECT + f" WHERE id IN ({marks})", ids)}
        return [Attendee.from_row(rows[i]) for i in ids if i in rows]

    def event(self) -> dict[str, Any] | None:
        row = self.db.conn.execute(
            "SELECT id, name, starts_on, ends_on, timezone, status FROM events WHERE id = ?", (self.event_id,)
        ).fetchone()
        return dict(row) if row else None

    def counts(self) -> Counts:
        registered, checked_in = self.db.conn.execute(
            "SELECT count(*), coalesce(sum(checked_in), 0) FROM attendees WHERE event_id = ? AND status = 'registered'",
            (self.event_id,),
        ).fetchone()
        return Counts(registered, checked_in)

    def history(self, attendee_id: str) -> list[HistoryEntry]:
        """Check-ins and undos of one person, oldest first, this desk's unconfirmed ones included."""
        conn = self.db.conn
        entries = [
            HistoryEntry(kind, at, name, True)
            for kind, at, name in conn.execute(
                "SELECT kind, at, station_name FROM facts WHERE attendee_id = ?", (attendee_id,)
            )
        ]
        entries += [
            HistoryEntry(f.kind, f.at, f.station_name, False) for f in pending_facts(conn, attendee_id, self.ctx)
        ]
        return sorted(entries, key=lambda e: e.at)

    def attention(self, *, include_dismissed: bool = False) -> list[AttentionItem]:
        where = "" if include_dismissed else " WHERE dismissed_at IS NULL"
        return [
            AttentionItem(*r)
            for r in self.db.conn.execute(
                "SELECT id, kind, code, message, attendee_id, cmd_seq, created_at FROM attention"
                + where
                + " ORDER BY id"
            )
        ]

    def stuck_commands(self, limit: int = 20) -> list[StuckCommand]:
        """Queued commands that failed ``STUCK_AFTER_ATTEMPTS`` times or more, oldest first, with the last error."""
        rows = self.db.conn.execute(
            "SELECT cmd_seq, type, coalesce(label, ''), attempts, last_error FROM outbox"
            " WHERE state = 'queued' AND delivered = 0 AND attempts >= ? ORDER BY cmd_seq LIMIT ?",
            (outbox.STUCK_AFTER_ATTEMPTS, limit),
        )
        return [StuckCommand(*row) for row in rows]

    def dismiss(self, attention_id: int) -> None:
        with self.db.tx() as conn:
            conn.execute("UPDATE attention SET dismissed_at = ? WHERE id = ?", (self._wall(), attention_id))
        self._notify(Touched())

    def status(self) -> StationStatus:
        c = outbox.counts(self.db.conn)
        return StationStatus(
            connection=self.connection,
            via=self.via if self.connection == "online" else None,
            queued=c.queued,
            stuck=c.stuck,
            attention=c.attention,
            last_sync_at=self.last_sync_at,
            clock_offset_s=self.clock.offset_s,
            clock_error_s=self.clock.error_s,
            problem=self.problem,
        )

    def cursor(self) -> Cursor:
        return read_cursor(self.db.conn, self.scope)

    # -- actions ---------------------------------------------------------------------------------

    def _event_open(self, what: str) -> None:
        event = self.event()
        if event is not None and event["status"] == "closed":
            raise DomainError("event_closed", f"{event['name']} is closed; {what} are not accepted")

    def _tz(self) -> str:
        event = self.event()
        return event["timezone"] if event else "UTC"

    def _require(self, attendee_id: str) -> Attendee:
        found = self.get(attendee_id)
        if found is None or found.event_id != self.event_id:
            raise DomainError("unknown_attendee", "no such attendee at this event (they may have been removed)")
        return found

    def _commit_fact(
        self, type_: str, args: dict[str, Any], person: Attendee, predicted: str | None
    ) -> tuple[int, Attendee]:
        attendee_id = person.id
        now = self._wall()
        with self.db.tx() as conn:
            cmd_seq = outbox.append(
                conn,
                type_,
                args,
                device_time=self.clock.now(),
                now=now,
                event_id=self.event_id,
                attendee_id=attendee_id,
                predicted=predicted,
                label=person.name,
            )
            refresh_effective(conn, [attendee_id], self.ctx)
        after = self.get(attendee_id)
        assert after is not None
        touched = Touched(attendees={attendee_id})
        self._refresh_index(touched)
        self._notify(touched)
        return cmd_seq, after

    def check_in(self, attendee_id: str) -> ActionResult:
        """Check a person in. Someone already in is checked in again and the result says when/where."""
        person = self._require(attendee_id)
        if person.status == "cancelled":
            raise DomainError(
                "registration_cancelled",
                f"{person.name}'s registration is cancelled; ask an organizer before admitting them",
            )
        self._event_open("check-ins")
        already = None
        if person.checked_in and person.checked_in_at is not None:
            already = AlreadyIn(
                person.checked_in_at, person.checked_in_station or "", local_hhmm(person.checked_in_at, self._tz())
            )
        cmd_seq, after = self._commit_fact(
            "checkin",
            {"event_id": self.event_id, "attendee_id": attendee_id},
            person,
            "already_in" if already else None,
        )
        if already is not None:
            message = f"{person.name} was already checked in at {already.local_time} at {already.station}"
        else:
            message = f"{person.name} checked in"
        return ActionResult(cmd_seq, after, message, already)

    def check_in_by_qr(self, secret: str) -> ActionResult:
        """What a badge scan does: find the person by their QR secret and check them in."""
        person = self.find_by_qr(secret)
        if person is None:
            raise DomainError("unknown_qr", "this code belongs to nobody at this event; search by name instead")
        return self.check_in(person.id)

    def undo(self, attendee_id: str) -> ActionResult:
        """Take back a check-in (a slip: the wrong person was checked in)."""
        person = self._require(attendee_id)
        if not person.checked_in:
            raise DomainError("not_checked_in", f"{person.name} is not checked in; there is nothing to undo")
        cmd_seq, after = self._commit_fact(
            "undo_checkin", {"event_id": self.event_id, "attendee_id": attendee_id}, person, None
        )
        return ActionResult(cmd_seq, after, f"check-in of {person.name} undone")

    def undo_last(self) -> ActionResult:
        """Undo this desk's most recent check-in, if that person is still checked in."""
        row = self.db.conn.execute(
            "SELECT attendee_id FROM outbox WHERE type IN ('checkin', 'walkin') AND state != 'rejected'"
            " AND event_id = ? ORDER BY cmd_seq DESC LIMIT 1",
            (self.event_id,),
        ).fetchone()
        if row is None:
            raise DomainError("nothing_to_undo", "this desk has not checked anyone in yet")
        person = self.get(row[0])
        if person is None or not person.checked_in:
            raise DomainError("nothing_to_undo", "the last person this desk checked in is no longer checked in")
        return self.undo(person.id)

    def walk_in(
        self,
        name: str,
        *,
        email: str | None = None,
        company: str = "",
        ticket_type: str = "",
        custom: dict[str, str] | None = None,
        check_in: bool = True,
    ) -> ActionResult:
        """Register someone at the desk (and, by default, check them in): works offline; the server
        numbers them when it hears of it. Invalid fields raise ``ValidationFailed`` naming each one."""
        fields = validate_attendee(
            {"name": name, "email": email, "company": company, "ticket_type": ticket_type, "custom": custom or {}}
        )
        self._event_open("walk-ins")
        if fields.email:
            clash = self.db.conn.execute(
                "SELECT name, reg_no FROM attendees WHERE event_id = ? AND email = ?",
                (self.event_id, normalise_email(fields.email)),
            ).fetchone()
            if clash is not None:
                number = f"#{clash[1]}" if clash[1] is not None else "a walk-in"
                raise DomainError(
                    "already_registered",
                    f"{fields.email} is already registered as {clash[0]} ({number}); check them in instead",
                )
        attendee_id = new_attendee_id()
        secret = new_qr_secret()
        person = {
            "id": attendee_id,
            "name": fields.name,
            "email": fields.email,
            "company": fields.company,
            "ticket_type": fields.ticket_type,
            "custom": fields.custom,
            "qr_secret": secret,
        }
        now = self._wall()
        with self.db.tx() as conn:
            conn.execute(
                "INSERT INTO attendees (id, event_id, reg_no, name, email, company, ticket_type, custom, status,"
                " qr_secret, local_only) VALUES (?, ?, NULL, ?, ?, ?, ?, ?, 'registered', ?, 1)",
                (
                    attendee_id,
                    self.event_id,
                    fields.name,
                    fields.email,
                    fields.company,
                    fields.ticket_type,
                    json.dumps(fields.custom, ensure_ascii=False),
                    secret,
                ),
            )
            cmd_seq = outbox.append(
                conn,
                "walkin",
                {"event_id": self.event_id, "attendee": person, "check_in": check_in},
                device_time=self.clock.now(),
                now=now,
                event_id=self.event_id,
                attendee_id=attendee_id,
                label=fields.name,
            )
            refresh_effective(conn, [attendee_id], self.ctx)
        touched = Touched(attendees={attendee_id})
        self._refresh_index(touched)
        self._notify(touched)
        after = self.get(attendee_id)
        assert after is not None
        verb = "registered and checked in" if check_in else "registered"
        return ActionResult(cmd_seq, after, f"{fields.name} {verb} (number follows when the server confirms)")

    # -- what the sync loop feeds in ----------------------------------------------------------------

    def next_batch(self, limit: int, from_seq: int | None = None) -> list[outbox.OutboxRow]:
        return outbox.next_batch(self.db.conn, limit, from_seq=from_seq)

    def apply_snapshot(self, epoch: str, seq: int, state: dict[str, Any]) -> None:
        with self.db.tx() as conn:
            touched = apply_snapshot(conn, self.scope, epoch, seq, state, self.ctx, self._wall())
        self._refresh_index(touched)
        self._notify(touched)

    def apply_changes(self, changes: Iterable[tuple[int, str, Any]]) -> Cursor:
        """Apply contiguous changes of the desk's scope in one transaction; returns the cursor reached."""
        with self.db.tx() as conn:
            touched, cursor = apply_changes(conn, self.scope, changes, self.ctx, self._wall())
        if touched:
            self._refresh_index(touched)
            self._notify(touched)
        return cursor

    def record_answers(self, results: list[dict[str, Any]]) -> list[AttentionItem]:
        """Store the server's answers; a rejection is reverted and listed for a person to see."""
        now = self._wall()
        touched = Touched()
        attention_before = self.db.conn.execute("SELECT coalesce(max(id), 0) FROM attention").fetchone()[0]
        with self.db.tx() as conn:
            for result in results:
                seq = result.get("cmd_seq")
                row = conn.execute(
                    "SELECT type, attendee_id, state, predicted, label, args FROM outbox WHERE cmd_seq = ?", (seq,)
                ).fetchone()
                if row is None or row["state"] != "queued":
                    continue  # answered already (a replay's stored answer), or pruned
                status = "rejected" if result.get("status") == "rejected" else "applied"
                conn.execute(
                    "UPDATE outbox SET state = ?, result = ?, answered_at = ? WHERE cmd_seq = ?",
                    (status, json.dumps(result, ensure_ascii=False), now, seq),
                )
                attendee_id = row["attendee_id"]
                # What the person must be told beyond what the desk said at once.
                notice = None
                if row["type"] in ROOM_COMMANDS or row["type"] in NOTICE_COMMANDS or row["type"] in BOOKING_COMMANDS:
                    touched.merge(_keep_answer(conn, row["type"], result))
                if status == "rejected":
                    self._note_rejection(conn, row, result, now)
                elif result.get("lost"):
                    notice = ("conflict", "changed_elsewhere", "changed on another desk")
                elif result.get("already_checked_in") and row["predicted"] != "already_in":
                    notice = ("notice", "already_checked_in", "was already checked in")
                if notice is not None:
                    kind, code, fallback = notice
                    outbox.add_attention(
                        conn,
                        kind=kind,
                        code=code,
                        message=str(result.get("message") or fallback),
                        now=now,
                        cmd_seq=seq,
                        attendee_id=attendee_id,
                    )
                if attendee_id:
                    if conn.execute("SELECT 1 FROM attendees WHERE id = ?", (attendee_id,)).fetchone():
                        refresh_effective(conn, [attendee_id], self.ctx)
                        touched.attendees.add(attendee_id)
                    else:
                        touched.removed.add(attendee_id)
        self._refresh_index(touched)
        self._notify(touched)
        return [a for a in self.attention() if a.id > attention_before]

    def _note_rejection(self, conn, row, result: dict[str, Any], now: float) -> None:
        attendee_id = row["attendee_id"]
        name = row["label"]
        if row["type"] == "walkin":
            # The walk-in never existed for the server: the desk's provisional person goes away.
            conn.execute("DELETE FROM attendees WHERE id = ? AND local_only = 1", (attendee_id,))
        what = {
            "checkin": "Check-in",
            "undo_checkin": "Undo",
            "walkin": "Walk-in registration",
            "notice_post": "Sending the notice",
            "notice_ack": "Acknowledging the notice",
        }.get(row["type"], "Action")
        who = f" of {name}" if name else ""
        if row["type"] in ROOM_COMMANDS:
            what, who = describe_command(row["type"], json.loads(row["args"])), f" in {name}" if name else ""
        elif row["type"] in NOTICE_COMMANDS:
            who = f" “{name}”" if name else ""
        elif row["type"] in BOOKING_COMMANDS:
            what = describe_booking_command(row["type"], json.loads(row["args"]))
            who = f" “{name}”" if name else ""
        outbox.add_attention(
            conn,
            kind="rejected",
            code=str(result.get("code") or "rejected"),
            message=f"{what}{who} was refused by the server: {result.get('message') or 'no reason given'}",
            now=now,
            cmd_seq=result.get("cmd_seq"),
            attendee_id=attendee_id,
        )

    def note_send_failure(self, cmd_seqs: list[int], error: str) -> int:
        with self.db.tx() as conn:
            attempts = outbox.note_failure(conn, cmd_seqs, error)
        self.problem = error
        self._notify(Touched())
        return attempts

    def on_server_watermark(self, last_cmd_seq: int, *, answered_before: float | None = None) -> int | None:
        """The server's ``last_cmd_seq`` for this desk (sign-in, welcome): commands up to it arrived.

        If it is below commands the server had already answered (answered before ``answered_before``, on
        this desk's wall clock, when given), the server has lost them — restored from a backup. They go
        back in the queue in the same transaction, the person is told once, and the cmd_seq to re-send
        from is returned (None when nothing was lost).
        """
        now = self._wall()
        touched = Touched()
        with self.db.tx() as conn:
            lost = outbox.requeue_lost(conn, last_cmd_seq, answered_before=answered_before)
            if lost is not None and lost.requeued:
                refresh_effective(conn, lost.attendees, self.ctx)
                touched.attendees.update(lost.attendees)
                outbox.add_attention(
                    conn,
                    kind="notice",
                    code="server_restored",
                    message="The server was restored from a backup; this desk is re-sending"
                    f" {lost.lost} action{'s' if lost.lost != 1 else ''} it had made since.",
                    now=now,
                )
            outbox.mark_delivered(conn, last_cmd_seq)
            outbox.raise_cmd_seq_floor(conn, last_cmd_seq)
            outbox.prune(conn, now, self.retention_s, server_has=last_cmd_seq)
        self._refresh_index(touched)
        self._notify(touched)
        return None if lost is None else last_cmd_seq + 1

    def note_lost_commands(self, first: int, before: int) -> None:
        """The server lacked this desk's commands ``first..before-1`` and the desk no longer held them
        (pruned after the retention window); the server now records them as lost. Tell the person."""
        count = before - first
        hours = self.retention_s / 3600
        with self.db.tx() as conn:
            outbox.add_attention(
                conn,
                kind="sync",
                code="lost",
                message=f"The server lost {count} earlier action{'s' if count != 1 else ''} of this desk"
                f" (#{first}–#{before - 1}) and this desk no longer kept {'them' if count != 1 else 'it'}:"
                f" older than its {hours:g} h retention window. Check the people concerned again if in doubt.",
                now=self._wall(),
            )
        self._notify(Touched())

    def set_connection(self, connection: str, via: str | None = None, problem: str | None = None) -> None:
        changed = (connection, via) != (self.connection, self.via) or problem != self.problem
        self.connection, self.via = connection, via
        if connection == "online":
            self.last_sync_at = self._wall()
            self.problem = problem
        elif problem is not None:
            self.problem = problem
        if changed:
            self._notify(Touched())

    def remember_clock(self) -> None:
        if self.clock.best is not None:
            with self.db.tx():
                self.db.set_meta("clock_offset_s", repr(self.clock.offset_s))


def _keep_answer(conn, command: str, result: dict[str, Any]) -> Touched:
    """An answer to a room, notice, resource or booking command carries the server's new version: keep it
    now (a live change with the same version may come before or after)."""
    if command in BOOKING_COMMANDS:
        return keep_booking_answer(conn, result)
    if command in ROOM_COMMANDS:
        if isinstance(result.get("room"), dict):
            store_room(conn, result["room"])
        elif isinstance(result.get("deleted_room"), dict):
            gone = result["deleted_room"]
            store_deletion(conn, gone["id"], gone["event_id"], gone.get("rev", 0))
        return Touched(rooms=True)
    if isinstance(result.get("notice"), dict):
        store_notice(conn, result["notice"])
    if isinstance(result.get("ack"), dict) and result.get("notice_id"):
        store_ack(conn, result["notice_id"], result["ack"])
    return Touched(notices=True)
