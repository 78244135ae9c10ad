"""Alert services: the set-based scan, the delivery queue, notices, the inbox and the
per-organisation settings. They flush, never commit."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import and_, case, exists, func, literal, or_, select, update

from .. import clock
from ..assets.models import Asset, AssetStatus
from ..enums import Role
from ..extensions import db
from ..inspections.models import Obligation
from ..tenancy.models import Membership, Organisation, User
from ..tenancy.scope import Scope, scoped_get
from .models import (
    ACTIVE_STATUSES,
    DEFAULT_DUE_7D_DAYS,
    DEFAULT_ESCALATE_AFTER_DAYS,
    DEFAULT_LIFE_ENDING_DAYS,
    SEVERITY,
    STAGE_BUREAU,
    Alert,
    AlertRule,
    AlertSettings,
    AlertStatus,
    Channel,
    Delivery,
    Outcome,
    WebhookKind,
)
from .sql import days_between, insert_ignoring_duplicates


class AlertError(ValueError):
    """A clear, translatable message for bad input."""


# --- the scan ----------------------------------------------------------------------

OBLIGATION_RULES = (AlertRule.DUE_SOON, AlertRule.DUE_7D, AlertRule.OVERDUE, AlertRule.FAILED)
ASSET_RULES = (AlertRule.LIFE_ENDING, AlertRule.LIFE_EXCEEDED)
# the condition SELECT's four columns, then the constants the INSERT adds
ALERT_COLUMNS = ("org_id", "asset_id", "obligation_id", "due_date", "rule", "severity",
                 "status", "stage", "opened_at")


@dataclass
class ScanResult:
    today: dt.date
    opened: int = 0
    escalated: int = 0
    resolved: int = 0
    queued: int = 0

    def __str__(self) -> str:
        return (f"{self.today}: opened {self.opened}, escalated {self.escalated}, "
                f"resolved {self.resolved}, deliveries queued {self.queued}")


def _approved_plan_item_exists(asset_id_column):
    """EXISTS an approved renewal-plan item replacing the asset — once plans exist."""
    try:
        from ..plans import models as plans
    except ImportError:  # pragma: no cover - the plans domain is optional
        return None
    if not hasattr(plans, "PlanItem") or not hasattr(plans, "RenewalPlan"):
        return None
    approved = getattr(plans, "APPROVED_STATES", ("approved", "in_procurement", "completed"))
    item, plan = plans.PlanItem.__table__, plans.RenewalPlan.__table__
    return exists().where(
        item.c.replaced_asset_id == asset_id_column,
        plan.c.id == item.c.plan_id,
        plan.c.status.in_([str(s) for s in approved]),
    )


class _Conditions:
    """For each rule, a SELECT of (org_id, asset_id, obligation_id, due_date) that holds
    on `today`. The same SELECT feeds the INSERT (open) and, correlated on the alert
    key, the NOT EXISTS that resolves. Everything is a function of the data and
    `today`, so a catch-up scan after downtime equals a run of daily scans."""

    def __init__(self, today: dt.date):
        self.today = today
        o, a, s = Obligation.__table__, Asset.__table__, AlertSettings.__table__
        self.o, self.a, self.s = o, a, s
        t = literal(today, type_=db.Date)
        self.t = t
        # ranges on the indexed date columns, computed here so the planner can use them
        settings = db.session.execute(
            select(func.max(s.c.due_soon_days), func.max(s.c.due_7d_days),
                   func.max(s.c.life_ending_days))
        ).one()
        max_lead = db.session.scalar(select(func.max(o.c.lead_days))) or 0
        self.max_lead = max(max_lead, settings[0] or 0)
        self.max_near = max(DEFAULT_DUE_7D_DAYS, settings[1] or 0)
        self.max_life = max(DEFAULT_LIFE_ENDING_DAYS, settings[2] or 0)

    def obligation_rule(self, rule: str, correlate=None):
        o, a, s, t, today = self.o, self.a, self.s, self.t, self.today
        lead = func.coalesce(s.c.due_soon_days, o.c.lead_days)
        near_setting = func.coalesce(s.c.due_7d_days, DEFAULT_DUE_7D_DAYS)
        near = case((lead < near_setting, lead), else_=near_setting)
        d = days_between(t, o.c.next_due)
        due_date = o.c.next_due
        if rule == AlertRule.OVERDUE:
            cond = [o.c.next_due < today]
        elif rule == AlertRule.DUE_7D:
            # a lead time of 0 (daily checks) means no advance warning at all
            cond = [o.c.next_due >= today,
                    o.c.next_due <= today + dt.timedelta(days=self.max_near),
                    lead > 0, d <= near]
        elif rule == AlertRule.DUE_SOON:
            cond = [o.c.next_due > today,
                    o.c.next_due <= today + dt.timedelta(days=self.max_lead),
                    d > near, d <= lead]
        else:  # FAILED: keyed by the failed inspection's date, so a new failure re-arms
            due_date = func.coalesce(o.c.last_done, o.c.next_due, literal(dt.date(1900, 1, 1)))
            cond = [o.c.failed.is_(True)]
        if rule != AlertRule.FAILED:
            cond.append(o.c.next_due.is_not(None))
        stmt = (
            select(o.c.org_id, o.c.asset_id, o.c.id.label("obligation_id"),
                   due_date.label("due_date"))
            .select_from(o.join(a, a.c.id == o.c.asset_id).outerjoin(s, s.c.org_id == o.c.org_id))
            .where(o.c.active.is_(True), a.c.status != AssetStatus.DISPOSED, *cond)
        )
        return stmt.where(*correlate(o.c.asset_id, due_date)) if correlate else stmt

    def asset_rule(self, rule: str, correlate=None):
        a, s, t, today = self.a, self.s, self.t, self.today
        end = a.c.design_life_end
        if rule == AlertRule.LIFE_ENDING:
            horizon = func.coalesce(s.c.life_ending_days, DEFAULT_LIFE_ENDING_DAYS)
            cond = [end > today, end <= today + dt.timedelta(days=self.max_life),
                    days_between(t, end) <= horizon]
        else:
            cond = [end <= today]
            planned = _approved_plan_item_exists(a.c.id)
            if planned is not None:
                cond.append(~planned)
        stmt = (
            select(a.c.org_id, a.c.id.label("asset_id"),
                   literal(None, type_=db.Integer).label("obligation_id"), end.label("due_date"))
            .select_from(a.outerjoin(s, s.c.org_id == a.c.org_id))
            .where(end.is_not(None), a.c.status != AssetStatus.DISPOSED, *cond)
        )
        return stmt.where(*correlate(a.c.id, end)) if correlate else stmt

    def for_rule(self, rule: str, correlate=None):
        fn = self.obligation_rule if rule in OBLIGATION_RULES else self.asset_rule
        return fn(rule, correlate)


def _rows(statement) -> int:
    """Execute a Core write and return how many rows it touched (psycopg reports -1
    for INSERT … SELECT unless asked to keep the count)."""
    result = db.session.execute(statement, execution_options={"preserve_rowcount": True})
    return max(result.rowcount or 0, 0)


def scan(today: dt.date | None = None) -> ScanResult:
    """One set-based pass over every tenant: open, escalate, resolve, queue deliveries.

    Runs Core statements (no ORM objects), so the caller needs a system scope only
    for consistency; commit is the caller's."""
    today = today or clock.today()
    now = clock.utcnow_naive()
    al = Alert.__table__
    result = ScanResult(today)
    conditions = _Conditions(today)

    for rule in (*OBLIGATION_RULES, *ASSET_RULES):
        def key_matches(asset_col, due_col):
            return (asset_col == al.c.asset_id, due_col == al.c.due_date)

        still_holds = exists(conditions.for_rule(rule, key_matches))
        result.resolved += _rows(
            update(al)
            .where(al.c.rule == rule, al.c.status.in_(ACTIVE_STATUSES), ~still_holds)
            .values(status=AlertStatus.RESOLVED, resolved_at=now, resolved_by=None,
                    resolution_note=None)
        )

        # (the condition SELECT always has a WHERE: SQLite needs one before ON CONFLICT)
        source = conditions.for_rule(rule).add_columns(
            literal(str(rule)), literal(str(SEVERITY[rule])), literal(str(AlertStatus.OPEN)),
            literal(0), literal(now),
        )
        result.opened += _rows(insert_ignoring_duplicates(al).from_select(ALERT_COLUMNS, source))

    s = AlertSettings.__table__
    escalate_after = func.coalesce(
        select(s.c.escalate_after_days).where(s.c.org_id == al.c.org_id).scalar_subquery(),
        DEFAULT_ESCALATE_AFTER_DAYS,
    )
    result.escalated = _rows(
        update(al)
        .where(al.c.rule == AlertRule.OVERDUE, al.c.status.in_(ACTIVE_STATUSES),
               al.c.stage < STAGE_BUREAU,
               days_between(al.c.due_date, literal(today, type_=db.Date)) > escalate_after)
        .values(stage=STAGE_BUREAU, escalated_at=now)
    )
    result.queued = queue_deliveries(now)
    db.session.flush()
    return result


