"""Webhook destinations are resolved and checked at every delivery, redirects are never
followed, and internal addresses are reachable only when WEBHOOK_ALLOWED_HOSTS lists them."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from asset_registry.alerts import delivery
from asset_registry.alerts.delivery import WebhookRefused, resolve_destination


class Receiver:
    def __init__(self, status=200, location=None):
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                receiver.received.append(json.loads(self.rfile.read(length)))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                body = b'{"errcode": 0}'
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/robot?key=k"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made = []

    def make(**kwargs):
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8080/x",
        "http://10.1.2.3/x",
        "http://172.16.0.1/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/x",
        "http://[::1]/x",
        "http://[::ffff:10.0.0.1]/x",
        "http://0.0.0.0/x",
    ],
)
def test_internal_destinations_are_refused_unless_listed(url):
    with pytest.raises(WebhookRefused):
        resolve_destination(url, "")
    host = url.split("/")[2].rsplit(":", 1)[0] if "[" not in url else url.split("/")[2]
    if "[" not in host:
        assert resolve_destination(url, f"{host}, 203.0.113.0/24")[1] == host


def test_networks_in_the_allow_list_cover_their_addresses():
    assert resolve_destination("http://10.9.8.7/x", "10.0.0.0/8")[3] == "10.9.8.7"
    with pytest.raises(WebhookRefused):
        resolve_destination("http://10.9.8.7/x", "192.168.0.0/16")


def test_only_http_and_https(monkeypatch):
    for url in ("ftp://robot.example/x", "file:///etc/passwd", "gopher://x/", "not a url"):
        with pytest.raises(WebhookRefused):
            resolve_destination(url, "")


def test_the_name_is_checked_at_delivery_not_only_when_saved(app, monkeypatch, receivers):
    """A name that looked public when the address was saved but now points inside."""
    hook = receivers()
    calls = []

    def rebinding(host, port, *args, **kwargs):
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with app.app_context(), pytest.raises(WebhookRefused, match="10.0.0.5"):
        delivery._post_json("http://robot.example.com/send", {"msgtype": "text"})
    assert calls == ["robot.example.com"] and hook.received == []


def test_a_listed_receiver_gets_the_post_and_an_unlisted_one_does_not(app, receivers):
    hook = receivers()
    with app.app_context():
        assert app.config["WEBHOOK_ALLOWED_HOSTS"] == "127.0.0.1"
        delivery._post_json(hook.url, {"msgtype": "text", "n": 1})
        assert hook.received == [{"msgtype": "text", "n": 1}]
        app.config["WEBHOOK_ALLOWED_HOSTS"] = ""
        try:
            with pytest.raises(WebhookRefused):
                delivery._post_json(hook.url, {"n": 2})
        finally:
            app.config["WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"
    assert len(hook.received) == 1


def test_redirects_are_not_followed(app, receivers):
    inside = receivers()
    bouncer = receivers(status=302, location=inside.url)
    with app.app_context(), pytest.raises(WebhookRefused, match="redirect"):
        delivery._post_json(bouncer.url, {"n": 1})
    assert len(bouncer.received) == 1 and inside.received == []


def test_an_error_status_is_a_failed_delivery(app, receivers):
    hook = receivers(status=500)
    with app.app_context(), pytest.raises(OSError, match="500"):
        delivery._post_json(hook.url, {"n": 1})
