"""The whole renewal loop in a real browser: draft → submit → return → revise → resubmit →
approve (frozen) → procurement → completion (new CT registered, old CT disposed)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from asset_registry import clock
from asset_registry.assets.models import Asset
from asset_registry.extensions import db
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import browser_login, scope_of
from tests.plans.support import unique

pytestmark = pytest.mark.e2e


def over_age_ct() -> int:
    """The demo's over-age CT at 人民医院, or a fresh one when the demo has none left."""
    from asset_registry.assets.services import create_asset
    from asset_registry.catalog.models import Category

    scope = scope_of("rmyy")
    with use_scope(scope):
        found = db.session.scalar(
            select(Asset.id).where(
                Asset.name.contains("CT"), Asset.status != "disposed",
                Asset.design_life_end < clock.today(),
            ).order_by(Asset.id)
        )
        if found is not None:
            return found
        cat = db.session.scalar(select(Category.id).where(Category.code == "MED-06"))
        asset = create_asset(scope, {
            "asset_code": unique("CT"), "name": "螺旋CT（测试）", "category_id": cat,
            "commissioned_on": "2011-03-01", "purchase_date": "2011-01-10",
            "original_value": "6800000",
        })
        db.session.commit()
        return asset.id


def switch_user(page, username: str) -> None:
    page.context.clear_cookies()
    browser_login(page, username)


def test_renewal_loop(page):
    ct_id = over_age_ct()
    title = unique("CT更新计划")
    page.on("dialog", lambda dialog: dialog.accept())

    # rmyy drafts a plan replacing the CT, with two funding lines, and submits
    browser_login(page, "rmyy")
    page.goto("/plans/")
    page.click("#new-plan")
    page.fill("input[name=title]", title)
    page.click("#plan-form button[type=submit]")
    page.click("#add-item")
    page.check(f"#asset-{ct_id}")
    page.fill("input[name=equipment_name]", "128排螺旋CT")
    page.fill("input[name=quantity]", "1")
    page.fill("input[name=unit_price]", "6000000")
    page.check("#reasons input[value=past_design_life]")
    page.click("#add-funding")
    assert page.locator(".funding-row").count() == 3
    rows = page.locator(".funding-row")
    rows.nth(0).locator("select").select_option("special_bonds")
    rows.nth(0).locator("input").fill("4000000")
    rows.nth(1).locator("select").select_option("self_funded")
    rows.nth(1).locator("input").fill("1000000")  # does not add up yet
    page.click("#save-item")
    assert "不一致" in page.locator(".alert-danger").inner_text()
    page.locator(".funding-row").nth(1).locator("input").fill("2000000")
    page.click("#save-item")
    assert "6,000,000.00" in page.locator("#plan-total").inner_text()
    plan_url = page.url
    plan_id = int(re.search(r"/plans/(\d+)", plan_url).group(1))
    page.click("#submit-plan")
    assert page.locator("#plan-status").inner_text() == "已提交待审"

    # wjw returns it with a comment
    switch_user(page, "wjw")
    page.goto("/plans/queue")
    page.click(f"text={title}")
    page.click("#return")  # without a comment: refused
    assert "必须填写审核意见" in page.locator(".alert-danger").inner_text()
    page.fill("#comment", "请按市场询价下调单价")
    page.click("#return")
    assert page.locator("#plan-status").inner_text() == "已退回"

    # rmyy revises and resubmits
    switch_user(page, "rmyy")
    page.goto(plan_url)
    assert "请按市场询价下调单价" in page.locator("#event-table").inner_text()
    page.click("#item-table a:has-text('修改')")
    page.fill("input[name=unit_price]", "5800000")
    page.locator(".funding-row").nth(1).locator("input").fill("1800000")
    page.click("#save-item")
    assert "5,800,000.00" in page.locator("#plan-total").inner_text()
    page.click("#submit-plan")
    assert page.locator("#plan-status").inner_text() == "已提交待审"

    # wjw approves; the plan is frozen
    switch_user(page, "wjw")
    page.goto(plan_url)
    page.click("#approve")
    assert page.locator("#plan-status").inner_text() == "已批准"
    switch_user(page, "rmyy")
    page.goto(plan_url)
    assert page.locator("#plan-frozen").is_visible()
    assert page.locator("#add-item").count() == 0
    page.goto(f"/plans/{plan_id}/items/new")
    assert "已冻结" in page.locator(".alert-warning").inner_text()

    # procurement, then completion: the new CT is registered, the old one disposed
    page.goto(plan_url)
    page.click("#start-procurement")
    assert page.locator("#plan-status").inner_text() == "采购中"
    page.click(".complete-item")
    new_code = unique("CT-NEW")
    page.fill("input[name=actual_price]", "5750000")
    page.fill("input[name=supplier]", "联影医疗")
    page.fill("input[name=new_asset_code]", new_code)
    page.select_option("select[name=disposal_method]", "trade_in")
    page.fill("input[name=disposal_recipient]", "联影医疗（以旧换新）")
    page.click("#save-completion")
    assert page.locator("#plan-status").inner_text() == "已完成"

    with use_scope(Scope.system()):
        db.session.expire_all()
        new = db.session.scalars(select(Asset).where(Asset.asset_code == new_code)).one()
        old = db.session.scalars(select(Asset).where(Asset.id == ct_id)).one()
        assert new.status == "in_service" and new.name == "128排螺旋CT"
        assert old.status == "disposed" and old.disposal_method == "trade_in"
        assert old.disposal_recipient == "联影医疗（以旧换新）"
    page.goto(f"/plans/asset/{ct_id}/chain")
    assert new_code in page.content()
