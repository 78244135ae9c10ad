"""The demo histories, the due list and its export, compliance and renewal lists."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from asset_registry import clock
from asset_registry.assets.models import Asset
from asset_registry.extensions import db
from asset_registry.inspections import rules, services
from asset_registry.inspections.models import Obligation
from asset_registry.tenancy.scope import Scope, use_scope
from tests.inspections.factories import duty, make_asset

pytestmark = pytest.mark.usefixtures("app")


def _demo(code: str) -> Asset:
    return db.session.scalars(select(Asset).where(Asset.asset_code == code)).one()


def test_demo_histories():
    today = clock.today()
    with use_scope(Scope.system()):
        cableway = _demo("WML-SD-2016-001")
        assert duty(cableway, "full_inspection").next_due < today
        assert duty(cableway, "annual_inspection").next_due >= today
        assert services.must_not_run(cableway)
        lift = _demo("HCXF-DT-2006-001")
        assert lift.status == "stopped" and duty(lift, "annual_inspection").failed
        vessel = _demo("RMYY-YLRQ-2004-001")
        assert duty(vessel, "risk_assessment").next_due <= today + dt.timedelta(days=30)
        score, reasons = services.renewal_priority(vessel, today)
        assert score > 0 and any("20 年" in r for r in reasons)
        # the demo's own devices (other tests add theirs to the shared database, and
        # scans of later days stop some): every statutory duty has its records and most
        # of them certify a current date as of today
        from asset_registry.assets.seed import DEMO

        codes = [row[0] for rows in DEMO.values() for row in rows]
        duties = db.session.scalars(
            select(Obligation).join(Asset, Asset.id == Obligation.asset_id).where(
                Asset.asset_code.in_(codes), Obligation.active.is_(True),
                Obligation.statutory.is_(True),
                Obligation.kind.not_in(rules.AUTO_KINDS + rules.SELF_CHECK_KINDS))).all()
        assert duties and all(d.last_done is not None for d in duties)
        current = [d for d in duties if not d.failed and (d.next_due is None
                                                          or d.next_due >= today)]
        assert len(current) > 0.8 * len(duties)
        soon = db.session.scalars(services.due_list(Scope.system(), today, 30)).all()
        assert any(o.next_due and o.next_due >= today for o in soon)  # some due this month


def test_renewal_candidates_rank_with_reasons(as_user):
    today = clock.today()
    with as_user("hcxf") as scope:
        candidates = services.renewal_candidates(scope, today, limit=10)
        assert candidates and candidates[0].score >= candidates[-1].score
        assert {c.asset.org_id for c in candidates} == set(scope.org_ids)
        lift = next(c for c in candidates if c.asset.asset_code == "HCXF-DT-2006-001")
        assert any("不合格" in r for r in lift.reasons)
        assert any("故障" in r for r in lift.reasons)
        assert 0 < lift.score <= 100
        assert services.renewal_priority(lift.asset, today)[0] == lift.score


def test_due_list_window_and_excel_export(as_user):
    today = clock.today()
    with as_user("tyc") as scope:
        lift = make_asset(scope, "tyc", "SE-3000", name="=HYPERLINK(\"http://x\")")
        annual = duty(lift, "annual_inspection")
        annual.next_due = today + dt.timedelta(days=45)
        db.session.flush()
        ids30 = {o.id for o in db.session.scalars(services.due_list(scope, today, 30))}
        ids60 = {o.id for o in db.session.scalars(services.due_list(scope, today, 60))}
        assert annual.id not in ids30 and annual.id in ids60
        content = services.due_list_xlsx(scope, today, 60)
        ws = load_workbook(io.BytesIO(content)).active
        names = [row[2] for row in ws.iter_rows(min_row=2, values_only=True)]
        assert "'=HYPERLINK(\"http://x\")" in names
        assert all(not str(v).startswith("=") for row in ws.iter_rows(values_only=True)
                   for v in row if v is not None)


def test_self_check_and_faults(as_user):
    with as_user("stxz") as scope:
        ride = make_asset(scope, "stxz", "SE-6000", name="自检过山车")
        daily = duty(ride, "daily_check")
        with pytest.raises(services.InspectionError):
            services.record_self_check(scope, daily, {daily.checklist[0]: "ok"}, None)
        results = {item: "ok" for item in daily.checklist}
        record = services.record_self_check(scope, daily, results, None)
        assert record.passed and record.conclusion == "正常"
        results[daily.checklist[0]] = "fail"  # not a safety-critical item
        record = services.record_self_check(scope, daily, results, None)
        assert not record.passed and ride.status == "in_service"  # not statutory
        faults = services.faults_of(scope, ride)
        assert len(faults) == 1 and daily.checklist[0] in faults[0].description
        with pytest.raises(services.InspectionError):
            services.record_self_check(scope, duty(ride, "annual_inspection"), results, None)
        fault = services.report_fault(
            scope, ride, {"description": "安全压杠卡滞", "severity": "high", "stop": "1"}, None
        )
        assert ride.status == "under_repair"
        for bad in ({"resolution": ""}, {"resolution": "修好", "cost": "-5"},
                    {"resolution": "修好", "resolved_on": "2999-01-01"}):
            with pytest.raises(services.InspectionError):
                services.resolve_fault(scope, fault, bad, None)
        assert fault.resolved_at is None
        services.resolve_fault(scope, faults[0], {"resolution": "已调整"}, None)
        services.resolve_fault(scope, fault, {"resolution": "更换压杠油缸", "cost": "5200",
                                              "downtime_hours": "12"}, None)
        assert ride.status == "in_service"
        with pytest.raises(services.InspectionError):
            services.report_fault(scope, ride, {"description": " ", "severity": "high"}, None)
        with pytest.raises(services.InspectionError):
            services.report_fault(scope, ride, {"description": "x", "severity": "boom"}, None)
