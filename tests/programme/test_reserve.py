"""The project reserve: grouping approved items, the application states, the refusals,
the institution's view and the per-channel export."""

from __future__ import annotations

import decimal
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from asset_registry.extensions import db
from asset_registry.programme import projects
from asset_registry.programme.common import ProgrammeError
from asset_registry.programme.models import FundingProject, ProjectItem
from asset_registry.tenancy.scope import use_scope
from tests.helpers import scope_of
from tests.plans.support import unique
from tests.programme.support import approved_items, make_project


def _count(model) -> int:
    with use_scope(scope_of("admin")):
        return db.session.scalar(select(func.count(model.id)))


def test_bureau_groups_items_and_totals_add_up(login):
    ids = approved_items("rmyy", ("300000.00", "500000.00"))
    name = unique("影像项目")
    c = login("wjw")
    r = c.post("/programme/projects/new", {
        "name": name, "applicant": "市人民医院", "channel": "special_bonds",
        "readiness": "feasibility", "other_investment": "100000", "item_id": ids,
        "ask_special_bonds": "600000", "ask_local_fiscal": "200000",
    })
    assert r.status_code == 302, r.get_data(as_text=True)
    html = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "800,000.00" in html  # equipment = the two items
    with use_scope(scope_of("wjw")):
        project = db.session.scalars(
            select(FundingProject).where(FundingProject.name == name)).one()
        assert project.asked_total == decimal.Decimal("800000.00")
        assert projects.equipment_total(project) == decimal.Decimal("800000.00")
        assert project.sector == "health" and project.state == "reserve"
        links = db.session.scalars(select(ProjectItem).where(ProjectItem.project_id == project.id))
        assert sorted(link.plan_item_id for link in links) == sorted(ids)


def test_asking_above_the_totals_is_refused_and_nothing_saved(login):
    ids = approved_items("rmyy", ("300000.00",))
    before = _count(FundingProject), _count(ProjectItem)
    r = login("wjw").post("/programme/projects/new", {
        "name": unique("超额项目"), "applicant": "x", "channel": "special_bonds",
        "item_id": ids, "ask_special_bonds": "300000.01",
    })
    html = r.get_data(as_text=True)
    assert "超过项目总投资" in html
    assert (_count(FundingProject), _count(ProjectItem)) == before


def test_another_bureaus_items_are_refused(login):
    health = approved_items("rmyy", ("100000.00",))
    education = approved_items("sxkj", ("100000.00",))
    before = _count(FundingProject), _count(ProjectItem)
    r = login("wjw").post("/programme/projects/new", {
        "name": unique("混编项目"), "applicant": "x", "channel": "special_bonds",
        "item_id": health + education, "ask_special_bonds": "50000",
    })
    assert "不属于本部门所属单位" in r.get_data(as_text=True)
    assert (_count(FundingProject), _count(ProjectItem)) == before


def test_an_item_joins_one_project_only():
    ids = approved_items("rmyy", ("100000.00",))
    make_project("wjw", ids, asks={"special_bonds": "100000"})
    scope = scope_of("wjw")
    with use_scope(scope), pytest.raises(ProgrammeError, match="已编入其他储备项目"):
        projects.create_project(scope, projects.ProjectInput(
            name=unique("p"), applicant="x", channel="special_bonds", item_ids=ids,
            asks={"special_bonds": "1"}))


def test_application_states_and_what_the_institution_sees(login):
    ids = approved_items("rmyy", ("400000.00",))
    project_id = make_project("wjw", ids, asks={"special_bonds": "300000"})
    c = login("wjw")
    url = f"/programme/projects/{project_id}/state"
    # a step without its facts is refused
    assert "请填写申报批次" in c.post(url, {"to": "applied"}, follow_redirects=True
                                     ).get_data(as_text=True)
    # jumping ahead is refused
    assert "不能改为" in c.post(url, {"to": "funded"}, follow_redirects=True).get_data(as_text=True)
    c.post(url, {"to": "applied", "channel": "special_bonds", "batch": "2025年第三批",
                 "applied_on": "2025-07-01"})
    c.post(url, {"to": "selected", "decided_on": "2025-08-01"})
    r = c.post(url, {"to": "funded", "funded_amount": "300000.01", "funded_on": "2025-08-20",
                     "funding_doc_no": "晋发改〔2025〕1号"}, follow_redirects=True)
    assert "超过申请资金" in r.get_data(as_text=True)
    c.post(url, {"to": "funded", "funded_amount": "280000", "funded_on": "2025-08-20",
                 "funding_doc_no": "晋发改〔2025〕1号"})
    with use_scope(scope_of("wjw")):
        project = projects.get_project(scope_of("wjw"), project_id)
        assert project.state == "funded" and project.funded_amount == decimal.Decimal("280000")
    html = login("rmyy").get("/programme/my-items").get_data(as_text=True)
    assert "资金已下达" in html and "晋发改〔2025〕1号" in html
    # the institution cannot open or move the bureau's project
    assert login("rmyy").get(f"/programme/projects/{project_id}").status_code == 404
    assert login("rmyy").post(url, {"to": "disbursed", "disbursed_on": "2025-09-01"}
                              ).status_code == 404


def test_export_has_one_sheet_per_channel_with_safe_cells(login):
    ids_a = approved_items("rmyy", ("100000.00",))
    ids_b = approved_items("rmyy", ("200000.00",))
    make_project("wjw", ids_a, name="=HYPERLINK(\"x\")" + unique(""),
                 asks={"special_bonds": "100000"})
    make_project("wjw", ids_b, channel="central_budget", asks={"central_budget": "150000"})
    r = login("wjw").get("/programme/reserve.xlsx")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    assert {"超长期特别国债", "中央预算内投资"} <= set(wb.sheetnames)
    names = [row[1] for row in wb["超长期特别国债"].iter_rows(min_row=3, values_only=True)]
    assert any(str(n).startswith("'=HYPERLINK") for n in names if n)
    assert not any(str(n).startswith("=") for n in names if n)
    # the total row sums the sheet's asks
    rows = list(wb["中央预算内投资"].iter_rows(min_row=3, values_only=True))
    header = next(wb["中央预算内投资"].iter_rows(min_row=2, max_row=2, values_only=True))
    col = header.index("申请中央预算内投资（元）")
    assert rows[-1][1] == "合计"
    assert rows[-1][col] == pytest.approx(sum(r[col] or 0 for r in rows[:-1]))


def test_reserve_totals_per_channel(login):
    ids = approved_items("rmyy", ("100000.00",))
    make_project("wjw", ids, channel="relending", asks={"relending": "90000"})
    with use_scope(scope_of("wjw")):
        rows = projects.totals_by_channel(scope_of("wjw"),
                                          projects.ReserveFilters(channel="relending"))
        expected = db.session.scalar(
            select(func.sum(projects.ProjectFunding.amount))
            .join(FundingProject, FundingProject.id == projects.ProjectFunding.project_id)
            .where(FundingProject.channel == "relending"))
    assert [r["channel"] for r in rows] == ["relending"]
    assert rows[0]["asked"] == expected
    html = login("wjw").get("/programme/reserve?channel=relending").get_data(as_text=True)
    assert "科技创新和技术改造再贷款" in html