# --- the delivery queue ---------------------------------------------------------------


def queue_deliveries(now: dt.datetime | None = None) -> int:
    """Insert a pending Delivery for every (active alert, stage, recipient) not queued yet.

    Recipients: the institution's managers (for a notice: its members, or those with the
    audience role), the parent bureau's reviewers once escalated, the extra addresses and
    webhooks of the settings. Set-based; the unique key makes it idempotent."""
    now = now or clock.utcnow_naive()
    al, dl = Alert.__table__, Delivery.__table__
    m, u = Membership.__table__, User.__table__
    org, s = Organisation.__table__, AlertSettings.__table__
    parent_s = s.alias("parent_settings")
    names = ("org_id", "alert_id", "stage", "channel", "recipient", "user_id", "webhook_kind",
             "queued_at", "outcome", "attempts", "next_attempt_at")
    active = al.c.status.in_(ACTIVE_STATUSES)

    def pending(channel, recipient, user_id, kind):
        return (al.c.org_id, al.c.id, al.c.stage, literal(str(channel)), recipient, user_id,
                kind, literal(now), literal(str(Outcome.PENDING)), literal(0), literal(now))

    no_kind = literal(None, type_=db.String)
    no_user = literal(None, type_=db.Integer)
    audience = or_(
        and_(al.c.rule != AlertRule.NOTICE, m.c.role == Role.INSTITUTION_MANAGER),
        and_(al.c.rule == AlertRule.NOTICE,
             or_(al.c.audience_role.is_(None), m.c.role == al.c.audience_role)),
    )
    members = (
        select(*pending(Channel.EMAIL, u.c.email, u.c.id, no_kind))
        .select_from(al.join(m, m.c.org_id == al.c.org_id).join(u, u.c.id == m.c.user_id))
        .where(active, audience, u.c.email.is_not(None), u.c.is_active.is_(True))
    )
    bureau = (
        select(*pending(Channel.EMAIL, u.c.email, u.c.id, no_kind))
        .select_from(
            al.join(org, org.c.id == al.c.org_id)
            .join(m, m.c.org_id == org.c.parent_id)
            .join(u, u.c.id == m.c.user_id)
        )
        .where(active, al.c.stage >= STAGE_BUREAU, m.c.role == Role.BUREAU_REVIEWER,
               u.c.email.is_not(None), u.c.is_active.is_(True))
    )
    own_hook = (
        select(*pending(Channel.WEBHOOK, s.c.webhook_url, no_user, s.c.webhook_kind))
        .select_from(al.join(s, s.c.org_id == al.c.org_id))
        .where(active, s.c.webhook_url.is_not(None), s.c.webhook_url != "")
    )
    bureau_hook = (
        select(*pending(Channel.WEBHOOK, parent_s.c.webhook_url, no_user, parent_s.c.webhook_kind))
        .select_from(al.join(org, org.c.id == al.c.org_id)
                     .join(parent_s, parent_s.c.org_id == org.c.parent_id))
        .where(active, al.c.stage >= STAGE_BUREAU, parent_s.c.webhook_url.is_not(None),
               parent_s.c.webhook_url != "")
    )
    count = 0
    for source in (members, bureau, own_hook, bureau_hook):
        count += _rows(insert_ignoring_duplicates(dl).from_select(names, source))
    # extra addresses: one statement per organisation that lists any (a handful)
    extras = db.session.execute(
        select(s.c.org_id, s.c.recipients).where(s.c.recipients.is_not(None), s.c.recipients != "")
    ).all()
    for org_id, text in extras:
        for address in _addresses(text):
            count += _rows(
                insert_ignoring_duplicates(dl).from_select(
                    names,
                    select(*pending(Channel.EMAIL, literal(address), no_user, no_kind))
                    .where(active, al.c.org_id == org_id),
                )
            )
    return count


