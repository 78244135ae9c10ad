"""Organisations, users, memberships and sign-in attempts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .. import clock
from ..enums import OrgKind, Role, Sector
from ..extensions import db
from .scope import TenantOwned


class Organisation(db.Model):
    """A node of the city tree: city → bureaus → institutions; the regulator beside."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    sector: Mapped[str | None] = mapped_column(String(30))
    county: Mapped[str | None] = mapped_column(String(50))
    uscc: Mapped[str | None] = mapped_column(String(18))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)

    parent: Mapped[Organisation | None] = relationship(remote_side=[id])

    @property
    def kind_label(self) -> str:
        return OrgKind(self.kind).label

    @property
    def sector_label(self) -> str:
        return Sector(self.sector).label if self.sector else ""

    def __repr__(self) -> str:
        return f"<Organisation {self.code}>"


class User(db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    locale: Mapped[str | None] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(default=True)
    # part of every session's identity and copied into every API token: raising it
    # (sign-out, password change, deactivation) ends them all at once
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    active_membership_id: Mapped[int | None] = mapped_column(
        ForeignKey("membership.id", use_alter=True, ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # Flask-Login keeps this in the session: a session of an older version is dead
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class Membership(TenantOwned, db.Model):
    """A user's role in one organisation."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("org_id", "user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    organisation: Mapped[Organisation] = relationship(foreign_keys="Membership.org_id")

    @property
    def role_label(self) -> str:
        return Role(self.role).label


class LoginAttempt(db.Model):
    """Every sign-in attempt; failures in a window throttle an account or address."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    succeeded: Mapped[bool] = mapped_column(default=False)
    at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive, index=True)
