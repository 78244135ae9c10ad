"""The round at the device: 今日巡检, the scanner's typed code, the scan page's actions."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from asset_registry.assets.models import Asset
from asset_registry.extensions import db
from asset_registry.tenancy.models import Organisation
from asset_registry.tenancy.scope import Scope, use_scope
from tests.inspections.factories import duty, make_asset

pytestmark = pytest.mark.usefixtures("app")


def _ride(as_user, name):
    with as_user("rmyy") as scope:
        ride = make_asset(scope, "rmyy", "SE-6000", name=name, location="儿科候诊区",
                          equipment_code=None)
        daily = duty(ride, "daily_check")
        db.session.commit()
        return ride.id, ride.asset_code, ride.qr_token, daily.id


def test_the_inspector_lands_on_the_round_and_ticks_a_self_check(as_user, login):
    ride_id, code, token, daily_id = _ride(as_user, "候诊区小火车")
    inspector = login("rmyy_xj")
    landing = inspector.get("/")
    assert landing.status_code == 302 and landing.headers["Location"].endswith(
        "/inspections/today")
    page = inspector.get("/inspections/today").get_data(as_text=True)
    row = re.search(rf'data-obligation="{daily_id}"[^>]*data-done="(\d)"', page)
    assert row and row.group(1) == "0"
    with use_scope(Scope.system()):
        items = db.session.get(Asset, ride_id)
        from asset_registry.inspections.models import Obligation

        checklist = db.session.get(Obligation, daily_id).checklist
    del items
    answers = {f"item-{i}": "ok" for i in range(len(checklist))}
    assert inspector.post(f"/inspections/obligations/{daily_id}/check?via=scan",
                          answers).status_code == 302
    page = inspector.get("/inspections/today").get_data(as_text=True)
    row = re.search(rf'data-obligation="{daily_id}"[^>]*data-done="(\d)"', page)
    assert row and row.group(1) == "1"
    scan = inspector.get(f"/a/{token}").get_data(as_text=True)
    assert 'data-obligation="daily_check" data-state="done"' in scan
    # a manager's landing stays the dashboard
    assert login("rmyy").get("/").headers["Location"].endswith("/dashboard/")


def test_the_scanner_takes_the_printed_code(as_user, login):
    ride_id, code, token, _daily = _ride(as_user, "扫码小火车")
    inspector = login("rmyy_xj")
    for typed in (code, f"  {code} ", token):
        response = inspector.get("/assets/find", query_string={"code": typed})
        assert response.status_code == 302 and response.headers["Location"].endswith(
            f"/a/{token}"), typed
    missing = inspector.get("/assets/find", query_string={"code": "NO-SUCH-CODE"})
    assert missing.status_code == 404 and "NO-SUCH-CODE" in missing.get_data(as_text=True)
    # another institution's device is not found (and not confirmed to exist)
    with use_scope(Scope.system()):
        foreign = db.session.scalars(select(Asset.asset_code).join(Asset.organisation)
                                     .where(Organisation.code == "hcxf")).first()
    assert inspector.get("/assets/find", query_string={"code": foreign}).status_code == 404
