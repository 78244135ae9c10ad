"""Renewal plans: drafting, the review workflow, revisions and the 以旧换新 completion.

Services take the scope explicitly, flush and never commit. Every lookup goes through
an ORM SELECT so the central scope filter applies; a plan outside the scope simply
is not found (the views answer 404).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import selectinload

from .. import clock
from ..assets.models import Asset, AssetStatus, DisposalMethod, FundingSource
from ..db_events import on_commit
from ..enums import Role
from ..extensions import db
from ..tenancy.models import Organisation
from ..tenancy.scope import Scope
from .models import (
    APPROVED_STATES,
    EDITABLE_STATES,
    FundingLine,
    InvestmentBaseline,
    ItemDecision,
    PlanAttachment,
    PlanItem,
    PlanItemAsset,
    PlanStatus,
    RenewalPlan,
    RenewalReason,
    ReviewEvent,
)

CENT = decimal.Decimal("0.01")
MAX_MONEY = decimal.Decimal("99999999999999.99")
MAX_QUANTITY = 100_000
QUARTER_RE = re.compile(r"^(20\d\d)Q([1-4])$")
# What a completed item may do with the equipment it replaces.
COMPLETION_DISPOSALS = (
    DisposalMethod.TRADE_IN,
    DisposalMethod.RECYCLED,
    DisposalMethod.SCRAPPED,
    DisposalMethod.TRANSFERRED,
)
EDITOR_ROLES = (Role.INSTITUTION_MANAGER, Role.CITY_ADMIN, "system")
REVIEWER_ROLES = (Role.BUREAU_REVIEWER, Role.CITY_ADMIN, "system")


class PlanError(ValueError):
    """Bad input or a refused action: a clear Chinese message; nothing was changed."""


# --------------------------------------------------------------------------- parsing


def parse_money(value, label: str, *, allow_zero: bool = False) -> decimal.Decimal:
    text = str(value if value is not None else "").strip().replace(",", "").replace("，", "")
    text = text.lstrip("¥￥")
    if not text:
        raise PlanError(_("请填写%(label)s。", label=label))
    try:
        amount = decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise PlanError(_("%(label)s不是有效的金额：%(v)s", label=label, v=text)) from None
    if not amount.is_finite():
        raise PlanError(_("%(label)s不是有效的金额：%(v)s", label=label, v=text))
    if amount < 0:
        raise PlanError(_("%(label)s不能为负数。", label=label))
    if amount == 0 and not allow_zero:
        raise PlanError(_("%(label)s必须大于零。", label=label))
    if amount != amount.quantize(CENT):
        raise PlanError(_("%(label)s最多保留两位小数。", label=label))
    if amount > MAX_MONEY:
        raise PlanError(_("%(label)s过大。", label=label))
    return amount.quantize(CENT)


def _quantity(value) -> int:
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError):
        raise PlanError(_("数量应为正整数。")) from None
    if not 1 <= quantity <= MAX_QUANTITY:
        raise PlanError(_("数量应为 1 到 %(n)s 之间的整数。", n=MAX_QUANTITY))
    return quantity


def _text(value, limit: int) -> str | None:
    text = str(value or "").strip()
    return text[:limit] or None


@dataclass
class ItemInput:
    """What the item form sends, before validation."""

    equipment_name: str = ""
    specification: str = ""
    quantity: str | int = "1"
    unit_price: str | decimal.Decimal = ""
    reasons: Iterable[str] = ()
    planned_quarter: str = ""
    energy_saved_kwh: str = ""
    capacity_effect: str = ""
    replaced_asset_id: int | None = None
    # several assets may be retired by one item (以旧换新); joined with replaced_asset_id
    replaced_asset_ids: Iterable[int] = ()
    # (source, amount) pairs; fully blank rows are ignored
    funding: Iterable[tuple[str, str]] = ()


# --------------------------------------------------------------------------- roles


def can_edit(scope: Scope) -> bool:
    return scope.role in EDITOR_ROLES and scope.writable


def can_review(scope: Scope) -> bool:
    return scope.role in REVIEWER_ROLES and scope.writable


def _require_editor(scope: Scope, plan: RenewalPlan | None = None) -> None:
    if not can_edit(scope):
        raise PlanError(_("只有单位资产管理员可以编制和提交更新计划。"))
    if plan is not None and not scope.contains_org(plan.org_id):
        raise PlanError(_("计划不存在，或您无权操作。"))


def _require_reviewer(scope: Scope, plan: RenewalPlan) -> None:
    if not can_review(scope):
        raise PlanError(_("只有主管部门审核人可以审核更新计划。"))
    if not scope.contains_org(plan.org_id):
        raise PlanError(_("计划不存在，或您无权操作。"))


def _require_editable(plan: RenewalPlan) -> None:
    if plan.superseded:
        raise PlanError(_("该版本已被新版本取代，只能查看。"))
    if not plan.editable:
        raise PlanError(
            _(
                "计划处于“%(s)s”状态，已冻结，不能直接修改；如需修改请创建新版本。",
                s=plan.status_label,
            )
        )


# --------------------------------------------------------------------------- lookups


def editable_plans(scope: Scope) -> list[RenewalPlan]:
    """The current organisation's plans that still take items (drafts, returned ones)."""
    return list(
        db.session.scalars(
            select(RenewalPlan)
            .where(
                RenewalPlan.org_id == scope.org_id,
                RenewalPlan.status.in_([str(s) for s in EDITABLE_STATES]),
                RenewalPlan.superseded.is_(False),
            )
            .order_by(RenewalPlan.year.desc(), RenewalPlan.id.desc())
        )
    )


def get_plan(scope: Scope, plan_id: int) -> RenewalPlan | None:
    stmt = (
        select(RenewalPlan)
        .where(RenewalPlan.id == plan_id)
        .options(
            selectinload(RenewalPlan.items).selectinload(PlanItem.funding_lines),
            selectinload(RenewalPlan.items).selectinload(PlanItem.replaced_asset),
            selectinload(RenewalPlan.items)
            .selectinload(PlanItem.replaced_links)
            .selectinload(PlanItemAsset.asset),
            selectinload(RenewalPlan.items).selectinload(PlanItem.new_asset),
        )
    )
    return db.session.scalars(stmt).one_or_none()


