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
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.schema import CreateTable, DropTable

from .. import clock
from ..assets.models import Asset, AssetStatus
from ..enums import Role
from ..extensions import db
from ..inspections.models import Obligation
from ..tenancy.models import Membership, Organisation, User
from ..tenancy.scope import Scope, scoped_get, use_scope
from .models import (
    ACTIVE_STATUSES,
    DEFAULT_DUE_7D_DAYS,
    DEFAULT_ESCALATE_AFTER_DAYS,
    DEFAULT_LIFE_ENDING_DAYS,
    SEVERITY,
    STAGE_BUREAU,
    STAGE_INSTITUTION,
    Alert,
    AlertRule,
    AlertSettings,
    AlertStatus,
    Channel,
    Delivery,
    Outcome,
    Severity,
    WebhookKind,
)
from .sql import days_between, insert_ignoring_duplicates


class AlertError(ValueError):
    """A clear, translatable message for bad input."""


# --- the scan ----------------------------------------------------------------------

OBLIGATION_RULES = (AlertRule.DUE_SOON, AlertRule.DUE_7D, AlertRule.OVERDUE, AlertRule.FAILED)
ASSET_RULES = (AlertRule.LIFE_ENDING, AlertRule.LIFE_EXCEEDED)
SCAN_RULES = (*OBLIGATION_RULES, *ASSET_RULES)
ALERT_COLUMNS = ("org_id", "asset_id", "obligation_id", "due_date", "rule", "severity",
                 "status", "stage", "opened_at", "escalated_at")

# Every alert key whose condition holds on the scan's day, with the stage it should be
# at. Filled once per scan, then compared with the alert table by one statement each
# to resolve, escalate and open. A temporary table (per connection, dropped at the end
# of the scan; not in the app's metadata).
_holding = Table(
    "alert_scan_holding",
    MetaData(),
    # keyed like the alert table's unique constraint, so that both are read in step
    Column("org_id", Integer, primary_key=True, autoincrement=False),
    Column("asset_id", Integer, primary_key=True, autoincrement=False),
    Column("rule", String(20), primary_key=True),
    Column("due_date", Date, primary_key=True),
    Column("stage", Integer, nullable=False),
    Column("obligation_id", Integer),
    prefixes=["TEMPORARY"],
    sqlite_with_rowid=False,
)
_HOLDING_COLUMNS = ("org_id", "asset_id", "rule", "due_date", "stage", "obligation_id")


@dataclass
class ScanResult:
    today: dt.date
    opened: int = 0
    escalated: int = 0
    resolved: int = 0
    reopened: int = 0
    queued: int = 0

    def __str__(self) -> str:
        return (f"{self.today}: opened {self.opened}, escalated {self.escalated}, "
                f"resolved {self.resolved}, reopened {self.reopened}, "
                f"deliveries queued {self.queued}")


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
    link = plans.PlanItemAsset.__table__
    return exists().where(
        or_(item.c.replaced_asset_id == asset_id_column,
            item.c.id.in_(select(link.c.item_id).where(link.c.asset_id == asset_id_column)
                          .correlate_except(link))),
        plan.c.id == item.c.plan_id,
        plan.c.status.in_(sorted(str(s) for s in approved)),
    )


def _disposed():
    """The disposed assets' ids: a short list (on the status index) to exclude, cheaper
    than looking up the asset row of every obligation."""
    a = Asset.__table__
    return select(a.c.id).where(a.c.status == AssetStatus.DISPOSED)


def _rule(rule: AlertRule):
    return literal(str(rule), type_=db.String)


