"""The Scope: what the active membership may see, enforced in one place.

Every model that mixes in `TenantOwned` is filtered by a `do_orm_execute`
listener (`with_loader_criteria`) and checked on writes in `before_flush`.
A query without a scope raises `ScopeMissing` instead of returning everything;
code that really needs every tenant (the public scan page's token lookup,
sign-in, scheduled jobs) says so with `Scope.system()` or the
`all_tenants=True` execution option.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from flask import abort
from sqlalchemy import ForeignKey, event, false, select, true
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

from ..extensions import db

SCOPE_KEY = "tenant_scope"


class ScopeMissing(RuntimeError):
    """A tenant-owned table was queried with no scope set."""


class ScopeViolation(PermissionError):
    """A write touched a row outside the scope."""


@dataclass(frozen=True)
class Scope:
    """Organisations visible to a caller; `org_ids=None` means every one."""

    org_ids: frozenset[int] | None
    special_only: bool = False
    user_id: int | None = None
    membership_id: int | None = None
    org_id: int | None = None
    role: str | None = None
    writable: bool = True
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def system(cls) -> Scope:
        return cls(org_ids=None, role="system")

    @classmethod
    def nothing(cls) -> Scope:
        """The anonymous caller: sees no tenant-owned row."""
        return cls(org_ids=frozenset(), writable=False)

    @property
    def sees_everything(self) -> bool:
        return self.org_ids is None and not self.special_only

    def contains_org(self, org_id: int | None) -> bool:
        return org_id is not None and (self.org_ids is None or org_id in self.org_ids)

    def org_criteria(self, column):
        if self.org_ids is None:
            return true()
        if not self.org_ids:
            return false()
        return column.in_(sorted(self.org_ids))


class TenantOwned:
    """Mixin: the row belongs to one organisation and is filtered by the scope."""

    # A model whose composite indexes already lead with org_id sets this to False: its
    # own single-column index would only be maintained on every insert, never needed.
    __org_index__ = True

    @declared_attr
    def org_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(
            ForeignKey("organisation.id"), index=cls.__org_index__, nullable=False
        )

    @classmethod
    def special_criteria(cls):
        """What a special-equipment-only scope (the regulator) may see of this table.

        Tables unrelated to equipment show nothing to such a scope (fail closed);
        equipment tables override this.
        """
        return false()


def get_scope(session: Session | None = None) -> Scope | None:
    session = session if session is not None else db.session()
    return session.info.get(SCOPE_KEY)


def set_scope(scope: Scope | None, session: Session | None = None) -> None:
    session = session if session is not None else db.session()
    if scope is None:
        session.info.pop(SCOPE_KEY, None)
    else:
        session.info[SCOPE_KEY] = scope


@contextlib.contextmanager
def use_scope(scope: Scope, session: Session | None = None) -> Iterator[Scope]:
    session = session if session is not None else db.session()
    previous = session.info.get(SCOPE_KEY)
    session.info[SCOPE_KEY] = scope
    try:
        yield scope
    finally:
        if previous is None:
            session.info.pop(SCOPE_KEY, None)
        else:
            session.info[SCOPE_KEY] = previous


def _org_option(scope: Scope):
    # One lambda option for every TenantOwned model: SQLAlchemy caches the compiled
    # criteria and binds the id list as a parameter (building one option per model
    # made every scoped query several times slower).
    if scope.org_ids is None:
        return with_loader_criteria(TenantOwned, lambda cls: true(), include_aliases=True)
    ids = sorted(scope.org_ids) or [-1]
    return with_loader_criteria(
        TenantOwned, lambda cls: cls.org_id.in_(ids), include_aliases=True
    )


_SPECIAL_OPTION = with_loader_criteria(
    TenantOwned, lambda cls: cls.special_criteria(), include_aliases=True
)


@event.listens_for(Session, "do_orm_execute")
def _apply_scope(state: ORMExecuteState) -> None:
    if not state.is_select or state.is_column_load:
        return
    if state.execution_options.get("all_tenants"):
        return
    scope = state.session.info.get(SCOPE_KEY)
    if scope is None:
        raise ScopeMissing("query without a tenant scope; set one or opt out explicitly")
    if scope.sees_everything:
        return
    options = [_org_option(scope)]
    if scope.special_only:
        options.append(_SPECIAL_OPTION)
    state.statement = state.statement.options(*options)


@event.listens_for(Session, "before_flush")
def _check_writes(session: Session, flush_context, instances) -> None:
    scope = session.info.get(SCOPE_KEY)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, TenantOwned):
            continue
        if scope is None:
            raise ScopeMissing(f"write of {type(obj).__name__} without a tenant scope")
        if scope.org_ids is not None and not scope.contains_org(obj.org_id):
            raise ScopeViolation(
                f"{type(obj).__name__} of organisation {obj.org_id} is outside the scope"
            )
        if not scope.writable:
            raise ScopeViolation("this scope is read-only")


def scoped_get(model, ident):
    """`Session.get` skips the scope filter when the row is in the identity map,
    so every lookup by id goes through a (filtered) SELECT instead."""
    return db.session.scalars(select(model).where(model.id == ident)).one_or_none()


def scoped_get_or_404(model, ident):
    obj = scoped_get(model, ident)
    if obj is None:
        abort(404)
    return obj
