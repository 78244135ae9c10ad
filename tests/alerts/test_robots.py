"""Group robots as they really work: DingTalk 加签 (timestamp and HMAC-SHA256 `sign` on each
call, checked by a receiver that verifies it as DingTalk does), digests split to the
robots' markdown size limits, and the settings page's test buttons showing the answer."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from asset_registry.alerts.delivery import (
    MAX_ROBOT_MESSAGES,
    ROBOT_LIMITS,
    robot_messages,
    sign_dingtalk,
)
from asset_registry.alerts.models import AlertSettings
from asset_registry.extensions import db
from asset_registry.tenancy.scope import Scope, use_scope
from tests.alerts.conftest import free_port
from tests.alerts.test_delivery import cli, deliveries_of

SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"


class DingTalk:
    """A DingTalk robot stand-in: refuses a call whose signature does not match the
    secret (errcode 310000, as DingTalk answers), records the accepted ones."""

    def __init__(self, secret: str):
        self.secret = secret
        self.received: list[dict] = []
        self.queries: list[dict] = []
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/robot/send?access_token=tok{port}"
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                query = parse_qs(urlsplit(self.path).query)
                robot.queries.append(query)
                answer = robot.answer(query, json.loads(body.decode("utf-8")))
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, query: dict, payload: dict) -> dict:
        timestamp, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
        expected = base64.b64encode(hmac.new(
            self.secret.encode(), f"{timestamp}\n{self.secret}".encode(), hashlib.sha256
        ).digest()).decode()
        if not timestamp or sign != expected:  # parse_qs has already URL-decoded it
            return {"errcode": 310000, "errmsg": "sign not match"}
        text = payload["markdown"]["text"]
        if len(text.encode("utf-8")) > ROBOT_LIMITS["dingtalk"]:
            return {"errcode": 460101, "errmsg": "message too long"}
        self.received.append(payload)
        return {"errcode": 0, "errmsg": "ok"}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def dingtalk():
    robot = DingTalk(SECRET)
    yield robot
    robot.close()


def test_signature_is_the_one_dingtalk_checks(dingtalk):
    url = sign_dingtalk(dingtalk.url, SECRET, timestamp_ms=1_700_000_000_000)
    query = parse_qs(urlsplit(url).query)
    assert query["access_token"] and query["timestamp"] == ["1700000000000"]
    assert dingtalk.answer(query, {"markdown": {"text": "x"}})["errcode"] == 0
    wrong = parse_qs(urlsplit(sign_dingtalk(dingtalk.url, "SECother", 1_700_000_000_000)).query)
    assert dingtalk.answer(wrong, {"markdown": {"text": "x"}})["errcode"] == 310000
    # the sign is URL-encoded: base64's + / = never reach the robot raw
    assert "+" not in urlsplit(url).query.split("sign=")[1]


def _text(kind, payload):
    return payload["markdown"]["text" if kind == "dingtalk" else "content"]


@pytest.mark.parametrize("kind", ["wecom", "dingtalk"])
def test_a_long_digest_is_split_within_the_robot_limit(kind):
    lines = [f"[严重] 检验逾期：晋城市人民医院 · 设备{n:04d}（RMYY-{n:04d}）· 日期 2027-01-01"
             for n in range(400 if kind == "wecom" else 1200)]
    payloads = robot_messages(kind, "设备预警 2027-01-02（400 条）", lines, "https://ar.test/alerts/")
    assert 1 < len(payloads) <= MAX_ROBOT_MESSAGES
    texts = [_text(kind, p) for p in payloads]
    assert all(len(t.encode("utf-8")) <= ROBOT_LIMITS[kind] for t in texts)
    assert texts[0].startswith(f"### 设备预警 2027-01-02（400 条）（1/{len(payloads)}）")
    shown = [line for t in texts for line in lines if f"- {line}\n" in t + "\n"]
    # every line shown once, in order, and what did not fit is counted and linked
    assert shown == lines[: len(shown)]
    left_out = len(lines) - len(shown)
    if left_out:
        assert f"另有 {left_out} 条未列出" in texts[-1] and "https://ar.test/alerts/" in texts[-1]


def test_a_short_digest_is_one_message_and_one_huge_line_is_cut():
    [payload] = robot_messages("wecom", "标题", ["短"])
    assert payload["markdown"]["content"] == "### 标题\n- 短"
    [payload] = robot_messages("wecom", "标题", ["长" * 3000])
    assert len(payload["markdown"]["content"].encode("utf-8")) <= ROBOT_LIMITS["wecom"]


def test_scan_signs_each_dingtalk_call(app, make_site, mailbox, dingtalk):
    site = make_site()
    with use_scope(Scope.system()):
        db.session.add(AlertSettings(org_id=site.org_id, webhook_url=dingtalk.url,
                                     webhook_kind="dingtalk", webhook_secret=SECRET))
        db.session.commit()
    today = dt.date(2038, 3, 2)
    asset, _ = site.add_asset(next_due=today + dt.timedelta(days=6))
    cli(app, "alerts", "scan", "--today", today.isoformat())
    [payload] = dingtalk.received
    assert f"{site.code}-" in payload["markdown"]["text"]
    [row] = [d for d in deliveries_of(asset) if d.channel == "webhook"]
    assert row.outcome == "sent"


def test_wrong_secret_is_a_failed_delivery_with_the_robots_words(app, make_site, mailbox,
                                                                 dingtalk):
    site = make_site()
    with use_scope(Scope.system()):
        db.session.add(AlertSettings(org_id=site.org_id, webhook_url=dingtalk.url,
                                     webhook_kind="dingtalk", webhook_secret="SECwrong"))
        db.session.commit()
    today = dt.date(2038, 4, 2)
    asset, _ = site.add_asset(next_due=today + dt.timedelta(days=6))
    cli(app, "alerts", "scan", "--today", today.isoformat())
    assert dingtalk.received == []
    [row] = [d for d in deliveries_of(asset) if d.channel == "webhook"]
    assert row.outcome == "failed" and "310000" in row.error and "sign not match" in row.error


def _settings_form(**overrides):
    data = {"due_7d_days": 7, "escalate_after_days": 30, "life_ending_days": 180,
            "webhook_kind": "dingtalk"}
    data.update(overrides)
    return data


def test_settings_store_the_secret_without_showing_it_and_test_send_shows_the_answer(
        app, login, make_site, dingtalk):
    site = make_site()
    # the city administrator: an internal robot address (the local stand-in) is theirs to set
    manager = login("admin")
    settings = f"/alerts/settings?org={site.org_id}"
    test = f"/alerts/settings/test?org={site.org_id}"
    response = manager.post(settings, _settings_form(
        webhook_url=dingtalk.url, webhook_secret=SECRET))
    assert response.status_code == 302
    page = manager.get(settings).get_data(as_text=True)
    assert SECRET not in page and 'id="secret-saved"' in page
    with use_scope(Scope.system()):
        stored = db.session.scalars(
            select(AlertSettings.webhook_secret).where(AlertSettings.org_id == site.org_id)
        ).one()
    assert stored == SECRET
    # saving again with the field blank keeps it
    manager.post(settings, _settings_form(webhook_url=dingtalk.url))
    page = manager.post(test, {"channel": "webhook"},
                        follow_redirects=True).get_data(as_text=True)
    assert "errcode 0" in page and "errmsg ok" in page
    assert site.code in dingtalk.received[-1]["markdown"]["text"]

    dingtalk.secret = "SECrotated"  # the robot's secret was reset in DingTalk
    page = manager.post(test, {"channel": "webhook"},
                        follow_redirects=True).get_data(as_text=True)
    assert "errcode 310000" in page and "sign not match" in page

    manager.post(settings, _settings_form(webhook_url=dingtalk.url,
                                                    clear_webhook_secret="y"))
    with use_scope(Scope.system()):
        assert db.session.scalars(
            select(AlertSettings.webhook_secret).where(AlertSettings.org_id == site.org_id)
        ).one() is None


def test_test_mail_reaches_the_smtp_server_and_shows_its_reply(app, login, make_site, mailbox):
    site = make_site()
    manager = login(site.manager)
    manager.post("/alerts/settings", _settings_form(recipients="duty@test.jc"))
    page = manager.post("/alerts/settings/test", {"channel": "mail"},
                        follow_redirects=True).get_data(as_text=True)
    assert "250" in page and "duty@test.jc" in page
    [message] = {id(m): m for m in mailbox.messages}.values()
    assert "测试" in message["Subject"]
    assert set(message.get_all("X-Rcpt")) == {site.manager_email, "duty@test.jc"}


def test_test_send_is_refused_for_another_institution(app, login, make_site):
    site, other = make_site(), make_site()
    manager = login(site.manager)
    response = manager.post(f"/alerts/settings/test?org={other.org_id}", {"channel": "webhook"})
    assert response.status_code == 404
