"""Helpers for tests: `from tests.helpers import browser_login, scope_of`."""

from __future__ import annotations

from sqlalchemy import select

from asset_registry.extensions import db
from asset_registry.tenancy.models import Membership, User
from asset_registry.tenancy.scope import Scope, use_scope
from asset_registry.tenancy.seed import DEMO_PASSWORD


def scope_of(username: str) -> Scope:
    from asset_registry.tenancy.services import active_membership, scope_for

    with use_scope(Scope.system()):
        user = db.session.scalars(select(User).where(User.username == username)).one()
        membership = active_membership(user)
        return scope_for(membership)


def membership_id(username: str) -> int:
    with use_scope(Scope.system()):
        user = db.session.scalars(select(User).where(User.username == username)).one()
        return db.session.scalars(
            select(Membership.id).where(Membership.user_id == user.id)
        ).first()


def browser_login(pg, username: str, password: str = DEMO_PASSWORD) -> None:
    pg.goto("/login")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", password)
    pg.click("button[type=submit]")
    pg.wait_for_url(lambda url: "/login" not in url)
