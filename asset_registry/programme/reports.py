"""The 专报: from a closed round, the bureau's (or task force's) numbered report to the task
force's leaders, as .docx and .pdf. The figures are gathered once, stored with the files,
and never change after issue (a correction is a new report)."""

from __future__ import annotations

import datetime as dt
import decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import clock
from ..assets.models import FundingSource
from ..extensions import db
from ..tenancy.models import Organisation
from ..tenancy.scope import Scope
from . import figures, projects, rounds, tasks
from .common import ZERO, ProgrammeError, require_lead
from .models import DispatchRound, ProgrammeReport, ReportState, RoundState

TEN_THOUSAND = decimal.Decimal(10000)


def report_query(scope: Scope):
    return (
        select(ProgrammeReport, Organisation.name)
        .join(Organisation, Organisation.id == ProgrammeReport.org_id)
        .order_by(ProgrammeReport.issued_at.desc(), ProgrammeReport.id.desc())
    )


def get_report(scope: Scope, report_id: int) -> ProgrammeReport | None:
    return db.session.scalars(
        select(ProgrammeReport).where(ProgrammeReport.id == report_id)
    ).one_or_none()


def report_of_round(scope: Scope, round_: DispatchRound) -> ProgrammeReport | None:
    return db.session.scalars(
        select(ProgrammeReport).where(ProgrammeReport.round_id == round_.id)
    ).one_or_none()


def _money(value) -> str:
    return str(decimal.Decimal(value or 0).quantize(decimal.Decimal("0.01")))


def gather(scope: Scope, round_: DispatchRound, today: dt.date) -> dict:
    """Every figure of the report, JSON-ready (money as strings of yuan)."""
    year = round_.period_end.year
    owner = db.session.get(Organisation, round_.org_id)
    # task progress against each task's annual target
    task_rows = [row[0] for row in db.session.execute(tasks.task_query(scope, year))]
    progress = tasks.progress(scope, task_rows, min(today, round_.period_end))
    task_figures = [
        {
            "title": t.title, "target": str(t.target_value), "unit": t.target_unit,
            "actual": None if progress[t.id]["actual"] is None else str(progress[t.id]["actual"]),
            "share": progress[t.id]["share"], "deadline": t.deadline.isoformat()
            if t.deadline else "", "responsible": " ".join(
                x for x in (t.responsible_office, t.responsible_person) if x),
        }
        for t in task_rows
    ]
    # investment by funding source: approved, and actual (completion records) this year
    start = dt.date(year, 1, 1)
    actual = figures.actual_by_source(scope, start, round_.period_end)
    approved = figures.approved_by_source(scope)
    sources = [
        {"source": s.value, "label": str(s.label), "approved": _money(approved.get(s.value)),
         "actual": _money(actual.get(s.value))}
        for s in FundingSource
    ]
    done = figures.completed_by_org(scope, start, round_.period_end)
    actual_total = sum((v["investment"] for v in done.values()), ZERO)
    base = figures.baseline(scope)
    by_year = [
        {"year": r["year"], "requested": _money(r["requested"]),
         "approved": _money(r["approved"]), "actual": _money(r["actual"])}
        for r in figures.investment_by_year(scope)
    ]
    # the round's own reports
    institutions = []
    for report, name in rounds.round_reports(scope, round_):
        submitted = report.state == ReportState.SUBMITTED
        institutions.append({
            "name": name, "submitted": submitted,
            "late": rounds.is_late(report, round_, round_.due_on + dt.timedelta(days=1)),
            "investment": _money(report.investment_reported) if submitted else None,
            "computed": _money(report.investment_computed) if submitted else None,
            "adjust_reason": report.adjust_reason or "",
            "devices_new": report.devices_new or 0,
            "devices_replaced": report.devices_replaced or 0,
            "devices_disposed": report.devices_disposed or 0,
            "special_total": report.special_total or 0,
            "special_overdue": report.special_overdue or 0,
            "special_failed": report.special_failed or 0,
            "problems": report.problems or "", "needs": report.needs or "",
        })
    reported_total = sum(
        (decimal.Decimal(i["investment"]) for i in institutions if i["submitted"]), ZERO
    )
    reserve = [
        {"label": str(r["label"]), "projects": r["projects"], "asked": _money(r["asked"]),
         "funded": _money(r["funded"])}
        for r in projects.application_results(scope)
    ]
    lagging = [
        i["name"] for i in institutions
        if not i["submitted"] or i["late"] or i["special_overdue"] or i["special_failed"]
    ]
    return {
        "owner": owner.name, "round": round_.title, "year": year,
        "period": [round_.period_start.isoformat(), round_.period_end.isoformat()],
        "due_on": round_.due_on.isoformat(), "tasks": task_figures, "sources": sources,
        "actual_total": _money(actual_total), "reported_total": _money(reported_total),
        "baseline": _money(base["amount"]), "target": _money(base["target"]),
        "target_pct": str(base["pct"]), "baseline_set": base["set"],
        "actual_vs_baseline": float(actual_total / base["amount"]) if base["amount"] else None,
        "by_year": by_year, "institutions": institutions, "reserve": reserve,
        "lagging": lagging,
        "safety": {
            "total": sum(i["special_total"] for i in institutions),
            "overdue": sum(i["special_overdue"] for i in institutions),
            "failed": sum(i["special_failed"] for i in institutions),
        },
    }


def issue(scope: Scope, round_: DispatchRound, *, user_id: int | None = None) -> ProgrammeReport:
    """Number, render and store the 专报 of a closed round (once per round)."""
    from . import documents

    require_lead(scope)
    if round_.state != RoundState.CLOSED:
        raise ProgrammeError(_("调度尚未结束，不能生成专报；请先结束本轮调度。"))
    if report_of_round(scope, round_) is not None:
        raise ProgrammeError(_("本轮调度已生成专报，专报一经印发不再修改。"))
    today = clock.today()
    year = today.year
    seq = (db.session.scalar(
        select(func.max(ProgrammeReport.seq)).where(
            ProgrammeReport.org_id == round_.org_id, ProgrammeReport.year == year)
    ) or 0) + 1
    owner = db.session.get(Organisation, round_.org_id)
    number = _("%(org)s设备更新专报〔%(y)s〕第%(n)s期", org=owner.name, y=year, n=seq)
    title = _("关于%(t)s推进情况的专报", t=round_.title)
    data = gather(scope, round_, today)
    data.update(number=number, title=title, issued_on=today.isoformat())
    report = ProgrammeReport(
        org_id=round_.org_id, round_id=round_.id, year=year, seq=seq, number=number,
        title=title, figures=data, docx=documents.render_docx(data),
        pdf=documents.render_pdf(data), issued_by=user_id,
    )
    db.session.add(report)
    db.session.flush()
    return report
