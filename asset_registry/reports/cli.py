"""`flask --app asset_registry reports refresh [--today YYYY-MM-DD]`."""

from __future__ import annotations

import click
from flask import Flask

from .. import clock
from ..extensions import db
from ..tenancy.scope import Scope, use_scope


def register_cli(app: Flask) -> None:
    @app.cli.group("reports")
    def reports_group():
        """Dashboards."""

    @reports_group.command("refresh")
    @click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="compute ages and due dates as of this day (default: today)")
    def refresh_command(today):
        """Rebuild the dashboards' rollups for every organisation."""
        from .services import refresh_rollups

        with use_scope(Scope.system()):
            result = refresh_rollups(today.date() if today else clock.today())
            db.session.commit()
        click.echo(f"rollups refreshed: {result}")