def _addresses(text: str | None) -> list[str]:
    return [part.strip() for part in re.split(r"[\s,;，；]+", text or "") if part.strip()]


# --- notices ---------------------------------------------------------------------------


def notify(org_id: int, *, title: str, link: str, key: str,
           audience_role: str | None = None) -> None:
    """Put an item in the inbox of the users whose scope covers `org_id` (narrowed to one
    role if given) and in their next digest. Idempotent on `key` per organisation.

    Written with a Core INSERT because the caller's scope (e.g. an institution telling
    its bureau) need not cover the organisation told."""
    now = clock.utcnow_naive()
    db.session.execute(
        insert_ignoring_duplicates(Alert.__table__).values(
            org_id=org_id, asset_id=None, obligation_id=None, rule=str(AlertRule.NOTICE),
            due_date=clock.today(), severity=str(SEVERITY[AlertRule.NOTICE]),
            status=str(AlertStatus.OPEN), stage=0, opened_at=now, notice_key=key[:200],
            title=title[:300], link=link[:500], audience_role=audience_role,
        )
    )
    queue_deliveries(now)


# --- the inbox -------------------------------------------------------------------------


def _audience(scope: Scope):
    """Notices meant for one role show only to that role (the city admin sees all)."""
    if scope.role in (Role.CITY_ADMIN, "system"):
        return literal(True)
    return or_(Alert.audience_role.is_(None), Alert.audience_role == scope.role)


