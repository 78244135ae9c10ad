"""Issuing, revoking and checking API tokens. Services take the scope; they flush only."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from .. import clock
from ..extensions import db
from ..tenancy.models import Membership, User
from ..tenancy.scope import Scope, ScopeViolation
from .models import ApiToken

TOKEN_PREFIX = "ar_"
# last_used_at is written at most this often per token (not on every request)
TOUCH_EVERY_SECONDS = 300


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(scope: Scope, membership: Membership, name: str) -> tuple[ApiToken, str]:
    """A new token for `membership`; returns (row, token). The token is not stored."""
    if not scope.writable or not scope.contains_org(membership.org_id):
        raise ScopeViolation("token for a membership outside the scope")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        org_id=membership.org_id,
        membership_id=membership.id,
        name=(name or "").strip()[:100] or "API",
        token_hash=_digest(token),
        prefix=token[:12],
    )
    db.session.add(row)
    db.session.flush()
    return row, token


def revoke_token(
    scope: Scope, token_id: int, *, membership_ids: list[int] | None = None
) -> ApiToken | None:
    """Revoke a token the scope sees (with `membership_ids`: only one of theirs)."""
    row = db.session.scalars(select(ApiToken).where(ApiToken.id == token_id)).one_or_none()
    if row is None or not scope.contains_org(row.org_id):
        return None
    if membership_ids is not None and row.membership_id not in membership_ids:
        return None
    if row.revoked_at is None:
        row.revoked_at = clock.utcnow_naive()
        db.session.flush()
    return row


def membership_for_token(token: str | None) -> Membership | None:
    """The membership a live token acts as, else None: not revoked, not expired, its
    user active and not signed out (or the password changed) since it was issued.
    Looked up across tenants (the caller has no scope yet: the token gives it one)."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = db.session.scalars(
        select(ApiToken)
        .where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
        .execution_options(all_tenants=True)
    ).one_or_none()
    if row is None:
        return None
    membership = db.session.scalars(
        select(Membership)
        .where(Membership.id == row.membership_id)
        .execution_options(all_tenants=True)
    ).one_or_none()
    user = db.session.get(User, membership.user_id) if membership is not None else None
    if user is None or not row.is_live_for(user):
        return None  # and a dead token leaves no trace of use
    now = clock.utcnow_naive()
    if membership is not None and (
        row.last_used_at is None or (now - row.last_used_at).total_seconds() > TOUCH_EVERY_SECONDS
    ):
        # bookkeeping, not a change anyone made: a plain UPDATE, not audited
        table = ApiToken.__table__
        db.session.execute(
            update(table)
            .where(table.c.id == row.id)
            .values(last_used_at=now)
            .execution_options(all_tenants=True)  # no scope yet: the token's own row
        )
    return membership


def tokens_visible(scope: Scope, membership_ids: list[int], *, manager: bool) -> list[ApiToken]:
    """A manager sees every token in the scope (with its owner); anyone else the tokens
    of their own memberships."""
    stmt = select(ApiToken)
    if manager:
        stmt = stmt.options(selectinload(ApiToken.membership).selectinload(Membership.user))
    else:
        stmt = stmt.where(ApiToken.membership_id.in_(membership_ids))
    order = (ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
    return list(db.session.scalars(stmt.order_by(*order)))
