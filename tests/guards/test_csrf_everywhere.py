"""Every state-changing route of the web interface refuses a signed-in POST without a
valid CSRF token: 400 with the "page expired" page, before any view runs. Only the token
API is exempt (it ignores session cookies, so a forged request carries no authority)."""

from __future__ import annotations

import re

import pytest

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# the JSON API authenticates by bearer token only: no cookie, so nothing to forge
EXEMPT_BLUEPRINTS = {"api"}


def _url(rule) -> str:
    url = rule.rule
    for name in rule.arguments:
        url = re.sub(rf"<(?:[^:>]+:)?{name}>", "1", url)
    return url


def _routes(app):
    for rule in app.url_map.iter_rules():
        methods = sorted((rule.methods or set()) & STATE_CHANGING)
        if methods and rule.endpoint != "static":
            yield rule, methods


def test_there_are_state_changing_routes_in_every_domain(app):
    blueprints = {rule.endpoint.split(".")[0] for rule, _ in _routes(app)}
    assert {"assets", "inspections", "plans", "alerts", "imports", "auth"} <= blueprints


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "invalid"])
def test_every_form_route_refuses_a_post_without_a_valid_token(app, login, token):
    c = login("admin")
    accepted = []
    for rule, methods in _routes(app):
        if rule.endpoint.split(".")[0] in EXEMPT_BLUEPRINTS:
            continue
        url = _url(rule)
        for method in methods:
            data = {} if token is None else {"csrf_token": token}
            response = c.client.open(url, method=method, data=data)
            html = response.get_data(as_text=True)
            if response.status_code != 400 or "页面已过期" not in html:
                accepted.append(f"{method} {url} ({rule.endpoint}) → {response.status_code}")
    assert accepted == []
    # and the session is intact: the refusals did not sign the user out
    assert c.get("/assets/").status_code == 200


def test_the_exempt_api_ignores_the_session(app, login):
    c = login("admin")
    refused = []
    for rule, methods in _routes(app):
        if rule.endpoint.split(".")[0] not in EXEMPT_BLUEPRINTS:
            continue
        for method in methods:
            response = c.client.open(_url(rule), method=method, json={})
            if response.status_code != 401:
                refused.append(f"{method} {rule.rule} → {response.status_code}")
    assert refused == []
