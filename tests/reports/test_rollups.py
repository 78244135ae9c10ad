"""The rollups: scoped like the tables they summarise, refreshed per scope, and the
institution tables (status, age bands) equal to direct SQL."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select, text

from asset_registry import clock
from asset_registry.assets.models import Asset
from asset_registry.catalog.models import Category
from asset_registry.extensions import db
from asset_registry.inspections.models import Obligation
from asset_registry.reports import services
from asset_registry.reports.models import AssetRollup, DutyRollup
from asset_registry.tenancy.models import Organisation
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import scope_of

TODAY = dt.date(2025, 6, 30)


def _org_id(code: str) -> int:
    return db.session.scalars(select(Organisation.id).where(Organisation.code == code)).one()


def _add_asset(org_code: str, *, special: bool, duty_failed: bool) -> Asset:
    """One asset (an elevator if special) with one overdue statutory duty."""
    tag = uuid.uuid4().hex[:10]
    category = None
    if special:
        category = db.session.scalars(select(Category).where(Category.code == "SE-3000")).one()
    asset = Asset(
        org_id=_org_id(org_code), asset_code=f"ROLLUP-{tag}", name="汇总测试设备",
        qr_token=f"rollup-{tag}", status="in_service", category_id=category and category.id,
        is_special=special, special_code=category.special_code if special else None,
        commissioned_on=TODAY - dt.timedelta(days=400),
        design_life_end=TODAY - dt.timedelta(days=1),
    )
    db.session.add(asset)
    db.session.flush()
    db.session.add(Obligation(
        org_id=asset.org_id, asset_id=asset.id, kind="periodic_inspection", name="定期检验",
        statutory=True, next_due=TODAY - dt.timedelta(days=3), failed=duty_failed, active=True,
    ))
    db.session.flush()
    return asset


def _kpis(username: str) -> dict:
    scope = scope_of(username)
    with use_scope(scope):
        return services.dashboard(scope, TODAY).kpis


def test_rollups_follow_the_scope_two_tenants_and_the_regulator(app):
    with use_scope(Scope.system()):
        services.refresh_rollups(TODAY)
        before = {u: _kpis(u) for u in ("rmyy", "hcxf", "scjg")}
        _add_asset("rmyy", special=False, duty_failed=True)
        _add_asset("hcxf", special=True, duty_failed=False)
        services.refresh_rollups(TODAY)
        rmyy_id, hcxf_id = _org_id("rmyy"), _org_id("hcxf")
    after = {u: _kpis(u) for u in ("rmyy", "hcxf", "scjg")}

    def delta(user, key):
        return after[user][key] - before[user][key]

    # each tenant sees its own new asset and duty, not the other's
    assert [delta("rmyy", k) for k in ("assets", "past", "failed", "overdue")] == [1, 1, 1, 0]
    assert [delta("hcxf", k) for k in ("assets", "past", "failed", "overdue")] == [1, 1, 0, 1]
    # the regulator: the special elevator only
    assert [delta("scjg", k) for k in ("assets", "past", "failed", "overdue")] == [1, 1, 0, 1]

    for username, orgs in (("rmyy", {rmyy_id}), ("hcxf", {hcxf_id})):
        with use_scope(scope_of(username)):
            for model in (AssetRollup, DutyRollup):
                assert set(db.session.scalars(select(model.org_id).distinct())) == orgs
    with use_scope(scope_of("scjg")):
        for model in (AssetRollup, DutyRollup):
            assert set(db.session.scalars(select(model.is_special).distinct())) == {True}
            assert rmyy_id not in set(db.session.scalars(
                select(model.org_id).where(model.special_kind.is_(None))))


def test_refresh_within_a_scope_leaves_other_organisations_alone(app):
    with use_scope(Scope.system()):
        with clock.frozen(dt.datetime(2025, 6, 30, 1, 0, tzinfo=dt.UTC)):
            services.refresh_rollups(TODAY)
        rmyy = scope_of("rmyy")
        with clock.frozen(dt.datetime(2025, 6, 30, 2, 0, tzinfo=dt.UTC)):
            result = services.refresh_rollups(TODAY, rmyy)
        assert result.asset_rows > 0
        times = dict(db.session.execute(
            select(AssetRollup.org_id, AssetRollup.refreshed_at).distinct()).all())
    assert {t.hour for o, t in times.items() if o in rmyy.org_ids} == {2}
    assert {t.hour for o, t in times.items() if o not in rmyy.org_ids} == {1}
    with use_scope(rmyy):
        fresh = services.freshness(rmyy)
    assert fresh.as_of == TODAY and fresh.refreshed_at.strftime("%H:%M") == "10:00"


def _years_ago(years: int) -> dt.date:
    return TODAY.replace(year=TODAY.year - years)


def test_institution_status_and_age_tables_equal_sql(app):
    scope = scope_of("rmyy")
    with use_scope(Scope.system()):
        services.refresh_rollups(TODAY)
        orgs = ",".join(str(i) for i in sorted(scope.org_ids))
        by_status = dict(db.session.execute(text(
            f"SELECT status, COUNT(*) FROM asset WHERE org_id IN ({orgs}) GROUP BY status")).all())
        start = "COALESCE(commissioned_on, purchase_date)"
        live = f"status <> 'disposed' AND org_id IN ({orgs})"
        ages = db.session.execute(text(
            f"SELECT SUM(CASE WHEN {start} <= :t AND {start} > :y5 THEN 1 ELSE 0 END),"
            f" SUM(CASE WHEN {start} <= :y5 AND {start} > :y10 THEN 1 ELSE 0 END),"
            f" SUM(CASE WHEN {start} <= :y10 AND {start} > :y15 THEN 1 ELSE 0 END),"
            f" SUM(CASE WHEN {start} <= :y15 THEN 1 ELSE 0 END),"
            f" SUM(CASE WHEN {start} IS NULL THEN 1 ELSE 0 END) FROM asset WHERE {live}"
        ), {"t": TODAY, "y5": _years_ago(5), "y10": _years_ago(10),
            "y15": _years_ago(15)}).one()
    with use_scope(scope):
        board = services.dashboard(scope, TODAY)
    assert board.kind == "institution"
    from asset_registry.assets.models import AssetStatus

    assert [r[1] for r in board.table("status").rows] == [
        by_status.get(s.value, 0) for s in AssetStatus]
    assert [r[1] for r in board.table("age").rows] == [int(v or 0) for v in ages]
    assert sum(by_status.values()) > 0


@pytest.mark.parametrize("username, allowed", [("rmyy", True), ("admin", True),
                                               ("wjw", False), ("scjg", False)])
def test_refresh_button(login, username, allowed):
    c = login(username)
    html = c.get("/dashboard/").get_data(as_text=True)
    assert "数据更新于" in html
    assert ('id="refresh-rollups"' in html) == allowed
    r = c.post("/dashboard/refresh", {})
    assert r.status_code == (302 if allowed else 404)
    if allowed:
        assert "数据已更新" in c.get("/dashboard/").get_data(as_text=True)


def test_cli_refresh(app):
    result = app.test_cli_runner().invoke(args=["reports", "refresh", "--today", "2025-06-30"])
    assert result.exit_code == 0, result.output
    assert "rollups refreshed" in result.output
    with use_scope(Scope.system()):
        assert db.session.scalar(select(AssetRollup.as_of).limit(1)) == TODAY


def test_daily_refresh_commits_and_never_fails_its_caller(app, monkeypatch):
    from asset_registry.reports import jobs

    assert jobs.refresh_daily(TODAY).asset_rows > 0

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "refresh_rollups", broken)
    assert jobs.refresh_daily(TODAY) is None
