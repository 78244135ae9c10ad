"""`flask --app asset_registry api-token create|list|revoke`."""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from ..extensions import db
from ..tenancy.models import Membership, Organisation, User
from ..tenancy.scope import Scope, use_scope
from . import services
from .models import ApiToken


def register_cli(app: Flask) -> None:
    @app.cli.group("api-token")
    def api_token():
        """API bearer tokens."""

    @api_token.command("create")
    @click.argument("username")
    @click.option("--org", "org_code", default=None, help="which membership (organisation code)")
    @click.option("--name", default="API", help="what the token is for")
    def create(username, org_code, name):
        """Issue a token acting as USERNAME's membership; printed once."""
        with use_scope(Scope.system()):
            stmt = select(Membership).join(User, User.id == Membership.user_id)
            stmt = stmt.where(User.username == username).order_by(Membership.id)
            if org_code:
                stmt = stmt.join(Organisation, Organisation.id == Membership.org_id).where(
                    Organisation.code == org_code
                )
            membership = db.session.scalars(stmt).first()
            if membership is None:
                raise click.ClickException(f"no membership of {username!r}")
            row, token = services.issue_token(Scope.system(), membership, name)
            db.session.commit()
        click.echo(f"token {row.id} ({row.name}): {token}")

    @api_token.command("list")
    def list_tokens():
        """Tokens with their owner; never the token itself."""
        with use_scope(Scope.system()):
            rows = db.session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
            for row in rows:
                state = "active" if row.active else f"revoked {row.revoked_at:%Y-%m-%d}"
                user = db.session.get(User, row.membership.user_id)
                click.echo(f"{row.id}\t{row.prefix}…\t{user.username}\t{row.name}\t{state}")

    @api_token.command("revoke")
    @click.argument("token_id", type=int)
    def revoke(token_id):
        """Revoke a token: it answers 401 from now on."""
        with use_scope(Scope.system()):
            row = services.revoke_token(Scope.system(), token_id)
            if row is None:
                raise click.ClickException(f"no token {token_id}")
            db.session.commit()
        click.echo(f"revoked token {token_id}")
