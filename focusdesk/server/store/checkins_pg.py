"""Check-ins on PostgreSQL in two statements and no lock held between round trips.

Why: the locking way (``commands.apply_batches`` in a transaction) costs a group about fourteen round trips
through SQLAlchemy's asyncpg adapter — BEGIN, the desks and attendees read ``FOR UPDATE``, their facts,
four writes, the head bump, the log insert, COMMIT — and on a machine whose cores the instances share with
PostgreSQL that per-statement work, on both sides, was what limited check-ins per second (issue 9).

How, for a group of check-ins and undos only:

1. **One read**, one snapshot: the desks' watermarks and names, the attendees with their event and their
   row version (``xmin``), and their check-in facts. No locks.
2. The same :func:`~focusdesk.server.store.commands.decide` every path uses decides in memory.
3. **One write statement**, its own implicit transaction: it moves each desk's watermark only if it is
   still the one read, updates each attendee only if its row version is still the one read, inserts the
   facts and stored results, bumps the scope heads (the row lock that orders the log) and appends the
   changes. If any of those rows had changed, ``focusdesk_unchanged()`` (migration 0007) raises
   serialization_failure and the statement writes nothing; the caller then applies the group the locking
   way, which is always right. Facts only change together with their attendee's row, so an unchanged row
   version means the facts read are still all there are.

Groups holding anything else (walk-ins, rooms, …), replays, and unknown or renamed desks go the locking
way from the start (``None``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from focusdesk.domain.roles import Principal
from focusdesk.server.schema import attendees
from focusdesk.server.store.changelog import Change, numbered_changes
from focusdesk.server.store.commands import (
    FACT_COLUMNS,
    Batch,
    BatchOutcome,
    CommandIn,
    attendee_ids_of,
    decide,
    desks_of,
)

Payloads = list[tuple[Principal, list[CommandIn]]]
TYPES = frozenset({"checkin", "undo_checkin"})

_ATTENDEE_COLUMNS = tuple(c.name for c in attendees.c)

# One snapshot for all three: the facts are those of the attendee rows as read.
READ = f"""
SELECT
    (SELECT array_agg(ROW(s.id, s.last_cmd_seq, s.name)) FROM stations AS s WHERE s.id = ANY($1::varchar[])),
    (SELECT array_agg(ROW({", ".join(f'a."{c}"' for c in _ATTENDEE_COLUMNS)}, e.status, e.timezone, a.xmin::text))
       FROM attendees AS a JOIN events AS e ON e.id = a.event_id WHERE a.id = ANY($2::varchar[])),
    (SELECT array_agg(ROW(f.attendee_id, f.kind, f.at, f.station_id, f.station_name, f.cmd_seq, f.recorded_at)
                      ORDER BY f.id)
       FROM checkins AS f WHERE f.attendee_id = ANY($2::varchar[]))
"""

# The sub-statements are read in the order desks, attendees, heads: the order the locking way locks them.
WRITE = """
WITH desk AS (
    UPDATE stations AS s SET last_cmd_seq = v.last, last_seen_at = $1
    FROM unnest($2::varchar[], $3::int[], $4::int[]) AS v(id, expected, last)
    WHERE s.id = v.id AND s.last_cmd_seq = v.expected
    RETURNING 1
), att AS (
    UPDATE attendees AS a
    SET checked_in = v.checked_in, checked_in_at = v.checked_in_at, checked_in_station = v.checked_in_station,
        checkin_count = v.checkin_count, updated_at = v.updated_at
    FROM unnest($5::varchar[], $6::text[], $7::boolean[], $8::float8[], $9::varchar[], $10::int[], $11::float8[])
        AS v(id, version, checked_in, checked_in_at, checked_in_station, checkin_count, updated_at)
    WHERE a.id = v.id AND a.xmin::text = v.version
    RETURNING 1
), fact AS (
    INSERT INTO checkins (event_id, attendee_id, kind, at, recorded_at, station_id, station_name, cmd_seq, user_id)
    SELECT * FROM unnest($12::int[], $13::varchar[], $14::varchar[], $15::float8[], $16::float8[],
                         $17::varchar[], $18::varchar[], $19::int[], $20::int[])
), result AS (
    INSERT INTO command_results (station_id, cmd_seq, result, at)
    SELECT v.station_id, v.cmd_seq, v.result, $1
    FROM unnest($21::varchar[], $22::int[], $23::text[]) AS v(station_id, cmd_seq, result)
), head AS (
    UPDATE scope_head AS h SET head_seq = h.head_seq + v.n
    FROM unnest($24::varchar[], $25::int[]) AS v(scope, n)
    WHERE h.scope = v.scope
    RETURNING h.scope, h.head_seq, v.n
), logged AS (
    INSERT INTO change_log (scope, seq, at, kind, entity_id, data, origin)
    SELECT c.scope, head.head_seq - head.n + c.idx, $1, c.kind, c.entity_id, c.data, c.origin
    FROM unnest($26::varchar[], $27::int[], $28::varchar[], $29::varchar[], $30::text[], $31::varchar[])
        AS c(scope, idx, kind, entity_id, data, origin)
    JOIN head ON head.scope = c.scope
)
SELECT
    focusdesk_unchanged((SELECT count(*) FROM desk) = cardinality($2::varchar[]), 'a desk''s watermark')
    AND focusdesk_unchanged((SELECT count(*) FROM att) = cardinality($5::varchar[]), 'an attendee')
    AND focusdesk_unchanged((SELECT count(*) FROM head) = cardinality($24::varchar[]), 'a change log'),
    (SELECT array_agg(ROW(head.scope, head.head_seq)) FROM head)
