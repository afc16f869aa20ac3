"""Database access: every unit of work is a plain function ``fn(conn) -> T`` over SQLAlchemy Core.

Why functions rather than sessions: the same store code then runs unchanged on

* **SQLite** — one writer thread owns the only write connection and *group-commits*: every unit of work
  queued while the previous transaction ran goes into the next transaction, each under its own
  SAVEPOINT, and all are answered only after the single COMMIT. SQLite allows one writer at a time
  anyway; doing it in one thread removes "database is locked" entirely and turns N commits into one.
  Readers use a separate pool (WAL lets them read while the writer writes).
* **PostgreSQL** — an asyncpg engine runs the same function inside ``AsyncConnection.run_sync``;
  concurrent transactions serialise on the ``scope_head`` row lock where they must.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import QueuePool

log = logging.getLogger(__name__)
T = TypeVar("T")
Work = Callable[[Connection], T]

MAX_GROUP = 128  # units of work per group commit; bounds the latency one group can add

# Where a transaction keeps what it wants announced once it has committed (see publish_after_commit).
_AFTER_COMMIT_KEY = "focusdesk.after_commit"
Publisher = Callable[[list[Any]], None]


def publish_after_commit(conn: Connection, items: list[Any]) -> None:
    """Hand ``items`` to the database's publisher once the current transaction has committed.

    A unit of work that is rolled back (its savepoint or the whole transaction) publishes nothing.
    Outside a collecting transaction (CLI, scripts) the items are simply not published.
    """
    bucket = conn.info.get(_AFTER_COMMIT_KEY)
    if bucket is not None:
        bucket.extend(items)


def _start_collecting(conn: Connection) -> list[Any]:
    bucket: list[Any] = []
    conn.info[_AFTER_COMMIT_KEY] = bucket
    return bucket


def _stop_collecting(conn: Connection) -> list[Any]:
    return conn.info.pop(_AFTER_COMMIT_KEY, None) or []


def _collecting(fn: Work[T]) -> Callable[[Connection], tuple[T, list[Any]]]:
    """Wrap ``fn`` so it also returns what it asked to publish (PostgreSQL path)."""

    def run(conn: Connection) -> tuple[T, list[Any]]:
        _start_collecting(conn)
        try:
            result = fn(conn)
        except BaseException:
            _stop_collecting(conn)
            raise
        return result, _stop_collecting(conn)

    return run


class DatabaseUnavailable(Exception):
    """The database cannot be reached or opened; says which and why."""


def sqlite_url_for(path: Path) -> str:
    return f"sqlite:///{path}"


def _sqlite_engine(url: str, *, writer: bool, pool_size: int) -> Engine:
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=pool_size,
        max_overflow=0 if writer else 8,
        connect_args={"check_same_thread": False, "timeout": 30},
    )
    begin_sql = "BEGIN IMMEDIATE" if writer else "BEGIN"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - trivial
        # Take transaction control away from the sqlite3 module so BEGIN is ours (IMMEDIATE for the
        # writer: it holds the write lock from the start and never has to upgrade a read lock).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a process crash (kill -9); only an OS crash or power
        # loss can lose the last transactions, and the server runs behind no such promise.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # A 64 MiB page cache: an event's attendee table stays in memory, so an update at a random
        # attendee does not wait for a read.
        cur.execute("PRAGMA cache_size=-65536")
        if writer:
            # Checkpoints run on the checkpointer thread, not inside the writer's commits, where a
            # big one (after an import, say) stalled every desk waiting for that commit.
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - trivial
        conn.exec_driver_sql(begin_sql)

    return engine


MergeFn = Callable[[Connection, list[Any]], list[Any]]
# The PostgreSQL fast way for a merge_fn's payloads: ``fast(asyncpg_connection, payloads)`` returns
# (results, items to publish) once committed, or None when the group must go through merge_fn after all.
FastFn = Callable[[Any, list[Any]], Awaitable[tuple[list[Any], list[Any]] | None]]


class _Job:
    """One queued unit of work: a plain ``fn(conn)``, or a payload for a mergeable ``merge_fn``."""

    __slots__ = ("fn", "future", "merge_fn", "payload")

    def __init__(self, fn: Work | None, merge_fn: MergeFn | None = None, payload: Any = None):
        self.fn = fn
        self.merge_fn = merge_fn
        self.payload = payload
        self.future: concurrent.futures.Future = concurrent.futures.Future()

    def run_alone(self, conn: Connection) -> Any:
        if self.merge_fn is not None:
            return self.merge_fn(conn, [self.payload])[0]
        return self.fn(conn)


class _GroupCommitWriter:
    """The single SQLite writer: runs queued units of work in shared transactions.

    Units submitted with the same ``merge_fn`` are handed to it together, so it can do for many
    requests what it would do for one (one query for all the rows they touch, one ``executemany`` per
    table). If a merged pass fails, each of its units is retried alone so only the culprit fails.
    """

    def __init__(self, engine: Engine, publish: Callable[[list[Any]], None]):
        self._engine = engine
        self._publish = publish
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="db-writer", daemon=True)
        self._stopped = False
        self.groups = 0
        self.units = 0
        self._thread.start()

    def submit(self, job: _Job) -> concurrent.futures.Future:
        if self._stopped:
            raise DatabaseUnavailable("the database writer has been shut down")
        self._queue.put(job)
        return job.future

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._queue.put(None)
            self._thread.join(timeout=30)

    def _run(self) -> None:
        conn = self._engine.connect()
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                group = [item]
                while len(group) < MAX_GROUP:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        self._queue.put(None)  # finish this group, then stop
                        break
                    group.append(nxt)
                self._run_group(conn, group)
        finally:
            conn.close()

    @staticmethod
    def _units(jobs: list[_Job]) -> list[list[_Job]]:
        """Plain jobs alone; mergeable jobs with the same merge_fn together, at the first one's place."""
        units: list[list[_Job]] = []
        by_fn: dict[MergeFn, list[_Job]] = {}
        for job in jobs:
            if job.merge_fn is None:
                units.append([job])
            elif job.merge_fn in by_fn:
                by_fn[job.merge_fn].append(job)
            else:
                by_fn[job.merge_fn] = [job]
                units.append(by_fn[job.merge_fn])
        return units

    def _run_group(self, conn: Connection, group: list[_Job]) -> None:
        live = [job for job in group if job.future.set_running_or_notify_cancel()]
        if not live:
            return
        units = self._units(live)
        # With a single job there is nothing to isolate: its failure fails the transaction.
        isolate = len(live) > 1
        outcomes: dict[int, tuple[bool, Any]] = {}
        published = _start_collecting(conn)
        try:
            with conn.begin():
                for unit in units:
                    if unit[0].merge_fn is not None and len(unit) > 1:
                        mark = len(published)
                        try:
                            with conn.begin_nested():
                                results = unit[0].merge_fn(conn, [j.payload for j in unit])
                            for job, result in zip(unit, results, strict=True):
                                outcomes[id(job)] = (True, result)
                            continue
                        except Exception:
                            del published[mark:]
                            log.warning("merged write of %d units failed; retrying each alone", len(unit))
                    for job in unit:
                        outcomes[id(job)] = self._run_one(conn, job, isolate, published)
        except Exception as exc:
            _stop_collecting(conn)
            for job in live:
                job.future.set_exception(exc)
            if not isinstance(exc, _EXPECTED_UNIT_ERRORS):
                log.exception("write transaction failed; %d unit(s) answered with the error", len(live))
            return
        self.groups += 1
        self.units += len(live)
        _stop_collecting(conn)
        # Publish before answering: in commit order (this thread is the only writer), and a desk that
        # made a change hears of it no earlier than its own answer arrives.
        if published:
            try:
                self._publish(published)
            except Exception:  # publishing is best effort; the live hub heals from the log
                log.exception("publishing %d committed change(s) failed", len(published))
        # Answer only after COMMIT: an acknowledged write is a durable write.
        for job in live:
            ok, value = outcomes[id(job)]
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)

    @staticmethod
    def _run_one(conn: Connection, job: _Job, isolate: bool, published: list[Any]) -> tuple[bool, Any]:
        if not isolate:
            return True, job.run_alone(conn)
        mark = len(published)
        try:
            with conn.begin_nested():
                return True, job.run_alone(conn)
        except Exception as exc:  # one unit's failure must not sink the others
            del published[mark:]  # rolled back with its savepoint: nothing to announce
            return False, exc