class _Conditions:
    """The SELECTs of (org_id, asset_id, rule, due_date, stage, obligation_id) that hold on
    `today`: one over the obligations due within the longest lead time, one over the
    failed obligations, one over the assets whose design life ends within the longest
    horizon. Everything is a function of the data and `today`, so a catch-up scan after
    downtime equals a run of daily scans."""

    def __init__(self, today: dt.date):
        self.today = today
        self.t = literal(today, type_=db.Date)
        o, s = Obligation.__table__, AlertSettings.__table__
        # the widest windows any organisation or obligation asks for, as ranges on the
        # indexed date columns (each row is then held to its own lead time)
        settings = db.session.execute(
            select(func.max(s.c.due_soon_days), func.max(s.c.life_ending_days))
        ).one()
        max_lead = db.session.scalar(select(func.max(o.c.lead_days))) or 0
        self.max_lead = max(max_lead, settings[0] or 0)
        self.max_life = max(DEFAULT_LIFE_ENDING_DAYS, settings[1] or 0)

    def due_bands(self):
        """Overdue, due within 7 days, due within the lead time: one band per obligation.

        A lead time of 0 (daily checks) means no advance warning at all. The settings
        form keeps the 7-day window ≥ 1, so an obligation inside its lead time is in the
        7-day band or else in the due-soon band."""
        o, s, t, today = Obligation.__table__, AlertSettings.__table__, self.t, self.today
        lead = func.coalesce(s.c.due_soon_days, o.c.lead_days)
        near = func.coalesce(s.c.due_7d_days, DEFAULT_DUE_7D_DAYS)
        days_left = days_between(t, o.c.next_due)
        escalate_after = func.coalesce(s.c.escalate_after_days, DEFAULT_ESCALATE_AFTER_DAYS)
        overdue = o.c.next_due < today
        band = case(
            (overdue, _rule(AlertRule.OVERDUE)),
            (days_left <= near, _rule(AlertRule.DUE_7D)),
            else_=_rule(AlertRule.DUE_SOON),
        )
        stage = case(
            (and_(overdue, days_between(o.c.next_due, t) > escalate_after), STAGE_BUREAU),
            else_=STAGE_INSTITUTION,
        )
        return (
            select(o.c.org_id, o.c.asset_id, band, o.c.next_due, stage, o.c.id)
            .select_from(o.outerjoin(s, s.c.org_id == o.c.org_id))
            .where(o.c.next_due <= today + dt.timedelta(days=self.max_lead),
                   or_(overdue, and_(lead > 0, days_left <= lead)),
                   o.c.active.is_(True), o.c.asset_id.not_in(_disposed()))
        )

    def failed(self):
        """Keyed by the failed inspection's date, so a new failure re-arms."""
        o = Obligation.__table__
        due_date = func.coalesce(o.c.last_done, o.c.next_due, literal(dt.date(1900, 1, 1)))
        return (
            select(o.c.org_id, o.c.asset_id, _rule(AlertRule.FAILED), due_date,
                   literal(STAGE_INSTITUTION), o.c.id)
            .where(o.c.failed.is_(True), o.c.active.is_(True),
                   o.c.asset_id.not_in(_disposed()))
        )

    def design_life(self):
        """Design life ending within the horizon, or past it with no approved renewal."""
        a, s, t, today = Asset.__table__, AlertSettings.__table__, self.t, self.today
        org = Organisation.__table__
        end = a.c.design_life_end
        horizon = func.coalesce(s.c.life_ending_days, DEFAULT_LIFE_ENDING_DAYS)
        exceeded = [end <= today]
        planned = _approved_plan_item_exists(a.c.id)
        if planned is not None:
            exceeded.append(~planned)
        return (
            select(a.c.org_id, a.c.id,
                   case((end > today, _rule(AlertRule.LIFE_ENDING)),
                        else_=_rule(AlertRule.LIFE_EXCEEDED)),
                   end, literal(STAGE_INSTITUTION), literal(None, type_=db.Integer))
            # by organisation, so that (org_id, design_life_end) covers the range
            .select_from(org.join(a, a.c.org_id == org.c.id)
                         .outerjoin(s, s.c.org_id == org.c.id))
            .where(end <= today + dt.timedelta(days=self.max_life),
                   or_(and_(end > today, days_between(t, end) <= horizon), and_(*exceeded)),
                   a.c.id.not_in(_disposed()))
        )


def _rows(statement) -> int:
    """Execute a Core write and return how many rows it touched (psycopg reports -1
    for INSERT … SELECT unless asked to keep the count)."""
    result = db.session.execute(statement, execution_options={"preserve_rowcount": True})
    return max(result.rowcount or 0, 0)


def _fill_holding(today: dt.date) -> None:
    conn = db.session.connection()
    conn.execute(DropTable(_holding, if_exists=True))
    conn.execute(CreateTable(_holding))
    conditions = _Conditions(today)
    for source in (conditions.due_bands(), conditions.failed(), conditions.design_life()):
        # two obligations of one asset due the same day are one alert
        conn.execute(insert_ignoring_duplicates(_holding).from_select(_HOLDING_COLUMNS, source))
    if conn.dialect.name == "postgresql":
        # autovacuum never analyses temporary tables; the planner needs the row count
        conn.exec_driver_sql(f"ANALYZE {_holding.name}")


