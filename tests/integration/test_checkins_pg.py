"""The PostgreSQL two-statement check-in path (server/store/checkins_pg.py) against a real PostgreSQL.

It must answer exactly as the locking way (``commands.apply_batches``) does and leave the same rows
behind; a write planned on rows that changed since they were read must write nothing at all; and the
group committer must hand such a group to the locking way and give the caller the locking way's answer.
"""

from __future__ import annotations

import asyncio
import itertools
import json

import asyncpg
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import insert, update

from focusdesk.domain.attendees import validate_attendee
from focusdesk.domain.events import validate_event
from focusdesk.domain.roles import STAFF, Grant, Principal
from focusdesk.server.db import Database
from focusdesk.server.schema import attendees
from focusdesk.server.store.changelog import event_scope
from focusdesk.server.store.checkins_pg import READ, WRITE, apply_checkins, plan, read_params
from focusdesk.server.store.commands import CommandIn, apply_batches, ensure_station
from focusdesk.server.store.events import create_event
from tests.pg_support import fresh_pg_database

BASE_NOW = 1_900_000_000.0  # a fixed server clock, so two databases fed the same steps stay byte-equal
DESKS = 3
REGULAR = 3  # attendees 0..2 registered, 3 cancelled, 4 never existed
CANCELLED = REGULAR
UNKNOWN = REGULAR + 1


# -- seeding -----------------------------------------------------------------------------------------


def _attendee_id(tag: str, i: int) -> str:
    return f"{tag}-att-{i}"


def _desk_id(tag: str, k: int) -> str:
    return f"{tag}-desk-{k}"


def _desk_name(tag: str, k: int) -> str:
    return f"Desk {k} {tag}"


def _seed(conn, tag: str, now: float) -> int:
    """An open event, REGULAR + 1 attendees with ids of our choosing (the last one cancelled) and DESKS
    registered desks, all named after ``tag``; returns the event id."""
    fields = validate_event(
        {
            "name": f"Fast path {tag}",
            "starts_on": "2030-03-01",
            "ends_on": "2030-03-02",
            "timezone": "Europe/Berlin",
            "status": "open",
        }
    )
    event, _changes = create_event(conn, fields, now)
    event_id = event["id"]
    for i in range(REGULAR + 1):
        person = validate_attendee({"name": f"Person {i} {tag}", "email": f"p{i}.{tag}@example.org"})
        conn.execute(
            insert(attendees).values(
                id=_attendee_id(tag, i),
                event_id=event_id,
                reg_no=i + 1,
                name=person.name,
                email=person.email,
                company=person.company,
                ticket_type=person.ticket_type,
                custom=json.dumps(person.custom),
                status="registered",
                qr_secret=f"qr-{tag}-{i}",
                checked_in=False,
                checked_in_at=None,
                checked_in_station=None,
                checkin_count=0,
                created_at=now,
                updated_at=now,
            )
        )
    conn.execute(update(attendees).where(attendees.c.id == _attendee_id(tag, CANCELLED)).values(status="cancelled"))
    for k in range(DESKS):
        ensure_station(conn, _desk_id(tag, k), _desk_name(tag, k), now)
    return event_id


def _desk(tag: str, k: int, event_id: int) -> Principal:
    return Principal(
        user_id=1,
        email=f"desk{k}@example.org",
        grants=(Grant(STAFF, event_id),),
        station_id=_desk_id(tag, k),
        station_name=_desk_name(tag, k),
    )


def _checkin(seq: int, event_id: int, attendee_id: str, device_time: float | None = None, kind: str = "checkin"):
    return CommandIn(seq, kind, {"event_id": event_id, "attendee_id": attendee_id}, device_time)


def _migrated(url: str) -> Database:
    db = Database(url)
    db.migrate()
    return db


# -- the rows a group leaves behind --------------------------------------------------------------------


