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