"""


class _NeedsStoredResults(Exception):
    """A replay: its stored answer was not read, so the group goes the locking way."""


def _no_replays(_station_id: str, _seqs: list[int]) -> list[str]:
    raise _NeedsStoredResults


@dataclass
class Plan:
    """What one group decided, and the write statement's parameters."""

    outcomes: list[BatchOutcome]
    drafts: dict[str, list[Change]]  # per scope, numbered from 1 until the heads are known
    batch: Batch
    params: tuple[Any, ...] | None  # None: nothing to write (every payload was a gap)

    def finish(self, heads: Sequence[tuple[str, int]] | None) -> tuple[list[BatchOutcome], list[Change]]:
        """The outcomes with their changes numbered from the heads the write returned, and all changes in
        the order they are to be published."""
        head_of = dict(heads or ())
        made: dict[str, list[Change]] = {}
        for scope, drafts in self.drafts.items():
            before = head_of[scope] - len(drafts)
            made[scope] = [dataclasses.replace(c, seq=before + c.seq) for c in drafts]
        for outcome, changes in zip(self.outcomes, self.batch.changes_by_payload(made), strict=True):
            outcome.changes = changes
        return self.outcomes, [c for changes in made.values() for c in changes]


def takes(payloads: Payloads) -> bool:
    """Whether the group is one this path may try: check-ins and undos only."""
    return all(c.type in TYPES for _p, cmds in payloads for c in cmds)


def read_params(payloads: Payloads) -> tuple[list[str], list[str]]:
    return list(desks_of(payloads)), attendee_ids_of(c for _p, cmds in payloads for c in cmds)


def plan(read_row: Sequence[Any], payloads: Payloads, now: float) -> Plan | None:
    """Decide the group from what :data:`READ` returned; None if it must go the locking way."""
    station_rows, attendee_rows, fact_rows = read_row[0] or (), read_row[1] or (), read_row[2] or ()
    known = {sid: (last, name) for sid, last, name in station_rows}
    desks = desks_of(payloads)
    if any(sid not in known or known[sid][1] != name for sid, name in desks.items()):
        return None  # a new desk is registered, a renamed one renamed: the locking way does both
    # In id order, as the locking way locks desk rows (WRITE updates them in this order): no deadlock.
    expected = {sid: known[sid][0] for sid in sorted(desks)}
    watermarks = dict(expected)

    n = len(_ATTENDEE_COLUMNS)
    versions: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for record in attendee_rows:
        row = dict(zip(_ATTENDEE_COLUMNS, record[:n], strict=True))
        row["ev_status"], row["ev_timezone"], versions[row["id"]] = record[n], record[n + 1], record[n + 2]
        rows.append(row)
    batch = Batch(None, now)  # no connection: check-ins decide on what was loaded
    batch.load_attendees(rows)
    batch.load_facts(fact_rows)
    try:
        outcomes, result_rows = decide(batch, payloads, watermarks, _no_replays)
    except _NeedsStoredResults:
        return None

    drafts = {
        scope: numbered_changes(scope, entries, origin=batch.origins(scope), now=now, first=1)
        for scope, entries in batch.entries.items()
    }
    if not result_rows:
        return Plan(outcomes, drafts, batch, None)
    dirty = [batch.attendees[i] for i in sorted(batch.dirty_ids)]
    facts = batch.fact_rows
    changes = [c for scope_changes in drafts.values() for c in scope_changes]
    params = (
        now,
        # desks: id, watermark read, watermark now
        list(watermarks),
        [expected[sid] for sid in watermarks],
        list(watermarks.values()),
        # attendees: id, row version read, new check-in state
        [a["id"] for a in dirty],
        [versions[a["id"]] for a in dirty],
        [a["checked_in"] for a in dirty],
        [a["checked_in_at"] for a in dirty],
        [a["checked_in_station"] for a in dirty],
        [a["checkin_count"] for a in dirty],
        [a["updated_at"] for a in dirty],
        # facts
        *([f[column] for f in facts] for column in FACT_COLUMNS),  # the order WRITE inserts them in
        # stored results
        [r["station_id"] for r in result_rows],
        [r["cmd_seq"] for r in result_rows],
        [r["result"] for r in result_rows],
        # heads: scope, how many changes
        list(drafts),
        [len(d) for d in drafts.values()],
        # changes, each numbered within its scope
        [c.scope for c in changes],
        [c.seq for c in changes],
        [c.kind for c in changes],
        [c.entity_id for c in changes],
        [c.data for c in changes],
        [c.origin for c in changes],
    )
    return Plan(outcomes, drafts, batch, params)


async def apply_checkins(
    pg, payloads: Payloads, *, now: float | None = None
) -> tuple[list[BatchOutcome], list[Change]] | None:
    """Apply a group of desks' check-ins on the asyncpg connection ``pg`` (autocommit: no transaction
    open). Returns the outcomes and the changes to publish, or None: the group goes the locking way.

    Raises asyncpg's SerializationError when a row changed between the read and the write (nothing is
    written then) and whatever else the database raises; the caller goes the locking way for both.
    """
    if not takes(payloads):
        return None
    now = time.time() if now is None else now
    read_row = await pg.fetchrow(READ, *read_params(payloads))
    decided = plan(read_row, payloads, now)
    if decided is None:
        return None
    heads = None
    if decided.params is not None:
        _ok, heads = await pg.fetchrow(WRITE, *decided.params)
    return decided.finish(heads)
