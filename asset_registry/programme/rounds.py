"""Dispatch rounds (定期调度): a bureau opens a round with a due date; each of its
institutions reports once on a form the register prefills; late ones are listed and
reminded through the alert inbox; the bureau closes the round."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from .. import clock
from ..enums import Role
from ..extensions import db
from ..tenancy.models import Organisation
from ..tenancy.scope import Scope, use_scope
from . import figures
from .common import (
    ProgrammeError,
    date_of,
    institutions_under,
    lead_org,
    money,
    require_lead,
    text_of,
)
from .models import DispatchRound, ReportState, RoundReport, RoundState

# a reminder goes out this many days before the due date (and once more when late)
REMIND_DAYS = 3
REPORTER_ROLES = (Role.INSTITUTION_MANAGER, Role.CITY_ADMIN, "system")


@dataclass
class Prefill:
    """What the register says for one institution and period."""

    investment: decimal.Decimal
    devices_new: int
    devices_replaced: int
    devices_disposed: int
    special_total: int
    special_overdue: int
    special_failed: int


# --------------------------------------------------------------------------- lookups


def round_query(scope: Scope):
    """(round, owner name, reports, submitted) rows, newest first."""
    counts = (
        select(
            RoundReport.round_id,
            func.count(RoundReport.id).label("n"),
            func.sum(case((RoundReport.state == ReportState.SUBMITTED, 1), else_=0))
            .label("done"),
        )
        .group_by(RoundReport.round_id)
        .subquery()
    )
    return (
        select(DispatchRound, Organisation.name, func.coalesce(counts.c.n, 0),
               func.coalesce(counts.c.done, 0))
        .join(Organisation, Organisation.id == DispatchRound.org_id)
        .outerjoin(counts, counts.c.round_id == DispatchRound.id)
        .order_by(DispatchRound.due_on.desc(), DispatchRound.id.desc())
    )


def get_round(scope: Scope, round_id: int) -> DispatchRound | None:
    return db.session.scalars(
        select(DispatchRound).where(DispatchRound.id == round_id)
    ).one_or_none()


def round_reports(scope: Scope, round_: DispatchRound) -> list[tuple[RoundReport, str]]:
    return list(
        db.session.execute(
            select(RoundReport, Organisation.name)
            .join(Organisation, Organisation.id == RoundReport.org_id)
            .where(RoundReport.round_id == round_.id)
            .order_by(Organisation.code)
        ).all()
    )


def is_late(report: RoundReport, round_: DispatchRound, today: dt.date) -> bool:
    if report.state == ReportState.SUBMITTED:
        return report.submitted_on is not None and report.submitted_on > round_.due_on
    return today > round_.due_on


def get_report(scope: Scope, report_id: int) -> RoundReport | None:
    return db.session.scalars(
        select(RoundReport).where(RoundReport.id == report_id)
    ).one_or_none()


def rounds_of_reports(reports: list[RoundReport]) -> dict[int, DispatchRound]:
    """The rounds an institution's own reports belong to. Rounds are the bureau's rows:
    read with a deliberate opt-out, only by the ids the (scoped) reports point at."""
    ids = sorted({r.round_id for r in reports})
    if not ids:
        return {}
    return {
        r.id: r
        for r in db.session.scalars(
            select(DispatchRound)
            .where(DispatchRound.id.in_(ids))
            .execution_options(all_tenants=True)
        )
    }


def my_reports(scope: Scope) -> list[tuple[RoundReport, DispatchRound]]:
    reports = list(db.session.scalars(select(RoundReport).order_by(RoundReport.id.desc())))
    rounds = rounds_of_reports(reports)
    return [(r, rounds[r.round_id]) for r in reports if r.round_id in rounds]


# --------------------------------------------------------------------------- opening


def open_round(scope: Scope, data: Mapping, *, user_id: int | None = None,
               org_id: int | None = None) -> DispatchRound:
    require_lead(scope)
    org = lead_org(scope, org_id)
    title = text_of(data.get("title"), 200)
    if not title:
        raise ProgrammeError(_("请填写调度名称。"))
    if db.session.scalar(select(DispatchRound.id).where(
            DispatchRound.org_id == org.id, DispatchRound.title == title)) is not None:
        raise ProgrammeError(_("已有同名调度：%(t)s", t=title))
    start = date_of(data.get("period_start"), _("统计期起"))
    end = date_of(data.get("period_end"), _("统计期止"))
    due = date_of(data.get("due_on"), _("填报截止日期"))
    if end < start:
        raise ProgrammeError(_("统计期止不能早于统计期起。"))
    if due < end:
        raise ProgrammeError(_("填报截止日期不能早于统计期止。"))
    institutions = institutions_under(org.id)
    if not institutions:
        raise ProgrammeError(_("本部门下没有使用单位，无法发起调度。"))
    round_ = DispatchRound(org_id=org.id, title=title, period_start=start, period_end=end,
                           due_on=due, state=RoundState.OPEN, opened_by=user_id)
    db.session.add(round_)
    db.session.flush()
    db.session.add_all(
        RoundReport(org_id=i.id, round_id=round_.id, state=ReportState.PENDING)
        for i in institutions
    )
    db.session.flush()
    for report in db.session.scalars(
        select(RoundReport).where(RoundReport.round_id == round_.id)
    ):
        _notify(report, round_, "open",
                _("新的调度填报：%(t)s，请于 %(d)s 前填报。", t=title, d=due.isoformat()))
    return round_


def _link(report_id: int) -> str:
    if has_request_context():
        return url_for("programme.my_report", report_id=report_id)
    with current_app.test_request_context():
        return url_for("programme.my_report", report_id=report_id)


def _notify(report: RoundReport, round_: DispatchRound, kind: str, title: str) -> None:
    from ..alerts.services import notify

    notify(report.org_id, title=title, link=_link(report.id),
           key=f"programme-round-{round_.id}-{kind}", audience_role=Role.INSTITUTION_MANAGER)


# --------------------------------------------------------------------------- reporting


def prefill(scope: Scope, report: RoundReport, round_: DispatchRound,
            today: dt.date | None = None) -> Prefill:
    today = today or clock.today()
    done = figures.completed_by_org(scope, round_.period_start, round_.period_end).get(
        report.org_id, {})
    safety = figures.safety_counts(scope, [report.org_id], today)[report.org_id]
    return Prefill(
        investment=done.get("investment", decimal.Decimal("0.00")),
        devices_new=done.get("devices_new", 0),
        devices_replaced=done.get("devices_replaced", 0),
        devices_disposed=done.get("devices_disposed", 0),
        **safety,
    )


def submit_report(scope: Scope, report: RoundReport, data: Mapping, *,
                  user_id: int | None = None) -> RoundReport:
    """The institution's figures for the round. The register's figures are stored as
    computed; the investment may differ from the register only with a reason."""
    if scope.role not in REPORTER_ROLES or not scope.writable:
        raise ProgrammeError(_("只有单位资产管理员可以填报调度情况。"))
    round_ = rounds_of_reports([report]).get(report.round_id)
    if round_ is None or round_.state != RoundState.OPEN:
        raise ProgrammeError(_("本轮调度已结束，不能再填报或修改。"))
    today = clock.today()
    computed = prefill(scope, report, round_, today)
    reported = money(data.get("investment_reported"), _("本期完成投资"))
    reason = text_of(data.get("adjust_reason"), 500)
    if reported != computed.investment and not reason:
        raise ProgrammeError(
            _(
                "本期完成投资 %(r)s 元与台账完成记录合计 %(c)s 元不一致，请填写调整原因。",
                r=f"{reported:,.2f}", c=f"{computed.investment:,.2f}",
            )
        )
    report.investment_computed = computed.investment
    report.investment_reported = reported
    report.adjust_reason = reason if reported != computed.investment else None
    for key in ("devices_new", "devices_replaced", "devices_disposed", "special_total",
                "special_overdue", "special_failed"):
        setattr(report, key, getattr(computed, key))
    report.problems = text_of(data.get("problems"), 5000)
    report.needs = text_of(data.get("needs"), 5000)
    report.state = ReportState.SUBMITTED
    report.submitted_by = user_id
    report.submitted_at = clock.utcnow_naive()
    report.submitted_on = today
    db.session.flush()
    return report


def close_round(scope: Scope, round_: DispatchRound) -> None:
    require_lead(scope)
    if round_.state != RoundState.OPEN:
        raise ProgrammeError(_("本轮调度已结束。"))
    round_.state = RoundState.CLOSED
    round_.closed_at = clock.utcnow_naive()
    db.session.flush()


# --------------------------------------------------------------------------- reminders


def send_reminders(today: dt.date | None = None) -> int:
    """Remind the institutions that have not reported: once within REMIND_DAYS of the due
    date, once more when late. Idempotent (the notice key carries the round and kind);
    works from data, so a missed day is caught up. Returns the notices attempted."""
    today = today or clock.today()
    sent = 0
    with use_scope(Scope.system()):  # every bureau's rounds, like the daily alert scan
        rows = db.session.execute(
            select(RoundReport, DispatchRound)
            .join(DispatchRound, DispatchRound.id == RoundReport.round_id)
            .where(
                DispatchRound.state == RoundState.OPEN,
                RoundReport.state == ReportState.PENDING,
                DispatchRound.due_on <= today + dt.timedelta(days=REMIND_DAYS),
            )
        ).all()
        for report, round_ in rows:
            if today > round_.due_on:
                _notify(report, round_, "late",
                        _("调度填报已逾期：%(t)s（截止 %(d)s），请尽快填报。", t=round_.title,
                          d=round_.due_on.isoformat()))
            else:
                _notify(report, round_, "due",
                        _("调度填报即将截止：%(t)s，请于 %(d)s 前填报。", t=round_.title,
                          d=round_.due_on.isoformat()))
            sent += 1
        db.session.flush()
    return sent
