"""Inbox, bell, acknowledge/resolve and settings — and that none of it leaks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from asset_registry import clock
from asset_registry.alerts import jobs
from asset_registry.alerts.models import Alert, AlertSettings
from asset_registry.extensions import db
from asset_registry.tenancy.scope import Scope, use_scope

D = dt.date


def _scan(today):
    with clock.frozen(today):
        jobs.scan_and_queue(today)


def _alert_of(asset_id) -> Alert:
    with use_scope(Scope.system()):
        alert = db.session.scalars(select(Alert).where(Alert.asset_id == asset_id)).one()
        db.session.expunge(alert)
        db.session.rollback()
    return alert


def _login_site(client, site):
    response = client.login(site.manager)
    assert response.status_code == 302
    return client


def test_inbox_bell_and_isolation(app, make_site, login, client):
    site, other = make_site(), make_site("wlj")
    today = D(2038, 1, 5)
    mine, _ = site.add_asset(next_due=today + dt.timedelta(days=3))
    theirs, _ = other.add_asset(next_due=today + dt.timedelta(days=3), special=True)
    _scan(today)
    my_alert, their_alert = _alert_of(mine), _alert_of(theirs)

    me = _login_site(client, site)
    html = me.get("/alerts/").get_data(as_text=True)
    assert f"{site.code}-" in html and f"{other.code}-" not in html
    assert 'id="alert-bell-count">1<' in html  # the bell counts this institution's one alert
    assert me.get("/alerts/?rule=due_soon").get_data(as_text=True).count("data-alert-id") == 0

    # the supervising bureau sees its institution's alerts, not another bureau's
    wjw = login("wjw").get(f"/alerts/?org={site.org_id}").get_data(as_text=True)
    assert f"{site.code}-" in wjw and f"{other.code}-" not in wjw
    # the regulator sees special equipment only
    regulator = login("scjg")
    assert f"{other.code}-" in regulator.get(f"/alerts/?org={other.org_id}").get_data(as_text=True)
    assert f"{site.code}-" not in regulator.get(f"/alerts/?org={site.org_id}").get_data(
        as_text=True)

    # acting on a foreign alert is 404 and changes nothing
    assert me.post(f"/alerts/{their_alert.id}/ack", {"note": "x"}).status_code == 404
    assert me.post(f"/alerts/{their_alert.id}/resolve", {"note": "x"}).status_code == 404
    assert _alert_of(theirs).status == "open"

    response = me.post(f"/alerts/{my_alert.id}/ack", {"note": "已安排检验"})
    assert response.status_code == 302
    acked = _alert_of(mine)
    assert (acked.status, acked.ack_note) == ("acknowledged", "已安排检验")
    assert acked.acknowledged_by is not None and acked.acknowledged_at is not None
    response = me.post(f"/alerts/{my_alert.id}/resolve", {"note": "已联系检验机构"})
    resolved = _alert_of(mine)
    assert (resolved.status, resolved.resolution_note) == ("resolved", "已联系检验机构")
    assert resolved.resolved_by == acked.acknowledged_by
    _scan(today)  # the condition still holds: the next scan re-opens it, saying so
    reopened = _alert_of(mine)
    assert reopened.status == "open" and "重新打开" in reopened.resolution_note
    assert reopened.resolved_by is None

    # alerts belong to the institution: a bureau and the regulator read, never act
    assert login("wjw").post(f"/alerts/{my_alert.id}/resolve", {"note": "x"}).status_code == 403
    assert login("wjw").post(f"/alerts/{my_alert.id}/ack", {"note": "x"}).status_code == 403
    assert regulator.post(f"/alerts/{their_alert.id}/resolve", {"note": "x"}).status_code == 403
    assert regulator.post(f"/alerts/{my_alert.id}/resolve", {"note": "x"}).status_code == 404
    assert _alert_of(theirs).status == "open" and _alert_of(mine).status == "open"
    board = login("wjw").get(f"/alerts/?org={site.org_id}").get_data(as_text=True)
    assert "resolve-form" not in board and "ack-form" not in board


def test_settings_page(app, make_site, login, client):
    site, other = make_site(), make_site()
    me = _login_site(client, site)
    page = me.get("/alerts/settings")
    assert page.status_code == 200 and "webhook_url" in page.get_data(as_text=True)
    assert me.get(f"/alerts/settings?org={other.org_id}").status_code == 404
    assert login("wjw").get("/alerts/settings").status_code == 404
    assert login("rmyy_xj").get("/alerts/settings").status_code == 404

    form = {"due_soon_days": "45", "due_7d_days": "5", "escalate_after_days": "10",
            "life_ending_days": "200", "recipients": "boss@test.jc\nsafety@test.jc",
            "webhook_kind": "dingtalk", "webhook_url": ""}
    for bad, message in (("ftp://robot.example/x", "http"), ("http://127.0.0.1:9/x", "内网"),
                         ("http://10.1.2.3/x", "内网"), ("http://169.254.169.254/", "内网")):
        response = me.post("/alerts/settings", dict(form, webhook_url=bad))
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    response = me.post("/alerts/settings", dict(form, recipients="not-an-address"))
    assert response.status_code == 400
    response = me.post("/alerts/settings", dict(form, due_7d_days="abc"))
    assert response.status_code == 400
    with use_scope(Scope.system()):
        saved = db.session.scalars(
            select(AlertSettings).where(AlertSettings.org_id == site.org_id)).one_or_none()
    assert saved is None  # nothing half-saved

    assert me.post("/alerts/settings", form).status_code == 302
    with use_scope(Scope.system()):
        saved = db.session.scalars(
            select(AlertSettings).where(AlertSettings.org_id == site.org_id)).one()
        assert (saved.due_soon_days, saved.due_7d_days, saved.escalate_after_days) == (45, 5, 10)
        assert saved.recipient_list == ["boss@test.jc", "safety@test.jc"]
        db.session.rollback()

    # the city admin may point a robot at an intranet address, for another organisation
    admin = login("admin")
    response = admin.post(f"/alerts/settings?org={other.org_id}",
                          dict(form, webhook_url="http://127.0.0.1:8080/robot"))
    assert response.status_code == 302
    with use_scope(Scope.system()):
        saved = db.session.scalars(
            select(AlertSettings).where(AlertSettings.org_id == other.org_id)).one()
        assert saved.webhook_url == "http://127.0.0.1:8080/robot"
        db.session.rollback()


def test_notice_shows_to_its_audience(app, make_site, login):
    from asset_registry.alerts.services import notify

    site = make_site()
    with use_scope(Scope.system()):
        notify(site.bureau_org_id, title=f"计划待审核{site.code}", link="/plans/",
               key=f"n-{site.code}", audience_role="bureau_reviewer")
        notify(site.org_id, title=f"计划已批准{site.code}", link="/plans/", key=f"m-{site.code}")
        db.session.commit()
    notices = "/alerts/?rule=notice"
    wjw = login("wjw").get(f"{notices}&org={site.bureau_org_id}").get_data(as_text=True)
    assert f"计划待审核{site.code}" in wjw
    assert f"计划待审核{site.code}" not in login("rmyy").get(notices).get_data(as_text=True)
    c = login(site.manager)
    html = c.get(notices).get_data(as_text=True)
    assert f"计划已批准{site.code}" in html and f"计划待审核{site.code}" not in html


def test_inbox_sorted_by_severity_with_bulk_acknowledge(app, make_site, login, client):
    site = make_site()
    today = clock.today()
    soon, _ = site.add_asset(next_due=today + dt.timedelta(days=20))
    late, _ = site.add_asset(next_due=today - dt.timedelta(days=3))
    _scan(today)
    me = _login_site(client, site)
    html = me.get("/alerts/").get_data(as_text=True)
    first, second = _alert_of(late), _alert_of(soon)
    assert html.index(f'data-alert-id="{first.id}"') < html.index(f'data-alert-id="{second.id}"')
    assert "应检日期" in html  # the date column says what the date is
    danger = me.get("/alerts/?severity=danger").get_data(as_text=True)
    assert f'data-alert-id="{first.id}"' in danger and f'data-alert-id="{second.id}"' not in danger
    # a bureau reads but cannot acknowledge in bulk
    assert login("wjw").post("/alerts/ack", {"alert_id": [str(first.id)]}).status_code == 403
    response = me.post("/alerts/ack", {"alert_id": [str(first.id), str(second.id)],
                                       "note": "已安排"})
    assert response.status_code == 302
    assert _alert_of(late).status == "acknowledged" and _alert_of(soon).status == "acknowledged"
