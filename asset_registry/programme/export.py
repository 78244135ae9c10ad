"""The reserve as a funding application wants it: one sheet per channel, one row per
project with its items, investment, asks per source and application state. Cells go
through the plans export's writer, which neutralises formula injection."""

from __future__ import annotations

import decimal
from collections import defaultdict

from flask_babel import gettext as _
from sqlalchemy import select

from ..assets.models import FundingSource
from ..extensions import db
from ..plans.export import workbook_bytes
from ..plans.models import PlanItem
from ..tenancy.models import Organisation
from ..tenancy.scope import Scope
from .common import ZERO
from .models import ProjectFunding, ProjectItem
from .projects import ReserveFilters, reserve_query


def _headers() -> list[str]:
    return [
        _("序号"), _("项目名称"), _("行业领域"), _("申报单位"), _("实施单位"), _("建设内容"),
        _("建设期限"), _("总投资（元）"), _("设备购置投资（元）"), _("其他投资（元）"),
        *[_("申请%(s)s（元）", s=s.label) for s in FundingSource],
        _("前期工作"), _("申报状态"), _("申报批次"), _("申报日期"), _("下达资金（元）"),
        _("下达文号"),
    ]


def reserve_xlsx(scope: Scope, filters: ReserveFilters) -> bytes:
    rows = db.session.execute(reserve_query(scope, filters)).all()
    ids = [project.id for project, *_rest in rows]
    contents: dict[int, list[str]] = defaultdict(list)
    units: dict[int, list[str]] = defaultdict(list)
    asks: dict[int, dict[str, decimal.Decimal]] = defaultdict(dict)
    if ids:
        for project_id, name, quantity, unit in db.session.execute(
            select(ProjectItem.project_id, PlanItem.equipment_name, PlanItem.quantity,
                   Organisation.name)
            .join(PlanItem, PlanItem.id == ProjectItem.plan_item_id)
            .join(Organisation, Organisation.id == PlanItem.org_id)
            .where(ProjectItem.project_id.in_(ids))
            .order_by(ProjectItem.project_id, Organisation.code, PlanItem.id)
        ):
            contents[project_id].append(f"{name}×{quantity}")
            if unit not in units[project_id]:
                units[project_id].append(unit)
        for project_id, source, amount in db.session.execute(
            select(ProjectFunding.project_id, ProjectFunding.source, ProjectFunding.amount)
            .where(ProjectFunding.project_id.in_(ids))
        ):
            asks[project_id][source] = amount
    by_channel: dict[str, list[list]] = defaultdict(list)
    for project, _owner, equipment, _n, _asked in rows:
        equipment = decimal.Decimal(equipment or 0)
        period = "—".join(
            d.isoformat() for d in (project.period_start, project.period_end) if d
        )
        sheet = by_channel[project.channel]
        sheet.append([
            len(sheet) + 1, project.name, _sector(project.sector), project.applicant,
            "、".join(units[project.id]), "；".join(contents[project.id]), period,
            equipment + project.other_investment, equipment, project.other_investment,
            *[asks[project.id].get(s.value, ZERO) for s in FundingSource],
            project.readiness_label, project.state_label, project.batch or "",
            project.applied_on, project.funded_amount, project.funding_doc_no or "",
        ])
    headers = _headers()
    sheets = []
    for source in FundingSource:
        data = by_channel.get(source.value)
        if not data:
            continue
        money_from = headers.index(_("总投资（元）"))
        money_to = money_from + 3 + len(FundingSource)
        sums = ["", _("合计")] + [""] * (money_from - 2)
        sums += [sum((decimal.Decimal(r[i] or 0) for r in data), ZERO)
                 for i in range(money_from, money_to)]
        sums += [""] * (len(headers) - len(sums))
        title = _("设备更新储备项目申报表（%(c)s）", c=source.label)
        sheets.append((str(source.label), title, headers, [*data, sums]))
    if not sheets:
        sheets.append((_("储备项目"), _("设备更新储备项目申报表"), headers, []))
    return workbook_bytes(sheets)


def _sector(value: str | None) -> str:
    from ..enums import Sector

    return Sector.label_of(value) if value else ""
