"""Hot-path statements: written as SQLAlchemy Core, compiled once per dialect, run on the DBAPI cursor.

Why: on the check-in path SQLAlchemy's per-execute machinery (cache keys, parameter processing, result
wrapping) cost ~35 µs a statement against ~4 µs for SQLite itself, and a group commit runs about ten
statements. Statements stay Core objects, so the SQL is still generated per dialect (SQLite ``?``,
asyncpg ``$1``) and still checked by the schema; only the execution skips the middle layer.

Rules for statements used here: every parameter is an explicit ``bindparam`` (no literal values, which
would become anonymous binds), and values come back as the driver returns them (SQLite booleans are
0/1 — callers wrap with ``bool()``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import ClauseElement


class Prepared:
    """One statement, compiled lazily for each dialect it meets."""

    __slots__ = ("_by_dialect", "_stmt")

    def __init__(self, stmt: ClauseElement):
        self._stmt = stmt
        self._by_dialect: dict[str, tuple[str, tuple[str, ...] | None]] = {}

    def _compiled(self, conn: Connection) -> tuple[str, tuple[str, ...] | None]:
        dialect = conn.dialect
        key = f"{dialect.name}:{dialect.paramstyle}"
        hit = self._by_dialect.get(key)
        if hit is None:
            compiled = self._stmt.compile(dialect=dialect)
            order = tuple(compiled.positiontup) if dialect.positional and compiled.positiontup else None
            hit = (compiled.string, order)
            self._by_dialect[key] = hit
        return hit

    @staticmethod
    def _args(order: tuple[str, ...] | None, params: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        return params if order is None else tuple([params[name] for name in order])

    def _cursor(self, conn: Connection, params: Mapping[str, Any]):
        sql, order = self._compiled(conn)
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.execute(sql, self._args(order, params))
        return cursor

    def many(self, conn: Connection, params: Iterable[Mapping[str, Any]]) -> None:
        sql, order = self._compiled(conn)
        rows = [self._args(order, p) for p in params]
        if rows:
            cursor = conn.connection.dbapi_connection.cursor()
            cursor.executemany(sql, rows)
            cursor.close()

    def rows(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[tuple]:
        cursor = self._cursor(conn, params or {})
        try:
            return [tuple(r) for r in cursor.fetchall()]
        finally:
            cursor.close()

    def mappings(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        cursor = self._cursor(conn, params or {})
        try:
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
        finally:
            cursor.close()

    def scalar(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Any:
        found = self.rows(conn, params)
        return found[0][0] if found else None


class PreparedIn:
    """A statement with an ``IN (…)`` list: one compiled form per list size, sizes rounded up to a
    power of two (the list is padded by repeating its last value) so few forms are ever compiled."""

    __slots__ = ("_build", "_by_size")

    def __init__(self, build: Callable[[list[Any]], ClauseElement]):
        """``build(binds)`` makes the statement from a list of bind parameters for the IN list."""
        self._build = build
        self._by_size: dict[int, Prepared] = {}

    def _for(self, values: Sequence[Any]) -> tuple[Prepared, dict[str, Any]]:
        from sqlalchemy import bindparam

        size = 1
        while size < len(values):
            size *= 2
        prepared = self._by_size.get(size)
        if prepared is None:
            prepared = Prepared(self._build([bindparam(f"in_{i}") for i in range(size)]))
            self._by_size[size] = prepared
        padded = list(values) + [values[-1]] * (size - len(values))
        return prepared, {f"in_{i}": v for i, v in enumerate(padded)}

    def mappings(self, conn: Connection, values: Sequence[Any], **params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for chunk in _chunks(values):
            prepared, binds = self._for(chunk)
            out += prepared.mappings(conn, {**binds, **params})
        return out

    def rows(self, conn: Connection, values: Sequence[Any], **params: Any) -> list[tuple]:
        out: list[tuple] = []
        for chunk in _chunks(values):
            prepared, binds = self._for(chunk)
            out += prepared.rows(conn, {**binds, **params})
        return out


# Well under SQLite's limit on parameters per statement (32,766), and a size PostgreSQL plans well.
_MAX_IN = 512


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    values = list(values)
    for start in range(0, len(values), _MAX_IN):
        yield values[start : start + _MAX_IN]
