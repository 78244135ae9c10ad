"""/api/v1 keeps its contract: JSON for every answer (errors too) and no session cookie,
a 400 naming any invalid parameter, empty pages past the end, and an OpenAPI document
that schemathesis checks against the live app (all checks, stateful links)."""

from __future__ import annotations

import contextlib
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.generation import GenerationMode
from sqlalchemy import select

from asset_registry.api import services
from asset_registry.assets.services import create_asset
from asset_registry.catalog.models import Category
from asset_registry.extensions import db
from asset_registry.tenancy import services as tenancy
from asset_registry.tenancy.models import Membership
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import scope_of


@pytest.fixture(scope="module")
def site(app):
    """A fresh institution with a manager, two assets and the manager's token."""
    code = f"api{uuid.uuid4().hex[:6]}"
    with use_scope(Scope.system()):
        bureau = db.session.scalars(
            select(Membership.org_id).join(Membership.user).where(
                Membership.role == "bureau_reviewer"
            )
        ).first()
        org = tenancy.save_organisation(
            Scope.system(), code=code, name="接口测试医院", kind="institution",
            parent_id=bureau, sector="health",
        )
        user = tenancy.create_user(
            Scope.system(), username=code, display_name=code, password="long-enough-1",
            org_id=org.id, role="institution_manager",
        )
        db.session.commit()
        membership = tenancy.memberships_of(user)[0]
        _, token = services.issue_token(Scope.system(), membership, "conformance")
        db.session.commit()
    scope = scope_of(code)
    with use_scope(scope):
        category = db.session.scalar(select(Category.id).where(Category.code == "MED-06"))
        ids = [
            create_asset(scope, {"asset_code": f"{code}-{n}", "name": "接口设备",
                                 "category_id": category, "commissioned_on": "2024-03-15"}).id
            for n in range(2)
        ]
        db.session.commit()
    return {"token": token, "asset_ids": ids, "username": code}


