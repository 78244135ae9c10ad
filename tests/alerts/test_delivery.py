"""Digests over a real SMTP server, group-robot webhooks, failures and backoff."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from asset_registry import clock
from asset_registry.alerts import jobs
from asset_registry.alerts.models import Alert, AlertSettings, Delivery
from asset_registry.extensions import db
from asset_registry.inspections.models import Obligation
from asset_registry.tenancy.models import User
from asset_registry.tenancy.scope import Scope, use_scope

D = dt.date
BUREAU_EMAIL = "wjw@demo.jc"


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def deliveries_of(asset_id):
    with use_scope(Scope.system()):
        rows = list(db.session.scalars(
            select(Delivery).join(Alert, Alert.id == Delivery.alert_id)
            .where(Alert.asset_id == asset_id).order_by(Delivery.id)))
        db.session.rollback()
    return rows


def test_one_digest_per_recipient_then_the_bureau_is_told(app, make_site, mailbox):
    site = make_site()
    today = D(2033, 2, 1)
    soon, _ = site.add_asset(next_due=today + dt.timedelta(days=10))
    week, _ = site.add_asset(next_due=today + dt.timedelta(days=4))

    cli(app, "alerts", "scan", "--today", today.isoformat())
    cli(app, "alerts", "scan", "--today", today.isoformat())
    mine = mailbox.to(site.manager_email)
    assert len(mine) == 1
    body = mailbox.body(mine[0])
    assert f"{site.code}-" in body and "即将到期" in body and "7 日内到期" in body
    assert "【设备预警】" in mine[0]["Subject"]
    recipients = [m["To"] for m in mailbox.messages]
    assert len(recipients) == len(set(recipients)), "someone got two digests on one day"
    assert all(d.outcome == "sent" and d.attempts == 1 for d in deliveries_of(soon))

    # 40 days on: both are overdue by more than 14 days → escalated, the bureau is told
    later = today + dt.timedelta(days=40)
    output = cli(app, "alerts", "scan", "--today", later.isoformat())
    assert "escalated" in output
    [overdue] = [a for a in _alerts(week) if a.is_active]
    assert (overdue.rule, overdue.stage) == ("overdue", 1)
    to_bureau = [m for m in mailbox.to(BUREAU_EMAIL) if f"{site.code}-" in mailbox.body(m)]
    assert len(to_bureau) == 1
    assert "已升级至主管部门" in mailbox.body(to_bureau[0])
    assert len(mailbox.to(site.manager_email)) == 2  # one more day, one more digest

    # nothing new the same day → no mail
    count = len(mailbox.messages)
    cli(app, "alerts", "digest", "--today", later.isoformat())
    assert len(mailbox.messages) == count


def _alerts(asset_id):
    with use_scope(Scope.system()):
        rows = list(db.session.scalars(select(Alert).where(Alert.asset_id == asset_id)))
        db.session.rollback()
    return rows


def test_digest_in_the_users_language(app, make_site, mailbox):
    site = make_site()
    with use_scope(Scope.system()):
        db.session.execute(update(User).where(User.username == site.manager).values(locale="en"))
        db.session.commit()
    today = D(2033, 5, 2)
    site.add_asset(next_due=today + dt.timedelta(days=3))
    cli(app, "alerts", "scan", "--today", today.isoformat())
    [message] = mailbox.to(site.manager_email)
    # the English catalogue may not be compiled yet: the msgid is the fallback,
    # but the rendering must not crash and must go through force_locale
    assert message["Subject"]


def test_inspection_resolves_and_rearms_with_mail(app, make_site, mailbox):
    site = make_site()
    due = D(2034, 3, 1)
    asset, obligation_id = site.add_asset(next_due=due)
    cli(app, "alerts", "scan", "--today", (due + dt.timedelta(days=1)).isoformat())
    assert len(mailbox.to(site.manager_email)) == 1

    with use_scope(Scope.system()):
        db.session.execute(update(Obligation).where(Obligation.id == obligation_id)
                           .values(last_done=due + dt.timedelta(days=2), next_due=D(2035, 3, 1)))
        db.session.commit()
    # the inspection alone resolves nothing: the next scan does, from the data
    assert [a.rule for a in _alerts(asset) if a.is_active] == ["overdue"]
    cli(app, "alerts", "scan", "--today", (due + dt.timedelta(days=2)).isoformat())
    assert not [a for a in _alerts(asset) if a.is_active]
    assert len(mailbox.to(site.manager_email)) == 1  # a resolution is not news

    cli(app, "alerts", "scan", "--today", "2035-02-20")
    assert {(a.rule, a.due_date) for a in _alerts(asset) if a.is_active} == {
        ("due_soon", D(2035, 3, 1))}
    assert len(mailbox.to(site.manager_email)) == 2


def test_unreachable_smtp_keeps_everything_and_retries(app, make_site, mailbox):
    site = make_site()
    today = D(2036, 1, 10)
    asset, _ = site.add_asset(next_due=today + dt.timedelta(days=2))
    app.config["MAIL_PORT"] = mailbox.port + 1 if mailbox.port < 65535 else 1  # nobody there
    result = app.test_cli_runner().invoke(args=["alerts", "scan", "--today", today.isoformat()])
    assert result.exit_code == 0
    assert "邮件服务器不可达" in result.output and "重试" in result.output
    [row] = [d for d in deliveries_of(asset) if d.recipient == site.manager_email]
    assert (row.outcome, row.attempts, row.sent_at) == ("failed", 1, None)
    assert row.error and row.next_attempt_at is not None
    assert [a.status for a in _alerts(asset)] == ["open"]

    app.config["MAIL_PORT"] = mailbox.port
    with clock.frozen(dt.datetime.combine(today, dt.time(9, 1), clock.LOCAL_TZ)):
        jobs.send_all(today, retries_only=True)  # still backing off: nothing sent
    assert mailbox.to(site.manager_email) == []
    with clock.frozen(dt.datetime.combine(today, dt.time(9, 30), clock.LOCAL_TZ)):
        jobs.send_all(today, retries_only=True)
    assert len(mailbox.to(site.manager_email)) == 1
    [row] = [d for d in deliveries_of(asset) if d.recipient == site.manager_email]
    assert (row.outcome, row.attempts) == ("sent", 2)


def test_webhook_wecom_and_dingtalk(app, make_site, mailbox, webhook):
    site = make_site()
    with use_scope(Scope.system()):
        db.session.add(AlertSettings(org_id=site.org_id, webhook_url=webhook.url,
                                     webhook_kind="wecom"))
        db.session.commit()
    today = D(2037, 4, 1)
    asset, _ = site.add_asset(next_due=today + dt.timedelta(days=6))
    cli(app, "alerts", "scan", "--today", today.isoformat())
    [payload] = webhook.received
    assert payload["msgtype"] == "markdown" and f"{site.code}-" in payload["markdown"]["content"]
    cli(app, "alerts", "scan", "--today", today.isoformat())
    assert len(webhook.received) == 1

    with use_scope(Scope.system()):
        db.session.execute(update(AlertSettings).where(AlertSettings.org_id == site.org_id)
                           .values(webhook_kind="dingtalk"))
        db.session.commit()
    site.add_asset(next_due=today + dt.timedelta(days=20))
    cli(app, "alerts", "scan", "--today", (today + dt.timedelta(days=1)).isoformat())
    payload = webhook.received[-1]
    assert set(payload["markdown"]) == {"title", "text"} and payload["msgtype"] == "markdown"


def test_failing_webhook_backs_off_and_is_not_delivered(app, make_site, mailbox, webhook):
    site = make_site()
    webhook.status = 500
    with use_scope(Scope.system()):
        db.session.add(AlertSettings(org_id=site.org_id, webhook_url=webhook.url))
        db.session.commit()
    today = D(2037, 8, 1)
    asset, _ = site.add_asset(next_due=today + dt.timedelta(days=6))
    cli(app, "alerts", "scan", "--today", today.isoformat())
    [row] = [d for d in deliveries_of(asset) if d.channel == "webhook"]
    assert (row.outcome, row.attempts, row.sent_at) == ("failed", 1, None)
    first_retry = row.next_attempt_at
    assert first_retry > row.last_attempt_at

    webhook.answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
    webhook.status = 200  # a 200 with a robot error code is still a failure
    with clock.frozen(first_retry.replace(tzinfo=dt.UTC) + dt.timedelta(seconds=1)):
        jobs.send_all(today, retries_only=True)
    [row] = [d for d in deliveries_of(asset) if d.channel == "webhook"]
    assert (row.outcome, row.attempts) == ("failed", 2) and "93000" in row.error
    assert row.next_attempt_at - row.last_attempt_at == dt.timedelta(minutes=10)  # doubled

    webhook.answer = {"errcode": 0}
    with clock.frozen(row.next_attempt_at.replace(tzinfo=dt.UTC) + dt.timedelta(seconds=1)):
        jobs.send_all(today, retries_only=True)
    [row] = [d for d in deliveries_of(asset) if d.channel == "webhook"]
    assert (row.outcome, row.attempts) == ("sent", 3)
    assert len(webhook.received) == 3
