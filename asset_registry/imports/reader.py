"""Reading real ledger files: sniffing, streaming rows, and per-row validation.

Pure and database-free. The flow a caller follows:

    fmt = sniff_file(path, filename)            # raises UnusableFile with a Chinese message
    reader = iter_rows(path, "assets", filename=filename)
    parser = None
    for item in reader:
        if isinstance(item, LedgerHeader):
            parser = RowParser("assets", today, choices={"status": ..., "funding_source": ...})
            continue
        clean, errors = parser.parse(item)
    reader.skipped_blank, reader.skipped_total, reader.data_rows

.xlsx files are read with python-calamine, which never evaluates formulas (it
returns the value Excel cached when the file was saved). CSV is accepted in
UTF-8 (with or without BOM), UTF-16 (Excel "Unicode text") and GB18030.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import chain, count
from operator import itemgetter
from typing import Any

from .columns import (
    Field,
    column_letter,
    field_map,
    fields_for,
    lookup_header,
    match_headers,
    normalise_header,
)
from .messages import N_
from .units import (
    BASE_UNIT,
    MSG_UNKNOWN_UNIT,
    SHOWN_UNITS,
    column_unit,
    money_converter,
    unit_factor,
    years_converter,
)
from .values import (
    MSG_DATE_FUTURE,
    ValueProblem,
    build_enum_lookup,
    cell_text,
    enum_message,
    normalise_free_text,
    normalise_text,
    parse_bool,
    parse_date,
    parse_decimal,
    parse_int,
    parse_money,
    strip_control,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_RATIO",
    "DEFAULT_MAX_ROWS",
    "DEFAULT_MAX_UNCOMPRESSED",
    "LedgerHeader",
    "LedgerReader",
    "LedgerRow",
    "RowError",
    "RowParser",
    "UnusableFile",
    "iter_rows",
    "parse_row",
    "sniff_file",
]

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 20 * MB
DEFAULT_MAX_UNCOMPRESSED = 200 * MB
DEFAULT_MAX_RATIO = 100
DEFAULT_MAX_ROWS = 200_000
HEADER_SCAN_ROWS = 20
# Members smaller than this are not ratio-checked: tiny XML parts legitimately
# compress very well, and cannot hurt anyone.
_RATIO_FLOOR = 1 * MB

MSG_XLS = N_("无法读取这个旧版 .xls 文件，请在 Excel 中另存为 .xlsx 后再导入")
MSG_UNIT_CONFLICT = N_("“{first}”和“{second}”都对应{field}，但单位不同，请只保留一列")
MSG_SKIPPED_TOTAL = N_("合计行")
MSG_SKIPPED_FOOTER = N_("表尾签字行")
MSG_ENCRYPTED = N_("文件设有打开密码，请在 Excel 中取消密码后再导入")
MSG_NOT_LEDGER = N_("文件不是有效的 Excel (.xlsx) 或 CSV 文件")
MSG_XLSB = N_("不支持 .xlsb 二进制工作簿，请在 Excel 中另存为 .xlsx 后再导入")
MSG_CORRUPT_ZIP = N_("文件已损坏（zip 结构不完整），请重新保存后再导入")
MSG_CORRUPT_SHEET = N_("文件内容已损坏，无法读取工作表，请在 Excel 中重新保存后再导入")
MSG_BOMB = N_("文件解压后过大，疑似压缩炸弹，已拒绝")
MSG_EMPTY = N_("文件是空的")
MSG_ENCODING = N_("CSV 文件编码无法识别，请另存为 UTF-8 编码的 CSV 后再导入")
MSG_NO_HEADER = N_(
    "未找到表头：前 {n} 行中没有一行包含至少两个可识别的列名（如“资产编号”“设备名称”）"
)
MSG_MISSING_COLUMNS = N_("缺少必需的列：{columns}（表头在第 {row} 行）")
MSG_TOO_MANY_ROWS = N_("行数超过上限 {limit:,} 行，请拆分成多个文件后分批导入")
MSG_REQUIRED = N_("必填项不能为空")
MSG_COMMISSIONED_BEFORE_PURCHASE = N_("投用日期早于购置日期")
MSG_NEXT_DUE_BEFORE_INSPECTION = N_("下次检验日期早于检验日期")
MSG_DUPLICATE_CODE = N_("资产编号在文件中重复（与第 {row} 行相同）")
MSG_TOO_LONG = N_("长度不能超过 {n} 个字符")
_CENT = Decimal("0.01")

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_XLSX_EXTENSIONS = (".xlsx", ".xlsm", ".xltx", ".xltm")
_TOTAL_LABELS = ("合计", "小计", "总计")
# Signature and date lines under a ledger (制表人：张三  审核人：李四  填表日期：…).
_FOOTER_LABELS = (
    "制表人",
    "制表",
    "制表日期",
    "填表人",
    "填表日期",
    "填报人",
    "填报日期",
    "审核人",
    "审核",
    "复核人",
    "负责人",
    "单位负责人",
    "部门负责人",
    "财务负责人",
    "主管领导",
    "分管领导",
    "经办人",
    "盘点人",
    "监盘人",
    "签字",
    "签章",
    "单位盖章",
    "备注:",
    "说明:",
    "注:",
)
_TOTAL_FIRST_CHARS = frozenset("合小总制填审复负单部财主分经盘监签备说注 \u3000\t")


class UnusableFile(Exception):
    """The file as a whole cannot be imported; `message` is Chinese, shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _size_text(n: int) -> str:
    if n >= MB and n % MB == 0:
        return f"{n // MB} MB"
    if n >= MB:
        return f"{n / MB:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} 字节"