def get_item(scope: Scope, plan: RenewalPlan, item_id: int) -> PlanItem | None:
    return db.session.scalars(
        select(PlanItem).where(PlanItem.id == item_id, PlanItem.plan_id == plan.id)
    ).one_or_none()


def review_events(scope: Scope, plan: RenewalPlan) -> list[tuple[ReviewEvent, str | None]]:
    """The plan's trail with each actor's display name, oldest first."""
    from ..tenancy.models import User

    rows = db.session.execute(
        select(ReviewEvent, User.display_name)
        .outerjoin(User, User.id == ReviewEvent.actor_id)
        .where(ReviewEvent.plan_id == plan.id)
        .order_by(ReviewEvent.at, ReviewEvent.id)
    ).all()
    return [(event, name) for event, name in rows]


def revisions(scope: Scope, plan: RenewalPlan) -> list[RenewalPlan]:
    """Every version of this plan (same org, year and title), newest first."""
    return list(
        db.session.scalars(
            select(RenewalPlan)
            .where(
                RenewalPlan.org_id == plan.org_id,
                RenewalPlan.year == plan.year,
                RenewalPlan.title == plan.title,
            )
            .order_by(RenewalPlan.revision.desc())
        )
    )


@dataclass
class PlanFilters:
    org_id: int | None = None
    year: int | None = None
    status: str | None = None
    q: str | None = None
    include_superseded: bool = False

    @classmethod
    def from_args(cls, args: Mapping, *, default_status: str | None = None) -> PlanFilters:
        def _int(key):
            value = args.get(key)
            return int(value) if value and str(value).isdigit() else None

        status = args.get("status", default_status)
        return cls(
            org_id=_int("org_id"),
            year=_int("year"),
            status=status if PlanStatus.has(status) else None,
            q=(args.get("q") or "").strip() or None,
        )


def _item_totals():
    return (
        select(
            PlanItem.plan_id,
            func.sum(PlanItem.total).label("amount"),
            func.count(PlanItem.id).label("n_items"),
        )
        .group_by(PlanItem.plan_id)
        .subquery()
    )


def plan_query(scope: Scope, filters: PlanFilters) -> Select:
    """Rows of (plan, organisation name, item total, item count) for lists and the queue."""
    totals = _item_totals()
    stmt = (
        select(
            RenewalPlan,
            Organisation.name,
            func.coalesce(totals.c.amount, 0),
            func.coalesce(totals.c.n_items, 0),
        )
        .join(Organisation, Organisation.id == RenewalPlan.org_id)
        .outerjoin(totals, totals.c.plan_id == RenewalPlan.id)
    )
    return _filtered(stmt, filters).order_by(
        RenewalPlan.year.desc(), RenewalPlan.submitted_at.desc(), RenewalPlan.id.desc()
    )


def _filtered(stmt, filters: PlanFilters):
    if not filters.include_superseded:
        stmt = stmt.where(RenewalPlan.superseded.is_(False))
    if filters.org_id:
        stmt = stmt.where(RenewalPlan.org_id == filters.org_id)
    if filters.year:
        stmt = stmt.where(RenewalPlan.year == filters.year)
    if filters.status:
        stmt = stmt.where(RenewalPlan.status == filters.status)
    if filters.q:
        stmt = stmt.where(RenewalPlan.title.ilike(f"%{filters.q}%"))
    return stmt


def plan_totals(scope: Scope, filters: PlanFilters) -> dict:
    """Count of plans and sum of their items under the same filters (one SQL aggregate)."""
    totals = _item_totals()
    stmt = _filtered(
        select(func.count(RenewalPlan.id), func.coalesce(func.sum(totals.c.amount), 0))
        .select_from(RenewalPlan)
        .outerjoin(totals, totals.c.plan_id == RenewalPlan.id),
        filters,
    )
    count, amount = db.session.execute(stmt).one()
    return {"plans": count, "amount": decimal.Decimal(amount or 0).quantize(CENT)}


def plan_orgs(scope: Scope, kind: str = "institution") -> list[Organisation]:
    """Organisations of a kind in the scope (institutions for the filters, bureaus for
    the baselines); organisations are the tenants themselves, so the id set filters."""
    stmt = select(Organisation).where(Organisation.kind == kind)
    if scope.org_ids is not None:
        stmt = stmt.where(Organisation.id.in_(sorted(scope.org_ids)))
    return list(db.session.scalars(stmt.order_by(Organisation.code)))


# --------------------------------------------------------------------------- drafting


def create_plan(
    scope: Scope,
    *,
    year,
    title: str,
    notes: str | None = None,
    user_id: int | None = None,
    org_id: int | None = None,
) -> RenewalPlan:
    _require_editor(scope)
    org_id = org_id if org_id is not None else scope.org_id
    org = db.session.get(Organisation, org_id) if org_id else None
    if org is None or org.kind != "institution" or not scope.contains_org(org_id):
        raise PlanError(_("更新计划只能由使用单位编制。"))
    year = _year(year)
    title = _text(title, 200)
    if not title:
        raise PlanError(_("请填写计划名称。"))
    if _title_taken(org_id, year, title):
        raise PlanError(_("本单位 %(y)s 年已有同名计划。", y=year))
    plan = RenewalPlan(
        org_id=org_id,
        year=year,
        title=title,
        notes=_text(notes, 5000),
        created_by=user_id,
        status=PlanStatus.DRAFT,
    )
    db.session.add(plan)
    db.session.flush()
    _event(plan, None, PlanStatus.DRAFT, user_id, None)
    return plan


def update_plan(scope: Scope, plan: RenewalPlan, *, year, title: str, notes: str | None) -> None:
    _require_editor(scope, plan)
    _require_editable(plan)
    year = _year(year)
    title = _text(title, 200)
    if not title:
        raise PlanError(_("请填写计划名称。"))
    if (year, title) != (plan.year, plan.title) and _title_taken(plan.org_id, year, title):
        raise PlanError(_("本单位 %(y)s 年已有同名计划。", y=year))
    plan.year, plan.title, plan.notes = year, title, _text(notes, 5000)
    db.session.flush()


