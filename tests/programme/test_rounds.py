"""Dispatch rounds: opening, the prefilled form, the refusals, late institutions, reminders,
closing, and the 专报 with its .docx and .pdf."""

from __future__ import annotations

import datetime as dt
import decimal
import io

import pypdfium2
import pytest
from docx import Document
from sqlalchemy import func, select

from asset_registry import clock
from asset_registry.alerts.models import Alert
from asset_registry.extensions import db
from asset_registry.plans.models import PlanItem
from asset_registry.programme import reports, rounds
from asset_registry.programme.common import ProgrammeError
from asset_registry.programme.models import (
    DispatchRound,
    ProgrammeReport,
    ReportImmutable,
    RoundReport,
)
from asset_registry.tenancy.models import Organisation
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import scope_of
from tests.plans.support import unique
from tests.programme.support import approved_items

PERIOD = {"period_start": "2025-01-01", "period_end": "2025-06-30"}


def _open(username="wjw", due=None, **period) -> int:
    scope = scope_of(username)
    with use_scope(scope):
        found = rounds.open_round(scope, {
            "title": unique("调度"), **(period or PERIOD),
            "due_on": (due or clock.today() + dt.timedelta(days=10)).isoformat()})
        db.session.commit()
        return found.id


def _report_id(round_id: int, code: str) -> int:
    with use_scope(Scope.system()):
        return db.session.scalar(
            select(RoundReport.id).join(Organisation, Organisation.id == RoundReport.org_id)
            .where(RoundReport.round_id == round_id, Organisation.code == code))


def _completed_in_period(code: str) -> decimal.Decimal:
    with use_scope(Scope.system()):
        value = db.session.scalar(
            select(func.coalesce(func.sum(PlanItem.actual_price), 0))
            .join(Organisation, Organisation.id == PlanItem.org_id)
            .where(Organisation.code == code, PlanItem.completed_on >= dt.date(2025, 1, 1),
                   PlanItem.completed_on <= dt.date(2025, 6, 30)))
    return decimal.Decimal(value).quantize(decimal.Decimal("0.01"))


def test_opening_a_round_creates_one_pending_report_per_institution_and_tells_them():
    round_id = _open()
    with use_scope(Scope.system()):
        codes = set(db.session.scalars(
            select(Organisation.code).join(RoundReport, RoundReport.org_id == Organisation.id)
            .where(RoundReport.round_id == round_id)))
        notices = db.session.scalar(select(func.count(Alert.id)).where(
            Alert.notice_key == f"programme-round-{round_id}-open"))
    assert {"rmyy", "fybjy", "gprmyy"} <= codes and "sxkj" not in codes
    assert notices == len(codes)


def test_prefill_matches_the_register_and_a_contradiction_needs_a_reason(login):
    approved_items("rmyy", ("300000.00",), complete_on=dt.date(2025, 4, 1),
                   prices=("290000.00",))
    round_id = _open()
    report_id = _report_id(round_id, "rmyy")
    expected = _completed_in_period("rmyy")
    c = login("rmyy")
    html = c.get(f"/programme/my-reports/{report_id}").get_data(as_text=True)
    assert f"{expected:,.2f}" in html
    r = c.post(f"/programme/my-reports/{report_id}",
               {"investment_reported": str(expected + 1000), "problems": "x"})
    assert "请填写调整原因" in r.get_data(as_text=True)
    with use_scope(scope_of("rmyy")):
        assert rounds.get_report(scope_of("rmyy"), report_id).state == "pending"
    c.post(f"/programme/my-reports/{report_id}", {
        "investment_reported": str(expected + 1000), "adjust_reason": "含安装调试费",
        "problems": "国债资金到位较慢", "needs": "请协调财政局加快拨付"})
    with use_scope(scope_of("rmyy")):
        report = rounds.get_report(scope_of("rmyy"), report_id)
        assert report.state == "submitted"
        assert report.investment_computed == expected
        assert report.investment_reported == expected + 1000
        assert report.adjust_reason == "含安装调试费"


def test_report_after_close_is_refused_and_unchanged(login):
    round_id = _open()
    report_id = _report_id(round_id, "fybjy")
    assert login("wjw").post(f"/programme/rounds/{round_id}/close").status_code == 302
    scope = scope_of("admin")
    with use_scope(scope):
        report = rounds.get_report(scope, report_id)
        with pytest.raises(ProgrammeError, match="已结束"):
            rounds.submit_report(scope, report, {"investment_reported": "0"})
        db.session.rollback()
        assert rounds.get_report(scope, report_id).state == "pending"


def test_other_bureaus_and_institutions_cannot_reach_a_round(login):
    round_id = _open()
    report_id = _report_id(round_id, "rmyy")
    assert login("jyj").get(f"/programme/rounds/{round_id}").status_code == 404
    assert login("jyj").post(f"/programme/rounds/{round_id}/close").status_code == 404
    assert login("sxkj").get(f"/programme/my-reports/{report_id}").status_code == 404
    assert login("sxkj").post(f"/programme/my-reports/{report_id}",
                              {"investment_reported": "0"}).status_code == 404


