"""Two-tenant leaks: plans, items, funding, review events, queue, dashboards, exports."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from asset_registry.extensions import db
from asset_registry.plans.models import FundingLine, PlanItem, RenewalPlan, ReviewEvent
from asset_registry.tenancy.scope import use_scope
from tests.helpers import scope_of
from tests.plans.support import load

SCENIC = {"hcxf", "wml", "stxz"}


def _codes_of_plans(username: str) -> set[str]:
    from asset_registry.tenancy.models import Organisation

    with use_scope(scope_of(username)):
        return set(db.session.scalars(
            select(Organisation.code).join(RenewalPlan, RenewalPlan.org_id == Organisation.id)
        ))


def test_jyj_cannot_see_or_act_on_the_health_plan(make_plan, login):
    plan_id = make_plan("rmyy", state="submitted")
    item_id = load("rmyy", plan_id).items[0].id
    c = login("jyj")
    assert c.get(f"/plans/{plan_id}").status_code == 404
    for url, data in [
        (f"/plans/{plan_id}/review", {"action": "approve"}),
        (f"/plans/{plan_id}/review", {"action": "reject", "comment": "x"}),
    ]:
        assert c.post(url, data).status_code == 404
    assert load("rmyy", plan_id).status == "submitted"
    assert "人民医院" not in c.get("/plans/queue").get_data(as_text=True)
    assert "人民医院" not in c.get("/plans/?status=all").get_data(as_text=True)
    # neither through another institution's manager
    h = login("hcxf")
    assert h.get(f"/plans/{plan_id}").status_code == 404
    assert h.get(f"/plans/{plan_id}/items/{item_id}/edit").status_code == 404
    assert h.post(f"/plans/{plan_id}/revise").status_code == 404


def test_wlj_sees_the_scenic_areas_plans_only(make_plan, login):
    make_plan("hcxf", state="submitted", reviewer="wlj")
    rmyy_plan = make_plan("rmyy", state="submitted")
    assert _codes_of_plans("wlj") <= SCENIC and "hcxf" in _codes_of_plans("wlj")
    html = login("wlj").get("/plans/queue").get_data(as_text=True)
    assert "皇城相府" in html and "人民医院" not in html and "科技学院" not in html
    assert login("wlj").get(f"/plans/{rmyy_plan}").status_code == 404


def test_child_rows_are_scoped(make_plan):
    plan_id = make_plan("rmyy", state="submitted")
    for model in (PlanItem, FundingLine, ReviewEvent, RenewalPlan):
        with use_scope(scope_of("hcxf")):
            column = model.id if model is RenewalPlan else (
                model.plan_id if hasattr(model, "plan_id") else model.item_id)
            rows = db.session.scalars(select(model)).all()
            assert all(r.org_id in scope_of("hcxf").org_ids for r in rows), model
            if model is not FundingLine:
                assert plan_id not in {getattr(r, column.key) for r in rows}
    with use_scope(scope_of("scjg")):  # the regulator sees no plans at all
        assert db.session.scalars(select(RenewalPlan)).all() == []


def test_export_stays_in_scope(make_plan, login):
    make_plan("rmyy", state="approved")
    make_plan("hcxf", state="approved", reviewer="wlj")

    def units(username):
        r = login(username).get("/plans/export.xlsx")
        assert r.status_code == 200
        ws = load_workbook(io.BytesIO(r.data)).active
        return {row[1] for row in ws.iter_rows(min_row=3, values_only=True) if row[0]}

    assert units("rmyy") == {"晋城市人民医院"}
    hcxf = units("hcxf")
    assert "皇城相府景区" in hcxf and "晋城市人民医院" not in hcxf
    assert "晋城市人民医院" in units("wjw") and "皇城相府景区" not in units("wjw")
    assert {"晋城市人民医院", "皇城相府景区"} <= units("admin")


def test_dashboards_stay_in_scope(make_plan, login):
    make_plan("rmyy", state="submitted")
    wlj = login("wlj").get("/dashboard/").get_data(as_text=True)
    assert "皇城相府" in wlj and "人民医院" not in wlj and "科技学院" not in wlj
    rmyy = login("rmyy").get("/dashboard/").get_data(as_text=True)
    assert "皇城相府" not in rmyy
    r = login("wlj").get("/dashboard/export.xlsx")
    wb = load_workbook(io.BytesIO(r.data))
    cells = {str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row}
    assert "晋城市人民医院" not in cells and "皇城相府景区" in cells


def test_attachments_links_and_picker_stay_in_their_institution(make_plan, old_asset, login):
    from asset_registry.plans.models import PlanAttachment, PlanItemAsset
    from asset_registry.tenancy.scope import Scope

    first, second = old_asset("rmyy"), old_asset("rmyy")
    plan_id = make_plan("rmyy", items=1)
    owner = login("rmyy")
    item_id = load("rmyy", plan_id).items[0].id
    r = owner.post(f"/plans/{plan_id}/items/{item_id}/edit", {
        "replaced_asset_ids": [str(first), str(second)], "equipment_name": "DR", "quantity": "1",
        "unit_price": "100000", "planned_quarter": "2025Q4", "reasons": "past_design_life",
        "funding_source": "self_funded", "funding_amount": "100000",
    })
    assert r.status_code == 302
    owner.post(f"/plans/{plan_id}/attachments",
               {"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "q.pdf"), "item_id": str(item_id)},
               content_type="multipart/form-data")
    with use_scope(Scope.system()):
        att_id = db.session.scalar(
            select(PlanAttachment.id).where(PlanAttachment.plan_id == plan_id))
    assert owner.get(f"/plans/{plan_id}/attachments/{att_id}").status_code == 200
    for other in ("hcxf", "jyj"):
        c = login(other)
        assert c.get(f"/plans/{plan_id}/attachments/{att_id}").status_code == 404
        assert c.get(f"/plans/{plan_id}/assets.json?q=OLD").status_code == 404
        with use_scope(scope_of(other)):
            assert db.session.scalars(
                select(PlanAttachment).where(PlanAttachment.id == att_id)).all() == []
            assert db.session.scalars(
                select(PlanItemAsset).where(PlanItemAsset.item_id == item_id)).all() == []
    h = login("hcxf")
    r = h.post(f"/plans/{plan_id}/attachments/{att_id}/delete")
    assert r.status_code == 404
    r = h.post(f"/plans/{plan_id}/attachments",
               {"file": (io.BytesIO(b"%PDF-1.4\n"), "x.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 404
    # hcxf's own plan cannot link rmyy's assets through the form
    own = make_plan("hcxf", items=0, reviewer="wlj")
    h.post(f"/plans/{own}/items/new", {
        "replaced_asset_ids": [str(first)], "equipment_name": "x", "quantity": "1",
        "unit_price": "100", "planned_quarter": "2025Q4", "funding_source": "self_funded",
        "funding_amount": "100",
    })
    with use_scope(Scope.system()):
        db.session.expire_all()
        assert db.session.scalar(select(func.count(PlanItemAsset.id)).where(
            PlanItemAsset.asset_id == first)) == 1
    with use_scope(scope_of("wjw")):  # the supervising bureau sees both
        assert len(db.session.scalars(
            select(PlanItemAsset).where(PlanItemAsset.item_id == item_id)).all()) == 2
