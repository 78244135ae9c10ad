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


def sql_safety(org_ids, today) -> dict:
    """Assets by safety state, the rule of inspections/safety.py written out again in
    plain SQL (worst first) as an independent oracle."""
    true = "1" if db.engine.dialect.name == "sqlite" else "true"
    duty = (f"EXISTS (SELECT 1 FROM obligation o WHERE o.asset_id = a.id AND o.active = {true}"
            f" AND o.statutory = {true} AND o.kind NOT IN ('daily_check', 'monthly_check') AND ")
    due_soon = ("julianday(o.next_due) - julianday(:today) <= o.lead_days"
                if db.engine.dialect.name == "sqlite"
                else "o.next_due - CAST(:today AS DATE) <= o.lead_days")
    rows = db.session.execute(text(
        "SELECT state, COUNT(*) FROM (SELECT CASE"
        f" WHEN {duty} o.failed = {true})"
        " OR EXISTS (SELECT 1 FROM obligation o WHERE o.asset_id = a.id"
        f"  AND o.active = {true} AND o.failed = {true}"
        "  AND o.kind IN ('design_life_assessment', 'risk_assessment'))"
        " OR (a.vessel_grade = 5 AND a.special_code = '2100')"
        "  THEN 'failed'"
        f" WHEN {duty} o.next_due < :today) THEN 'overdue'"
        " WHEN a.status <> 'in_service' OR EXISTS (SELECT 1 FROM fault f WHERE f.asset_id = a.id"
        f"  AND f.resolved_at IS NULL AND f.stops = {true}) THEN 'stopped'"
        f" WHEN {duty} o.last_done IS NULL"
        "  AND o.kind NOT IN ('design_life_assessment', 'risk_assessment')) THEN 'unverified'"
        f" WHEN {duty} {due_soon}) THEN 'due_soon'"
        f" WHEN {duty} 1 = 1) THEN 'ok' ELSE 'none' END AS state"
        f" FROM asset a WHERE a.status <> 'disposed' AND a.org_id IN ({_in(org_ids)})) s"
        " GROUP BY state"
    ), {"today": today}).all()
    counts = {state: int(n) for state, n in rows}
    total = sum(n for state, n in counts.items() if state != "none")
    return {"total": total, "current": counts.get("ok", 0) + counts.get("due_soon", 0),
            "overdue": counts.get("overdue", 0), "failed": counts.get("failed", 0),
            "due": counts.get("due_soon", 0), "unverified": counts.get("unverified", 0),
            "stopped": counts.get("stopped", 0)}


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
        assets = sql_asset_counts(org_ids)
    with use_scope(scope), clock.frozen(TODAY):
        board = services.dashboard(scope, TODAY)
    with use_scope(Scope.system()):
        duties = sql_safety(org_ids, TODAY)
    k = board.kpis
    assert (k["assets"], k["past"]) == (assets["assets"], assets["past"])
    assert (k["overdue"], k["failed"], k["due"], k["unverified"], k["stopped"]) == (
        duties["overdue"], duties["failed"], duties["due"], duties["unverified"],
        duties["stopped"])
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


def test_the_target_line_shows_actual_completed_investment(app):
    """The dashboard's investment table reads completion records (actual), beside the
    approved and requested figures; the actual column equals them summed in SQL."""
    scope = scope_of("wjw")
    with use_scope(scope):
        board = services.dashboard(scope, clock.today())
        table = board.table("investment")
        assert table.headers[3] == "实际完成投资（元）"
        by_year = {row[0]: row[3] for row in table.rows}
    with use_scope(Scope.system()):
        year_of = ("strftime('%Y', i.completed_on)" if db.engine.dialect.name == "sqlite"
                   else "CAST(EXTRACT(YEAR FROM i.completed_on) AS TEXT)")
        rows = db.session.execute(text(
            f"SELECT {year_of}, SUM(i.actual_price) FROM plan_item i "
            f"WHERE i.completed_on IS NOT NULL AND i.org_id IN ({_in(scope.org_ids)}) "
            f"GROUP BY {year_of}")).all()
    for year, total in rows:
        assert by_year[str(int(year))] == decimal.Decimal(total).quantize(decimal.Decimal("0.01"))
    assert any(v for v in by_year.values())  # the demo has completed items