def test_late_institutions_are_listed_and_reminded_once(login):
    with clock.frozen(dt.date(2025, 7, 1)):
        round_id = _open(due=dt.date(2025, 7, 3))
    with clock.frozen(dt.date(2025, 7, 1)):
        assert rounds.send_reminders() >= 1
        again = rounds.send_reminders()
        db.session.commit()
    with use_scope(Scope.system()):
        due_notices = db.session.scalar(select(func.count(Alert.id)).where(
            Alert.notice_key == f"programme-round-{round_id}-due"))
    assert again >= 1 and due_notices == len(_codes(round_id))  # idempotent per institution
    with clock.frozen(dt.date(2025, 7, 5)):
        rounds.send_reminders()
        db.session.commit()
        html = login("wjw").get(f"/programme/rounds/{round_id}").get_data(as_text=True)
    with use_scope(Scope.system()):
        late = db.session.scalar(select(func.count(Alert.id)).where(
            Alert.notice_key == f"programme-round-{round_id}-late"))
    assert late == len(_codes(round_id))
    assert "逾期" in html


def _codes(round_id: int) -> set[str]:
    with use_scope(Scope.system()):
        return set(db.session.scalars(
            select(RoundReport.org_id).where(RoundReport.round_id == round_id)))


def test_report_needs_a_closed_round_is_numbered_and_immutable(login):
    approved_items("rmyy", ("800000.00",), complete_on=dt.date(2025, 5, 20),
                   prices=("760000.00",))
    round_id = _open()
    c = login("wjw")
    r = c.post(f"/programme/rounds/{round_id}/report", follow_redirects=True)
    assert "调度尚未结束" in r.get_data(as_text=True)
    report_id = _report_id(round_id, "rmyy")
    expected = _completed_in_period("rmyy")
    r = login("rmyy").post(f"/programme/my-reports/{report_id}", {
        "investment_reported": str(expected), "problems": "检验科场地改造滞后"})
    assert r.status_code == 302
    c.post(f"/programme/rounds/{round_id}/close")
    r = c.post(f"/programme/rounds/{round_id}/report")
    assert r.status_code == 302
    wjw = scope_of("wjw")
    with use_scope(wjw):
        issued = reports.report_of_round(wjw, rounds.get_round(wjw, round_id))
        assert issued is not None and "第" in issued.number and issued.seq >= 1
        # a second report of the same round is refused
        with pytest.raises(ProgrammeError, match="已生成专报"):
            reports.issue(wjw, rounds.get_round(wjw, round_id))
        db.session.rollback()
    docx = c.get(f"/programme/reports/{issued.id}.docx")
    assert docx.status_code == 200
    document = Document(io.BytesIO(docx.data))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = [[cell.text for cell in row.cells] for t in document.tables for row in t.rows]
    assert issued.number in text and "检验科场地改造滞后" in text
    # the reported total (all submitted reports of the round) and the source table's total
    with use_scope(wjw):
        reported = db.session.scalar(select(func.sum(RoundReport.investment_reported)).where(
            RoundReport.round_id == round_id, RoundReport.state == "submitted"))
        under = [o.id for o in db.session.scalars(select(Organisation).where(
            Organisation.parent_id == wjw.org_id))]
        actual = db.session.scalar(select(func.sum(PlanItem.actual_price)).where(
            PlanItem.org_id.in_(under), PlanItem.completed_on >= dt.date(2025, 1, 1),
            PlanItem.completed_on <= dt.date(2025, 6, 30)))
    wan = decimal.Decimal(10000)
    assert f"{decimal.Decimal(reported) / wan:,.2f}" in text
    total_row = next(row for row in cells if row[0] == "合计")
    assert total_row[2] == f"{decimal.Decimal(actual) / wan:,.2f}"
    assert len(document.inline_shapes) == 1  # the chart
    pdf = c.get(f"/programme/reports/{issued.id}.pdf")
    doc = pypdfium2.PdfDocument(pdf.data)
    assert len(doc) >= 1
    page_text = doc[0].get_textpage().get_text_range()
    assert "专报" in page_text
    bitmap = doc[0].render(scale=1).to_pil()
    assert bitmap.size[0] > 100
    # issued means unchangeable
    with use_scope(wjw):
        stored = reports.get_report(wjw, issued.id)
        stored.title = "改过的标题"
        with pytest.raises(ReportImmutable):
            db.session.flush()
        db.session.rollback()
        assert reports.get_report(wjw, issued.id).title != "改过的标题"
    assert login("rmyy").get(f"/programme/reports/{issued.id}.docx").status_code == 404
    assert login("jyj").get(f"/programme/reports/{issued.id}.pdf").status_code == 404


def test_rounds_are_scoped():
    round_id = _open()
    with use_scope(scope_of("jyj")):
        assert round_id not in set(db.session.scalars(select(DispatchRound.id)))
        assert db.session.scalars(select(ProgrammeReport).where(
            ProgrammeReport.round_id == round_id)).all() == []