# --- sniffing ------------------------------------------------------------------

Source = str | os.PathLike | bytes | bytearray | memoryview


def _open(source: Source) -> tuple[io.BufferedIOBase, int, bool]:
    """(binary file object, size, whether we opened it and must close it)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return io.BytesIO(data), len(data), True
    size = os.stat(source).st_size
    return open(source, "rb"), size, True  # noqa: SIM115 - closed by the caller


def _filename_of(source: Source, filename: str | None) -> str | None:
    if filename:
        return filename
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return None


def _extension(filename: str | None) -> str:
    if not filename:
        return ""
    return os.path.splitext(str(filename))[1].lower()


def _check_zip(
    fh: io.BufferedIOBase, max_uncompressed: int, max_ratio: float, verify: bool
) -> str:
    try:
        with zipfile.ZipFile(fh) as zf:
            infos = zf.infolist()
            total = 0
            for info in infos:
                total += info.file_size
                if info.file_size >= _RATIO_FLOOR and (
                    info.compress_size == 0 or info.file_size / info.compress_size > max_ratio
                ):
                    raise UnusableFile(MSG_BOMB)
            if total > max_uncompressed:
                raise UnusableFile(MSG_BOMB)
            names = {info.filename for info in infos}
            if "content.xml" in names and "mimetype" in names:
                if b"opendocument.spreadsheet" not in zf.read("mimetype"):
                    raise UnusableFile(MSG_NOT_LEDGER)
                if verify:
                    _verify_zip_streams(zf, infos, max_uncompressed)
                return "ods"
            if "xl/workbook.xml" not in names:
                if "xl/workbook.bin" in names:
                    raise UnusableFile(MSG_XLSB)
                raise UnusableFile(MSG_NOT_LEDGER)
            if verify:
                _verify_zip_streams(zf, infos, max_uncompressed)
            return "xlsx"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError):
        raise UnusableFile(MSG_CORRUPT_ZIP) from None


def _check_xls(fh: io.BufferedIOBase) -> None:
    """An old .xls workbook python-calamine can open (it reads BIFF8 itself)."""
    from python_calamine import CalamineError, CalamineWorkbook

    fh.seek(0)
    try:
        workbook = CalamineWorkbook.from_filelike(fh)
        workbook.close()
    except (CalamineError, ValueError, OSError):
        raise UnusableFile(MSG_XLS) from None
    except Exception:  # noqa: BLE001 - a malformed OLE2 file may fail in any way
        raise UnusableFile(MSG_XLS) from None


def _verify_zip_streams(
    zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], max_uncompressed: int
) -> None:
    """Inflate every member with a hard cap, so a central directory that lies about
    sizes cannot smuggle a bomb past the size check. Costs one decompression pass."""
    budget = max_uncompressed
    for info in infos:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UnusableFile(MSG_CORRUPT_ZIP)
        produced = 0
        with zf.open(info) as member:
            # ZipExtFile stops at the declared size and then checks the CRC, so a
            # lying header surfaces as BadZipFile; the budget catches the rest.
            while chunk := member.read(4 * MB):
                produced += len(chunk)
                if produced > budget:
                    raise UnusableFile(MSG_BOMB)
        budget -= produced


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    if b"\x00" in head:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
            return True
        except UnicodeDecodeError:
            continue
    return False


def sniff_file(
    source: Source,
    filename: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED,
    max_ratio: float = DEFAULT_MAX_RATIO,
    verify_zip: bool = True,
) -> str:
    """ "xlsx", "ods", "xls" or "csv" judged by content (not by name), or UnusableFile.

    Refuses: files over `max_bytes`; password-protected workbooks; .xls files
    python-calamine cannot open;
    renamed non-spreadsheets; corrupt or truncated zips; zip bombs (declared
    uncompressed total over `max_uncompressed` or a member compressed more than
    `max_ratio`:1). `verify_zip` also inflates every member under the same cap, so a
    central directory that lies about sizes is caught too (~0.3 s for 100,000 rows).
    Text is accepted as CSV only when the file name ends in .csv (or no name is known).
    """
    filename = _filename_of(source, filename)
    ext = _extension(filename)
    fh, size, _ = _open(source)
    with fh:
        if size > max_bytes:
            raise UnusableFile(f"文件超过 {_size_text(max_bytes)} 上限")
        if size == 0:
            raise UnusableFile(MSG_EMPTY)
        head = fh.read(64 * 1024)
        if head.startswith(_OLE2_MAGIC):
            # Password-protected .xlsx files are OLE2 containers holding "EncryptedPackage".
            fh.seek(0)
            if "EncryptedPackage".encode("utf-16-le") in fh.read(4 * MB):
                raise UnusableFile(MSG_ENCRYPTED)
            _check_xls(fh)
            return "xls"
        if head.startswith(_ZIP_MAGICS):
            fh.seek(0)
            return _check_zip(fh, max_uncompressed, max_ratio, verify_zip)
        if ext in ("", ".csv") and _looks_like_text(head):
            return "csv"
        raise UnusableFile(MSG_NOT_LEDGER)


# --- rows ----------------------------------------------------------------------


@dataclass(slots=True)
class LedgerHeader:
    """The header found in the file. `columns[i]` describes `LedgerRow.raw_cells[i]`."""

    # (Excel column letter, header text as in the file, field key or None)
    columns: list[tuple[str, str, str | None]]
    row_number: int  # as Excel shows it (the last row, for two-row headers)
    kind: str
    format: str  # "xlsx", "xls", "ods" or "csv"
    sheet_name: str | None = None
    # (column letter, header text) of columns no field matched: report, don't fail
    unknown: list[tuple[str, str]] = field(default_factory=list)
    # field key → indices into raw_cells, preferred first
    key_columns: dict[str, list[int]] = field(default_factory=dict)
    # field key → the unit its header states when it is not the register's own (万元, 月)
    units: dict[str, str] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return list(self.key_columns)

    def column_for(self, key: str, raw_cells: list | None = None) -> int | None:
        """Index of the column a key's value came from (the first non-blank one)."""
        cols = self.key_columns.get(key)
        if not cols:
            return None
        if raw_cells is not None and len(cols) > 1:
            for col in cols:
                if col < len(raw_cells) and not _is_blank(raw_cells[col]):
                    return col
        return cols[0]


