"""The asset import service: exact values stored, exact errors, modes, tenancy, audit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from asset_registry.assets.models import Asset
from asset_registry.audit.models import AuditEvent
from asset_registry.catalog.models import Category
from asset_registry.extensions import db
from asset_registry.imports.services import import_assets
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import scope_of
from tests.imports.ledgers import TODAY, messy_ledger, org_id, unique_prefix


def assets_like(prefix: str) -> dict[str, Asset]:
    with use_scope(Scope.system()):
        rows = db.session.scalars(select(Asset).where(Asset.asset_code.like(f"{prefix}%")))
        return {a.asset_code: a for a in rows}


def audit_count(ids, after: int = 0) -> int:
    """Asset audit rows of `ids` written after audit row `after` (SQLite reuses the ids of
    deleted assets, so rows of an earlier, undone import may carry the same ids)."""
    with use_scope(Scope.system()):
        return db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity == "asset", AuditEvent.entity_id.in_(list(ids)),
                   AuditEvent.id > after)
        )


def last_audit_id() -> int:
    with use_scope(Scope.system()):
        return db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


def run(user, path, today=TODAY, **kw):
    scope = scope_of(user)
    result = import_assets(scope, scope.org_id, path, today=today, **kw)
    db.session.commit()
    return result


def test_messy_ledger_stores_exact_values(app, tmp_path):
    p = unique_prefix()
    result = run("rmyy", messy_ledger(tmp_path / "台账.xlsx", p))
    assert result.unusable is None, result.unusable
    assert (result.new, result.changed, result.unchanged, result.rejected) == (5, 0, 0, 0)
    assert (result.skipped_blank, result.skipped_total) == (2, 1)
    assert result.written
    assert [c for c in result.unknown_columns] == [("A", "序号"), ("L", "楼号")]
    got = assets_like(p)
    assert sorted(got) == [f"{p}-001", f"{p}-002", f"{p}-003", f"{p}-004", f"{p}-005"]
    a1, a2, a3, a4, a5 = (got[f"{p}-00{i}"] for i in range(1, 6))
    with use_scope(Scope.system()):
        imaging = db.session.scalars(select(Category).where(Category.code == "MED-06")).one()
    assert a1.name == "CT机" and a1.category_id == imaging.id
    assert a1.purchase_date == dt.date(2015, 3, 8) and a1.commissioned_on == dt.date(2015, 3, 20)
    assert a1.original_value == Decimal("1280000.00") and a1.design_life_years == 8
    assert a1.design_life_end == dt.date(2023, 3, 20)
    assert a1.status == "in_service" and a1.funding_source == "self_funded"
    assert a1.department == "放射科" and a2.department == "放射科"  # merged cell
    assert a2.name == "监护仪" and a2.purchase_date == dt.date(2015, 3, 8)  # Excel serial
    assert a2.commissioned_on == dt.date(2023, 4, 1) and a2.design_life_years == 6
    assert a2.original_value == Decimal("1280000.00") and a2.status == "in_service"
    assert a3.purchase_date == dt.date(2015, 3, 1) and a3.commissioned_on == dt.date(2015, 3, 1)
    assert a3.original_value == Decimal("420000.00") and a3.status == "idle"
    assert a4.purchase_date == dt.date(2015, 3, 8) and a4.commissioned_on == dt.date(2015, 3, 8)
    assert a4.original_value == Decimal("1280000.00") and a4.design_life_years == 10
    assert a4.department == "ICU" and a4.status == "in_service"  # blank status → default
    assert a5.purchase_date == dt.date(2015, 3, 1) and a5.original_value == Decimal("15000.00")
    assert a5.status == "idle"
    assert all(a.qr_token and len(a.qr_token) >= 22 for a in got.values())
    assert len({a.qr_token for a in got.values()}) == 5
    assert audit_count(a.id for a in got.values()) == 5


def test_bad_rows_exact_errors_and_nothing_written(app, tmp_path):
    p = unique_prefix()
    result = run("rmyy", messy_ledger(tmp_path / "bad.xlsx", p, bad=True))
    assert not result.written and result.rejected == 7 and result.new == 5
    messages = [(e.row_number, e.column, e.value, e.message) for e in result.errors]
    near = messages[3][3]  # the message names the nearest categories
    assert near.startswith("类别不存在（相近的类别：") and "设备" in near
    messages[3] = (*messages[3][:3], "类别不存在")
    assert messages == [
        (10, "购置日期", "2030-01-01", "不能是未来日期"),
        (11, "投用时间", "2016-01-01", "投用日期早于购置日期"),
        (12, "资产原值（元）", -5, "不能为负数"),
        (13, "类别", "火星设备", "类别不存在"),
        (14, "*资产编号", f"{p}-001", "资产编号在文件中重复（与第 4 行相同）"),
        (15, "资产原值（元）", "很贵", "应为金额数字"),
        (16, "*资产编号", "", "必填项不能为空"),
    ]
    assert assets_like(p) == {}
    assert "拒绝 7" in result.summary_line() and "未写入" in result.summary_line()


def test_valid_only_imports_the_good_rows(app, tmp_path):
    p = unique_prefix()
    result = run("rmyy", messy_ledger(tmp_path / "bad.xlsx", p, bad=True), valid_only=True)
    assert result.written and result.new == 5 and result.rejected == 7
    assert len(assets_like(p)) == 5


def test_dry_run_then_reimport_is_a_no_op(app, tmp_path):
    p = unique_prefix()
    path = messy_ledger(tmp_path / "台账.xlsx", p)
    dry = run("rmyy", path, dry_run=True)
    assert (dry.new, dry.written) == (5, False) and assets_like(p) == {}
    before = last_audit_id()
    run("rmyy", path)
    ids = [a.id for a in assets_like(p).values()]
    again = run("rmyy", path)
    assert (again.new, again.changed, again.unchanged) == (0, 0, 5)
    assert audit_count(ids, after=before) == 5  # the creates only: no audit noise


def test_cross_tenant_same_code_creates_own_asset(app, tmp_path):
    from tests.imports.ledgers import simple_ledger

    p = unique_prefix()
    run("rmyy", simple_ledger(tmp_path / "a.xlsx", [(f"{p}-X", "医院的CT")]))
    result = run("hcxf", simple_ledger(tmp_path / "b.xlsx", [(f"{p}-X", "景区的索道")]))
    assert (result.new, result.changed) == (1, 0)
    with use_scope(Scope.system()):
        rows = db.session.execute(
            select(Asset.org_id, Asset.name).where(Asset.asset_code == f"{p}-X")
        ).all()
    assert sorted(rows) == sorted([(org_id("rmyy"), "医院的CT"), (org_id("hcxf"), "景区的索道")])


def test_regulator_cannot_import(app, tmp_path):
    from asset_registry.tenancy.scope import ScopeViolation
    from tests.imports.ledgers import simple_ledger

    scope = scope_of("scjg")
    with pytest.raises(ScopeViolation):
        import_assets(scope, org_id("rmyy"), simple_ledger(tmp_path / "a.xlsx", [("Z", "z")]))


def test_imported_assets_are_found_by_the_search_box(app, tmp_path):
    from asset_registry.assets.services import AssetFilters, asset_page

    p = unique_prefix()
    assert run("rmyy", messy_ledger(tmp_path / "台账.xlsx", p)).new == 5
    scope = scope_of("rmyy")
    with use_scope(scope):
        page = asset_page(scope, AssetFilters(q=p))
    assert page.total == 5 and {a.asset_code for a in page.items} >= {f"{p}-001"}
