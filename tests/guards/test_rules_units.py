"""The pure date and vessel rules, value by value (written for the mutants that the
service-level tests let through)."""

from __future__ import annotations

import datetime as dt

import pytest

from asset_registry.inspections import rules

D = dt.date


@pytest.mark.parametrize(
    "day, years, expected",
    [(D(2020, 1, 15), 1, D(2021, 1, 15)), (D(2020, 2, 29), 1, D(2021, 2, 28)),
     (D(2019, 6, 30), 6, D(2025, 6, 30)), (D(2024, 3, 1), 0, D(2024, 3, 1))],
)
def test_add_years(day, years, expected):
    assert rules.add_years(day, years) == expected


@pytest.mark.parametrize(
    "day, months, expected",
    [(D(2024, 1, 31), 1, D(2024, 2, 29)), (D(2023, 1, 31), 1, D(2023, 2, 28)),
     (D(2024, 3, 31), 1, D(2024, 4, 30)), (D(2024, 12, 15), 1, D(2025, 1, 15)),
     (D(2024, 11, 30), 3, D(2025, 2, 28)), (D(2024, 5, 31), -1, D(2024, 4, 30)),
     (D(2024, 1, 1), 12, D(2025, 1, 1)), (D(2024, 12, 31), 0, D(2024, 12, 31))],
)
def test_add_months(day, months, expected):
    assert rules.add_months(day, months) == expected


def test_after():
    assert rules.after(D(2024, 1, 31), 1, None) == D(2024, 2, 29)
    assert rules.after(D(2024, 1, 31), None, 30) == D(2024, 3, 1)
    assert rules.after(D(2024, 1, 31), 12, 30) == D(2025, 1, 31)  # months win
    assert rules.after(D(2024, 1, 31), None, None) is None


@pytest.mark.parametrize(
    "months, days, governed, expected",
    [(12, None, False, D(2025, 6, 1)), (None, 90, False, D(2024, 8, 30)),
     (None, None, False, D(2030, 6, 1)), (12, None, True, D(2030, 6, 1)),
     (36, 7, False, D(2027, 6, 1))],
)
def test_longest_next_due(months, days, governed, expected):
    assert rules.longest_next_due(D(2024, 6, 1), months, days, governed) == expected


@pytest.mark.parametrize(
    "grade, expected",
    [(1, 72), (2, 72), (3, 36), (4, None), (5, None), (None, 24), (0, 24), (6, 24)],
)
def test_grade_interval(grade, expected):
    assert rules.grade_interval(grade, 24) == expected


def test_vessels_and_governed_duties():
    assert rules.is_fixed_vessel("2100") and not rules.is_fixed_vessel("2200")
    assert not rules.is_fixed_vessel(None)
    assert rules.is_vessel("2100") and rules.is_vessel("2400") and not rules.is_vessel("3100")
    assert not rules.is_vessel(None) and not rules.is_vessel("")
    assert rules.grade_governs("periodic_inspection", "2100")
    assert not rules.grade_governs("periodic_inspection", "2200")
    assert not rules.grade_governs("annual_check", "2100")


def test_also_fulfils():
    assert rules.also_fulfils("9120", "full_inspection") == "annual_inspection"
    assert rules.also_fulfils("9110", "annual_inspection") is None
    assert rules.also_fulfils("3100", "full_inspection") is None
    assert rules.also_fulfils(None, "full_inspection") is None


@pytest.mark.parametrize(
    "base, today, kwargs, expected",
    [
        # not yet due: one interval (or first_months) after commissioning
        (D(2024, 3, 1), D(2024, 7, 1), {"first_months": 36, "months": 72}, D(2027, 3, 1)),
        (D(2024, 3, 1), D(2024, 7, 1), {"first_months": None, "months": 12}, D(2025, 3, 1)),
        # rolled forward along the cycle
        (D(2016, 5, 1), D(2024, 7, 1), {"first_months": None, "months": 12}, D(2025, 5, 1)),
        (D(2016, 5, 31), D(2024, 6, 1), {"first_months": None, "months": 1}, D(2024, 6, 30)),
        (D(2016, 5, 1), D(2024, 7, 1), {"first_months": 6, "months": 24}, D(2024, 11, 1)),
        # by days
        (D(2024, 1, 1), D(2024, 1, 2), {"first_months": None, "days": 7}, D(2024, 1, 8)),
        (D(2024, 1, 1), D(2024, 3, 15), {"first_months": None, "days": 7}, D(2024, 3, 18)),
        (D(2024, 1, 1), D(2024, 1, 2), {"first_months": 2, "days": 7}, D(2024, 3, 1)),
        (D(2024, 1, 1), D(2024, 4, 2), {"first_months": 2, "days": 7}, D(2024, 4, 5)),
        # no cycle
        (D(2024, 1, 1), D(2024, 1, 2), {"first_months": 120}, D(2034, 1, 1)),
        (D(2024, 1, 1), D(2024, 1, 2), {"first_months": None}, None),
    ],
)
def test_first_due(base, today, kwargs, expected):
    kwargs = {"months": None, "days": None, **kwargs}
    assert rules.first_due(base, today, **kwargs) == expected


def test_first_due_by_days_on_the_commissioning_day():
    base = D(2024, 1, 1)
    assert rules.first_due(base, base, first_months=None, months=None, days=7) == D(2024, 1, 8)


def test_blocking_clause_counts_active_statutory_duties_only(app, as_user):
    from sqlalchemy import select, update

    from asset_registry.extensions import db
    from asset_registry.inspections.models import Obligation
    from tests.inspections.factories import duty, make_asset

    today = D(2031, 1, 1)
    with as_user("hcxf") as scope:
        lift = make_asset(scope, "hcxf", "SE-3000", name="阻断条件电梯")
        annual = duty(lift, "annual_inspection")

        def blocks(**values) -> bool:
            db.session.execute(update(Obligation).where(Obligation.id == annual.id)
                               .values(**values))
            return db.session.scalar(select(Obligation.id).where(
                Obligation.id == annual.id, rules.blocking_clause(today))) is not None

        assert blocks(active=True, statutory=True, failed=True, next_due=D(2031, 6, 1))
        assert not blocks(active=False)  # an inactive duty never blocks
        assert blocks(active=True, failed=False, next_due=D(2030, 12, 31))  # overdue
        assert not blocks(next_due=today)  # due today: not yet
        assert not blocks(statutory=False, next_due=D(2030, 12, 31))  # a self-check
        db.session.rollback()
