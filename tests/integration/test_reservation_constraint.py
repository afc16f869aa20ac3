"""PostgreSQL itself refuses overlapping bookings (migration 0005: reservations.hold_until and an exclusion
constraint), next to the resource lock the server decides under — and a resource's buffer can no longer
be raised past bookings it would leave too close (both backends).

What is shown: the migration creates the constraint and fills hold_until (keeping old too-close bookings
it would otherwise refuse); a write around the server is refused by the database with the same rule
(buffers kept, touching allowed, released bookings hold nothing); a booking racing such a write gets
the rule's own refusal instead of a 500, and a desk batch goes on after it; a larger buffer is refused
naming the two bookings it would squeeze, a smaller one always goes through, and a buffer change only
reaches bookings it can still matter for.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from alembic import command
from sqlalchemy import create_engine, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from focusdesk.domain import reservations as rule
from focusdesk.domain.errors import DomainError
from focusdesk.domain.timeutil import from_iso
from focusdesk.server.db import Database, sqlite_url_for
from focusdesk.server.migrate import alembic_config
from focusdesk.server.schema import RESERVATION_OVERLAP, reservations
from focusdesk.server.store import reservations as store
from focusdesk.server.store.events import create_event
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, LiveServer, create_admin, make_event

MIN = 60.0
HOUR = 3600.0
DAY = 86400.0
TZ = "Europe/Berlin"
T0 = datetime(2031, 3, 4, 9, 0, tzinfo=UTC).timestamp()  # 10:00 in Berlin, far from any DST change


# -- helpers -------------------------------------------------------------------------------------------


def _alembic(url: str, action: str, revision: str) -> None:
    """Upgrade or downgrade ``url`` to ``revision``."""

    def run(conn) -> None:
        getattr(command, action)(alembic_config(conn), revision)
        if conn.in_transaction():
            conn.commit()

    if url.startswith("sqlite"):
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                run(conn)
        finally:
            engine.dispose()
        return

    async def main() -> None:
        engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1), poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                await conn.run_sync(run)
        finally:
            await engine.dispose()

    asyncio.run(main())


def _pg(url: str, sql: str, *args):
    """Rows of one statement, on a connection of its own."""

    async def main():
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(main())


def _seed(db: Database, *, buffer_min: int, name: str = "Board room", now: float = T0 - 2 * HOUR) -> tuple[int, str]:
    """An open event in Berlin with one room; returns (event id, resource id)."""

    def work(conn):
        event, _changes = create_event(
            conn,
            {"name": "Venue", "starts_on": "2031-03-03", "ends_on": "2031-03-06", "timezone": TZ, "status": "open"},
            now,
        )
        resource_id = f"rs-{uuid.uuid4().hex[:10]}"
        args = {"resource": {"id": resource_id, "kind": "room", "name": name, "buffer_min": buffer_min}}
        store.change_resource(conn, event_id=event["id"], command="resource_create", args=args, actor="t", now=now)
        return event["id"], resource_id

    return db.write_sync(work)


def _row(booking_id: str, event_id: int, resource_id: str, start: float, end: float, hold: float, status: str):
    return {
        "id": booking_id,
        "event_id": event_id,
        "resource_id": resource_id,
        "holder_name": booking_id,
        "attendee_id": None,
        "start": start,
        "end": end,
        "hold_until": hold,
        "status": status,
        "series_id": None,
        "note": "",
        "created_by": "around the server",
        "station_id": None,
        "created_at": T0 - DAY,
        "checked_in_at": None,
        "decided_by": None,
        "reason": "",
        "reminded_at": None,
        "rev": 1,
        "updated_at": T0 - DAY,
    }


def _write_around(db: Database, row: dict) -> None:
    """Insert a booking row directly, without the resource lock or the rule (as another program would)."""
    db.write_sync(lambda conn: conn.execute(insert(reservations).values(**row)))


def _refused_by_database(exc: BaseException) -> bool:
    return isinstance(exc, IntegrityError) and getattr(exc.orig, "sqlstate", None) == "23P01"


def _book(db: Database, event_id: int, resource_id: str, holder: str, start: float, end: float, *, now: float):
    data = {"id": f"bk-{holder.lower()}-{uuid.uuid4().hex[:6]}", "resource_id": resource_id, "holder_name": holder}
    data.update(start=datetime.fromtimestamp(start, UTC).isoformat(), end=datetime.fromtimestamp(end, UTC).isoformat())

    def work(conn):
        answer, _entries = store.create_reservations(
            conn, event_id=event_id, tz=TZ, args={"reservation": data}, actor="t", station_id=None, now=now
        )
        return answer["reservation"]

    return db.write_sync(work)


def _act(db: Database, event_id: int, command_type: str, booking_id: str, *, now: float) -> dict:
    def work(conn):
        answer, _entries = store.change_reservation(
            conn,
            event_id=event_id,
            tz=TZ,
            command=command_type,
            args={"reservation_id": booking_id},
            actor="t",
            now=now,
        )
        return answer["reservation"]

    return db.write_sync(work)


def _set_buffer(db: Database, event_id: int, resource_id: str, minutes: int, *, now: float) -> dict:
    args = {"resource_id": resource_id, "fields": {"buffer_min": minutes}}

    def work(conn):
        answer, _entries = store.change_resource(
            conn, event_id=event_id, command="resource_update", args=args, actor="t", now=now
        )
        return answer["resource"]

    return db.write_sync(work)


def _holds(db: Database, resource_id: str) -> dict[str, float]:
    query = select(reservations.c.id, reservations.c.hold_until).where(reservations.c.resource_id == resource_id)
    return db.read_sync(lambda conn: {r.id: r.hold_until for r in conn.execute(query)})


# -- the migration ---------------------------------------------------------------------------------------


def test_the_migration_creates_the_exclusion_constraint(pg_database):
    db = Database(pg_database)
    db.migrate()
    db.close()
    (found,) = _pg(
        pg_database,
        "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint"
        " WHERE conrelid = 'reservations'::regclass AND contype = 'x'",
    )
    assert found["conname"] == RESERVATION_OVERLAP
    definition = found["def"]
    assert definition.startswith("EXCLUDE USING gist (resource_id WITH =, numrange(")
    assert "(hold_until)::numeric) WITH &&" in definition
    for status in sorted(rule.ACTIVE):
        assert f"'{status}'" in definition
    for status in set(rule.STATUSES) - rule.ACTIVE:
        assert f"'{status}'" not in definition
    assert _pg(pg_database, "SELECT 1 FROM pg_extension WHERE extname = 'btree_gist'")
    (column,) = _pg(
        pg_database,
        "SELECT is_nullable, data_type FROM information_schema.columns"
        " WHERE table_name = 'reservations' AND column_name = 'hold_until'",
    )
    assert (column["is_nullable"], column["data_type"]) == ("NO", "double precision")


def _legacy_rows(url: str, rows: list[tuple[str, str, float, float, str]]) -> None:
    """At revision 0004: an event, rooms "buffered" (15 min) and "plain" (none), and bookings
    (id, resource, start, end, status) as an older server stored them."""
    sql = [
        "INSERT INTO events (id, name, starts_on, ends_on, timezone, status, next_reg_no, created_at, updated_at)"
        " VALUES (1, 'Old', '2031-03-03', '2031-03-06', 'Europe/Berlin', 'open', 1, 0, 0)",
    ]
    for rid, buffer in (("buffered", 15), ("plain", 0)):
        sql.append(
            "INSERT INTO resources (id, event_id, kind, name, name_key, capacity, buffer_min, open_from, open_until,"
            " needs_approval, release_after_min, device_status, status_note, status_by, status_at, rev,"
            f" created_at, updated_at) VALUES ('{rid}', 1, 'room', '{rid}', '{rid}', NULL, {buffer}, NULL, NULL,"
            " false, 15, NULL, '', NULL, NULL, 1, 0, 0)"
        )
    for bid, rid, start, end, status in rows:
        sql.append(
            'INSERT INTO reservations (id, event_id, resource_id, holder_name, attendee_id, start, "end", status,'
            " series_id, note, created_by, station_id, created_at, checked_in_at, decided_by, reason, reminded_at,"
            f" rev, updated_at) VALUES ('{bid}', 1, '{rid}', '{bid}', NULL, {start}, {end}, '{status}', NULL, '',"
            " 'old', NULL, 0, NULL, NULL, '', NULL, 1, 0)"
        )

    if url.startswith("sqlite"):
        with sqlite3.connect(make_url(url).database) as conn:
            for statement in sql:
                conn.execute(statement)
        return

    async def main():
        conn = await asyncpg.connect(url)
        try:
            for statement in sql:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(main())


def test_on_sqlite_the_migration_fills_hold_until_from_each_resources_buffer(tmp_path):
    url = sqlite_url_for(tmp_path / "old.db")
    _alembic(url, "upgrade", "0004")
    _legacy_rows(
        url,
        [
            ("a", "buffered", T0, T0 + HOUR, "completed"),
            ("gone", "buffered", T0 + 2 * HOUR, T0 + 150 * MIN, "cancelled"),
            ("p", "plain", T0, T0 + HOUR, "checked_in"),
        ],
    )
    _alembic(url, "upgrade", "head")
    with sqlite3.connect(tmp_path / "old.db") as conn:
        holds = dict(conn.execute("SELECT id, hold_until FROM reservations"))
        assert conn.execute("SELECT count(*) FROM reservations WHERE hold_until IS NULL").fetchone() == (0,)
    assert holds == {"a": T0 + 75 * MIN, "gone": T0 + 165 * MIN, "p": T0 + HOUR}
    _alembic(url, "downgrade", "0004")
    _alembic(url, "upgrade", "head")


def test_the_migration_fills_hold_until_and_keeps_old_too_close_bookings(pg_database):
    _alembic(pg_database, "upgrade", "0004")
    _legacy_rows(
        pg_database,
        [
            ("a", "buffered", T0, T0 + HOUR, "completed"),
            ("b", "buffered", T0 + 90 * MIN, T0 + 2 * HOUR, "approved"),  # 30 min after a: room for 15
            # 5 min after b: booked before the buffer was raised to 15; b holds only until c starts
            ("c", "buffered", T0 + 125 * MIN, T0 + 3 * HOUR, "pending"),
            ("gone", "buffered", T0 + 2 * HOUR, T0 + 150 * MIN, "cancelled"),  # holds nothing
            ("p", "plain", T0, T0 + HOUR, "checked_in"),
        ],
    )
    _alembic(pg_database, "upgrade", "head")
    holds = {r["id"]: r["hold_until"] for r in _pg(pg_database, "SELECT id, hold_until FROM reservations")}
    assert holds == {
        "a": T0 + 75 * MIN,
        "b": T0 + 125 * MIN,
        "c": T0 + 195 * MIN,
        "gone": T0 + 165 * MIN,
        "p": T0 + HOUR,
    }
    # Down and up again: the constraint and the column come and go with the revision.
    _alembic(pg_database, "downgrade", "0004")
    assert not _pg(pg_database, "SELECT 1 FROM pg_constraint WHERE conname = $1", RESERVATION_OVERLAP)
    _alembic(pg_database, "upgrade", "head")
    assert _pg(pg_database, "SELECT 1 FROM pg_constraint WHERE conname = $1", RESERVATION_OVERLAP)


def test_the_migration_refuses_bookings_that_overlap_outright(pg_database):
    _alembic(pg_database, "upgrade", "0004")
    _legacy_rows(
        pg_database,
        [
            ("first", "plain", T0, T0 + HOUR, "approved"),
            ("second", "plain", T0 + 30 * MIN, T0 + 2 * HOUR, "approved"),
            ("fine", "plain", T0 + 2 * HOUR, T0 + 3 * HOUR, "approved"),
        ],
    )
    with pytest.raises(RuntimeError, match=r"active reservations overlap.*first and second"):
        _alembic(pg_database, "upgrade", "head")
    assert not _pg(pg_database, "SELECT 1 FROM pg_constraint WHERE conname = $1", RESERVATION_OVERLAP)


# -- the database refuses what the rule refuses, whoever writes -------------------------------------------


def test_postgresql_refuses_an_overlapping_booking_written_around_the_server(pg_database):
    create_admin(pg_database)
    db = Database(pg_database)
    try:
        event_id, room = _seed(db, buffer_min=10)
        _, other_room = _seed(db, buffer_min=0, name="Other room")
        buffer = 10 * MIN
        made = []

        def write(bid: str, start: float, end: float, status: str = "approved", resource: str = room) -> bool:
            try:
                _write_around(db, _row(bid, event_id, resource, start, end, end + buffer, status))
            except IntegrityError as exc:
                assert _refused_by_database(exc), exc
                return False
            made.append(bid)
            return True

        assert write("a", T0, T0 + HOUR)  # 10:00-11:00, holds until 11:10
        assert not write("overlap", T0 + 30 * MIN, T0 + 90 * MIN)
        assert not write("inside", T0 + 10 * MIN, T0 + 20 * MIN)
        assert not write("in-buffer-after", T0 + 65 * MIN, T0 + 2 * HOUR)
        assert not write("in-buffer-before", T0 - HOUR, T0 - 5 * MIN)  # holds until 10:05
        assert write("after-buffer", T0 + 70 * MIN, T0 + 2 * HOUR)  # starts as a's hold ends
        assert write("before-buffer", T0 - HOUR, T0 - buffer)  # its hold ends as a starts
        for status in ("cancelled", "rejected", "no_show"):  # released bookings hold nothing
            assert write(f"released-{status}", T0 + 15 * MIN, T0 + 45 * MIN, status)
        for status in ("pending", "checked_in", "completed"):  # every active status holds
            assert not write(f"held-{status}", T0 + 15 * MIN, T0 + 45 * MIN, status)
        assert write("elsewhere", T0, T0 + HOUR, resource=other_room)  # another resource is another matter

        # A released booking coming back to life where another now holds: refused as well.
        revive = update(reservations).where(reservations.c.id == "released-cancelled").values(status="approved")
        with pytest.raises(IntegrityError) as caught:
            db.write_sync(lambda conn: conn.execute(revive))
        assert _refused_by_database(caught.value)
        # Once a is cancelled, its slot is free for anyone.
        db.write_sync(
            lambda conn: conn.execute(update(reservations).where(reservations.c.id == "a").values(status="cancelled"))
        )
        assert write("overlap-later", T0 + 30 * MIN, T0 + 60 * MIN)
        ids = db.read_sync(lambda conn: sorted(conn.execute(select(reservations.c.id)).scalars()))
        assert ids == sorted(made)
    finally:
        db.close()


# -- a refusal from the database reaches the client as the rule's refusal ---------------------------------


@pytest.fixture
def pg_server(pg_database):
    create_admin(pg_database)
    srv = LiveServer.configured(pg_database).start()
    yield srv
    srv.stop()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _hour_from_now(hours: float) -> float:
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return base.timestamp() + hours * HOUR


def test_a_booking_racing_a_write_around_the_server_gets_the_rules_refusal(pg_server):
    api = Api(pg_server.url)
    api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    event = make_event(api)
    room = api.post(f"/api/v1/events/{event['id']}/resources", json={"kind": "room", "name": "Studio"}).json()
    start = _hour_from_now(2)
    # A cancelled booking of the slot, which something other than the server brings back to life. (A row
    # inserted around the server cannot race a booking: its foreign key locks the resource row the server
    # decides under. An update of a booking's status or times takes no such lock.)
    db = Database(pg_server.database_url)
    try:
        _write_around(db, _row("intruder", event["id"], room["id"], start, start + HOUR, start + HOUR, "cancelled"))
    finally:
        db.close()
    answer: dict = {}

    async def around() -> None:
        conn = await asyncpg.connect(pg_server.database_url)
        try:
            tx = conn.transaction()
            await tx.start()
            # Not committed yet: the server's rule cannot see it.
            await conn.execute("UPDATE reservations SET status = 'approved' WHERE id = 'intruder'")
            thread = threading.Thread(
                target=lambda: answer.update(r=_post_booking(pg_server.url, api.token, event["id"], room["id"], start))
            )
            thread.start()
            # The server's insert waits for this transaction (the constraint met its uncommitted row): commit.
            deadline = time.monotonic() + 20
            while not await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND wait_event = 'transactionid'"
            ):
                assert time.monotonic() < deadline, "the server's booking never waited on the row"
                await asyncio.sleep(0.05)
            await tx.commit()
            await asyncio.to_thread(thread.join, 30)
        finally:
            await conn.close()

    asyncio.run(around())
    response = answer["r"]
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["code"] == "reservation_conflict"
    assert body["message"].startswith("that slot was just taken; Studio is booked ")
    assert "by intruder" in body["message"] and "nearest free slot" in body["message"]
    assert body["conflict"]["id"] == "intruder"
    # The request failed alone: the next one books the free hour after.
    after = _post_booking(pg_server.url, api.token, event["id"], room["id"], start + HOUR)
    assert after.status_code == 201, after.text
    api.close()


def _post_booking(base_url: str, token: str, event_id: int, resource_id: str, start: float, holder: str = "Ana"):
    import httpx

    body = {"resource_id": resource_id, "holder_name": holder, "start": _iso(start), "end": _iso(start + HOUR)}
    with httpx.Client(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
        return client.post(f"/api/v1/events/{event_id}/reservations", json=body)


def test_a_desk_batch_goes_on_after_the_database_refuses_one_booking(pg_server):
    api = Api(pg_server.url)
    api.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Front desk")
    event = make_event(api)
    room = api.post(f"/api/v1/events/{event['id']}/resources", json={"kind": "room", "name": "Studio"}).json()
    start = _hour_from_now(2)
    # Written around the server by something that keeps a much longer hold than the rule: the rule sees
    # nothing near 11:00, the database sees the slot held until 13:00.
    db = Database(pg_server.database_url)
    try:
        _write_around(db, _row("odd", event["id"], room["id"], start, start + 30 * MIN, start + 3 * HOUR, "approved"))
    finally:
        db.close()

    def create(at: float, holder: str) -> dict:
        data = {"id": uuid.uuid4().hex, "resource_id": room["id"], "holder_name": holder}
        data.update(start=_iso(at), end=_iso(at + HOUR))
        return {"type": "reservation_create", "args": {"event_id": event["id"], "reservation": data}}

    r = api.send(create(start + HOUR, "Refused"), create(start + 4 * HOUR, "Booked"))
    assert r.status_code == 200, r.text
    refused, booked = r.json()["results"]
    assert refused["status"] == "rejected" and refused["code"] == "reservation_conflict", refused
    assert refused["message"].startswith("that slot was just taken; Studio is held by another booking")
    assert booked["status"] == "applied", booked
    held = {x["holder_name"] for x in api.get(f"/api/v1/events/{event['id']}/reservations").json()}
    assert held == {"odd", "Booked"}
    api.close()


# -- buffer changes -------------------------------------------------------------------------------------


def test_a_larger_buffer_that_would_squeeze_two_bookings_is_refused_and_a_smaller_one_is_not(server):
    admin = Api(server.url)
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    desk = Api(server.url)
    desk.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Front desk")
    event = make_event(admin, timezone=TZ)
    e = event["id"]
    made = admin.post(f"/api/v1/events/{e}/resources", json={"kind": "room", "name": "Board room"})
    assert made.status_code == 201, made.text
    room = made.json()
    start = _hour_from_now(3)

    def book(holder: str, begin: float, end: float):
        body = {"resource_id": room["id"], "holder_name": holder, "start": _iso(begin), "end": _iso(end)}
        return admin.post(f"/api/v1/events/{e}/reservations", json=body)

    ann = book("Ann", start, start + HOUR)
    bob = book("Bob", start + 65 * MIN, start + 2 * HOUR)
    assert ann.status_code == bob.status_code == 201
    ann, bob = ann.json()["reservations"][0], bob.json()["reservations"][0]
    before = admin.get(f"/api/v1/events/{e}/reservations").json()

    refused = admin.patch(f"/api/v1/events/{e}/resources/{room['id']}", json={"buffer_min": 15})
    assert refused.status_code == 409, refused.text
    body = refused.json()
    spans = [rule.span_text(from_iso(b["start"]), from_iso(b["end"]), TZ) for b in (ann, bob)]
    assert body["code"] == "reservation_conflict"
    assert body["message"] == (
        f"a 15-minute buffer would leave Board room booked by Ann {spans[0]} and by Bob {spans[1]} too close;"
        " move or cancel one first"
    )
    assert body["conflict"]["id"] == ann["id"] and body["conflict_with"]["id"] == bob["id"]
    # Nothing changed: not the resource, not the bookings.
    (unchanged,) = admin.get(f"/api/v1/events/{e}/resources").json()
    assert (unchanged["buffer_min"], unchanged["rev"]) == (0, room["rev"])
    assert admin.get(f"/api/v1/events/{e}/reservations").json() == before

    # The same from a desk: a rejected command with the same words.
    command = {"type": "resource_update", "args": {"event_id": e, "resource_id": room["id"], "fields": {}}}
    command["args"]["fields"] = {"buffer_min": 30, "name": "Board room 1"}
    (result,) = desk.send(command).json()["results"]
    assert result["status"] == "rejected" and result["code"] == "reservation_conflict", result
    assert result["message"].startswith("a 30-minute buffer would leave Board room booked by Ann")
    (unchanged,) = admin.get(f"/api/v1/events/{e}/resources").json()
    assert (unchanged["name"], unchanged["buffer_min"]) == ("Board room", 0)

    # Exactly the gap fits (touching), and a smaller buffer always does.
    five = admin.patch(f"/api/v1/events/{e}/resources/{room['id']}", json={"buffer_min": 5})
    assert five.status_code == 200 and five.json()["buffer_min"] == 5, five.text
    command["args"]["fields"] = {"buffer_min": 2}
    (result,) = desk.send(command).json()["results"]
    assert result["status"] == "applied" and result["resource"]["buffer_min"] == 2, result

    # Bookings go on with the buffer in force; once Bob cancels, the larger buffer fits.
    assert book("Cy", start + 2 * HOUR, start + 3 * HOUR).status_code == 409  # within 2 min of Bob
    assert book("Cy", start + 122 * MIN, start + 3 * HOUR).status_code == 201
    assert admin.post(f"/api/v1/events/{e}/reservations/{bob['id']}/cancel").status_code == 200
    fifteen = admin.patch(f"/api/v1/events/{e}/resources/{room['id']}", json={"buffer_min": 15})
    assert fifteen.status_code == 200, fifteen.text
    assert book("Dee", start + 70 * MIN, start + 100 * MIN).status_code == 409  # inside Ann's 15 min
    assert book("Dee", start + 75 * MIN, start + 110 * MIN).status_code == 409  # within 15 min before Cy
    assert book("Dee", start + 75 * MIN, start + 107 * MIN).status_code == 201

    db = Database(server.database_url)
    try:
        holds = _holds(db, room["id"])
    finally:
        db.close()
    by_holder = {r["holder_name"]: r for r in admin.get(f"/api/v1/events/{e}/reservations").json()}
    for holder in ("Ann", "Cy", "Dee"):
        assert holds[by_holder[holder]["id"]] == from_iso(by_holder[holder]["end"]) + 15 * MIN, holder
    admin.close()
    desk.close()


def test_a_buffer_change_reaches_only_the_bookings_it_can_still_matter_for(server_database):
    db = Database(server_database)
    db.start()
    try:
        event_id, room = _seed(db, buffer_min=0)
        # Ann 10:00-11:00 and Bob 11:05-12:00, used as booked.
        ann = _book(db, event_id, room, "Ann", T0, T0 + HOUR, now=T0 - HOUR)
        bob = _book(db, event_id, room, "Bob", T0 + 65 * MIN, T0 + 2 * HOUR, now=T0 - HOUR)
        _act(db, event_id, "reservation_checkin", ann["id"], now=T0)
        _act(db, event_id, "reservation_complete", ann["id"], now=T0 + HOUR)
        _act(db, event_id, "reservation_checkin", bob["id"], now=T0 + 65 * MIN)

        # 11:10: Ann finished 10 minutes ago and Bob is in the room — a 15 min buffer would squeeze them.
        with pytest.raises(DomainError) as caught:
            _set_buffer(db, event_id, room, 15, now=T0 + 70 * MIN)
        assert caught.value.code == "reservation_conflict"
        assert caught.value.message == (
            "a 15-minute buffer would leave Board room booked by Ann Tue 04 Mar 10:00–11:00 and by Bob"
            " Tue 04 Mar 11:05–12:00 too close; move or cancel one first"
        )
        assert _holds(db, room) == {ann["id"]: T0 + HOUR, bob["id"]: T0 + 2 * HOUR}

        # Bob finishes early, at 11:30: his hold shrinks with his end.
        _act(db, event_id, "reservation_complete", bob["id"], now=T0 + 90 * MIN)
        assert _holds(db, room)[bob["id"]] == T0 + 90 * MIN

        # 12:00: both are long finished — the larger buffer matters for neither; they keep their holds.
        _set_buffer(db, event_id, room, 15, now=T0 + 2 * HOUR)
        assert _holds(db, room) == {ann["id"]: T0 + HOUR, bob["id"]: T0 + 90 * MIN}
        # A new booking holds its end + 15 min, and the next one keeps clear of that.
        cy = _book(db, event_id, room, "Cy", T0 + 150 * MIN, T0 + 3 * HOUR, now=T0 + 2 * HOUR)
        assert _holds(db, room)[cy["id"]] == T0 + 3 * HOUR + 15 * MIN
        with pytest.raises(DomainError, match=r"Board room is booked .* by Cy"):
            _book(db, event_id, room, "Dee", T0 + 185 * MIN, T0 + 4 * HOUR, now=T0 + 2 * HOUR)

        # A smaller buffer shrinks what upcoming bookings hold.
        _set_buffer(db, event_id, room, 5, now=T0 + 2 * HOUR)
        assert _holds(db, room) == {ann["id"]: T0 + HOUR, bob["id"]: T0 + 90 * MIN, cy["id"]: T0 + 185 * MIN}
        # 30 min reaches Bob (finished 30 min ago, plus the 5 min a booking may start in the past) but not Ann.
        _set_buffer(db, event_id, room, 30, now=T0 + 2 * HOUR)
        assert _holds(db, room) == {ann["id"]: T0 + HOUR, bob["id"]: T0 + 2 * HOUR, cy["id"]: T0 + 210 * MIN}
        # 60 min reaches Ann too, and would leave her and Bob too close.
        with pytest.raises(DomainError, match="a 60-minute buffer would leave Board room booked by Ann"):
            _set_buffer(db, event_id, room, 60, now=T0 + 2 * HOUR)
    finally:
        db.close()
