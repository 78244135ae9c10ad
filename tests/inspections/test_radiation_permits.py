"""Radiation duties, institution licences with expiry notices, and large medical
equipment configuration permits."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from asset_registry import clock
from asset_registry.alerts.models import Alert
from asset_registry.extensions import db
from asset_registry.inspections import permits, services
from asset_registry.inspections.models import InstitutionPermit, Obligation
from asset_registry.tenancy.scope import Scope, use_scope
from tests.inspections.factories import duty, make_asset, org_id

pytestmark = pytest.mark.usefixtures("app")
D = dt.date


def test_radiation_equipment_gets_acceptance_state_and_stability_duties(as_user):
    with clock.frozen(D(2026, 9, 1)), as_user("rmyy") as scope:
        dr = make_asset(scope, "rmyy", "MED-06", name="测试DR", radiation=True,
                        commissioned_on=D(2026, 8, 1))
        acceptance, state = duty(dr, "acceptance_test"), duty(dr, "radiation_test")
        stability = duty(dr, "stability_test")
        assert acceptance.statutory and acceptance.interval_months is None
        assert state.statutory and state.interval_months == 12
        assert not stability.statutory and stability.interval_months == 3
        assert dr.safety_state == "unverified"
        for obligation, report in ((acceptance, "YS-1"), (state, "ZT-1")):
            services.record_inspection(
                scope, obligation, {"inspected_on": D(2026, 8, 5), "conclusion": "合格",
                                    "report_no": report, "agency": "省疾控中心"}, user_id=None)
        assert dr.safety_state == "ok" and acceptance.next_due is None


def test_a_major_repair_calls_for_a_new_acceptance_test(as_user):
    with clock.frozen(D(2026, 9, 1)), as_user("rmyy") as scope:
        ct = make_asset(scope, "rmyy", "MED-06", name="测试CT", radiation=True)
        for kind, report in (("acceptance_test", "YS-2"), ("radiation_test", "ZT-2")):
            services.record_inspection(
                scope, duty(ct, kind), {"inspected_on": D(2026, 6, 1), "conclusion": "合格",
                                        "report_no": report, "agency": "省疾控中心"}, user_id=None)
        fault = services.report_fault(scope, ct, {"description": "更换球管", "severity": "high",
                                                  "stop": "1", "major_repair": "1"}, None)
        services.resolve_fault(scope, fault, {"resolution": "已更换球管"}, None)
        again = db.session.scalars(select(Obligation).where(
            Obligation.asset_id == ct.id, Obligation.kind == "acceptance_test",
            Obligation.last_done.is_(None))).one()
        assert again.statutory and again.next_due == D(2026, 9, 1)
        assert ct.safety_state == "unverified"  # no acceptance record after the repair
    with clock.frozen(D(2026, 9, 2)), as_user("rmyy") as scope:
        from asset_registry.inspections import safety

        safety.ensure_current(scope)
        db.session.refresh(ct)
        assert ct.safety_state == "overdue"


def test_licences_are_kept_and_warned_about(login, as_user):
    manager = login("rmyy")
    assert manager.post("/inspections/permits", {"kind": "radiation_safety", "number": "X"}
                        ).status_code == 303  # no expiry date: refused, nothing saved
    soon = clock.today() + dt.timedelta(days=30)
    response = manager.post("/inspections/permits", {
        "kind": "radiation_safety", "number": "晋环辐证[00123]", "issued_on": "2021-05-01",
        "expires_on": soon.isoformat()})
    assert response.status_code == 302
    page = manager.get("/inspections/permits").get_data(as_text=True)
    assert "晋环辐证[00123]" in page
    assert login("wjw").post("/inspections/permits", {"kind": "radiation_safety",
                                                      "number": "Y"}).status_code == 403
    with use_scope(Scope.system()):
        permit = db.session.scalars(select(InstitutionPermit).where(
            InstitutionPermit.number == "晋环辐证[00123]")).one()
        assert db.session.scalar(select(InstitutionPermit.id).where(
            InstitutionPermit.number == "X")) is None
        permits.notify_expiring()
        permits.notify_expiring()  # idempotent
        notices = db.session.scalars(select(Alert).where(
            Alert.notice_key.like(f"permit:{permit.id}:%"))).all()
        assert len(notices) == 1 and "晋环辐证[00123]" in notices[0].title
        db.session.commit()
    # another institution neither sees nor deletes it
    other = login("hcxf")
    assert "晋环辐证[00123]" not in other.get("/inspections/permits").get_data(as_text=True)
    assert other.post(f"/inspections/permits/{permit.id}/delete").status_code == 404


def test_a_listed_large_device_without_permit_is_flagged(as_user, login):
    with as_user("rmyy") as scope:
        pet = make_asset(scope, "rmyy", "MED-06", name="PET/CT（测试）", radiation=True)
        ct = make_asset(scope, "rmyy", "MED-06", name="64排CT（测试）", radiation=True)
        assert permits.large_equipment_need(pet) == {
            "class": "乙", "kind": "PET/CT", "permit_no": None, "missing": True}
        assert permits.large_equipment_need(ct) is None  # CT no longer needs one
        before = permits.missing_permits_by_org(scope).get(org_id("rmyy"), 0)
        pet_id = pet.id
        db.session.commit()
    manager = login("rmyy")
    page = manager.get(f"/assets/{pet_id}").get_data(as_text=True)
    assert 'id="large-equipment"' in page and "未登记大型医用设备配置许可证" in page
    compliance = manager.get("/inspections/compliance").get_data(as_text=True)
    assert f'data-missing-permits="{before}"' in compliance and before >= 1
    board = login("wjw").get("/dashboard/").get_data(as_text=True)
    assert "大型医用设备缺配置许可证" in board


@pytest.mark.parametrize(
    "name, fields, field",
    [
        ("64排CT（测试）", {"permit_class": "乙", "permit_no": "X-1"}, "permit_class"),
        ("PET/CT（测试）", {"permit_class": "甲", "permit_no": "X-2"}, "permit_class"),
        ("PET/CT（测试）", {"permit_class": "乙"}, "permit_no"),
        ("PET/CT（测试）", {"permit_class": "丙", "permit_no": "X-3"}, "permit_class"),
    ],
)
def test_a_permit_class_must_fit_the_list(as_user, name, fields, field):
    from asset_registry.assets.services import AssetError

    with as_user("rmyy") as scope:
        with pytest.raises(AssetError) as err:
            make_asset(scope, "rmyy", "MED-06", name=name, **fields)
        assert err.value.field == field


def test_a_listed_device_with_its_permit_is_not_flagged(as_user):
    with as_user("rmyy") as scope:
        pet = make_asset(scope, "rmyy", "MED-06", name="PET/CT（已有许可）", permit_class="乙",
                         permit_no="晋卫乙[2024]003", permit_issued_on=D(2024, 3, 1))
        assert pet.permit_class == "乙" and pet.permit_issued_on == D(2024, 3, 1)
        assert permits.large_equipment_need(pet)["missing"] is False
