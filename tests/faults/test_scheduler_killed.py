"""The scheduler process killed in the middle of its scan: the next run leaves exactly
the alerts a clean run leaves.

Two copies of the seeded database: on one, `flask scheduler --once` is SIGKILLed right
after its scan has written alert rows (not yet committed), then started again; on the
other it runs once, undisturbed. The alert tables must then be equal, row for row."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time

from sqlalchemy import create_engine, text

from asset_registry import clock
from tests.faults.conftest import ROOT, subprocess_env

ALERT_COLUMNS = (
    "org_id, asset_id, obligation_id, rule, due_date, severity, status, stage, "
    "escalated_at IS NOT NULL, acknowledged_at IS NOT NULL, resolved_at IS NOT NULL, "
    "notice_key, title, link, audience_role"
)


def alert_rows(url: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(
                tuple(str(v) for v in row)
                for row in conn.execute(text(f"SELECT {ALERT_COLUMNS} FROM alert"))
            )
    finally:
        engine.dispose()


def scheduler_command(today: dt.date) -> list[str]:
    return ["--app", "asset_registry", "scheduler", "--once", "--today", today.isoformat()]


def run_scheduler(url: str, today: dt.date, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", *scheduler_command(today)],
        env=subprocess_env(url, tmp_path), cwd=ROOT, capture_output=True, text=True,
        timeout=300,
    )


def test_scheduler_killed_mid_scan_then_rerun_equals_a_clean_run(app, clone_database, tmp_path):
    today = clock.today() + dt.timedelta(days=45)  # a day no scan has seen: alerts open
    killed, clean = clone_database(), clone_database()
    before = alert_rows(killed)

    marker = tmp_path / "paused"
    victim = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "faults" / "pause_at.py"), str(marker),
         r"^\s*INSERT\b[^(]*\bINTO alert\b", "--", *scheduler_command(today)],
        env=subprocess_env(killed, tmp_path), cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        clean_run = run_scheduler(clean, today, tmp_path)  # meanwhile, on the other copy
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert victim.poll() is None, victim.stdout.read()
            assert time.monotonic() < deadline, "the scan never reached its alert insert"
            time.sleep(0.05)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        victim.stdout.close()
    assert clean_run.returncode == 0, clean_run.stdout + clean_run.stderr
    expected = alert_rows(clean)
    assert len(expected) > len(before)  # the clean run did open alerts

    # the killed scan committed none of its alerts
    assert alert_rows(killed) == before

    rerun = run_scheduler(killed, today, tmp_path)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "skipped" not in rerun.stdout, (rerun.stdout, rerun.stderr[-3000:])
    assert alert_rows(killed) == expected
