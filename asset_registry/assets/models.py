"""Assets, their status history, attachments and replaced QR tokens.

Engineers: read CONTRIBUTING.md at the repository root before changing this package.
"""

from __future__ import annotations

import datetime as dt
import decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Numeric, String, Text, UniqueConstraint, select
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from .. import clock
from ..catalog.models import Category
from ..enums import LabelledEnum
from ..extensions import db
from ..tenancy.models import Organisation
from ..tenancy.scope import TenantOwned


class AssetStatus(LabelledEnum):
    IN_SERVICE = "in_service"
    IDLE = "idle"
    UNDER_REPAIR = "under_repair"
    STOPPED = "stopped"
    AWAITING_DISPOSAL = "awaiting_disposal"
    DISPOSED = "disposed"

    @classmethod
    def labels(cls) -> dict:
        return {
            "in_service": _l("在用"),
            "idle": _l("闲置"),
            "under_repair": _l("维修中"),
            "stopped": _l("停用"),
            "awaiting_disposal": _l("待处置"),
            "disposed": _l("已处置"),
        }


class DisposalMethod(LabelledEnum):
    TRADE_IN = "trade_in"
    RECYCLED = "recycled"
    SCRAPPED = "scrapped"
    TRANSFERRED = "transferred"
    SOLD = "sold"

    @classmethod
    def labels(cls) -> dict:
        return {
            "trade_in": _l("以旧换新"),
            "recycled": _l("回收"),
            "scrapped": _l("报废"),
            "transferred": _l("调拨"),
            "sold": _l("出售"),
        }


class FundingSource(LabelledEnum):
    """DOMAIN.md §2."""

    SPECIAL_BONDS = "special_bonds"
    CENTRAL_BUDGET = "central_budget"
    LOCAL_SPECIAL_BONDS = "local_special_bonds"
    LOCAL_FISCAL = "local_fiscal"
    SELF_FUNDED = "self_funded"
    RENEWAL_LOAN = "renewal_loan"
    RELENDING = "relending"

    @classmethod
    def labels(cls) -> dict:
        return {
            "special_bonds": _l("超长期特别国债"),
            "central_budget": _l("中央预算内投资"),
            "local_special_bonds": _l("地方政府专项债"),
            "local_fiscal": _l("地方财政资金"),
            "self_funded": _l("单位自筹"),
            "renewal_loan": _l("设备更新贷款（贴息）"),
            "relending": _l("科技创新和技术改造再贷款"),
        }


