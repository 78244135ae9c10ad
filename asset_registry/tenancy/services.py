"""Tenancy services: scopes, sign-in, organisations, users. They flush, never commit."""

from __future__ import annotations

import datetime as dt
import math
import secrets

from flask_babel import gettext as _
from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import aliased
from werkzeug.security import check_password_hash, generate_password_hash

from .. import clock
from ..audit.hooks import _row as _audit_changes
from ..audit.hooks import audit_rows
from ..enums import OrgKind, Role
from ..extensions import db
from .models import LoginAttempt, Membership, Organisation, User
from .scope import Scope
from .uscc import is_valid_uscc


class TenancyError(ValueError):
    """A clear, translatable message for bad input."""


def subtree_ids(root_id: int) -> frozenset[int]:
    """The organisation and everything below it (a recursive CTE)."""
    tree = select(Organisation.id).where(Organisation.id == root_id).cte(recursive=True)
    child = aliased(Organisation)
    tree = tree.union_all(select(child.id).where(child.parent_id == tree.c.id))
    return frozenset(db.session.scalars(select(tree.c.id)))


def root_org() -> Organisation | None:
    return db.session.scalars(
        select(Organisation).where(Organisation.parent_id.is_(None)).order_by(Organisation.id)
    ).first()


def scope_for(membership: Membership) -> Scope:
    """ONE place that turns a membership into what it may see."""
    org = db.session.get(Organisation, membership.org_id)
    role = membership.role
    base = dict(user_id=membership.user_id, membership_id=membership.id, org_id=org.id, role=role)
    if role == Role.CITY_ADMIN and org.parent_id is None:
        return Scope(org_ids=None, **base)
    if role == Role.REGULATOR:
        # The market regulator sits beside the bureaus and watches the special
        # equipment of every institution under its parent (the city).
        watched = subtree_ids(org.parent_id) if org.parent_id else subtree_ids(org.id)
        return Scope(org_ids=watched, special_only=True, **base)
    return Scope(org_ids=subtree_ids(org.id), **base)


def memberships_of(user: User) -> list[Membership]:
    stmt = (
        select(Membership)
        .where(Membership.user_id == user.id)
        .order_by(Membership.id)
        .execution_options(all_tenants=True)  # a user's own memberships, before any scope
    )
    return list(db.session.scalars(stmt))


def active_membership(user: User) -> Membership | None:
    memberships = memberships_of(user)
    for m in memberships:
        if m.id == user.active_membership_id:
            return m
    return memberships[0] if memberships else None


def switch_membership(user: User, membership_id: int) -> Membership:
    for m in memberships_of(user):
        if m.id == membership_id:
            user.active_membership_id = m.id
            db.session.flush()
            return m
    raise TenancyError(_("您没有该身份，无法切换。"))


# --- sign-in -----------------------------------------------------------------


class SignInRefused(TenancyError):
    pass


def _failures_since(column, value: str, since: dt.datetime):
    return db.session.execute(
        select(func.count(), func.min(LoginAttempt.at)).where(
            LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since, column == value
        )
    ).one()


_UNKNOWN_USER_HASH: list[str] = []


def _unknown_user_hash() -> str:
    """A hash made like real ones, checked for unknown users so that an unknown name
    costs the same work (and time) as a wrong password."""
    if not _UNKNOWN_USER_HASH:
        _UNKNOWN_USER_HASH.append(generate_password_hash(secrets.token_urlsafe(16)))
    return _UNKNOWN_USER_HASH[0]


def authenticate(
    username: str,
    password: str,
    address: str,
    *,
    max_failures: int = 5,
    window_minutes: int = 15,
    max_failures_per_address: int = 50,
) -> User:
    """Check a password, throttling after `max_failures` failures in the window for
    the account and, much more loosely (many people may share one address behind
    a proxy or NAT), after `max_failures_per_address` for the address.
    Raises SignInRefused with a clear message."""
    username = (username or "").strip()[:64]
    now = clock.utcnow_naive()
    window = dt.timedelta(minutes=window_minutes)
    for column, value, limit in (
        (LoginAttempt.username, username, max_failures),
        (LoginAttempt.address, address, max_failures_per_address),
    ):
        count, oldest = _failures_since(column, value, now - window)
        if count >= limit:
            wait = max(1, math.ceil(((oldest + window) - now).total_seconds() / 60))
            raise SignInRefused(_("登录失败次数过多，请 %(n)s 分钟后再试。", n=wait))
    user = db.session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        check_password_hash(_unknown_user_hash(), password or "")
        ok = False
    else:
        # checked even for a deactivated account: same work, same answer
        ok = user.check_password(password or "") and user.is_active
    db.session.add(LoginAttempt(username=username, address=address[:64], succeeded=ok, at=now))
    db.session.flush()
    if not ok:
        raise SignInRefused(_("用户名或密码错误。"))
    return user


