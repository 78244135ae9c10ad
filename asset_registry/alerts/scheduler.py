"""`flask scheduler`: its own process (never inside web workers) running the alert
jobs with APScheduler 3. The in-memory job store forgets missed runs at restart, so
every job also runs once at start-up; each job works from data and takes a
database lock per run, so several scheduler processes do each piece of work once."""

from __future__ import annotations

import contextlib
import logging
from zoneinfo import ZoneInfo

from flask import Flask

from ..extensions import db
from . import jobs

log = logging.getLogger(__name__)


def _in_app(app: Flask, fn):
    def run():
        with app.app_context():
            try:
                result = fn()
                log.info("%s: %s", fn.__name__, "skipped (taken)" if result is None else result)
                return result
            except Exception:  # a failed run must not stop the scheduler
                log.exception("job %s failed", fn.__name__)
            finally:
                db.session.remove()

    run.__name__ = fn.__name__
    return run


def run_once(app: Flask) -> list:
    """The start-up run: scan (and queue), then digests and webhooks, as one locked job
    (the 02:00 and 08:00 runs are separate locks, hours apart)."""
    return [_in_app(app, jobs.startup_job)()]


def run_forever(app: Flask) -> None:
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    tz = ZoneInfo(app.config.get("SCHEDULER_TIMEZONE", "Asia/Shanghai"))
    scheduler = BlockingScheduler(
        timezone=tz,
        job_defaults={"coalesce": True, "misfire_grace_time": 6 * 3600, "max_instances": 1},
    )
    scheduler.add_job(_in_app(app, jobs.scan_job), CronTrigger(hour=2, minute=0, timezone=tz),
                      id="alerts-scan")
    scheduler.add_job(_in_app(app, jobs.digest_job), CronTrigger(hour=8, minute=0, timezone=tz),
                      id="alerts-digest")
    scheduler.add_job(_in_app(app, jobs.retry_job), IntervalTrigger(minutes=15, timezone=tz),
                      id="alerts-retry")
    scheduler.add_job(_in_app(app, jobs.reminder_job),
                      CronTrigger(hour=8, minute=30, timezone=tz), id="programme-reminders")
    run_once(app)
    log.info("scheduler started (%s)", tz)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
