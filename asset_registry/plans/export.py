"""Excel exports: the approved-items table a bureau sends upward, and a generic writer
the dashboards reuse. Every text cell is neutralised against formula injection."""

from __future__ import annotations

import decimal
import io
from collections.abc import Iterable, Sequence

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from ..assets.models import FundingSource
from ..extensions import db
from ..tenancy.scope import Scope
from .models import PlanStatus, quarter_label
from .services import CENT, WAN, PlanFilters, approved_items_query

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value):
    """A cell fit for an export: no formula, no character a worksheet cannot hold (one
    rule for every export: imports.xlsx.safe_cell_value)."""
    from ..imports.xlsx import safe_cell_value

    return safe_cell_value(value)


def write_sheet(ws, title: str | None, headers: Sequence[str], rows: Iterable[Sequence]) -> None:
    if title:
        ws.append([safe_cell(title)])
        ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    ws.append([safe_cell(h) for h in headers])
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        ws.append([safe_cell(v) for v in row])
    for index, header in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(index)].width = max(10, min(40, len(header) * 2 + 4))
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)


def workbook_bytes(sheets: Iterable[tuple[str, str | None, Sequence[str], Iterable]]) -> bytes:
    """[(sheet name, title row, headers, rows)] → .xlsx bytes."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, title, headers, rows in sheets:
        ws = wb.create_sheet(_sheet_name(name))
        write_sheet(ws, title, headers, rows)
    if not wb.worksheets:
        wb.create_sheet("Sheet1")
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _sheet_name(name: str) -> str:
    for ch in "[]:*?/\\":
        name = name.replace(ch, " ")
    return name[:31] or "Sheet"


def approved_items_headers() -> list[str]:
    return [
        _("序号"), _("单位"), _("项目名称"), _("设备名称"), _("数量"), _("总投资（元）"),
        *[str(source.label) for source in FundingSource],
        _("计划完成时间"), _("状态"),
    ]


def approved_items_rows(scope: Scope, filters: PlanFilters) -> list[list]:
    rows = []
    for n, row in enumerate(db.session.execute(approved_items_query(scope, filters)), start=1):
        m = row._mapping
        quarter = quarter_label(m["planned_quarter"])
        status = PlanStatus(m["status"]).label
        if m["completed_on"] is not None:
            status = _("已完成")
        rows.append([
            n, m["org_name"], m["title"], m["equipment_name"], m["quantity"], m["total"],
            *[m[source.value] for source in FundingSource],
            quarter, status,
        ])
    return rows


def approved_items_xlsx(scope: Scope, filters: PlanFilters) -> bytes:
    headers = approved_items_headers()
    rows = approved_items_rows(scope, filters)
    if rows:
        total_index = headers.index(_("总投资（元）"))
        sums = ["", _("合计"), "", "", sum(r[4] for r in rows)]
        sums += [sum((decimal.Decimal(r[i] or 0) for r in rows), decimal.Decimal(0))
                 for i in range(total_index, total_index + 1 + len(FundingSource))]
        sums += ["", ""]
        rows.append(sums)
        # the same totals in 万元 (2 decimals), the unit a bureau reads; items stay in 元
        rows.append(["", _("合计（万元）"), "", "", ""] + [
            (value / WAN).quantize(CENT, rounding=decimal.ROUND_HALF_UP) for value in sums[5:-2]
        ] + ["", ""])
    title = _("设备更新项目汇总表（已批准）")
    if filters.year:
        title = _("%(y)s 年设备更新项目汇总表（已批准）", y=filters.year)
    return workbook_bytes([(_("已批准项目"), title, headers, rows)])
