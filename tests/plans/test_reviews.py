"""Reviews that decide: attachments, several replaced assets, per-item decisions, withdraw,
the diff against the last reviewed version, the resubmit path, the picker and 万元."""

from __future__ import annotations

import decimal
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from asset_registry.extensions import db
from asset_registry.plans import services
from asset_registry.plans.models import PlanAttachment, PlanItemAsset
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import scope_of
from tests.plans.support import item_input, load, unique, user_id

PDF = b"%PDF-1.4\n%quote\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _upload(client, plan_id, data=PDF, name="询价单.pdf", item_id=""):
    return client.post(
        f"/plans/{plan_id}/attachments",
        {"file": (io.BytesIO(data), name), "item_id": str(item_id)},
        content_type="multipart/form-data",
    )


def _attachments(plan_id):
    with use_scope(Scope.system()):
        return list(db.session.scalars(
            select(PlanAttachment).where(PlanAttachment.plan_id == plan_id)
            .order_by(PlanAttachment.id)
        ))


def _load(username, plan_id):
    """The plan as committed now (requests commit in their own sessions)."""
    with use_scope(Scope.system()):
        db.session.expire_all()
    return load(username, plan_id)


def _flash(response) -> str:
    html = response.get_data(as_text=True)
    found = re.search(r'class="alert alert-danger[^"]*"[^>]*>(.*?)<', html, re.S)
    return found.group(1).strip() if found else ""


# --------------------------------------------------------------------------- attachments


def test_three_quotations_on_an_item_and_one_on_the_plan(make_plan, login):
    plan_id = make_plan("rmyy", items=2)
    item_id = _load("rmyy", plan_id).items[0].id
    c = login("rmyy")
    for n in range(3):
        assert _upload(c, plan_id, name=f"询价单{n + 1}.pdf", item_id=item_id).status_code == 302
    assert _upload(c, plan_id, PNG, "现场照片.png").status_code == 302
    rows = _attachments(plan_id)
    assert [r.item_id for r in rows] == [item_id] * 3 + [None]
    assert rows[3].content_type == "image/png" and rows[0].filename == "询价单1.pdf"
    page = c.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert "询价单3.pdf" in page and "现场照片.png" in page
    r = c.get(f"/plans/{plan_id}/attachments/{rows[0].id}")
    assert r.status_code == 200 and r.data == PDF
    # the reviewer reads them too
    assert login("wjw").get(f"/plans/{plan_id}/attachments/{rows[0].id}").status_code == 200


@pytest.mark.parametrize("data,name,message", [
    (b"MZ\x90\x00 not a pdf", "询价单.pdf", "只能上传 PDF、JPEG 或 PNG"),
    (PDF, "询价单.png", "扩展名与文件内容不符"),
    (b"", "空.pdf", "请选择要上传的文件"),
])
def test_bad_files_are_refused_with_a_clear_message(make_plan, login, data, name, message):
    plan_id = make_plan("rmyy")
    c = login("rmyy")
    r = _upload(c, plan_id, data, name)
    assert r.status_code == 302
    assert message in _flash(c.get(f"/plans/{plan_id}"))
    assert _attachments(plan_id) == []


def test_attachments_only_while_editable_and_deleted_with_confirmation(make_plan, login, app):
    plan_id = make_plan("rmyy")
    c = login("rmyy")
    _upload(c, plan_id)
    att = _attachments(plan_id)[0]
    page = c.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert 'data-confirm="确定删除该附件吗？"' in page
    stored = app.config["UPLOAD_DIR"] + "/" + att.stored_name
    assert c.post(f"/plans/{plan_id}/attachments/{att.id}/delete").status_code == 302
    assert _attachments(plan_id) == []
    import os

    assert not os.path.exists(stored)
    submitted = make_plan("rmyy", state="submitted")
    _upload(c, submitted)
    assert "已冻结" in _flash(c.get(f"/plans/{submitted}"))
    assert _attachments(submitted) == []


def test_a_new_version_keeps_the_quotations(make_plan, login):
    plan_id = make_plan("rmyy")
    c = login("rmyy")
    item_id = _load("rmyy", plan_id).items[0].id
    _upload(c, plan_id, item_id=item_id)
    c.post(f"/plans/{plan_id}/submit")
    login("wjw").post(f"/plans/{plan_id}/review", {"action": "approve"})
    r = c.post(f"/plans/{plan_id}/revise")
    new_id = int(r.headers["Location"].rsplit("/", 1)[1])
    copied = _attachments(new_id)
    new_item = _load("rmyy", new_id).items[0]
    assert len(copied) == 1 and copied[0].item_id == new_item.id
    assert copied[0].stored_name == _attachments(plan_id)[0].stored_name
    assert new_item.origin_id == item_id


