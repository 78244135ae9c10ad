"""Obligations from templates, the statutory cycles, must-not-run and bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from asset_registry import clock
from asset_registry.assets.models import AssetStatus, StatusChange
from asset_registry.audit.models import AuditEvent
from asset_registry.extensions import db
from asset_registry.inspections import rules, services
from asset_registry.inspections.models import InspectionRecord, Obligation
from asset_registry.tenancy.scope import Scope, use_scope
from tests.inspections.factories import category_id, duty, make_asset

D = dt.date
pytestmark = pytest.mark.usefixtures("app")


def test_add_months_clamps_and_first_due_rolls_forward():
    assert rules.add_months(D(2024, 1, 31), 1) == D(2024, 2, 29)
    assert rules.add_months(D(2016, 5, 1), 36) == D(2019, 5, 1)
    # a 2016 cableway registered in mid-2024: next anniversary, not 2017
    assert rules.first_due(
        D(2016, 5, 1), D(2024, 7, 1), first_months=None, months=12, days=None
    ) == D(2025, 5, 1)
    assert rules.first_due(
        D(2016, 5, 1), D(2024, 7, 1), first_months=None, months=36, days=None
    ) == D(2025, 5, 1)
    # a new pressure vessel: first full inspection within 3 years
    assert rules.first_due(
        D(2024, 3, 1), D(2024, 7, 1), first_months=36, months=72, days=None
    ) == D(2027, 3, 1)
    assert rules.first_due(
        D(2016, 5, 1), D(2024, 7, 1), first_months=None, months=None, days=1
    ) == D(2024, 7, 1)


def test_cableway_annual_and_full_inspection_cycles(as_user):
    with clock.frozen(D(2024, 7, 1)), as_user("wml") as scope:
        cableway = make_asset(scope, "wml", "SE-9000", name="测试索道", design_life_years=30)
        kinds = {o.kind for o in services.obligations_of(scope, cableway)}
        assert {
            "annual_inspection",
            "full_inspection",
            "daily_check",
            "monthly_check",
            "design_life_assessment",
        } <= kinds
        annual, full = duty(cableway, "annual_inspection"), duty(cableway, "full_inspection")
        full_due_before = full.next_due
        services.record_inspection(
            scope,
            annual,
            {
                "inspected_on": "2024-06-10",
                "conclusion": "符合要求",
                "report_no": "WML-A-1",
                "agency": "山西省检验检测中心",
            },
            user_id=None,
        )
        assert annual.next_due == D(2025, 6, 10) and annual.last_done == D(2024, 6, 10)
        assert full.next_due == full_due_before  # the 3-year cycle runs on its own
        services.record_inspection(
            scope,
            full,
            {
                "report_no": "T-R-1",
                "agency": "测试检验机构",
                "inspected_on": "2022-06-10",
                "conclusion": "符合要求",
            },
            user_id=None,
        )
        assert full.next_due == D(2025, 6, 10)
        services.record_inspection(
            scope,
            full,
            {
                "report_no": "T-R-2",
                "agency": "测试检验机构",
                "inspected_on": "2024-06-20",
                "conclusion": "符合要求",
            },
            user_id=None,
        )
        assert full.next_due == D(2027, 6, 20)
        # the full inspection is also the year's annual one (and the older one was history)
        assert annual.next_due == D(2025, 6, 20)
        assert services.valid_until(cableway) == D(2025, 6, 20)
        assert services.compliance(cableway, D(2024, 7, 1)) == "ok"
        assert services.compliance(cableway, D(2025, 5, 30)) == "due_soon"
        assert services.compliance(cableway, D(2025, 6, 21)) == "overdue"


def test_grade_three_vessel_uses_the_inspectors_interval(as_user):
    with clock.frozen(D(2024, 7, 1)), as_user("rmyy") as scope:
        vessel = make_asset(
            scope,
            "rmyy",
            "SE-2100",
            commissioned_on=D(2015, 3, 1),
            vessel_grade=3,
            name="测试储气罐",
        )
        periodic = duty(vessel, "periodic_inspection")
        assert periodic.interval_months == 36  # grade 3 default
        assert duty(vessel, "user_annual_check").interval_months == 12
        services.record_inspection(
            scope,
            periodic,
            {
                "report_no": "T-R-3",
                "agency": "测试检验机构",
                "inspected_on": "2024-03-01",
                "conclusion": "符合要求",
                "next_due": "2028-03-01",
                "safety_grade": 3,
            },
            user_id=None,
        )
        assert periodic.next_due == D(2028, 3, 1)
        # without a certificate date grade 3 falls back to 3 years
        services.record_inspection(
            scope,
            periodic,
            {
                "report_no": "T-R-4",
                "agency": "测试检验机构",
                "inspected_on": "2024-06-01",
                "conclusion": "符合要求",
            },
            user_id=None,
        )
        assert periodic.next_due == D(2027, 6, 1)
        # grade 4: the inspector must set the date
        with pytest.raises(services.InspectionError) as err:
            services.record_inspection(
                scope,
                periodic,
                {
                    "report_no": "T-R-5",
                    "agency": "测试检验机构",
                    "inspected_on": "2024-06-15",
                    "conclusion": "符合要求",
                    "safety_grade": 4,
                },
                user_id=None,
            )
        assert "4 级" in err.value.message


def test_vessel_grades_and_design_life_duties(as_user):
    with clock.frozen(D(2024, 7, 1)), as_user("rmyy") as scope:
        old = make_asset(
            scope,
            "rmyy",
            "SE-2100",
            commissioned_on=D(2002, 1, 10),
            vessel_grade=2,
            design_life_years=20,
            name="老旧储罐",
        )
        assert duty(old, "periodic_inspection").interval_months == 72
        risk = duty(old, "risk_assessment")
        assert risk.next_due == D(2022, 1, 10) and not risk.statutory  # 20 years in use
        life = duty(old, "design_life_assessment")
        assert life.statutory and life.next_due == old.design_life_end
        five = make_asset(
            scope,
            "rmyy",
            "SE-2100",
            commissioned_on=D(2020, 1, 10),
            vessel_grade=5,
            name="五级储罐",
        )
        assert duty(five, "periodic_inspection").interval_months is None
        assert services.must_not_run(five)


def test_conditional_templates_and_recategorisation(as_user):
    from asset_registry.assets import services as asset_services

    with as_user("rmyy") as scope:
        ct = make_asset(scope, "rmyy", "MED-06", radiation=True, name="测试CT")
        kinds = {o.kind for o in services.obligations_of(scope, ct)}
        assert kinds == {  # inherited from MED
            "preventive_maintenance", "acceptance_test", "radiation_test", "stability_test"}
        pm = duty(ct, "preventive_maintenance")
        services.update_obligation(
            scope, pm, {"interval_months": 3, "lead_days": 7, "checklist": "外观\n接地"}
        )
        radiation = duty(ct, "radiation_test")
        data = {
            "asset_code": ct.asset_code,
            "name": ct.name,
            "category_id": category_id("GEN-IT"),
            "commissioned_on": ct.commissioned_on,
        }
        asset_services.update_asset(scope, ct, data)
        db.session.refresh(radiation)
        db.session.refresh(pm)
        assert not radiation.active  # no longer applies
        assert pm.active and pm.interval_months == 3 and pm.checklist == ["外观", "接地"]
        # back again: the old duty is reactivated, not duplicated
        data["category_id"] = category_id("MED-06")
        data["radiation"] = True
        asset_services.update_asset(scope, ct, data)
        db.session.refresh(radiation)
        assert radiation.active
        assert (
            db.session.scalar(select(func.count(Obligation.id)).where(Obligation.asset_id == ct.id))
            == 4
        )


def test_failed_elevator_stops_and_passing_reinspection_restarts(as_user):
    with as_user("hcxf") as scope:
        lift = make_asset(scope, "hcxf", "SE-3000", name="测试电梯")
        annual = duty(lift, "annual_inspection")
        today = clock.today()
        services.record_inspection(
            scope,
            annual,
            {
                "agency": "测试检验机构",
                "inspected_on": today - dt.timedelta(days=5),
                "conclusion": "不符合要求",
                "report_no": "DT-1",
                "problems": "制动器磨损超标",
            },
            user_id=None,
        )
        assert lift.status == AssetStatus.STOPPED and annual.failed
        assert services.must_not_run(lift) and services.compliance(lift) == "failed"
        stop = db.session.scalars(
            select(StatusChange)
            .where(StatusChange.asset_id == lift.id)
            .order_by(StatusChange.id.desc())
        ).first()
        assert stop.to_status == "stopped" and "定期检验" in stop.reason
        passing = {
            "agency": "测试检验机构",
            "inspected_on": today,
            "conclusion": "复检合格",
            "report_no": "DT-2",
        }
        # lifting the stop asks for confirmation first, saying what will change
        with pytest.raises(services.InspectionError) as asked:
            services.record_inspection(scope, annual, passing, user_id=None)
        assert asked.value.field == "confirm_restart" and "在用" in asked.value.message
        assert lift.status == AssetStatus.STOPPED and annual.failed
        record = services.record_inspection(
            scope, annual, {**passing, "confirm_restart": "1"}, user_id=None
        )
        assert lift.status == AssetStatus.IN_SERVICE and not annual.failed
        restart = db.session.scalars(
            select(StatusChange)
            .where(StatusChange.asset_id == lift.id)
            .order_by(StatusChange.id.desc())
        ).first()
        assert "DT-2" in restart.reason and f"#{record.id}" in restart.reason
        assert annual.next_due == rules.add_months(today, 12)
        assert not services.must_not_run(lift)
        db.session.flush()
        audited = db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.entity == "inspection_record",
                AuditEvent.entity_id.in_(
                    select(InspectionRecord.id).where(InspectionRecord.asset_id == lift.id)
                ),
            )
        )
        assert audited == 2


def test_manual_stop_is_not_undone_by_an_inspection(as_user):
    from asset_registry.assets import services as asset_services

    with as_user("hcxf") as scope:
        lift = make_asset(scope, "hcxf", "SE-3000", name="手动停用电梯")
        asset_services.change_status(scope, lift, "stopped", reason="改造施工")
        services.record_inspection(
            scope,
            duty(lift, "annual_inspection"),
            {
                "report_no": "T-R-6",
                "agency": "测试检验机构",
                "inspected_on": clock.today(),
                "conclusion": "符合要求",
            },
            user_id=None,
        )
        assert lift.status == AssetStatus.STOPPED


@pytest.mark.parametrize(
    "data, field",
    [
        (
            {
                "report_no": "T-R-7",
                "agency": "测试检验机构",
                "inspected_on": "2999-01-01",
                "conclusion": "符合要求",
            },
            "inspected_on",
        ),
        (
            {
                "report_no": "T-R-8",
                "agency": "测试检验机构",
                "inspected_on": "",
                "conclusion": "符合要求",
            },
            "inspected_on",
        ),
        (
            {
                "report_no": "T-R-9",
                "agency": "测试检验机构",
                "inspected_on": "2024-13-01",
                "conclusion": "符合要求",
            },
            "inspected_on",
        ),
        (
            {
                "report_no": "T-R-10",
                "agency": "测试检验机构",
                "inspected_on": "2024-06-10",
                "conclusion": "符合要求",
                "next_due": "2024-06-01",
            },
            "next_due",
        ),
        (
            {
                "report_no": "T-R-11",
                "agency": "测试检验机构",
                "inspected_on": "2024-06-10",
                "conclusion": "允许运行",
            },
            "conclusion",
        ),
        (
            {
                "agency": "测试检验机构",
                "inspected_on": "2024-06-10",
                "conclusion": "符合要求",
                "report_no": "DUP-1",
            },
            "report_no",
        ),
        (
            {
                "report_no": "T-R-12",
                "agency": "测试检验机构",
                "inspected_on": "2024-06-10",
                "conclusion": "符合要求",
                "inspection_type": "随便",
            },
            "inspection_type",
        ),
    ],
)
def test_bad_input_saves_nothing(as_user, data, field):
    with as_user("wml") as scope:
        cableway = make_asset(scope, "wml", "SE-9000")
        annual = duty(cableway, "annual_inspection")
        services.record_inspection(
            scope,
            annual,
            {
                "agency": "测试检验机构",
                "inspected_on": "2024-01-05",
                "conclusion": "符合要求",
                "report_no": "DUP-1",
            },
            user_id=None,
        )
        before = (annual.next_due, annual.last_done, annual.failed, cableway.status)
        count = db.session.scalar(select(func.count(InspectionRecord.id)))
        with pytest.raises(services.InspectionError) as err:
            services.record_inspection(scope, annual, data, user_id=None)
        assert err.value.field == field and err.value.message
        assert db.session.scalar(select(func.count(InspectionRecord.id))) == count
        assert (annual.next_due, annual.last_done, annual.failed, cableway.status) == before


def test_vehicle_conclusions(as_user):
    with as_user("hcxf") as scope:
        car = make_asset(scope, "hcxf", "SE-5000", name="观光车")
        annual = duty(car, "annual_inspection")
        with pytest.raises(services.InspectionError):
            services.record_inspection(
                scope,
                annual,
                {
                    "report_no": "T-R-13",
                    "agency": "测试检验机构",
                    "inspected_on": clock.today(),
                    "conclusion": "符合要求",
                },
                user_id=None,
            )
        services.record_inspection(
            scope,
            annual,
            {
                "report_no": "T-R-14",
                "agency": "测试检验机构",
                "inspected_on": clock.today(),
                "conclusion": "停止运行",
            },
            user_id=None,
        )
        assert car.status == AssetStatus.STOPPED


def test_attachment_refused_saves_nothing(as_user, app):
    with as_user("wml") as scope:
        cableway = make_asset(scope, "wml", "SE-9000")
        annual = duty(cableway, "annual_inspection")
        count = db.session.scalar(select(func.count(InspectionRecord.id)))
        with pytest.raises(services.InspectionError) as err:
            services.record_inspection(
                scope,
                annual,
                {
                    "report_no": "T-R-15",
                    "agency": "测试检验机构",
                    "inspected_on": clock.today(),
                    "conclusion": "符合要求",
                },
                user_id=None,
                attachment=(b"MZ\x90\x00 not an image", "cert.png"),
            )
        assert err.value.field == "attachment"
        assert db.session.scalar(select(func.count(InspectionRecord.id))) == count
        assert annual.last_done is None


def test_enforce_must_not_run_is_set_based(as_user):
    with as_user("stxz") as scope:
        ride = make_asset(scope, "stxz", "SE-6000", name="逾期过山车")
        fine = make_asset(scope, "stxz", "SE-6000", name="正常过山车")
        annual = duty(ride, "annual_inspection")
        annual.next_due = clock.today() - dt.timedelta(days=3)
        # an overdue self-check never stops anything
        duty(fine, "monthly_check").next_due = clock.today() - dt.timedelta(days=40)
        db.session.flush()
        ride_id, fine_id = ride.id, fine.id
    with use_scope(Scope.system()):
        stopped = services.enforce_must_not_run(clock.today())
        assert stopped >= 1
        assert services.enforce_must_not_run(clock.today()) == 0  # idempotent
        statuses = dict(
            db.session.execute(
                select(StatusChange.asset_id, StatusChange.to_status).where(
                    StatusChange.asset_id.in_([ride_id, fine_id]),
                    StatusChange.to_status == "stopped",
                )
            ).all()
        )
        assert statuses == {ride_id: "stopped"}
        audit = db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.entity == "asset",
                AuditEvent.entity_id == ride_id,
                AuditEvent.action == "update",
            )
        )
        assert audit >= 1
    with as_user("stxz") as scope:
        from asset_registry.assets.models import Asset

        ride = db.session.scalars(select(Asset).where(Asset.id == ride_id)).one()
        assert ride.status == "stopped"
        # a passing inspection restarts it
        services.record_inspection(
            scope,
            duty(ride, "annual_inspection"),
            {
                "report_no": "T-R-16",
                "agency": "测试检验机构",
                "inspected_on": clock.today(),
                "conclusion": "符合要求",
                "confirm_restart": "1",
            },
            user_id=None,
        )
        assert ride.status == "in_service"