def _title_taken(org_id: int, year: int, title: str) -> bool:
    return (
        db.session.scalar(
            select(func.count(RenewalPlan.id)).where(
                RenewalPlan.org_id == org_id, RenewalPlan.year == year, RenewalPlan.title == title
            )
        )
        > 0
    )


def _year(value) -> int:
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        raise PlanError(_("请填写有效的计划年度。")) from None
    if not 2020 <= year <= 2035:
        raise PlanError(_("计划年度应在 2020 到 2035 之间。"))
    return year


def _clean_item(
    scope: Scope,
    plan: RenewalPlan,
    data: ItemInput,
    *,
    assets: Mapping[int, tuple[int, str]] | None = None,
) -> dict:
    """Validate every field of an item; raises PlanError before anything is written.
    A bulk caller passes `assets` ({id: (org id, status)}, read once) instead of a
    query per item for the replaced asset."""
    name = _text(data.equipment_name, 200)
    if not name:
        raise PlanError(_("请填写拟购设备名称。"))
    quantity = _quantity(data.quantity)
    unit_price = parse_money(data.unit_price, _("单价"))
    total = (unit_price * quantity).quantize(CENT)
    if total > MAX_MONEY:
        raise PlanError(_("总投资过大。"))
    reasons = []
    for reason in data.reasons or ():
        if not RenewalReason.has(reason):
            raise PlanError(_("无效的更新理由：%(r)s", r=reason))
        if reason not in reasons:
            reasons.append(str(reason))
    quarter = (data.planned_quarter or "").strip().upper() or None
    if quarter and not QUARTER_RE.match(quarter):
        raise PlanError(_("计划完成时间应为某年某季度，如 2025Q3。"))
    energy = (str(data.energy_saved_kwh or "")).strip()
    energy_saved = parse_money(energy, _("预计年节电量"), allow_zero=True) if energy else None
    replaced_ids: list[int] = []
    for value in [data.replaced_asset_id, *(data.replaced_asset_ids or ())]:
        if value and int(value) not in replaced_ids:
            replaced_ids.append(int(value))
    if replaced_ids:
        if assets is None:
            assets = {
                row.id: (row.org_id, row.status)
                for row in db.session.execute(
                    select(Asset.id, Asset.org_id, Asset.status).where(Asset.id.in_(replaced_ids))
                )
            }
        for replaced_id in replaced_ids:
            found = assets.get(replaced_id)
            if found is None or found[0] != plan.org_id:
                raise PlanError(_("所选被替换设备不存在或不属于本单位。"))
            if found[1] == AssetStatus.DISPOSED:
                raise PlanError(_("所选被替换设备已处置。"))
    lines = _clean_funding(data.funding, total)
    return {
        "equipment_name": name,
        "specification": _text(data.specification, 500),
        "quantity": quantity,
        "unit_price": unit_price,
        "total": total,
        "reasons": reasons,
        "planned_quarter": quarter,
        "energy_saved_kwh": energy_saved,
        "capacity_effect": _text(data.capacity_effect, 500),
        "replaced_asset_id": replaced_ids[0] if replaced_ids else None,
        "_replaced": replaced_ids,
        "_lines": lines,
    }


def _clean_funding(rows: Iterable[tuple[str, str]], total: decimal.Decimal) -> list[tuple]:
    lines = []
    for source, amount in rows or ():
        source = (source or "").strip()
        amount_text = str(amount or "").strip()
        if not source and not amount_text:
            continue
        if not FundingSource.has(source):
            raise PlanError(_("请为每笔资金选择有效的资金来源。"))
        label = FundingSource(source).label
        lines.append((source, parse_money(amount_text, _("%(s)s金额", s=label))))
    if not lines:
        raise PlanError(_("请至少填写一笔资金来源。"))
    funded = sum((amount for _s, amount in lines), decimal.Decimal("0"))
    if funded != total:
        raise PlanError(
            _(
                "各资金来源合计 %(f)s 元与总投资 %(t)s 元不一致，请核对。",
                f=f"{funded:,.2f}",
                t=f"{total:,.2f}",
            )
        )
    return lines


def save_item(
    scope: Scope, plan: RenewalPlan, data: ItemInput, item: PlanItem | None = None
) -> PlanItem:
    _require_editor(scope, plan)
    _require_editable(plan)
    if item is not None:
        _require_item_open(item)
    values = _clean_item(scope, plan, data)
    lines = values.pop("_lines")
    replaced = values.pop("_replaced")
    if item is None:
        position = db.session.scalar(
            select(func.coalesce(func.max(PlanItem.position), 0)).where(PlanItem.plan_id == plan.id)
        )
        item = PlanItem(org_id=plan.org_id, plan=plan, position=position + 1)
        db.session.add(item)
    for key, value in values.items():
        setattr(item, key, value)
    item.funding_lines = [
        FundingLine(org_id=plan.org_id, source=source, amount=amount) for source, amount in lines
    ]
    _set_links(item, replaced)
    db.session.flush()
    return item


def _set_links(item: PlanItem, asset_ids: list[int]) -> None:
    """Keep the links that stay (the unique (item, asset) pair would clash with a
    delete-and-insert in one flush), drop the others, add the new ones in order."""
    keep = {link.asset_id: link for link in item.replaced_links if link.asset_id in asset_ids}
    item.replaced_links = [
        keep.get(asset_id) or PlanItemAsset(org_id=item.org_id, asset_id=asset_id)
        for asset_id in asset_ids
    ]
    for position, link in enumerate(item.replaced_links, start=1):
        link.position = position


def _require_item_open(item: PlanItem) -> None:
    if item.decision == ItemDecision.APPROVED:
        raise PlanError(
            _("项目“%(n)s”已获主管部门同意，不能再修改或删除。", n=item.equipment_name)
        )


def delete_item(scope: Scope, plan: RenewalPlan, item: PlanItem) -> None:
    _require_editor(scope, plan)
    _require_editable(plan)
    _require_item_open(item)
    plan.items.remove(item)
    db.session.flush()


