"""Bulk writes without per-row Core overhead: the Excel import's assets, their audit
rows and default obligations (100,000s of rows in one transaction).

    insert_many(connection, table, keys, rows)        # rows: tuples in `keys` order
    ids = reserve_ids(connection, table, len(rows))   # ids to insert them with
    audit_many(session, rows)                         # rows: dicts as for audit_rows()

    with BatchWriter(connection) as writer:           # the same, pipelined:
        writer.insert(table, keys, rows)              # SQLite works on this batch
        writer.audit(session, audit)                  # while Python prepares the next
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from . import clock
from .audit.hooks import ACTOR_KEY, current_import_job
from .audit.models import AuditEvent

_AUDIT_KEYS = (
    "org_id", "entity", "entity_id", "action", "changes", "at", "user_id", "address",
    "import_job_id",
)


def insert_many(connection, table, keys: list[str] | tuple[str, ...], rows: list[tuple]) -> None:
    """executemany of `rows` (tuples in `keys` order) into `table`.

    On positional-parameter drivers (SQLite) the statement goes to the driver with
    each value passed through the column type's own bind processor (so JSON, dates and
    Decimals are stored exactly as Core stores them), minus Core's per-row dictionary
    and parameter-compilation work (a third of the time at 100,000 rows).
    Elsewhere it is a plain Core `insert()` executemany."""
    if rows:
        _execute(connection, *_prepared(connection.dialect, table, keys, rows))


def _execute(connection: Connection, statement, params) -> None:
    if isinstance(statement, str):
        connection.exec_driver_sql(statement, params)
    else:
        connection.execute(statement, params)


def _prepared(dialect, table, keys, rows: list[tuple]) -> tuple:
    """(statement, parameters) of an executemany inserting `rows`."""
    if dialect.paramstyle != "qmark":
        return insert(table), [dict(zip(keys, row, strict=True)) for row in rows]
    # Core fills in the columns' Python-side scalar defaults (active=True, …) that a
    # row leaves out; so does this.
    defaults = [
        (column.key, column.default.arg)
        for column in table.columns
        if column.key not in keys and column.default is not None and column.default.is_scalar
    ]
    if defaults:
        keys = [*keys, *(key for key, _ in defaults)]
        extra = tuple(value for _, value in defaults)
        rows = [(*row, *extra) for row in rows]
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(k) for k in keys)}) "
        f"VALUES ({', '.join('?' * len(keys))})"
    )
    # Column-wise: each typed column goes through its bind processor in one pass
    # (JSON also for None: it stores None as 'null'), the rest are left as they are.
    columns = None
    for i, key in enumerate(keys):
        column_type = table.c[key].type
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        if process is None:
            continue
        if columns is None:
            columns = list(zip(*rows, strict=True))
        if column_type.should_evaluate_none:  # JSON: values are unhashable
            columns[i] = list(map(process, columns[i]))
        else:
            columns[i] = _converted(columns[i], process)
    if columns is not None:
        rows = list(zip(*columns, strict=True))
    return sql, rows


def _converted(values, process) -> list:
    """`process` applied to each non-None value once per distinct value: a ledger's
    dates, flags and timestamps repeat across thousands of rows."""
    done = {None: None}
    out = []
    for value in values:
        hit = done.get(value, done)
        if hit is done:
            hit = done[value] = process(value)
        out.append(hit)
    return out


def reserve_ids(connection, table, count: int) -> list[int]:
    """`count` new primary keys for `table`, to insert rows with: the writer then knows
    its rows' ids without reading them back (one query per batch, saved).

    PostgreSQL hands them out from the column's sequence, safe beside other writers.
    SQLite has one writer at a time: the ids above the current maximum are free as
    long as this transaction writes; if another writer committed in between, SQLite
    refuses this transaction's next write (SQLITE_BUSY_SNAPSHOT), and an id
    taken meanwhile fails the insert, so a race is an error, never a wrong id."""
    if count <= 0:
        return []
    pk = table.c.id
    if connection.dialect.name == "postgresql":
        sql = (
            "SELECT nextval(pg_get_serial_sequence(%(table)s, 'id')) "
            "FROM generate_series(1, %(count)s)"
        )
        return list(
            connection.exec_driver_sql(sql, {"table": table.name, "count": count}).scalars()
        )
    last = connection.execute(select(pk).order_by(pk.desc()).limit(1)).scalar() or 0
    return list(range(last + 1, last + 1 + count))


def _audit_params(session: Session, rows: list[dict]) -> list[tuple]:
    user_id, address = session.info.get(ACTOR_KEY, (None, None))
    job_id = current_import_job(session)
    now = clock.utcnow_naive()
    return [
        (
            row["org_id"],
            row["entity"],
            row["entity_id"],
            row["action"],
            row["changes"],
            row.get("at", now),
            row.get("user_id", user_id),
            row.get("address", address),
            row.get("import_job_id", job_id),
        )
        for row in rows
    ]


def audit_many(session: Session, rows: list[dict]) -> None:
    """`audit.hooks.audit_rows` through `insert_many`: the same rows (actor, address and
    time filled in the same way), written without Core's per-row parameter work."""
    if rows:
        insert_many(
            session.connection(), AuditEvent.__table__, _AUDIT_KEYS, _audit_params(session, rows)
        )


