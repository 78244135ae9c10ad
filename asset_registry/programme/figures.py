"""Figures the register computes for the loop, each one grouped SQL over the caller's scope:
completed investment (from the 以旧换新 completion records), devices renewed and
disposed, the special-equipment safety counts, the share past design life, and the
investment line against the 2023 baseline and the 2027 target."""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import and_, case, func, select

from ..assets.models import Asset, AssetStatus
from ..extensions import db
from ..plans.models import (
    APPROVED_STATES,
    REQUESTED_STATES,
    FundingLine,
    InvestmentBaseline,
    PlanItem,
    RenewalPlan,
)
from ..tenancy.scope import Scope
from .common import CENT, ZERO


def _year_of(column):
    return func.extract("year", column)


def _d(value) -> decimal.Decimal:
    return decimal.Decimal(value or 0).quantize(CENT)


def completed_by_org(scope: Scope, start: dt.date, end: dt.date) -> dict[int, dict]:
    """Per institution, completion records with `completed_on` in [start, end]: the actual
    investment, devices bought (quantity), devices replaced (items replacing an asset)."""
    in_period = and_(PlanItem.completed_on >= start, PlanItem.completed_on <= end)
    rows = db.session.execute(
        select(
            PlanItem.org_id,
            func.coalesce(func.sum(PlanItem.actual_price), 0),
            func.coalesce(func.sum(PlanItem.quantity), 0),
            func.sum(case((PlanItem.replaced_asset_id.is_not(None), 1), else_=0)),
        )
        .where(in_period)
        .group_by(PlanItem.org_id)
    ).all()
    out: dict[int, dict] = defaultdict(lambda: {"investment": ZERO, "devices_new": 0,
                                                "devices_replaced": 0, "devices_disposed": 0})
    for org_id, invest, quantity, replaced in rows:
        out[org_id].update(investment=_d(invest), devices_new=int(quantity or 0),
                           devices_replaced=int(replaced or 0))
    for org_id, disposed in db.session.execute(
        select(Asset.org_id, func.count(Asset.id))
        .where(Asset.status == AssetStatus.DISPOSED, Asset.disposed_on >= start,
               Asset.disposed_on <= end)
        .group_by(Asset.org_id)
    ):
        out[org_id]["devices_disposed"] = int(disposed or 0)
    return dict(out)


def safety_counts(scope: Scope, org_ids: Iterable[int], today: dt.date) -> dict[int, dict]:
    """Per institution: special equipment in service or stopped, overdue, failed.

    The one place the loop reads the safety state: it uses the inspections domain's
    compliance classification (ok / due_soon / overdue / failed / none) of each special
    asset; when the safety derivation module lands, only `_states` changes."""
    ids = list(org_ids)
    assets = db.session.execute(
        select(Asset.id, Asset.org_id).where(
            Asset.org_id.in_(ids), Asset.is_special.is_(True),
            Asset.status != AssetStatus.DISPOSED,
        )
    ).all()
    states = _states(scope, [a for a, _o in assets], today)
    out = {org_id: {"special_total": 0, "special_overdue": 0, "special_failed": 0}
           for org_id in ids}
    for asset_id, org_id in assets:
        counts = out[org_id]
        counts["special_total"] += 1
        state = states.get(asset_id)
        if state == "overdue":
            counts["special_overdue"] += 1
        elif state == "failed":
            counts["special_failed"] += 1
    return out


def _states(scope: Scope, asset_ids: list[int], today: dt.date) -> dict[int, str]:
    from ..inspections.services import compliance_by_asset

    return compliance_by_asset(scope, asset_ids, today) if asset_ids else {}


def past_life_share(scope: Scope, org_ids: Iterable[int], today: dt.date) -> float | None:
    """Share of the institutions' assets in use past their design life (0..1)."""
    total, past = db.session.execute(
        select(
            func.count(Asset.id),
            func.sum(case((Asset.design_life_end < today, 1), else_=0)),
        ).where(Asset.org_id.in_(list(org_ids)), Asset.status != AssetStatus.DISPOSED)
    ).one()
    return (int(past or 0) / int(total)) if total else None


