import datetime as dt

from sqlalchemy import delete

from asset_registry import clock
from asset_registry.extensions import db
from asset_registry.tenancy.models import LoginAttempt


def test_sign_in_page_is_chinese_by_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert "登录" in html and "用户名" in html and 'lang="zh-CN"' in html


def test_english_is_available(client):
    client.post("/lang/en")
    html = client.get("/login").get_data(as_text=True)
    assert "Sign in" in html and "Username" in html


def test_wrong_password_and_unknown_user_get_the_same_clear_message(client):
    for username, password in [("rmyy", "nope-nope"), ("nobody-here", "whatever1")]:
        response = client.login(username, password)
        assert response.status_code == 401
        assert "用户名或密码错误" in response.get_data(as_text=True)


def test_throttle_after_five_failures_for_an_account(client):
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.username == "sxkj"))
    db.session.commit()
    for _ in range(5):
        assert client.login("sxkj", "wrong-password").status_code == 401
    response = client.login("sxkj")  # even the right password is refused for now
    body = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "登录失败次数过多，请 15 分钟后再试" in body
    # 16 minutes later the window has passed
    with clock.frozen(clock.now() + dt.timedelta(minutes=16)):
        assert client.login("sxkj").status_code == 302


def test_missing_csrf_token_is_a_clear_400(client):
    response = client.client.post("/login", data={"username": "rmyy", "password": "x"})
    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)


def test_session_cookie_flags(app, client):
    response = client.login("rmyy")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_expired_or_missing_session_redirects_to_sign_in(client):
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_logout(login):
    c = login("rmyy")
    assert c.get("/dashboard/").status_code == 200
    c.post("/logout")
    assert c.get("/dashboard/").status_code == 302


def test_password_change(login):
    from asset_registry.tenancy.seed import DEMO_PASSWORD

    c = login("stxz")
    r = c.post(
        "/password", {"current": "bad", "new": "another-pass-1", "confirm": "another-pass-1"}
    )
    assert "当前密码不正确" in r.get_data(as_text=True)
    r = c.post(
        "/password",
        {"current": DEMO_PASSWORD, "new": "another-pass-1", "confirm": "another-pass-1"},
    )
    assert r.status_code == 302
    fresh = c.fresh()
    assert fresh.login("stxz", "another-pass-1").status_code == 302
    r = fresh.post(
        "/password", {"current": "another-pass-1", "new": DEMO_PASSWORD, "confirm": DEMO_PASSWORD}
    )
    assert r.status_code == 302


def test_switching_to_a_membership_the_user_lacks(login):
    from tests.helpers import membership_id

    c = login("rmyy")
    r = c.post("/switch", {"membership_id": membership_id("wjw")}, follow_redirects=True)
    assert "您没有该身份" in r.get_data(as_text=True)


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json["database"] == "ok"


def test_switching_between_two_memberships(app, login):
    from sqlalchemy import select

    from asset_registry.tenancy import services
    from asset_registry.tenancy.models import Organisation, User
    from asset_registry.tenancy.scope import Scope, use_scope

    def org(code):
        return db.session.scalars(select(Organisation).where(Organisation.code == code)).one()

    with use_scope(Scope.system()):
        user = db.session.scalars(select(User).where(User.username == "two_hats")).first()
        if user is None:
            user = services.create_user(
                Scope.system(),
                username="two_hats",
                display_name="双重身份",
                password="demo12345",
                org_id=org("rmyy").id,
                role="institution_manager",
            )
            services.grant(Scope.system(), user, org("wjw").id, "bureau_reviewer")
            db.session.commit()
        reviewer = next(m.id for m in services.memberships_of(user) if m.role == "bureau_reviewer")
    c = login("two_hats")
    assert "妇幼保健院" not in c.get("/admin/orgs").get_data(as_text=True)
    r = c.post("/switch", {"membership_id": reviewer}, follow_redirects=True)
    assert "已切换到" in r.get_data(as_text=True)
    assert "妇幼保健院" in c.get("/admin/orgs").get_data(as_text=True)


def test_failures_for_one_account_do_not_lock_other_accounts_at_that_address(client):
    # behind a proxy everyone shares an address: one person's typos must not lock them all
    # (an account nobody else signs in with: it stays locked for the window)
    for n in range(5):
        assert client.login("locked-out-typist", f"wrong-password-{n}").status_code == 401
    assert "登录失败次数过多" in client.login("locked-out-typist").get_data(as_text=True)
    assert client.login("tyc").status_code == 302


def test_the_address_throttle_is_looser_and_separate(app, client):
    now = clock.utcnow_naive()
    limit = app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    assert limit > app.config["LOGIN_MAX_FAILURES"]
    db.session.add_all(
        LoginAttempt(username=f"guess-{n}", address=client.address, succeeded=False, at=now)
        for n in range(limit)
    )
    db.session.commit()
    response = client.login("tyc")  # a real account from the same address
    assert response.status_code == 401
    assert "登录失败次数过多" in response.get_data(as_text=True)
    assert client.fresh().login("tyc").status_code == 302  # other addresses are unaffected


def test_unknown_and_known_users_cost_the_same_password_check(client, monkeypatch):
    from asset_registry.tenancy import models, services

    checks = []
    real = services.check_password_hash

    def counting(pwhash, password):
        checks.append(pwhash.split("$")[0])
        return real(pwhash, password)

    monkeypatch.setattr(services, "check_password_hash", counting)
    monkeypatch.setattr(models, "check_password_hash", counting)
    client.login("nobody-at-all", "whatever1")
    client.fresh().login("wml", "wrong-password")
    assert len(checks) == 2 and checks[0] == checks[1]  # same method and cost parameters
