"""Labels for assets: the scan URL and the texts printed beside the QR code."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from flask import current_app
from sqlalchemy import func, select

from ..assets.services import AssetFilters, asset_query
from ..extensions import db
from ..tenancy.scope import Scope
from .render import Label

BATCH = 500


def scan_url(token: str, base_url: str | None = None) -> str:
    base = (base_url or current_app.config["BASE_URL"]).rstrip("/")
    return f"{base}/a/{token}"


def _label_query(scope: Scope, asset_ids: Iterable[int] | None, filters: AssetFilters | None):
    stmt = asset_query(scope, filters)
    if asset_ids is not None:
        from ..assets.models import Asset

        stmt = stmt.where(Asset.id.in_(sorted({int(i) for i in asset_ids})))
    return stmt


def count_labels(
    scope: Scope,
    asset_ids: Iterable[int] | None = None,
    filters: AssetFilters | None = None,
) -> int:
    """How many labels labels_for() would yield (decides inline or background)."""
    if asset_ids is not None and not list(asset_ids):
        return 0
    stmt = _label_query(scope, asset_ids, filters).order_by(None)
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def labels_for(
    scope: Scope,
    asset_ids: Iterable[int] | None = None,
    filters: AssetFilters | None = None,
) -> Iterator[Label]:
    """Labels of the assets the scope sees: the chosen ids (ids outside the scope
    simply yield nothing) or, without ids, the filtered list in list order."""
    if asset_ids is not None:
        asset_ids = list(asset_ids)
        if not asset_ids:
            return
    stmt = _label_query(scope, asset_ids, filters)
    base = current_app.config["BASE_URL"]
    result = db.session.scalars(stmt.execution_options(yield_per=BATCH))
    for asset in result:
        yield Label(
            url=scan_url(asset.qr_token, base),
            asset_code=asset.asset_code,
            name=asset.name,
            institution=asset.organisation.name,
        )
