"""Equipment categories and their default duties (global reference data)."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class Category(db.Model):
    """A node of the category tree (medical catalogue, special-equipment kinds, …).

    Shared by every tenant; only the city admin edits it.
    """

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)
    # medical | special | teaching | performance | sports | amusement | general
    family: Mapped[str] = mapped_column(String(20), default="general")
    special_code: Mapped[str | None] = mapped_column(String(4))
    is_special: Mapped[bool] = mapped_column(default=False)
    is_medical: Mapped[bool] = mapped_column(default=False)
    design_life_years: Mapped[int | None]
    accounting_life_years: Mapped[int | None]
    sort: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Category | None] = relationship(remote_side=[id])
    # special equipment kept in use past its design life (after 使用登记变更): its
    # periodic cycles shrink to this share of the normal interval, at least annual
    past_life_interval_percent: Mapped[int] = mapped_column(default=50, server_default="50")
    templates: Mapped[list[ObligationTemplate]] = relationship(
        back_populates="category", order_by="ObligationTemplate.id"
    )


class ObligationTemplate(db.Model):
    """A duty every asset of a category carries by default (editable per asset)."""

    __tablename__ = "obligation_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    interval_months: Mapped[int | None]
    interval_days: Mapped[int | None]
    # first inspection due this many months after commissioning (pressure vessels: 36)
    first_within_months: Mapped[int | None]
    lead_days: Mapped[int] = mapped_column(default=30)
    statutory: Mapped[bool] = mapped_column(default=True)
    # general: 符合要求/基本符合要求/不符合要求/复检合格; vehicle: 允许运行/…; check: 正常/异常
    conclusion_set: Mapped[str] = mapped_column(String(20), default="general")
    checklist: Mapped[list | None] = mapped_column(JSON)
    # safety-critical checklist items (brakes, rope grips, safety gear)
    critical_items: Mapped[list | None] = mapped_column(JSON)
    # None: every asset of the category; "radiation" / "metrology": only assets so flagged
    condition: Mapped[str | None] = mapped_column(String(20))

    category: Mapped[Category] = relationship(back_populates="templates")