def scan(today: dt.date | None = None) -> ScanResult:
    """One set-based pass over every tenant: open, escalate, resolve, queue deliveries.

    The conditions are evaluated once into a temporary table; then one UPDATE resolves
    the active alerts whose key no longer holds, one escalates those that should now be
    at the bureau, and INSERT … ON CONFLICT DO NOTHING opens the keys not seen before
    (already at their stage, so an alert opened after downtime is what daily scans
    would have left). Core statements only; commit is the caller's."""
    today = today or clock.today()
    now = clock.utcnow_naive()
    al, h = Alert.__table__, _holding
    result = ScanResult(today)
    _fill_holding(today)
    same_key = and_(h.c.asset_id == al.c.asset_id, h.c.rule == al.c.rule,
                    h.c.due_date == al.c.due_date, h.c.org_id == al.c.org_id)

    result.resolved = _rows(
        update(al)
        .where(Alert.active_clause(), al.c.rule.in_([str(r) for r in SCAN_RULES]),
               ~exists().where(same_key))
        .values(status=AlertStatus.RESOLVED, resolved_at=now, resolved_by=None,
                resolution_note=None)
    )
    # a resolved alert whose condition still holds is open again, with a note saying so
    result.reopened = _rows(
        update(al)
        .where(al.c.status == AlertStatus.RESOLVED, al.c.rule.in_([str(r) for r in SCAN_RULES]),
               exists().where(same_key))
        .values(status=AlertStatus.OPEN, resolved_at=None, resolved_by=None,
                resolution_note=REOPEN_NOTE)
    )
    result.escalated = _rows(
        update(al)
        .where(Alert.active_clause(), al.c.rule == AlertRule.OVERDUE, al.c.stage < STAGE_BUREAU,
               exists().where(same_key, h.c.stage >= STAGE_BUREAU))
        .values(stage=STAGE_BUREAU, escalated_at=now)
    )
    severity = case({str(rule): str(SEVERITY[rule]) for rule in SCAN_RULES}, value=h.c.rule)
    any_alert = select(al.c.id).where(same_key)  # on the unique key, whatever its status
    for stage in (STAGE_INSTITUTION, STAGE_BUREAU):
        # NOT EXISTS skips the known keys before their row is built; ON CONFLICT is the
        # guarantee (and SQLite needs the WHERE before it anyway)
        source = select(
            h.c.org_id, h.c.asset_id, h.c.obligation_id, h.c.due_date, h.c.rule, severity,
            literal(str(AlertStatus.OPEN)), h.c.stage, literal(now),
            literal(now if stage >= STAGE_BUREAU else None, type_=db.DateTime),
        ).where(h.c.stage == stage, ~any_alert.exists())
        opened = _rows(insert_ignoring_duplicates(al).from_select(ALERT_COLUMNS, source))
        result.opened += opened
        if stage >= STAGE_BUREAU:
            result.escalated += opened
    db.session.connection().execute(DropTable(_holding))
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
    active = Alert.active_clause()

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
    has_hook = and_(s.c.webhook_url.is_not(None), s.c.webhook_url != "")
    own_hook = (
        select(*pending(Channel.WEBHOOK, s.c.webhook_url, no_user, s.c.webhook_kind))
        .select_from(al.join(s, s.c.org_id == al.c.org_id))
        # (the IN repeats the join so that the planner starts from the few organisations
        # with a webhook rather than from every active alert)
        .where(active, has_hook, al.c.org_id.in_(select(s.c.org_id).where(has_hook)))
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
        ).execution_options(all_tenants=True)  # see above (and PostgreSQL's row security)
    )
    with use_scope(Scope.system()):  # the queue is everyone's, as in the daily job
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
                org_id: int | None = None, severity: str | None = None):
    """Rows of (Alert, asset code, asset name, organisation name), newest first."""
    # the worst first: open before acknowledged, then by severity, escalated, earliest
    rank = case({str(Severity.DANGER): 0, str(Severity.WARNING): 1}, value=Alert.severity,
                else_=2)
    stmt = (
        select(Alert, Asset.asset_code, Asset.name, Organisation.name)
        .outerjoin(Asset, Asset.id == Alert.asset_id)
        .join(Organisation, Organisation.id == Alert.org_id)
        .where(_audience(scope))
        .order_by(Alert.status != AlertStatus.OPEN, rank, Alert.stage.desc(), Alert.due_date,
                  Alert.id.desc())
    )
    if Severity.has(severity):
        stmt = stmt.where(Alert.severity == severity)
    if AlertRule.has(rule):
        stmt = stmt.where(Alert.rule == rule)
    if status == "active":
        stmt = stmt.where(Alert.status.in_(ACTIVE_STATUSES))
    elif AlertStatus.has(status):
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


# Alerts belong to the institution: its own people act on them (and the city admin);
# bureaus and the regulator read. Acknowledging is everyday work for the inspectors
# too; resolving by hand is the manager's call.
ACKNOWLEDGE_ROLES = (Role.CITY_ADMIN, Role.INSTITUTION_MANAGER, Role.INSTITUTION_STAFF)
RESOLVE_ROLES = (Role.CITY_ADMIN, Role.INSTITUTION_MANAGER)
REOPEN_NOTE = "扫描时条件仍然存在，已重新打开"


