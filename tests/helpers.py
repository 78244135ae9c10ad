"""Helpers for tests: `from tests.helpers import browser_login, scope_of`."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from asset_registry.extensions import db
from asset_registry.tenancy.models import Membership, User
from asset_registry.tenancy.scope import Scope, use_scope
from asset_registry.tenancy.seed import DEMO_PASSWORD


def scope_of(username: str) -> Scope:
    from asset_registry.tenancy.services import active_membership, scope_for

    with use_scope(Scope.system()):
        user = db.session.scalars(select(User).where(User.username == username)).one()
        membership = active_membership(user)
        return scope_for(membership)


def membership_id(username: str) -> int:
    with use_scope(Scope.system()):
        user = db.session.scalars(select(User).where(User.username == username)).one()
        return db.session.scalars(
            select(Membership.id).where(Membership.user_id == user.id)
        ).first()


def browser_login(pg, username: str, password: str = DEMO_PASSWORD) -> None:
    pg.goto("/login")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", password)
    pg.click("button[type=submit]")
    pg.wait_for_url(lambda url: "/login" not in url)


# PostgreSQL: the suite's app acts as this ordinary role, so row-level security holds
# for it as it would in production (the test server's own user is a superuser)
APP_ROLE = "asset_registry_app"


def throwaway_database_url(tmp_dir: Path, owner: str | None = None) -> tuple[str, callable]:
    """A fresh database for this test session; returns (url, cleanup). On PostgreSQL
    `owner` (an ordinary role, created if missing) owns the database and its schema."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_dir / 'test.db'}", lambda: None
    url = make_url(base)
    name = f"ar_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if owner:
            conn.execute(
                text(
                    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                    f"'{owner}') THEN CREATE ROLE \"{owner}\" NOLOGIN NOSUPERUSER "
                    "NOBYPASSRLS; END IF; END $$"
                )
            )
            conn.execute(text(f'CREATE DATABASE "{name}" OWNER "{owner}"'))
        else:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    if owner:
        schema_admin = create_engine(url.set(database=name), isolation_level="AUTOCOMMIT")
        with schema_admin.connect() as conn:
            conn.execute(text(f'ALTER SCHEMA public OWNER TO "{owner}"'))
        schema_admin.dispose()

    def cleanup():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), cleanup
