"""Inspection regimes as the regulations write them (issue: regimes, codes and permits):
one test per rule, with concrete dates."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from asset_registry import clock
from asset_registry.assets.models import AssetStatus
from asset_registry.extensions import db
from asset_registry.inspections import registration, rules, services
from asset_registry.inspections.models import InspectionRecord
from tests.inspections.factories import duty, make_asset

pytestmark = pytest.mark.usefixtures("app")
D = dt.date
TODAY = D(2026, 9, 1)


def _record(scope, obligation, day, conclusion="符合要求", report=None, **extra):
    return services.record_inspection(
        scope, obligation,
        {"inspected_on": day, "conclusion": conclusion, "agency": "山西省检验检测中心",
         "report_no": report or f"R-{obligation.id}-{day}-{conclusion}", **extra},
        user_id=None,
    )


def test_a_passing_full_inspection_is_also_the_years_annual_one(as_user):
    with clock.frozen(TODAY), as_user("wml") as scope:
        cableway = make_asset(scope, "wml", "SE-9000", name="全面兼年度索道")
        annual, full = duty(cableway, "annual_inspection"), duty(cableway, "full_inspection")
        _record(scope, annual, D(2025, 5, 10))  # last year's annual: due 2026-05-10
        assert annual.next_due == D(2026, 5, 10)
        _record(scope, full, D(2026, 5, 5))
        assert full.next_due == D(2029, 5, 5)
        # the full inspection is this year's annual one: no "overdue" annual stop
        assert annual.next_due == D(2027, 5, 5) and annual.last_done == D(2026, 5, 5)
        mirror = db.session.scalars(select(InspectionRecord).where(
            InspectionRecord.obligation_id == annual.id,
            InspectionRecord.inspected_on == D(2026, 5, 5))).one()
        assert mirror.passed and "全面检验" in mirror.problems
        assert cableway.safety_state == "ok" and cableway.status == AssetStatus.IN_SERVICE
        # a failing full inspection does not certify the annual one
        _record(scope, full, D(2026, 8, 1), "不符合要求")
        assert annual.next_due == D(2027, 5, 5) and not annual.failed
        assert cableway.safety_state == "failed"


def test_a_vessels_annual_check_warns_and_does_not_stop(as_user):
    with clock.frozen(TODAY), as_user("rmyy") as scope:
        vessel = make_asset(scope, "rmyy", "SE-2100", name="年度检查储罐",
                            commissioned_on=D(2020, 3, 1), vessel_grade=2)
        periodic, check = duty(vessel, "periodic_inspection"), duty(vessel, "user_annual_check")
        assert periodic.statutory and not check.statutory
        _record(scope, periodic, D(2023, 3, 1))  # grade 2: 6 years → 2029-03-01
        _record(scope, check, D(2025, 3, 1))     # annual check: due 2026-03-01, now overdue
        assert check.next_due < TODAY
        services.enforce_must_not_run(TODAY)
        db.session.refresh(vessel)
        assert vessel.status == AssetStatus.IN_SERVICE and vessel.safety_state == "ok"
        from asset_registry.alerts import services as alerts
        from asset_registry.alerts.models import Alert

        alerts.scan(TODAY)
        assert db.session.scalars(select(Alert.rule).where(
            Alert.obligation_id == check.id)).one() == "overdue"


def test_a_category_default_design_life_never_stops_a_device(as_user):
    with clock.frozen(TODAY), as_user("hcxf") as scope:
        # 2006 elevator, no design life entered: the category's 15 years is a hint only
        hinted = make_asset(scope, "hcxf", "SE-3000", name="默认年限电梯",
                            commissioned_on=D(2006, 1, 1))
        assert hinted.design_life_from_category and hinted.design_life_end < TODAY
        kinds = {o.kind for o in services.obligations_of(scope, hinted)}
        assert "design_life_assessment" not in kinds
        _record(scope, duty(hinted, "annual_inspection"), D(2026, 6, 1))
        assert hinted.safety_state == "ok"
        # entered from the nameplate: reaching it needs an inspection or assessment
        entered = make_asset(scope, "hcxf", "SE-3000", name="铭牌年限电梯",
                             commissioned_on=D(2006, 1, 1), design_life_years=15)
        assert not entered.design_life_from_category
        life = duty(entered, "design_life_assessment")
        assert life.next_due == D(2021, 1, 1)
        _record(scope, duty(entered, "annual_inspection"), D(2026, 6, 1))
        assert entered.safety_state == "overdue"


def test_change_registration_after_assessment_shortens_the_cycle(as_user):
    with clock.frozen(TODAY), as_user("wml") as scope:
        cableway = make_asset(scope, "wml", "SE-9000", name="超年限索道",
                              commissioned_on=D(1994, 6, 1), design_life_years=30)
        life, full = duty(cableway, "design_life_assessment"), duty(cableway, "full_inspection")
        with pytest.raises(services.InspectionError):  # no assessment yet
            registration.record_change(scope, cableway,
                                       {"changed_on": "2026-08-01", "certificate_no": "X"}, None)
        steps = registration.steps(cableway, TODAY)
        assert [s.done for s in steps] == [True, False, False, False]
        _record(scope, life, D(2026, 7, 1), inspection_type="安全评估")
        _record(scope, full, D(2026, 7, 2))
        assert full.interval_months == 36 and full.next_due == D(2029, 7, 2)
        with pytest.raises(services.InspectionError) as err:
            registration.record_change(scope, cableway, {"changed_on": "2026-08-01"}, None)
        assert err.value.field == "certificate_no"
        registration.record_change(
            scope, cableway, {"changed_on": "2026-08-01", "certificate_no": "索晋E00123(变)"},
            None)
        # half the normal interval, at least annual; dates from the record plus the cycle
        assert full.interval_months == 18 and full.next_due == D(2028, 1, 2)
        assert duty(cableway, "annual_inspection").interval_months == 12
        assert [s.done for s in registration.steps(cableway, TODAY)] == [True] * 4


def test_a_failed_assessment_stops_a_vessel_and_tops_the_renewal_priority(as_user):
    with clock.frozen(TODAY), as_user("rmyy") as scope:
        vessel = make_asset(scope, "rmyy", "SE-2100", name="评估不合格储罐",
                            commissioned_on=D(2003, 3, 1), vessel_grade=3)
        _record(scope, duty(vessel, "periodic_inspection"), D(2025, 3, 1))
        risk = duty(vessel, "risk_assessment")
        assert not risk.statutory
        _record(scope, risk, D(2026, 8, 1), "不符合要求", inspection_type="安全评估")
        assert vessel.status == AssetStatus.STOPPED and vessel.safety_state == "failed"
        score, reasons = services.renewal_priority(vessel, TODAY)
        assert score == 100 and any("安全评估不合格" in r for r in reasons)


def test_rectify_then_run_stays_stopped_until_the_rectification_is_confirmed(as_user):
    with clock.frozen(TODAY), as_user("hcxf") as scope:
        car = make_asset(scope, "hcxf", "SE-5000", name="观光车")
        annual = duty(car, "annual_inspection")
        assert annual.conclusion_set == "vehicle"
        with pytest.raises(services.InspectionError) as err:  # nothing to confirm yet
            _record(scope, annual, D(2026, 8, 1), "整改确认")
        assert err.value.field == "conclusion"
        _record(scope, annual, D(2026, 8, 10), "整改后运行", problems="制动踏板行程超标")
        assert annual.failed and car.status == AssetStatus.STOPPED
        assert car.safety_state == "failed"
        _record(scope, annual, D(2026, 8, 20), "整改确认", confirm_restart="1",
                next_due="2027-08-10")
        assert not annual.failed and car.status == AssetStatus.IN_SERVICE
        assert annual.next_due == D(2027, 8, 10)


def test_restricted_running_passes_with_its_conditions_shown(as_user, login):
    with as_user("hcxf") as scope:
        car = make_asset(scope, "hcxf", "SE-5000", name="限速观光车")
        annual = duty(car, "annual_inspection")
        with pytest.raises(services.InspectionError) as err:
            _record(scope, annual, clock.today(), "限制条件运行")
        assert err.value.field == "problems"
        _record(scope, annual, clock.today(), "限制条件运行", problems="限速 10 km/h，不得载客上坡")
        assert not annual.failed and car.safety_state in ("ok", "due_soon")
        asset_id = car.id
        db.session.commit()
    page = login("hcxf").get(f"/assets/{asset_id}").get_data(as_text=True)
    assert 'id="restrictions"' in page and "限速 10 km/h" in page


@pytest.mark.parametrize(
    "conclusion, passed",
    [("合格", True), ("不合格", False), ("复检合格", True), ("复检不合格", False),
     ("符合要求", True), ("基本符合要求", True), ("不符合要求", False)],
)
def test_general_conclusions(as_user, conclusion, passed):
    with clock.frozen(TODAY), as_user("hcxf") as scope:
        lift = make_asset(scope, "hcxf", "SE-3000", name="结论电梯")
        annual = duty(lift, "annual_inspection")
        record = _record(scope, annual, D(2026, 8, 1), conclusion)
        assert record.passed is passed and annual.failed is (not passed)
        assert rules.CONCLUSIONS["general"][conclusion] is passed
