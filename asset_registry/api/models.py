"""API tokens: a bearer token acts with one membership's scope (its organisation and role)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, event, select, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from ..tenancy.models import Membership, User
from ..tenancy.scope import TenantOwned


class ApiToken(TenantOwned, db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # only the SHA-256 of the token is kept; the token itself is shown once
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # enough to tell tokens apart in a list
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]
    # the owner's User.session_version when issued: a later sign-out, password change or
    # deactivation raises the user's version and so ends this token too
    user_version: Mapped[int] = mapped_column(default=1, server_default="1")

    membership: Mapped[Membership] = relationship()

    @classmethod
    def special_criteria(cls):
        # not equipment data: a regulator's scope sees its tokens like any other's
        return true()

    @property
    def active(self) -> bool:
        return self.revoked_at is None and not self.expired

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= clock.utcnow_naive()

    def is_live_for(self, user: User) -> bool:
        """May this token act for `user` now (not revoked, not expired, issued in the
        user's current session version, user active)?"""
        return self.active and user.is_active and self.user_version == user.session_version


@event.listens_for(ApiToken, "before_insert")
def _stamp_user_version(mapper, connection, token: ApiToken) -> None:
    """Whoever issues a token (the page, the CLI), it carries its owner's current version."""
    owner = select(Membership.user_id).where(Membership.id == token.membership_id)
    version = connection.scalar(
        select(User.session_version).where(User.id == owner.scalar_subquery())
    )
    if version is not None:
        token.user_version = version
