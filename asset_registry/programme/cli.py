"""`flask programme remind [--today YYYY-MM-DD]`: the dispatch reminders by hand or cron."""

from __future__ import annotations

import datetime as dt

import click
from flask import Flask


def register_cli(app: Flask) -> None:
    @app.cli.group("programme")
    def programme() -> None:
        """The programme loop: project reserve, dispatch rounds, reports."""

    @programme.command("remind")
    @click.option("--today", help="YYYY-MM-DD (default: today in Jincheng)")
    def remind(today: str | None) -> None:
        """Remind institutions of dispatch reports due soon or late."""
        from .jobs import remind_job

        day = dt.date.fromisoformat(today) if today else None
        click.echo(f"{remind_job(day)} reminders")
