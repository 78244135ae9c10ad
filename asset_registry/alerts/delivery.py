"""Sending what the queue holds: one e-mail digest per recipient per day and one
group-robot message per webhook, each attempt recorded on the Delivery rows.

Runs only after the scan has committed (the queue rows are data, so nothing is lost
if sending fails). Rows are claimed first, in their own commit, so two processes never
send the same row; a failure backs off exponentially and never marks a row sent."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import smtplib
import socket
import ssl
import urllib.error
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import quote_plus, urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, exists, func, or_, select, update

from .. import clock
from ..assets.models import Asset
from ..extensions import db
from ..tenancy.models import Organisation, User
from .models import (
    ACTIVE_STATUSES,
    Alert,
    AlertSettings,
    Channel,
    Delivery,
    Outcome,
    WebhookKind,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE = dt.timedelta(minutes=5)
CLAIM_FOR = dt.timedelta(minutes=15)
DEFAULT_LOCALE = "zh_Hans_CN"


def backoff(attempts: int) -> dt.timedelta:
    """5 min, 10, 20, 40 … capped at a day."""
    return min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), dt.timedelta(days=1))


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    messages: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"messages sent {self.messages}, items delivered {self.sent}, failed {self.failed}"
        return text + "".join(f"\n  ! {e}" for e in self.errors)


def _local_day_start_utc(today: dt.date) -> dt.datetime:
    start = dt.datetime.combine(today, dt.time(0, 0), clock.LOCAL_TZ)
    return start.astimezone(dt.UTC).replace(tzinfo=None)


def _claim(channel: str, now: dt.datetime, today: dt.date, retries_only: bool) -> str:
    """Mark the rows this process will send, and commit so others skip them."""
    dl, al = Delivery.__table__, Alert.__table__
    token = uuid.uuid4().hex
    # rows whose alert was resolved before anyone was told are not worth a message
    db.session.execute(
        update(dl)
        .where(dl.c.outcome.in_((Outcome.PENDING, Outcome.FAILED)),
               ~exists().where(al.c.id == dl.c.alert_id, al.c.status.in_(ACTIVE_STATUSES)))
        .values(outcome=Outcome.SKIPPED, next_attempt_at=None)
    )
    conditions = [
        dl.c.channel == channel,
        dl.c.outcome.in_((Outcome.PENDING, Outcome.FAILED)),
        dl.c.next_attempt_at <= now,
        dl.c.attempts < MAX_ATTEMPTS,
        or_(dl.c.claimed_until.is_(None), dl.c.claimed_until < now),
    ]
    if retries_only:
        conditions.append(dl.c.attempts > 0)
    if channel == Channel.EMAIL:
        # one digest per recipient per day: skip whoever already got today's
        day_start = _local_day_start_utc(today)
        sent_today = select(dl.c.recipient).where(
            dl.c.channel == Channel.EMAIL, dl.c.outcome == Outcome.SENT,
            dl.c.sent_at >= day_start, dl.c.sent_at < day_start + dt.timedelta(days=1),
        )
        conditions.append(dl.c.recipient.not_in(sent_today))
    db.session.execute(
        update(dl).where(*conditions).values(claim_token=token, claimed_until=now + CLAIM_FOR)
    )
    db.session.commit()
    return token


def _claimed(token: str):
    return db.session.execute(
        select(Delivery, Alert, Asset.asset_code, Asset.name, Organisation.name)
        .join(Alert, Alert.id == Delivery.alert_id)
        .outerjoin(Asset, Asset.id == Alert.asset_id)
        .join(Organisation, Organisation.id == Alert.org_id)
        .where(Delivery.claim_token == token)
        .order_by(Delivery.recipient, Alert.severity, Alert.due_date, Alert.id)
    ).all()


def _record(ok_ids: list[int], failures: dict[int, tuple[int, str]], now: dt.datetime) -> None:
    """Write the attempt onto the rows: executemany, not a statement per row."""
    dl = Delivery.__table__
    if ok_ids:
        db.session.execute(
            update(dl).where(dl.c.id.in_(ok_ids)).values(
                outcome=Outcome.SENT, sent_at=now, last_attempt_at=now, error=None,
                attempts=dl.c.attempts + 1, next_attempt_at=None, claim_token=None,
                claimed_until=None,
            )
        )
    if failures:
        db.session.connection().execute(
            update(dl).where(dl.c.id == bindparam("row_id")).values(
                outcome=Outcome.FAILED, last_attempt_at=now, attempts=bindparam("n"),
                error=bindparam("err"), next_attempt_at=bindparam("retry_at"),
                claim_token=None, claimed_until=None,
            ),
            [
                {"row_id": row_id, "n": n, "err": err[:1000],
                 "retry_at": now + backoff(n) if n < MAX_ATTEMPTS else None}
                for row_id, (n, err) in failures.items()
            ],
        )
    db.session.commit()


# --- e-mail ------------------------------------------------------------------------------


def _smtp():
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER") or not cfg.get("MAIL_PORT"):
        raise OSError(_("未配置邮件服务器（MAIL_SERVER / MAIL_PORT）。"))
    smtp = smtplib.SMTP(cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]),
                        timeout=cfg.get("MAIL_TIMEOUT", 10))
    try:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
    except Exception:
        smtp.close()
        raise
    return smtp


def _render_digest(items, locale: str, today: dt.date) -> tuple[str, str]:
    with force_locale(locale):
        subject = _("【设备预警】%(date)s 共 %(n)s 条新的或升级的预警", date=today.isoformat(),
                    n=len(items))
        lines = [_item_line(row) for row in items]
        # straight from the Jinja environment: the request's context processors
        # (current user, scope) have nothing to say to a scheduled job
        body = current_app.jinja_env.get_template("alerts/digest.txt").render(
            lines=lines, today=today, base_url=current_app.config.get("BASE_URL", ""))
    return subject, body


def send_digests(today: dt.date | None = None, *, retries_only: bool = False) -> DeliveryReport:
    """One e-mail per recipient listing every claimed (alert, stage) row for them."""
    today = today or clock.today()
    now = clock.utcnow_naive()
    report = DeliveryReport()
    token = _claim(Channel.EMAIL, now, today, retries_only)
    rows = _claimed(token)
    if not rows:
        return report
    by_recipient: dict[str, list] = defaultdict(list)
    for row in rows:
        by_recipient[row[0].recipient].append(row)
    user_ids = {row[0].user_id for row in rows if row[0].user_id}
    locales = dict(db.session.execute(
        select(User.id, User.locale).where(User.id.in_(user_ids))
    ).all()) if user_ids else {}

    ok_ids: list[int] = []
    failures: dict[int, tuple[int, str]] = {}
    sender = current_app.config.get("MAIL_SENDER")
    try:
        smtp = _smtp()
    except (OSError, smtplib.SMTPException) as exc:
        error = _("邮件服务器不可达：%(e)s", e=exc)
        report.errors.append(error)
        log.warning("SMTP unreachable: %s", exc)
        failures = {row[0].id: (row[0].attempts + 1, error) for row in rows}
        report.failed = len(failures)
        _record([], failures, now)
        return report
    try:
        for recipient, items in by_recipient.items():
            user_id = items[0][0].user_id
            locale = locales.get(user_id) or DEFAULT_LOCALE
            subject, body = _render_digest(items, locale, today)
            message = EmailMessage()
            message["Subject"], message["From"], message["To"] = subject, sender, recipient
            message.set_content(body)
            try:
                smtp.send_message(message)
            except (OSError, smtplib.SMTPException) as exc:
                error = _("发送至 %(r)s 失败：%(e)s", r=recipient, e=exc)
                report.errors.append(error)
                failures.update({row[0].id: (row[0].attempts + 1, error) for row in items})
                continue
            report.messages += 1
            ok_ids.extend(row[0].id for row in items)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    report.sent, report.failed = len(ok_ids), len(failures)
    _record(ok_ids, failures, now)
    return report


# --- group robots ---------------------------------------------------------------------------


def robot_payload(kind: str, title: str, lines: list[str]) -> dict:
    """WeCom and DingTalk group robots both take markdown, in slightly different shapes."""
    text = f"### {title}\n" + "\n".join(f"- {line}" for line in lines)
    if kind == WebhookKind.DINGTALK:
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    return {"msgtype": "markdown", "markdown": {"content": text}}


# markdown size the robots accept, in bytes of UTF-8 (WeCom documents 4096; DingTalk's
# limit is about 20000): a longer message is refused whole, so a digest is split
ROBOT_LIMITS = {WebhookKind.WECOM: 4096, WebhookKind.DINGTALK: 20000}
# robots accept about 20 messages a minute; past this many the rest is left to the inbox
MAX_ROBOT_MESSAGES = 5
# room for the heading, the "(2/3)" mark and the closing link to the inbox
_ROBOT_RESERVE = 600


def _cut(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - 3].decode("utf-8", "ignore") + "…"


def robot_messages(kind: str, title: str, lines: list[str], inbox_url: str = "") -> list[dict]:
    """The digest as one or more payloads, each within the robot's size limit; beyond
    MAX_ROBOT_MESSAGES the last one says how many lines were left out and links the inbox."""
    budget = ROBOT_LIMITS.get(kind, ROBOT_LIMITS[WebhookKind.WECOM]) - _ROBOT_RESERVE
    chunks: list[list[str]] = [[]]
    used = 0
    for line in lines:
        line = _cut(line, budget - 3)
        size = len(f"- {line}\n".encode())
        if chunks[-1] and used + size > budget:
            chunks.append([])
            used = 0
        chunks[-1].append(line)
        used += size
    left_out = sum(len(chunk) for chunk in chunks[MAX_ROBOT_MESSAGES:])
    chunks = chunks[:MAX_ROBOT_MESSAGES]
    if left_out:
        more = _("另有 %(n)s 条未列出，请在预警收件箱查看", n=left_out)
        chunks[-1].append(f"{more}：{inbox_url}" if inbox_url else more)
    if len(chunks) == 1:
        return [robot_payload(kind, title, chunks[0])]
    return [
        robot_payload(kind, _("%(title)s（%(i)s/%(n)s）", title=title, i=i, n=len(chunks)), chunk)
        for i, chunk in enumerate(chunks, start=1)
    ]


def sign_dingtalk(url: str, secret: str, timestamp_ms: int | None = None) -> str:
    """The URL with DingTalk's 加签 parameters: `timestamp` (ms) and `sign`, the base64 of
    HMAC-SHA256 over "timestamp\nsecret" keyed by the secret, URL-encoded."""
    if timestamp_ms is None:
        timestamp_ms = int(clock.utcnow_naive().replace(tzinfo=dt.UTC).timestamp() * 1000)
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(),
                      hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest).decode("ascii"))
    joiner = "&" if urlsplit(url).query else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign}"


class RobotRefused(OSError):
    """The robot answered with a non-zero errcode (bad key, bad signature, too long...)."""

    def __init__(self, errcode, errmsg: str):
        super().__init__(f"errcode {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class WebhookRefused(OSError):
    """The destination may not be reached from here (checked at every delivery)."""


# shared address space (carrier-grade NAT) is not "private" to ipaddress, but is internal
_SHARED = ipaddress.ip_network("100.64.0.0/10")


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or address in _SHARED
    )


def _allowed(host: str, address, allowed_hosts: str) -> bool:
    """WEBHOOK_ALLOWED_HOSTS: host names, addresses or networks that may be internal."""
    for item in (part.strip() for part in (allowed_hosts or "").split(",")):
        if not item:
            continue
        if item.lower() == host.lower():
            return True
        try:
            if address in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False


def resolve_destination(url: str, allowed_hosts: str = "") -> tuple[str, str, int, str]:
    """(scheme, host, port, address to connect to) for a webhook URL, or WebhookRefused.
    The name is resolved now and the connection goes to the address checked here, so a
    DNS answer cannot change between the check and the connection."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused(f"not an http(s) URL: {url[:80]}")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise WebhookRefused(f"cannot resolve {host}: {exc}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        if _internal(address) and not _allowed(host, address, allowed_hosts):
            raise WebhookRefused(f"{host} resolves to the internal address {address}")
    return parts.scheme, host, port, str(addresses[0])


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _post_json(url: str, payload: dict) -> dict:
    config = current_app.config
    scheme, host, port, address = resolve_destination(url, config.get("WEBHOOK_ALLOWED_HOSTS"))
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    pinned = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    connection = pinned(host, port, address, config.get("WEBHOOK_TIMEOUT", 5))
    try:
        connection.request(
            "POST",
            path,
            body=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        response = connection.getresponse()
        body = response.read(65536)
    finally:
        connection.close()
    # never followed: a redirect could lead anywhere, internal addresses included
    if 300 <= response.status < 400:
        raise WebhookRefused(f"HTTP {response.status}: redirects are not followed")
    if response.status >= 400:
        raise OSError(f"HTTP Error {response.status}: {response.reason}")
    # both robots answer 200 with {"errcode": 0} on success and a non-zero code otherwise
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return {}
    if not isinstance(answer, dict):
        return {}
    if answer.get("errcode", 0) != 0:
        raise RobotRefused(answer.get("errcode"), str(answer.get("errmsg", "")))
    return answer


def send_webhooks(today: dt.date | None = None, *, retries_only: bool = False) -> DeliveryReport:
    today = today or clock.today()
    now = clock.utcnow_naive()
    report = DeliveryReport()
    token = _claim(Channel.WEBHOOK, now, today, retries_only)
    rows = _claimed(token)
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for row in rows:
        groups[(row[0].recipient, row[0].webhook_kind or WebhookKind.WECOM)].append(row)
    ok_ids: list[int] = []
    failures: dict[int, tuple[int, str]] = {}
    secrets = _robot_secrets({url for url, _kind in groups})
    inbox_url = current_app.config.get("BASE_URL", "").rstrip("/") + "/alerts/"
    for (url, kind), items in groups.items():
        with force_locale(DEFAULT_LOCALE):
            title = _("设备预警 %(date)s（%(n)s 条）", date=today.isoformat(), n=len(items))
            lines = [_item_line(row) for row in items]
            payloads = robot_messages(kind, title, lines, inbox_url)
        try:
            # a part that fails fails the digest: the retry sends it whole again
            for payload in payloads:
                _post_json(_robot_url(url, kind, secrets.get(url)), payload)
        except (OSError, urllib.error.URLError, ValueError) as exc:
            error = _("Webhook 发送失败：%(e)s", e=exc)
            report.errors.append(error)
            failures.update({row[0].id: (row[0].attempts + 1, error) for row in items})
            continue
        report.messages += 1
        ok_ids.extend(row[0].id for row in items)
    report.sent, report.failed = len(ok_ids), len(failures)
    if rows:
        _record(ok_ids, failures, now)
    return report


def _robot_secrets(urls: set[str]) -> dict[str, str]:
    """The 加签 secret stored with each webhook URL (one query for the run)."""
    if not urls:
        return {}
    return dict(db.session.execute(
        select(AlertSettings.webhook_url, AlertSettings.webhook_secret).where(
            AlertSettings.webhook_url.in_(urls), AlertSettings.webhook_secret.is_not(None))
    ).all())


def _robot_url(url: str, kind: str, secret: str | None) -> str:
    return sign_dingtalk(url, secret) if secret and kind == WebhookKind.DINGTALK else url


def send_test_webhook(url: str, kind: str, secret: str | None, org_name: str) -> dict:
    """Post a short test message; returns the robot's answer (errcode 0 and errmsg).
    RobotRefused carries a refusal's errcode and errmsg; OSError a transport failure."""
    title = _("设备预警测试消息")
    line = _("%(org)s 的预警将发到这个群。", org=org_name)
    return _post_json(_robot_url(url, kind, secret), robot_payload(kind, title, [line]))


def send_test_mail(recipients: list[str], org_name: str) -> str:
    """Send a test message through the configured SMTP server; returns its reply to the
    message (code and text). Raises OSError or SMTPException when it is refused."""
    message = EmailMessage()
    message["Subject"] = _("【设备预警】测试邮件")
    message["From"] = current_app.config.get("MAIL_SENDER")
    message["To"] = ", ".join(recipients)
    message.set_content(_("%(org)s 的预警邮件将发到这个地址。", org=org_name))
    smtp = _smtp()
    try:
        # step by step rather than send_message, which keeps the server's reply to itself
        smtp.ehlo_or_helo_if_needed()
        code, reply = smtp.mail(message["From"] or "")
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, message["From"])
        refused = {}
        for recipient in recipients:
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, reply)
        if len(refused) == len(recipients):
            raise smtplib.SMTPRecipientsRefused(refused)
        code, reply = smtp.data(message.as_bytes())
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    accepted = [r for r in recipients if r not in refused]
    return f"{code} {reply.decode('utf-8', 'replace')} · " + ", ".join(accepted)


def _item_line(row) -> str:
    delivery, alert, code, name, org_name = row
    subject = alert.title if alert.asset_id is None else f"{name}（{code}）"
    stage = _("（已升级至主管部门）") if delivery.stage >= 1 else ""
    return f"[{alert.severity_label}] {alert.rule_label}{stage}：{org_name} · {subject} · " + _(
        "日期 %(d)s", d=alert.due_date.isoformat())


def deliver(today: dt.date | None = None, *, retries_only: bool = False) -> DeliveryReport:
    """Both channels; the caller has committed the scan."""
    mail = send_digests(today, retries_only=retries_only)
    hooks = send_webhooks(today, retries_only=retries_only)
    return DeliveryReport(
        sent=mail.sent + hooks.sent, failed=mail.failed + hooks.failed,
        messages=mail.messages + hooks.messages, errors=mail.errors + hooks.errors,
    )


def pending_count() -> int:
    dl = Delivery.__table__
    return db.session.scalar(
        select(func.count()).select_from(dl).where(
            and_(dl.c.outcome.in_((Outcome.PENDING, Outcome.FAILED)))
        )
    ) or 0