# --------------------------------------------------------------------------- several assets


def test_an_item_replaces_several_assets_and_completion_disposes_each(make_plan, old_asset):
    first, second = old_asset("rmyy", name="旧DR一"), old_asset("rmyy", name="旧DR二")
    scope = scope_of("rmyy")
    with use_scope(scope):
        plan = services.create_plan(scope, year=2025, title=unique("以旧换新"))
        item = services.save_item(scope, plan, item_input(replaced_asset_ids=[first, second]))
        db.session.commit()
        plan_id, item_id = plan.id, item.id
        assert [a.id for a in item.replaced_assets] == [first, second]
        assert item.replaced_asset_id == first  # the column still names the first one
    steps = [
        ("rmyy", services.submit),
        ("wjw", lambda s, p: services.review(s, p, "approve")),
        ("rmyy", services.start_procurement),
    ]
    for username, step in steps:
        s = scope_of(username)
        with use_scope(s):
            step(s, services.get_plan(s, plan_id))
            db.session.commit()
    with use_scope(scope):
        p = services.get_plan(scope, plan_id)
        item = services.get_item(scope, p, item_id)
        services.complete_item(scope, item, services.CompletionInput(
            actual_price="200000", supplier="供应商", completed_on="2025-06-01",
            new_asset_code=unique("NEW-DR"), disposal_method="trade_in",
        ))
        db.session.commit()
        from asset_registry.assets.models import Asset

        statuses = db.session.scalars(select(Asset.status).where(Asset.id.in_([first, second])))
        assert set(statuses) == {"disposed"}
        chain = services.asset_chain(scope, db.session.get(Asset, second))
        assert chain["replaced_by"][0].id == item_id


def test_a_foreign_asset_among_several_saves_nothing(make_plan, old_asset):
    mine, foreign = old_asset("rmyy"), old_asset("hcxf", category="SE-9000")
    plan_id = make_plan("rmyy", items=0)
    scope = scope_of("rmyy")
    with use_scope(scope):
        plan = services.get_plan(scope, plan_id)
        with pytest.raises(services.PlanError, match="不属于本单位"):
            services.save_item(scope, plan, item_input(replaced_asset_ids=[mine, foreign]))
        db.session.rollback()
    with use_scope(Scope.system()):
        assert db.session.scalar(
            select(func.count(PlanItemAsset.id)).where(PlanItemAsset.asset_id == mine)
        ) == 0
    assert _load("rmyy", plan_id).items == []


def test_the_item_form_posts_several_assets(make_plan, old_asset, login):
    first, second = old_asset("rmyy"), old_asset("rmyy")
    plan_id = make_plan("rmyy", items=0)
    r = login("rmyy").post(f"/plans/{plan_id}/items/new", {
        "replaced_asset_ids": [str(first), str(second)], "equipment_name": "DR",
        "quantity": "1", "unit_price": "100000", "reasons": "past_design_life",
        "planned_quarter": "2025Q4",
        "funding_source": "self_funded", "funding_amount": "100000",
    })
    assert r.status_code == 302
    item = _load("rmyy", plan_id).items[0]
    assert sorted(a.id for a in item.replaced_assets) == sorted([first, second])


# --------------------------------------------------------------------------- decisions


def _decide(client, plan_id, decisions, comment=""):
    data = {"action": "decide", "comment": comment}
    for item_id, (decision, note) in decisions.items():
        data[f"decision-{item_id}"] = decision
        data[f"note-{item_id}"] = note
    return client.post(f"/plans/{plan_id}/review", data)