def _get(client, url, token, **kwargs):
    return client.get(url, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def test_errors_are_json_and_no_session_cookie_is_set(client, login, site):
    token = site["token"]
    for method, url, status in (
        ("get", "/api/v1/no-such-thing", 404),
        ("post", "/api/v1/assets", 405),
        ("get", "/api/v1/assets/2147483647", 404),
        ("get", "/api/v1/assets/99999999999", 404),
        ("get", "/api/v1/assets", 200),
    ):
        r = getattr(client.client, method)(url, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == status, url
        assert r.is_json and (status == 200 or "error" in r.json), url
        assert "Set-Cookie" not in r.headers, url
        assert r.headers["Cache-Control"] == "no-store"
    # a signed-in browser's cookie does not authenticate the API, and is not renewed
    browser = login("rmyy")
    r = browser.get("/api/v1/assets")
    assert r.status_code == 401 and r.is_json and "Set-Cookie" not in r.headers


def test_a_server_error_is_json_too(app, client, site, monkeypatch):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setitem(app.view_functions, "api.conclusions", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    r = _get(client, "/api/v1/conclusions", site["token"])
    assert r.status_code == 500 and r.is_json and r.json["error"] == "internal_server_error"


@pytest.mark.parametrize(
    "url, parameter",
    [
        ("/api/v1/assets?per_page=null", "per_page"),
        ("/api/v1/assets?per_page=201", "per_page"),
        ("/api/v1/assets?page=abc", "page"),
        ("/api/v1/assets?page=0", "page"),
        ("/api/v1/assets?status=bogus", "status"),
        ("/api/v1/assets?category_id=99999999999", "category_id"),
        ("/api/v1/assets?special=maybe", "special"),
        ("/api/v1/assets?colour=red", "colour"),
        ("/api/v1/assets?page=1&page=2", "page"),
        ("/api/v1/obligations/due?days=45", "days"),
        ("/api/v1/alerts?status=bogus", "status"),
        ("/api/v1/alerts?rule=bogus", "rule"),
    ],
)
def test_invalid_parameters_are_a_400_naming_them(client, site, url, parameter):
    r = _get(client, url, site["token"])
    assert r.status_code == 400 and r.json["parameter"] == parameter
    assert parameter in r.json["message"]


@pytest.mark.parametrize("url", ["/api/v1/assets", "/api/v1/obligations/due?days=90",
                                 "/api/v1/alerts"])
def test_a_page_past_the_end_is_empty(client, site, url):
    sep = "&" if "?" in url else "?"
    first = _get(client, f"{url}{sep}per_page=1", site["token"]).json
    beyond = _get(client, f"{url}{sep}per_page=1&page={first['pages'] + 1}", site["token"])
    assert beyond.status_code == 200
    assert beyond.json["items"] == [] and beyond.json["page"] == first["pages"] + 1
    assert beyond.json["total"] == first["total"]


def test_the_asset_list_pages_to_the_end_and_stops(client, site):
    seen, page = [], 1
    while True:
        body = _get(client, f"/api/v1/assets?per_page=1&page={page}", site["token"]).json
        if not body["items"]:
            break
        seen += [a["id"] for a in body["items"]]
        page += 1
    assert sorted(seen) == sorted(site["asset_ids"])


def test_obligations_name_their_accepted_conclusions(client, site):
    detail = _get(client, f"/api/v1/assets/{site['asset_ids'][0]}", site["token"]).json
    sets = _get(client, "/api/v1/conclusions", site["token"]).json["conclusion_sets"]
    assert detail["obligations"]
    for duty in detail["obligations"]:
        assert set(duty["conclusions"]) == set(sets[duty["conclusion_set"]])
    assert sets["general"]["不符合要求"] is False


def test_the_schema_describes_every_field_returned(client, site):
    doc = client.get("/api/v1/openapi.json").json
    schemas = doc["components"]["schemas"]
    detail = _get(client, f"/api/v1/assets/{site['asset_ids'][0]}", site["token"]).json
    assert set(detail) == set(schemas["AssetDetail"]["properties"])
    assert set(detail["obligations"][0]) == set(schemas["Obligation"]["properties"])
    for path in doc["paths"].values():
        for operation in path.values():
            if operation.get("parameters") or operation.get("requestBody"):
                assert {"400", "401"} <= set(operation["responses"])
    sets = _get(client, "/api/v1/conclusions", site["token"]).json["conclusion_sets"]
    documented = schemas["InspectionInput"]["properties"]["conclusion"]
    assert set(documented["enum"]) == {c for accepted in sets.values() for c in accepted}
    for name, accepted in sets.items():  # each set is spelled out for the reader
        assert f"{name}: " in documented["description"]
        assert all(c in documented["description"] for c in accepted)


# --- schemathesis against the live server ---------------------------------------------

EXAMPLES = 30  # per operation and mode: bounded, so the suite stays quick


def _run(strategy, failures: list[str], label: str) -> None:
    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    def check(case):
        try:
            case.call_and_validate()
        except Exception as exc:  # noqa: BLE001 - collect every finding, then report
            failures.append(f"{label}: {str(exc)[:600]}")

    # negative mode on an operation without parameters has nothing invalid to send
    with contextlib.suppress(Unsatisfiable):
        check()


def test_schemathesis_finds_nothing(live_server, site):
    """Every check schemathesis has, positive and negative data, on every operation,
    then the stateful run along the document's links."""
    schema = schemathesis.openapi.from_url(f"{live_server}/api/v1/openapi.json")
    # the token is the test's, not generated data: schemathesis sends it on every call
    # (and its ignored_auth check still tries without it and with a wrong one)
    schema.config.update(headers={"Authorization": f"Bearer {site['token']}"})
    schema.config.generation.update(with_security_parameters=False)
    # a well-formed inspection the rules refuse (a conclusion outside the duty's set, a
    # date before 1950 or in the future) is the documented 422: rules a JSON schema
    # cannot state, so 422 counts as an answer to valid data, like 404 does
    acceptance = schema.config.checks.positive_data_acceptance
    acceptance.expected_statuses = [*acceptance.expected_statuses, "422"]
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in GenerationMode:
            _run(operation.as_strategy(generation_mode=mode), failures,
                 f"{operation.label} [{mode.value}]")
    assert not failures, "\n\n".join(failures[:10])

    run_state_machine_as_test(
        schema.as_state_machine(),
        settings=settings(max_examples=30, stateful_step_count=6, deadline=None,
                          database=None, suppress_health_check=list(HealthCheck)),
    )


def test_control_characters_in_a_json_body_are_dropped(client, site):
    from asset_registry.inspections.models import InspectionRecord, Obligation
    from asset_registry.inspections.rules import CONCLUSIONS

    with use_scope(scope_of(site["username"])):
        duty = db.session.scalars(
            select(Obligation)
            .where(Obligation.asset_id == site["asset_ids"][1])
            .order_by(Obligation.id)
        ).first()
        passed = next(c for c, ok in CONCLUSIONS[duty.conclusion_set].items() if ok)
        duty_id = duty.id
    r = client.client.post(
        f"/api/v1/obligations/{duty_id}/inspections",
        json={"inspected_on": "2025-06-01", "conclusion": passed,
              "report_no": "NUL\x00-\x1b1", "agency": "检验\x00机构"},
        headers={"Authorization": f"Bearer {site['token']}"},
    )
    assert r.status_code == 201, r.json
    with use_scope(scope_of(site["username"])):
        record = db.session.scalars(
            select(InspectionRecord).where(InspectionRecord.id == r.json["id"])
        ).one()
        assert (record.report_no, record.agency) == ("NUL-1", "检验机构")
