"""PostgreSQL's row-level security, the second wall: raw SQL that skips the ORM scope
still sees and writes only the scope's organisations. (SQLite has no such wall.)"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import flask_migrate
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from asset_registry import create_app
from asset_registry.assets.models import Asset
from asset_registry.cli import seed_all
from asset_registry.extensions import db
from asset_registry.tenancy.row_security import RowSecurityBypassed, tenant_tables
from asset_registry.tenancy.scope import Scope, ScopeMissing, use_scope
from config import TestingConfig
from tests.helpers import scope_of, throwaway_database_url


@pytest.fixture
def postgres(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")


def count(sql: str, **params) -> int:
    return db.session.execute(text(sql), params).scalar()


def test_the_app_runs_as_an_ordinary_role(postgres):
    with use_scope(Scope.system()):
        row = db.session.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
    assert tuple(row) == (False, False)
    with use_scope(Scope.system()):
        protected = set(
            db.session.scalars(
                text("SELECT relname FROM pg_class WHERE relrowsecurity AND relforcerowsecurity")
            )
        )
    assert set(tenant_tables()) <= protected


def test_raw_sql_sees_only_the_scopes_rows(postgres):
    rmyy, hcxf = scope_of("rmyy"), scope_of("hcxf")
    sql = "SELECT count(*) FROM asset WHERE org_id = :org"
    with use_scope(Scope.system()):
        assert count(sql, org=hcxf.org_id) > 0
    with use_scope(rmyy):
        assert count(sql, org=hcxf.org_id) == 0  # text() skips the ORM scope; RLS does not
        assert count(sql, org=rmyy.org_id) > 0
        assert count("SELECT count(DISTINCT org_id) FROM obligation") == 1
    with use_scope(Scope.nothing()):
        assert count("SELECT count(*) FROM asset") == 0
    db.session.rollback()


def test_raw_sql_cannot_write_into_another_organisation(postgres):
    rmyy, hcxf = scope_of("rmyy"), scope_of("hcxf")
    with use_scope(rmyy), pytest.raises(DBAPIError, match="row-level security"):
        db.session.execute(
            text(
                "INSERT INTO asset (org_id, asset_code, name, status, is_special, radiation,"
                " metrology, qr_token, created_at, updated_at) VALUES (:org, 'RLS-1', 'x',"
                " 'in_service', false, false, false, 'rls-token-1', now(), now())"
            ),
            {"org": hcxf.org_id},
        )
    db.session.rollback()
    with use_scope(rmyy):
        changed = db.session.execute(
            text("UPDATE asset SET name = name WHERE org_id = :org"), {"org": hcxf.org_id}
        ).rowcount
    assert changed == 0
    db.session.rollback()


def test_the_regulators_raw_sql_sees_special_equipment_only(postgres):
    """The regulator's special-equipment view holds below the ORM too, on the equipment
    tables, with the ORM's own criterion per table."""
    regulator = scope_of("scjg")
    with use_scope(Scope.system()):
        plain = ",".join(
            str(i) for i in db.session.scalars(text("SELECT id FROM asset WHERE NOT is_special"))
        )
    equipment_rows = {
        table: f"SELECT count(*) FROM {table} WHERE asset_id IN ({plain})"
        for table in ("obligation", "inspection_record", "asset_status_change")
    }
    with use_scope(Scope.system()):
        assert count(equipment_rows["obligation"]) > 0
    with use_scope(regulator):
        assert count("SELECT count(*) FROM asset WHERE is_special") > 0
        assert count("SELECT count(*) FROM asset WHERE NOT is_special") == 0
        for table, sql in equipment_rows.items():
            assert count(sql) == 0, table
        assert count("SELECT count(*) FROM obligation") > 0  # its special equipment's
    with use_scope(scope_of("rmyy")):  # other scopes are not narrowed
        assert count("SELECT count(*) FROM asset WHERE NOT is_special") > 0
    db.session.rollback()


