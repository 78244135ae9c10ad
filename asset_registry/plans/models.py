"""Renewal plans, their items and funding, the review trail and the 2023 baselines."""

from __future__ import annotations

import datetime as dt
import decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..assets.models import Asset, DisposalMethod, FundingSource
from ..enums import LabelledEnum
from ..extensions import db
from ..tenancy.models import Organisation
from ..tenancy.scope import TenantOwned

__all__ = [
    "DisposalMethod",
    "FundingLine",
    "FundingSource",
    "InvestmentBaseline",
    "ItemDecision",
    "PlanAttachment",
    "PlanItem",
    "PlanItemAsset",
    "PlanStatus",
    "RenewalPlan",
    "RenewalReason",
    "ReviewEvent",
]


class PlanStatus(LabelledEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    REJECTED = "rejected"
    IN_PROCUREMENT = "in_procurement"
    COMPLETED = "completed"

    @classmethod
    def labels(cls) -> dict:
        return {
            "draft": _l("草稿"),
            "submitted": _l("已提交待审"),
            "returned": _l("已退回"),
            "approved": _l("已批准"),
            "rejected": _l("未通过"),
            "in_procurement": _l("采购中"),
            "completed": _l("已完成"),
        }


# Editing in place is possible only here; every other state needs a new revision.
EDITABLE_STATES = frozenset({PlanStatus.DRAFT, PlanStatus.RETURNED})
# Budgets a bureau has agreed to (counted as "approved" on the dashboards).
APPROVED_STATES = frozenset({PlanStatus.APPROVED, PlanStatus.IN_PROCUREMENT, PlanStatus.COMPLETED})
# Budgets put in front of a bureau (counted as "requested").
REQUESTED_STATES = frozenset({PlanStatus.SUBMITTED, *APPROVED_STATES})


class RenewalReason(LabelledEnum):
    PAST_DESIGN_LIFE = "past_design_life"
    FAILED_INSPECTION = "failed_inspection"
    ENERGY_BELOW_STANDARD = "energy_below_standard"
    OBSOLETE = "obsolete"
    INSUFFICIENT_CAPACITY = "insufficient_capacity"
    FREQUENT_REPAIRS = "frequent_repairs"

    @classmethod
    def labels(cls) -> dict:
        return {
            "past_design_life": _l("超过设计使用年限"),
            "failed_inspection": _l("检验不合格"),
            "energy_below_standard": _l("能效低于标准"),
            "obsolete": _l("技术落后"),
            "insufficient_capacity": _l("能力不足"),
            "frequent_repairs": _l("故障频繁"),
        }



class ItemDecision(LabelledEnum):
    """A reviewer's decision on one item; a plan is approved once every item is."""

    APPROVED = "approved"
    RETURNED = "returned"

    @classmethod
    def labels(cls) -> dict:
        return {"approved": _l("同意"), "returned": _l("退回修改")}


def quarter_label(quarter: str | None) -> str:
    """"2025Q3" → "2025年第3季度" (the form a bureau's table uses)."""
    if not quarter:
        return ""
    year, _sep, number = quarter.partition("Q")
    return str(_l("%(y)s年第%(q)s季度", y=year, q=number))


class RenewalPlan(TenantOwned, db.Model):
    """One institution's renewal plan for a year; revisions form a chain via `parent_id`."""

    __tablename__ = "renewal_plan"
    __table_args__ = (
        UniqueConstraint("org_id", "year", "title", "revision"),
        Index("ix_renewal_plan_org_status", "org_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=PlanStatus.DRAFT)
    revision: Mapped[int] = mapped_column(default=1)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("renewal_plan.id"), index=True)
    # A later revision replaces this one: it stays readable but is out of every total.
    superseded: Mapped[bool] = mapped_column(default=False)
    # Set while the plan may not be edited in place (submitted, approved and beyond).
    frozen: Mapped[bool] = mapped_column(default=False)
    frozen_at: Mapped[dt.datetime | None]
    submitted_at: Mapped[dt.datetime | None]
    decided_at: Mapped[dt.datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)
    # Set when a reviewer first opens a submitted plan: from then on it cannot be withdrawn.
    review_started_at: Mapped[dt.datetime | None]
    # The items as the bureau last decided on them, so the next submission shows a diff.
    reviewed_snapshot: Mapped[list | None] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=clock.utcnow_naive, onupdate=clock.utcnow_naive
    )

    organisation: Mapped[Organisation] = relationship(foreign_keys="RenewalPlan.org_id")
    items: Mapped[list[PlanItem]] = relationship(
        back_populates="plan", order_by="PlanItem.position", cascade="all, delete-orphan"
    )

    @property
    def status_label(self) -> str:
        return PlanStatus(self.status).label

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE_STATES and not self.superseded

    @property
    def total(self) -> decimal.Decimal:
        return sum((i.total for i in self.items), decimal.Decimal("0"))


class PlanItem(TenantOwned, db.Model):
    __tablename__ = "plan_item"
    __table_args__ = (Index("ix_plan_item_plan", "plan_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("renewal_plan.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=1)
    # None: a new acquisition, nothing is replaced.
    replaced_asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id"), index=True)
    equipment_name: Mapped[str] = mapped_column(String(200))
    specification: Mapped[str | None] = mapped_column(String(500))
    quantity: Mapped[int] = mapped_column(default=1)
    unit_price: Mapped[decimal.Decimal] = mapped_column(Numeric(14, 2))
    total: Mapped[decimal.Decimal] = mapped_column(Numeric(16, 2))
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    planned_quarter: Mapped[str | None] = mapped_column(String(7))  # "2025Q3"
    energy_saved_kwh: Mapped[decimal.Decimal | None] = mapped_column(Numeric(14, 1))
    capacity_effect: Mapped[str | None] = mapped_column(String(500))
    # completion (以旧换新)
    actual_price: Mapped[decimal.Decimal | None] = mapped_column(Numeric(16, 2))
    supplier: Mapped[str | None] = mapped_column(String(200))
    completed_on: Mapped[dt.date | None]
    new_asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id"), index=True)
    old_disposal_method: Mapped[str | None] = mapped_column(String(20))
    old_disposal_recipient: Mapped[str | None] = mapped_column(String(200))
    # The first item this one was copied from (across revisions): the key of the diff.
    origin_id: Mapped[int | None] = mapped_column(ForeignKey("plan_item.id", ondelete="SET NULL"))
    decision: Mapped[str | None] = mapped_column(String(20))
    decision_comment: Mapped[str | None] = mapped_column(Text)

    plan: Mapped[RenewalPlan] = relationship(back_populates="items")
    # The first replaced asset; `replaced_links` holds all of them (以旧换新 may retire several).
    replaced_asset: Mapped[Asset | None] = relationship(foreign_keys=[replaced_asset_id])
    replaced_links: Mapped[list[PlanItemAsset]] = relationship(
        back_populates="item", order_by="PlanItemAsset.position", cascade="all, delete-orphan"
    )
    new_asset: Mapped[Asset | None] = relationship(foreign_keys=[new_asset_id])
    funding_lines: Mapped[list[FundingLine]] = relationship(
        back_populates="item", order_by="FundingLine.id", cascade="all, delete-orphan"
    )

    @property
    def lineage(self) -> int:
        return self.origin_id or self.id

    @property
    def replaced_assets(self) -> list[Asset]:
        """Every asset the item replaces; an item written before links existed (or by a
        bulk path that sets only the column) still names its one asset."""
        if self.replaced_links:
            return [link.asset for link in self.replaced_links]
        return [self.replaced_asset] if self.replaced_asset is not None else []

    @property
    def decision_label(self) -> str:
        return ItemDecision.label_of(self.decision) if self.decision else ""

    @property
    def reason_labels(self) -> list[str]:
        return [RenewalReason(r).label for r in self.reasons or [] if RenewalReason.has(r)]

    @property
    def completed(self) -> bool:
        return self.completed_on is not None

    @property
    def planned_label(self) -> str:
        return quarter_label(self.planned_quarter)


class PlanItemAsset(TenantOwned, db.Model):
    """One asset an item replaces; the 以旧换新 chain keeps each link."""

    __tablename__ = "plan_item_asset"
    __table_args__ = (
        UniqueConstraint("item_id", "asset_id"),
        Index("ix_plan_item_asset_asset", "asset_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("plan_item.id", ondelete="CASCADE"))
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id"))
    position: Mapped[int] = mapped_column(default=1)

    item: Mapped[PlanItem] = relationship(back_populates="replaced_links")
    asset: Mapped[Asset] = relationship()


class PlanAttachment(TenantOwned, db.Model):
    """A quotation, drawing or photo on a plan or one of its items (PDF, JPEG, PNG),
    stored under UPLOAD_DIR and served only within scope."""

    __tablename__ = "plan_attachment"
    __table_args__ = (Index("ix_plan_attachment_plan", "plan_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("renewal_plan.id", ondelete="CASCADE"))
    # None: the attachment belongs to the plan as a whole.
    item_id: Mapped[int | None] = mapped_column(ForeignKey("plan_item.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class FundingLine(TenantOwned, db.Model):
    __tablename__ = "plan_funding_line"
    __table_args__ = (Index("ix_plan_funding_item", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("plan_item.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(30))
    amount: Mapped[decimal.Decimal] = mapped_column(Numeric(16, 2))

    item: Mapped[PlanItem] = relationship(back_populates="funding_lines")

    @property
    def source_label(self) -> str:
        return FundingSource.label_of(self.source)


class ReviewEvent(TenantOwned, db.Model):
    """Every state change of a plan: who, when, from what to what, and why."""

    __tablename__ = "plan_review_event"
    __table_args__ = (Index("ix_plan_review_plan", "plan_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("renewal_plan.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
    comment: Mapped[str | None] = mapped_column(Text)

    @property
    def to_label(self) -> str:
        return PlanStatus(self.to_status).label

    @property
    def from_label(self) -> str:
        return PlanStatus(self.from_status).label if self.from_status else ""


class InvestmentBaseline(TenantOwned, db.Model):
    """A bureau's 2023 equipment investment (editable data, not law) and its 2027 target."""

    __tablename__ = "investment_baseline"
    __table_args__ = (UniqueConstraint("org_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(default=2023)
    amount: Mapped[decimal.Decimal] = mapped_column(Numeric(16, 2))
    target_year: Mapped[int] = mapped_column(default=2027)
    target_increase_pct: Mapped[int] = mapped_column(default=25)
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=clock.utcnow_naive, onupdate=clock.utcnow_naive
    )

    @property
    def target_amount(self) -> decimal.Decimal:
        return (self.amount * (100 + self.target_increase_pct) / 100).quantize(
            decimal.Decimal("0.01")
        )