# PostgreSQL errors that mean "this transaction lost a race; run it again", not "it is wrong":
# serialization_failure and deadlock_detected. Concurrent instances can meet either.
_RETRY_SQLSTATES = frozenset({"40001", "40P01"})
RETRIES = 5
PG_LANES = 1  # groups one instance's group committer keeps in flight (see _PgGroupCommitter)
FAST_RETRY_AFTER_S = 5  # after the fast write path could not connect, how long groups go the locking way
# What the server's own PostgreSQL connections call themselves (a restore refuses while any are open).
SERVER_APPLICATION_NAME = "focusdesk"
_MIGRATION_LOCK = 0x466F637573  # any fixed number: the advisory lock key migrations take ("Focus")


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None), exc):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return code
    return None


async def _retrying(engine, fn: Callable[[Connection], T]) -> T:
    """Run ``fn`` in a PostgreSQL write transaction, again if it loses a deadlock or serialization race."""
    for attempt in range(RETRIES):
        try:
            async with engine.begin() as conn:
                return await conn.run_sync(fn)
        except Exception as exc:
            if attempt == RETRIES - 1 or _sqlstate(exc) not in _RETRY_SQLSTATES:
                raise
            log.info("write lost a race (%s); retrying", _sqlstate(exc))
            await asyncio.sleep(0.002 * (attempt + 1))
    raise AssertionError("unreachable")


