"""No input makes a 5xx: every route in app.url_map gets hostile path and query values
(ids beyond every integer column, control characters, numbers beyond any precision),
signed in as each kind of user; forms get them in every field they read."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from flask_wtf import FlaskForm

ROOT = Path(__file__).resolve().parent.parent
ROLES = ("admin", "wjw", "scjg", "rmyy", "rmyy_xj")
# beyond PostgreSQL's int4, SQLite's int64 and any 64-bit integer
HUGE_IDS = ("2147483648", "9223372036854775808", "18446744073709551616")
HOSTILE = (
    *HUGE_IDS,
    "-9223372036854775809",
    "1e309",
    "nan",
    "a\x00b",
    "\x01\x1b[31m\x7f",
    "%",
    "9" * 400,
)
# routes whose side effects would end the signed-in session the test relies on
SKIP_POST = {"auth.logout"}
# read by helpers under names no regex can see (pagination, filters built from args)
EXTRA_PARAMS = ("page", "per_page", "year", "org", "category", "kind", "sort", "today")


def _names(pattern: str) -> set[str]:
    names = set()
    for path in (ROOT / "asset_registry").rglob("*.py"):
        names.update(re.findall(pattern, path.read_text()))
    return names


QUERY_PARAMS = sorted(_names(r"args\.get(?:list)?\(\s*[\"'](\w+)[\"']") | set(EXTRA_PARAMS))
FORM_FIELDS = sorted(
    _names(r"(?:form|data|values)\.get(?:list)?\(\s*[\"'](\w+)[\"']")
    | _names(r"read_\w+\(\s*\w+,\s*[\"'](\w+)[\"']")
)


def _wtforms_fields() -> set[str]:
    fields, todo = set(), list(FlaskForm.__subclasses__())
    while todo:
        form = todo.pop()
        todo.extend(form.__subclasses__())
        fields.update(name for name in dir(form) if hasattr(getattr(form, name), "field_class"))
    return fields


def _rules(app, method):
    for rule in app.url_map.iter_rules():
        if method in rule.methods and rule.endpoint != "static":
            yield rule


def _url(rule, value_for_int: str, value_for_text: str) -> str:
    url = rule.rule
    for name, converter in rule._converters.items():
        value = value_for_int if converter.__class__.__name__ == "IdConverter" else value_for_text
        url = re.sub(rf"<(?:[^:>]+:)?{name}>", value, url)
    return url


def _status(call, *args, **kwargs):
    """The response's status; an exception the app let through (the test app propagates
    them instead of answering 500) counts as a 500 with its message."""
    try:
        return call(*args, **kwargs).status_code, ""
    except Exception as exc:  # noqa: BLE001 - every escape is a finding
        return 500, f"{type(exc).__name__}: {str(exc)[:120]}"


def _assert_no_5xx(failures: list[str]):
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:40])


@pytest.mark.parametrize("username", ROLES)
def test_get_routes_survive_hostile_paths_and_queries(login, username):
    c = login(username)
    app = c.client.application
    failures = []
    for rule in _rules(app, "GET"):
        urls = [_url(rule, big, "a%00b") for big in HUGE_IDS]
        base = _url(rule, "1", "x")
        for value in HOSTILE:
            urls.append(base)
            query = {name: value for name in QUERY_PARAMS}
            status, why = _status(c.get, base, query_string=query)
            if status >= 500:
                failures.append(f"{username} GET {base} ?*={value!r} → {status} {why}")
        for url in urls[: len(HUGE_IDS)]:
            status, why = _status(c.get, url)
            if status >= 500:
                failures.append(f"{username} GET {url} → {status} {why}")
            elif rule.arguments:
                assert status == 404, (url, status)
    _assert_no_5xx(failures)


@pytest.mark.parametrize("username", ("admin", "rmyy", "rmyy_xj"))
def test_forms_survive_hostile_fields(login, username):
    c = login(username)
    app = c.client.application
    fields = sorted(set(FORM_FIELDS) | _wtforms_fields() - {"csrf_token"})
    failures = []
    for rule in _rules(app, "POST"):
        if rule.endpoint in SKIP_POST:
            continue
        # ids beyond the range name nothing (404 before any body is read); the other
        # routes read their fields
        url = _url(rule, HUGE_IDS[0], "x")
        for value in ("a\x00b", "1e309", HUGE_IDS[1], "-1"):
            status, why = _status(c.post, url, {name: value for name in fields})
            if status >= 500:
                failures.append(f"{username} POST {url} *={value!r} → {status} {why}")
    _assert_no_5xx(failures)


@pytest.mark.parametrize("username", ("admin", "rmyy_xj"))
def test_a_bad_csrf_token_is_the_page_expired_page(login, username):
    c = login(username)
    app = c.client.application
    for rule in _rules(app, "POST"):
        if rule.endpoint.startswith("api."):
            continue  # bearer tokens, not cookies: no CSRF
        url = _url(rule, "1", "x")
        response = c.client.post(url, data={"csrf_token": "forged"})
        assert response.status_code == 400, (url, response.status_code)
        assert "页面已过期" in response.get_data(as_text=True), url


def test_an_oversized_upload_is_the_413_page(app, login):
    c = login("rmyy")
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = c.post("/imports/", {"file": (__import__("io").BytesIO(b"x" * 4096), "a.xlsx")})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413
    assert "文件过大" in response.get_data(as_text=True)


def test_control_characters_are_stripped_from_queries_and_forms(app):
    with app.test_request_context("/?q=a%00b%1bc", method="POST", data={"name": "x\x00y\ttab"}):
        from flask import request

        assert request.args["q"] == "abc"
        assert request.form["name"] == "xy\ttab"


# --- the same on real objects: a fresh institution's own pages, crawled ---------------

CRAWL_LIMIT = 80
LINK_RE = re.compile(r'href="(/[^"#]*)"')
FORM_RE = re.compile(r'<form\b[^>]*method="post"[^>]*action="(/[^"]*)"', re.I)
FORM_RE2 = re.compile(r'<form\b[^>]*action="(/[^"]*)"[^>]*method="post"', re.I)


@pytest.fixture(scope="module")
def own_site(app):
    """An institution of its own (manager and inspector, equipment with duties), so the
    crawl may post anything without touching anybody else's data."""
    import uuid

    from sqlalchemy import select

    from asset_registry.assets.services import create_asset
    from asset_registry.catalog.models import Category
    from asset_registry.extensions import db
    from asset_registry.tenancy import services
    from asset_registry.tenancy.models import Membership, Organisation
    from asset_registry.tenancy.scope import Scope, use_scope
    from asset_registry.tenancy.seed import DEMO_PASSWORD
    from tests.helpers import scope_of

    code = f"fz{uuid.uuid4().hex[:6]}"
    with use_scope(Scope.system()):
        bureau = db.session.scalars(
            select(Organisation.id).join(Membership, Membership.org_id == Organisation.id)
            .where(Membership.role == "bureau_reviewer")
        ).first()
        org = services.save_organisation(
            Scope.system(), code=code, name="模糊测试医院", kind="institution",
            parent_id=bureau, sector="health",
        )
        for suffix, role in (("m", "institution_manager"), ("s", "institution_staff")):
            services.create_user(
                Scope.system(), username=f"{code}{suffix}", display_name=code,
                password=DEMO_PASSWORD, org_id=org.id, role=role,
            )
        db.session.commit()
    scope = scope_of(f"{code}m")
    with use_scope(scope):
        for n, category in enumerate(("MED-06", "SE-3000", "SE-9000")):
            category_id = db.session.scalar(select(Category.id).where(Category.code == category))
            if category_id:
                create_asset(scope, {"asset_code": f"{code}-{n}", "name": "模糊测试设备",
                                     "category_id": category_id,
                                     "commissioned_on": "2015-03-15"})
        db.session.commit()
    return code