async def _state(pg, event_id: int, desk_ids: list[str]) -> dict[str, list[tuple]]:
    """Everything a check-in group writes, for one event and its desks (check-in facts without their id)."""
    scope = event_scope(event_id)
    queries = {
        "attendees": (
            "SELECT id, status, checked_in, checked_in_at, checked_in_station, checkin_count, updated_at"
            " FROM attendees WHERE event_id = $1 ORDER BY id",
            event_id,
        ),
        "checkins": (
            "SELECT event_id, attendee_id, kind, at, recorded_at, station_id, station_name, cmd_seq, user_id"
            " FROM checkins WHERE event_id = $1 ORDER BY id",
            event_id,
        ),
        "command_results": (
            "SELECT station_id, cmd_seq, result, at FROM command_results"
            " WHERE station_id = ANY($1::varchar[]) ORDER BY station_id, cmd_seq",
            desk_ids,
        ),
        "change_log": (
            "SELECT scope, seq, at, kind, entity_id, data, origin FROM change_log WHERE scope = $1 ORDER BY seq",
            scope,
        ),
        "stations": (
            "SELECT id, name, last_cmd_seq, created_at, last_seen_at FROM stations"
            " WHERE id = ANY($1::varchar[]) ORDER BY id",
            desk_ids,
        ),
        "scope_head": ("SELECT scope, head_seq, min_seq FROM scope_head WHERE scope = $1", scope),
    }
    return {name: [tuple(r) for r in await pg.fetch(sql, arg)] for name, (sql, arg) in queries.items()}


async def _head(pg, event_id: int) -> int:
    return await pg.fetchval("SELECT head_seq FROM scope_head WHERE scope = $1", event_scope(event_id))


def _assert_same_outcomes(locking, fast) -> None:
    assert len(locking) == len(fast)
    for i, (a, b) in enumerate(zip(locking, fast, strict=True)):
        assert b.results == a.results, f"payload {i}: results differ"
        assert (b.last_cmd_seq, b.resend_from) == (a.last_cmd_seq, a.resend_from), f"payload {i}"
        assert b.changes == a.changes, f"payload {i}: changes differ"  # scope, seq, at, kind, entity_id, data, origin
        assert b.answered == a.answered, f"payload {i}"


# -- 1. the same answers and rows as the locking way ---------------------------------------------------

# The device's stamp in ms from the server's now (None: no stamp), at most 120 s either way.
DEVICE_OFFSET_MS = st.one_of(
    st.none(),
    st.integers(-6_000, 6_000),  # within the undo shadow of other facts
    st.integers(-120_000, 120_000),  # often before facts already recorded, sometimes past the future clamp
)
COMMAND = st.tuples(
    st.sampled_from(["checkin", "checkin", "undo_checkin"]),
    st.sampled_from([0, 0, 1, 1, 2, CANCELLED, UNKNOWN]),
    DEVICE_OFFSET_MS,
)
PAYLOAD = st.tuples(st.integers(0, DESKS - 1), st.lists(COMMAND, min_size=1, max_size=3))
STEPS = st.lists(st.lists(PAYLOAD, min_size=1, max_size=3), min_size=1, max_size=6)


