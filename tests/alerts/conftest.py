"""Alert fixtures: a real SMTP server (aiosmtpd), a tiny webhook receiver, and a fresh
institution per test (so the shared database's other rows never blur assertions)."""

from __future__ import annotations

import datetime as dt
import email
import itertools
import json
import secrets
import socket
import threading
from dataclasses import dataclass, field
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from asset_registry.assets.models import Asset
from asset_registry.enums import OrgKind, Role, Sector
from asset_registry.extensions import db
from asset_registry.inspections.models import Obligation
from asset_registry.tenancy.models import Membership, Organisation, User
from asset_registry.tenancy.scope import Scope, use_scope
from asset_registry.tenancy.seed import DEMO_PASSWORD

_numbers = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Collector:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                message["X-Rcpt"] = rcpt
                self.messages.append(message)
        return "250 OK"


@dataclass
class Mailbox:
    collector: _Collector
    port: int

    @property
    def messages(self):
        with self.collector.lock:
            return list(self.collector.messages)

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]

    @staticmethod
    def body(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def mailbox(app):
    """A real SMTP server on a free port; the app's mail settings point at it."""
    collector = _Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config.get(k) for k in ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    try:
        yield Mailbox(collector, port)
    finally:
        controller.stop()
        app.config.update(saved)


@dataclass
class Hook:
    url: str
    status: int = 200
    answer: dict = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})
    received: list = field(default_factory=list)


@pytest.fixture
def webhook():
    """A group-robot stand-in on 127.0.0.1: records JSON posts, answers `hook.status`."""
    server_port = free_port()
    hook = Hook(url=f"http://127.0.0.1:{server_port}/robot/send?key={secrets.token_hex(4)}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            hook.received.append(json.loads(self.rfile.read(length).decode("utf-8")))
            body = json.dumps(hook.answer).encode()
            self.send_response(hook.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", server_port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook
    server.shutdown()
    server.server_close()


@dataclass
class Site:
    """A fresh institution under a bureau, with its own manager and equipment."""

    org_id: int
    code: str
    manager: str
    manager_email: str
    bureau_org_id: int

    def add_asset(self, *, next_due: dt.date | None = None, lead_days: int = 30,
                  design_life_end: dt.date | None = None, special: bool = False,
                  failed: bool = False, last_done: dt.date | None = None) -> tuple[int, int | None]:
        n = next(_numbers)
        with use_scope(Scope.system()):
            asset = Asset(org_id=self.org_id, asset_code=f"{self.code}-{n}",
                          name=f"测试设备{self.code}{n}", qr_token=secrets.token_urlsafe(24),
                          is_special=special, design_life_end=design_life_end)
            db.session.add(asset)
            db.session.flush()
            obligation_id = None
            if next_due is not None or failed:
                obligation = Obligation(org_id=self.org_id, asset_id=asset.id,
                                        kind="annual_inspection", name="年度检验",
                                        interval_months=12, lead_days=lead_days,
                                        next_due=next_due, last_done=last_done, failed=failed)
                db.session.add(obligation)
                db.session.flush()
                obligation_id = obligation.id
            asset_id = asset.id
            db.session.commit()
        return asset_id, obligation_id


@pytest.fixture
def make_site(app):
    def _make(bureau_code: str = "wjw") -> Site:
        n = next(_numbers)
        code = f"al{secrets.token_hex(3)}{n}"
        with use_scope(Scope.system()):
            bureau = db.session.scalars(
                select(Organisation).where(Organisation.code == bureau_code)
            ).one()
            org = Organisation(code=code, name=f"预警测试医院{code}", kind=OrgKind.INSTITUTION,
                               sector=Sector.HEALTH, parent_id=bureau.id)
            db.session.add(org)
            db.session.flush()
            user = User(username=f"{code}_mgr", display_name=f"{code}设备科",
                        email=f"{code}_mgr@test.jc", locale=None)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            db.session.flush()
            membership = Membership(user_id=user.id, org_id=org.id,
                                    role=Role.INSTITUTION_MANAGER)
            db.session.add(membership)
            db.session.flush()
            user.active_membership_id = membership.id
            site = Site(org.id, code, user.username, user.email, bureau.id)
            db.session.commit()
        return site

    return _make