# --------------------------------------------------------------------------- workflow


def _event(plan, from_status, to_status, user_id, comment) -> ReviewEvent:
    event = ReviewEvent(
        org_id=plan.org_id,
        plan_id=plan.id,
        from_status=from_status,
        to_status=to_status,
        actor_id=user_id,
        comment=comment,
        at=clock.utcnow_naive(),
    )
    db.session.add(event)
    return event


def _move(scope, plan, allowed_from, to_status, user_id, comment=None, *, notify=True):
    if plan.superseded:
        raise PlanError(_("该版本已被新版本取代，只能查看。"))
    if plan.status not in allowed_from:
        raise PlanError(
            _(
                "计划当前为“%(s)s”，不能变为“%(t)s”。",
                s=plan.status_label,
                t=PlanStatus(to_status).label,
            )
        )
    previous = plan.status
    plan.status = str(to_status)
    now = clock.utcnow_naive()
    plan.frozen = plan.status not in (PlanStatus.DRAFT, PlanStatus.RETURNED)
    if plan.frozen and plan.frozen_at is None:
        plan.frozen_at = now
    if to_status == PlanStatus.SUBMITTED:
        plan.submitted_at = now
    if to_status in (PlanStatus.APPROVED, PlanStatus.REJECTED, PlanStatus.RETURNED):
        plan.decided_at = now
    event = _event(plan, previous, to_status, user_id, comment)
    db.session.flush()
    if notify:
        _notify(plan, to_status, event)
    return event


def _notify(plan: RenewalPlan, to_status: str, event: ReviewEvent) -> None:
    """Tell the other side: the institution's decisions go up to its supervising bureau,
    the bureau's decisions come back down to the institution."""
    try:
        from ..alerts.services import notify
    except ImportError:  # the alerts domain is optional
        return
    org = db.session.get(Organisation, plan.org_id)
    label = PlanStatus(to_status).label
    if to_status in (PlanStatus.RETURNED, PlanStatus.APPROVED, PlanStatus.REJECTED):
        target, role = plan.org_id, Role.INSTITUTION_MANAGER
    else:
        if org.parent_id is None:
            return
        target, role = org.parent_id, Role.BUREAU_REVIEWER
    title = _("更新计划“%(t)s”（%(o)s）：%(s)s", t=plan.title, o=org.name, s=label)
    notify(
        target,
        title=title,
        link=f"/plans/{plan.id}",
        key=f"plan-event:{event.id}",
        audience_role=str(role),
    )


def submit(
    scope: Scope, plan: RenewalPlan, *, user_id: int | None = None, comment: str | None = None
) -> ReviewEvent:
    _require_editor(scope, plan)
    if plan.status in (PlanStatus.DRAFT, PlanStatus.RETURNED):
        if not plan.items:
            raise PlanError(_("计划中没有任何项目，不能提交。"))
        for item in plan.items:
            funded = sum((line.amount for line in item.funding_lines), decimal.Decimal("0"))
            if funded != item.total:
                raise PlanError(
                    _("项目“%(n)s”的资金来源合计与总投资不一致。", n=item.equipment_name)
                )
    event = _move(
        scope,
        plan,
        {PlanStatus.DRAFT, PlanStatus.RETURNED},
        PlanStatus.SUBMITTED,
        user_id,
        _text(comment, 2000),
    )
    # returned items go back in front of the reviewer; agreed ones stay agreed
    for item in plan.items:
        if item.decision != ItemDecision.APPROVED:
            item.decision, item.decision_comment = None, None
    plan.review_started_at = None
    db.session.flush()
    return event


def withdraw(scope: Scope, plan: RenewalPlan, *, user_id: int | None = None) -> ReviewEvent:
    """Take a submitted plan back before the bureau has opened it; it becomes editable
    again (a draft, or returned if it had been reviewed before)."""
    _require_editor(scope, plan)
    if plan.status == PlanStatus.SUBMITTED and plan.review_started_at is not None:
        raise PlanError(_("主管部门已开始审核，不能撤回；如需修改请联系审核人退回。"))
    back = PlanStatus.RETURNED if plan.reviewed_snapshot else PlanStatus.DRAFT
    return _move(
        scope, plan, {PlanStatus.SUBMITTED}, back, user_id, _("单位撤回了提交。"), notify=False
    )


def mark_review_started(scope: Scope, plan: RenewalPlan) -> None:
    """A reviewer has opened the submitted plan: from now on it cannot be withdrawn."""
    if (
        can_review(scope)
        and plan.status == PlanStatus.SUBMITTED
        and not plan.superseded
        and plan.review_started_at is None
    ):
        plan.review_started_at = clock.utcnow_naive()
        db.session.flush()


REVIEW_ACTIONS = {
    "approve": (PlanStatus.APPROVED, False),
    "return": (PlanStatus.RETURNED, True),
    "reject": (PlanStatus.REJECTED, True),
}


def review(
    scope: Scope,
    plan: RenewalPlan,
    action: str,
    *,
    comment: str | None = None,
    user_id: int | None = None,
) -> ReviewEvent:
    """A bureau's decision on a submitted plan; returning and rejecting need a reason."""
    _require_reviewer(scope, plan)
    if action not in REVIEW_ACTIONS:
        raise PlanError(_("无效的审核操作。"))
    to_status, needs_comment = REVIEW_ACTIONS[action]
    comment = _text(comment, 2000)
    if needs_comment and not comment:
        raise PlanError(_("退回或不予通过时必须填写审核意见。"))
    if plan.status == PlanStatus.SUBMITTED and to_status != PlanStatus.REJECTED:
        for item in plan.items:
            if to_status == PlanStatus.APPROVED:
                item.decision, item.decision_comment = ItemDecision.APPROVED, None
            elif item.decision != ItemDecision.APPROVED:
                item.decision, item.decision_comment = ItemDecision.RETURNED, comment
    event = _move(scope, plan, {PlanStatus.SUBMITTED}, to_status, user_id, comment)
    plan.reviewed_snapshot = snapshot(plan)
    db.session.flush()
    return event


