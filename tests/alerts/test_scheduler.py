"""The job-run lock: two scheduler processes never do the same work twice."""

from __future__ import annotations

import collections
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from asset_registry import clock
from asset_registry.alerts import jobs
from asset_registry.alerts.models import Alert, Delivery, JobRun
from asset_registry.extensions import db
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import APP_ROLE

ROOT = Path(__file__).resolve().parents[2]
D = dt.date


def test_a_job_run_is_taken_once(app, make_site):
    site = make_site()
    today = D(2039, 3, 3)
    site.add_asset(next_due=today + dt.timedelta(days=2))
    with clock.frozen(today):
        first = jobs.scan_job(today)
        second = jobs.scan_job(today)
    assert first is not None and second is None
    with use_scope(Scope.system()):
        run = db.session.scalars(select(JobRun).where(
            JobRun.job == "alerts-scan", JobRun.run_key == today.isoformat())).one()
        assert run.outcome == "ok" and run.finished_at is not None and "opened" in run.summary
        db.session.rollback()


def test_scheduler_registers_its_jobs(app, monkeypatch):
    """`run_forever` builds a BlockingScheduler at 02:00/08:00 Shanghai, coalescing."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    from asset_registry.alerts import scheduler

    captured = {}
    monkeypatch.setattr(scheduler, "run_once", lambda app: [])
    monkeypatch.setattr(BlockingScheduler, "start",
                        lambda self: captured.update(jobs=self.get_jobs(), tz=self.timezone,
                                                 defaults=self._job_defaults))
    scheduler.run_forever(app)
    by_id = {j.id: j for j in captured["jobs"]}
    assert str(captured["tz"]) == "Asia/Shanghai"
    assert "hour='2'" in str(by_id["alerts-scan"].trigger)
    assert "hour='8'" in str(by_id["alerts-digest"].trigger)
    assert captured["defaults"]["coalesce"] is True
    assert captured["defaults"]["misfire_grace_time"] >= 3600


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="two processes against one database: PostgreSQL only",
)
def test_two_scheduler_processes_deliver_each_alert_once(app, make_site, mailbox):
    sites = [make_site() for _ in range(3)]
    today = D(2040, 6, 1)
    assets = []
    for site in sites:
        for days in (-20, 3, 15):
            assets.append(site.add_asset(next_due=today + dt.timedelta(days=days))[0])
    env = dict(
        os.environ,
        DATABASE_URL=db.engine.url.render_as_string(hide_password=False),
        MAIL_SERVER="127.0.0.1", MAIL_PORT=str(mailbox.port), ASSET_REGISTRY_CONFIG="development",
        PYTHONPATH=str(ROOT),
        # the app refuses to run as a superuser: the scheduler runs as the app role
        **({"DATABASE_ROLE": APP_ROLE} if db.engine.dialect.name == "postgresql" else {}),
    )
    command = [sys.executable, "-m", "flask", "--app", "asset_registry", "scheduler", "--once",
               "--today", today.isoformat()]
    processes = [subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=240)[0] for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    # the start-up run (scan, then send) was done by exactly one process
    assert sum(out.count("skipped (another process)") for out in outputs) == 1, outputs

    for site in sites:
        assert len(mailbox.to(site.manager_email)) == 1, outputs
    with use_scope(Scope.system()):
        rows = db.session.execute(
            select(Delivery.alert_id, Delivery.stage, Delivery.recipient, Delivery.outcome,
                   Delivery.attempts)
            .join(Alert, Alert.id == Delivery.alert_id).where(Alert.asset_id.in_(assets))
        ).all()
        opened = db.session.scalar(select(func.count(Alert.id)).where(Alert.asset_id.in_(assets)))
        db.session.rollback()
    assert opened == len(assets)
    per_key = collections.Counter((r.alert_id, r.stage, r.recipient) for r in rows)
    assert per_key and max(per_key.values()) == 1
    assert all(r.outcome == "sent" and r.attempts == 1 for r in rows)
    # the overdue ones (20 days) were escalated: their bureau was told once
    bureau = [m for m in mailbox.to("wjw@demo.jc")
              if any(f"{s.code}-" in mailbox.body(m) for s in sites)]
    assert len(bureau) == 1
