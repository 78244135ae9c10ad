"""Shared fixtures: a real database (SQLite file or a throw-away PostgreSQL database),
the seeded Jincheng demo, signed-in clients, a live server and a real browser."""

from __future__ import annotations

import contextvars
import itertools
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from asset_registry import create_app
from asset_registry.extensions import db
from asset_registry.tenancy.scope import Scope, set_scope
from asset_registry.tenancy.seed import DEMO_PASSWORD
from config import TestingConfig
from tests.helpers import APP_ROLE, scope_of, throwaway_database_url

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app")
    url, cleanup = throwaway_database_url(tmp, owner=APP_ROLE)

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = url
        UPLOAD_DIR = str(tmp / "uploads")
        DATABASE_ROLE = APP_ROLE if url.startswith("postgresql") else None

    application = create_app(Config)
    application.test_client_class = IsolatedClient
    ctx = application.app_context()
    ctx.push()
    _create_and_seed(url)
    db.session.remove()
    yield application
    db.session.remove()
    ctx.pop()
    with application.app_context():
        db.engine.dispose()
    cleanup()
    shutil.rmtree(tmp, ignore_errors=True)


def _create_and_seed(url: str) -> None:
    """The schema and the whole demo. With TEST_SEED_CACHE (a folder; SQLite only) the
    seeded database is built once and copied into later sessions: mutation testing starts
    a short pytest session per mutant, and seeding would be most of its time."""
    from asset_registry.cli import seed_all

    cache = os.environ.get("TEST_SEED_CACHE")
    if not cache or not url.startswith("sqlite:///"):
        db.create_all()
        seed_all()
        return
    import hashlib
    import sqlite3

    target = url.removeprefix("sqlite:///")
    # keyed by the code that makes the schema and the demo: a change makes a new one
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parents[1].glob("asset_registry/**/*.py")):
        digest.update(path.read_bytes())
    template = Path(cache) / f"seeded-{digest.hexdigest()[:16]}.db"
    if template.exists():
        with sqlite3.connect(template) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        return
    db.create_all()
    seed_all()
    db.session.remove()
    Path(cache).mkdir(parents=True, exist_ok=True)
    partial = template.with_suffix(".partial")
    with sqlite3.connect(target) as source, sqlite3.connect(partial) as copy:
        source.backup(copy)
    partial.replace(template)  # whole or nothing, should a run stop half-way


@pytest.fixture(autouse=True)
def _fresh_session(request):
    """Each test starts with a clean session and no scope."""
    if "app" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("app")
    db.session.remove()
    yield
    db.session.rollback()
    db.session.remove()


@pytest.fixture
def as_user():
    """`with as_user("rmyy") as scope:` runs service code in that user's scope."""
    import contextlib

    @contextlib.contextmanager
    def _as(username: str):
        scope = scope_of(username)
        set_scope(scope)
        try:
            yield scope
        finally:
            set_scope(None)

    return _as


@pytest.fixture
def system_scope(app):
    set_scope(Scope.system())
    yield Scope.system()
    set_scope(None)


CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class IsolatedClient(FlaskClient):
    """Runs each request in an empty context, so it gets its own app context, `g` and
    database session like a real request, not the test's pushed ones."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


class FormClient:
    """A Flask test client that signs in and sends the CSRF token like a browser."""

    _addresses = itertools.count(1)

    def __init__(self, client):
        self.client = client
        self._token = None
        # each client signs in from its own address, so the sign-in throttle
        # of one test never locks out another
        n = next(self._addresses)
        self.address = f"10.0.{n // 250}.{n % 250 + 1}"
        client.environ_base["REMOTE_ADDR"] = self.address

    def __getattr__(self, name):
        return getattr(self.client, name)

    def fresh(self) -> FormClient:
        return FormClient(self.client.application.test_client())

    def csrf_token(self) -> str:
        if self._token is None:
            html = self.client.get("/login", follow_redirects=True).get_data(as_text=True)
            match = CSRF_RE.search(html)
            assert match, "no CSRF token on the page"
            self._token = match.group(1)
        return self._token

    def post(self, url, data=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.client.post(url, data=data, **kwargs)

    def login(self, username: str, password: str = DEMO_PASSWORD):
        response = self.post("/login", {"username": username, "password": password})
        self._token = None  # the session was renewed at sign-in
        return response


@pytest.fixture
def client(app):
    return FormClient(app.test_client())


@pytest.fixture
def login(app):
    """`login("rmyy")` → a FormClient signed in as that demo user."""

    def _login(username: str) -> FormClient:
        c = FormClient(app.test_client())
        response = c.login(username)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return c

    return _login


# --- real browser ------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def _playwright():
    # The browser drives the same pages on either database: make test runs it in the
    # SQLite pass and keeps the PostgreSQL pass to the database's own behaviour (CI time);
    # E2E_ON_POSTGRES=1 runs it there too.
    if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql") and not os.environ.get(
        "E2E_ON_POSTGRES"
    ):
        pytest.skip("browser tests run in the SQLite pass (E2E_ON_POSTGRES=1 to run them here)")
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (REQUIRE_BROWSER is set)")
        pytest.skip("Chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(_playwright):
    b = _playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield b
    b.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, locale="zh-CN")
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def phone(browser, live_server):
    """A 390×844 phone-sized page."""
    context = browser.new_context(
        base_url=live_server, viewport={"width": 390, "height": 844}, is_mobile=True,
        has_touch=True, locale="zh-CN",
    )
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    context.close()