@dataclass(slots=True)
class LedgerRow:
    row_number: int  # as Excel shows it
    values: dict[str, Any]  # field key → raw cell value ("" for a blank cell)
    raw_cells: list  # the whole row as read, aligned with header.columns
    header: LedgerHeader | None = field(default=None, repr=False)


def _is_blank(value: object) -> bool:
    return value is None or (type(value) is str and (not value or value.isspace()))


def _is_total_label(value: object) -> bool:
    if type(value) is not str or value[:1] not in _TOTAL_FIRST_CHARS:
        return False
    return "".join(value.split()).startswith(_TOTAL_LABELS)


def _is_footer_label(value: object) -> bool:
    if type(value) is not str or value.lstrip()[:1] not in _TOTAL_FIRST_CHARS:
        return False
    text = "".join(value.split()).replace("：", ":")
    return text.startswith(_FOOTER_LABELS) and (
        ":" in text or text.endswith(("签字", "签章", "盖章")) or len(text) <= 6
    )


SKIPPED_LIMIT = 500  # rows listed as skipped (the counters count them all)


class LedgerReader:
    """Iterate: first a `LedgerHeader`, then one `LedgerRow` per data row.

    Blank rows and 合计/小计/总计 rows are skipped and counted. Vertically merged
    cells in the data area (a department merged over several rows) are filled
    down. Raises `UnusableFile` for an unusable file, a missing header or
    required column, or more than `max_rows` data rows.
    """

    def __init__(
        self,
        source: Source,
        kind: str,
        *,
        filename: str | None = None,
        fmt: str | None = None,
        max_rows: int = DEFAULT_MAX_ROWS,
        header_scan_rows: int = HEADER_SCAN_ROWS,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        **sniff_options: Any,
    ) -> None:
        fields_for(kind)  # validates kind
        # the organisation's mapping: {normalised header: {"field": key | None, "unit": …}}
        self.overrides = dict(overrides or {})
        self.source = source
        self.kind = kind
        self.filename = _filename_of(source, filename)
        self.fmt = fmt
        self.max_rows = max_rows
        self.header_scan_rows = header_scan_rows
        self.sniff_options = sniff_options
        self.header: LedgerHeader | None = None
        self.skipped_blank = 0
        self.skipped_total = 0  # 合计/小计 rows and signature footers
        # (Excel row, why, the row's text) of the rows that are not data, for the report
        self.skipped_rows: list[tuple[int, str, str]] = []
        self.data_rows = 0
        # the header cells of the best candidate row, for a file refused as a whole
        self.found_headers: list[str] = []

    # -- sources: each yields (excel_row_number, cells) and sets sheet details

    def _xlsx_sheets(self) -> Iterator[tuple[str, Iterator[tuple[int, list]], Any]]:
        from python_calamine import CalamineError, CalamineWorkbook, PasswordError

        source = self.source
        try:
            if isinstance(source, (bytes, bytearray, memoryview)):
                workbook = CalamineWorkbook.from_filelike(io.BytesIO(bytes(source)))
            elif self.fmt != "xlsx":
                # .xls and .ods by content: an upload may carry any name
                with open(source, "rb") as fh:
                    workbook = CalamineWorkbook.from_filelike(io.BytesIO(fh.read()))
            else:
                workbook = CalamineWorkbook.from_path(os.fspath(source))
        except PasswordError:
            raise UnusableFile(MSG_ENCRYPTED) from None
        except CalamineError:
            raise UnusableFile(MSG_CORRUPT_SHEET) from None
        with workbook:
            candidates = [
                index
                for index, meta in enumerate(workbook.sheets_metadata)
                if str(meta.visible).endswith("Visible") and str(meta.typ).endswith("WorkSheet")
            ] or list(range(len(workbook.sheet_names)))
            for index in candidates:
                try:
                    sheet = workbook.get_sheet_by_index(index)
                    start = sheet.start
                    rows = sheet.iter_rows()
                except CalamineError:
                    raise UnusableFile(MSG_CORRUPT_SHEET) from None
                if start is None:  # empty sheet
                    continue
                yield sheet.name, self._number_xlsx_rows(rows, start), sheet

    @staticmethod
    def _number_xlsx_rows(
        rows: Iterator[list], start: tuple[int, int]
    ) -> Iterator[tuple[int, list]]:
        # python-calamine 0.9 pads iter_rows() with the empty rows above the data
        # (so row i is Excel row i + 1) but starts each row at the first used
        # column (sheet.start[1]). In case a later version stops padding, the
        # first row with content is anchored on start[0], the 0-based row of the
        # first used cell; with padding, that row already sits at index start[0].
        for index, cells in enumerate(rows):
            if all(c == "" for c in cells):
                continue
            first = index + 1 + max(0, start[0] - index)
            yield first, cells
            yield from zip(count(first + 1), rows)
            return

    def _csv_sheets(self) -> Iterator[tuple[str | None, Iterator[tuple[int, list]], None]]:
        source = self.source
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        else:
            with open(source, "rb") as fh:
                data = fh.read()
        text = _decode_csv(data)
        delimiter = self._csv_delimiter(text)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        yield None, ((n, row) for n, row in enumerate(reader, start=1)), None

    def _csv_delimiter(self, text: str) -> str:
        sample = "\n".join(text.splitlines()[: self.header_scan_rows])
        best, best_hits = ",", 0
        for delimiter in (",", "\t", ";", "|"):
            try:
                rows = list(csv.reader(io.StringIO(sample), delimiter=delimiter))
            except csv.Error:
                continue
            hits = max((self._header_hits(r) for r in rows), default=0)
            if hits > best_hits:
                best, best_hits = delimiter, hits
        return best

    def _lookup(self, cell: object) -> str | None:
        """The field a header cell names: the organisation's mapping first, then the
        built-in synonyms. None for an unknown header or one mapped to "ignore"."""
        if self.overrides:
            chosen = self.overrides.get(normalise_header(cell))
            if chosen is not None:
                return chosen.get("field") or None
        hit = lookup_header(cell, self.kind)
        return hit[0] if hit is not None else None

    def _header_hits(self, cells: list) -> int:
        return sum(1 for c in cells if not _is_blank(c) and self._lookup(c) is not None)

    def _is_header_continuation(self, cells: list) -> bool:
        """A second header row: English headers, a key row, or sub-headers under merged cells."""
        seen = False
        for c in cells:
            if _is_blank(c):
                continue
            if self._lookup(c) is None:
                return False
            seen = True
        return seen

    # -- main loop

    def __iter__(self) -> Iterator[LedgerHeader | LedgerRow]:
        fmt = self.fmt or sniff_file(self.source, self.filename, **self.sniff_options)
        self.fmt = fmt
        sheets = self._csv_sheets() if fmt == "csv" else self._xlsx_sheets()
        for sheet_name, rows, sheet in sheets:
            scanned: list[tuple[int, list]] = []
            header_at = None
            for number, cells in rows:
                scanned.append((number, cells))
                if header_at is None and self._header_hits(cells) >= 2:
                    header_at = len(scanned) - 1
                if header_at is not None and len(scanned) > header_at + 1:
                    break  # have the header and the row after it
                if len(scanned) >= self.header_scan_rows and header_at is None:
                    break
            if header_at is None:
                if not self.found_headers:
                    self.found_headers = _likely_header(scanned)
                continue
            yield from self._read_sheet(fmt, sheet_name, sheet, scanned, header_at, rows)
            return
        raise UnusableFile(MSG_NO_HEADER.format(n=self.header_scan_rows))

    def _read_sheet(
        self,
        fmt: str,
        sheet_name: str | None,
        sheet: Any,
        scanned: list[tuple[int, list]],
        header_at: int,
        rows: Iterator[tuple[int, list]],
    ) -> Iterator[LedgerHeader | LedgerRow]:
        header_number, header_cells = scanned[header_at]
        header_cells = list(header_cells)
        rest = scanned[header_at + 1 :]
        # A second header row right below (English, keys, sub-headers): merge it in.
        if rest and self._is_header_continuation(rest[0][1]):
            header_number, below = rest.pop(0)
            for i, c in enumerate(below):
                if i >= len(header_cells):
                    header_cells.append(c)
                elif not _is_blank(c) and lookup_header(header_cells[i], self.kind) is None:
                    header_cells[i] = c
        col_offset = sheet.start[1] if sheet is not None else 0
        header = self._make_header(fmt, sheet_name, header_cells, header_number, col_offset)
        self.header = header
        yield header

        width = len(header.columns)
        single: list[tuple[int, str]] = []
        multi: list[tuple[str, list[int]]] = []
        for key, cols in header.key_columns.items():
            if len(cols) == 1:
                single.append((cols[0], key))
            else:
                multi.append((key, cols))
        single_keys = tuple(key for _, key in single)
        pick = itemgetter(*(col for col, _ in single)) if single else None
        if len(single) == 1:
            only = single[0][0]

            def pick(cells: list) -> tuple:
                return (cells[only],)

        # the kind's first required column (the asset code; a plan item's name): a
        # data row has it, a blank or 合计 row does not
        anchor = next(f.key for f in fields_for(self.kind) if f.required)
        code_col = header.key_columns[anchor][0]  # required: the header has it
        fill = self._merged_fill(sheet, header_number, col_offset) if sheet is not None else {}
        captured: dict[tuple[int, int], Any] = {}
        max_rows = self.max_rows
        is_csv = fmt == "csv"

        for number, cells in chain(rest, rows):
            if is_csv and len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            if fill:
                todo = fill.get(number)
                if todo:
                    cells = list(cells)
                    for col, top in todo:
                        if top == number:
                            captured[(top, col)] = cells[col]
                        elif _is_blank(cells[col]):
                            cells[col] = captured.get((top, col), "")
            # Blank, 合计 and signature rows. A row with an asset code is none of them
            # (they never carry a real code), so the usual data row costs one check.
            code = cells[code_col]
            if code.__class__ is str and (
                not code or code[0] in _TOTAL_FIRST_CHARS or code.isspace()
            ):
                if all(_is_blank(c) for c in cells):
                    self.skipped_blank += 1
                    continue
                if (_is_blank(code) or _is_total_label(code)) and any(
                    _is_total_label(c) for c in cells
                ):
                    self._skip(number, MSG_SKIPPED_TOTAL, cells)
                    continue
                if _is_footer_label(code) or (
                    _is_blank(code)
                    and _is_footer_label(next(c for c in cells if not _is_blank(c)))
                ):
                    self._skip(number, MSG_SKIPPED_FOOTER, cells)
                    continue
            # Gathered at C speed; a blank cell stays "" (what calamine and csv give).
            values: dict[str, Any] = (
                dict(zip(single_keys, pick(cells), strict=True)) if pick else {}
            )
            for key, cols in multi:
                values[key] = ""
                for col in cols:
                    v = cells[col]
                    if not _is_blank(v):
                        values[key] = v
                        break
            self.data_rows += 1
            if self.data_rows > max_rows:
                raise UnusableFile(MSG_TOO_MANY_ROWS.format(limit=max_rows))
            yield LedgerRow(number, values, cells, header)

    def _skip(self, number: int, why: str, cells: list) -> None:
        self.skipped_total += 1
        if len(self.skipped_rows) < SKIPPED_LIMIT:
            text = " ".join(cell_text(c).strip() for c in cells if not _is_blank(c))
            self.skipped_rows.append((number, why, strip_control(text)[:200]))

    def _make_header(
        self,
        fmt: str,
        sheet_name: str | None,
        cells: list,
        row_number: int,
        col_offset: int,
    ) -> LedgerHeader:
        match = match_headers(cells, self.kind, self.overrides)
        columns = []
        for i, c in enumerate(cells):
            text = "" if _is_blank(c) else strip_control(cell_text(c).strip())
            columns.append((column_letter(col_offset + i), text, match.mapping.get(i)))
        self.found_headers = [text for _, text, _ in columns if text]
        unknown = [(column_letter(col_offset + i), text) for i, text in match.unknown]
        missing = [
            f.zh for f in fields_for(self.kind) if f.required and f.key not in match.columns_by_key
        ]
        if missing:
            raise UnusableFile(
                MSG_MISSING_COLUMNS.format(columns="、".join(missing), row=row_number)
            )
        return LedgerHeader(
            columns=columns,
            row_number=row_number,
            kind=self.kind,
            format=fmt,
            sheet_name=sheet_name,
            unknown=unknown,
            key_columns=match.columns_by_key,
            units=self._units(columns, match.columns_by_key),
        )

    def _units(self, columns: list, key_columns: dict[str, list[int]]) -> dict[str, str]:
        """{field key: unit} for the columns whose header states a unit other than the
        register's own; an unknown unit, or two columns of one field in different
        units, refuses the file."""
        fields = field_map(self.kind)
        units: dict[str, str] = {}
        for key, cols in key_columns.items():
            family = fields[key].unit
            if family is None:
                continue
            seen: tuple[str, str] | None = None
            for col in cols:
                header = columns[col][1]
                chosen = self.overrides.get(normalise_header(header)) if self.overrides else None
                if chosen is not None and chosen.get("unit"):
                    unit = chosen["unit"]
                else:
                    unit = column_unit(family, header) or BASE_UNIT[family]
                if unit_factor(family, unit) is None:
                    raise UnusableFile(
                        MSG_UNKNOWN_UNIT.format(
                            column=header, unit=unit, options=SHOWN_UNITS[family]
                        )
                    )
                if seen is not None and unit_factor(family, unit) != unit_factor(
                    family, seen[1]
                ):
                    raise UnusableFile(
                        MSG_UNIT_CONFLICT.format(
                            first=seen[0], second=header, field=fields[key].zh
                        )
                    )
                seen = seen or (header, unit)
            if seen is not None and unit_factor(family, seen[1]) != 1:
                units[key] = seen[1]
        return units

    @staticmethod
    def _merged_fill(sheet: Any, header_number: int, col_offset: int) -> dict[int, list]:
        """{excel row: [(raw column index, excel row of the merge's top cell)]} for
        single-column vertical merges below the header."""
        fill: dict[int, list] = {}
        try:
            ranges = sheet.merged_cell_ranges or []
        except Exception:  # noqa: BLE001 - merged ranges are a nicety, never fatal
            return fill
        for (r0, c0), (r1, c1) in ranges:
            top = r0 + 1  # 0-based → Excel row number
            if c0 != c1 or r1 <= r0 or top <= header_number:
                continue
            col = c0 - col_offset
            if col < 0:
                continue
            for number in range(top, r1 + 2):
                fill.setdefault(number, []).append((col, top))
        return fill