def end_sessions(user: User) -> None:
    """End every session and API token of `user` (sign-out, password change,
    deactivation): they all carry the version this raises."""
    user.session_version = (user.session_version or 1) + 1
    db.session.flush()


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current or ""):
        raise TenancyError(_("当前密码不正确。"))
    if len(new or "") < 8:
        raise TenancyError(_("新密码至少 8 位。"))
    user.set_password(new)
    end_sessions(user)


# --- organisations and users ---------------------------------------------------


def visible_organisations(scope: Scope) -> list[Organisation]:
    """Organisations are the tenants themselves, so the scope's id set filters them."""
    stmt = select(Organisation).order_by(Organisation.parent_id.is_not(None), Organisation.code)
    if scope.org_ids is not None:
        stmt = stmt.where(Organisation.id.in_(sorted(scope.org_ids)))
    return list(db.session.scalars(stmt))


def get_visible_org(scope: Scope, org_id: int) -> Organisation | None:
    if not scope.contains_org(org_id):
        return None
    return db.session.get(Organisation, org_id)


def org_by_code(code: str) -> Organisation | None:
    return db.session.scalars(select(Organisation).where(Organisation.code == code)).one_or_none()


def save_organisation(
    scope: Scope,
    *,
    code: str,
    name: str,
    kind: str,
    parent_id: int | None,
    sector: str | None = None,
    county: str | None = None,
    uscc: str | None = None,
    org: Organisation | None = None,
) -> Organisation:
    if scope.role not in (Role.CITY_ADMIN, "system"):
        raise TenancyError(_("只有市级管理员可以管理单位。"))
    uscc = (uscc or "").strip().upper() or None
    if uscc and not is_valid_uscc(uscc):
        raise TenancyError(_("统一社会信用代码格式或校验位不正确。"))
    code = (code or "").strip()
    clash = org_by_code(code)
    if clash is not None and clash is not org:
        raise TenancyError(_("单位编码 %(code)s 已存在。", code=code))
    if kind not in set(OrgKind):
        raise TenancyError(_("请选择单位类型。"))
    if kind != OrgKind.CITY and parent_id is None:
        raise TenancyError(_("请选择上级单位。"))
    if parent_id is not None:
        if get_visible_org(scope, parent_id) is None:
            raise TenancyError(_("上级单位不存在。"))
        if org is not None and org.id is not None and parent_id in subtree_ids(org.id):
            # a node under itself: the tree walk of every request there would never end
            raise TenancyError(_("上级单位不能是本单位或其下属单位。"))
    if org is not None and org.kind != kind:
        misfit = _memberships_not_fitting(org.id, kind)
        if misfit:
            raise TenancyError(
                _("该单位已有不适合新类型的角色（%(roles)s），请先调整人员。", roles=misfit)
            )
    action = "update" if org is not None else "create"
    if org is None:
        org = Organisation()
        db.session.add(org)
    org.code, org.name, org.kind, org.parent_id = code, name.strip(), kind, parent_id
    org.sector, org.county, org.uscc = sector or None, county or None, uscc
    audit_admin_change(org, action, lambda: org.id)
    return org


# what kind of organisation each role belongs to (a reviewer at a bureau, a manager at
# an institution…): a role elsewhere would give a scope that makes no sense
ROLE_ORG_KINDS = {
    Role.CITY_ADMIN: {OrgKind.CITY},
    Role.BUREAU_REVIEWER: {OrgKind.BUREAU, OrgKind.CITY},
    Role.REGULATOR: {OrgKind.REGULATOR},
    Role.INSTITUTION_MANAGER: {OrgKind.INSTITUTION},
    Role.INSTITUTION_STAFF: {OrgKind.INSTITUTION},
}


def role_fits(role: str, kind: str) -> bool:
    return kind in ROLE_ORG_KINDS.get(role, set())