class _PgGroupCommitter:
    """Group commit on PostgreSQL, per instance: requests that arrive while a transaction runs go
    together into the next one, through the same ``merge_fn`` the SQLite writer uses.

    Why: every check-in appends to its event's change log, so all of them serialise on that scope's
    head row anyway; one transaction for many requests holds that lock once and commits once (one WAL
    flush) instead of once per request. If a merged transaction fails, each request is run alone so
    only the culprit fails.

    ``PG_LANES`` groups run at once. One: with check-ins written in two statements (``fast``, below) a
    second lane of the same instance mostly waited on the first one's head lock, and split the requests
    into smaller groups — one lane carried ~45 % more single check-ins per second at half the latency
    (benchmarks/README.md). Other instances still overlap with this one.

    ``fast`` (optional) is tried first for every group, on a connection of its own (see
    :data:`FastFn`); when it declines or fails, the group goes through ``merge_fn`` as above.
    """

    def __init__(
        self,
        engine,
        merge_fn: MergeFn,
        publish: Callable[[list[Any]], None],
        fast: FastFn | None = None,
        connect: Callable[[], Awaitable[Any]] | None = None,
    ):
        self._engine = engine
        self._merge_fn = merge_fn
        self._publish = publish
        self._fast = fast
        self._connect = connect
        self._idle: list[Any] = []  # the fast way's own asyncpg connections, at most one per lane
        self._queue: list[tuple[Any, asyncio.Future]] = []
        self._lanes: set[asyncio.Task] = set()
        self.groups = 0
        self.units = 0
        self.fast_groups = 0  # groups the fast way answered (the rest went the locking way)
        self._fast_off_until = 0.0

    async def submit(self, payload: Any) -> Any:
        future = asyncio.get_running_loop().create_future()
        self._queue.append((payload, future))
        if len(self._lanes) < PG_LANES:
            self._lanes.add(asyncio.get_running_loop().create_task(self._drain(), name="pg-group-commit"))
        return await future

    async def _drain(self) -> None:
        try:
            await self._drain_queue()
        finally:
            # In the same step as the last look at the queue: a request queued after it finds one lane
            # fewer and starts its own. (A done-callback would run later: a caller answered by this lane
            # that sent its next request at once still saw the lane, and that request waited forever.)
            self._lanes.discard(asyncio.current_task())

    async def _drain_queue(self) -> None:
        while self._queue:
            group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
            group = [(p, f) for p, f in group if not f.done()]
            if group:
                try:
                    await self._commit(group)
                except Exception as exc:  # a bug here must fail its requests, not leave them waiting forever
                    log.exception("group commit of %d request(s) failed", len(group))
                    for _payload, future in group:
                        _settle(future, exc=exc)

    async def _commit(self, group: list[tuple[Any, asyncio.Future]]) -> None:
        merge_fn = self._merge_fn
        payloads = [p for p, _f in group]
        if self._fast is not None:
            done = await self._try_fast(payloads)
            if done is not None:
                self.fast_groups += 1
                self._committed(group, *done)
                return
        try:
            results, published = await _retrying(self._engine, _collecting(lambda c: merge_fn(c, payloads)))
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0][1], exc=exc)
                return
            log.warning("merged write of %d units failed (%s); retrying each alone", len(group), exc)
            for payload, future in group:
                try:
                    (result,), published = await _retrying(
                        self._engine, _collecting(lambda c, p=payload: merge_fn(c, [p]))
                    )
                except Exception as one_exc:
                    _settle(future, exc=one_exc)
                    continue
                self._publish_safely(published)
                _settle(future, result=result)
            return
        self._committed(group, results, published)

    def _committed(self, group: list[tuple[Any, asyncio.Future]], results: list[Any], published: list[Any]) -> None:
        """A group written in one go, either way: announce it, then answer each request."""
        self.groups += 1
        self.units += len(group)
        self._publish_safely(published)
        for (_payload, future), result in zip(group, results, strict=True):
            _settle(future, result=result)

    async def _try_fast(self, payloads: list[Any]) -> tuple[list[Any], list[Any]] | None:
        """The group through the fast way on a connection of its own; None: go the locking way."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._fast_off_until:
            return None
        try:
            conn = self._idle.pop() if self._idle else await self._connect()
        except Exception as exc:
            # Not every group should wait for a connection that just failed: the locking way for a while.
            self._fast_off_until = loop.time() + FAST_RETRY_AFTER_S
            log.warning("no connection for the fast write path (%s); the locking way for %d s", exc, FAST_RETRY_AFTER_S)
            return None
        reusable = False
        try:
            done = await self._fast(conn, payloads)
            reusable = True
            return done
        except Exception as exc:
            if _sqlstate(exc) in _RETRY_SQLSTATES:  # a row changed since it was read: expected, now and then
                reusable = True
                log.debug("rows changed under a fast write (%s); the group goes the locking way", exc)
            else:
                log.warning("fast write failed (%s: %s); the group goes the locking way", type(exc).__name__, exc)
            return None
        finally:
            if reusable and not conn.is_closed():
                self._idle.append(conn)
            else:  # failed, broken or cancelled mid-statement: never handed out again
                conn.terminate()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            try:
                await conn.close(timeout=2)
            except Exception:
                conn.terminate()

    def _publish_safely(self, published: list[Any]) -> None:
        if published:
            try:
                self._publish(published)
            except Exception:  # publishing is best effort; the live hub heals from the log
                log.exception("publishing %d committed change(s) failed", len(published))


def _settle(future: asyncio.Future, *, result: Any = None, exc: BaseException | None = None) -> None:
    if future.done():
        return  # the request gave up (client went away); its work is committed all the same
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


class _Checkpointer:
    """Copies the WAL back into the database file every second, off the writer's path.

    PASSIVE checkpoints never block the writer or readers; they do the fsync the writer's commits would
    otherwise stall on. On stop, a TRUNCATE checkpoint leaves a small WAL behind.
    """

    def __init__(self, path: str, interval_s: float = 1.0):
        import sqlite3

        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._interval_s = interval_s
        self._stop = threading.Event()
        self.last_result: tuple[int, int, int] | None = None
        self._thread = threading.Thread(target=self._run, name="db-checkpointer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                # (busy, frames in the WAL, frames copied back), kept for tests and metrics
                self.last_result = tuple(self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
            except Exception:  # a busy or failing checkpoint is retried next round
                log.debug("WAL checkpoint failed", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except Exception:
            log.warning("final WAL checkpoint failed; the WAL is kept and replayed on next open", exc_info=True)
        self._conn.close()


def _expected_errors() -> tuple[type[Exception], ...]:
    from focusdesk.domain.errors import DomainError

    return (DomainError,)


_EXPECTED_UNIT_ERRORS = _expected_errors()


class Database:
    """Run units of work against the configured database (see module docstring)."""

    def __init__(self, url: str):
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        # Called with the items units of work passed to publish_after_commit, after their COMMIT, in
        # commit order on SQLite (from the writer thread); on PostgreSQL from the committing task.
        self.publisher: Publisher | None = None
        self._checkpointer: _Checkpointer | None = None
        self._pg_committers: dict[tuple[MergeFn, FastFn | None], _PgGroupCommitter] = {}
        if self.dialect == "sqlite":
            if parsed.database in (None, "", ":memory:"):
                raise DatabaseUnavailable("an in-memory SQLite database cannot be shared; give a file path")
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self._write_engine = _sqlite_engine(url, writer=True, pool_size=1)
            self._read_engine = _sqlite_engine(url, writer=False, pool_size=4)
            self._writer: _GroupCommitWriter | None = None
            self._async_engine = None
        elif self.dialect == "postgresql":
            from sqlalchemy.ext.asyncio import create_async_engine
            from sqlalchemy.pool import NullPool

            async_url = parsed.set(drivername="postgresql+asyncpg")
            # Named, so `focusdesk restore` can see a running server's connections (pg_stat_activity).
            self._async_engine = create_async_engine(
                async_url,
                pool_size=10,
                max_overflow=10,
                connect_args={"server_settings": {"application_name": SERVER_APPLICATION_NAME}},
            )
            # Synchronous callers (CLI, migrations, scripts) run each unit in a short-lived event loop;
            # pooled asyncpg connections are tied to the loop that opened them, so they get an engine
            # of their own that keeps none.
            self._blocking_engine = create_async_engine(async_url, poolclass=NullPool)
            # The fast write path's own plain asyncpg connections (see _fast_connect).
            self._fast_dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            self._write_engine = None
            self._read_engine = None
            self._writer = None
        else:
            raise DatabaseUnavailable(f"unsupported database '{self.dialect}': use sqlite:///PATH or postgresql://…")

    # -- lifecycle -------------------------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent)."""
        from focusdesk.server.migrate import upgrade_to_head

        if self.dialect == "sqlite":
            with self._write_engine.connect() as conn:
                upgrade_to_head(conn)
        else:
            _run_blocking(self._migrate_async())

    async def _migrate_async(self) -> None:
        from focusdesk.server.migrate import upgrade_to_head

        async with self._blocking_engine.connect() as conn:
            # Instances started together on one fresh database would otherwise all try to create the
            # same tables: the first migrates while the others wait, then find nothing left to do.
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
            await conn.commit()
            try:
                await conn.run_sync(upgrade_to_head)
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
                await conn.commit()

    def start(self) -> None:
        if self.dialect == "sqlite" and self._writer is None:
            self._writer = _GroupCommitWriter(self._write_engine, self._publish)
            self._checkpointer = _Checkpointer(make_url(self.url).database)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.stop()
            self._writer = None
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._write_engine is not None:
            self._write_engine.dispose()
            self._read_engine.dispose()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)
        for committer in self._pg_committers.values():
            await committer.aclose()
        if self._async_engine is not None:
            await self._async_engine.dispose()

    # -- units of work ---------------------------------------------------------------------------

    def _publish(self, items: list[Any]) -> None:
        if self.publisher is not None and items:
            self.publisher(items)

    async def write(self, fn: Work[T]) -> T:
        """Run ``fn`` in a write transaction; returns once it is committed."""
        if self.dialect == "sqlite":
            return await asyncio.wrap_future(self._sqlite_writer().submit(_Job(fn)))
        result, published = await _retrying(self._async_engine, _collecting(fn))
        self._publish(published)
        return result

    async def write_merged(self, merge_fn: MergeFn, payload: Any, *, fast: FastFn | None = None) -> Any:
        """Like :meth:`write` for ``merge_fn(conn, [payload])[0]``, but concurrent calls with the
        same ``merge_fn`` may be applied together in one pass (see :class:`_GroupCommitWriter`).

        ``fast``: on PostgreSQL, a way to write such a group in fewer round trips that may decline it
        (see :data:`FastFn`); ``merge_fn`` stays the way that is always right.
        """
        if self.dialect == "sqlite":
            job = _Job(None, merge_fn, payload)
            return await asyncio.wrap_future(self._sqlite_writer().submit(job))
        # One committer per (merge_fn, fast): requests are only merged with requests asking for the same.
        committer = self._pg_committers.get((merge_fn, fast))
        if committer is None:
            committer = self._pg_committers[merge_fn, fast] = _PgGroupCommitter(
                self._async_engine, merge_fn, self._publish, fast, self._fast_connect
            )
        return await committer.submit(payload)

    async def _fast_connect(self):
        """A connection for the fast write path (store/checkins_pg.py), which runs only its two statements
        on it: key lookups and updates by primary key or index, never right as a scan of a whole table.

        So they are planned once (generic plans: planning them for every group cost a third of
        PostgreSQL's time) with sequential scans off. Left to itself the planner would plan a lookup in
        the check-ins table as a scan while the table is nearly empty — a fresh event — and keep that
        plan as the table grows, until autovacuum next analyses it.
        """
        import asyncpg

        return await asyncpg.connect(
            self._fast_dsn,
            timeout=10,
            server_settings={
                "application_name": SERVER_APPLICATION_NAME,
                "plan_cache_mode": "force_generic_plan",
                "enable_seqscan": "off",
            },
        )

    def _sqlite_writer(self) -> _GroupCommitWriter:
        if self._writer is None:
            self.start()
        return self._writer

    async def read(self, fn: Work[T]) -> T:
        """Run ``fn`` in one read transaction (a consistent snapshot)."""
        if self.dialect == "sqlite":
            return await asyncio.to_thread(self.read_sync, fn)
        async with self._async_engine.connect() as conn, conn.begin():
            return await conn.run_sync(fn)

    def write_sync(self, fn: Work[T]) -> T:
        """Blocking write for the CLI and scripts (no server loop involved)."""
        if self.dialect == "sqlite":
            if self._writer is not None:
                return self._writer.submit(_Job(fn)).result()
            with self._write_engine.begin() as conn:
                return fn(conn)
        return _run_blocking(self._blocking_unit(fn, write=True))

    def read_sync(self, fn: Work[T]) -> T:
        if self.dialect == "sqlite":
            with self._read_engine.begin() as conn:
                return fn(conn)
        return _run_blocking(self._blocking_unit(fn, write=False))

    async def _blocking_unit(self, fn: Work[T], *, write: bool) -> T:
        engine = self._blocking_engine
        if write:
            async with engine.begin() as conn:
                return await conn.run_sync(fn)
        async with engine.connect() as conn, conn.begin():
            return await conn.run_sync(fn)

    def ping(self) -> bool:
        try:
            self.read_sync(lambda c: c.execute(text("SELECT 1")).scalar())
            return True
        except Exception:
            return False

    async def aping(self) -> bool:
        try:
            await self.read(lambda c: c.execute(text("SELECT 1")).scalar())
            return True
        except Exception:
            return False

    @property
    def writer_stats(self) -> dict[str, int]:
        w = self._writer
        if w is not None:
            return {"groups": w.groups, "units": w.units}
        committers = self._pg_committers.values()
        return {
            "groups": sum(c.groups for c in committers),
            "units": sum(c.units for c in committers),
            "fast_groups": sum(c.fast_groups for c in committers),
        }


def _run_blocking(coro):
    """Run a coroutine to completion from synchronous code (CLI paths on PostgreSQL)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


__all__ = ["Database", "DatabaseUnavailable", "publish_after_commit", "sqlite_url_for"]