def decide_items(
    scope: Scope,
    plan: RenewalPlan,
    decisions: Mapping[int, tuple[str, str | None]],
    *,
    comment: str | None = None,
    user_id: int | None = None,
) -> ReviewEvent:
    """Decide item by item: {item id: ("approved" | "returned", comment)}. Every item
    not yet agreed needs a decision, a returned one its reason; the plan is approved
    once every item is, otherwise it goes back to the institution."""
    _require_reviewer(scope, plan)
    if plan.status != PlanStatus.SUBMITTED or plan.superseded:
        raise PlanError(_("只有“已提交待审”的计划可以审核。"))
    cleaned: dict[int, tuple[str, str | None]] = {}
    for item in plan.items:
        decision, note = decisions.get(item.id, ("", None))
        note = _text(note, 2000)
        if not decision and item.decision == ItemDecision.APPROVED:
            continue
        if decision not in (ItemDecision.APPROVED, ItemDecision.RETURNED):
            raise PlanError(_("请对项目“%(n)s”作出同意或退回的决定。", n=item.equipment_name))
        if decision == ItemDecision.RETURNED and not note:
            raise PlanError(_("退回项目“%(n)s”时必须填写意见。", n=item.equipment_name))
        cleaned[item.id] = (decision, note)
    unknown = set(decisions) - {item.id for item in plan.items}
    if unknown:
        raise PlanError(_("审核的项目不属于该计划。"))
    for item in plan.items:
        if item.id in cleaned:
            item.decision, item.decision_comment = cleaned[item.id]
    returned = [item for item in plan.items if item.decision != ItemDecision.APPROVED]
    to_status = PlanStatus.RETURNED if returned else PlanStatus.APPROVED
    summary = _(
        "同意 %(a)s 项，退回 %(r)s 项。",
        a=len(plan.items) - len(returned),
        r=len(returned),
    )
    comment = _text(comment, 2000)
    event = _move(
        scope, plan, {PlanStatus.SUBMITTED}, to_status, user_id,
        f"{comment}\n{summary}" if comment else summary,
    )
    plan.reviewed_snapshot = snapshot(plan)
    db.session.flush()
    return event


def latest_review_comment(scope: Scope, plan: RenewalPlan) -> tuple[ReviewEvent, str | None] | None:
    """The bureau's latest decision with its comment (for the top of the plan page)."""
    decided = [
        (event, name)
        for event, name in review_events(scope, plan)
        if event.to_status in (PlanStatus.RETURNED, PlanStatus.APPROVED, PlanStatus.REJECTED)
        and event.from_status == PlanStatus.SUBMITTED
    ]
    # an older comment would mislead once a later decision was taken without one
    return decided[-1] if decided and decided[-1][0].comment else None


# --------------------------------------------------------------------------- the diff


def snapshot(plan: RenewalPlan) -> list[dict]:
    """The items as reviewed: what the next submission is compared with."""
    return [
        {
            "key": item.lineage,
            "name": item.equipment_name,
            "quantity": item.quantity,
            "unit_price": str(item.unit_price),
            "total": str(item.total),
            "assets": [a.asset_code for a in item.replaced_assets],
            "decision": item.decision,
            "comment": item.decision_comment,
        }
        for item in plan.items
    ]


@dataclass
class DiffRow:
    kind: str  # added | removed | changed | same
    name: str
    old_total: decimal.Decimal | None
    new_total: decimal.Decimal | None
    changes: list[str] = field(default_factory=list)
    old_decision: str | None = None
    old_comment: str | None = None

    @property
    def delta(self) -> decimal.Decimal:
        return (self.new_total or 0) - (self.old_total or 0)


def plan_diff(plan: RenewalPlan) -> list[DiffRow] | None:
    """This version against the one the bureau last decided on (None: never reviewed)."""
    if not plan.reviewed_snapshot:
        return None
    before = {row["key"]: row for row in plan.reviewed_snapshot}
    rows: list[DiffRow] = []
    for item in plan.items:
        old = before.pop(item.lineage, None)
        if old is None:
            rows.append(DiffRow("added", item.equipment_name, None, item.total))
            continue
        old_total = decimal.Decimal(old["total"])
        changes = []
        if old["name"] != item.equipment_name:
            changes.append(_("名称：%(a)s → %(b)s", a=old["name"], b=item.equipment_name))
        if old["quantity"] != item.quantity:
            changes.append(_("数量：%(a)s → %(b)s", a=old["quantity"], b=item.quantity))
        if decimal.Decimal(old["unit_price"]) != item.unit_price:
            changes.append(
                _("单价：%(a)s → %(b)s 元", a=money(old["unit_price"]), b=money(item.unit_price))
            )
        codes = [a.asset_code for a in item.replaced_assets]
        if old["assets"] != codes:
            changes.append(
                _("被替换设备：%(a)s → %(b)s", a="、".join(old["assets"]) or "—",
                  b="、".join(codes) or "—")
            )
        rows.append(
            DiffRow(
                "changed" if changes or old_total != item.total else "same",
                item.equipment_name, old_total, item.total, changes,
                old.get("decision"), old.get("comment"),
            )
        )
    for old in before.values():
        rows.append(
            DiffRow("removed", old["name"], decimal.Decimal(old["total"]), None, [],
                    old.get("decision"), old.get("comment"))
        )
    return rows


# --------------------------------------------------------------------------- money


WAN = decimal.Decimal("10000")


def money(value) -> str:
    """元 with thousands separators and two decimals (item lines)."""
    return f"{decimal.Decimal(value or 0):,.2f}"


def wan(value) -> str:
    """元 → 万元 with two decimals, the unit bureaus read totals in (stored in 元)."""
    amount = (decimal.Decimal(value or 0) / WAN).quantize(CENT, rounding=decimal.ROUND_HALF_UP)
    return f"{amount:,.2f}"


def start_procurement(scope: Scope, plan: RenewalPlan, *, user_id: int | None = None):
    _require_editor(scope, plan)
    return _move(scope, plan, {PlanStatus.APPROVED}, PlanStatus.IN_PROCUREMENT, user_id)