def test_approve_some_items_return_others_then_resubmit(make_plan, login):
    plan_id = make_plan("rmyy", items=2, state="submitted")
    a, b = (i.id for i in _load("rmyy", plan_id).items)
    wjw, rmyy = login("wjw"), login("rmyy")
    # a returned item needs its reason; nothing is recorded meanwhile
    _decide(wjw, plan_id, {a: ("approved", ""), b: ("returned", "")})
    assert "必须填写意见" in _flash(wjw.get(f"/plans/{plan_id}"))
    assert _load("rmyy", plan_id).items[0].decision is None
    # every item needs a decision
    _decide(wjw, plan_id, {a: ("approved", "")})
    assert "作出同意或退回的决定" in _flash(wjw.get(f"/plans/{plan_id}"))
    _decide(wjw, plan_id, {a: ("approved", ""), b: ("returned", "请附三家询价单")})
    plan = _load("rmyy", plan_id)
    assert plan.status == "returned"
    assert [i.decision for i in plan.items] == ["approved", "returned"]
    page = rmyy.get(f"/plans/{plan_id}").get_data(as_text=True)
    top = page.index('id="latest-comment"')
    assert top < page.index('id="item-table"') and "同意 1 项，退回 1 项" in page[top:top + 500]
    assert "请附三家询价单" in page
    # one path: revise in place and resubmit; no new version on a returned plan
    assert "重新提交审核" in page and 'id="revise-plan"' not in page
    assert 'id="resubmit-help"' in page
    # the agreed item is locked, the returned one can be changed
    with use_scope(scope_of("rmyy")):
        s = scope_of("rmyy")
        p = services.get_plan(s, plan_id)
        with pytest.raises(services.PlanError, match="已获主管部门同意"):
            services.save_item(s, p, item_input(total="1.00", funding=[("self_funded", "1.00")]),
                               p.items[0])
        db.session.rollback()
    assert rmyy.get(f"/plans/{plan_id}/items/{a}/edit").status_code in (200, 302)
    r = rmyy.post(f"/plans/{plan_id}/items/{b}/edit", {
        "equipment_name": "64排CT", "quantity": "1", "unit_price": "180000",
        "planned_quarter": "2025Q3", "reasons": "past_design_life",
        "funding_source": "self_funded", "funding_amount": "180000",
    })
    assert r.status_code == 302
    assert rmyy.post(f"/plans/{plan_id}/submit").status_code == 302
    plan = _load("wjw", plan_id)
    assert plan.status == "submitted"
    assert [i.decision for i in plan.items] == ["approved", None]
    # the reviewer sees what changed and decides the remaining item only
    page = wjw.get(f"/plans/{plan_id}").get_data(as_text=True)
    diff = page[page.index('id="diff-table"'):]
    assert "diff-changed" in diff and "200,000.00" in diff and "180,000.00" in diff
    assert "text-success" in diff  # cheaper: green
    assert f'name="decision-{a}"' not in page and f'name="decision-{b}"' in page
    _decide(wjw, plan_id, {b: ("approved", "")})
    assert _flash(wjw.get(f"/plans/{plan_id}")) == ""
    with use_scope(Scope.system()):
        db.session.expire_all()  # this test's session read the plan before the decision
    assert _load("rmyy", plan_id).status == "approved"


def test_diff_shows_added_and_removed_items(make_plan, login):
    plan_id = make_plan("rmyy", items=2, state="submitted")
    wjw, rmyy = login("wjw"), login("rmyy")
    wjw.post(f"/plans/{plan_id}/review", {"action": "return", "comment": "压缩规模"})
    first = _load("rmyy", plan_id).items[0]
    rmyy.post(f"/plans/{plan_id}/items/{first.id}/delete")
    scope = scope_of("rmyy")
    with use_scope(scope):
        services.save_item(scope, services.get_plan(scope, plan_id),
                           item_input(equipment_name="新增超声"))
        rows = services.plan_diff(services.get_plan(scope, plan_id))
        db.session.commit()
    kinds = sorted((r.kind, r.name) for r in rows)
    assert kinds == [("added", "新增超声"), ("removed", "64排CT"), ("same", "64排CT")]
    page = wjw.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert "table-success" in page and "table-danger" in page and "<del>64排CT</del>" in page


def test_withdraw_before_review_starts_only(make_plan, login):
    plan_id = make_plan("rmyy", state="submitted")
    rmyy = login("rmyy")
    assert 'id="withdraw-plan"' in rmyy.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert rmyy.post(f"/plans/{plan_id}/withdraw").status_code == 302
    plan = _load("rmyy", plan_id)
    assert plan.status == "draft" and plan.editable and not plan.frozen
    rmyy.post(f"/plans/{plan_id}/submit")
    login("wjw").get(f"/plans/{plan_id}")  # the reviewer opens it: review has started
    page = rmyy.get(f"/plans/{plan_id}").get_data(as_text=True)
    assert 'id="withdraw-plan"' not in page and 'id="review-started"' in page
    rmyy.post(f"/plans/{plan_id}/withdraw")
    assert "已开始审核" in _flash(rmyy.get(f"/plans/{plan_id}"))
    assert _load("rmyy", plan_id).status == "submitted"