def open_count(scope: Scope) -> int:
    """The bell: one COUNT of active alerts in the scope (the listener filters it)."""
    return db.session.scalar(
        select(func.count(Alert.id)).where(Alert.status.in_(ACTIVE_STATUSES), _audience(scope))
    ) or 0


def inbox_query(scope: Scope, *, rule: str | None = None, status: str | None = "active",
                org_id: int | None = None):
    """Rows of (Alert, asset code, asset name, organisation name), newest first."""
    stmt = (
        select(Alert, Asset.asset_code, Asset.name, Organisation.name)
        .outerjoin(Asset, Asset.id == Alert.asset_id)
        .join(Organisation, Organisation.id == Alert.org_id)
        .where(_audience(scope))
        .order_by(Alert.status != AlertStatus.OPEN, Alert.stage.desc(), Alert.due_date,
                  Alert.id.desc())
    )
    if rule in AlertRule._value2member_map_:
        stmt = stmt.where(Alert.rule == rule)
    if status == "active":
        stmt = stmt.where(Alert.status.in_(ACTIVE_STATUSES))
    elif status in AlertStatus._value2member_map_:
        stmt = stmt.where(Alert.status == status)
    if org_id is not None:
        stmt = stmt.where(Alert.org_id == org_id)  # narrows within what the scope shows
    return stmt


def _visible_alert(scope: Scope, alert_id: int) -> Alert | None:
    alert = scoped_get(Alert, alert_id)
    if alert is None or (alert.audience_role and scope.role not in (alert.audience_role,
                                                                    Role.CITY_ADMIN)):
        return None
    return alert


def acknowledge(scope: Scope, alert_id: int, note: str | None) -> Alert | None:
    alert = _visible_alert(scope, alert_id)
    if alert is None:
        return None
    if alert.status != AlertStatus.OPEN:
        raise AlertError(_("只能确认待处理的预警。"))
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = clock.utcnow_naive()
    alert.acknowledged_by = scope.user_id
    alert.ack_note = (note or "").strip()[:500] or None
    db.session.flush()
    return alert


