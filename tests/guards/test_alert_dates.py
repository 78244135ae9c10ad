"""The alert scan's date rules: a recurring condition with a new due date opens a new
alert, and every band and the escalation change on their exact boundary day."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from asset_registry import clock
from asset_registry.alerts import jobs
from asset_registry.alerts.models import DEFAULT_ESCALATE_AFTER_DAYS, Alert
from asset_registry.extensions import db
from asset_registry.inspections.models import Obligation
from asset_registry.tenancy.scope import Scope, use_scope

D = dt.date
DAY = dt.timedelta(days=1)


def scan(today):
    with clock.frozen(today):
        return jobs.scan_and_queue(today)


def alerts_of(asset_id):
    with use_scope(Scope.system()):
        rows = list(db.session.scalars(
            select(Alert).where(Alert.asset_id == asset_id).order_by(Alert.id)))
        db.session.rollback()
    return rows


def active_keys(asset_id):
    return {(a.rule, a.due_date, a.stage) for a in alerts_of(asset_id) if a.is_active}


def inspected(obligation_id, on, next_due):
    with use_scope(Scope.system()):
        db.session.execute(update(Obligation).where(Obligation.id == obligation_id)
                           .values(last_done=on, next_due=next_due))
        db.session.commit()


def test_overdue_again_a_year_later_opens_a_new_alert(make_site):
    site = make_site()
    first = D(2037, 4, 1)
    asset, obligation_id = site.add_asset(next_due=first)
    scan(first + DAY)
    assert active_keys(asset) == {("overdue", first, 0)}

    inspected(obligation_id, first + 2 * DAY, D(2038, 4, 1))
    scan(first + 2 * DAY)
    assert active_keys(asset) == set()

    # nobody inspects it this time; the scan first sees it a day after the new date
    scan(D(2038, 4, 2))
    assert active_keys(asset) == {("overdue", D(2038, 4, 1), 0)}
    old = [a for a in alerts_of(asset) if a.due_date == first]
    assert [a.status for a in old] == ["resolved"]  # last year's stays resolved


@pytest.mark.parametrize(
    "offset, expected",
    [
        (-31, set()),  # one day before the lead time: quiet
        (-30, {"due_soon"}),  # exactly the lead time (30 days)
        (-8, {"due_soon"}),
        (-7, {"due_7d"}),  # exactly 7 days
        (0, {"due_7d"}),  # on its due date: not overdue yet
        (1, {"overdue"}),  # the day after
    ],
)
def test_band_boundaries(make_site, offset, expected):
    site = make_site()
    due = D(2039, 7, 15)
    asset, _ = site.add_asset(next_due=due, lead_days=30)
    scan(due + dt.timedelta(days=offset))
    assert {rule for rule, _, _ in active_keys(asset)} == expected


def test_escalation_day(make_site):
    site = make_site()
    due = D(2039, 9, 10)
    asset, _ = site.add_asset(next_due=due)
    scan(due + dt.timedelta(days=DEFAULT_ESCALATE_AFTER_DAYS))  # 14 days late: still its own
    assert active_keys(asset) == {("overdue", due, 0)}
    scan(due + dt.timedelta(days=DEFAULT_ESCALATE_AFTER_DAYS + 1))  # the 15th: the bureau
    assert active_keys(asset) == {("overdue", due, 1)}


def test_an_alert_first_seen_after_the_escalation_day_opens_at_the_bureau(make_site):
    site = make_site()
    due = D(2039, 11, 3)
    late, _ = site.add_asset(next_due=due)
    scan(due + dt.timedelta(days=DEFAULT_ESCALATE_AFTER_DAYS + 1))
    [alert] = [a for a in alerts_of(late) if a.is_active]
    assert (alert.stage, alert.escalated_at is not None) == (1, True)
