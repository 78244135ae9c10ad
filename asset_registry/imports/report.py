"""The error report: the rejected rows as they were in the file, with an added 错误
column, each bad cell filled red and carrying a comment that says why."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill

from .services import ImportResult, _shown
from .xlsx import safe_cell_value

ERROR_HEADER = "错误"
ROW_HEADER = "原行号"
_BAD = PatternFill("solid", fgColor="FFC7CE")
_HEAD = Font(bold=True)


def error_text(errors) -> str:
    return "；".join(
        f"{e.column}“{_shown(e.value)}”：{e.message}"
        if _shown(e.value)
        else f"{e.column}：{e.message}"
        for e in errors
    )


def _heading(ws, *values) -> None:
    cells = [WriteOnlyCell(ws, value=v) for v in values]
    for cell in cells:
        cell.font = _HEAD
    ws.append(cells)


def _refusal_sheet(wb, result: ImportResult) -> None:
    """Why the whole file was refused, the headers found and the headers expected."""
    ws = wb.create_sheet("无法导入")
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 60
    _heading(ws, "无法导入", safe_cell_value(result.unusable))
    ws.append([])
    _heading(ws, "文件中找到的表头")
    for text in result.found_headers or ["（未找到像表头的行）"]:
        ws.append([safe_cell_value(text)])
    ws.append([])
    _heading(ws, "系统可识别的列", "必填")
    required = set(result.required_headers)
    for text in result.expected_headers:
        ws.append([text, "是" if text in required else ""])


def _skipped_sheet(wb, result: ImportResult) -> None:
    ws = wb.create_sheet("跳过的行")
    _heading(ws, ROW_HEADER, "原因", "内容")
    for number, why, text in result.skipped_rows:
        ws.append([number, why, safe_cell_value(text)])


def write_error_report(result: ImportResult, path: str | Path) -> Path | None:
    """Write the report for `result`'s rejected rows (or, for a file refused as a
    whole, why and which headers); None when there is nothing to report."""
    if result.unusable:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        wb = Workbook(write_only=True)
        _refusal_sheet(wb, result)
        wb.save(path)
        return path
    if not result.rejected_rows or result.header is None:
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("错误行")
    header = result.header
    letters = {letter: i for i, (letter, _, _) in enumerate(header.columns)}
    head = []
    for text in (*(text for _, text, _ in header.columns), ERROR_HEADER, ROW_HEADER):
        cell = WriteOnlyCell(ws, value=text)
        cell.font = _HEAD
        head.append(cell)
    ws.append(head)
    for rejected in result.rejected_rows:
        cells = [WriteOnlyCell(ws, value=safe_cell_value(v)) for v in rejected.raw_cells]
        while len(cells) < len(header.columns):
            cells.append(WriteOnlyCell(ws, value=None))
        by_cell: dict[int, list] = {}
        for error in rejected.errors:
            index = letters.get(error.letter)
            if index is not None:
                by_cell.setdefault(index, []).append(error.message)
        for index, messages in by_cell.items():
            cell = cells[index]
            cell.fill = _BAD
            cell.comment = Comment("\n".join(messages), "导入检查")
        message = WriteOnlyCell(ws, value=error_text(rejected.errors))
        message.alignment = Alignment(wrap_text=True)
        cells.append(message)
        cells.append(WriteOnlyCell(ws, value=rejected.row_number))
        ws.append(cells)
    if result.skipped_rows:
        _skipped_sheet(wb, result)
    wb.save(path)
    return path