def resolve(scope: Scope, alert_id: int, note: str | None) -> Alert | None:
    alert = _visible_alert(scope, alert_id)
    if alert is None:
        return None
    if not alert.is_active:
        raise AlertError(_("该预警已解除。"))
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at = clock.utcnow_naive()
    alert.resolved_by = scope.user_id
    alert.resolution_note = (note or "").strip()[:500] or None
    db.session.flush()
    return alert


def deliveries_of(alert: Alert) -> list[Delivery]:
    return list(db.session.scalars(
        select(Delivery).where(Delivery.alert_id == alert.id).order_by(Delivery.id)
    ))


# --- settings ------------------------------------------------------------------------------

SETTINGS_ROLES = (Role.CITY_ADMIN, Role.INSTITUTION_MANAGER)


def settings_orgs(scope: Scope) -> list[Organisation]:
    """Organisations whose settings the caller may edit: a manager's own, any for the admin."""
    if scope.role == Role.CITY_ADMIN:
        from ..tenancy.services import visible_organisations

        return visible_organisations(scope)
    if scope.role == Role.INSTITUTION_MANAGER and scope.org_id is not None:
        return [db.session.get(Organisation, scope.org_id)]
    return []


def settings_for(scope: Scope, org_id: int) -> AlertSettings | None:
    """The organisation's settings (unsaved defaults if none); None if not editable."""
    if org_id not in {o.id for o in settings_orgs(scope)}:
        return None
    row = db.session.scalars(
        select(AlertSettings).where(AlertSettings.org_id == org_id)
    ).one_or_none()
    if row is None:
        row = AlertSettings(org_id=org_id, due_7d_days=DEFAULT_DUE_7D_DAYS,
                            escalate_after_days=DEFAULT_ESCALATE_AFTER_DAYS,
                            life_ending_days=DEFAULT_LIFE_ENDING_DAYS,
                            webhook_kind=WebhookKind.WECOM)
    return row


EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_webhook_url(url: str, *, allow_private: bool) -> str:
    """Only http(s), and (unless the city admin says so) only to public addresses:
    a robot URL must not let a tenant make the server call its own intranet."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AlertError(_("Webhook 地址必须以 http:// 或 https:// 开头。"))
    if allow_private:
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        message = _("无法解析 Webhook 地址中的主机名：%(host)s", host=parts.hostname)
        raise AlertError(message) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if (address.is_private or address.is_loopback or address.is_link_local
                or address.is_reserved or address.is_multicast or address.is_unspecified):
            raise AlertError(_("Webhook 地址不能指向本机、内网或链路本地地址。"))
    return url


def save_settings(scope: Scope, org_id: int, *, due_soon_days: int | None, due_7d_days: int,
                  escalate_after_days: int, life_ending_days: int, recipients: str | None,
                  webhook_url: str | None, webhook_kind: str) -> AlertSettings:
    row = settings_for(scope, org_id)
    if row is None:
        raise AlertError(_("您无权修改该单位的预警设置。"))
    addresses = _addresses(recipients)
    bad = [a for a in addresses if not EMAIL_RE.match(a)]
    if bad:
        raise AlertError(_("邮箱地址格式不正确：%(a)s", a="，".join(bad[:3])))
    if webhook_kind not in WebhookKind._value2member_map_:
        raise AlertError(_("请选择群机器人类型。"))
    if webhook_url:
        webhook_url = check_webhook_url(webhook_url, allow_private=scope.role == Role.CITY_ADMIN)
    row.due_soon_days = due_soon_days
    row.due_7d_days, row.escalate_after_days = due_7d_days, escalate_after_days
    row.life_ending_days = life_ending_days
    row.recipients = "\n".join(addresses) or None
    row.webhook_url, row.webhook_kind = webhook_url or None, webhook_kind
    if row.id is None:
        db.session.add(row)
    db.session.flush()
    return row