# --- the documented set-up binds -----------------------------------------------------

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_setup() -> tuple[list[str], dict[str, str]]:
    """The README's PostgreSQL set-up: the superuser's SQL and the exported variables."""
    text_ = README.read_text(encoding="utf-8")
    section = text_.split("## PostgreSQL set-up", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    sql = block.split("<<'SQL'\n", 1)[1].split("\nSQL\n", 1)[0]
    exports = dict(re.findall(r"^export (\w+)=(\S+)", block, flags=re.M))
    return [s.strip() for s in sql.split(";") if s.strip()], exports


def _unique(text_: str, suffix: str) -> str:
    """Role and database names are the README's, made unique for this run."""
    for name in ("asset_registry_owner", "asset_registry_app", "asset_registry"):
        text_ = re.sub(rf"\b{name}\b", f"{name}_{suffix}", text_)
    return text_


def _config(url: str, tmp_path, **extra):
    return type(
        "Config", (TestingConfig,),
        {"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(tmp_path / "uploads"),
         "TESTING": False, **extra},
    )


@pytest.fixture
def readme_database(tmp_path):
    """A fresh database set up exactly as the README says (names made unique)."""
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        pytest.skip("the PostgreSQL set-up")
    suffix = uuid.uuid4().hex[:8]
    statements, exports = _readme_setup()
    server = make_url(base)
    superuser = create_engine(server, isolation_level="AUTOCOMMIT")
    with superuser.connect() as conn:
        for statement in statements:
            conn.exec_driver_sql(_unique(statement, suffix))
    url = make_url(_unique(exports["DATABASE_URL"], suffix)).set(
        host=server.host, port=server.port
    )
    role = _unique(exports["DATABASE_ROLE"], suffix)
    try:
        yield url.render_as_string(hide_password=False), role
    finally:
        with superuser.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{url.username}"')
        superuser.dispose()


def test_the_readme_setup_binds_the_application_role(readme_database, tmp_path, app):
    url, role = readme_database
    migrator = create_app(_config(url, tmp_path, DATABASE_ROLE=role))
    with migrator.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()

    served = create_app(_config(url, tmp_path, DATABASE_ROLE=role))
    with served.app_context():
        try:
            seed_all()  # the application role's grants are enough to work
            db.session.remove()
            who = db.session.execute(text(_WHO)).one()
            assert tuple(who) == (role, False, False)
            db.session.rollback()
            with db.engine.connect() as bare:  # no scope: nothing, even with raw SQL
                for table in ("asset", "obligation", "membership", "audit_event"):
                    assert bare.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 0
            with use_scope(Scope.system()):
                assert count("SELECT count(*) FROM asset") > 0
            db.session.rollback()
            with pytest.raises(ScopeMissing):
                db.session.execute(select(Asset.id)).all()
            db.session.rollback()
            # it owns nothing: it can neither switch the wall off nor add tables
            for sql in ("ALTER TABLE asset DISABLE ROW LEVEL SECURITY",
                        "DROP POLICY tenant_wall ON asset", "CREATE TABLE intruder (id int)"):
                with db.engine.connect() as conn, pytest.raises(DBAPIError):
                    conn.exec_driver_sql(sql)
            health = served.test_client().get("/healthz")
            assert health.status_code == 200, health.get_data(as_text=True)
            # a grant missing: the socket answers, a scoped query does not → 503
            owner_engine = create_engine(url, isolation_level="AUTOCOMMIT")
            with owner_engine.connect() as conn:
                conn.exec_driver_sql(f'REVOKE SELECT ON asset FROM "{role}"')
            owner_engine.dispose()
            db.engine.dispose()
            health = served.test_client().get("/healthz")
            assert health.status_code == 503
            assert health.get_json()["status"] == "error"
        finally:
            db.session.remove()
            db.engine.dispose()


_WHO = "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"


def test_the_app_refuses_to_run_as_a_role_rls_does_not_bind(tmp_path, app):
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        # SQLite has no roles: nothing to refuse
        assert create_app(_config(f"sqlite:///{tmp_path}/x.db", tmp_path)) is not None
        return
    with create_engine(base).connect() as conn:
        assert conn.exec_driver_sql(_WHO).one()[1], "TEST_DATABASE_URL is a superuser"
    with pytest.raises(RowSecurityBypassed, match="ALLOW_RLS_BYPASS"):
        create_app(_config(base, tmp_path))
    allowed = create_app(_config(base, tmp_path, ALLOW_RLS_BYPASS="1"))
    with allowed.app_context():
        assert db.session.execute(text(_WHO)).one()[1]
        db.session.remove()
        db.engine.dispose()


def test_healthz_fails_when_a_scoped_query_cannot_run(tmp_path, app):
    """A reachable database without the schema (or without the grants) is not healthy."""
    url, cleanup = throwaway_database_url(tmp_path)
    empty = create_app(_config(url, tmp_path, TESTING=True))
    try:
        response = empty.test_client().get("/healthz")
        assert response.status_code == 503
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        with empty.app_context():
            db.session.remove()
            db.engine.dispose()
        cleanup()
