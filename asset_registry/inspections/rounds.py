"""今日巡检: an inspector's round — the duties and self-checks of the institution that
need doing now, ordered by where the devices stand, each a tap from its form."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import contains_eager

from ..assets.models import Asset, AssetStatus
from ..tenancy.scope import Scope
from . import rules
from .models import Obligation

SELF_CHECKS = rules.SELF_CHECK_KINDS


def round_query(scope: Scope, today: dt.date) -> Select:
    """Active duties of devices in use (or stopped: their checks still matter) that are
    due within their lead time, overdue, never recorded (statutory), or a self-check due
    today — including today's already done, so the round shows them ticked."""
    due = or_(
        Obligation.next_due <= today,
        rules.days_between(today, Obligation.next_due) <= Obligation.lead_days,
        and_(Obligation.statutory.is_(True), Obligation.last_done.is_(None),
             Obligation.kind.not_in(rules.AUTO_KINDS)),
        and_(Obligation.kind.in_(SELF_CHECKS), Obligation.last_done == today),
    )
    return (
        select(Obligation)
        .join(Obligation.asset)
        .options(contains_eager(Obligation.asset))
        .where(Obligation.active.is_(True), due,
               Asset.status.not_in((AssetStatus.DISPOSED.value,
                                    AssetStatus.AWAITING_DISPOSAL.value)))
        .order_by(Asset.location, Asset.asset_code, Obligation.kind.not_in(SELF_CHECKS),
                  Obligation.id)
    )


def done_today(obligation: Obligation, today: dt.date) -> bool:
    return obligation.last_done == today
