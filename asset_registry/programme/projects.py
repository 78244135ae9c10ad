"""The project reserve (项目储备库): approved plan items grouped into funding projects,
their asks per source and their application state up to the money reaching the unit."""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from .. import clock
from ..assets.models import FundingSource
from ..extensions import db
from ..plans.models import APPROVED_STATES, PlanItem, RenewalPlan
from ..tenancy.models import Organisation
from ..tenancy.scope import Scope
from ..tenancy.services import subtree_ids
from .common import (
    CENT,
    ZERO,
    ProgrammeError,
    date_of,
    lead_org,
    money,
    optional_money,
    require_lead,
    text_of,
)
from .models import FundingProject, ProjectFunding, ProjectItem, ProjectState, Readiness

# state → the states it may move to
TRANSITIONS = {
    ProjectState.RESERVE: {ProjectState.APPLIED},
    ProjectState.APPLIED: {ProjectState.SELECTED, ProjectState.NOT_SELECTED},
    ProjectState.SELECTED: {ProjectState.FUNDED},
    ProjectState.NOT_SELECTED: {ProjectState.RESERVE},  # back in the reserve for a later batch
    ProjectState.FUNDED: {ProjectState.DISBURSED},
    ProjectState.DISBURSED: set(),
}


@dataclass
class ProjectInput:
    name: str = ""
    applicant: str = ""
    channel: str = ""
    readiness: str = Readiness.NONE
    period_start: str = ""
    period_end: str = ""
    other_investment: str = "0"
    notes: str = ""
    item_ids: Iterable[int] = ()
    # {source: amount}; blank amounts are ignored
    asks: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- lookups


def item_totals() -> Select:
    """Equipment investment per project: the sum of its plan items' totals."""
    return (
        select(
            ProjectItem.project_id,
            func.sum(PlanItem.total).label("equipment"),
            func.count(PlanItem.id).label("n_items"),
        )
        .join(PlanItem, PlanItem.id == ProjectItem.plan_item_id)
        .group_by(ProjectItem.project_id)
    )


def get_project(scope: Scope, project_id: int) -> FundingProject | None:
    return db.session.scalars(
        select(FundingProject).where(FundingProject.id == project_id)
    ).one_or_none()


def project_items(scope: Scope, project: FundingProject) -> list[tuple]:
    """(plan item, plan title, institution name) of a project, in institution order."""
    return list(
        db.session.execute(
            select(PlanItem, RenewalPlan.title, Organisation.name)
            .join(ProjectItem, ProjectItem.plan_item_id == PlanItem.id)
            .join(RenewalPlan, RenewalPlan.id == PlanItem.plan_id)
            .join(Organisation, Organisation.id == PlanItem.org_id)
            .where(ProjectItem.project_id == project.id)
            .order_by(Organisation.code, PlanItem.id)
        ).all()
    )


def equipment_total(project: FundingProject) -> decimal.Decimal:
    value = db.session.scalar(
        select(func.coalesce(func.sum(PlanItem.total), 0))
        .join(ProjectItem, ProjectItem.plan_item_id == PlanItem.id)
        .where(ProjectItem.project_id == project.id)
    )
    return decimal.Decimal(value or 0).quantize(CENT)


def available_items(scope: Scope, project: FundingProject | None = None) -> list[tuple]:
    """Approved items of the scope's institutions not yet in any project (plus the
    project's own when editing): (plan item, plan title, institution name)."""
    taken = select(ProjectItem.plan_item_id)
    if project is not None:
        taken = taken.where(ProjectItem.project_id != project.id)
    stmt = (
        select(PlanItem, RenewalPlan.title, Organisation.name)
        .join(RenewalPlan, RenewalPlan.id == PlanItem.plan_id)
        .join(Organisation, Organisation.id == PlanItem.org_id)
        .where(
            RenewalPlan.superseded.is_(False),
            RenewalPlan.status.in_([str(s) for s in APPROVED_STATES]),
            PlanItem.id.not_in(taken),
        )
        .order_by(Organisation.code, RenewalPlan.year.desc(), PlanItem.id)
    )
    return list(db.session.execute(stmt).all())


