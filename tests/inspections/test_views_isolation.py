"""Pages and two-tenant isolation: obligations, inspections, faults, attachments."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from asset_registry import clock
from asset_registry.assets.models import Asset, Attachment
from asset_registry.extensions import db
from asset_registry.inspections.models import Fault, InspectionRecord, Obligation
from asset_registry.tenancy.scope import Scope, use_scope
from tests.inspections.factories import duty, make_asset

pytestmark = pytest.mark.usefixtures("app")

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\x8a\x1e"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def hcxf_world(as_user):
    """A 皇城相府 elevator with an inspection (certificate attached) and a fault."""
    with as_user("hcxf") as scope:
        lift = make_asset(scope, "hcxf", "SE-3000", name="隔离测试电梯")
        annual = duty(lift, "annual_inspection")
        from asset_registry.inspections import services

        record = services.record_inspection(
            scope,
            annual,
            {
                "agency": "测试检验机构",
                "inspected_on": clock.today(),
                "conclusion": "符合要求",
                "report_no": "ISO-1",
            },
            user_id=None,
            attachment=(PNG, "cert.png"),
        )
        fault = services.report_fault(
            scope, lift, {"description": "隔离测试故障"}, None, attachment=(PNG, "fault.png")
        )
        db.session.commit()
        att = db.session.scalars(
            select(Attachment).where(Attachment.inspection_id == record.id)
        ).one()
        return {
            "asset": lift.id,
            "obligation": annual.id,
            "record": record.id,
            "fault": fault.id,
            "attachment": att.id,
        }


def test_foreign_ids_are_404(login, hcxf_world):
    w = hcxf_world
    c = login("rmyy")
    for url in (
        f"/inspections/assets/{w['asset']}",
        f"/inspections/obligations/{w['obligation']}/record",
        f"/inspections/obligations/{w['obligation']}/check",
        f"/inspections/assets/{w['asset']}/faults/new",
        f"/inspections/faults/{w['fault']}/resolve",
        f"/assets/attachments/{w['attachment']}",
    ):
        assert c.get(url).status_code == 404, url
    r = c.post(
        f"/inspections/obligations/{w['obligation']}/record",
        {
            "report_no": "T-R-17",
            "agency": "测试检验机构",
            "inspected_on": clock.today().isoformat(),
            "conclusion": "不符合要求",
        },
    )
    assert r.status_code == 404
    r = c.post(f"/inspections/obligations/{w['obligation']}/edit", {"lead_days": "1"})
    assert r.status_code == 404
    with use_scope(Scope.system()):
        assert not db.session.get(Obligation, w["obligation"]).failed


def test_lists_do_not_leak(login, hcxf_world):
    rmyy = login("rmyy")
    for url in (
        "/inspections/due?days=90",
        "/inspections/faults",
        "/inspections/compliance",
        "/inspections/renewal",
    ):
        html = rmyy.get(url).get_data(as_text=True)
        assert "皇城相府" not in html and "隔离测试电梯" not in html, url
        assert "隔离测试故障" not in html, url
    hcxf = login("hcxf")
    assert "隔离测试故障" in hcxf.get("/inspections/faults").get_data(as_text=True)
    assert "御书楼观光电梯" in hcxf.get("/inspections/renewal").get_data(as_text=True)
    with use_scope(Scope.system()):
        from tests.helpers import scope_of
    with use_scope(scope_of("rmyy")):
        for model in (Obligation, InspectionRecord, Fault, Attachment):
            assert (
                db.session.scalars(select(model).where(model.asset_id == hcxf_world["asset"])).all()
                == []
            ), model


def test_regulator_sees_special_equipment_only(login, as_user):
    with as_user("rmyy") as scope:
        monitor = make_asset(scope, "rmyy", "MED-07", name="监管隔离监护仪", metrology=True)
        from asset_registry.inspections import services

        services.report_fault(scope, monitor, {"description": "监护仪黑屏"}, None)
        db.session.commit()
        monitor_id = monitor.id
    scjg = login("scjg")
    faults = scjg.get("/inspections/faults").get_data(as_text=True)
    assert "监护仪黑屏" not in faults
    assert "御书楼观光电梯" in scjg.get("/inspections/renewal").get_data(as_text=True)
    due = scjg.get("/inspections/due?days=90").get_data(as_text=True)
    assert "强制检定" not in due and "监管隔离监护仪" not in due
    assert scjg.get(f"/inspections/assets/{monitor_id}").status_code == 404
    # read-only: the regulator cannot record
    with use_scope(Scope.system()):
        lift = db.session.scalars(select(Asset).where(Asset.asset_code == "HCXF-DT-2020-002")).one()
        obligation_id = duty(lift, "annual_inspection").id
    assert scjg.get(f"/inspections/obligations/{obligation_id}/record").status_code == 404


def test_record_form_errors_and_success(login, as_user):
    with as_user("wml") as scope:
        car = make_asset(scope, "wml", "SE-5000", name="表单观光车")
        db.session.commit()
        obligation_id = duty(car, "annual_inspection").id
    c = login("wml")
    url = f"/inspections/obligations/{obligation_id}/record"
    page = c.get(url).get_data(as_text=True)
    assert "允许运行" in page and "符合要求" not in page
    r = c.post(
        url,
        {
            "report_no": "T-R-18",
            "agency": "测试检验机构",
            "inspected_on": "2999-01-01",
            "conclusion": "允许运行",
        },
    )
    assert r.status_code == 422 and "检验日期不能晚于今天" in r.get_data(as_text=True)
    r = c.post(
        url,
        {
            "report_no": "T-R-19",
            "agency": "测试检验机构",
            "inspected_on": clock.today().isoformat(),
            "conclusion": "符合要求",
        },
    )
    assert r.status_code == 422 and "不适用" in r.get_data(as_text=True)
    r = c.post(
        url,
        {
            "report_no": "T-R-20",
            "agency": "测试检验机构",
            "inspected_on": clock.today().isoformat(),
            "conclusion": "允许运行",
            "attachment": (io.BytesIO(b"not a png"), "x.png"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 422 and "PDF、JPEG 或 PNG" in r.get_data(as_text=True)
    with use_scope(Scope.system()):
        assert (
            db.session.scalars(
                select(InspectionRecord).where(InspectionRecord.obligation_id == obligation_id)
            ).all()
            == []
        )
    r = c.post(
        url,
        {
            "agency": "测试检验机构",
            "inspected_on": clock.today().isoformat(),
            "conclusion": "允许运行",
            "report_no": "F-1",
            "attachment": (io.BytesIO(PNG), "photo.png"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    detail = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "photo.png" in detail and "F-1" in detail


def test_manager_edits_obligation_staff_cannot(login, as_user):
    with as_user("rmyy") as scope:
        ct = make_asset(scope, "rmyy", "MED-06", name="设置测试CT")
        db.session.commit()
        pm_id = duty(ct, "preventive_maintenance").id
    url = f"/inspections/obligations/{pm_id}/edit"
    assert login("rmyy_xj").get(url).status_code == 404
    c = login("rmyy")
    r = c.post(url, {"interval_months": "3", "lead_days": "abc", "active": "y"})
    assert r.status_code == 422 and "整数" in r.get_data(as_text=True)
    r = c.post(
        url, {"interval_months": "3", "lead_days": "10", "checklist": "外观\n电源", "active": "y"}
    )
    assert r.status_code == 302
    with use_scope(Scope.system()):
        pm = db.session.get(Obligation, pm_id)
        assert (pm.interval_months, pm.lead_days, pm.checklist, pm.customised) == (
            3,
            10,
            ["外观", "电源"],
            True,
        )


def test_due_page_and_export(login):
    c = login("wml")
    html = c.get("/inspections/due?days=90").get_data(as_text=True)
    assert "王莽岭客运索道" in html
    r = c.get("/inspections/due.xlsx?days=90")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    assert re.search(r"filename=inspections-due-90d", r.headers["Content-Disposition"])
    assert c.get("/inspections/scanner").status_code == 302
