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


def test_reviewer_approves_one_item_and_returns_another(page):
    """wjw decides item by item; rmyy reads the comment on top, attaches the quotation,
    picks a second replaced asset by search, resubmits; wjw sees the diff and approves."""
    from asset_registry.plans import services
    from tests.plans.support import item_input

    scope = scope_of("rmyy")
    with use_scope(scope):
        plan = services.create_plan(scope, year=2025, title=unique("逐项审核"))
        ct = services.save_item(scope, plan, item_input(equipment_name="64排CT"))
        us = services.save_item(scope, plan, item_input(equipment_name="彩色超声"))
        services.submit(scope, plan)
        db.session.commit()
        plan_id, ct_id, us_id = plan.id, ct.id, us.id
    extra = over_age_ct()
    with use_scope(Scope.system()):
        extra_code = db.session.get(Asset, extra).asset_code
    page.on("dialog", lambda dialog: dialog.accept())
    plan_url = f"/plans/{plan_id}"

    browser_login(page, "wjw")
    page.goto(plan_url)
    page.check(f"#decide-approve-{ct_id}")
    page.check(f"#decide-return-{us_id}")
    page.fill(f"#note-{us_id}", "请附三家询价单")
    page.click("#decide")
    assert page.locator("#plan-status").inner_text() == "已退回"
    assert "同意" in page.locator(f"#item-{ct_id} .item-decision").inner_text()

    switch_user(page, "rmyy")
    page.goto(plan_url)
    assert "同意 1 项，退回 1 项" in page.locator("#latest-comment").inner_text()
    assert "请附三家询价单" in page.locator(f"#item-{us_id}").inner_text()
    assert page.locator("#revise-plan").count() == 0
    assert page.locator("#submit-plan").inner_text() == "重新提交审核"
    assert page.locator(f"#item-{ct_id} a:has-text('修改')").count() == 0
    page.set_input_files("#attachment-file", files=[{
        "name": "询价单.pdf", "mimeType": "application/pdf",
        "buffer": b"%PDF-1.4\n%%EOF\n"}])
    page.select_option("#attachment-item", str(us_id))
    page.click("#upload-attachment")
    assert "询价单.pdf" in page.locator(f"#item-{us_id}").inner_text()
    page.click(f"#item-{us_id} a:has-text('修改')")
    page.fill("#asset-search", extra_code)
    page.click("#asset-search-btn")
    page.click(f".pick-asset[data-id='{extra}']")
    assert page.locator(f"#asset-{extra}").is_checked()
    page.fill("input[name=unit_price]", "180000")
    rows = page.locator(".funding-row")
    rows.nth(0).locator("input").fill("150000")
    rows.nth(1).locator("input").fill("30000")
    page.click("#save-item")
    assert extra_code in page.locator(f"#item-{us_id} .replaced-assets").inner_text()
    page.click("#submit-plan")
    assert page.locator("#plan-status").inner_text() == "已提交待审"

    switch_user(page, "wjw")
    page.goto(plan_url)
    changed = page.locator("#diff-table tr.diff-changed")
    assert "彩色超声" in changed.inner_text() and "-20,000.00" in changed.inner_text()
    assert page.locator(f"#decide-approve-{ct_id}").count() == 0
    page.check(f"#decide-approve-{us_id}")
    page.click("#decide")
    assert page.locator("#plan-status").inner_text() == "已批准"
