"""Obligations (recurring duties), inspection records and the fault/repair log."""

from __future__ import annotations

import datetime as dt
import decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..assets.models import Asset, AssetOwned
from ..enums import LabelledEnum
from ..extensions import db
from ..tenancy.scope import TenantOwned


class ObligationKind(LabelledEnum):
    ANNUAL_INSPECTION = "annual_inspection"
    PERIODIC_INSPECTION = "periodic_inspection"
    FULL_INSPECTION = "full_inspection"
    EXTERNAL_INSPECTION = "external_inspection"
    INTERNAL_INSPECTION = "internal_inspection"
    USER_ANNUAL_CHECK = "user_annual_check"
    METROLOGY = "metrology"
    RADIATION_TEST = "radiation_test"
    PREVENTIVE_MAINTENANCE = "preventive_maintenance"
    DAILY_CHECK = "daily_check"
    MONTHLY_CHECK = "monthly_check"
    ACCEPTANCE_TEST = "acceptance_test"
    STABILITY_TEST = "stability_test"
    DESIGN_LIFE_ASSESSMENT = "design_life_assessment"
    RISK_ASSESSMENT = "risk_assessment"

    @classmethod
    def labels(cls) -> dict:
        return {
            "annual_inspection": _l("年度检验"),
            "periodic_inspection": _l("定期检验"),
            "full_inspection": _l("全面检验"),
            "external_inspection": _l("外部检验"),
            "internal_inspection": _l("内部检验"),
            "user_annual_check": _l("年度检查"),
            "metrology": _l("计量检定"),
            "radiation_test": _l("放射状态检测"),
            "acceptance_test": _l("验收检测"),
            "stability_test": _l("稳定性检测"),
            "preventive_maintenance": _l("预防性维护"),
            "daily_check": _l("日常自检"),
            "monthly_check": _l("月度自检"),
            "design_life_assessment": _l("达到设计使用年限检验"),
            "risk_assessment": _l("安全风险评估"),
        }


class Obligation(AssetOwned, db.Model):
    """A recurring duty on one asset; `next_due` is kept current and indexed."""

    __tablename__ = "obligation"
    __org_index__ = False  # the composite indexes below lead with org_id
    __table_args__ = (
        Index("ix_obligation_next_due", "next_due"),
        Index("ix_obligation_org_next_due", "org_id", "next_due"),
        # for the alert scan: its date range (the longest lead time) and the few
        # failed duties, without reading the whole table for either
        Index("ix_obligation_lead_days", "lead_days"),
        Index(
            "ix_obligation_failed",
            "asset_id",
            sqlite_where=text("failed IS 1"),
            postgresql_where=text("failed IS true"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("obligation_template.id"))
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    interval_months: Mapped[int | None]
    interval_days: Mapped[int | None]
    lead_days: Mapped[int] = mapped_column(default=30)
    statutory: Mapped[bool] = mapped_column(default=True)
    conclusion_set: Mapped[str] = mapped_column(String(20), default="general")
    checklist: Mapped[list | None] = mapped_column(JSON)
    # checklist items whose 异常 on special equipment opens a stopping fault
    critical_items: Mapped[list | None] = mapped_column(JSON)
    next_due: Mapped[dt.date | None]
    last_done: Mapped[dt.date | None]
    # the latest record failed and no passing one has followed
    failed: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    # edited by a manager: re-categorisation and template refreshes leave it alone
    customised: Mapped[bool] = mapped_column(default=False)

    asset: Mapped[Asset] = relationship()

    @property
    def kind_label(self) -> str:
        return ObligationKind.label_of(self.kind)


class InspectionRecord(AssetOwned, db.Model):
    __tablename__ = "inspection_record"
    __table_args__ = (
        UniqueConstraint("org_id", "obligation_id", "report_no"),
        Index("ix_inspection_obligation_date", "obligation_id", "inspected_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligation.id", ondelete="CASCADE"))
    inspected_on: Mapped[dt.date]
    inspection_type: Mapped[str | None] = mapped_column(String(30))  # 检验类别
    agency: Mapped[str | None] = mapped_column(String(200))
    report_no: Mapped[str | None] = mapped_column(String(100))
    conclusion: Mapped[str] = mapped_column(String(30))
    passed: Mapped[bool] = mapped_column(default=True)
    next_due: Mapped[dt.date | None]
    problems: Mapped[str | None] = mapped_column(Text)
    checklist_results: Mapped[dict | None] = mapped_column(JSON)
    # 安全状况等级 stated in a pressure-vessel report (1–5)
    safety_grade: Mapped[int | None]
    method: Mapped[str] = mapped_column(String(10), default="form")  # form | scan | import
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)

    obligation: Mapped[Obligation] = relationship()


class FaultSeverity(LabelledEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @classmethod
    def labels(cls) -> dict:
        return {"low": _l("轻微"), "medium": _l("一般"), "high": _l("严重"), "critical": _l("危急")}


class Fault(AssetOwned, db.Model):
    """The fault and repair log."""

    __tablename__ = "fault"
    __table_args__ = (Index("ix_fault_asset_reported", "asset_id", "reported_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reported_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10), default=FaultSeverity.MEDIUM)
    downtime_hours: Mapped[decimal.Decimal | None] = mapped_column(Numeric(10, 1))
    cost: Mapped[decimal.Decimal | None] = mapped_column(Numeric(14, 2))
    resolved_at: Mapped[dt.datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)
    # the device must not run until this fault is resolved (see services.report_fault)
    stops: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    # a manager let a serious fault on special equipment run on, and why
    run_on_reason: Mapped[str | None] = mapped_column(String(500))
    # a major (key-part) repair: radiation equipment needs a new 验收检测 afterwards
    major_repair: Mapped[bool] = mapped_column(default=False, server_default=sa_false())

    asset: Mapped[Asset] = relationship()

    @property
    def severity_label(self) -> str:
        return FaultSeverity.label_of(self.severity, default="")


class RegistrationChange(AssetOwned, db.Model):
    """使用登记变更 of special equipment kept in use past its design life (after a passing
    inspection or safety assessment): the date and the new registration certificate."""

    __tablename__ = "registration_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    changed_on: Mapped[dt.date]
    certificate_no: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(500))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)


class PermitKind(LabelledEnum):
    RADIATION_DIAGNOSIS = "radiation_diagnosis"
    RADIATION_SAFETY = "radiation_safety"

    @classmethod
    def labels(cls) -> dict:
        return {"radiation_diagnosis": _l("放射诊疗许可证"),
                "radiation_safety": _l("辐射安全许可证")}


class InstitutionPermit(TenantOwned, db.Model):
    """A licence the institution holds (放射诊疗许可证 from the health bureau, 辐射安全许可证
    from ecology and environment): number and validity, warned before it runs out."""

    __tablename__ = "institution_permit"
    __table_args__ = (UniqueConstraint("org_id", "kind", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    number: Mapped[str] = mapped_column(String(64))
    issued_on: Mapped[dt.date | None]
    expires_on: Mapped[dt.date]
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)

    @property
    def kind_label(self) -> str:
        return PermitKind.label_of(self.kind)


class SafetyRefresh(db.Model):
    """The day each organisation's stored safety states were last brought up to date
    (bookkeeping of `safety.refresh`, derived data like the rollups: not tenant-owned)."""

    __tablename__ = "safety_refresh"

    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    as_of: Mapped[dt.date]
    refreshed_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
