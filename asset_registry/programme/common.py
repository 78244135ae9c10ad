"""What every part of the programme loop shares: the error, roles, parsing, org lookups."""

from __future__ import annotations

import datetime as dt
import decimal

from flask_babel import gettext as _
from sqlalchemy import select

from ..enums import OrgKind, Role
from ..extensions import db
from ..plans.services import PlanError, parse_money
from ..tenancy.models import Organisation
from ..tenancy.scope import Scope
from ..tenancy.services import subtree_ids

CENT = decimal.Decimal("0.01")
ZERO = decimal.Decimal("0")
# Who runs the loop: a lead bureau, or the city task force over every bureau.
LEAD_ROLES = (Role.BUREAU_REVIEWER, Role.CITY_ADMIN, "system")


class ProgrammeError(ValueError):
    """Bad input or a refused action: a clear Chinese message; nothing was changed."""


def is_lead(scope: Scope) -> bool:
    return scope.role in LEAD_ROLES and scope.writable


def require_lead(scope: Scope) -> None:
    if not is_lead(scope):
        raise ProgrammeError(_("只有牵头部门或市级工作专班可以进行此操作。"))


def lead_org(scope: Scope, org_id: int | None = None) -> Organisation:
    """The bureau or city organisation acting (the scope's own, or one given by a system
    caller such as the demo seed)."""
    org_id = org_id if org_id is not None else scope.org_id
    org = db.session.get(Organisation, org_id) if org_id else None
    if org is None or org.kind not in (OrgKind.BUREAU, OrgKind.CITY):
        raise ProgrammeError(_("只有牵头部门或市级工作专班可以进行此操作。"))
    if not scope.contains_org(org.id):
        raise ProgrammeError(_("只有牵头部门或市级工作专班可以进行此操作。"))
    return org


def institutions_under(org_id: int) -> list[Organisation]:
    """The institutions below a bureau (or below the city); organisations are the tenants
    themselves, so the subtree's id set is the filter."""
    ids = sorted(subtree_ids(org_id))
    return list(
        db.session.scalars(
            select(Organisation)
            .where(Organisation.id.in_(ids), Organisation.kind == OrgKind.INSTITUTION)
            .order_by(Organisation.code)
        )
    )


def money(value, label: str, *, allow_zero: bool = True) -> decimal.Decimal:
    try:
        return parse_money(value, label, allow_zero=allow_zero)
    except PlanError as exc:
        raise ProgrammeError(str(exc)) from None


def optional_money(value, label: str) -> decimal.Decimal | None:
    if str(value if value is not None else "").strip() == "":
        return None
    return money(value, label)


def date_of(value, label: str, *, required: bool = True) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    if not text:
        if required:
            raise ProgrammeError(_("请填写%(label)s。", label=label))
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ProgrammeError(_("请填写有效的%(label)s。", label=label)) from None


def text_of(value, limit: int) -> str | None:
    text = str(value or "").strip()
    return text[:limit] or None


def year_of(value) -> int:
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        raise ProgrammeError(_("请填写有效的年度。")) from None
    if not 2020 <= year <= 2035:
        raise ProgrammeError(_("年度应在 2020 到 2035 之间。"))
    return year
