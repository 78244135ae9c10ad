"""PostgreSQL's row-level security, the second wall: raw SQL that skips the ORM scope
still sees and writes only the scope's organisations. (SQLite has no such wall.)"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from asset_registry.extensions import db
from asset_registry.tenancy.row_security import tenant_tables
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import scope_of


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