def test_a_returned_plan_cannot_get_a_new_version(make_plan):
    plan_id = make_plan("rmyy", state="submitted")
    wjw = scope_of("wjw")
    with use_scope(wjw):
        services.review(wjw, services.get_plan(wjw, plan_id), "return", comment="补材料")
        db.session.commit()
    scope = scope_of("rmyy")
    with use_scope(scope):
        with pytest.raises(services.PlanError, match="直接修改"):
            services.new_revision(scope, services.get_plan(scope, plan_id))
        db.session.rollback()


# --------------------------------------------------------------------------- picker, 万元


def test_picker_searches_the_institution_by_code_paginated(make_plan, old_asset, login,
                                                           monkeypatch):
    monkeypatch.setattr(services, "PICKER_PAGE", 5)
    mine = old_asset("rmyy", name="拣选测试DR")
    foreign = old_asset("hcxf", category="SE-9000", name="拣选测试索道")
    plan_id = make_plan("rmyy", items=0)
    c = login("rmyy")
    data = c.get(f"/plans/{plan_id}/assets.json?q=拣选测试").get_json()
    ids = [row["id"] for row in data["items"]]
    assert mine in ids and foreign not in ids
    with use_scope(Scope.system()):
        from asset_registry.assets.models import Asset

        code = db.session.get(Asset, mine).asset_code
    assert [r["id"] for r in c.get(f"/plans/{plan_id}/assets.json?q={code}").get_json()["items"]] \
        == [mine]
    first = c.get(f"/plans/{plan_id}/assets.json").get_json()
    assert len(first["items"]) == services.PICKER_PAGE and first["has_more"]
    second = c.get(f"/plans/{plan_id}/assets.json?page=2").get_json()
    assert {r["id"] for r in first["items"]}.isdisjoint(r["id"] for r in second["items"])
    assert login("hcxf").get(f"/plans/{plan_id}/assets.json").status_code == 404


def test_money_in_wan_where_bureaus_read_totals(make_plan, login):
    plan_id = make_plan("rmyy", state="submitted")  # 200,000.00 元
    wjw = login("wjw")
    queue = wjw.get("/plans/queue").get_data(as_text=True)
    assert "总投资（万元）" in queue
    row = queue[queue.index(f"/plans/{plan_id}"):]
    assert "20.00" in row[:600]
    page = wjw.get(f"/plans/{plan_id}").get_data(as_text=True)
    total = page[page.index('id="plan-total"'):][:200]
    assert "20.00 万元" in total and "200,000.00 元" in total
    assert services.wan(decimal.Decimal("1234567.89")) == "123.46"
    wjw.post(f"/plans/{plan_id}/review", {"action": "approve"})
    ws = load_workbook(io.BytesIO(wjw.get("/plans/export.xlsx").data)).active
    labels = [row[1].value for row in ws.iter_rows(min_row=3)]
    assert labels[-1] == "合计（万元）" and labels[-2] == "合计"
    before, last = list(ws.iter_rows(min_row=ws.max_row - 1))
    assert round(before[5].value / 10000, 2) == pytest.approx(last[5].value)


def test_user_ids_helper_is_stable():
    assert user_id("rmyy") == user_id("rmyy")


def test_every_replaced_asset_of_an_approved_item_counts_as_planned(old_asset):
    from asset_registry import clock
    from asset_registry.alerts import services as alerts
    from asset_registry.alerts.models import Alert

    first, second = old_asset("rmyy", name="旧彩超一"), old_asset("rmyy", name="旧彩超二")
    unplanned = old_asset("rmyy", name="未列入计划的旧彩超")
    scope = scope_of("rmyy")
    with use_scope(scope):
        plan = services.create_plan(scope, year=2025, title=unique("两台换一台"))
        services.save_item(scope, plan, item_input(replaced_asset_ids=[first, second]))
        services.submit(scope, plan)
        db.session.commit()
        plan_id = plan.id
    reviewer = scope_of("wjw")
    with use_scope(reviewer):
        services.review(reviewer, services.get_plan(reviewer, plan_id), "approve")
        db.session.commit()
    with use_scope(Scope.system()):
        alerts.scan(clock.today())
        rules = set(db.session.scalars(select(Alert.rule).where(
            Alert.asset_id.in_([first, second]), Alert.status != "resolved")))
        others = set(db.session.scalars(select(Alert.rule).where(
            Alert.asset_id == unplanned, Alert.status != "resolved")))
        db.session.rollback()
    assert "life_exceeded" not in rules
    assert "life_exceeded" in others  # an asset on no plan still raises it