class Asset(TenantOwned, db.Model):
    __tablename__ = "asset"
    __table_args__ = (
        UniqueConstraint("org_id", "asset_code"),
        Index("ix_asset_org_status", "org_id", "status"),
        Index("ix_asset_org_category_status", "org_id", "category_id", "status"),
        Index("ix_asset_org_life_end", "org_id", "design_life_end"),
        Index("ix_asset_special_org", "is_special", "org_id"),
        Index("ix_asset_org_name", "org_id", "name"),
        # list filters/sorts within one institution (the common case) ...
        Index("ix_asset_org_commissioned", "org_id", "commissioned_on"),
        Index("ix_asset_org_department", "org_id", "department"),
        Index("ix_asset_org_value", "org_id", "original_value"),
        # ... and across every institution (city admin, bureaus, regulator)
        Index("ix_asset_code", "asset_code"),
        Index("ix_asset_name", "name"),
        Index("ix_asset_commissioned", "commissioned_on"),
        Index("ix_asset_life_end", "design_life_end"),
        # the filtered rows already in sort order, so a page (deep ones too) reads an
        # index range instead of sorting every match (services._served_in_order)
        Index("ix_asset_status_name", "status", "name"),
        Index("ix_asset_category_status_name", "category_id", "status", "name"),
        Index("ix_asset_category_status_life_end", "category_id", "status", "design_life_end"),
        # the safety-state filter of the list and the dashboards' counts per state
        Index("ix_asset_org_safety", "org_id", "safety_state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    model: Mapped[str | None] = mapped_column(String(200))
    manufacturer: Mapped[str | None] = mapped_column(String(200))
    serial_no: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(200))
    purchase_date: Mapped[dt.date | None]
    commissioned_on: Mapped[dt.date | None]
    design_life_years: Mapped[int | None]
    # the design life was not given for the asset but taken from its category: a hint
    # for planning, never a reason to stop the device (inspections.services._planned)
    design_life_from_category: Mapped[bool] = mapped_column(
        default=False, server_default=sa_false()
    )
    accounting_life_years: Mapped[int | None]
    # Kept by the service from commissioning + design life: indexed for "over design life".
    design_life_end: Mapped[dt.date | None]
    original_value: Mapped[decimal.Decimal | None] = mapped_column(Numeric(14, 2))
    funding_source: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default=AssetStatus.IN_SERVICE)
    # Derived, never written by hand: inspections.safety.refresh keeps it (see there).
    safety_state: Mapped[str] = mapped_column(String(12), default="none", server_default="none")
    energy_grade: Mapped[str | None] = mapped_column(String(10))
    # special equipment (特种设备)
    is_special: Mapped[bool] = mapped_column(default=False)
    special_code: Mapped[str | None] = mapped_column(String(4))
    equipment_code: Mapped[str | None] = mapped_column(String(32))
    # an older 注册代码 (17–21 letters or digits) issued before the 18-digit 设备代码
    register_code: Mapped[str | None] = mapped_column(String(21))
    registration_no: Mapped[str | None] = mapped_column(String(64))
    vessel_grade: Mapped[int | None]
    # medical
    device_class: Mapped[str | None] = mapped_column(String(3))
    catalogue_code: Mapped[str | None] = mapped_column(String(8))
    permit_no: Mapped[str | None] = mapped_column(String(64))
    # 大型医用设备配置许可证: class (甲/乙) and issue date, for listed devices only
    permit_class: Mapped[str | None] = mapped_column(String(2))
    permit_issued_on: Mapped[dt.date | None]
    radiation: Mapped[bool] = mapped_column(default=False)
    metrology: Mapped[bool] = mapped_column(default=False)
    # QR label: random, unguessable, rotatable
    qr_token: Mapped[str] = mapped_column(String(64), unique=True)
    # disposal
    disposed_on: Mapped[dt.date | None]
    disposal_method: Mapped[str | None] = mapped_column(String(20))
    disposal_recipient: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=clock.utcnow_naive, onupdate=clock.utcnow_naive
    )

    category: Mapped[Category | None] = relationship()
    organisation: Mapped[Organisation] = relationship(foreign_keys="Asset.org_id")

    @classmethod
    def special_criteria(cls):
        return cls.is_special.is_(True)

    @property
    def status_label(self) -> str:
        return AssetStatus(self.status).label

    @property
    def funding_label(self) -> str:
        return FundingSource.label_of(self.funding_source)


class DepreciationConvention(LabelledEnum):
    """When straight-line depreciation starts (DOMAIN.md §5)."""

    # 政府会计准则第3号: 当月增加当月计提 (public hospitals, colleges, schools)
    SAME_MONTH = "same_month"
    # 企业会计准则: 当月增加当月不提，从下月起计提 (scenic-area operators)
    NEXT_MONTH = "next_month"

    @classmethod
    def labels(cls) -> dict:
        return {"same_month": _l("当月"), "next_month": _l("次月")}

    @classmethod
    def standards(cls) -> dict:
        return {"same_month": _l("政府会计准则第3号"), "next_month": _l("企业会计准则")}


class AccountingSettings(TenantOwned, db.Model):
    """An organisation's accounting convention. Without a row the sector decides
    (services.depreciation_convention): enterprises (culture-tourism operators) from
    the month after, public units from the month the asset is added."""

    __tablename__ = "accounting_settings"
    __table_args__ = (UniqueConstraint("org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    convention: Mapped[str] = mapped_column(String(12))


class AssetOwned(TenantOwned):
    """Mixin for rows hanging off one asset: the regulator sees them when it sees the asset."""

    @declared_attr
    def asset_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)

    @classmethod
    def special_criteria(cls):
        return cls.asset_id.in_(
            select(Asset.id).where(Asset.is_special.is_(True)).scalar_subquery()
        )


class StatusChange(AssetOwned, db.Model):
    __tablename__ = "asset_status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class ReplacedToken(AssetOwned, db.Model):
    """A label that was rotated away: its URL says "this label was replaced"."""

    __tablename__ = "replaced_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    replaced_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)


class Attachment(AssetOwned, db.Model):
    """A photo or certificate, stored outside static/ and served only within scope."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspection_record.id", ondelete="SET NULL"), index=True
    )
    fault_id: Mapped[int | None] = mapped_column(
        ForeignKey("fault.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20), default="photo")
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