def _may(scope: Scope, roles) -> None:
    if scope.role not in roles or not scope.writable:
        raise PermissionError(scope.role)


def acknowledge(scope: Scope, alert_id: int, note: str | None) -> Alert | None:
    """Raises PermissionError for a role that only reads the institution's alerts."""
    alert = _visible_alert(scope, alert_id)
    if alert is None:
        return None
    _may(scope, ACKNOWLEDGE_ROLES)
    if alert.status != AlertStatus.OPEN:
        raise AlertError(_("只能确认待处理的预警。"))
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = clock.utcnow_naive()
    alert.acknowledged_by = scope.user_id
    alert.ack_note = (note or "").strip()[:500] or None
    db.session.flush()
    return alert


def acknowledge_many(scope: Scope, alert_ids: list[int], note: str | None) -> int:
    """Acknowledge the open ones among `alert_ids` that the caller may act on (others are
    skipped, foreign ones unseen): one scoped SELECT, not a lookup per id. Returns how
    many were acknowledged."""
    _may(scope, ACKNOWLEDGE_ROLES)
    ids = sorted(set(alert_ids))[:500]
    alerts = db.session.scalars(
        select(Alert).where(Alert.id.in_(ids), Alert.status == AlertStatus.OPEN,
                            _audience(scope))
    ).all()
    now, text = clock.utcnow_naive(), (note or "").strip()[:500] or None
    for alert in alerts:
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at, alert.acknowledged_by, alert.ack_note = now, scope.user_id, text
    db.session.flush()
    return len(alerts)


# What an alert's date means, per rule (the inbox names the column per row)
DATE_MEANING = {
    AlertRule.DUE_SOON: _l("应检日期"), AlertRule.DUE_7D: _l("应检日期"),
    AlertRule.OVERDUE: _l("应检日期"), AlertRule.FAILED: _l("检验日期"),
    AlertRule.LIFE_ENDING: _l("设计使用年限届满"), AlertRule.LIFE_EXCEEDED: _l("设计使用年限届满"),
    AlertRule.NOTICE: _l("通知日期"),
}


def resolve(scope: Scope, alert_id: int, note: str | None) -> Alert | None:
    """A manual resolve: the next scan re-opens it if its condition still holds."""
    alert = _visible_alert(scope, alert_id)
    if alert is None:
        return None
    _may(scope, RESOLVE_ROLES)
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


PHONE_RE = re.compile(r"^[0-9+()\- 转]{3,30}$")


def save_settings(scope: Scope, org_id: int, *, due_soon_days: int | None, due_7d_days: int,
                  escalate_after_days: int, life_ending_days: int, recipients: str | None,
                  webhook_url: str | None, webhook_kind: str,
                  safety_phone: str | None = None, webhook_secret: str | None = None,
                  clear_webhook_secret: bool = False) -> AlertSettings:
    """`webhook_secret` None or blank keeps the stored one; `clear_webhook_secret` drops it."""
    row = settings_for(scope, org_id)
    if row is None:
        raise AlertError(_("您无权修改该单位的预警设置。"))
    addresses = _addresses(recipients)
    bad = [a for a in addresses if not EMAIL_RE.match(a)]
    if bad:
        raise AlertError(_("邮箱地址格式不正确：%(a)s", a="，".join(bad[:3])))
    if not WebhookKind.has(webhook_kind):
        raise AlertError(_("请选择群机器人类型。"))
    if webhook_url:
        webhook_url = check_webhook_url(webhook_url, allow_private=scope.role == Role.CITY_ADMIN)
    row.due_soon_days = due_soon_days
    row.due_7d_days, row.escalate_after_days = due_7d_days, escalate_after_days
    row.life_ending_days = life_ending_days
    row.recipients = "\n".join(addresses) or None
    row.webhook_url, row.webhook_kind = webhook_url or None, webhook_kind
    secret = (webhook_secret or "").strip()
    if clear_webhook_secret:
        row.webhook_secret = None
    elif secret:
        if not secret.isascii() or not secret.isprintable():
            raise AlertError(_("加签密钥应为钉钉机器人设置页显示的 SEC 开头的字符串。"))
        row.webhook_secret = secret
    phone = (safety_phone or "").strip()
    if phone and not PHONE_RE.match(phone):
        raise AlertError(_("联系电话只能包含数字、空格和 - + ( ) 以及“转”，例如 0356-2196120。"))
    row.safety_phone = phone or None
    if row.id is None:
        db.session.add(row)
    db.session.flush()
    return row
