"""Top-level commands: seed-demo, create-user."""

from __future__ import annotations

import importlib

import click
from flask import Flask

from .extensions import db
from .tenancy.scope import Scope, use_scope


def seed_all() -> None:
    from . import DOMAINS

    with use_scope(Scope.system()):
        for name in DOMAINS:
            try:
                module = importlib.import_module(f"asset_registry.{name}.seed")
            except ModuleNotFoundError as exc:
                if exc.name != f"asset_registry.{name}.seed":
                    raise
                continue
            module.seed_demo()
            db.session.flush()
        # a seed may have worked under another day (a dated demo round): bring every
        # stored safety state to today, as the daily job would
        from .inspections import safety

        safety.refresh_day()
    db.session.commit()


def init_app(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Load the Jincheng demo (idempotent)."""
        seed_all()
        click.echo("demo data ready")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--org", "org_code", required=True, help="organisation code")
    @click.option("--role", required=True)
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--name", "display_name", default=None)
    def create_user_command(username, org_code, role, password, display_name):
        """Create a user with one membership."""
        from .tenancy import services

        with use_scope(Scope.system()):
            org = services.org_by_code(org_code)
            if org is None:
                raise click.ClickException(f"unknown organisation {org_code}")
            try:
                services.create_user(
                    Scope.system(),
                    username=username,
                    display_name=display_name or username,
                    password=password,
                    org_id=org.id,
                    role=role,
                )
            except services.TenancyError as exc:
                raise click.ClickException(str(exc)) from exc
            db.session.commit()
        click.echo(f"created {username}")
