"""Exports in the template layout, so export → edit → re-import round-trips:
the asset list as filtered on the list page, and the inspection due list."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator

from ..assets.services import AssetFilters, asset_query
from ..extensions import db
from ..inspections.services import due_list
from ..tenancy.scope import Scope, use_scope
from .columns import ASSET_FIELDS, INSPECTION_FIELDS
from .services import CategoryLookup, choices_for
from .template import drop_down_lists
from .xlsx import ledger_workbook

EXPORT_BATCH = 1_000
# shown for the inspector; the inspection import reports them as unknown columns
DUE_EXTRA_HEADERS = ("设备名称（参考）", "检验项目（参考）", "应检日期（参考）")


def _asset_statement(scope: Scope, args):
    return asset_query(scope, AssetFilters.from_args(args or {}))


def asset_rows(scope: Scope, args=None) -> Iterator[list]:
    """The filtered asset list as template rows (streamed, not loaded at once)."""
    with use_scope(scope):
        categories = CategoryLookup()
        labels = {
            key: {c: zh for c, (zh, _) in ch.items()} for key, ch in choices_for("assets").items()
        }
        for f in ASSET_FIELDS:
            if f.choices:
                labels[f.key] = {c: zh for c, (zh, _) in f.choices.items()}
        stmt = _asset_statement(scope, args).execution_options(yield_per=EXPORT_BATCH)
        for asset in db.session.scalars(stmt):
            row = []
            for f in ASSET_FIELDS:
                if f.key == "category":
                    info = categories.by_id.get(asset.category_id)
                    row.append(info.name if info else None)
                    continue
                value = getattr(asset, f.key)
                if f.type == "bool":
                    value = "是" if value else "否"
                elif f.key in labels and value is not None:
                    value = labels[f.key].get(value, value)
                row.append(value)
            yield row


def _due_obligations(scope: Scope, today: dt.date, days: int) -> Iterable:
    return db.session.scalars(due_list(scope, today, days))


def due_rows(scope: Scope, today: dt.date, days: int) -> Iterator[list]:
    """The inspection due list as inspection-import rows: the inspector fills in the
    inspection date, agency, report no. and conclusion, then imports the file."""
    with use_scope(scope):
        kinds = {c: zh for c, (zh, _) in choices_for("inspections")["obligation_kind"].items()}
        for item in _due_obligations(scope, today, days):
            obligation = getattr(item, "obligation", item)  # rows or Obligation objects
            asset = obligation.asset
            values = {
                "asset_code": asset.asset_code,
                "obligation_kind": kinds.get(obligation.kind, obligation.kind),
            }
            yield [values.get(f.key) for f in INSPECTION_FIELDS] + [
                asset.name,
                obligation.name,
                obligation.next_due,
            ]


def _save(wb) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def export_assets(scope: Scope, args=None) -> bytes:
    return _save(
        ledger_workbook("assets", asset_rows(scope, args), lists=drop_down_lists("assets"))
    )


def export_due(scope: Scope, today: dt.date, days: int = 60) -> bytes:
    return _save(
        ledger_workbook(
            "inspections",
            due_rows(scope, today, days),
            lists=drop_down_lists("inspections"),
            extra=DUE_EXTRA_HEADERS,
        )
    )
