"""The lead bureaus' task lists (工作任务清单): a year's tasks with a target, measures,
deadline and who answers for it; progress is computed from the register where it can."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..tenancy.models import Organisation
from ..tenancy.scope import Scope
from ..tenancy.services import subtree_ids
from . import figures
from .common import (
    ProgrammeError,
    date_of,
    lead_org,
    money,
    require_lead,
    text_of,
    year_of,
)
from .models import FundingProject, ProgrammeTask, ProjectState, TaskMetric

TEN_THOUSAND = decimal.Decimal(10000)


def task_query(scope: Scope, year: int | None = None, org_id: int | None = None):
    """(task, bureau name) rows: a bureau sees its own list, the task force every one."""
    stmt = (
        select(ProgrammeTask, Organisation.name)
        .join(Organisation, Organisation.id == ProgrammeTask.org_id)
        .order_by(ProgrammeTask.year.desc(), Organisation.code, ProgrammeTask.id)
    )
    if year:
        stmt = stmt.where(ProgrammeTask.year == year)
    if org_id:
        stmt = stmt.where(ProgrammeTask.org_id == org_id)
    return stmt


def get_task(scope: Scope, task_id: int) -> ProgrammeTask | None:
    return db.session.scalars(
        select(ProgrammeTask).where(ProgrammeTask.id == task_id)
    ).one_or_none()


def _clean(data: Mapping, org_id: int, task: ProgrammeTask | None) -> dict:
    year = year_of(data.get("year"))
    title = text_of(data.get("title"), 200)
    if not title:
        raise ProgrammeError(_("请填写任务名称。"))
    clash = select(ProgrammeTask.id).where(
        ProgrammeTask.org_id == org_id, ProgrammeTask.year == year, ProgrammeTask.title == title
    )
    if task is not None:
        clash = clash.where(ProgrammeTask.id != task.id)
    if db.session.scalar(clash) is not None:
        raise ProgrammeError(_("本部门 %(y)s 年已有同名任务。", y=year))
    metric = data.get("metric") or TaskMetric.OTHER
    if not TaskMetric.has(metric):
        raise ProgrammeError(_("请选择有效的目标口径。"))
    metric = TaskMetric(metric)
    target = money(data.get("target_value"), _("年度目标值"), allow_zero=False)
    unit = metric.unit if metric != TaskMetric.OTHER else text_of(data.get("target_unit"), 20)
    if not unit:
        raise ProgrammeError(_("请填写目标单位。"))
    return {
        "year": year, "title": title, "metric": metric, "target_value": target,
        "target_unit": unit, "measures": text_of(data.get("measures"), 5000),
        "deadline": date_of(data.get("deadline"), _("完成时限"), required=False),
        "responsible_person": text_of(data.get("responsible_person"), 100),
        "responsible_office": text_of(data.get("responsible_office"), 100),
    }


def save_task(scope: Scope, data: Mapping, task: ProgrammeTask | None = None, *,
              org_id: int | None = None) -> ProgrammeTask:
    require_lead(scope)
    owner = task.org_id if task is not None else lead_org(scope, org_id).id
    fields = _clean(data, owner, task)
    if task is None:
        task = ProgrammeTask(org_id=owner, **fields)
        db.session.add(task)
    else:
        for key, value in fields.items():
            setattr(task, key, value)
    db.session.flush()
    return task


def delete_task(scope: Scope, task: ProgrammeTask) -> None:
    require_lead(scope)
    db.session.delete(task)
    db.session.flush()


def progress(scope: Scope, tasks: list[ProgrammeTask], today: dt.date) -> dict[int, dict]:
    """Each task's actual figure for its year (up to `today`) from the register, under its
    own bureau's institutions: {task id: {"actual": Decimal | None, "share": 0..1 | None}}."""
    out: dict[int, dict] = {}
    cache: dict[tuple, object] = {}
    for task in tasks:
        metric = task.metric
        key = (task.org_id, task.year, metric)
        if key not in cache:
            cache[key] = _actual(scope, task.org_id, task.year, metric, today)
        actual = cache[key]
        share = None
        if actual is not None and task.target_value:
            share = float(actual / task.target_value)
        out[task.id] = {"actual": actual, "share": share}
    return out


def _actual(scope: Scope, org_id: int, year: int, metric: str, today: dt.date):
    under = subtree_ids(org_id)
    start, end = dt.date(year, 1, 1), min(dt.date(year, 12, 31), today)
    if metric in (TaskMetric.DEVICES_REPLACED, TaskMetric.INVESTMENT):
        done = figures.completed_by_org(scope, start, end)
        rows = [v for k, v in done.items() if k in under]
        if metric == TaskMetric.DEVICES_REPLACED:
            return decimal.Decimal(sum(r["devices_new"] for r in rows))
        total = sum((r["investment"] for r in rows), decimal.Decimal(0))
        return (total / TEN_THOUSAND).quantize(decimal.Decimal("0.01"))
    if metric == TaskMetric.PAST_LIFE_SHARE:
        share = figures.past_life_share(scope, under, today)
        return None if share is None else decimal.Decimal(share * 100).quantize(
            decimal.Decimal("0.1"))
    if metric == TaskMetric.PROJECTS_FUNDED:
        funded = (ProjectState.FUNDED, ProjectState.DISBURSED)
        n = db.session.scalar(
            select(func.count(FundingProject.id)).where(
                FundingProject.org_id.in_(sorted(under)),
                FundingProject.state.in_([str(s) for s in funded]),
                FundingProject.funded_on >= start, FundingProject.funded_on <= end,
            )
        )
        return decimal.Decimal(n or 0)
    return None
