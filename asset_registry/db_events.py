"""SQLite pragmas and after-commit work (mail, webhooks run only once data is safe)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

AFTER_COMMIT_KEY = "after_commit"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # 64 MB page cache and memory-mapped reads: the register's tables (1M assets,
        # millions of inspection records) are read far more than written.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()


def on_commit(session: Session, fn: Callable[[], None]) -> None:
    """Run `fn` after the session's next successful commit; dropped on rollback."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(fn)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    queued = session.info.pop(AFTER_COMMIT_KEY, [])
    for fn in queued:
        fn()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, previous_transaction) -> None:
    session.info.pop(AFTER_COMMIT_KEY, None)
