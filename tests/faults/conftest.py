"""Fault tests: real failures of the real database, processes and file system.

`clone_database` copies the session's seeded database into a fresh one (a SQLite
backup, or a PostgreSQL database made from it as a template), so a test can let a
separate process scan or crash without touching the shared database."""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from asset_registry.extensions import db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clone_database(app, tmp_path):
    made: list[str] = []
    url = db.engine.url
    admin = None
    if url.get_backend_name() == "postgresql":
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def clone() -> str:
        db.session.remove()
        if admin is None:
            target = tmp_path / f"clone-{uuid.uuid4().hex[:8]}.db"
            with sqlite3.connect(url.database) as source, sqlite3.connect(target) as copy:
                source.backup(copy)
            return f"sqlite:///{target}"
        name = f"{url.database}_c{uuid.uuid4().hex[:6]}"
        # a template must have no other session: give back the pool's connections and
        # end any this test session still holds (its pool reconnects when next asked)
        for attempt in range(50):
            db.engine.dispose()
            try:
                with admin.connect() as conn:
                    conn.exec_driver_sql(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %(name)s AND pid <> pg_backend_pid()",
                        {"name": url.database},
                    )
                    conn.exec_driver_sql(
                        f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"'
                    )
                break
            except OperationalError:
                if attempt == 49:
                    raise
                time.sleep(0.1)
        made.append(name)
        return url.set(database=name).render_as_string(hide_password=False)

    yield clone
    if admin is not None:
        with admin.connect() as conn:
            for name in made:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def subprocess_env(url: str, tmp_path) -> dict:
    """The environment of a `flask` process on `url`, as the app role on PostgreSQL."""
    from tests.helpers import APP_ROLE

    env = dict(
        os.environ,
        DATABASE_URL=url,
        ASSET_REGISTRY_CONFIG="development",
        UPLOAD_DIR=str(tmp_path / "uploads"),
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT="9",  # nothing listens: a send fails at once and is recorded as failed
        PYTHONPATH=str(ROOT),
    )
    env.pop("DATABASE_ROLE", None)
    if make_url(url).get_backend_name() == "postgresql":
        env["DATABASE_ROLE"] = APP_ROLE
    return env