def _likely_header(scanned: list[tuple[int, list]]) -> list[str]:
    """The texts of the row that looks most like a header (the most text cells)."""
    best: list[str] = []
    for _, cells in scanned:
        texts = [
            strip_control(c.strip())
            for c in cells
            if isinstance(c, str) and c.strip() and len(c.strip()) <= 40
        ]
        if len(texts) > len(best):
            best = texts
    return best


def _decode_csv(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise UnusableFile(MSG_ENCODING) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise UnusableFile(MSG_ENCODING) from None


def iter_rows(
    source: Source,
    kind: str,
    *,
    filename: str | None = None,
    fmt: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    **sniff_options: Any,
) -> LedgerReader:
    """A `LedgerReader`: iterate it for the header then the data rows; it keeps the counters."""
    return LedgerReader(
        source, kind, filename=filename, fmt=fmt, max_rows=max_rows, **sniff_options
    )


# --- validation ----------------------------------------------------------------


@dataclass(slots=True)
class RowError:
    row_number: int  # as Excel shows it
    column: str | None  # header text as in the file
    value: Any  # the raw cell value ("" for a blank)
    message: str  # Chinese, why
    key: str | None = None  # field key
    letter: str | None = None  # Excel column letter, for highlighting the cell


_MEMO_LIMIT = 20_000
_MISS = object()


def _memoised(convert, typed=None):
    """Remember results for text input: ledgers repeat departments, categories,
    makers and statuses on thousands of rows. Bounded; failures are remembered too.
    Non-text values (dates, numbers, booleans from the workbook) go to `typed`,
    a fast path, or else to `convert`."""
    cache: dict[str, Any] = {}
    typed = typed or convert

    def memo(value: object) -> Any:
        if value.__class__ is not str:
            return typed(value)
        hit = cache.get(value, _MISS)
        if hit is _MISS:
            try:
                hit = convert(value)
            except ValueProblem as problem:
                hit = problem
            if len(cache) < _MEMO_LIMIT:
                cache[value] = hit
        if hit.__class__ is ValueProblem:
            raise ValueProblem(hit.message)
        return hit

    memo.cache = cache  # type: ignore[attr-defined]  # RowParser.parse reads it inline
    return memo


# Exports neutralise formula-like text with a leading apostrophe ("'=1+1"); reading
# it back drops that apostrophe, so export → edit → re-import changes nothing.
_NEUTRALISED = ("'=", "'+", "'-", "'@")


# Identifiers are narrowed completely (ＺＹ－００１ → ZY-001); other text keeps its punctuation.
_IDENTIFIERS = frozenset(
    {
        "asset_code",
        "replaced_asset_code",
        "serial_no",
        "equipment_code",
        "registration_no",
        "catalogue_code",
        "permit_no",
        "report_no",
    }
)


def _text_converter(max_length: int | None, *, identifier: bool = False):
    normalise = normalise_text if identifier else normalise_free_text

    def convert(value: object) -> str | None:
        text = normalise(value)
        if text is not None and text.startswith(_NEUTRALISED):
            text = text[1:]
        if text is not None and max_length is not None and len(text) > max_length:
            raise ValueProblem(MSG_TOO_LONG.format(n=max_length))
        return text

    return convert


def _enum_converter(
    f: Field,
    choices: Mapping[str, tuple[str, str]] | None,
    extra_aliases: Mapping[str, str] | None = None,
):
    if choices is None:
        choices, aliases = f.choices, f.aliases
    else:
        aliases = f.aliases if choices is f.choices else None
    if choices is None:
        # No choices given: pass the text through for the caller to resolve.
        return _text_converter(f.max_length)
    lookup = build_enum_lookup(choices, aliases)
    # the ledger words (synonyms, the organisation's mapping) win over built-in spellings
    lookup.update(build_enum_lookup({}, {a: c for a, c in (extra_aliases or {}).items()}))
    message = enum_message(choices)

    def convert(value: object) -> str | None:
        text = normalise_text(value)
        if text is None:
            return None
        code = lookup.get("".join(text.split()).casefold())
        if code is None:
            raise ValueProblem(message)
        return code

    return convert


class RowParser:
    """Validate `LedgerRow`s of one import: build once, call `parse` per row.

    `choices` maps enum field keys to {code: (zh_label, en_label)} (status,
    funding_source, conclusion, obligation_kind); fields with built-in choices
    (device_class, energy_grade) use those unless overridden; an enum field
    with no choices passes its normalised text through. Category text is passed
    through normalised under "category" for the caller to resolve.

    `clean` holds a value for every field whose column is in the file: None for
    a blank cell (the caller decides whether blank clears), absent if the file
    has no such column or the cell had an error. Duplicate asset codes in one
    file are reported from the second occurrence on (kind "assets").
    """

    def __init__(
        self,
        kind: str,
        today: dt.date | None = None,
        choices: Mapping[str, Mapping[str, tuple[str, str]]] | None = None,
        *,
        check_duplicates: bool | None = None,
        aliases: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        if today is None:
            from .. import clock

            today = clock.today()
        self.kind = kind
        self.today = today
        self.fields = field_map(kind)
        self.check_duplicates = kind == "assets" if check_duplicates is None else check_duplicates
        self.seen_codes: dict[str, int] = {}
        choices = choices or {}
        # {field key: {ledger word: code}}: synonyms and the organisation's value mapping
        self.aliases = aliases or {}
        self.converters = {
            key: _memoised(*self._converter(f, choices.get(key), self.aliases.get(key)))
            for key, f in self.fields.items()
        }
        self.caches = {key: convert.cache for key, convert in self.converters.items()}
        self._plain_converters = dict(self.converters)
        self._plain_caches = dict(self.caches)
        self.required = [key for key, f in self.fields.items() if f.required]
        self._header: LedgerHeader | None = None
        self._blank: dict[str, None] = {}

    def _use_units(self, units: Mapping[str, str]) -> None:
        """Converters for the columns whose header states a unit (万元, 月): the values
        are converted to the register's unit (元, years)."""
        self.converters = dict(self._plain_converters)
        self.caches = dict(self._plain_caches)
        for key, unit in units.items():
            family = self.fields[key].unit
            factor = unit_factor(family, unit)
            convert = money_converter(factor) if family == "money" else years_converter(factor)
            memo = _memoised(convert)
            self.converters[key], self.caches[key] = memo, memo.cache

    def _converter(self, f: Field, choices, aliases=None):
        """(converter, fast path for values already typed by the workbook or None)."""
        today = self.today
        kind = f.type
        if f.key == "equipment_code":
            from ..validators import equipment_code  # the rule the form and the API share

            return equipment_code, None
        if kind in ("text", "category"):
            return _text_converter(f.max_length, identifier=f.key in _IDENTIFIERS), None
        if kind == "date":
            allow_future = f.allow_future

            def convert_date(value: object) -> dt.date | None:
                return parse_date(value, today, allow_future=allow_future)

            def typed_date(value: object) -> dt.date | None:
                cls = value.__class__
                if cls is dt.date:
                    result = value
                elif cls is dt.datetime:
                    result = value.date()
                else:
                    return convert_date(value)
                if result > today and not allow_future:
                    raise ValueProblem(MSG_DATE_FUTURE)
                return result

            return convert_date, typed_date
        if kind == "money":

            def typed_money(value: object) -> Decimal | None:
                if value.__class__ is float and 0 < value < 1e12:
                    return Decimal(repr(value)).quantize(_CENT, rounding=ROUND_HALF_UP)
                return parse_money(value)

            return parse_money, typed_money
        if kind == "int":

            def typed_int(value: object) -> int | None:
                if value.__class__ is float and value >= 0 and value.is_integer():
                    return int(value)
                return parse_int(value)

            return parse_int, typed_int
        if kind == "decimal":
            return parse_decimal, None
        if kind == "bool":
            return parse_bool, None
        if kind == "enum":
            return _enum_converter(f, choices, aliases), None
        raise ValueError(f"no converter for type {kind!r}")

    def error(self, row: LedgerRow, key: str, message: str, value: Any = _MISS) -> RowError:
        """A RowError on `key`'s column as the file names it (else the template's
        header); the value is the row's own cell unless given."""
        if value is _MISS:
            value = row.values.get(key, "")
        header = row.header
        column = letter = None
        if header is not None:
            col = header.column_for(key, row.raw_cells)
            if col is not None:
                letter, column, _ = header.columns[col]
        if column is None:
            column = self.fields[key].zh
        return RowError(row.row_number, column, value, message, key, letter)

    def parse(self, row: LedgerRow) -> tuple[dict[str, Any], list[RowError]]:
        header = row.header
        if header is not self._header:
            if header is not None and header.kind != self.kind:
                raise ValueError(f"a {header.kind!r} row given to a {self.kind!r} parser")
            self._header = header
            keys = header.key_columns if header is not None else ()
            self._blank = dict.fromkeys(k for k in keys if k in self.fields)
            self._use_units(header.units if header is not None else {})
        clean: dict[str, Any] = self._blank.copy()
        errors: list[RowError] = []
        converters = self.converters
        caches = self.caches
        for key, raw in row.values.items():
            if raw.__class__ is str:  # the common case, answered from the cache inline
                hit = caches[key].get(raw, _MISS)
                if hit is not _MISS and hit.__class__ is not ValueProblem:
                    clean[key] = hit
                    continue
            convert = converters[key]
            try:
                clean[key] = convert(raw)
            except ValueProblem as problem:
                clean.pop(key, None)
                errors.append(self.error(row, key, problem.message, raw))
        for key in self.required:
            if key in row.values:
                if key in clean and clean[key] is None:  # whitespace only
                    errors.append(self.error(row, key, MSG_REQUIRED))
            else:  # blank cell (or, without a header, no column)
                errors.append(self.error(row, key, MSG_REQUIRED, ""))
        if self.kind == "assets":
            purchased, commissioned = clean.get("purchase_date"), clean.get("commissioned_on")
            if purchased and commissioned and commissioned < purchased:
                errors.append(self.error(row, "commissioned_on", MSG_COMMISSIONED_BEFORE_PURCHASE))
        elif self.kind == "inspections":
            inspected, next_due = clean.get("inspected_on"), clean.get("next_due")
            if inspected and next_due and next_due < inspected:
                errors.append(self.error(row, "next_due", MSG_NEXT_DUE_BEFORE_INSPECTION))
        if self.check_duplicates:
            code = clean.get("asset_code")
            if code is not None:
                first = self.seen_codes.setdefault(code, row.row_number)
                if first != row.row_number:
                    errors.append(
                        self.error(
                            row,
                            "asset_code",
                            MSG_DUPLICATE_CODE.format(row=first),
                        )
                    )
        return clean, errors


def parse_row(
    row: LedgerRow,
    kind: str,
    today: dt.date,
    choices: Mapping[str, Mapping[str, tuple[str, str]]] | None = None,
) -> tuple[dict[str, Any], list[RowError]]:
    """Validate one row on its own (no duplicate check). For many rows use `RowParser`."""
    return RowParser(kind, today, choices, check_duplicates=False).parse(row)