def _memberships_not_fitting(org_id: int, kind: str) -> str:
    roles = db.session.scalars(
        select(Membership.role).where(Membership.org_id == org_id).distinct()
    )
    return _("、").join(Role(r).label for r in roles if not role_fits(r, kind))


def audit_admin_change(obj, action: str, org_id_of) -> None:
    """Organisations and users are not tenant rows, so the automatic audit hook does not
    see them: record the change here, in the same audit log. `org_id_of()` names the
    organisation the row belongs to once flushed."""
    audit_admin_changes([obj], action, lambda _obj: org_id_of())


def audit_admin_changes(objs, action: str, org_id_of) -> None:
    """The same for several rows changed together (e.g. category defaults): their
    changes are read before the one flush that resets them. `org_id_of(obj)`."""
    pending = [(obj, _audit_changes(obj, action)) for obj in objs]
    db.session.flush()
    rows = [
        {
            "org_id": org_id_of(obj),
            "entity": type(obj).__tablename__,
            "entity_id": obj.id,
            "action": action,
            "changes": changes,
        }
        for obj, changes in pending
        if changes is not None
    ]
    if rows:
        audit_rows(db.session(), rows)


MANAGEABLE_ROLES = {
    Role.CITY_ADMIN: set(Role),
    Role.INSTITUTION_MANAGER: {Role.INSTITUTION_MANAGER, Role.INSTITUTION_STAFF},
}


def can_manage_users(scope: Scope) -> bool:
    return scope.role in (Role.CITY_ADMIN, Role.INSTITUTION_MANAGER, "system")


def users_in_scope(scope: Scope, q: str | None = None):
    """Users holding a membership the scope can see (the listener filters Membership)."""
    stmt = (
        select(User)
        .where(User.id.in_(select(Membership.user_id).scalar_subquery()))
        .order_by(User.username)
    )
    if scope.org_ids is None:
        stmt = select(User).order_by(User.username)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(User.username.ilike(like), User.display_name.ilike(like)))
    return stmt


def create_user(
    scope: Scope,
    *,
    username: str,
    display_name: str,
    password: str,
    org_id: int,
    role: str,
    email: str | None = None,
) -> User:
    allowed = MANAGEABLE_ROLES.get(scope.role, set(Role) if scope.role == "system" else set())
    if role not in allowed or not scope.contains_org(org_id):
        raise TenancyError(_("您无权在该单位授予此角色。"))
    username = (username or "").strip()
    if not username:
        raise TenancyError(_("请填写用户名。"))
    if db.session.scalars(select(User).where(User.username == username)).first():
        raise TenancyError(_("用户名 %(u)s 已被使用。", u=username))
    if len(password or "") < 8:
        raise TenancyError(_("密码至少 8 位。"))
    org = db.session.get(Organisation, org_id)
    if org is None or not role_fits(role, org.kind):
        raise TenancyError(_("该角色不适合所选单位的类型。"))
    user = User(username=username, display_name=display_name or username, email=email or None)
    user.set_password(password)
    db.session.add(user)
    audit_admin_change(user, "create", lambda: org_id)
    grant(scope, user, org_id, role)
    return user


def grant(scope: Scope, user: User, org_id: int, role: str) -> Membership:
    org = db.session.get(Organisation, org_id)
    if org is None or not role_fits(role, org.kind):
        raise TenancyError(
            _("“%(role)s”不能授予%(kind)s。", role=Role(role).label, kind=org.kind_label)
            if org is not None
            else _("单位不存在。")
        )
    m = Membership(user_id=user.id, org_id=org_id, role=role)
    db.session.add(m)
    db.session.flush()
    if user.active_membership_id is None:
        user.active_membership_id = m.id
        db.session.flush()
    return m


def set_user_active(scope: Scope, user: User, active: bool) -> None:
    user.is_active = active
    if not active:
        user.session_version = (user.session_version or 1) + 1
    audit_admin_change(user, "update", lambda: _home_org_id(user))


def _home_org_id(user: User) -> int | None:
    """The organisation a user's audit rows are filed under: their first membership
    the scope sees (so the managers who can see the user can see the change)."""
    return db.session.scalars(
        select(Membership.org_id).where(Membership.user_id == user.id).order_by(Membership.id)
    ).first()


def is_user_in_scope(scope: Scope, user_id: int) -> bool:
    if scope.org_ids is None:
        return True
    return (
        db.session.scalar(select(literal(1)).where(Membership.user_id == user_id).limit(1))
        is not None
    )
