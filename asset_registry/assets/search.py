"""Indexed substring search over an asset's code, name, serial number, model and maker.

SQLite: an external-content FTS5 table with the trigram tokenizer (SQLite 3.34+), one
column per searched field, kept in sync by triggers on `asset` so that every writer is
covered, the ORM as well as the importer's Core executemany. A term of three or more
characters is a quoted FTS phrase, which for trigrams means "this substring"; shorter
terms have no trigram and fall back to LIKE.

PostgreSQL: a pg_trgm GIN index on the lower-cased fields joined by a separator; the
query repeats that expression with ILIKE so the index is used, then checks the
fields one by one (a term must not match across two fields).

Without the index (old SQLite, no privilege for pg_trgm, a database from before the
migration) search stays correct: plain LIKE over the five columns.

Nothing here filters by tenant: the criteria are added to ORM selects of Asset, which
the tenancy listener scopes like any other.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import weakref
from collections.abc import Iterator

from sqlalchemy import bindparam, column, event, literal_column, or_, select, table, text
from sqlalchemy.engine import Connection, Engine

from .models import Asset

log = logging.getLogger(__name__)

FTS_TABLE = "asset_search"
TRGM_INDEX = "ix_asset_search_trgm"
MIN_INDEXED = 3  # a trigram needs three characters
COLUMNS = ("asset_code", "name", "serial_no", "model", "manufacturer")
SEPARATOR = "\x1f"  # unit separator: cannot come from the search box (see search_criteria)

_cols = ", ".join(COLUMNS)
_new = ", ".join(f"new.{c}" for c in COLUMNS)
_old = ", ".join(f"old.{c}" for c in COLUMNS)
_watched = ", ".join(COLUMNS)

PAUSE_TABLE = f"{FTS_TABLE}_pause"

_DROP_INSERT_TRIGGER = f"DROP TRIGGER IF EXISTS {FTS_TABLE}_ai"
_CREATE_INSERT_TRIGGER = (
    f"CREATE TRIGGER {FTS_TABLE}_ai AFTER INSERT ON asset "
    f"WHEN NOT EXISTS (SELECT 1 FROM {PAUSE_TABLE}) BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, {_cols}) VALUES (new.id, {_new}); END"
)
SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    f"{_cols}, content='asset', content_rowid='id', tokenize='trigram')",
    # a row here (inside one writer's transaction) hands the indexing of new assets to
    # bulk_indexing: one INSERT … SELECT is ~7× cheaper than the per-row trigger
    f"CREATE TABLE IF NOT EXISTS {PAUSE_TABLE} (id INTEGER PRIMARY KEY)",
    _DROP_INSERT_TRIGGER,
    _CREATE_INSERT_TRIGGER,
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON asset BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_cols}) "
    f"VALUES ('delete', old.id, {_old}); END",
    # only when a searched field changes: status changes and edits of other fields
    # cost nothing
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE OF {_watched} ON asset BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_cols}) "
    f"VALUES ('delete', old.id, {_old}); "
    f"INSERT INTO {FTS_TABLE}(rowid, {_cols}) VALUES (new.id, {_new}); END",
)
SQLITE_DROP = (
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_ai",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_ad",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_au",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
    f"DROP TABLE IF EXISTS {PAUSE_TABLE}",
)


def _pg_document_sql(qualifier: str = "") -> str:
    """lower(coalesce(code,'') || sep || coalesce(name,'') || …): the indexed expression.
    The index and the query must spell it identically for the planner to match them."""
    sep = "E'\\x1f'"
    parts = f" || {sep} || ".join(f"coalesce({qualifier}{c}, '')" for c in COLUMNS)
    return f"lower({parts})"


PG_DDL = (
    f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON asset "
    f"USING gin (({_pg_document_sql()}) gin_trgm_ops)"
)
PG_DROP = f"DROP INDEX IF EXISTS {TRGM_INDEX}"

_fts = table(FTS_TABLE, column("rowid"))


def _fts_match(phrase: str):
    return literal_column(FTS_TABLE).op("MATCH")(phrase)


# engine → whether the index is there (asked once per engine, updated by install)
_installed: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def is_search_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic `include_object`: the search table and index are built by
    install_search, not declared in the models, so autogenerate must leave them be."""
    return not (name and (name.startswith(FTS_TABLE) or name == TRGM_INDEX))


