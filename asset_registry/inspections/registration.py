"""Special equipment kept in use past its design life (TSG 08 and the city plan's annex):
reaching the design life entered for the asset → a passing inspection or safety
assessment → 使用登记变更 (date, new certificate) → shorter periodic cycles.

Only a design life given for the asset counts; a category's default is a planning hint
(`Asset.design_life_from_category`) and never starts these steps. Services take the scope,
flush, and never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from .. import clock
from ..assets.models import Asset
from ..catalog.models import Category
from ..extensions import db
from ..tenancy.scope import Scope
from . import rules
from .models import Obligation, ObligationKind, RegistrationChange
from .services import InspectionError, _check_writable, _date, _text, obligations_of

MIN_SHORTENED_MONTHS = 12


@dataclass
class Step:
    label: str
    done: bool
    detail: str


def _assessment(asset: Asset) -> Obligation | None:
    return db.session.scalars(
        select(Obligation).where(
            Obligation.asset_id == asset.id,
            Obligation.kind == ObligationKind.DESIGN_LIFE_ASSESSMENT.value,
            Obligation.active.is_(True),
        )
    ).first()


def latest_change(asset: Asset) -> RegistrationChange | None:
    return db.session.scalars(
        select(RegistrationChange).where(RegistrationChange.asset_id == asset.id)
        .order_by(RegistrationChange.changed_on.desc(), RegistrationChange.id.desc())
    ).first()


def steps(asset: Asset, today: dt.date | None = None) -> list[Step] | None:
    """The state of each step for special equipment with its own design life (None when
    the steps do not apply, or its design life is more than a year away)."""
    today = today or clock.today()
    duty = _assessment(asset)
    end = asset.design_life_end
    if duty is None or end is None or end > rules.add_months(today, 12):
        return None
    change = latest_change(asset)
    assessed = duty.last_done is not None and not duty.failed
    return [
        Step(_("达到设计使用年限"), end <= today,
             _("%(day)s（按本设备登记的设计使用年限）", day=end)),
        Step(_("检验或安全评估合格"), assessed,
             _("%(day)s 合格", day=duty.last_done) if assessed
             else _("评估不合格，设备停用") if duty.failed else _("尚未登记")),
        Step(_("使用登记变更"), change is not None,
             _("%(day)s，使用登记证 %(no)s", day=change.changed_on, no=change.certificate_no)
             if change else _("尚未办理")),
        Step(_("检验周期已缩短"), change is not None,
             _("定期检验周期按分类设置缩短") if change else _("办理登记变更后生效")),
    ]


def shortened(months: int | None, percent: int) -> int | None:
    """The periodic cycle after a change registration: `percent` of it, at least annual
    (never longer than it was)."""
    if not months:
        return months
    return min(months, max(MIN_SHORTENED_MONTHS, round(months * percent / 100)))


def record_change(scope: Scope, asset: Asset, data: Mapping, user_id: int | None
                  ) -> RegistrationChange:
    """Record a 使用登记变更 and shorten the asset's periodic statutory cycles. Refused
    before the design life is reached or without a passing inspection/assessment."""
    _check_writable(scope, asset)
    duty = _assessment(asset)
    today = clock.today()
    if duty is None or asset.design_life_end is None or asset.design_life_end > today:
        raise InspectionError(None, _("设备尚未达到登记的设计使用年限，无需办理使用登记变更。"))
    if duty.last_done is None or duty.failed:
        raise InspectionError(None, _("请先登记合格的检验或安全评估记录，再办理使用登记变更。"))
    changed_on = _date(data, "changed_on")
    if changed_on is None:
        raise InspectionError("changed_on", _("请填写变更登记日期。"))
    if changed_on > today or changed_on < duty.last_done:
        raise InspectionError("changed_on", _("变更登记日期应在评估日期（%(day)s）与今天之间。",
                                              day=duty.last_done))
    certificate = _text(data, "certificate_no", 64)
    if not certificate:
        raise InspectionError("certificate_no", _("请填写变更后的使用登记证编号。"))
    change = RegistrationChange(org_id=asset.org_id, asset_id=asset.id, changed_on=changed_on,
                                certificate_no=certificate, note=_text(data, "note", 500),
                                user_id=user_id)
    db.session.add(change)
    percent = db.session.scalar(
        select(Category.past_life_interval_percent).where(Category.id == asset.category_id)
    ) or 50
    for other in obligations_of(scope, asset):
        if not other.statutory or other.kind in (*rules.SELF_CHECK_KINDS, *rules.AUTO_KINDS):
            continue
        months = shortened(other.interval_months, percent)
        if months == other.interval_months:
            continue
        other.interval_months = months
        other.customised = True  # a category refresh must not lengthen it again
        if other.last_done is not None and not other.failed:
            # the current certificate's date comes from its record plus the new cycle
            sooner = rules.add_months(other.last_done, months)
            if other.next_due is None or sooner < other.next_due:
                other.next_due = sooner
    db.session.flush()
    return change