@dataclass
class ReserveFilters:
    channel: str | None = None
    state: str | None = None
    sector: str | None = None
    q: str | None = None

    @classmethod
    def from_args(cls, args: Mapping) -> ReserveFilters:
        channel, state = args.get("channel"), args.get("state")
        return cls(
            channel=channel if FundingSource.has(channel) else None,
            state=state if ProjectState.has(state) else None,
            sector=(args.get("sector") or "").strip() or None,
            q=(args.get("q") or "").strip() or None,
        )


def _filtered(stmt, filters: ReserveFilters):
    if filters.channel:
        stmt = stmt.where(FundingProject.channel == filters.channel)
    if filters.state:
        stmt = stmt.where(FundingProject.state == filters.state)
    if filters.sector:
        stmt = stmt.where(FundingProject.sector == filters.sector)
    if filters.q:
        stmt = stmt.where(FundingProject.name.ilike(f"%{filters.q}%"))
    return stmt


def _asked_totals() -> Select:
    return (
        select(ProjectFunding.project_id, func.sum(ProjectFunding.amount).label("asked"))
        .group_by(ProjectFunding.project_id)
    )


def reserve_query(scope: Scope, filters: ReserveFilters) -> Select:
    """(project, owner name, equipment investment, items, asked) for the reserve list."""
    items = item_totals().subquery()
    asked = _asked_totals().subquery()
    stmt = (
        select(
            FundingProject,
            Organisation.name,
            func.coalesce(items.c.equipment, 0),
            func.coalesce(items.c.n_items, 0),
            func.coalesce(asked.c.asked, 0),
        )
        .join(Organisation, Organisation.id == FundingProject.org_id)
        .outerjoin(items, items.c.project_id == FundingProject.id)
        .outerjoin(asked, asked.c.project_id == FundingProject.id)
    )
    return _filtered(stmt, filters).order_by(FundingProject.id.desc())


def totals_by_channel(scope: Scope, filters: ReserveFilters) -> list[dict]:
    """Per channel: projects, equipment + other investment, asked, funded (one GROUP BY)."""
    items = item_totals().subquery()
    asked = _asked_totals().subquery()
    stmt = _filtered(
        select(
            FundingProject.channel,
            func.count(FundingProject.id),
            func.coalesce(func.sum(items.c.equipment), 0),
            func.coalesce(func.sum(FundingProject.other_investment), 0),
            func.coalesce(func.sum(asked.c.asked), 0),
            func.coalesce(func.sum(FundingProject.funded_amount), 0),
        )
        .outerjoin(items, items.c.project_id == FundingProject.id)
        .outerjoin(asked, asked.c.project_id == FundingProject.id)
        .group_by(FundingProject.channel),
        filters,
    )
    out = []
    for channel, n, equipment, other, asked_sum, funded in db.session.execute(stmt):
        out.append({
            "channel": channel,
            "label": FundingSource.label_of(channel),
            "projects": int(n),
            "equipment": decimal.Decimal(equipment or 0).quantize(CENT),
            "investment": decimal.Decimal((equipment or 0) + (other or 0)).quantize(CENT),
            "asked": decimal.Decimal(asked_sum or 0).quantize(CENT),
            "funded": decimal.Decimal(funded or 0).quantize(CENT),
        })
    order = [s.value for s in FundingSource]
    return sorted(out, key=lambda r: order.index(r["channel"]) if r["channel"] in order else 99)


