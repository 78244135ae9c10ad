"""Importing the items of a renewal plan (更新计划明细) from a spreadsheet.

The rows go into one plan of the importing organisation that can still be edited
(a draft, or one returned for changes). Each row is checked by the plans domain's own
item rules (`plans.services._clean_item`: price, quantity, funding equal to the total,
the replaced asset); the replaced asset is named by its asset code. An item is known
by its equipment name, specification and replaced asset: importing the same file again
changes nothing, and a changed price or quantity updates the item in place. Reading is
set-based (one query for the organisation's asset codes, one for the plan's items);
the new items are written with reserved ids in one flush.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask_babel import force_locale
from sqlalchemy import func, select

from .. import clock
from ..assets.models import Asset, AssetStatus, FundingSource
from ..bulk import reserve_ids
from ..extensions import db
from ..plans.models import FundingLine, PlanItem, PlanItemAsset, RenewalReason
from ..plans.services import ItemInput, PlanError, _clean_item, get_plan
from ..tenancy.scope import Scope, use_scope
from .inspections import MSG_UNKNOWN_ASSET
from .mapping import Mapping as ColumnMapping
from .messages import N_
from .reader import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    LedgerHeader,
    RowParser,
    UnusableFile,
    iter_rows,
)
from .services import (
    PREVIEW_CHANGES,
    ImportResult,
    Rejected,
    _column_order,
    aliases_for,
    enum_choices,
    org_scope,
)

MSG_PLAN = N_("所选更新计划不存在、不属于本单位，或已提交审核不能再修改")
MSG_DISPOSED = N_("该设备已处置，不能再作为被替换设备")
MSG_REASON = N_("无法识别的更新理由“{reason}”（可选：{options}）")
MSG_QUARTER = N_("计划完成时间应为某年某季度，如 2025Q3 或 2025年第3季度")
MSG_SAME_ITEM = N_("与第 {row} 行是同一项设备（名称、规格和被替换设备都相同）")

_REASON_SPLIT = re.compile(r"[、,，;；/|\n]+")
_QUARTER = re.compile(r"(20\d\d)\s*(?:年\s*第?\s*([1-4一二三四])\s*季度?|[-\s]?[Qq]\s*([1-4]))")
_CN_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4"}
# what a PlanError is about, by its wording, so the error lands on the right column
_ERROR_COLUMN = (
    ("资金", "funding_source"),
    ("数量", "quantity"),
    ("节电", "energy_saved_kwh"),
    ("被替换", "replaced_asset_code"),
    ("设备名称", "equipment_name"),
)
_COMPARED = (
    "specification",
    "quantity",
    "unit_price",
    "total",
    "reasons",
    "planned_quarter",
    "energy_saved_kwh",
    "capacity_effect",
)


def _reason_lookup() -> dict[str, str]:
    lookup = {}
    for code, (zh, en) in enum_choices(RenewalReason).items():
        for spelling in (code, zh, en):
            lookup["".join(str(spelling).split()).casefold()] = code
    return lookup


def parse_reasons(text: str | None, lookup: dict[str, str]) -> list[str]:
    """ "超过设计使用年限、故障频繁" → ["past_design_life", "frequent_repairs"]."""
    codes = []
    for part in _REASON_SPLIT.split(text or ""):
        key = "".join(part.split()).casefold()
        if not key:
            continue
        code = lookup.get(key)
        if code is None:
            options = "、".join(zh for zh, _ in enum_choices(RenewalReason).values())
            raise ValueError(MSG_REASON.format(reason=part.strip(), options=options))
        if code not in codes:
            codes.append(code)
    return codes


def parse_quarter(text: str | None) -> str | None:
    """ "2025年第3季度", "2025Q3", "2025-Q3", "2025年三季度" → "2025Q3"."""
    text = (text or "").strip()
    if not text:
        return None
    found = _QUARTER.fullmatch(text.replace(" ", ""))
    if found is None:
        raise ValueError(MSG_QUARTER)
    number = found[2] or found[3]
    return f"{found[1]}Q{_CN_DIGITS.get(number, number)}"


def _identity(name: str, specification: str | None, replaced_id: int | None) -> tuple:
    return ("".join(name.split()).casefold(), (specification or "").strip(), replaced_id)


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "、".join(str(RenewalReason.label_of(code)) for code in value)
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


def import_plan_items(
    scope: Scope,
    org_id: int,
    source: Any,
    *,
    plan_id: int | None = None,
    filename: str | None = None,
    dry_run: bool = False,
    valid_only: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    progress: Callable[[int], None] | None = None,
    today: dt.date | None = None,
    mapping: ColumnMapping | None = None,
) -> ImportResult:
    target = org_scope(scope, org_id)
    result = ImportResult("plan_items", dry_run, valid_only)
    with use_scope(target):
        plan = get_plan(target, plan_id) if plan_id else None
        if plan is None or plan.org_id != org_id or not plan.editable:
            return result.refuse(MSG_PLAN)
        assets = {
            code: (asset_id, org, status)
            for code, asset_id, org, status in db.session.execute(
                select(Asset.asset_code, Asset.id, Asset.org_id, Asset.status)
            )
        }
        existing = {
            _identity(item.equipment_name, item.specification, item.replaced_asset_id): item
            for item in plan.items
        }
    by_id = {asset_id: (org, status) for asset_id, org, status in assets.values()}
    reasons = _reason_lookup()
    with use_scope(target):
        aliases = aliases_for("plan_items", mapping)
    parser = RowParser(
        "plan_items",
        today or clock.today(),
        {"funding_source": enum_choices(FundingSource)},
        aliases=aliases,
    )
    reader = iter_rows(
        source,
        "plan_items",
        filename=filename,
        max_rows=max_rows,
        max_bytes=max_bytes,
        overrides=mapping.columns if mapping is not None else None,
    )
    new: list[dict] = []
    changed: list[tuple[PlanItem, dict]] = []
    seen: dict[tuple, int] = {}
    try:
        for row in reader:
            if isinstance(row, LedgerHeader):
                result.header = row
                continue
            clean, errors = parser.parse(row)

            def problem(key: str, message: str, *, row=row, errors=errors) -> None:
                errors.append(parser.error(row, key, message))

            replaced_id = None
            code = clean.get("replaced_asset_code")
            if code:
                hit = assets.get(code)
                if hit is None:
                    problem("replaced_asset_code", MSG_UNKNOWN_ASSET)
                elif hit[2] == AssetStatus.DISPOSED:
                    problem("replaced_asset_code", MSG_DISPOSED)
                else:
                    replaced_id = hit[0]
            codes, quarter = [], None
            try:
                codes = parse_reasons(clean.get("reasons"), reasons)
            except ValueError as exc:
                problem("reasons", str(exc))
            try:
                quarter = parse_quarter(clean.get("planned_quarter"))
            except ValueError as exc:
                problem("planned_quarter", str(exc))
            values = None
            if not errors:
                quantity = clean.get("quantity")
                quantity = 1 if quantity is None else quantity  # a blank cell: one
                price = clean["unit_price"]
                data = ItemInput(
                    equipment_name=clean["equipment_name"],
                    specification=clean.get("specification") or "",
                    quantity=quantity,
                    unit_price=price,
                    reasons=codes,
                    planned_quarter=quarter or "",
                    energy_saved_kwh=clean.get("energy_saved_kwh") or "",
                    capacity_effect=clean.get("capacity_effect") or "",
                    replaced_asset_id=replaced_id,
                    funding=[(clean.get("funding_source") or "", str(price * quantity))],
                )
                try:
                    # stored in Chinese like every other import message, whatever
                    # the language of the request that runs the import
                    with use_scope(target), force_locale("zh_Hans_CN"):
                        values = _clean_item(target, plan, data, assets=by_id)
                except PlanError as exc:
                    message = str(exc)
                    key = next((k for word, k in _ERROR_COLUMN if word in message), "unit_price")
                    problem(key, message)
            if values is not None:
                key = _identity(values["equipment_name"], values["specification"], replaced_id)
                first = seen.setdefault(key, row.row_number)
                if first != row.row_number:
                    problem("equipment_name", MSG_SAME_ITEM.format(row=first))
            if errors:
                errors.sort(key=lambda e: _column_order(row.header, e))
                result.rejected += 1
                result.rejected_rows.append(Rejected(row.row_number, row.raw_cells, errors))
                continue
            item = existing.get(key)
            if item is None:
                result.new += 1
                new.append(values)
                continue
            diff = _differences(item, values)
            if not diff:
                result.unchanged += 1
                continue
            result.changed += 1
            changed.append((item, values))
            if len(result.changes) < PREVIEW_CHANGES:
                header_text = {
                    k: result.header.columns[c[0]][1] for k, c in result.header.key_columns.items()
                }
                result.changes.append(
                    {
                        "row": row.row_number,
                        "code": values["equipment_name"],
                        "changes": [
                            (header_text.get(name, name), _shown(before), _shown(after))
                            for name, (before, after) in diff.items()
                            if name != "total"
                        ],
                    }
                )
    except UnusableFile as exc:
        return result.refuse(exc.message, reader)
    result.read_through(reader, progress)
    if dry_run or (result.rejected and not valid_only) or not (new or changed):
        result.written = not dry_run and not (result.rejected and not valid_only)
        return result
    with use_scope(target):
        _write(plan, new, changed)
    result.written = True
    return result


def _differences(item: PlanItem, values: dict) -> dict[str, tuple]:
    diff = {
        name: (getattr(item, name), values[name])
        for name in _COMPARED
        if getattr(item, name) != values[name]
    }
    lines = [(line.source, line.amount) for line in item.funding_lines]
    if lines != values["_lines"]:
        diff["funding_source"] = (
            "、".join(str(FundingSource.label_of(s)) for s, _ in lines),
            "、".join(str(FundingSource.label_of(s)) for s, _ in values["_lines"]),
        )
    return diff


def _write(plan, new: list[dict], changed: list[tuple[PlanItem, dict]]) -> None:
    """New items (ids reserved: one executemany, no INSERT … RETURNING per item) and
    the changed ones in place, in one flush."""
    connection = db.session.connection()
    position = db.session.scalar(
        select(func.coalesce(func.max(PlanItem.position), 0)).where(PlanItem.plan_id == plan.id)
    )
    item_ids = reserve_ids(connection, PlanItem.__table__, len(new))
    line_ids = iter(
        reserve_ids(connection, FundingLine.__table__, sum(len(v["_lines"]) for v in new))
    )
    for offset, (item_id, values) in enumerate(zip(item_ids, new, strict=True), start=1):
        lines = values.pop("_lines")
        item = PlanItem(id=item_id, org_id=plan.org_id, plan_id=plan.id, position=position + offset)
        for name, value in values.items():
            setattr(item, name, value)
        item.funding_lines = [
            FundingLine(id=next(line_ids), org_id=plan.org_id, source=source, amount=amount)
            for source, amount in lines
        ]
        db.session.add(item)
        if item.replaced_asset_id is not None:
            # the 以旧换新 chain keeps every replaced asset as a link
            db.session.add(PlanItemAsset(org_id=plan.org_id, item_id=item_id,
                                         asset_id=item.replaced_asset_id, position=1))
    for item, values in changed:
        lines = values.pop("_lines")
        for name, value in values.items():
            setattr(item, name, value)
        item.funding_lines = [
            FundingLine(org_id=plan.org_id, source=source, amount=amount)
            for source, amount in lines
        ]
    db.session.flush()