# A returned plan is revised in place and resubmitted, a submitted one withdrawn first:
# only a decided plan needs a new version.
REVISABLE = {PlanStatus.APPROVED, PlanStatus.REJECTED}


def new_revision(scope: Scope, plan: RenewalPlan, *, user_id: int | None = None) -> RenewalPlan:
    """Copy a frozen plan with its items and funding into an editable draft (revision+1);
    the earlier version stays readable and drops out of queues and totals."""
    _require_editor(scope, plan)
    if plan.superseded:
        raise PlanError(_("该版本已被新版本取代，请在最新版本上修订。"))
    if plan.status == PlanStatus.RETURNED:
        raise PlanError(_("已退回的计划请直接修改被退回的项目后重新提交，无需创建新版本。"))
    if plan.status == PlanStatus.SUBMITTED:
        raise PlanError(_("计划正在审核中；如需修改请先撤回（审核开始前）或等待审核结果。"))
    if plan.status not in REVISABLE:
        raise PlanError(_("计划处于“%(s)s”状态，不能再修订。", s=plan.status_label))
    copy = RenewalPlan(
        org_id=plan.org_id,
        year=plan.year,
        title=plan.title,
        notes=plan.notes,
        status=PlanStatus.DRAFT,
        revision=plan.revision + 1,
        parent_id=plan.id,
        created_by=user_id,
        reviewed_snapshot=plan.reviewed_snapshot or snapshot(plan),
    )
    copies = {}
    for item in plan.items:
        copies[item.id] = PlanItem(
                org_id=plan.org_id,
                origin_id=item.lineage,
                position=item.position,
                replaced_asset_id=item.replaced_asset_id,
                equipment_name=item.equipment_name,
                specification=item.specification,
                quantity=item.quantity,
                unit_price=item.unit_price,
                total=item.total,
                reasons=list(item.reasons or []),
                planned_quarter=item.planned_quarter,
                energy_saved_kwh=item.energy_saved_kwh,
                capacity_effect=item.capacity_effect,
                funding_lines=[
                    FundingLine(org_id=plan.org_id, source=line.source, amount=line.amount)
                    for line in item.funding_lines
                ],
                replaced_links=[
                    PlanItemAsset(org_id=plan.org_id, asset_id=a.id, position=n)
                    for n, a in enumerate(item.replaced_assets, start=1)
                ],
        )
        copy.items.append(copies[item.id])
    plan.superseded = True
    db.session.add(copy)
    db.session.flush()
    # the quotations travel with the plan (same stored file, a new row per version)
    for att in plan_attachments(scope, plan):
        db.session.add(
            PlanAttachment(
                org_id=plan.org_id, plan_id=copy.id,
                item_id=copies[att.item_id].id if att.item_id else None,
                filename=att.filename, content_type=att.content_type, size=att.size,
                sha256=att.sha256, stored_name=att.stored_name, uploaded_at=att.uploaded_at,
                user_id=att.user_id,
            )
        )
    _event(
        copy,
        None,
        PlanStatus.DRAFT,
        user_id,
        _("基于第 %(n)s 版（%(s)s）修订", n=plan.revision, s=plan.status_label),
    )
    db.session.flush()
    return copy


# --------------------------------------------------------------------------- completion


@dataclass
class CompletionInput:
    actual_price: str = ""
    supplier: str = ""
    completed_on: dt.date | str | None = None
    new_asset_code: str = ""
    category_id: int | None = None
    disposal_method: str = ""
    disposal_recipient: str = ""


