"""The programme loop in a real browser: wjw groups two approved health items into a
reserve project and takes it to 资金已下达; opens a dispatch round; rmyy reports on the
prefilled form; wjw closes the round and issues the 专报 (.docx and .pdf checked)."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import re

import pypdfium2
import pytest
from docx import Document
from sqlalchemy import func, select

from asset_registry import clock
from asset_registry.extensions import db
from asset_registry.plans.models import PlanItem
from asset_registry.tenancy.models import Organisation
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import browser_login
from tests.plans.support import unique
from tests.programme.support import approved_items

pytestmark = pytest.mark.e2e


def switch_user(page, username: str) -> None:
    page.context.clear_cookies()
    browser_login(page, username)


def _rmyy_completed(start: dt.date, end: dt.date) -> decimal.Decimal:
    with use_scope(Scope.system()):
        value = db.session.scalar(
            select(func.coalesce(func.sum(PlanItem.actual_price), 0))
            .join(Organisation, Organisation.id == PlanItem.org_id)
            .where(Organisation.code == "rmyy", PlanItem.completed_on >= start,
                   PlanItem.completed_on <= end))
    return decimal.Decimal(value).quantize(decimal.Decimal("0.01"))


def test_programme_loop(page):
    page.on("dialog", lambda dialog: dialog.accept())
    year = clock.today().year
    done_on = clock.today() - dt.timedelta(days=3)
    ids = approved_items("rmyy", ("1200000.00", "800000.00"), complete_on=done_on,
                         prices=("1150000.00", "790000.00"))
    name = unique("人民医院影像设备更新项目")

    # wjw groups the two items into a project and takes it through the application
    browser_login(page, "wjw")
    page.goto("/programme/")
    page.click("#new-project")
    page.fill("#p-name", name)
    page.fill("#p-applicant", "晋城市人民医院")
    page.select_option("#p-channel", "special_bonds")
    for item_id in ids:
        page.check(f"#item-{item_id}")
    page.fill("#ask-special_bonds", "2500000")  # above the items' 2,000,000: refused
    page.click("#save-project")
    assert "超过项目总投资" in page.locator(".alert-danger").inner_text()
    for item_id in ids:
        page.check(f"#item-{item_id}")
    page.fill("#ask-special_bonds", "1600000")
    page.click("#save-project")
    assert page.locator("#project-state").inner_text() == "储备"
    assert "2,000,000.00" in page.locator("#project-equipment").inner_text()
    page.fill("#move-applied input[name=batch]", "2025年第三批")
    page.fill("#move-applied input[name=applied_on]", done_on.isoformat())
    page.click("#move-applied button")
    assert page.locator("#project-state").inner_text() == "已申报"
    page.fill("#move-selected input[name=decided_on]", done_on.isoformat())
    page.click("#move-selected button")
    page.fill("#move-funded input[name=funded_amount]", "1500000")
    page.fill("#move-funded input[name=funded_on]", done_on.isoformat())
    page.fill("#move-funded input[name=funding_doc_no]", "晋发改投资〔2025〕200号")
    page.click("#move-funded button")
    assert page.locator("#project-state").inner_text() == "资金已下达"

    # the institution sees its items' application state
    switch_user(page, "rmyy")
    page.goto("/programme/my-items")
    row = page.locator("#my-items tr", has_text=name)
    assert row.count() == 2 and "资金已下达" in row.first.inner_text()

    # wjw opens a round for the year so far
    switch_user(page, "wjw")
    page.goto("/programme/rounds")
    title = unique("设备更新调度")
    start, end = dt.date(year, 1, 1), clock.today()
    page.fill("#r-title", title)
    page.fill("#r-start", start.isoformat())
    page.fill("#r-end", end.isoformat())
    page.fill("#r-due", (end + dt.timedelta(days=7)).isoformat())
    page.click("#open-round")
    round_url = page.url
    round_id = int(re.search(r"/rounds/(\d+)", round_url).group(1))

    # rmyy reports on the prefilled form: the register's figures
    switch_user(page, "rmyy")
    page.goto("/programme/my-reports")
    page.click(f"#my-reports a:has-text('{title}')")
    expected = _rmyy_completed(start, end)
    assert expected >= decimal.Decimal("1940000.00")
    assert page.locator("#prefill-investment").inner_text() == f"{expected:,.2f}"
    assert page.locator("#r-invest").input_value() == str(expected)
    page.fill("#r-invest", str(expected + 10000))  # contradicts the register, no reason
    page.fill("#r-problems", "DR机房改造滞后")
    page.click("#submit-report")
    assert "请填写调整原因" in page.locator(".alert-danger").inner_text()
    page.fill("#r-invest", str(expected))
    page.fill("#r-problems", "DR机房改造滞后")
    page.fill("#r-needs", "请协调国债资金拨付")
    page.click("#submit-report")
    assert "已填报" in page.locator(".alert-success").inner_text()

    # wjw closes the round and issues the 专报
    switch_user(page, "wjw")
    page.goto(round_url)
    assert "已填报" in page.locator("#round-reports tr", has_text="晋城市人民医院").inner_text()
    page.click("#close-round")
    assert page.locator("#round-state").inner_text() == "已结束"
    page.click("#generate-report")
    assert "专报已生成" in page.locator(".alert-success").inner_text()
    number = page.locator("#report-number").inner_text()
    report_id = int(re.search(r"/reports/(\d+)", page.url).group(1))

    docx = page.request.get(f"/programme/reports/{report_id}.docx")
    assert docx.ok
    document = Document(io.BytesIO(docx.body()))
    text = "\n".join(p.text for p in document.paragraphs)
    assert number.split(" · ")[0] in text and "DR机房改造滞后" in text
    wan = decimal.Decimal(10000)
    # this round has one report: the reported total is rmyy's figure
    assert f"各单位本期填报完成投资合计 {expected / wan:,.2f} 万元" in text
    rows = [[c.text for c in r.cells] for t in document.tables for r in t.rows]
    rmyy_row = next(r for r in rows if r[0] == "晋城市人民医院")
    assert rmyy_row[2] == f"{expected / wan:,.2f}"
    pdf = page.request.get(f"/programme/reports/{report_id}.pdf")
    doc = pypdfium2.PdfDocument(pdf.body())
    assert len(doc) >= 2
    assert "专报" in doc[0].get_textpage().get_text_range()
    assert doc[1].render(scale=1).to_pil().size[0] > 100
    assert round_id
