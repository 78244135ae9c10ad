"""/api/v1: bearer tokens, the token's scope on every call (two tenants and the
regulator), recording an inspection, the OpenAPI document and the token CLI."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from asset_registry.api import services
from asset_registry.assets.models import Asset
from asset_registry.assets.services import create_asset
from asset_registry.audit.models import AuditEvent
from asset_registry.catalog.models import Category
from asset_registry.extensions import db
from asset_registry.inspections.models import InspectionRecord, Obligation
from asset_registry.tenancy.models import Membership
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import membership_id, scope_of

_seq = itertools.count(1)


def token_for(username: str) -> str:
    with use_scope(Scope.system()):
        membership = db.session.scalars(
            select(Membership).where(Membership.id == membership_id(username))
        ).one()
        _, token = services.issue_token(Scope.system(), membership, f"test {username}")
        db.session.commit()
    return token


def new_asset(username: str, prefix: str, category: str = "MED-06") -> int:
    scope = scope_of(username)
    with use_scope(scope):
        category_id = db.session.scalar(select(Category.id).where(Category.code == category))
        asset = create_asset(
            scope,
            {
                "asset_code": f"{prefix}-{next(_seq):04d}",
                "name": "接口测试设备",
                "category_id": category_id,
                "commissioned_on": "2024-03-15",
            },
        )
        db.session.commit()
        return asset.id


def get(client, url, token):
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


def post_inspection(client, asset_id: int, token: str) -> int:
    """Status of recording a passed inspection on the asset's first duty."""
    with use_scope(Scope.system()):
        duty = db.session.scalar(
            select(Obligation.id).where(Obligation.asset_id == asset_id).order_by(Obligation.id)
        )
    response = client.post(
        f"/api/v1/obligations/{duty}/inspections",
        json={"inspected_on": "2025-01-02", "conclusion": "符合要求", "report_no": "API-R0",
              "agency": "测试检验机构"},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code


@pytest.fixture
def client(app):
    """A plain client: the API takes JSON and bearer tokens, no forms or CSRF."""
    return app.test_client()


@pytest.fixture
def prefix() -> str:
    import uuid

    return "API" + uuid.uuid4().hex[:5].upper()


def test_a_missing_unknown_or_revoked_token_is_401(app, client, login):
    for headers in ({}, {"Authorization": "Bearer ar_not-a-real-token"}, {"Authorization": "x"}):
        response = client.get("/api/v1/assets", headers=headers)
        assert response.status_code == 401
        assert response.json["error"] == "invalid_token"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    token = token_for("rmyy")
    assert get(client, "/api/v1/assets", token).status_code == 200
    with use_scope(Scope.system()):
        row = db.session.scalars(
            select(services.ApiToken).where(services.ApiToken.token_hash == services._digest(token))
        ).one()
        services.revoke_token(Scope.system(), row.id)
        db.session.commit()
    assert get(client, "/api/v1/assets", token).status_code == 401
    # a signed-in browser session is not an API credential
    browser = login("rmyy")
    assert browser.get("/api/v1/assets").status_code == 401


def test_each_token_sees_its_own_organisation_only(app, client, prefix):
    mine = new_asset("rmyy", prefix)
    theirs = new_asset("hcxf", prefix)
    rmyy, hcxf = token_for("rmyy"), token_for("hcxf")

    listed = get(client, f"/api/v1/assets?q={prefix}", rmyy).json
    assert [a["id"] for a in listed["items"]] == [mine] and listed["total"] == 1
    with use_scope(Scope.system()):
        qr_token = db.session.scalar(select(Asset.qr_token).where(Asset.id == mine))
    assert listed["items"][0]["scan_url"] == f"{app.config['BASE_URL']}/a/{qr_token}"
    assert get(client, f"/api/v1/assets/{theirs}", rmyy).status_code == 404
    assert get(client, f"/api/v1/assets/{mine}", hcxf).status_code == 404
    detail = get(client, f"/api/v1/assets/{mine}", rmyy).json
    assert detail["asset_code"].startswith(prefix) and detail["obligations"]

    assert post_inspection(client, theirs, rmyy) == 404

    due = get(client, "/api/v1/obligations/due?days=90&per_page=200", rmyy).json
    rmyy_org = scope_of("rmyy").org_id
    with use_scope(Scope.system()):
        orgs = set(
            db.session.scalars(
                select(Obligation.org_id).where(Obligation.id.in_([o["id"] for o in due["items"]]))
            )
        )
    assert orgs <= {rmyy_org}
    alerts = get(client, "/api/v1/alerts?per_page=200", hcxf).json
    assert {a["org_id"] for a in alerts["items"]} <= {scope_of("hcxf").org_id}


def test_the_regulators_token_sees_special_equipment_only(app, client, prefix):
    lift = new_asset("hcxf", prefix, category="SE-3000")
    plain = new_asset("hcxf", prefix)
    regulator = token_for("scjg")
    listed = get(client, f"/api/v1/assets?q={prefix}", regulator).json
    assert [a["id"] for a in listed["items"]] == [lift]
    assert listed["items"][0]["is_special"] is True
    assert get(client, f"/api/v1/assets/{plain}", regulator).status_code == 404
    assert post_inspection(client, lift, regulator) == 403  # it watches, it does not write


def test_recording_an_inspection_moves_the_duty_and_is_audited(app, client, prefix):
    asset_id = new_asset("rmyy", prefix)
    token = token_for("rmyy")
    with use_scope(Scope.system()):
        duty = db.session.scalars(
            select(Obligation)
            .where(Obligation.asset_id == asset_id, Obligation.interval_months.is_not(None))
            .order_by(Obligation.id)
        ).first()
        duty_id, months = duty.id, duty.interval_months
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/obligations/{duty_id}/inspections"
    bad = client.post(
        url, json={"inspected_on": "2025-01-02", "conclusion": "还行"}, headers=headers
    )
    assert bad.status_code == 422 and bad.json["field"] == "conclusion"
    assert client.post(url, data="not json", headers=headers).status_code == 400
    response = client.post(
        url,
        json={"inspected_on": "2026-01-10", "conclusion": "符合要求", "report_no": f"{prefix}-R1",
              "agency": "测试检验机构"},
        headers=headers,
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["obligation"]["last_done"] == "2026-01-10"
    expected_year, expected_month = divmod(2026 * 12 + 0 + months, 12)
    assert body["next_due"] == f"{expected_year}-{expected_month + 1:02d}-10"
    with use_scope(Scope.system()):
        record = db.session.get(InspectionRecord, body["id"])
        assert record.method == "api" and record.report_no == f"{prefix}-R1"
        audited = db.session.scalars(
            select(AuditEvent.user_id).where(
                AuditEvent.entity == "inspection_record", AuditEvent.entity_id == body["id"]
            )
        ).all()
        rmyy_user = db.session.get(Membership, membership_id("rmyy")).user_id
    assert audited == [rmyy_user]


def test_openapi_document_describes_every_route(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"].startswith("3.0") and doc["components"]["securitySchemes"]["bearer"]
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi":
            path = rule.rule.removeprefix("/api/v1")
            for name in rule.arguments:
                path = path.replace(f"<int:{name}>", "{" + name + "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((path, method.lower()))
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert routes == documented


def test_token_cli_create_list_revoke(app):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["api-token", "create", "hcxf", "--name", "巡检系统"])
    assert created.exit_code == 0, created.output
    token_id, token = int(created.output.split()[1]), created.output.split()[-1]
    assert token.startswith("ar_")
    listed = runner.invoke(args=["api-token", "list"])
    assert f"{token_id}\t{token[:12]}…\thcxf\t巡检系统\tactive" in listed.output
    assert token not in listed.output
    assert runner.invoke(args=["api-token", "revoke", str(token_id)]).exit_code == 0
    assert services.membership_for_token(token) is None
    assert runner.invoke(args=["api-token", "create", "nobody"]).exit_code != 0


def _created_token(page: str) -> str:
    import re

    found = re.search(r'id="new-token-value">(ar_[^<]+)<', page)
    assert found, "the new token is shown once"
    return found[1]


def test_a_manager_issues_and_revokes_a_token_in_the_browser_pages(app, login, client):
    manager = login("rmyy")
    assert manager.post("/api-tokens/", {"name": ""}).status_code == 302  # a purpose is asked
    page = manager.post("/api-tokens/", {"name": "巡检平台"}).get_data(as_text=True)
    token = _created_token(page)
    assert get(client, "/api/v1/assets?per_page=1", token).status_code == 200
    listing = manager.get("/api-tokens/").get_data(as_text=True)
    assert "巡检平台" in listing and token[:12] in listing and token not in listing
    with use_scope(Scope.system()):
        token_id = db.session.scalar(
            select(services.ApiToken.id).where(
                services.ApiToken.token_hash == services._digest(token)
            )
        )
    # another institution neither sees nor revokes it
    other = login("hcxf")
    assert token[:12] not in other.get("/api-tokens/").get_data(as_text=True)
    assert other.post(f"/api-tokens/{token_id}/revoke", {}).status_code == 404
    assert get(client, "/api/v1/assets?per_page=1", token).status_code == 200
    # staff of the same institution see only their own tokens, and cannot revoke this one
    staff = login("rmyy_xj")
    assert token[:12] not in staff.get("/api-tokens/").get_data(as_text=True)
    assert staff.post(f"/api-tokens/{token_id}/revoke", {}).status_code == 404
    own = _created_token(staff.post("/api-tokens/", {"name": "我的脚本"}).get_data(as_text=True))
    assert own[:12] in staff.get("/api-tokens/").get_data(as_text=True)
    # the manager revokes: the token answers 401 from then on
    assert manager.post(f"/api-tokens/{token_id}/revoke", {}).status_code == 302
    assert get(client, "/api/v1/assets?per_page=1", token).status_code == 401
    assert "已吊销" in manager.get("/api-tokens/").get_data(as_text=True)


def test_the_regulator_keeps_its_own_tokens(app, login, client):
    regulator = login("scjg")
    token = _created_token(
        regulator.post("/api-tokens/", {"name": "监管平台"}).get_data(as_text=True)
    )
    assert token[:12] in regulator.get("/api-tokens/").get_data(as_text=True)
    assert get(client, "/api/v1/assets?per_page=1", token).status_code == 200


def test_assets_filter_by_safety_state(app, client):
    token = token_for("hcxf")
    response = get(client, "/api/v1/assets?safety=failed&per_page=100", token)
    assert response.status_code == 200
    items = response.json["items"]
    assert items and {item["compliance"] for item in items} == {"failed"}
    assert "HCXF-DT-2006-001" in {item["asset_code"] for item in items}
    bad = get(client, "/api/v1/assets?safety=green", token)
    assert bad.status_code == 400 and bad.json["parameter"] == "safety"
