"""The safety state comes from evidence only, and every page shows the same one."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from asset_registry import clock
from asset_registry.assets import services as asset_services
from asset_registry.assets.models import Asset, AssetStatus
from asset_registry.extensions import db
from asset_registry.inspections import safety, services
from asset_registry.inspections.models import Fault
from asset_registry.tenancy.models import Organisation
from asset_registry.tenancy.scope import Scope, use_scope
from tests.inspections.factories import duty, make_asset

pytestmark = pytest.mark.usefixtures("app")
D = dt.date


def _passing(report: str, day: dt.date, **extra) -> dict:
    return {"inspected_on": day, "conclusion": "符合要求", "report_no": report,
            "agency": "晋城市特种设备检验所", **extra}


def _demo(org: str, code: str) -> Asset:
    with use_scope(Scope.system()):
        return db.session.scalars(
            select(Asset).join(Asset.organisation)
            .where(Organisation.code == org, Asset.asset_code == code)
        ).one()


def _mark_dates(html: str) -> list[str]:
    """Every date on the public mark card."""
    card = html.split('id="safety-mark"', 1)[1].split("</dl>", 1)[0]
    return re.findall(r"\d{4}-\d{2}-\d{2}", card)


# --------------------------------------------------------------------------- no record


def test_an_elevator_registered_without_history_is_unverified_and_shows_no_date(
    as_user, client
):
    with as_user("hcxf") as scope:
        lift = make_asset(scope, "hcxf", "SE-3000", name="未录入电梯",
                          commissioned_on=D(2016, 5, 1))
        annual = duty(lift, "annual_inspection")
        # no date is invented from the commissioning date
        assert annual.next_due is None and annual.last_done is None
        assert lift.safety_state == "unverified"
        assert services.compliance(lift) == "unverified"
        assert services.valid_until(lift) is None
        token = lift.qr_token
        db.session.commit()
    html = client.get(f"/a/{token}").get_data(as_text=True)
    assert "未录入检验记录，请向使用单位核实" in html
    assert _mark_dates(html) == []
    assert 'id="stop-banner"' not in html

    # the initial date is entered as the last inspection record: then it is certified
    with as_user("hcxf") as scope:
        lift = db.session.get(Asset, lift.id)
        annual = duty(lift, "annual_inspection")
        services.record_inspection(scope, annual, _passing("DT-INIT-1", clock.today()
                                                           - dt.timedelta(days=30)),
                                   user_id=None)
        expected = annual.next_due
        db.session.commit()
    html = client.get(f"/a/{token}").get_data(as_text=True)
    assert _mark_dates(html) == [expected.isoformat()]
    assert "晋城市特种设备检验所" in html


def test_the_failed_demo_elevator_shows_its_reason_and_no_date(client):
    lift = _demo("hcxf", "HCXF-DT-2006-001")
    assert lift.safety_state == "failed"
    html = client.get(f"/a/{lift.qr_token}").get_data(as_text=True)
    banner = html.split('id="stop-banner"', 1)[1].split("</div>", 1)[0]
    assert "检验不合格" in banner and "定期检验" in banner
    assert 'id="mark-valid-until"' not in html
    assert _mark_dates(html) == []


def test_equipment_without_statutory_duty_shows_no_inspection_line(as_user, client):
    with as_user("rmyy") as scope:
        cats = asset_services.categories()
        plain = next(c for c in cats if not c.is_special and c.family != "medical"
                     and not c.templates)
        pc = make_asset(scope, "rmyy", plain.code, name="普通设备")
        assert pc.safety_state == "none"
        token = pc.qr_token
        db.session.commit()
    html = client.get(f"/a/{token}").get_data(as_text=True)
    assert 'id="mark-state"' not in html and "下次检验日期" not in html


# --------------------------------------------------------------------------- dates


def test_editing_a_duty_cannot_move_the_public_date(login, client):
    lift = _demo("hcxf", "HCXF-DT-2006-001")
    with use_scope(Scope.system()):
        annual = duty(lift, "annual_inspection")
        before = annual.next_due
    manager = login("hcxf")
    response = manager.post(
        f"/inspections/obligations/{annual.id}/edit",
        {"interval_months": "12", "lead_days": "30", "next_due": "2099-12-31",
         "checklist": "", "critical_items": "", "active": "y"},
    )
    assert response.status_code in (200, 302)
    with use_scope(Scope.system()):
        assert duty(lift, "annual_inspection").next_due == before
    html = client.get(f"/a/{lift.qr_token}").get_data(as_text=True)
    assert "2099" not in html and 'id="stop-banner"' in html


@pytest.mark.parametrize(
    "change, field",
    [
        ({"next_due": "9999-12-31"}, "next_due"),
        ({"inspected_on": "0001-01-01"}, "inspected_on"),
        ({"inspected_on": "1949-12-31"}, "inspected_on"),
        ({"inspected_on": "2999-01-01"}, "inspected_on"),
        ({"report_no": ""}, "report_no"),
        ({"agency": ""}, "agency"),
        ({"conclusion": ""}, "conclusion"),
    ],
)
def test_bad_dates_and_missing_evidence_are_refused_naming_the_field(as_user, change, field):
    with as_user("wml") as scope:
        cableway = make_asset(scope, "wml", "SE-9000", name="测试索道")
        annual = duty(cableway, "annual_inspection")
        data = {**_passing("SD-B-1", clock.today() - dt.timedelta(days=10)), **change}
        with pytest.raises(services.InspectionError) as err:
            services.record_inspection(scope, annual, data, user_id=None)
        assert err.value.field == field
        assert annual.last_done is None and annual.next_due is None


def test_the_next_date_is_at_most_the_longest_cycle(as_user):
    with as_user("wml") as scope:
        cableway = make_asset(scope, "wml", "SE-9000", name="测试索道")
        annual = duty(cableway, "annual_inspection")
        day = clock.today() - dt.timedelta(days=10)
        latest = services.rules.add_months(day, 12)
        with pytest.raises(services.InspectionError) as err:
            services.record_inspection(
                scope, annual, _passing("SD-L-1", day, next_due=latest + dt.timedelta(days=1)),
                user_id=None)
        assert err.value.field == "next_due"
        services.record_inspection(scope, annual, _passing("SD-L-2", day, next_due=latest),
                                   user_id=None)
        assert annual.next_due == latest


def test_only_the_institutions_people_certify(as_user):
    with use_scope(Scope.system()):
        lift = _demo("hcxf", "HCXF-DT-2006-001")
        annual_id = duty(lift, "annual_inspection").id
    for user in ("scjg", "wlj", "admin"):
        with as_user(user) as scope:
            annual = services.get_obligation(scope, annual_id)
            if annual is None:
                continue  # not even visible
            with pytest.raises((services.InspectionError, PermissionError)):
                services.record_inspection(
                    scope, annual, _passing("X-1", clock.today(), confirm_restart="1"),
                    user_id=None)


def test_the_record_form_preselects_no_conclusion_and_asks_before_lifting_a_stop(login):
    with use_scope(Scope.system()):
        lift = _demo("hcxf", "HCXF-DT-2006-001")
        annual_id = duty(lift, "annual_inspection").id
    inspector = login("hcxf")
    url = f"/inspections/obligations/{annual_id}/record"
    form = inspector.get(url).get_data(as_text=True)
    select_html = form.split('name="conclusion"', 1)[1].split("</select>", 1)[0]
    assert "selected" not in select_html
    assert login("scjg").get(url).status_code in (403, 404)
    data = {"inspected_on": clock.today().isoformat(), "conclusion": "复检合格",
            "agency": "晋城市特种设备检验所", "report_no": "HCXF-RE-1", "next_due": ""}
    asked = inspector.post(url, data)
    assert asked.status_code == 422
    body = asked.get_data(as_text=True)
    assert 'id="restart-notice"' in body and "在用" in body
    with use_scope(Scope.system()):
        assert _demo("hcxf", "HCXF-DT-2006-001").status == AssetStatus.STOPPED
    # the demo stays as it is for the other tests: confirmation is not given here


# --------------------------------------------------------------------------- faults


def test_a_critical_fault_stops_without_the_tick(as_user, client):
    with as_user("wml") as scope:
        cableway = make_asset(scope, "wml", "SE-9000", name="危急故障索道")
        fault = services.report_fault(
            scope, cableway, {"description": "驱动轮轴承碎裂", "severity": "critical"}, None)
        assert fault.stops and cableway.status == AssetStatus.UNDER_REPAIR
        assert cableway.safety_state == "stopped"
        token = cableway.qr_token
        db.session.commit()
    html = client.get(f"/a/{token}").get_data(as_text=True)
    assert "暂停使用" in html and "故障停机" in html


def test_a_serious_fault_on_special_equipment_stops_unless_the_manager_says_why(as_user):
    with as_user("wml") as scope:
        cableway = make_asset(scope, "wml", "SE-9000", name="严重故障索道")
        with pytest.raises(services.InspectionError) as err:
            services.report_fault(scope, cableway, {"description": "广播失灵", "severity": "high",
                                                    "run_on": "1"}, None)
        assert err.value.field == "run_on_reason"
        allowed = services.report_fault(
            scope, cableway, {"description": "广播失灵", "severity": "high", "run_on": "1",
                              "run_on_reason": "已启用手持扩音器，经安全管理员确认"}, None)
        assert not allowed.stops and cableway.status == AssetStatus.IN_SERVICE
        stopping = services.report_fault(
            scope, cableway, {"description": "钢丝绳断丝", "severity": "high"}, None)
        assert stopping.stops and cableway.safety_state == "stopped"
        services.resolve_fault(scope, stopping, {"resolution": "更换钢丝绳"}, None)
        assert cableway.status == AssetStatus.IN_SERVICE


def test_an_abnormal_rope_grip_on_a_self_check_stops_the_cableway(as_user, client):
    with as_user("wml") as scope:
        cableway = make_asset(scope, "wml", "SE-9000", name="抱索器索道")
        daily = duty(cableway, "daily_check")
        assert "抱索器" in (daily.critical_items or [])
        results = {item: "ok" for item in daily.checklist}
        results["抱索器"] = "fail"
        services.record_self_check(scope, daily, results, None)
        fault = db.session.scalars(select(Fault).where(Fault.asset_id == cableway.id)).one()
        assert fault.severity == "high" and fault.stops
        assert cableway.safety_state == "stopped"
        token = cableway.qr_token
        db.session.commit()
    html = client.get(f"/a/{token}").get_data(as_text=True)
    assert "暂停使用" in html


# --------------------------------------------------------------------------- one state


def test_dashboard_overdue_equals_the_asset_list_filter(as_user, login):
    with as_user("rmyy") as scope:
        # an elevator inspected two years ago: its certificate ran out a year ago
        lift = make_asset(scope, "rmyy", "SE-3000", name="逾期电梯")
        annual = duty(lift, "annual_inspection")
        inspected = services.rules.add_months(clock.today(), -24)
        services.record_inspection(scope, annual, _passing("RM-OD-1", inspected), user_id=None)
        assert lift.safety_state == "overdue"
        db.session.commit()
    manager = login("rmyy")
    board = manager.get("/dashboard/").get_data(as_text=True)
    shown = int(re.search(r'id="kpi-overdue">(\d+)<', board).group(1))
    listing = manager.get("/assets/?safety=overdue").get_data(as_text=True)
    rows = len(re.findall(r'data-state="overdue"', listing))
    assert shown >= 1 and shown == rows
    with use_scope(Scope.system()):
        rmyy = db.session.scalar(select(Organisation.id).where(Organisation.code == "rmyy"))
    with as_user("rmyy") as scope:
        assert safety.counts_by_org(scope)[rmyy]["overdue"] == shown


def test_a_missed_day_is_caught_up_before_states_are_read(as_user):
    with as_user("wml") as scope:
        cableway = make_asset(scope, "wml", "SE-3000", name="跨日电梯")
        annual = duty(cableway, "annual_inspection")
        day = clock.today() - dt.timedelta(days=20)
        services.record_inspection(scope, annual, _passing("SD-D-1", day), user_id=None)
        assert cableway.safety_state in ("ok", "due_soon")
        later = annual.next_due + dt.timedelta(days=1)
        with clock.frozen(later):
            safety.ensure_current(scope)
            assert db.session.get(Asset, cableway.id).safety_state == "overdue"


def test_local_time_filter_shows_beijing_time(app):
    render = app.jinja_env.filters["localtime"]
    assert render(dt.datetime(2026, 12, 1, 17, 30)) == "2026-12-02 01:30"


def test_the_institutions_safety_phone_is_on_the_public_mark(login, client):
    manager = login("hcxf")
    form = {"due_soon_days": "", "due_7d_days": "7", "escalate_after_days": "30",
            "life_ending_days": "180", "recipients": "", "webhook_kind": "wecom",
            "webhook_url": ""}
    bad = manager.post("/alerts/settings", {**form, "safety_phone": "call me <b>"})
    assert bad.status_code == 400
    assert manager.post("/alerts/settings", {**form, "safety_phone": "0356-2196120"}
                        ).status_code == 302
    lift = _demo("hcxf", "HCXF-DT-2006-001")
    html = client.get(f"/a/{lift.qr_token}").get_data(as_text=True)
    assert 'href="tel:0356-2196120"' in html


def test_the_asset_form_takes_the_last_inspection_and_refuses_a_bad_one(login, client):
    from tests.inspections.factories import category_id

    with use_scope(Scope.system()):
        elevators = category_id("SE-3000")
    manager = login("hcxf")
    inspected = clock.today() - dt.timedelta(days=40)
    base = {"asset_code": "HCXF-NEW-LIFT-1", "name": "新登记电梯", "category_id": str(elevators),
            "commissioned_on": "2016-05-01", "last_inspected_on": inspected.isoformat(),
            "last_conclusion": "符合要求", "last_report_no": "DT2026-0042",
            "last_agency": "晋城市特种设备检验所"}
    refused = manager.post("/assets/new", {**base, "last_next_due": "2099-12-31"})
    assert refused.status_code == 422 and "下次检验日期不能晚于" in refused.get_data(as_text=True)
    with use_scope(Scope.system()):
        assert db.session.scalar(select(Asset.id).where(
            Asset.asset_code == "HCXF-NEW-LIFT-1")) is None  # nothing half-saved
    assert manager.post("/assets/new", base).status_code == 302
    with use_scope(Scope.system()):
        lift = db.session.scalars(select(Asset).where(Asset.asset_code == "HCXF-NEW-LIFT-1")).one()
        assert lift.safety_state in ("ok", "due_soon")
        certified = duty(lift, "annual_inspection").next_due
    assert certified == services.rules.add_months(inspected, 12)
    html = client.get(f"/a/{lift.qr_token}").get_data(as_text=True)
    assert _mark_dates(html) == [certified.isoformat()]


def test_exports_never_fail_on_a_stored_control_character(as_user, login):
    import io

    from openpyxl import load_workbook

    with as_user("wml") as scope:
        lift = make_asset(scope, "wml", "SE-3000", name="旧系统电梯")
        # as an older system stored it (the ways in strip control characters now)
        db.session.execute(Asset.__table__.update().where(Asset.__table__.c.id == lift.id)
                           .values(name="=电梯\x07旧系统"))
        db.session.commit()
        assert lift.safety_state == "unverified"  # on the due list: its record is missing
    manager = login("wml")
    response = manager.get("/inspections/due.xlsx?days=90")
    assert response.status_code == 200
    names = [row[2] for row in load_workbook(io.BytesIO(response.data)).active.iter_rows(
        min_row=2, values_only=True)]
    assert "'=电梯旧系统" in names
    assert manager.get("/dashboard/export.xlsx").status_code == 200