def _crawl(c, app) -> tuple[dict[str, str], set[str]]:
    """One GET link per endpoint (with real ids) and every POST form action found."""
    adapter = app.url_map.bind("localhost")
    links, actions, seen = {}, set(), set()
    todo = ["/assets/", "/inspections/due", "/plans/", "/alerts/", "/imports/",
            "/api-tokens/", "/admin/users", "/admin/orgs", "/dashboard/"]
    while todo and len(seen) < CRAWL_LIMIT:
        url = todo.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = c.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        actions.update(FORM_RE.findall(html) + FORM_RE2.findall(html))
        for href in LINK_RE.findall(html):
            path = href.split("?")[0]
            try:
                endpoint, _ = adapter.match(path, method="GET")
            except Exception:  # noqa: BLE001 - not a GET route of ours
                continue
            if endpoint in ("static", "auth.logout") or endpoint in links:
                continue
            links[endpoint] = path
            todo.append(path)
            with contextlib.suppress(Exception):  # a page that posts to itself (forms)
                adapter.match(path, method="POST")
                actions.add(path)
    return links, actions


# the inspector first: the manager's run may deactivate the inspector (its own site's user)
@pytest.mark.parametrize("suffix", ["s", "m"])
def test_real_pages_and_forms_survive_hostile_input(login, own_site, suffix):
    c = login(f"{own_site}{suffix}")
    app = c.client.application
    links, actions = _crawl(c, app)
    assert len(links) > 10 and actions  # the crawl found the site
    fields = sorted(set(FORM_FIELDS) | _wtforms_fields() - {"csrf_token"})
    failures = []
    for path in sorted(links.values()):
        for value in HOSTILE[:8]:
            status, why = _status(c.get, path, query_string={n: value for n in QUERY_PARAMS})
            if status >= 500:
                failures.append(f"GET {path} ?*={value!r} → {status} {why}")
    for action in sorted(actions):
        if action.startswith(("/logout", "/lang/")):
            continue
        for value in ("a\x00b", "1e309", HUGE_IDS[1], "-1", ""):
            status, why = _status(c.post, action, {name: value for name in fields})
            if status >= 500:
                failures.append(f"POST {action} *={value!r} → {status} {why}")
    _assert_no_5xx(failures)