class IdSequence:
    """`reserve_ids` for a writer that takes ids batch by batch: on SQLite the
    table's maximum is read once and counted on from there (this transaction is the
    only writer; see reserve_ids), so taking ids never waits for a write in flight."""

    def __init__(self, connection: Connection, table) -> None:
        self.connection, self.table = connection, table
        self.next = None
        if connection.dialect.name == "sqlite":
            self.next = reserve_ids(connection, table, 1)[0]

    def take(self, count: int) -> list[int]:
        if self.next is None:
            return reserve_ids(self.connection, self.table, count)
        ids = list(range(self.next, self.next + count))
        self.next += count
        return ids


class BatchWriter:
    """Inserts and audit rows of a bulk writer, sent to the database while the caller
    prepares the next batch.

    On SQLite the statements run, in order, on one worker thread: SQLite maintains
    the indexes with the GIL released, so a batch's b-tree work overlaps the Python
    work (parsing, planning, JSON) of the next. At most `depth` batches are queued
    (bounded memory). While the writer is open the caller must not use the
    connection itself; leaving the block waits for every batch and re-raises the
    first error. Other databases run each batch at once in the caller's thread
    (PostgreSQL does its index work in its own process anyway)."""

    def __init__(self, connection: Connection, depth: int = 4) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.threaded = self.dialect.name == "sqlite"
        self.depth = depth
        self.pending: deque[Future] = deque()
        self.pool: ThreadPoolExecutor | None = None
        self.failed = threading.Event()

    def __enter__(self) -> BatchWriter:
        if self.threaded:
            self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-writer")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.wait()
            else:  # the caller's error wins; what is queued is skipped
                self.failed.set()
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True)
                self.pool = None

    def insert(self, table, keys, rows: list[tuple]) -> None:
        if rows:
            self._submit(*_prepared(self.dialect, table, keys, rows))

    def audit(self, session: Session, rows: list[dict]) -> None:
        if rows:
            self.insert(AuditEvent.__table__, _AUDIT_KEYS, _audit_params(session, rows))

    def wait(self) -> None:
        """Every batch so far written (the first error re-raised)."""
        while self.pending:
            self.pending.popleft().result()

    def _submit(self, statement, params) -> None:
        if self.pool is None:
            _execute(self.connection, statement, params)
            return
        while len(self.pending) >= self.depth:
            self.pending.popleft().result()
        self.pending.append(self.pool.submit(self._run, statement, params))

    def _run(self, statement, params) -> None:
        if self.failed.is_set():  # after an error nothing more is written
            return
        try:
            _execute(self.connection, statement, params)
        except BaseException:
            self.failed.set()
            raise


def release_memory(connection: Connection) -> None:
    """After a large bulk write, give back what only its peak needed: the SQLite
    connection's page cache and the heap glibc keeps for reuse. Without this a
    long-running worker stays at the peak of its largest import (~140 MB more for a
    100,000-row ledger), and the next one starts from there."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA shrink_memory")
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL(None).malloc_trim(0)
