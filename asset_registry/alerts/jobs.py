"""Scheduled jobs: each run takes a database lock so that two scheduler processes
never do the same work twice, then works from data (so a missed run is caught up
by the next one)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
from collections.abc import Callable

from flask_babel import force_locale
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..extensions import db
from ..tenancy.scope import Scope, use_scope
from . import delivery, services
from .models import JobRun

log = logging.getLogger(__name__)

SKIPPED = None
# a claim unfinished for this long is taken over even from another machine (far longer
# than any scan); on this machine, a claim whose process is gone is taken over at once
STALE_CLAIM = dt.timedelta(hours=2)


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_locked(job: str, run_key: str, work: Callable[[], object]):
    """Run `work` if this process is the first to claim (job, run_key); else return None.

    The claim is a committed JobRun row under a unique key: the loser of a race gets an
    IntegrityError and skips. A run that fails keeps its row (marked failed) — the next
    key (the next day) catches up from data."""
    table = JobRun.__table__
    try:
        row_id = db.session.execute(
            insert(table).values(job=job, run_key=run_key, owner=owner(),
                                 started_at=clock.utcnow_naive())
            .returning(table.c.id)
        ).scalar_one()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        row_id = _take_over_dead_claim(job, run_key)
        if row_id is None:
            log.info("job %s %s already taken by another process", job, run_key)
            return SKIPPED
        log.warning("job %s %s: its claim was left by a process that died; running it",
                    job, run_key)
    outcome, summary = "ok", ""
    try:
        result = work()
        summary = str(result)
        return result
    except Exception as exc:
        db.session.rollback()
        outcome, summary = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        db.session.execute(
            update(table).where(table.c.id == row_id)
            .values(finished_at=clock.utcnow_naive(), outcome=outcome, summary=summary[:1000])
        )
        db.session.commit()


def _owner_is_dead(claimed_by: str) -> bool:
    host, _, pid = claimed_by.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def _take_over_dead_claim(job: str, run_key: str) -> int | None:
    """A claim never finished because its process was killed (its transaction, and so
    its work, was rolled back): without this the run would be skipped until the next
    key. The conditional update lets one process win the take-over."""
    table = JobRun.__table__
    now = clock.utcnow_naive()
    with use_scope(Scope.system()):  # the job table holds no tenant rows
        claim = db.session.execute(
            select(table.c.id, table.c.owner, table.c.started_at).where(
                table.c.job == job, table.c.run_key == run_key, table.c.finished_at.is_(None))
        ).first()
    db.session.rollback()
    if claim is None or not (
        _owner_is_dead(claim.owner) or claim.started_at < now - STALE_CLAIM
    ):
        return None
    taken = db.session.execute(
        update(table).where(table.c.id == claim.id, table.c.owner == claim.owner,
                            table.c.finished_at.is_(None))
        .values(owner=owner(), started_at=now)
    ).rowcount
    db.session.commit()
    return claim.id if taken == 1 else None


@contextlib.contextmanager
def job_context():
    """System scope, and a fixed locale: outside a request there is no user to ask."""
    with use_scope(Scope.system()), force_locale(delivery.DEFAULT_LOCALE):
        yield


def scan_and_queue(today: dt.date | None = None) -> services.ScanResult:
    """The scan and its delivery queue in one transaction, committed here."""
    with job_context():
        today = today or clock.today()
        # inspections may stop assets whose statutory inspection lapsed; do it first,
        # then bring every asset's safety state to the day (dates alone move states)
        from ..inspections import safety
        from ..inspections import services as inspections

        inspections.enforce_must_not_run(today)
        safety.refresh_day(today)
        result = services.scan(today)
        from ..inspections import permits

        permits.notify_expiring(today)
        db.session.commit()
        from ..reports.jobs import refresh_daily  # dashboards; own commit, logs its failures

        refresh_daily(today)
        return result


def send_all(today: dt.date | None = None, *, retries_only: bool = False):
    with job_context():
        return delivery.deliver(today, retries_only=retries_only)


def scan_job(today: dt.date | None = None):
    today = today or clock.today()
    return run_locked("alerts-scan", today.isoformat(), lambda: scan_and_queue(today))


def digest_job(today: dt.date | None = None):
    today = today or clock.today()
    return run_locked("alerts-digest", today.isoformat(), lambda: send_all(today))


def startup_job(today: dt.date | None = None):
    """The start-up catch-up: scan, then send, under ONE lock, so that a second process
    starting at the same moment cannot send digests before the scan has committed."""
    today = today or clock.today()

    def work():
        scanned = scan_and_queue(today)
        return f"{scanned}; {send_all(today)}"

    return run_locked("alerts-startup", today.isoformat(), work)


def retry_job():
    """Retries of failed sends, every few minutes (the backoff decides which are due)."""
    now = clock.now().astimezone(clock.LOCAL_TZ)
    slot = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    return run_locked("alerts-retry", slot.strftime("%Y-%m-%dT%H:%M"),
                      lambda: send_all(retries_only=True))


def reminder_job(today: dt.date | None = None):
    """The dispatch rounds' reminders (programme domain), once a day under a lock; they
    go out through this domain's notices and deliveries."""
    today = today or clock.today()

    def work():
        from ..programme.jobs import remind_job

        with job_context():
            return remind_job(today)

    return run_locked("programme-reminders", today.isoformat(), work)