def institution_items(scope: Scope) -> list[dict]:
    """An institution's approved items with their project's application state.

    The project rows belong to the bureau, outside an institution's scope: they are read
    with a deliberate opt-out, by the ids its own (scoped) links point at, and only the
    application fields are shown."""
    rows = db.session.execute(
        select(PlanItem, RenewalPlan.title, ProjectItem.project_id)
        .join(RenewalPlan, RenewalPlan.id == PlanItem.plan_id)
        .outerjoin(ProjectItem, ProjectItem.plan_item_id == PlanItem.id)
        .where(
            RenewalPlan.superseded.is_(False),
            RenewalPlan.status.in_([str(s) for s in APPROVED_STATES]),
        )
        .order_by(RenewalPlan.year.desc(), PlanItem.id)
    ).all()
    ids = sorted({pid for _i, _t, pid in rows if pid is not None})
    projects = {}
    if ids:
        projects = {
            p.id: p
            for p in db.session.scalars(
                select(FundingProject)
                .where(FundingProject.id.in_(ids))
                .execution_options(all_tenants=True)  # see the docstring
            )
        }
    return [
        {"item": item, "plan_title": title, "project": projects.get(pid)}
        for item, title, pid in rows
    ]


# --------------------------------------------------------------------------- writing


def _clean(scope: Scope, org_id: int, data: ProjectInput, project: FundingProject | None):
    name = text_of(data.name, 200)
    if not name:
        raise ProgrammeError(_("请填写项目名称。"))
    clash = select(FundingProject.id).where(
        FundingProject.org_id == org_id, FundingProject.name == name
    )
    if project is not None:
        clash = clash.where(FundingProject.id != project.id)
    if db.session.scalar(clash) is not None:
        raise ProgrammeError(_("已有同名项目：%(n)s", n=name))
    applicant = text_of(data.applicant, 200)
    if not applicant:
        raise ProgrammeError(_("请填写申报单位。"))
    if not FundingSource.has(data.channel):
        raise ProgrammeError(_("请选择申报渠道。"))
    readiness = data.readiness or Readiness.NONE
    if not Readiness.has(readiness):
        raise ProgrammeError(_("请选择有效的前期工作深度。"))
    start = date_of(data.period_start, _("建设期起"), required=False)
    end = date_of(data.period_end, _("建设期止"), required=False)
    if start and end and end < start:
        raise ProgrammeError(_("建设期止不能早于建设期起。"))
    other = money(data.other_investment or "0", _("其他投资"))
    ids = sorted({int(i) for i in data.item_ids or () if str(i).strip().isdigit()})
    if not ids:
        raise ProgrammeError(_("请至少选择一个已批准的计划项目。"))
    chosen = _eligible_items(scope, org_id, ids, project)
    items = [item for item, _sector in chosen]
    equipment = sum((i.total for i in items), ZERO)
    asks = []
    for source, amount in (data.asks or {}).items():
        if str(amount or "").strip() == "":
            continue
        if not FundingSource.has(source):
            raise ProgrammeError(_("无效的资金来源：%(s)s", s=source))
        value = money(amount, _("%(s)s申请金额", s=FundingSource(source).label))
        if value > 0:
            asks.append((source, value))
    if not asks:
        raise ProgrammeError(_("请至少填写一项申请资金。"))
    asked = sum((a for _s, a in asks), ZERO)
    if asked > equipment + other:
        raise ProgrammeError(
            _(
                "申请资金合计 %(a)s 元超过项目总投资 %(t)s 元"
                "（设备投资 %(e)s 元 + 其他投资 %(o)s 元）。",
                a=f"{asked:,.2f}", t=f"{equipment + other:,.2f}", e=f"{equipment:,.2f}",
                o=f"{other:,.2f}",
            )
        )
    sectors = {sector for _item, sector in chosen}
    return {
        "name": name, "applicant": applicant, "channel": data.channel, "readiness": readiness,
        "period_start": start, "period_end": end, "other_investment": other,
        "notes": text_of(data.notes, 5000),
        "sector": sectors.pop() if len(sectors) == 1 else None,
    }, items, asks


