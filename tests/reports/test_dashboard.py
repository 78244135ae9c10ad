"""Dashboard figures equal the same figures computed directly in SQL, read from rollups
refreshed for TODAY within the test's transaction (rolled back afterwards)."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from sqlalchemy import text

from asset_registry import clock
from asset_registry.extensions import db
from asset_registry.reports import services
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import scope_of

TODAY = dt.date(2025, 6, 30)


@pytest.fixture
def refreshed(app):
    """The rollups as of TODAY, in this test's transaction."""
    with use_scope(Scope.system()):
        services.refresh_rollups(TODAY)


def _in(ids) -> str:
    return ",".join(str(int(i)) for i in sorted(ids))


def sql_asset_counts(org_ids, special_only=False) -> dict:
    extra = " AND is_special" if special_only else ""
    if db.engine.dialect.name == "sqlite":
        extra = extra.replace("is_special", "is_special = 1")
    row = db.session.execute(text(
        f"SELECT COUNT(*), SUM(CASE WHEN design_life_end < :today THEN 1 ELSE 0 END) "
        f"FROM asset WHERE status <> 'disposed' AND org_id IN ({_in(org_ids)}){extra}"
    ), {"today": TODAY}).one()
    return {"assets": row[0], "past": int(row[1] or 0)}


def sql_duties(org_ids) -> dict:
    row = db.session.execute(text(
        "SELECT COUNT(*), "
        " SUM(CASE WHEN NOT failed AND (next_due IS NULL OR next_due >= :today) THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN NOT failed AND next_due < :today THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN failed THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN next_due >= :today AND next_due <= :soon THEN 1 ELSE 0 END) "
        f"FROM obligation WHERE active AND statutory AND org_id IN ({_in(org_ids)}) "
        " AND kind NOT IN ('daily_check', 'monthly_check')"
    ), {"today": TODAY, "soon": TODAY + dt.timedelta(days=services.DUE_WINDOW_DAYS)}).one()
    return {"total": row[0], "current": int(row[1] or 0), "overdue": int(row[2] or 0),
            "failed": int(row[3] or 0), "due": int(row[4] or 0)}


def sql_approved_by_source(org_ids) -> dict:
    rows = db.session.execute(text(
        "SELECT f.source, SUM(f.amount) FROM plan_funding_line f "
        "JOIN plan_item i ON i.id = f.item_id JOIN renewal_plan p ON p.id = i.plan_id "
        f"WHERE NOT p.superseded AND p.org_id IN ({_in(org_ids)}) "
        "AND p.status IN ('approved', 'in_procurement', 'completed') GROUP BY f.source"
    )).all()
    return {source: decimal.Decimal(amount) for source, amount in rows}


@pytest.mark.parametrize("username", ["rmyy", "wjw", "wlj", "admin"])
def test_kpis_equal_sql(refreshed, username):
    scope = scope_of(username)
    with use_scope(Scope.system()):
        org_ids = scope.org_ids or set(db.session.scalars(text("SELECT id FROM organisation")))
        assets, duties = sql_asset_counts(org_ids), sql_duties(org_ids)
    with use_scope(scope), clock.frozen(TODAY):
        board = services.dashboard(scope, TODAY)
    k = board.kpis
    assert (k["assets"], k["past"]) == (assets["assets"], assets["past"])
    assert (k["overdue"], k["failed"], k["due"]) == (
        duties["overdue"], duties["failed"], duties["due"])
    expected = duties["current"] / duties["total"] if duties["total"] else None
    if expected is None:
        assert k["compliance"] is None
    else:
        assert k["compliance"] == pytest.approx(expected)


@pytest.mark.parametrize("username", ["wjw", "wlj"])
def test_bureau_tables_equal_sql(refreshed, username):
    scope = scope_of(username)
    with use_scope(scope):
        board = services.dashboard(scope, TODAY)
    assert board.kind == "bureau"
    per_org = {row[0]: row for row in board.table("institutions").rows}
    with use_scope(Scope.system()):
        names = dict(db.session.execute(text(
            f"SELECT id, name FROM organisation WHERE id IN ({_in(scope.org_ids)})")).all())
        for org_id, name in names.items():
            if name not in per_org:
                continue
            assets = sql_asset_counts({org_id})
            assert per_org[name][1:3] == [assets["assets"], assets["past"]], name
        approved = sql_approved_by_source(scope.org_ids)
    budget = {row[0]: row[2] for row in board.table("budget_by_source").rows}
    from asset_registry.assets.models import FundingSource

    for source in FundingSource:
        assert budget[source.label] == approved.get(source.value, decimal.Decimal(0))
    if username == "wlj":  # the demo's approved elevator plan at 皇城相府
        assert approved


def test_regulator_sees_special_equipment_only(refreshed):
    scope = scope_of("scjg")
    with use_scope(scope):
        board = services.dashboard(scope, TODAY)
    assert board.kind == "regulator"
    with use_scope(Scope.system()):
        expected = sql_asset_counts(scope.org_ids, special_only=True)
    assert board.kpis["assets"] == expected["assets"] and board.kpis["past"] == expected["past"]
    kinds = board.table("special_kinds")
    assert sum(r[1] for r in kinds.rows) == expected["assets"]


def test_dashboard_pages_and_downloads(login):
    for username, marker in [("rmyy", "设备按状态"), ("wjw", "申报与批准资金"),
                             ("scjg", "特种设备按种类"), ("admin", "各行业设备与检验合规")]:
        c = login(username)
        html = c.get("/dashboard/").get_data(as_text=True)
        assert marker in html and "<svg" in html
        r = c.get("/dashboard/export.xlsx")
        assert r.status_code == 200 and r.data[:2] == b"PK"
    c = login("wjw")
    assert c.get("/dashboard/export/investment.xlsx").status_code == 200
    assert c.get("/dashboard/export/special_kinds.xlsx").status_code == 404
