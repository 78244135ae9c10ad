"""The set-based scan: open, escalate, resolve; idempotent; catch-up equals daily runs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update

from asset_registry import clock
from asset_registry.alerts import jobs, services
from asset_registry.alerts.models import Alert, AlertSettings
from asset_registry.extensions import db
from asset_registry.inspections.models import Obligation
from asset_registry.tenancy.scope import Scope, use_scope

D = dt.date


def scan(today):
    with clock.frozen(today):
        return jobs.scan_and_queue(today)


def alerts_of(asset_id, active_only=True):
    with use_scope(Scope.system()):
        stmt = select(Alert).where(Alert.asset_id == asset_id).order_by(Alert.id)
        rows = list(db.session.scalars(stmt))
        db.session.rollback()
    return [a for a in rows if a.is_active] if active_only else rows


def keys(alerts):
    return {(a.rule, a.due_date, a.stage) for a in alerts}


def test_rules_and_idempotence(make_site):
    site = make_site()
    today = D(2030, 3, 1)
    soon, _ = site.add_asset(next_due=today + dt.timedelta(days=20))
    week, _ = site.add_asset(next_due=today + dt.timedelta(days=5))
    late, _ = site.add_asset(next_due=today - dt.timedelta(days=3))
    failed, _ = site.add_asset(next_due=today + dt.timedelta(days=200), failed=True,
                               last_done=today - dt.timedelta(days=10))
    ending, _ = site.add_asset(design_life_end=today + dt.timedelta(days=100))
    exceeded, _ = site.add_asset(design_life_end=today - dt.timedelta(days=1))
    quiet, _ = site.add_asset(next_due=today + dt.timedelta(days=90))

    scan(today)
    assert keys(alerts_of(soon)) == {("due_soon", today + dt.timedelta(days=20), 0)}
    assert keys(alerts_of(week)) == {("due_7d", today + dt.timedelta(days=5), 0)}
    assert keys(alerts_of(late)) == {("overdue", today - dt.timedelta(days=3), 0)}
    assert keys(alerts_of(failed)) == {("failed", today - dt.timedelta(days=10), 0)}
    assert keys(alerts_of(ending)) == {("life_ending", today + dt.timedelta(days=100), 0)}
    assert keys(alerts_of(exceeded)) == {("life_exceeded", today - dt.timedelta(days=1), 0)}
    assert alerts_of(quiet) == []
    assert alerts_of(late)[0].severity == "danger"

    before = {a.id: (a.status, a.stage, a.opened_at) for a in alerts_of(soon, False)}
    second = scan(today)
    after = {a.id: (a.status, a.stage, a.opened_at) for a in alerts_of(soon, False)}
    assert before == after
    assert (second.opened, second.escalated, second.resolved, second.queued) == (0, 0, 0, 0)


def test_bands_move_and_escalate(make_site):
    site = make_site()
    due = D(2030, 6, 30)
    asset, _ = site.add_asset(next_due=due)
    scan(due - dt.timedelta(days=20))
    assert keys(alerts_of(asset)) == {("due_soon", due, 0)}
    scan(due - dt.timedelta(days=3))  # the due-soon alert gives way to the 7-day one
    assert keys(alerts_of(asset)) == {("due_7d", due, 0)}
    scan(due + dt.timedelta(days=10))
    assert keys(alerts_of(asset)) == {("overdue", due, 0)}
    scan(due + dt.timedelta(days=15))  # overdue more than 14 days → the bureau
    [alert] = alerts_of(asset)
    assert (alert.rule, alert.stage) == ("overdue", 1) and alert.escalated_at is not None
    resolved = [a for a in alerts_of(asset, False) if not a.is_active]
    assert {a.rule for a in resolved} == {"due_soon", "due_7d"}
    assert all(a.resolved_at and a.resolved_by is None for a in resolved)


def test_inspection_resolves_and_next_cycle_rearms(make_site):
    site = make_site()
    due = D(2030, 9, 1)
    asset, obligation_id = site.add_asset(next_due=due)
    scan(due + dt.timedelta(days=2))
    [overdue] = alerts_of(asset)
    assert overdue.rule == "overdue"

    # an inspection is recorded: the obligation moves on a year
    done = due + dt.timedelta(days=3)
    with use_scope(Scope.system()):
        db.session.execute(update(Obligation).where(Obligation.id == obligation_id)
                           .values(last_done=done, next_due=D(2031, 9, 1)))
        db.session.commit()
    scan(done)
    assert alerts_of(asset) == []
    assert [a.status for a in alerts_of(asset, False)] == ["resolved"]

    scan(D(2031, 8, 10))  # the next cycle opens a fresh alert on the new key
    assert keys(alerts_of(asset)) == {("due_soon", D(2031, 9, 1), 0)}


def test_catch_up_after_downtime_equals_daily_scans(make_site):
    site = make_site()
    start = D(2032, 1, 1)
    assets = [site.add_asset(next_due=start + dt.timedelta(days=k))[0] for k in (3, 12, 25, 40)]
    assets.append(site.add_asset(design_life_end=start + dt.timedelta(days=20))[0])
    end = start + dt.timedelta(days=30)
    day = start
    while day <= end:
        scan(day)
        day += dt.timedelta(days=1)
    daily = {a: keys(alerts_of(a)) for a in assets}
    with use_scope(Scope.system()):
        db.session.execute(delete(Alert).where(Alert.asset_id.in_(assets)))
        db.session.commit()
    scan(end)
    assert {a: keys(alerts_of(a)) for a in assets} == daily
    assert ("overdue", start + dt.timedelta(days=3), 1) in daily[assets[0]]


def test_disposed_assets_and_inactive_obligations_are_quiet(make_site):
    from asset_registry.assets.models import Asset

    site = make_site()
    today = D(2030, 4, 1)
    gone, _ = site.add_asset(next_due=today - dt.timedelta(days=1))
    paused, obligation_id = site.add_asset(next_due=today - dt.timedelta(days=1))
    with use_scope(Scope.system()):
        db.session.execute(update(Asset).where(Asset.id == gone).values(status="disposed"))
        db.session.execute(update(Obligation).where(Obligation.id == obligation_id)
                           .values(active=False))
        db.session.commit()
    scan(today)
    assert alerts_of(gone) == [] and alerts_of(paused) == []


def test_per_organisation_lead_times(make_site):
    site = make_site()
    today = D(2030, 5, 1)
    asset, _ = site.add_asset(next_due=today + dt.timedelta(days=50))
    scan(today)
    assert alerts_of(asset) == []
    with use_scope(Scope.system()):
        db.session.add(AlertSettings(org_id=site.org_id, due_soon_days=60, due_7d_days=7,
                                     escalate_after_days=3, life_ending_days=365))
        db.session.commit()
    scan(today)
    assert keys(alerts_of(asset)) == {("due_soon", today + dt.timedelta(days=50), 0)}
    scan(today + dt.timedelta(days=54))  # overdue by 4 > 3 days: escalated early
    assert keys(alerts_of(asset)) == {("overdue", today + dt.timedelta(days=50), 1)}


def test_notify_is_idempotent_and_targets_the_audience(make_site, app):
    site = make_site()
    with use_scope(Scope.system()):
        for _ in range(2):
            services.notify(site.bureau_org_id, title="更新计划待审核", link="/plans/1",
                            key=f"plan-submitted-{site.code}", audience_role="bureau_reviewer")
        db.session.commit()
        rows = list(db.session.scalars(
            select(Alert).where(Alert.notice_key == f"plan-submitted-{site.code}")))
    assert len(rows) == 1 and rows[0].rule == "notice" and rows[0].asset_id is None


def test_malformed_today_is_a_clear_error(app):
    result = app.test_cli_runner().invoke(args=["alerts", "scan", "--today", "2030-13-45"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output
