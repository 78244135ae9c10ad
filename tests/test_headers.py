"""Security headers on every response; no caching of signed-in pages; HSTS in production."""

from __future__ import annotations

import secrets

from asset_registry import create_app
from config import ProductionConfig


def test_headers_on_a_public_page(client):
    r = client.get("/login")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "Server" not in r.headers
    assert "no-store" not in r.headers.get("Cache-Control", "")
    assert "Strict-Transport-Security" not in r.headers  # not in development or tests


def test_signed_in_pages_are_not_stored(login):
    c = login("rmyy")
    for url in ("/api-tokens/", "/assets/", "/admin/users"):
        r = c.get(url)
        assert r.status_code == 200, url
        assert r.headers["Cache-Control"] == "no-store", url
    # the page that shows a new token once
    r = c.post("/api-tokens/", {"name": "cache-check", "expires_in_days": "30"})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    # static files may still be cached
    assert "no-store" not in c.get("/static/js/app.js").headers.get("Cache-Control", "")


def test_production_sends_hsts(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(40))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")

    class Production(ProductionConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'p.db'}"
        UPLOAD_DIR = str(tmp_path / "uploads")
        INSTANCE_PATH = str(tmp_path)

    app = create_app(Production)
    r = app.test_client().get("/login", base_url="https://registry.example")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_content_security_policy_forbids_inline_script_and_framing(client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no nonce bypass
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"


def test_no_template_carries_inline_script():
    """Inline script would be blocked by the policy: behaviour lives in static/js."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "templates"
    offenders = []
    for path in root.rglob("*.html"):
        html = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", html):
            if "src=" not in tag and 'type="application/json"' not in tag:
                offenders.append(f"{path.relative_to(root)}: {tag}")
        for handler in re.findall(r"\s(on[a-z]+)=[\"']", html):
            offenders.append(f"{path.relative_to(root)}: {handler}= attribute")
        if "javascript:" in html:
            offenders.append(f"{path.relative_to(root)}: javascript: URL")
    assert not offenders, offenders


def test_every_script_a_page_loads_exists(login):
    import re

    c = login("rmyy")
    for url in ("/assets/", "/assets/new", "/imports/", "/plans/"):
        html = c.get(url).get_data(as_text=True)
        for src in re.findall(r'<script src="([^"]+)"', html):
            assert c.get(src).status_code == 200, (url, src)
