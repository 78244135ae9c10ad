"""`flask alerts scan [--today YYYY-MM-DD]`, `flask alerts digest`, `flask scheduler`."""

from __future__ import annotations

import contextlib
import datetime as dt

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import gettext as _

from .. import clock


def _parse_today(ctx, param, value):
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            _("日期格式不正确：%(v)s（应为 YYYY-MM-DD，例如 2025-03-01）", v=value)
        ) from None


TODAY = click.option("--today", callback=_parse_today, metavar="YYYY-MM-DD",
                     help="run as if it were this date (Asia/Shanghai)")


def _frozen(today):
    return clock.frozen(today) if today else contextlib.nullcontext()


def _report_delivery(report) -> None:
    click.echo(str(report))
    if report.failed:
        click.echo(_("部分通知未能发送，已记录失败原因，将按退避策略自动重试；预警保持未送达状态。"),
                   err=True)


def register_cli(app: Flask) -> None:
    alerts = AppGroup("alerts", help="Expiry alerts.")

    @alerts.command("scan")
    @TODAY
    @click.option("--deliver/--no-deliver", default=True,
                  help="send digests and webhooks after the scan has committed")
    def scan_command(today, deliver):
        """Open, escalate and resolve alerts in one set-based pass over all tenants."""
        from . import jobs

        with _frozen(today):
            result = jobs.scan_and_queue(clock.today())
            click.echo(str(result))
            if deliver:
                _report_delivery(jobs.send_all(clock.today()))

    @alerts.command("digest")
    @TODAY
    @click.option("--retries-only", is_flag=True)
    def digest_command(today, retries_only):
        """Send what is queued: e-mail digests and group-robot messages."""
        from . import jobs

        with _frozen(today):
            _report_delivery(jobs.send_all(clock.today(), retries_only=retries_only))

    app.cli.add_command(alerts)

    @app.cli.command("scheduler")
    @click.option("--once", is_flag=True, help="do the start-up runs and exit")
    @TODAY
    def scheduler_command(once, today):
        """Run the alert jobs (02:00 scan, 08:00 digests) in this process."""
        import logging

        from . import scheduler

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        app_obj = current_app._get_current_object()
        if once:
            with _frozen(today):
                for result in scheduler.run_once(app_obj):
                    click.echo("skipped (another process)" if result is None else str(result))
            return
        scheduler.run_forever(app_obj)
