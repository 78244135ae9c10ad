"""Sessions and API tokens end when they should: sign-out, password change, deactivation,
expiry; and the proxy's forwarded address is believed only from a trusted proxy."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, request
from sqlalchemy import select

from asset_registry import clock
from asset_registry.api.models import ApiToken
from asset_registry.extensions import db
from asset_registry.tenancy import services
from asset_registry.tenancy.models import Membership, Organisation, User
from asset_registry.tenancy.scope import Scope, use_scope
from asset_registry.web import TrustedProxies

PASSWORD = "session-pass-1"


@pytest.fixture
def member(app):
    """A fresh institution manager at rmyy (so other tests' users are untouched)."""
    name = f"sess_{uuid.uuid4().hex[:8]}"
    with use_scope(Scope.system()):
        org = db.session.scalars(select(Organisation).where(Organisation.code == "rmyy")).one()
        services.create_user(
            Scope.system(),
            username=name,
            display_name=name,
            password=PASSWORD,
            org_id=org.id,
            role="institution_manager",
        )
        db.session.commit()
    return name


def _signed_in(client, username, password=PASSWORD):
    c = client.fresh()
    assert c.login(username, password).status_code == 302
    assert c.get("/api-tokens/").status_code == 200
    return c


def _new_token(c, days=""):
    html = c.post("/api-tokens/", {"name": "sync", "expires_in_days": days}).get_data(as_text=True)
    start = html.index('id="new-token-value">') + len('id="new-token-value">')
    return html[start : html.index("<", start)]


def _api(client, token):
    return client.get("/api/v1/assets", headers={"Authorization": f"Bearer {token}"})


def test_sign_out_ends_every_session_and_token_of_the_user(client, member):
    first, second = _signed_in(client, member), _signed_in(client, member)
    token = _new_token(first)
    assert _api(client, token).status_code == 200
    first.post("/logout")
    assert second.get("/api-tokens/").status_code == 302  # the other session ended too
    assert _api(client, token).status_code == 401
    # a replayed cookie of the ended session does not work either
    assert first.get("/api-tokens/").status_code == 302
    again = _signed_in(client, member)
    assert again.get("/api-tokens/").status_code == 200


def test_replayed_cookie_after_logout_is_refused(client, member):
    c = _signed_in(client, member)
    cookie = c.client.get_cookie("session").value
    c.post("/logout")
    replay = client.fresh()
    replay.client.set_cookie("session", cookie)
    assert replay.get("/api-tokens/").status_code == 302


def test_password_change_ends_other_sessions_and_tokens_but_not_this_one(client, member):
    this, other = _signed_in(client, member), _signed_in(client, member)
    token = _new_token(this)
    r = this.post(
        "/password", {"current": PASSWORD, "new": "changed-pass-2", "confirm": "changed-pass-2"}
    )
    assert r.status_code == 302
    assert this.get("/api-tokens/").status_code == 200
    assert other.get("/api-tokens/").status_code == 302
    assert _api(client, token).status_code == 401


def test_deactivation_ends_sessions_and_tokens(client, login, member):
    c = _signed_in(client, member)
    token = _new_token(c)
    with use_scope(Scope.system()):
        user_id = db.session.scalars(select(User.id).where(User.username == member)).one()
    admin = login("rmyy")
    assert admin.post(f"/admin/users/{user_id}/active", {"active": "0"}).status_code == 302
    assert c.get("/api-tokens/").status_code == 302
    with use_scope(Scope.system()):
        from asset_registry.api.models import ApiToken

        last_use = select(ApiToken.last_used_at).where(ApiToken.prefix == token[:12])
        before = db.session.scalar(last_use)
        db.session.rollback()
    with clock.frozen(clock.now() + dt.timedelta(hours=1)):
        assert _api(client, token).status_code == 401
    with use_scope(Scope.system()):
        assert db.session.scalar(last_use) == before  # a dead token leaves no trace of use
        db.session.rollback()
    # reactivation does not revive what was ended
    assert admin.post(f"/admin/users/{user_id}/active", {"active": "1"}).status_code == 302
    assert _api(client, token).status_code == 401
    assert c.get("/api-tokens/").status_code == 302


def test_token_expiry_and_last_use_are_shown(client, member):
    c = _signed_in(client, member)
    token = _new_token(c, days="30")
    assert _api(client, token).status_code == 200
    html = c.get("/api-tokens/").get_data(as_text=True)
    row = html[html.index(token[:12]) :]
    row = row[: row.index("</tr>")]
    now = clock.utcnow_naive()

    def shown(moment: dt.datetime) -> set[str]:
        # the page may show stored UTC or the local zone: either day is the same moment
        local = moment.replace(tzinfo=dt.UTC).astimezone(ZoneInfo("Asia/Shanghai"))
        return {moment.strftime("%Y-%m-%d"), local.strftime("%Y-%m-%d")}

    assert shown(now + dt.timedelta(days=30)) & set(re.findall(r"\d{4}-\d{2}-\d{2}", row))
    cells = re.findall(r"<td>([^<]*)</td>", row)
    used = [cell for cell in cells if cell[:10] in shown(now)]
    assert len(used) >= 2  # created and last used just now
    with clock.frozen(clock.today() + dt.timedelta(days=31)):
        assert _api(client, token).status_code == 401
        assert "已过期" in c.get("/api-tokens/").get_data(as_text=True)
    assert _api(client, token).status_code == 200


def test_tokens_without_expiry_and_a_bad_lifetime(client, member):
    c = _signed_in(client, member)
    token = _new_token(c, days="")
    with clock.frozen(clock.today() + dt.timedelta(days=3650)):
        assert _api(client, token).status_code == 200
    r = c.post("/api-tokens/", {"name": "x", "expires_in_days": "100000000000"})
    assert r.status_code == 302
    with use_scope(Scope.system()):
        names = db.session.scalars(
            select(ApiToken.name)
            .join(ApiToken.membership)
            .join(Membership.user)
            .where(User.username == member)
        ).all()
    assert names == ["sync"]


def test_forwarded_address_believed_only_from_a_trusted_proxy():
    tiny = Flask("tiny")

    @tiny.get("/")
    def show():
        return f"{request.remote_addr} {request.scheme}"

    tiny.wsgi_app = TrustedProxies(tiny.wsgi_app, "10.9.0.0/24, 127.0.0.2")
    c = tiny.test_client()
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    via_proxy = c.get("/", headers=headers, environ_base={"REMOTE_ADDR": "10.9.0.5"})
    assert via_proxy.get_data(as_text=True) == "203.0.113.7 https"
    direct = c.get("/", headers=headers, environ_base={"REMOTE_ADDR": "198.51.100.1"})
    assert direct.get_data(as_text=True) == "198.51.100.1 http"
