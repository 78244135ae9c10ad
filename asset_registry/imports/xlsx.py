"""Small openpyxl helpers shared by the template, the exports and the error report."""

from __future__ import annotations

import datetime as dt
import decimal
import re

# A cell starting with one of these is run as a formula by Excel/WPS when opened
# (CSV) or re-typed: exports prefix them with an apostrophe so they stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# What a worksheet cannot hold (openpyxl raises on it): control characters other than
# tab and newlines. A stored value carrying one (typed into a form, from an old CSV)
# must never make an export fail, so they are dropped on the way out.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_cell_value(value):
    """A value fit for an exported cell: text neutralised and without characters a
    worksheet cannot hold, Decimal as float where exact."""
    if isinstance(value, str):
        if not value.isprintable():
            value = _ILLEGAL.sub("", value)
        return neutralise(value)
    if isinstance(value, decimal.Decimal):
        return float(value) if value == value.quantize(decimal.Decimal("0.01")) else str(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date()
    return value


# Each kind's sheet and the lines of its instructions sheet (填写说明).
SHEETS = {"assets": "设备台账", "inspections": "检验记录", "plan_items": "更新计划明细"}
INSTRUCTIONS = {
    "assets": (
        "1. 在第一个工作表中从第 3 行起每行填写一台设备；第 2 行为系统使用的列标识，请勿修改。",
        "2. 只有“资产编号”和“设备名称”必填，其余列可留空或删除；列的顺序可以调整。",
        "3. 再次导入时按“资产编号”更新本单位已有设备，只改动与文件不同的字段。",
        "4. 日期可写 2015-03-08、2015/3/8、2015.03、2015年3月（只写到月份时按当月 1 日）。",
        "5. 金额可写 1280000、¥1,280,000.00 或 128万；表头写“原值（万元）”时按万元换算；"
        "是/否列填“是”或“否”。",
        "6. “折旧年限”是财务上的使用年限；“设计使用年限”只填铭牌、说明书或登记证上载明的年限。",
        "7. 合计行和表尾的制表人、审核人等签字行会自动跳过。",
        "8. 默认全部校验通过才会导入；有错误时可下载错误报告，改正后重新导入。",
    ),
    "inspections": (
        "1. 在第一个工作表中从第 3 行起每行填写一条检验记录；第 2 行为系统使用的列标识，请勿修改。",
        "2. “资产编号”“检验日期”必填；设备有多个检验项目时在“检验类别”中写明项目名称。",
        "3. 检验结论按检验项目填写，如 符合要求、基本符合要求、不符合要求、合格、不合格。",
        "4. 日期可写 2024-05-20、2024/5/20 或 2024年5月20日；下次检验日期取自检验报告。",
        "5. 同一检验项目、同一报告编号的记录不会重复导入。",
    ),
    "plan_items": (
        "1. 在第一个工作表中从第 3 行起每行填写一项拟更新的设备；"
        "第 2 行为系统使用的列标识，请勿修改。",
        "2. “拟购设备名称”和“单价（元）”必填；数量不填时按 1。",
        "3. 以旧换新时填写被替换设备的资产编号；新增设备留空。",
        "4. 单价可写 6800000、¥6,800,000.00 或 680万。",
        "5. 明细导入到所选的更新计划（草稿或被退回修改的计划）；再次导入同一文件不会重复。",
    ),
}


def ledger_workbook(
    kind: str,
    rows,
    *,
    lists: dict | None = None,
    example: bool = False,
    extra: tuple = (),
    sheet: str | None = None,
    instructions: tuple[str, ...] | None = None,
):
    """A write-only workbook in the template layout: row 1 the Chinese headers, row 2
    (hidden) the English keys, data from row 3, drop-downs from a hidden 选项 sheet
    (`lists` = {field key: [allowed labels]}), and an instructions sheet.

    `rows` yields lists aligned with `fields_for(kind)` (then the `extra` columns). The
    reader finds the header on row 1 and takes the key row for a second header row, so
    the file re-imports.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from .columns import fields_for

    fields = fields_for(kind)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet or SHEETS[kind])
    ws.freeze_panes = "A3"
    for i, f in enumerate(fields, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(12, len(f.zh) * 2 + 4)
    ws.row_dimensions[2].hidden = True
    lists = lists or {}
    options = wb.create_sheet("选项") if lists else None
    for col, (key, labels) in enumerate(lists.items(), start=1):
        index = next((i for i, f in enumerate(fields) if f.key == key), None)
        if index is None or not labels:
            continue
        letter = get_column_letter(col)
        # the options sheet is written column by column below
        dv = DataValidation(
            type="list",
            formula1=f"'选项'!${letter}$1:${letter}${len(labels)}",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="不是可选值",
            error="请从下拉列表中选择",
        )
        target = get_column_letter(index + 1)
        dv.add(f"{target}3:{target}100000")
        ws.data_validations.append(dv)
    required = Font(bold=True, color="C00000")
    plain = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    head = []
    for f in fields:
        cell = WriteOnlyCell(ws, value=f.zh)
        cell.font = required if f.required else plain
        cell.fill = fill
        head.append(cell)
    for text in extra:  # informative columns the importer reports as unknown and ignores
        cell = WriteOnlyCell(ws, value=text)
        cell.font = plain
        head.append(cell)
    ws.append(head)
    ws.append([f.key for f in fields])
    for row in rows:
        ws.append([safe_cell_value(v) for v in row])
    if options is not None:
        depth = max(len(v) for v in lists.values())
        columns = list(lists.values())
        for r in range(depth):
            options.append([c[r] if r < len(c) else None for c in columns])
        options.sheet_state = "hidden"
    _instructions(wb, fields, example, instructions or INSTRUCTIONS[kind])
    return wb


def _instructions(wb, fields, example: bool, lines: tuple[str, ...]) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    ws = wb.create_sheet("填写说明")
    for letter, width in zip("ABCDE", (22, 28, 8, 60, 22), strict=True):
        ws.column_dimensions[letter].width = width
    bold = Font(bold=True)

    def heading(*values):
        cells = [WriteOnlyCell(ws, value=v) for v in values]
        for cell in cells:
            cell.font = bold
        ws.append(cells)

    heading("填写说明")
    for line in lines:
        ws.append([line])
    ws.append([])
    heading("列名", "English", "必填", "说明", "示例")
    for f in fields:
        ws.append(
            [
                f.zh,
                f.en,
                "是" if f.required else "",
                f.hint_zh,
                safe_cell_value(f.example) if f.example is not None else None,
            ]
        )
    if example:
        ws.append([])
        heading("示例行（请在第一个工作表中按此格式填写）")
        heading(*(f.zh for f in fields))
        ws.append([safe_cell_value(f.example) for f in fields])
