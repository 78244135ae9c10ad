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
DUE_EXTRA_HEADERS = ("设备名称（参考）", "应检日期（参考）")
DUE_INSTRUCTIONS = (
    "1. 这是待检清单：每行是一台设备的一个检验项目，“资产编号”和“检验类别”已填好，请勿修改。",
    "2. 检验完成后填写检验日期、检验机构、报告编号、检验结论和下次检验日期，再在“Excel 导入”"
    "中选择“检验记录”导入。",
    "3. 没有填写任何检验结果的行导入时跳过（列为“未填写检验结果”），不算错误。",
    "4. 日期可写 2024-05-20、2024/5/20 或 2024年5月20日。",
)


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
    inspection date, agency, report no. and conclusion, then imports the file. The
    检验类别 column carries the duty's own name, which names one duty of the asset
    (its kind alone may not: a ropeway has an annual and a full inspection)."""
    with use_scope(scope):
        for item in _due_obligations(scope, today, days):
            obligation = getattr(item, "obligation", item)  # rows or Obligation objects
            asset = obligation.asset
            values = {"asset_code": asset.asset_code, "obligation_kind": obligation.name}
            yield [values.get(f.key) for f in INSPECTION_FIELDS] + [
                asset.name,
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
            lists={
                k: v for k, v in drop_down_lists("inspections").items() if k != "obligation_kind"
            },
            extra=DUE_EXTRA_HEADERS,
            sheet="待检清单",
            instructions=DUE_INSTRUCTIONS,
        )
    )
