"""Importing inspection records (检验记录) against the organisation's duties.

Set-based end to end: one query for the organisation's assets, one for their duties
(with their assets), one for the records already there; the new records then go
through the inspections domain's `record_inspections`, which keeps each duty's next
due date and each asset's run state ("must not run") by the same rules as a record
typed in the form, in one flush. The write runs inside a savepoint, so an
all-or-nothing run with a refused row leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import clock
from ..assets.models import Asset
from ..extensions import db
from ..inspections import rules
from ..inspections.models import InspectionRecord, Obligation, ObligationKind
from ..inspections.services import record_inspections
from ..tenancy.scope import Scope, use_scope
from .mapping import Mapping as ColumnMapping
from .messages import N_
from .reader import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    LedgerHeader,
    RowError,
    RowParser,
    UnusableFile,
    iter_rows,
)
from .services import (
    ImportResult,
    Rejected,
    aliases_for,
    conclusion_choices,
    enum_choices,
    org_scope,
)

MSG_UNKNOWN_ASSET = N_("本单位没有这个资产编号的设备")
MSG_UNKNOWN_KIND = N_("该设备没有这个检验项目（可选：{options}）")
MSG_AMBIGUOUS = N_("该设备有多个检验项目（{options}），请在此列注明是哪一项")
MSG_NO_DUTY = N_("该设备没有需要检验的项目")
MSG_CONCLUSION = N_("检验结论不适用于该检验项目（可选：{options}）")
MSG_REQUIRED = N_("必填项不能为空")
MSG_CONFLICT = N_("该检验项目已有报告编号相同但内容不同的记录；导入不修改已有记录")
MSG_NOT_FILLED = N_("未填写检验结果")
# A row of the due-list export the inspector left as it was: nothing to record.
_RESULT_KEYS = ("inspected_on", "agency", "report_no", "conclusion", "next_due", "problems")

_FIELD_OF_ERROR = {
    "inspected_on": "inspected_on",
    "conclusion": "conclusion",
    "next_due": "next_due",
    "report_no": "report_no",
    "inspection_type": "obligation_kind",
}


def _key(text: str) -> str:
    return "".join(text.split()).casefold()


def import_inspection_records(
    scope: Scope,
    org_id: int,
    source: Any,
    *,
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
    today = today or clock.today()
    result = ImportResult("inspections", dry_run, valid_only)
    # 检验类别 is resolved here (duty kind, duty name or an inspection type), so the
    # parser passes it through as text; conclusions are checked per duty below.
    parser = RowParser(
        "inspections",
        today,
        {"conclusion": conclusion_choices()},
        aliases=aliases_for("inspections", mapping),
    )
    reader = iter_rows(
        source,
        "inspections",
        filename=filename,
        max_rows=max_rows,
        max_bytes=max_bytes,
        overrides=mapping.columns if mapping is not None else None,
    )
    kind_labels = {code: zh for code, (zh, _) in enum_choices(ObligationKind).items()}
    with use_scope(target):
        assets = dict(db.session.execute(select(Asset.asset_code, Asset.id)).all())
        duties: dict[int, list[Obligation]] = {}
        for duty in db.session.scalars(
            select(Obligation)
            .where(Obligation.active.is_(True), Obligation.kind.not_in(rules.SELF_CHECK_KINDS))
            .options(selectinload(Obligation.asset))
            .order_by(Obligation.id)
        ):
            duties.setdefault(duty.asset_id, []).append(duty)
        existing = {
            (r.obligation_id, r.report_no or r.inspected_on.isoformat()): r
            for r in db.session.scalars(select(InspectionRecord))
        }
    planned: list[tuple[int, list, Obligation, dict]] = []
    try:
        for item in reader:
            if isinstance(item, LedgerHeader):
                result.header = item
                continue
            if all(not str(item.values.get(k, "")).strip() for k in _RESULT_KEYS):
                result.skipped_rows.append(
                    (item.row_number, MSG_NOT_FILLED, str(item.values.get("asset_code", "")))
                )
                result.skipped_total += 1
                continue
            clean, errors = parser.parse(item)

            def problem(key: str, message: str, *, row=item, errs=errors) -> None:
                errs.append(parser.error(row, key, message))

            duty = None
            asset_id = assets.get(clean.get("asset_code")) if clean.get("asset_code") else None
            if clean.get("asset_code") and asset_id is None:
                problem("asset_code", MSG_UNKNOWN_ASSET)
            inspection_type = None
            if asset_id is not None:
                options = duties.get(asset_id, [])
                names = "、".join(d.name for d in options)
                wanted = clean.get("obligation_kind")
                hits = []
                if wanted:
                    # the duty's own name first (the due-list export writes it), then its
                    # kind; a word that names no duty may be an inspection type (定期检验)
                    k = _key(wanted)
                    hits = [d for d in options if _key(d.name) == k] or [
                        d
                        for d in options
                        if k in (_key(d.kind), _key(kind_labels.get(d.kind, d.kind)))
                    ]
                    if not hits and k in {_key(t) for t in rules.INSPECTION_TYPES}:
                        inspection_type, wanted = wanted, None
                if not options:
                    problem("asset_code", MSG_NO_DUTY)
                elif wanted:
                    if len(hits) == 1 or (hits and len({d.kind for d in hits}) == 1):
                        duty = hits[0]
                    elif hits:
                        problem(
                            "obligation_kind",
                            MSG_AMBIGUOUS.format(options="、".join(d.name for d in hits)),
                        )
                    else:
                        problem("obligation_kind", MSG_UNKNOWN_KIND.format(options=names))
                else:
                    statutory = [d for d in options if d.statutory] or options
                    if len(statutory) == 1:
                        duty = statutory[0]
                    else:
                        problem("obligation_kind", MSG_AMBIGUOUS.format(options=names))
            if duty is not None:
                allowed = rules.CONCLUSIONS.get(duty.conclusion_set, rules.CONCLUSIONS["general"])
                if clean.get("conclusion") is None and "conclusion" not in [e.key for e in errors]:
                    problem("conclusion", MSG_REQUIRED)
                elif clean.get("conclusion") and clean["conclusion"] not in allowed:
                    problem("conclusion", MSG_CONCLUSION.format(options="、".join(allowed)))
            if errors:
                result.rejected += 1
                result.rejected_rows.append(Rejected(item.row_number, item.raw_cells, errors))
                continue
            key = (duty.id, clean.get("report_no") or clean["inspected_on"].isoformat())
            old = existing.get(key)
            if old is not None:
                if (old.inspected_on, old.conclusion) == (
                    clean["inspected_on"],
                    clean["conclusion"],
                ):
                    result.unchanged += 1
                else:
                    problem("report_no", MSG_CONFLICT)
                    result.rejected += 1
                    result.rejected_rows.append(Rejected(item.row_number, item.raw_cells, errors))
                continue
            data = {
                k: clean.get(k)
                for k in (
                    "inspected_on",
                    "agency",
                    "report_no",
                    "conclusion",
                    "next_due",
                    "problems",
                )
            }
            data["inspection_type"] = inspection_type
            planned.append((item.row_number, item.raw_cells, duty, data))
            existing[key] = None  # a second identical row in the file is not new again
            result.new += 1
    except UnusableFile as exc:
        return result.refuse(exc.message, reader)
    result.read_through(reader, progress)
    if dry_run or (result.rejected and not valid_only) or not planned:
        return result
    _write(target, planned, result, result.header, valid_only)
    return result


def _write(scope, planned, result: ImportResult, header: LedgerHeader, valid_only: bool) -> None:
    """Record the new inspections in one call, inside a savepoint."""
    with use_scope(scope):
        savepoint = db.session.begin_nested()
        _, errors = record_inspections(
            scope,
            [(duty, data) for _, _, duty, data in planned],
            user_id=scope.user_id,
            method="import",
        )
        if errors:
            refused = []
            for index, exc in errors.items():
                row_number, raw_cells, _, data = planned[index]
                key = _FIELD_OF_ERROR.get(exc.field or "", "inspected_on")
                cols = header.key_columns.get(key) or [0]
                letter, column, _ = header.columns[cols[0]]
                error = RowError(row_number, column, data.get(key) or "", exc.message, key, letter)
                refused.append(Rejected(row_number, raw_cells, [error]))
            result.new -= len(refused)
            result.rejected += len(refused)
            result.rejected_rows.extend(refused)
            result.rejected_rows.sort(key=lambda r: r.row_number)
            if not valid_only:
                savepoint.rollback()
                return
        savepoint.commit()
    result.written = True