def fts5_trigram_supported() -> bool:
    return sqlite3.sqlite_version_info >= (3, 34, 0)


def _sqlite_has_index(connection: Connection) -> bool:
    found = connection.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"),
        {"n": FTS_TABLE},
    ).first()
    return found is not None


def _pg_has_index(connection: Connection) -> bool:
    found = connection.execute(
        text("SELECT 1 FROM pg_indexes WHERE indexname = :n AND tablename = 'asset'"),
        {"n": TRGM_INDEX},
    ).first()
    return found is not None


def _has_index(connection: Connection) -> bool:
    dialect = connection.dialect.name
    if dialect == "sqlite":
        return _sqlite_has_index(connection)
    if dialect == "postgresql":
        return _pg_has_index(connection)
    return False


def install_search(connection: Connection) -> bool:
    """Create the search index and its triggers if missing (idempotent). Returns whether
    indexed search is available; if not, a warning is logged and search uses LIKE.
    Does not fill the index from existing rows: see rebuild_search."""
    dialect = connection.dialect.name
    ok = False
    if dialect == "sqlite":
        if fts5_trigram_supported():
            for statement in SQLITE_DDL:
                connection.exec_driver_sql(statement)
            ok = True
        else:
            log.warning(
                "SQLite %s has no FTS5 trigram tokenizer (3.34+ needed): "
                "asset search falls back to LIKE",
                sqlite3.sqlite_version,
            )
    elif dialect == "postgresql":
        try:
            # a failed CREATE EXTENSION must not abort the caller's transaction
            with connection.begin_nested():
                connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception as exc:  # noqa: BLE001 - any refusal means "no trigram index"
            log.warning("pg_trgm unavailable (%s): asset search falls back to LIKE", exc)
        else:
            connection.exec_driver_sql(PG_DDL)
            ok = True
    _installed[connection.engine] = ok
    return ok


def rebuild_search(connection: Connection) -> None:
    """Refill the SQLite FTS table from `asset` (one-off backfill for a database that
    had assets before install_search, or after writes that bypassed the triggers).
    PostgreSQL's index is maintained by PostgreSQL: nothing to do."""
    if connection.dialect.name == "sqlite" and _sqlite_has_index(connection):
        connection.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


@contextlib.contextmanager
def bulk_indexing(connection: Connection) -> Iterator[None]:
    """Assets inserted inside the block are indexed in one statement at its end.

    For bulk writers (the Excel import) on SQLite; must run inside the writer's
    transaction, which SQLite makes the only writer, so every id above the
    current maximum is one of its own new rows. PostgreSQL maintains its index itself."""
    if connection.dialect.name != "sqlite" or not _sqlite_has_index(connection):
        yield
        return
    # The row makes this the writing transaction (and pauses the trigger for any
    # statement that still sees it); dropping the trigger for the block saves its
    # per-row invocation too (~15 µs a row). Both are undone by the block's end or a
    # rollback, as SQLite's DDL is transactional.
    connection.exec_driver_sql(f"INSERT OR IGNORE INTO {PAUSE_TABLE} (id) VALUES (1)")
    if not connection.connection.dbapi_connection.in_transaction:
        raise RuntimeError("bulk_indexing needs an open transaction")
    last_id = connection.exec_driver_sql("SELECT coalesce(max(id), 0) FROM asset").scalar()
    connection.exec_driver_sql(_DROP_INSERT_TRIGGER)
    try:
        yield
    finally:
        connection.exec_driver_sql(_CREATE_INSERT_TRIGGER)
        connection.exec_driver_sql(f"DELETE FROM {PAUSE_TABLE}")
    connection.exec_driver_sql(
        f"INSERT INTO {FTS_TABLE}(rowid, {_cols}) SELECT id, {_cols} FROM asset WHERE id > ?",
        (last_id,),
    )


