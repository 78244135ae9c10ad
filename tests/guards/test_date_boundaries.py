"""The boundary day of every date rule of the safety derivation and the first due date:
a duty on its due date is due soon, not overdue; due soon starts at exactly its lead time;
a first due date falling on today stays today."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from asset_registry import clock
from asset_registry.extensions import db
from asset_registry.inspections import rules, safety, services
from asset_registry.inspections.models import Obligation
from tests.inspections.factories import duty, make_asset

D = dt.date
DUE = D(2041, 6, 15)
LEAD = 30


@pytest.fixture
def certified_lift(app, as_user):
    """An elevator whose one statutory duty is certified by a passing record, due on DUE
    with a 30-day lead time."""
    with as_user("hcxf") as scope:
        lift = make_asset(scope, "hcxf", "SE-3000", name="边界日电梯")
        annual = duty(lift, "annual_inspection")
        services.record_inspection(
            scope, annual,
            # recent, so the device is current (and running) today
            {"inspected_on": clock.today() - dt.timedelta(days=20), "conclusion": "合格",
             "report_no": "BJ-1",
             "agency": "晋城市特种设备检验所"},
            user_id=None)
        db.session.execute(update(Obligation).where(Obligation.id == annual.id)
                           .values(next_due=DUE, lead_days=LEAD))
        db.session.commit()
        yield scope, lift.id


@pytest.mark.parametrize(
    "today, expected",
    [
        (DUE + dt.timedelta(days=1), "overdue"),  # the day after its date
        (DUE, "due_soon"),  # on its due date: still valid that day
        (DUE - dt.timedelta(days=LEAD), "due_soon"),  # exactly the lead time
        (DUE - dt.timedelta(days=LEAD + 1), "ok"),  # the day before the lead time
    ],
)
def test_safety_state_on_the_boundary_days(certified_lift, today, expected):
    scope, lift_id = certified_lift
    safety.refresh(today, asset_ids=[lift_id])
    assert safety.states_of([lift_id]) == {lift_id: expected}


@pytest.mark.parametrize("cycles", [1, 2, 7])
@pytest.mark.parametrize(
    "kwargs",
    [
        {"first_months": None, "months": 12, "days": None},
        {"first_months": 12, "months": 12, "days": None},
        {"first_months": None, "months": 36, "days": None},
        {"first_months": None, "months": None, "days": 365},
        {"first_months": None, "months": None, "days": 30},
    ],
)
def test_a_first_due_date_falling_on_today_stays_today(kwargs, cycles):
    """A legacy asset registered on an anniversary of its commissioning: due today, not
    a cycle later (and a day later it is the next cycle)."""
    base = D(2016, 3, 1)
    today = base
    for _ in range(cycles):
        today = rules.after(today, kwargs["months"], kwargs["days"])
    assert rules.first_due(base, today, **kwargs) == today
    later = rules.first_due(base, today + dt.timedelta(days=1), **kwargs)
    assert later == rules.after(today, kwargs["months"], kwargs["days"])