def test_the_two_statement_way_answers_and_writes_as_the_locking_way(pg_database):
    with fresh_pg_database() as url_b:
        db_a, db_b = _migrated(pg_database), _migrated(url_b)
        loop = asyncio.new_event_loop()
        pg_a = loop.run_until_complete(asyncpg.connect(pg_database))
        pg_b = loop.run_until_complete(asyncpg.connect(url_b))
        examples = itertools.count()
        try:

            @settings(
                max_examples=25,
                deadline=None,
                database=None,
                # No "explain" phase: it re-runs failing examples many times over, each seeding two databases.
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(steps=STEPS)
            def same_as_locking(steps):
                note(f"steps = {steps!r}")  # this Hypothesis prints the failing case's arguments blank
                n = next(examples)
                tag = f"x{n}"
                seeded_at = BASE_NOW + n * 10_000
                event_a = db_a.write_sync(lambda c: _seed(c, tag, seeded_at))
                event_b = db_b.write_sync(lambda c: _seed(c, tag, seeded_at))
                assert event_a == event_b, "the two databases are no longer in lockstep"
                event_id = event_a
                next_seq = [1] * DESKS
                for step_no, step in enumerate(steps, start=1):
                    now = seeded_at + 2.0 * step_no
                    payloads = []
                    for k, commands in step:
                        cmds = []
                        for kind, who, offset in commands:
                            device_time = None if offset is None else now + offset / 1000
                            cmds.append(_checkin(next_seq[k], event_id, _attendee_id(tag, who), device_time, kind))
                            next_seq[k] += 1
                        payloads.append((_desk(tag, k, event_id), cmds))

                    locking = db_a.write_sync(lambda c, p=payloads, t=now: apply_batches(c, p, now=t))
                    done = loop.run_until_complete(apply_checkins(pg_b, payloads, now=now))
                    assert done is not None, "the two-statement way declined a group of fresh check-ins"
                    fast, published = done
                    _assert_same_outcomes(locking, fast)
                    all_changes = [c for o in locking for c in o.changes]
                    assert sorted(published, key=lambda c: (c.scope, c.seq)) == sorted(
                        all_changes, key=lambda c: (c.scope, c.seq)
                    )

                desk_ids = [_desk_id(tag, k) for k in range(DESKS)]
                state_a = loop.run_until_complete(_state(pg_a, event_id, desk_ids))
                state_b = loop.run_until_complete(_state(pg_b, event_id, desk_ids))
                assert state_b == state_a
                # Every command was answered and stored once, on both.
                assert len(state_b["command_results"]) == sum(s - 1 for s in next_seq)

            same_as_locking()
        finally:
            loop.run_until_complete(pg_a.close())
            loop.run_until_complete(pg_b.close())
            loop.close()


def test_a_gap_gets_the_same_answer_and_a_replay_is_declined_and_writes_nothing(pg_database):
    with fresh_pg_database() as url_b:
        db_a, db_b = _migrated(pg_database), _migrated(url_b)
        tag = "gap"
        event_id = db_a.write_sync(lambda c: _seed(c, tag, BASE_NOW))
        assert db_b.write_sync(lambda c: _seed(c, tag, BASE_NOW)) == event_id
        d0, d1 = _desk(tag, 0, event_id), _desk(tag, 1, event_id)
        person = [_attendee_id(tag, i) for i in range(REGULAR)]
        desk_ids = [_desk_id(tag, k) for k in range(DESKS)]

        async def go():
            pg_a, pg_b = await asyncpg.connect(pg_database), await asyncpg.connect(url_b)
            try:

                async def both(payloads, now):
                    locking = await asyncio.to_thread(db_a.write_sync, lambda c: apply_batches(c, payloads, now=now))
                    done = await apply_checkins(pg_b, payloads, now=now)
                    assert done is not None
                    _assert_same_outcomes(locking, done[0])
                    return locking

                first = await both([(d0, [_checkin(1, event_id, person[0])])], BASE_NOW + 1)
                assert first[0].last_cmd_seq == 1

                # A payload that starts past watermark + 1: "resend from 2", nothing applied, on both ways.
                gap = await both([(d0, [_checkin(3, event_id, person[1])])], BASE_NOW + 2)
                assert (gap[0].results, gap[0].last_cmd_seq, gap[0].resend_from) == ([], 1, 2)
                # A gap next to another desk's fresh check-in: that one is applied, the gap still refused.
                mixed = await both(
                    [(d0, [_checkin(4, event_id, person[1])]), (d1, [_checkin(1, event_id, person[2])])], BASE_NOW + 3
                )
                assert (mixed[0].last_cmd_seq, mixed[0].resend_from) == (1, 2)
                assert (mixed[1].last_cmd_seq, mixed[1].resend_from) == (1, None)
                assert json.loads(mixed[1].results[0])["status"] == "applied"
                assert await _state(pg_b, event_id, desk_ids) == await _state(pg_a, event_id, desk_ids)

                # A replay (cmd_seq <= watermark) goes the locking way: declined, and nothing is written.
                before = await _state(pg_b, event_id, desk_ids)
                assert await apply_checkins(pg_b, [(d0, [_checkin(1, event_id, person[0])])], now=BASE_NOW + 4) is None
                # ... also when it shares the group with another desk's fresh check-in, or starts one.
                replay_in_group = [(d1, [_checkin(2, event_id, person[1])]), (d0, [_checkin(1, event_id, person[0])])]
                assert await apply_checkins(pg_b, replay_in_group, now=BASE_NOW + 5) is None
                resend_and_new = [(d0, [_checkin(1, event_id, person[0]), _checkin(2, event_id, person[1])])]
                assert await apply_checkins(pg_b, resend_and_new, now=BASE_NOW + 6) is None
                assert await _state(pg_b, event_id, desk_ids) == before
                # The locking way answers the replay from the store, byte for byte the first answer.
                again = await asyncio.to_thread(
                    db_a.write_sync,
                    lambda c: apply_batches(c, [(d0, [_checkin(1, event_id, person[0])])], now=BASE_NOW + 4),
                )
                assert again[0].results == first[0].results and again[0].changes == []
            finally:
                await pg_a.close()
                await pg_b.close()

        asyncio.run(go())


# -- 2. a write planned on rows that changed writes nothing --------------------------------------------


def test_a_stale_write_raises_serialization_failure_and_writes_nothing(pg_database):
    db = _migrated(pg_database)
    tag = "stale"
    event_id = db.write_sync(lambda c: _seed(c, tag, BASE_NOW))
    d1, d2 = _desk(tag, 1, event_id), _desk(tag, 2, event_id)
    x, y = _attendee_id(tag, 0), _attendee_id(tag, 1)
    desk_ids = [_desk_id(tag, k) for k in range(DESKS)]

    async def go():
        pg = await asyncpg.connect(pg_database)
        try:
            # (a) The attendee changed: D2 checks X in (the locking way, committed) between D1's read and write.
            mine = [(d1, [_checkin(1, event_id, x)])]
            now = BASE_NOW + 10
            decided = plan(await pg.fetchrow(READ, *read_params(mine)), mine, now)
            assert decided is not None and decided.params is not None
            head_before = await _head(pg, event_id)
            d1_before = await pg.fetchrow(
                "SELECT last_cmd_seq, last_seen_at FROM stations WHERE id = $1", d1.station_id
            )
            other = await db.write(lambda c: apply_batches(c, [(d2, [_checkin(1, event_id, x)])], now=now - 1))
            assert json.loads(other[0].results[0])["status"] == "applied"
            after_other = await _state(pg, event_id, desk_ids)

            with pytest.raises(asyncpg.exceptions.SerializationError) as raised:
                await pg.fetchrow(WRITE, *decided.params)
            assert raised.value.sqlstate == "40001" and "an attendee" in str(raised.value)

            assert await _state(pg, event_id, desk_ids) == after_other  # not one row more or different
            facts = await pg.fetch("SELECT station_id, cmd_seq FROM checkins WHERE attendee_id = $1", x)
            assert [tuple(f) for f in facts] == [(d2.station_id, 1)]
            row = await pg.fetchrow("SELECT last_cmd_seq, last_seen_at FROM stations WHERE id = $1", d1.station_id)
            assert row == d1_before and row["last_cmd_seq"] == 0
            assert (
                await pg.fetchval(
                    "SELECT count(*) FROM command_results WHERE station_id = $1 AND cmd_seq = 1", d1.station_id
                )
                == 0
            )
            assert await _head(pg, event_id) == head_before + 1
            assert [
                tuple(r)
                for r in await pg.fetch(
                    "SELECT seq, origin, entity_id FROM change_log WHERE scope = $1 AND seq > $2",
                    event_scope(event_id),
                    head_before,
                )
            ] == [(head_before + 1, d2.station_id, x)]

            # (b) The desk's watermark changed: another group of D1 (seq 1, checking Y in) applied in between.
            mine = [(d1, [_checkin(1, event_id, x)])]
            now = BASE_NOW + 20
            decided = plan(await pg.fetchrow(READ, *read_params(mine)), mine, now)
            assert decided is not None and decided.params is not None
            head_before = await _head(pg, event_id)
            x_before = await pg.fetchrow("SELECT xmin::text AS v, checkin_count FROM attendees WHERE id = $1", x)
            other = await db.write(lambda c: apply_batches(c, [(d1, [_checkin(1, event_id, y)])], now=now - 1))
            after_other = await _state(pg, event_id, desk_ids)

            with pytest.raises(asyncpg.exceptions.SerializationError) as raised:
                await pg.fetchrow(WRITE, *decided.params)
            assert raised.value.sqlstate == "40001" and "watermark" in str(raised.value)

            assert await _state(pg, event_id, desk_ids) == after_other
            assert (
                await pg.fetchrow("SELECT xmin::text AS v, checkin_count FROM attendees WHERE id = $1", x) == x_before
            )
            assert [
                tuple(f)
                for f in await pg.fetch(
                    "SELECT attendee_id, station_id, cmd_seq FROM checkins WHERE station_id = $1", d1.station_id
                )
            ] == [(y, d1.station_id, 1)]
            assert await pg.fetchval("SELECT last_cmd_seq FROM stations WHERE id = $1", d1.station_id) == 1
            stored = await pg.fetchval(
                "SELECT result FROM command_results WHERE station_id = $1 AND cmd_seq = 1", d1.station_id
            )
            assert stored == other[0].results[0] and json.loads(stored)["attendee"]["id"] == y
            assert await _head(pg, event_id) == head_before + 1
        finally:
            await pg.close()
            await db.aclose()

    asyncio.run(go())


# -- 3. the group committer falls back to the locking way ----------------------------------------------


def _interfering(db: Database, competitor: Principal, competing: CommandIn, calls: list[str]):
    """A fast way that reads and plans like apply_checkins, lets ``competitor`` apply ``competing`` the
    locking way (committed, on another connection), then writes what it planned."""

    async def interfering(conn, payloads):
        calls.append("called")
        now = BASE_NOW + 100
        decided = plan(await conn.fetchrow(READ, *read_params(payloads)), payloads, now)
        assert decided is not None and decided.params is not None
        await db.write(lambda c: apply_batches(c, [(competitor, [competing])]))
        try:
            _ok, heads = await conn.fetchrow(WRITE, *decided.params)
        except Exception as exc:
            calls.append(type(exc).__name__)
            raise
        calls.append("written")
        return decided.finish(heads)

    return interfering


def _setup_fallback(url: str, tag: str):
    db = _migrated(url)
    event_id = db.write_sync(lambda c: _seed(c, tag, BASE_NOW))
    return db, event_id, _desk(tag, 1, event_id), _desk(tag, 2, event_id)


def test_the_committer_falls_back_to_the_locking_way_and_answers_right(pg_database):
    db, event_id, d1, d2 = _setup_fallback(pg_database, "fall")
    x = _attendee_id("fall", 0)

    async def go():
        calls: list[str] = []
        interfering = _interfering(db, d2, _checkin(1, event_id, x), calls)
        try:
            before = db.writer_stats
            outcome = await db.write_merged(apply_batches, (d1, [_checkin(1, event_id, x)]), fast=interfering)
            after = db.writer_stats
            assert calls == ["called", "SerializationError"]  # the fast write was refused ...

            answer = json.loads(outcome.results[0])  # ... and the locking way answered, with D2's check-in in view
            assert answer["status"] == "applied" and answer["lost"] is False
            assert answer["already_checked_in"]["station"] == d2.station_name
            assert "already checked in" in answer["message"]
            assert answer["attendee"]["checkin_count"] == 2
            assert outcome.last_cmd_seq == 1 and outcome.resend_from is None
            assert [(c.kind, c.entity_id, c.origin) for c in outcome.changes] == [
                ("checkin.recorded", x, d1.station_id)
            ]
            assert after["fast_groups"] == before.get("fast_groups", 0)
            assert after["groups"] == before.get("groups", 0) + 1

            pg = await asyncpg.connect(pg_database)
            try:
                facts = await pg.fetch("SELECT station_id FROM checkins WHERE attendee_id = $1 ORDER BY id", x)
                assert [f["station_id"] for f in facts] == [d2.station_id, d1.station_id]  # each once
                assert (
                    await pg.fetchval(
                        "SELECT result FROM command_results WHERE station_id = $1 AND cmd_seq = 1", d1.station_id
                    )
                    == outcome.results[0]
                )
                assert await pg.fetchval("SELECT last_cmd_seq FROM stations WHERE id = $1", d1.station_id) == 1
                # The log holds D2's change, then D1's, numbered as the caller was told.
                log = await pg.fetch(
                    "SELECT seq, origin FROM change_log WHERE scope = $1 AND kind = 'checkin.recorded' ORDER BY seq",
                    event_scope(event_id),
                )
                assert [r["origin"] for r in log] == [d2.station_id, d1.station_id]
                assert log[-1]["seq"] == outcome.changes[0].seq
            finally:
                await pg.close()
        finally:
            await db.aclose()

    asyncio.run(go())


def test_after_a_fallback_a_group_given_apply_checkins_is_written_the_fast_way(pg_database):
    db, event_id, d1, d2 = _setup_fallback(pg_database, "then")
    x, y = _attendee_id("then", 0), _attendee_id("then", 1)

    async def go():
        calls: list[str] = []
        interfering = _interfering(db, d2, _checkin(1, event_id, x), calls)
        try:
            await db.write_merged(apply_batches, (d1, [_checkin(1, event_id, x)]), fast=interfering)
            assert calls == ["called", "SerializationError"]
            before = db.writer_stats

            outcome = await db.write_merged(apply_batches, (d1, [_checkin(2, event_id, y)]), fast=apply_checkins)
            after = db.writer_stats
            answer = json.loads(outcome.results[0])
            assert answer["status"] == "applied" and answer["attendee"]["checked_in"] is True
            assert outcome.last_cmd_seq == 2
            # This call asked for apply_checkins: the interfering fast way of the first call must not run again.
            assert calls == ["called", "SerializationError"], (
                "write_merged ran the fast function of an earlier call, not the one it was given"
            )
            assert after["fast_groups"] == before["fast_groups"] + 1
            assert after["groups"] == before["groups"] + 1
        finally:
            await db.aclose()

    asyncio.run(go())


def test_a_group_of_check_ins_goes_the_fast_way_through_the_committer(pg_database):
    db, event_id, d1, _d2 = _setup_fallback(pg_database, "fast")
    x = _attendee_id("fast", 0)

    async def go():
        try:
            outcome = await db.write_merged(apply_batches, (d1, [_checkin(1, event_id, x)]), fast=apply_checkins)
            assert db.writer_stats == {"groups": 1, "units": 1, "fast_groups": 1}
            assert json.loads(outcome.results[0])["status"] == "applied"
            assert [(c.kind, c.entity_id, c.origin) for c in outcome.changes] == [
                ("checkin.recorded", x, d1.station_id)
            ]
            pg = await asyncpg.connect(pg_database)
            try:
                assert (
                    await pg.fetchval(
                        "SELECT result FROM command_results WHERE station_id = $1 AND cmd_seq = 1", d1.station_id
                    )
                    == outcome.results[0]
                )
                assert await _head(pg, event_id) == outcome.changes[0].seq
            finally:
                await pg.close()
        finally:
            await db.aclose()

    asyncio.run(go())


def test_the_write_takes_row_locks_in_id_order_as_the_locking_way_does(pg_database):
    """Desks and attendees go into WRITE in id order whatever order the payloads name them in: the order the
    locking way locks them, so a fast write and a locking transaction never wait on each other in a circle."""
    db = _migrated(pg_database)
    tag = "order"
    event_id = db.write_sync(lambda c: _seed(c, tag, BASE_NOW))
    people = [_attendee_id(tag, i) for i in (2, 0, 1)]
    payloads = [
        (_desk(tag, 2, event_id), [_checkin(1, event_id, people[0])]),
        (_desk(tag, 0, event_id), [_checkin(1, event_id, people[1]), _checkin(2, event_id, people[2])]),
    ]

    async def go():
        pg = await asyncpg.connect(pg_database)
        try:
            decided = plan(await pg.fetchrow(READ, *read_params(payloads)), payloads, BASE_NOW + 1)
        finally:
            await pg.close()
            await db.aclose()
        desk_ids, attendee_ids = decided.params[1], decided.params[4]
        assert desk_ids == sorted(desk_ids) == [_desk_id(tag, 0), _desk_id(tag, 2)]
        assert attendee_ids == sorted(people)

    asyncio.run(go())


def test_a_request_sent_the_moment_the_previous_one_is_answered_is_written_too(pg_database):
    """The committer's lane, its queue just emptied, is finishing when the caller it answered sends the next
    request at once (as a desk does): that request must start a lane of its own, not wait in the queue."""
    db, event_id, d1, _d2 = _setup_fallback(pg_database, "next")
    people = [_attendee_id("next", i) for i in range(REGULAR)]

    async def go():
        try:
            for seq in range(1, 13):
                # asyncio.timeout, not wait_for: a task of its own would give the lane time to finish first.
                async with asyncio.timeout(10):
                    payload = (d1, [_checkin(seq, event_id, people[seq % REGULAR])])
                    outcome = await db.write_merged(apply_batches, payload, fast=apply_checkins)
                assert outcome.last_cmd_seq == seq
            assert db.writer_stats["units"] == 12
        finally:
            await db.aclose()

    asyncio.run(go())