def _date(value, label: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise PlanError(_("请填写有效的%(label)s。", label=label)) from None


def complete_item(
    scope: Scope, item: PlanItem, data: CompletionInput, *, user_id: int | None = None
) -> Asset:
    """Record the purchase, register the new asset and dispose of the old one.

    Everything is validated before the first write; the view rolls back on any error,
    so a refused completion leaves nothing behind.
    """
    from ..assets import services as assets

    plan = item.plan
    _require_editor(scope, plan)
    if plan.superseded or plan.status != PlanStatus.IN_PROCUREMENT:
        raise PlanError(_("只有“采购中”的计划可以登记完成情况。"))
    if item.completed:
        raise PlanError(_("该项目已登记完成。"))
    price = parse_money(data.actual_price, _("实际成交价"))
    supplier = _text(data.supplier, 200)
    if not supplier:
        raise PlanError(_("请填写供应商。"))
    completed_on = _date(data.completed_on, _("完成日期"))
    if completed_on > clock.today():
        raise PlanError(_("完成日期不能晚于今天。"))
    code = _text(data.new_asset_code, 64)
    if not code:
        raise PlanError(_("请填写新设备的资产编号。"))
    olds = item.replaced_assets
    old = olds[0] if olds else None
    method = (data.disposal_method or "").strip()
    if olds:
        if method not in COMPLETION_DISPOSALS:
            raise PlanError(_("请选择旧设备的处置方式。"))
        for each in olds:
            if each.status == AssetStatus.DISPOSED:
                raise PlanError(_("被替换设备 %(c)s 已处置。", c=each.asset_code))
    funding = max(item.funding_lines, key=lambda line: line.amount, default=None)
    category_id = data.category_id or (old.category_id if old else None)
    try:
        new_asset = assets.create_asset(
            scope,
            {
                "asset_code": code,
                "name": item.equipment_name,
                "model": (item.specification or "")[:200] or None,
                "category_id": category_id,
                "purchase_date": completed_on,
                "commissioned_on": completed_on,
                "original_value": price,
                "funding_source": funding.source if funding else None,
                "department": old.department if old else None,
                "location": old.location if old else None,
            },
            user_id=user_id,
            org_id=plan.org_id,
        )
        for each in olds:
            assets.change_status(
                scope,
                each,
                AssetStatus.DISPOSED,
                reason=_("以旧换新：由 %(c)s 替换（计划“%(t)s”）", c=code, t=plan.title),
                user_id=user_id,
                disposed_on=completed_on,
                disposal_method=method,
                disposal_recipient=_text(data.disposal_recipient, 200),
            )
    except assets.AssetError as exc:
        raise PlanError(exc.message) from exc
    item.actual_price = price
    item.supplier = supplier
    item.completed_on = completed_on
    item.new_asset_id = new_asset.id
    item.old_disposal_method = method if old is not None else None
    item.old_disposal_recipient = _text(data.disposal_recipient, 200) if old else None
    db.session.flush()
    if all(i.completed for i in plan.items):
        _move(
            scope,
            plan,
            {PlanStatus.IN_PROCUREMENT},
            PlanStatus.COMPLETED,
            user_id,
            _("全部项目已完成采购。"),
        )
    return new_asset


def asset_chain(scope: Scope, asset: Asset) -> dict:
    """The 以旧换新 chain of one asset: the item that replaced it, the item that bought it."""
    linked = select(PlanItemAsset.item_id).where(PlanItemAsset.asset_id == asset.id)
    replaced_by = db.session.execute(
        select(PlanItem, RenewalPlan, Asset)
        .join(RenewalPlan, RenewalPlan.id == PlanItem.plan_id)
        .outerjoin(Asset, Asset.id == PlanItem.new_asset_id)
        .where(
            or_(PlanItem.replaced_asset_id == asset.id, PlanItem.id.in_(linked)),
            RenewalPlan.superseded.is_(False),
        )
        .order_by(PlanItem.id.desc())
    ).first()
    replaces = db.session.execute(
        select(PlanItem, RenewalPlan, Asset)
        .join(RenewalPlan, RenewalPlan.id == PlanItem.plan_id)
        .outerjoin(Asset, Asset.id == PlanItem.replaced_asset_id)
        .where(PlanItem.new_asset_id == asset.id)
    ).first()
    return {"replaced_by": replaced_by, "replaces": replaces}


# --------------------------------------------------------------------------- candidates


@dataclass
class Candidate:
    asset: Asset
    score: float | None
    reasons: list[str]
    age_years: int | None
    inspections: int
    last_inspected: dt.date | None
    failed: bool
    faults: int


def replacement_candidates(scope: Scope, plan: RenewalPlan, limit: int = 50) -> list[Candidate]:
    """Assets of the plan's institution worth replacing, with age, inspections and faults.

    The inspections domain ranks them when it offers `renewal_candidates`; otherwise the
    oldest assets past their design life come first.
    """
    today = clock.today()
    ranked: list[tuple[Asset, float | None, list[str]]] = []
    try:
        from ..inspections.services import renewal_candidates
    except ImportError:
        renewal_candidates = None
    if renewal_candidates is not None:
        for row in renewal_candidates(scope, today, limit=limit):
            asset = getattr(row, "asset", None) or row["asset"]
            if asset.org_id == plan.org_id:
                score = (
                    getattr(row, "score", None) if not isinstance(row, dict) else row.get("score")
                )
                reasons = (
                    row.get("reasons") if isinstance(row, dict) else getattr(row, "reasons", [])
                ) or []
                ranked.append((asset, score, [str(r) for r in reasons]))
    if not ranked:
        stmt = (
            select(Asset)
            .where(
                Asset.org_id == plan.org_id,
                Asset.status != AssetStatus.DISPOSED,
                Asset.design_life_end < today,
            )
            .order_by(Asset.design_life_end)
            .limit(limit)
        )
        ranked = [
            (a, None, [str(RenewalReason.PAST_DESIGN_LIFE.label)]) for a in db.session.scalars(stmt)
        ]
    return _with_facts([r for r in ranked if r[0].status != AssetStatus.DISPOSED], today)


def candidate_for(scope: Scope, asset_id: int) -> Candidate | None:
    asset = db.session.scalars(select(Asset).where(Asset.id == asset_id)).one_or_none()
    if asset is None:
        return None
    return _with_facts([(asset, None, [])], clock.today())[0]


def _with_facts(ranked, today: dt.date) -> list[Candidate]:
    from ..inspections.models import Fault, InspectionRecord, Obligation

    ids = [asset.id for asset, _s, _r in ranked]
    if not ids:
        return []
    inspections = {
        row[0]: row[1:]
        for row in db.session.execute(
            select(
                InspectionRecord.asset_id,
                func.count(InspectionRecord.id),
                func.max(InspectionRecord.inspected_on),
            )
            .where(InspectionRecord.asset_id.in_(ids))
            .group_by(InspectionRecord.asset_id)
        )
    }
    failed = set(
        db.session.scalars(
            select(Obligation.asset_id)
            .where(Obligation.asset_id.in_(ids), Obligation.failed.is_(True))
            .distinct()
        )
    )
    faults = dict(
        db.session.execute(
            select(Fault.asset_id, func.count(Fault.id))
            .where(Fault.asset_id.in_(ids))
            .group_by(Fault.asset_id)
        ).all()
    )
    out = []
    for asset, score, reasons in ranked:
        start = asset.commissioned_on or asset.purchase_date
        age = None
        if start is not None:
            age = today.year - start.year - ((today.month, today.day) < (start.month, start.day))
        count, last = inspections.get(asset.id, (0, None))
        out.append(
            Candidate(
                asset, score, reasons, age, count, last, asset.id in failed, faults.get(asset.id, 0)
            )
        )
    return out


# --------------------------------------------------------------------------- baselines


def baselines(scope: Scope) -> list[tuple[InvestmentBaseline, str]]:
    return [
        (b, name)
        for b, name in db.session.execute(
            select(InvestmentBaseline, Organisation.name)
            .join(Organisation, Organisation.id == InvestmentBaseline.org_id)
            .order_by(Organisation.code)
        )
    ]


def set_baseline(
    scope: Scope, org_id: int, amount, *, target_increase_pct=25
) -> InvestmentBaseline:
    """Edit a bureau's 2023 equipment investment (the figure the 2027 target grows from)."""
    if scope.role not in (Role.BUREAU_REVIEWER, Role.CITY_ADMIN, "system") or not scope.writable:
        raise PlanError(_("只有主管部门或市级管理员可以维护基准数据。"))
    if not scope.contains_org(org_id):
        raise PlanError(_("计划不存在，或您无权操作。"))
    org = db.session.get(Organisation, org_id)
    if org is None or org.kind != "bureau":
        raise PlanError(_("基准数据只能按主管部门维护。"))
    value = parse_money(amount, _("2023 年设备投资基数"), allow_zero=True)
    try:
        pct = int(str(target_increase_pct).strip())
    except ValueError:
        raise PlanError(_("目标增幅应为整数百分比。")) from None
    if not 0 <= pct <= 1000:
        raise PlanError(_("目标增幅应为整数百分比。"))
    row = db.session.scalars(
        select(InvestmentBaseline).where(
            InvestmentBaseline.org_id == org_id, InvestmentBaseline.year == 2023
        )
    ).one_or_none()
    if row is None:
        row = InvestmentBaseline(org_id=org_id, year=2023, target_year=2027)
        db.session.add(row)
    row.amount, row.target_increase_pct = value, pct
    db.session.flush()
    return row


# --------------------------------------------------------------------------- export


def approved_items_query(scope: Scope, filters: PlanFilters) -> Select:
    """One row per approved item with one summed column per funding source (SQL pivot)."""
    per_source = [
        func.coalesce(
            func.sum(case((FundingLine.source == source.value, FundingLine.amount), else_=0)), 0
        ).label(source.value)
        for source in FundingSource
    ]
    stmt = (
        select(
            Organisation.name.label("org_name"),
            RenewalPlan.title,
            PlanItem.equipment_name,
            PlanItem.quantity,
            PlanItem.total,
            *per_source,
            PlanItem.planned_quarter,
            RenewalPlan.status,
            PlanItem.completed_on,
        )
        .select_from(PlanItem)
        .join(RenewalPlan, RenewalPlan.id == PlanItem.plan_id)
        .join(Organisation, Organisation.id == PlanItem.org_id)
        .outerjoin(FundingLine, FundingLine.item_id == PlanItem.id)
        .where(RenewalPlan.status.in_([str(s) for s in APPROVED_STATES]))
        .group_by(
            PlanItem.id,
            Organisation.name,
            Organisation.code,
            RenewalPlan.title,
            RenewalPlan.id,
            RenewalPlan.status,
        )
        .order_by(Organisation.code, RenewalPlan.id, PlanItem.position)
    )
    return _filtered(stmt, PlanFilters(org_id=filters.org_id, year=filters.year))


# --------------------------------------------------------------------------- attachments


def _upload_dir() -> Path:
    from ..assets.services import _upload_dir as uploads

    return uploads()


def add_plan_attachment(
    scope: Scope,
    plan: RenewalPlan,
    source,
    filename: str,
    *,
    item: PlanItem | None = None,
    user_id: int | None = None,
) -> PlanAttachment:
    """Attach a quotation (询价单) or photo to a plan or one of its items while the plan
    is still being drafted or revised; the file is removed again if the row fails."""
    _require_editor(scope, plan)
    _require_editable(plan)
    if item is not None and item.plan_id != plan.id:
        raise PlanError(_("项目不属于该计划。"))
    from ..assets import services as assets

    try:
        data, filename, content_type, ext = assets.checked_upload(source, filename)
    except assets.AssetError as exc:
        raise PlanError(exc.message) from None
    stored_name = f"{plan.org_id}/plans/{secrets.token_hex(16)}{ext}"
    return assets.store_upload(data, stored_name, lambda size, sha256: PlanAttachment(
        org_id=plan.org_id, plan_id=plan.id, item_id=item.id if item else None,
        filename=filename, content_type=content_type, size=size, sha256=sha256,
        stored_name=stored_name, user_id=user_id,
    ))


def plan_attachments(scope: Scope, plan: RenewalPlan) -> list[PlanAttachment]:
    return list(
        db.session.scalars(
            select(PlanAttachment)
            .where(PlanAttachment.plan_id == plan.id)
            .order_by(PlanAttachment.item_id.is_not(None), PlanAttachment.id)
        )
    )


def get_plan_attachment(scope: Scope, plan: RenewalPlan, attachment_id: int):
    return db.session.scalars(
        select(PlanAttachment).where(
            PlanAttachment.id == attachment_id, PlanAttachment.plan_id == plan.id
        )
    ).one_or_none()


def attachment_path(attachment: PlanAttachment) -> Path | None:
    root = _upload_dir().resolve()
    path = (root / attachment.stored_name).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


def delete_plan_attachment(scope: Scope, plan: RenewalPlan, attachment: PlanAttachment) -> None:
    """Remove an attachment from an editable plan; the file goes after the commit unless
    an earlier version still lists it."""
    _require_editor(scope, plan)
    _require_editable(plan)
    stored_name = attachment.stored_name
    db.session.delete(attachment)
    db.session.flush()
    shared = db.session.scalar(
        select(func.count(PlanAttachment.id)).where(PlanAttachment.stored_name == stored_name)
    )
    if not shared:
        on_commit(db.session, lambda: (_upload_dir() / stored_name).unlink(missing_ok=True))


# --------------------------------------------------------------------------- picker


PICKER_PAGE = 20


def search_assets(scope: Scope, plan: RenewalPlan, q: str | None, page: int = 1) -> dict:
    """The plan institution's assets in service whose code, name or 设备代码 contain `q`,
    a page at a time (the replaced-asset picker)."""
    stmt = select(Asset).where(Asset.org_id == plan.org_id, Asset.status != AssetStatus.DISPOSED)
    q = (q or "").strip()[:100]
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            or_(
                Asset.asset_code.ilike(like),
                Asset.name.ilike(like),
                Asset.registration_no.ilike(like),
            )
        )
    page = max(1, min(int(page or 1), 10_000))
    rows = list(
        db.session.scalars(
            stmt.order_by(Asset.asset_code).offset((page - 1) * PICKER_PAGE).limit(PICKER_PAGE + 1)
        )
    )
    return {"items": rows[:PICKER_PAGE], "page": page, "has_more": len(rows) > PICKER_PAGE}


def assets_by_id(scope: Scope, ids: Iterable[int]) -> list[Asset]:
    ids = [int(i) for i in ids if i]
    if not ids:
        return []
    found = {a.id: a for a in db.session.scalars(select(Asset).where(Asset.id.in_(ids)))}
    return [found[i] for i in ids if i in found]
