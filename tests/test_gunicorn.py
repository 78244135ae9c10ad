"""The production server: gunicorn with the production config serves /healthz and a
signed-in page (what `make serve` runs), then stops cleanly."""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from asset_registry.tenancy.seed import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn(app, tmp_path):
    gunicorn_bin = Path(sys.executable).with_name("gunicorn")
    if not gunicorn_bin.exists() and not shutil.which("gunicorn"):
        pytest.fail("gunicorn is a dependency: pip install -e .")
    port = _free_port()
    env = {
        **os.environ,
        "ASSET_REGISTRY_CONFIG": "production",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "SESSION_COOKIE_SECURE": "0",  # plain HTTP in this test; TLS ends at the proxy
    }
    if app.config.get("DATABASE_ROLE"):
        env["DATABASE_ROLE"] = app.config["DATABASE_ROLE"]
    process = subprocess.Popen(
        [str(gunicorn_bin), "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "asset_registry:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("gunicorn exited: " + process.stdout.read().decode()[-2000:])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.3)
    yield base, process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_gunicorn_serves_health_and_a_signed_in_page(gunicorn):
    base, process = gunicorn
    with urllib.request.urlopen(f"{base}/healthz", timeout=30) as r:
        assert r.status == 200 and b'"ok"' in r.read()
        assert "gunicorn/" not in r.headers.get("Server", "")  # no version
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(f"{base}/login", timeout=30).read().decode()
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    form = urllib.parse.urlencode(
        {"csrf_token": token, "username": "rmyy", "password": DEMO_PASSWORD}
    ).encode()
    page = opener.open(f"{base}/login", data=form, timeout=30)  # follows the redirect
    assert "/login" not in page.url
    with opener.open(f"{base}/assets/", timeout=30) as r:
        assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
        assert "资产" in r.read().decode()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