def uninstall_search(connection: Connection) -> None:
    """Drop the index and triggers (a migration's downgrade)."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_DROP:
            connection.exec_driver_sql(statement)
    elif dialect == "postgresql":
        connection.exec_driver_sql(PG_DROP)
    _installed[connection.engine] = False


def search_available(connection: Connection) -> bool:
    engine = connection.engine
    if engine not in _installed:
        _installed[engine] = _has_index(connection)
    return _installed[engine]


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _like_any(term: str, dialect: str):
    like = _like_pattern(term)
    # SQLite's LIKE is already case-insensitive for ASCII; lower() on both sides
    # (what ilike renders there) would double the cost of the scan.
    sqlite = dialect == "sqlite"
    return or_(
        *(
            (column.like if sqlite else column.ilike)(like, escape="\\")
            for column in (getattr(Asset, c) for c in COLUMNS)
        )
    )


def fts_phrase(term: str) -> str:
    """The term as one FTS5 string: operators, '*', '-', 'OR' are then plain text."""
    return '"' + term.replace('"', '""') + '"'


def _uses_fts(term: str, connection: Connection) -> bool:
    return (
        connection.dialect.name == "sqlite"
        and len(term) >= MIN_INDEXED
        and search_available(connection)
    )


def search_criteria(term: str, connection: Connection, *, dense: bool = False):
    """WHERE criterion: `term` is a substring of the code, name, serial number, model or
    manufacturer (case-insensitive for ASCII). `connection` is the session's connection,
    for the dialect and to know whether the index exists.

    `dense`: the caller knows the term matches many of the rows it will walk in sort
    order (a list page over thousands of matches). On SQLite the test is then LIKE on
    each row walked, which stops after one page, instead of collecting every match
    from the FTS index and sorting them."""
    term = term.replace(SEPARATOR, "")
    dialect = connection.dialect.name
    if not term or not search_available(connection):
        return _like_any(term, dialect)
    if dialect == "sqlite":
        if dense or len(term) < MIN_INDEXED:
            return _like_any(term, dialect)
        matches = select(_fts.c.rowid).where(_fts_match(fts_phrase(term)))
        return Asset.id.in_(matches)
    # PostgreSQL: the index narrows on the joined text, the per-field test rechecks
    document = literal_column(_pg_document_sql("asset."))
    pattern = bindparam("search_q", _like_pattern(term), unique=True)
    return document.ilike(pattern, escape="\\") & _like_any(term, dialect)


def driven_by_matches(stmt, term: str, connection: Connection):
    """`stmt` (a select from Asset) joined to the FTS matches so that they are the outer
    loop, read in rowid order and lazily: a LIMIT (the capped count) stops the index
    scan early. None where that does not apply (then use search_criteria)."""
    term = term.replace(SEPARATOR, "")
    if not _uses_fts(term, connection):
        return None
    # '+' keeps SQLite from probing the index once per asset row (slow for common
    # trigrams): the matches must drive
    driving = Asset.id == literal_column(f"+{FTS_TABLE}.rowid")
    return stmt.join(_fts, driving).where(_fts_match(fts_phrase(term)))


@event.listens_for(Asset.__table__, "after_create")
def _after_create(target, connection, **kw) -> None:
    install_search(connection)
    # a table of the same name may survive from an earlier asset table (SQLite drops
    # triggers with their table, not the virtual table): empty it with the new one
    rebuild_search(connection)


@event.listens_for(Asset.__table__, "before_drop")
def _before_drop(target, connection, **kw) -> None:
    uninstall_search(connection)
