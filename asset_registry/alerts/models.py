"""Alerts (one row per event, keyed by what it is about), their deliveries, the
per-organisation settings and the job-run lock table of the scheduler."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .. import clock
from ..assets.models import Asset
from ..enums import LabelledEnum
from ..extensions import db
from ..tenancy.scope import TenantOwned


class AlertRule(LabelledEnum):
    DUE_SOON = "due_soon"
    DUE_7D = "due_7d"
    OVERDUE = "overdue"
    FAILED = "failed"
    LIFE_ENDING = "life_ending"
    LIFE_EXCEEDED = "life_exceeded"
    NOTICE = "notice"

    @classmethod
    def labels(cls) -> dict:
        return {
            "due_soon": _l("即将到期"),
            "due_7d": _l("7 日内到期"),
            "overdue": _l("已超期"),
            "failed": _l("检验不合格未整改"),
            "life_ending": _l("设计使用年限即将届满"),
            "life_exceeded": _l("超设计使用年限且无更新计划"),
            "notice": _l("通知"),
        }


class AlertStatus(LabelledEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"

    @classmethod
    def labels(cls) -> dict:
        return {"open": _l("待处理"), "acknowledged": _l("已确认"), "resolved": _l("已解除")}


class Severity(LabelledEnum):
    INFO = "info"
    WARNING = "warning"
    DANGER = "danger"

    @classmethod
    def labels(cls) -> dict:
        return {"info": _l("提示"), "warning": _l("警告"), "danger": _l("严重")}


SEVERITY = {
    AlertRule.DUE_SOON: Severity.INFO,
    AlertRule.DUE_7D: Severity.WARNING,
    AlertRule.OVERDUE: Severity.DANGER,
    AlertRule.FAILED: Severity.DANGER,
    AlertRule.LIFE_ENDING: Severity.INFO,
    AlertRule.LIFE_EXCEEDED: Severity.WARNING,
    AlertRule.NOTICE: Severity.INFO,
}

# stage 0: the institution; stage 1: also its supervising bureau
STAGE_INSTITUTION = 0
STAGE_BUREAU = 1

ACTIVE_STATUSES = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
# The same test written with inline literals: SQLite (and PostgreSQL's generic plans)
# use a partial index only when they can see its WHERE in the query's own text.
ACTIVE_SQL = "status IN ('open', 'acknowledged')"


class Alert(TenantOwned, db.Model):
    """One event about one asset (or a notice with no asset).

    The scan only ever inserts keys it has not seen (ON CONFLICT DO NOTHING) and
    resolves keys whose condition no longer holds, so re-running it changes nothing.
    """

    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("org_id", "asset_id", "rule", "due_date"),
        UniqueConstraint("org_id", "notice_key"),
        Index("ix_alert_org_status", "org_id", "status"),
        # The active alerts only, in the order of the unique key: the scan's resolve and
        # escalate passes and the delivery queue read nothing else (a few per cent of all
        # alerts once the history has grown). Replaces an index on (status, rule).
        Index("ix_alert_active_by_key", "org_id", "asset_id", "rule", "due_date", "stage",
              sqlite_where=text(ACTIVE_SQL), postgresql_where=text(ACTIVE_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # nullable for notices; the regulator sees an alert when it sees the asset
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("asset.id", ondelete="CASCADE"), index=True
    )
    obligation_id: Mapped[int | None] = mapped_column(
        ForeignKey("obligation.id", ondelete="SET NULL")
    )
    rule: Mapped[str] = mapped_column(String(20))
    due_date: Mapped[dt.date]
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(15), default=AlertStatus.OPEN)
    stage: Mapped[int] = mapped_column(default=STAGE_INSTITUTION)
    opened_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
    escalated_at: Mapped[dt.datetime | None]
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    ack_note: Mapped[str | None] = mapped_column(String(500))
    resolved_at: Mapped[dt.datetime | None]
    # NULL with resolved_at set: the scan found the condition gone
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolution_note: Mapped[str | None] = mapped_column(String(500))
    # notices (notify()): a caller-chosen idempotency key, a title and a link
    notice_key: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(300))
    link: Mapped[str | None] = mapped_column(String(500))
    audience_role: Mapped[str | None] = mapped_column(String(30))

    @classmethod
    def special_criteria(cls):
        return cls.asset_id.in_(
            select(Asset.id).where(Asset.is_special.is_(True)).scalar_subquery()
        )

    @property
    def rule_label(self) -> str:
        return AlertRule.label_of(self.rule)

    @property
    def status_label(self) -> str:
        return AlertStatus(self.status).label

    @property
    def severity_label(self) -> str:
        return Severity(self.severity).label

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @classmethod
    def active_clause(cls, table=None):
        """`status IN ('open', 'acknowledged')` with literals (see ACTIVE_SQL)."""
        column = (table if table is not None else cls.__table__).c.status
        return column.in_([literal_column(f"'{s}'") for s in ACTIVE_STATUSES])


class WebhookKind(LabelledEnum):
    WECOM = "wecom"
    DINGTALK = "dingtalk"

    @classmethod
    def labels(cls) -> dict:
        return {"wecom": _l("企业微信群机器人"), "dingtalk": _l("钉钉群机器人")}


DEFAULT_DUE_7D_DAYS = 7
DEFAULT_ESCALATE_AFTER_DAYS = 14
DEFAULT_LIFE_ENDING_DAYS = 365


class AlertSettings(TenantOwned, db.Model):
    """Per-organisation lead times, extra recipients and the group-robot webhook.

    A missing row means the defaults; `due_soon_days` NULL means each obligation's
    own lead time."""

    __tablename__ = "alert_settings"
    __table_args__ = (UniqueConstraint("org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    due_soon_days: Mapped[int | None]
    due_7d_days: Mapped[int] = mapped_column(default=DEFAULT_DUE_7D_DAYS)
    escalate_after_days: Mapped[int] = mapped_column(default=DEFAULT_ESCALATE_AFTER_DAYS)
    life_ending_days: Mapped[int] = mapped_column(default=DEFAULT_LIFE_ENDING_DAYS)
    # extra e-mail addresses, one per line
    recipients: Mapped[str | None] = mapped_column(Text)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_kind: Mapped[str] = mapped_column(String(10), default=WebhookKind.WECOM)
    # a DingTalk robot secured by 加签 (starts "SEC"): each call carries a signature
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    # shown on the public safety mark of the institution's devices
    safety_phone: Mapped[str | None] = mapped_column(String(30))
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=clock.utcnow_naive, onupdate=clock.utcnow_naive
    )

    @property
    def recipient_list(self) -> list[str]:
        return [r.strip() for r in (self.recipients or "").splitlines() if r.strip()]


class Channel(LabelledEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"

    @classmethod
    def labels(cls) -> dict:
        return {"email": _l("邮件"), "webhook": _l("群机器人")}


class Outcome(LabelledEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    # the alert was resolved before it was sent
    SKIPPED = "skipped"

    @classmethod
    def labels(cls) -> dict:
        return {"pending": _l("待发送"), "sent": _l("已发送"), "failed": _l("发送失败"),
                "skipped": _l("已解除，未发送")}


class Delivery(TenantOwned, db.Model):
    """One alert stage for one recipient on one channel; every send attempt updates it.

    UNIQUE(alert, stage, channel, recipient) is what makes "each stage mailed once"
    hold whatever runs the delivery, and the claim columns let two processes share
    the queue without sending a row twice."""

    __tablename__ = "alert_delivery"
    __audited__ = False
    __table_args__ = (
        UniqueConstraint("alert_id", "stage", "channel", "recipient"),
        Index("ix_alert_delivery_queue", "outcome", "next_attempt_at"),
        Index("ix_alert_delivery_recipient_sent", "recipient", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), index=True)
    stage: Mapped[int]
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(500))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    webhook_kind: Mapped[str | None] = mapped_column(String(10))
    queued_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
    outcome: Mapped[str] = mapped_column(String(10), default=Outcome.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[dt.datetime | None]
    next_attempt_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(String(1000))
    claim_token: Mapped[str | None] = mapped_column(String(40))
    claimed_until: Mapped[dt.datetime | None]


class JobRun(db.Model):
    """One row per (job, run key): the first process to insert it does the work."""

    __tablename__ = "alert_job_run"
    __table_args__ = (UniqueConstraint("job", "run_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    run_key: Mapped[str] = mapped_column(String(40))
    owner: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
    finished_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))
    summary: Mapped[str | None] = mapped_column(String(1000))
