"""Rollups the dashboards read instead of the asset and obligation tables.

Derived data: `services.refresh_rollups` rebuilds them set-based (daily job, seed, CLI,
the dashboard's refresh button); nothing else writes them. Each row is one combination
of the grouping dimensions with its count, so a city-wide dashboard groups a few
thousand rows instead of a million. They are TenantOwned, so the central scope filters
them exactly like the tables they summarise; `is_special` lets a special-equipment-only
scope (the regulator) see just the special-equipment rows.
"""

from __future__ import annotations

import datetime as dt
import decimal

from sqlalchemy import Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..tenancy.scope import TenantOwned


class RollupColumns(TenantOwned):
    """What both rollups carry besides their own dimensions."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # the asset is special equipment, and the first digit of its catalogue code (kind)
    is_special: Mapped[bool]
    special_kind: Mapped[str | None] = mapped_column(String(1))
    # the day the day-relative dimensions (age, past design life, overdue) were computed for
    as_of: Mapped[dt.date]
    refreshed_at: Mapped[dt.datetime]

    @classmethod
    def special_criteria(cls):
        return cls.is_special.is_(True)


class AssetRollup(RollupColumns, db.Model):
    """Assets per organisation × kind × status × age band × past design life."""

    __tablename__ = "report_asset_rollup"

    status: Mapped[str] = mapped_column(String(20))
    # lower bound of the age band in whole years (0, 5, 10, 15); -1: commissioned after
    # `as_of` (in no band); NULL: neither commissioning nor purchase date known
    age_band: Mapped[int | None]
    past_design_life: Mapped[bool]
    assets: Mapped[int]
    original_value: Mapped[decimal.Decimal | None] = mapped_column(Numeric(18, 2))


class DutyRollup(RollupColumns, db.Model):
    """Counted inspection duties (active, statutory, not self-checks) per organisation ×
    kind × state, with whether the next due date falls within the due window."""

    __tablename__ = "report_duty_rollup"

    state: Mapped[str] = mapped_column(String(10))  # current | overdue | failed
    due_soon: Mapped[bool]
    duties: Mapped[int]