def _eligible_items(scope: Scope, org_id: int, ids: list[int], project) -> list[tuple]:
    """The chosen items, each approved, of an institution under the project's owner, and
    in no other project; anything else refuses the whole project. (item, sector) pairs."""
    under = subtree_ids(org_id)
    rows = db.session.execute(
        select(PlanItem, RenewalPlan.status, RenewalPlan.superseded, Organisation.sector)
        .join(RenewalPlan, RenewalPlan.id == PlanItem.plan_id)
        .join(Organisation, Organisation.id == PlanItem.org_id)
        .where(PlanItem.id.in_(ids))
    ).all()
    found = {item.id: (item, status, superseded, sector) for item, status, superseded, sector
             in rows}
    for item_id in ids:
        row = found.get(item_id)
        if row is None or row[0].org_id not in under:
            raise ProgrammeError(
                _("所选计划项目（编号 %(id)s）不属于本部门所属单位，不能编入本部门的项目。",
                  id=item_id)
            )
        item, status, superseded, _sector = row
        if superseded or status not in APPROVED_STATES:
            raise ProgrammeError(
                _("计划项目“%(n)s”尚未批准，不能编入储备项目。", n=item.equipment_name)
            )
    taken = select(ProjectItem.plan_item_id, FundingProject.name).join(
        FundingProject, FundingProject.id == ProjectItem.project_id
    ).where(ProjectItem.plan_item_id.in_(ids))
    if project is not None:
        taken = taken.where(ProjectItem.project_id != project.id)
    clash = db.session.execute(taken.execution_options(all_tenants=True)).first()
    if clash is not None:
        # another owner's project holds it (e.g. the task force's): say which, not who
        name = found[clash[0]][0].equipment_name
        raise ProgrammeError(_("计划项目“%(n)s”已编入其他储备项目。", n=name))
    return [(found[i][0], found[i][3]) for i in ids]


def create_project(
    scope: Scope, data: ProjectInput, *, user_id: int | None = None, org_id: int | None = None
) -> FundingProject:
    require_lead(scope)
    org = lead_org(scope, org_id)
    fields, items, asks = _clean(scope, org.id, data, None)
    project = FundingProject(org_id=org.id, created_by=user_id, state=ProjectState.RESERVE,
                             **fields)
    project.asks = [ProjectFunding(org_id=org.id, source=s, amount=a) for s, a in asks]
    db.session.add(project)
    db.session.flush()
    db.session.add_all(
        ProjectItem(org_id=i.org_id, project_id=project.id, plan_item_id=i.id) for i in items
    )
    db.session.flush()
    return project


def update_project(scope: Scope, project: FundingProject, data: ProjectInput) -> None:
    require_lead(scope)
    if project.state != ProjectState.RESERVE:
        raise ProgrammeError(
            _("项目处于“%(s)s”状态，不能再修改内容。", s=project.state_label)
        )
    fields, items, asks = _clean(scope, project.org_id, data, project)
    for key, value in fields.items():
        setattr(project, key, value)
    existing = {a.source: a for a in project.asks}
    wanted = dict(asks)
    for source, ask in existing.items():
        if source not in wanted:
            project.asks.remove(ask)
    for source, amount in wanted.items():
        if source in existing:
            existing[source].amount = amount
        else:
            project.asks.append(ProjectFunding(org_id=project.org_id, source=source,
                                               amount=amount))
    links = {
        link.plan_item_id: link
        for link in db.session.scalars(
            select(ProjectItem).where(ProjectItem.project_id == project.id)
        )
    }
    keep = {i.id for i in items}
    for item_id, link in links.items():
        if item_id not in keep:
            db.session.delete(link)
    db.session.add_all(
        ProjectItem(org_id=i.org_id, project_id=project.id, plan_item_id=i.id)
        for i in items if i.id not in links
    )
    db.session.flush()


