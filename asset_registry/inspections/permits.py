"""Licences an institution holds for its radiation equipment (放射诊疗许可证, 辐射安全许可证)
and the configuration permits its large medical devices need: kept, checked, and
warned about before they run out. Services take the scope, flush, never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import clock
from ..assets.models import Asset, AssetStatus
from ..catalog import large_equipment
from ..catalog.models import Category
from ..extensions import db
from ..tenancy.scope import Scope, scoped_get
from .models import InstitutionPermit, PermitKind
from .services import InspectionError, _date, _text

WARN_DAYS = 90


def permits_of(scope: Scope) -> list[InstitutionPermit]:
    return list(db.session.scalars(
        select(InstitutionPermit).order_by(InstitutionPermit.expires_on, InstitutionPermit.id)))


def add_permit(scope: Scope, org_id: int, data: Mapping) -> InstitutionPermit:
    if not scope.writable or not scope.contains_org(org_id):
        raise InspectionError(None, _("您无权为该单位登记许可证。"))
    kind = str(data.get("kind") or "")
    if not PermitKind.has(kind):
        raise InspectionError("kind", _("请选择许可证类型。"))
    number = _text(data, "number", 64)
    if not number:
        raise InspectionError("number", _("请填写许可证编号。"))
    issued_on, expires_on = _date(data, "issued_on"), _date(data, "expires_on")
    if expires_on is None:
        raise InspectionError("expires_on", _("请填写有效期至。"))
    if issued_on is not None and (issued_on > clock.today() or expires_on <= issued_on):
        raise InspectionError("expires_on", _("发证日期不能晚于今天，有效期须晚于发证日期。"))
    if db.session.scalar(select(InstitutionPermit.id).where(
        InstitutionPermit.org_id == org_id, InstitutionPermit.kind == kind,
        InstitutionPermit.number == number,
    )):
        raise InspectionError("number", _("该许可证已登记。"))
    permit = InstitutionPermit(org_id=org_id, kind=kind, number=number, issued_on=issued_on,
                               expires_on=expires_on)
    db.session.add(permit)
    db.session.flush()
    return permit


def delete_permit(scope: Scope, permit_id: int) -> bool:
    permit = scoped_get(InstitutionPermit, permit_id)
    if permit is None:
        return False
    if not scope.writable:
        raise InspectionError(None, _("您无权删除许可证。"))
    db.session.delete(permit)
    db.session.flush()
    return True


def notify_expiring(today: dt.date | None = None) -> int:
    """A notice to the institution for each licence expiring within WARN_DAYS, and one
    more once it has expired (idempotent per permit and stage). System scope."""
    from ..alerts.services import notify

    today = today or clock.today()
    horizon = today + dt.timedelta(days=WARN_DAYS)
    sent = 0
    for permit in db.session.scalars(
        select(InstitutionPermit).where(InstitutionPermit.expires_on <= horizon)
    ):
        expired = permit.expires_on < today
        stage = "expired" if expired else "expiring"
        title = (_("%(kind)s %(no)s 已于 %(day)s 过期", kind=permit.kind_label, no=permit.number,
                   day=permit.expires_on) if expired else
                 _("%(kind)s %(no)s 将于 %(day)s 到期，请及时办理延续",
                   kind=permit.kind_label, no=permit.number, day=permit.expires_on))
        notify(permit.org_id, title=title, link="/inspections/permits",
               key=f"permit:{permit.id}:{permit.expires_on}:{stage}")
        sent += 1
    return sent


# --------------------------------------------------------------------------- large devices


def large_equipment_need(asset: Asset) -> dict | None:
    """What the configuration-permit rule says of one device (None: not listed)."""
    medical = bool(asset.category and asset.category.is_medical)
    found = large_equipment.listed(asset.name, asset.original_value, medical)
    if found is None:
        return None
    permit_class, kind = found
    return {"class": permit_class, "kind": kind, "permit_no": asset.permit_no,
            "missing": not asset.permit_no}


def missing_permits_by_org(scope: Scope) -> dict[int, int]:
    """Per organisation: listed large medical devices in use with no permit on record."""
    rows = db.session.execute(
        select(Asset.org_id, func.count(Asset.id))
        .join(Category, Category.id == Asset.category_id)
        .where(large_equipment.listed_clause(Asset.name, Asset.original_value,
                                             Category.is_medical),
               Asset.permit_no.is_(None), Asset.status != AssetStatus.DISPOSED.value)
        .group_by(Asset.org_id)
    ).all()
    return {org_id: int(n) for org_id, n in rows}