def actual_by_source(scope: Scope, start: dt.date, end: dt.date) -> dict[str, decimal.Decimal]:
    """Completed investment split over the item's funding sources in proportion to its
    planned funding lines (the actual price rarely equals the plan)."""
    share = FundingLine.amount * PlanItem.actual_price / PlanItem.total
    rows = db.session.execute(
        select(FundingLine.source, func.sum(share))
        .join(PlanItem, PlanItem.id == FundingLine.item_id)
        .where(PlanItem.completed_on >= start, PlanItem.completed_on <= end,
               PlanItem.total > 0)
        .group_by(FundingLine.source)
    ).all()
    return {source: _d(amount) for source, amount in rows}


def approved_by_source(scope: Scope, year: int | None = None) -> dict[str, decimal.Decimal]:
    stmt = (
        select(FundingLine.source, func.sum(FundingLine.amount))
        .join(PlanItem, PlanItem.id == FundingLine.item_id)
        .join(RenewalPlan, RenewalPlan.id == PlanItem.plan_id)
        .where(RenewalPlan.superseded.is_(False),
               RenewalPlan.status.in_([str(s) for s in APPROVED_STATES]))
        .group_by(FundingLine.source)
    )
    if year is not None:
        stmt = stmt.where(RenewalPlan.year == year)
    return {source: _d(amount) for source, amount in db.session.execute(stmt)}


def baseline(scope: Scope) -> dict:
    """The 2023 baseline(s) in the scope, the 2027 target and the percentage used.

    Several bureaus (the task force's view) may set different percentages: the target
    is the sum of each bureau's own, the percentage shown the resulting overall one."""
    amount, target, n, pct_min, pct_max = db.session.execute(
        select(
            func.coalesce(func.sum(InvestmentBaseline.amount), 0),
            func.coalesce(func.sum(InvestmentBaseline.amount
                                   * (100 + InvestmentBaseline.target_increase_pct) / 100), 0),
            func.count(InvestmentBaseline.id),
            func.min(InvestmentBaseline.target_increase_pct),
            func.max(InvestmentBaseline.target_increase_pct),
        ).where(InvestmentBaseline.year == 2023)
    ).one()
    amount, target = _d(amount), _d(target)
    if n and pct_min == pct_max:
        pct = decimal.Decimal(pct_min)
    elif amount:
        pct = ((target - amount) * 100 / amount).quantize(decimal.Decimal("0.1"))
    else:
        pct = decimal.Decimal(25)
    return {"amount": amount, "target": target, "pct": pct, "set": bool(n)}


def investment_by_year(scope: Scope, years: Iterable[int] = range(2024, 2028)) -> list[dict]:
    """The target line's three figures per year, each labelled by where it comes from:
    requested (plans put before a bureau), approved (plans agreed), actual (completion
    records: the price paid, by the year of completion)."""
    requested = [str(s) for s in REQUESTED_STATES]
    approved = [str(s) for s in APPROVED_STATES]
    planned = {
        int(y): (r, a)
        for y, r, a in db.session.execute(
            select(
                RenewalPlan.year,
                func.sum(case((RenewalPlan.status.in_(requested), PlanItem.total), else_=0)),
                func.sum(case((RenewalPlan.status.in_(approved), PlanItem.total), else_=0)),
            )
            .join(PlanItem, PlanItem.plan_id == RenewalPlan.id)
            .where(RenewalPlan.superseded.is_(False))
            .group_by(RenewalPlan.year)
        )
    }
    actual = {
        int(y): amount
        for y, amount in db.session.execute(
            select(_year_of(PlanItem.completed_on), func.sum(PlanItem.actual_price))
            .where(PlanItem.completed_on.is_not(None))
            .group_by(_year_of(PlanItem.completed_on))
        )
    }
    base = baseline(scope)
    all_years = sorted({*years, *planned, *actual})
    out = []
    for year in all_years:
        req, app = planned.get(year, (0, 0))
        act = _d(actual.get(year))
        out.append({
            "year": year, "requested": _d(req), "approved": _d(app), "actual": act,
            "vs_baseline": (act / base["amount"]) if base["amount"] else None,
        })
    return out