def move_project(scope: Scope, project: FundingProject, to_state: str, data: Mapping) -> None:
    """One step of the application: each step records what the step is about."""
    require_lead(scope)
    if not ProjectState.has(to_state):
        raise ProgrammeError(_("无效的项目状态。"))
    to_state = ProjectState(to_state)
    if to_state not in TRANSITIONS[ProjectState(project.state)]:
        raise ProgrammeError(
            _("项目处于“%(f)s”状态，不能改为“%(t)s”。", f=project.state_label, t=to_state.label)
        )
    today = clock.today()
    if to_state == ProjectState.APPLIED:
        channel = data.get("channel") or project.channel
        if not FundingSource.has(channel):
            raise ProgrammeError(_("请选择申报渠道。"))
        batch = text_of(data.get("batch"), 100)
        if not batch:
            raise ProgrammeError(_("请填写申报批次。"))
        applied_on = date_of(data.get("applied_on"), _("申报日期"))
        _not_future(applied_on, today)
        project.channel, project.batch, project.applied_on = channel, batch, applied_on
    elif to_state in (ProjectState.SELECTED, ProjectState.NOT_SELECTED):
        decided = date_of(data.get("decided_on"), _("评审结果日期"))
        _not_future(decided, today)
        project.decided_on = decided
    elif to_state == ProjectState.FUNDED:
        amount = optional_money(data.get("funded_amount"), _("下达资金"))
        if not amount:
            raise ProgrammeError(_("请填写下达资金金额。"))
        asked = project.asked_total
        if amount > asked:
            raise ProgrammeError(
                _("下达资金 %(a)s 元超过申请资金 %(b)s 元。", a=f"{amount:,.2f}", b=f"{asked:,.2f}")
            )
        doc_no = text_of(data.get("funding_doc_no"), 100)
        if not doc_no:
            raise ProgrammeError(_("请填写资金下达文号。"))
        funded_on = date_of(data.get("funded_on"), _("下达日期"))
        _not_future(funded_on, today)
        project.funded_amount, project.funding_doc_no = amount, doc_no
        project.funded_on = funded_on
    elif to_state == ProjectState.DISBURSED:
        disbursed = date_of(data.get("disbursed_on"), _("拨付日期"))
        _not_future(disbursed, today)
        if project.funded_on and disbursed < project.funded_on:
            raise ProgrammeError(_("拨付日期不能早于资金下达日期。"))
        project.disbursed_on = disbursed
    elif to_state == ProjectState.RESERVE:
        project.batch = project.applied_on = project.decided_on = None
    project.state = to_state
    db.session.flush()


def _not_future(value, today) -> None:
    if value > today:
        raise ProgrammeError(_("日期不能晚于今天。"))


def delete_project(scope: Scope, project: FundingProject) -> None:
    require_lead(scope)
    if project.state != ProjectState.RESERVE:
        raise ProgrammeError(_("只有储备状态的项目可以删除。"))
    for link in db.session.scalars(
        select(ProjectItem).where(ProjectItem.project_id == project.id)
    ):
        db.session.delete(link)
    db.session.delete(project)
    db.session.flush()


def application_results(scope: Scope) -> list[dict]:
    """Per state: projects, asked and funded (the 专报's reserve table)."""
    asked = _asked_totals().subquery()
    rows = dict(
        (state, (n, a, f))
        for state, n, a, f in db.session.execute(
            select(
                FundingProject.state,
                func.count(FundingProject.id),
                func.coalesce(func.sum(asked.c.asked), 0),
                func.coalesce(func.sum(FundingProject.funded_amount), 0),
            )
            .outerjoin(asked, asked.c.project_id == FundingProject.id)
            .group_by(FundingProject.state)
        )
    )
    return [
        {
            "state": s.value, "label": s.label, "projects": int(rows.get(s.value, (0,))[0]),
            "asked": decimal.Decimal(rows.get(s.value, (0, 0, 0))[1] or 0).quantize(CENT),
            "funded": decimal.Decimal(rows.get(s.value, (0, 0, 0))[2] or 0).quantize(CENT),
        }
        for s in ProjectState
    ]
