"""Inspections services (interface used by the asset register; filled in by the inspections work)."""

from __future__ import annotations

import datetime as dt

from ..assets.models import Asset, AssetStatus
from ..tenancy.scope import Scope


def sync_obligations(scope: Scope, asset: Asset) -> None:
    """Create/refresh the asset's obligations from its category's templates."""


def valid_until(asset: Asset) -> dt.date | None:
    """The date the public safety mark shows: the earliest statutory next_due."""
    return None


def must_not_run(asset: Asset) -> bool:
    return asset.status == AssetStatus.STOPPED
