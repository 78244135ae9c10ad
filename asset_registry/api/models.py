"""API tokens: a bearer token acts with one membership's scope (its organisation and role)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from ..tenancy.models import Membership
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

    membership: Mapped[Membership] = relationship()

    @classmethod
    def special_criteria(cls):
        # not equipment data: a regulator's scope sees its tokens like any other's
        return true()

    @property
    def active(self) -> bool:
        return self.revoked_at is None
