"""Reading messy real-world ledgers: sniffing, header finding, rows, row validation."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook

from asset_registry.imports.reader import (
    LedgerHeader,
    LedgerRow,
    RowError,
    RowParser,
    UnusableFile,
    iter_rows,
    parse_row,
    sniff_file,
)
from asset_registry.imports.values import MSG_DATE, MSG_DATE_INVALID

TODAY = dt.date(2025, 6, 1)
STATUS = {"in_service": ("在用", "In service"), "idle": ("闲置", "Idle")}
FUNDING = {"self_funded": ("单位自筹", "Self-funded"), "local_fiscal": ("地方财政资金", "Local")}
CHOICES = {"status": STATUS, "funding_source": FUNDING}


def save(wb: Workbook, path) -> str:
    wb.save(path)
    return str(path)


def read_all(path, kind="assets", **kwargs):
    reader = iter_rows(path, kind, **kwargs)
    items = list(reader)
    header, rows = items[0], items[1:]
    assert isinstance(header, LedgerHeader)
    assert all(isinstance(r, LedgerRow) for r in rows)
    return reader, header, rows


def messy_ledger(tmp_path) -> str:
    """A hospital ledger as people really keep it."""
    wb = Workbook()
    ws = wb.active
    ws.title = "设备台账"
    ws["A1"] = "晋城市人民医院医疗设备台账（2024年）"
    ws.merge_cells("A1:L1")
    ws["A2"] = "填报单位：设备科"
    ws["H2"] = "单位：元"
    ws.append(
        [
            "序号",
            "*资产编号",
            "设备名称",
            "一级类别",
            "二级类别",
            "购置日期",
            "投用时间",
            "资产原值（元）",
            "产品有效期(年)",
            "科室",
            "楼号",
            "使用状态",
        ]
    )
    rows = [
        [
            1,
            "ZY-001",
            "ＣＴ机",
            "设备",
            "医用成像器械",
            dt.date(2015, 3, 8),
            "2015/3/20",
            1280000,
            8,
            "放射科",
            "1号楼",
            "在用",
        ],
        [
            2,
            "ZY-002",
            " 监护仪 ",
            "设备",
            None,
            45000,
            "2023.04",
            "¥1,280,000.00",
            "6年",
            None,
            "1号楼",
            "In service",
        ],  # 科室 merged from the row above
        [
            3,
            "ZY-003",
            "超声",
            None,
            "医用成像器械",
            "2015.03",
            "2015年3月",
            "￥420,000",
            None,
            "超声科",
            None,
            "闲置",
        ],
        [None] * 12,  # blank row
        [
            4,
            "ZY-004",
            "呼吸机",
            None,
            None,
            "2015年3月8日",
            "20150308",
            "128万",
            "１０",
            "ＩＣＵ",
            None,
            None,
        ],
        [
            5,
            "ZY-005",
            "麻醉机",
            None,
            None,
            "２０１５年３月",
            "2015-03-08",
            "1.5万元",
            None,
            None,
            None,
            "idle",
        ],
        [6, 10006, "心电图机", None, None, None, None, "42万元", None, None, None, None],
    ]
    for row in rows:
        ws.append(row)
    ws.merge_cells("J4:J5")  # 放射科 over two rows
    ws.append([])
    ws.append(["合  计", None, None, None, None, None, None, "=SUM(H4:H10)"])
    return save(wb, tmp_path / "台账.xlsx")


def test_messy_ledger_header_rows_and_counters(tmp_path):
    reader, header, rows = read_all(messy_ledger(tmp_path))
    assert header.row_number == 3
    assert header.sheet_name == "设备台账"
    assert header.format == "xlsx"
    assert header.columns[:3] == [
        ("A", "序号", None),
        ("B", "*资产编号", "asset_code"),
        ("C", "设备名称", "name"),
    ]
    assert header.columns[8] == ("I", "产品有效期(年)", "design_life_years")
    assert header.unknown == [("A", "序号"), ("K", "楼号")]
    # 二级类别 is preferred over 一级类别 when both are present
    assert header.key_columns["category"] == [4, 3]
    assert [r.row_number for r in rows] == [4, 5, 6, 8, 9, 10]
    assert reader.skipped_blank == 2
    assert reader.skipped_total == 1
    assert reader.data_rows == 6
    assert rows[0].values["name"] == "ＣＴ机"  # raw; normalised by the parser
    assert rows[1].values["department"] == "放射科"  # merged cell filled down
    assert rows[2].values["department"] == "超声科"
    assert rows[4].values["department"] == ""  # blank cells stay "" in the raw values
    assert rows[1].raw_cells[9] == "放射科"
    assert len(rows[0].raw_cells) == len(header.columns)


def test_messy_ledger_values(tmp_path):
    _, _, rows = read_all(messy_ledger(tmp_path))
    parser = RowParser("assets", TODAY, CHOICES)
    parsed = [parser.parse(r) for r in rows]
    assert [errors for _, errors in parsed] == [[]] * 6
    clean = [c for c, _ in parsed]
    assert clean[0] == {
        "asset_code": "ZY-001",
        "name": "CT机",
        "category": "医用成像器械",
        "purchase_date": dt.date(2015, 3, 8),
        "commissioned_on": dt.date(2015, 3, 20),
        "original_value": Decimal("1280000.00"),
        "design_life_years": 8,
        "department": "放射科",
        "status": "in_service",
    }
    # category falls back to 一级类别 where 二级类别 is blank
    assert clean[1]["category"] == "设备"
    assert clean[1]["name"] == "监护仪"
    assert clean[1]["purchase_date"] == dt.date(2023, 3, 15)  # serial 45000
    assert clean[1]["commissioned_on"] == dt.date(2023, 4, 1)
    assert clean[1]["original_value"] == Decimal("1280000.00")
    assert clean[1]["design_life_years"] == 6
    assert clean[1]["status"] == "in_service"
    assert clean[2]["purchase_date"] == clean[2]["commissioned_on"] == dt.date(2015, 3, 1)
    assert clean[2]["original_value"] == Decimal("420000.00")
    assert clean[2]["design_life_years"] is None  # column present, cell blank → None
    assert clean[2]["status"] == "idle"
    assert clean[3]["purchase_date"] == clean[3]["commissioned_on"] == dt.date(2015, 3, 8)
    assert clean[3]["original_value"] == Decimal("1280000.00")
    assert clean[3]["design_life_years"] == 10
    assert clean[3]["department"] == "ICU"
    assert clean[4]["purchase_date"] == dt.date(2015, 3, 1)  # full-width digits
    assert clean[4]["original_value"] == Decimal("15000.00")
    assert clean[5]["asset_code"] == "10006"  # a number cell, not "10006.0"
    assert clean[5]["original_value"] == Decimal("420000.00")
    assert "funding_source" not in clean[5]  # no such column in the file


def test_formulas_are_never_evaluated(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["资产编号", "设备名称", "原值"])
    ws.append(["A1", "CT", "=1000*2"])  # openpyxl stores no cached value
    _, _, rows = read_all(save(wb, tmp_path / "f.xlsx"))
    clean, errors = parse_row(rows[0], "assets", TODAY)
    assert errors == []
    assert clean["original_value"] is None


def bad_ledger(tmp_path) -> str:
    wb = Workbook()
    ws = wb.active
    ws.append(["某学院教学设备台账"])
    ws.append([None])
    ws.append(
        [
            "资产编号",
            "设备名称",
            "购置日期",
            "启用日期",
            "原值",
            "使用年限",
            "使用状态",
            "放射设备",
            "能效等级",
        ]
    )
    ws.append(["K-1", "示波器", "2015-03-08", "2015-03-01", 3000, 8, "在用", "否", "一级"])
    ws.append(["K-2", None, "2030-01-01", None, -5, "八年", "报废了", "也许", "6级"])
    ws.append([None, "万用表", "2015.13", "明年", "约100万", 10.5, None, None, None])
    ws.append(["K-1", "示波器", "2016-01-01", None, "1,000", 8, "Idle", "Y", 2])
    return save(wb, tmp_path / "bad.xlsx")


def test_bad_rows_report_exact_errors(tmp_path):
    _, header, rows = read_all(bad_ledger(tmp_path))
    assert header.row_number == 3
    parser = RowParser("assets", TODAY, CHOICES)
    results = [parser.parse(r) for r in rows]
    errors = [(e.row_number, e.column, e.value, e.message) for _, errs in results for e in errs]
    assert errors == [
        (4, "启用日期", "2015-03-01", "投用日期早于购置日期"),
        (5, "购置日期", "2030-01-01", "不能是未来日期"),
        (5, "原值", -5.0, "不能为负数"),
        (5, "使用年限", "八年", "应为数字"),
        (5, "使用状态", "报废了", "不是可选值（可选：在用、闲置）"),
        (5, "放射设备", "也许", "应为“是”或“否”"),
        (5, "能效等级", "6级", "不是可选值（可选：1级、2级、3级、4级、5级）"),
        (5, "设备名称", "", "必填项不能为空"),
        (6, "购置日期", "2015.13", MSG_DATE_INVALID),
        (6, "启用日期", "明年", MSG_DATE),
        (6, "原值", "约100万", "应为金额数字"),
        (6, "使用年限", 10.5, "应为整数"),
        (6, "资产编号", "", "必填项不能为空"),
        (7, "资产编号", "K-1", "资产编号在文件中重复（与第 4 行相同）"),
    ]
    first = results[0][1][0]
    assert isinstance(first, RowError)
    assert (first.key, first.letter) == ("commissioned_on", "D")
    clean_ok = results[3][0]
    assert clean_ok["energy_grade"] == "2"
    assert clean_ok["status"] == "idle"
    assert clean_ok["radiation"] is True
    assert results[0][0]["energy_grade"] == "1"
    # the cells in error are left out of `clean`
    assert "purchase_date" not in results[1][0]


def test_header_in_column_b_with_english_second_header_row(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws["C2"] = "设备台账"
    ws["B4"], ws["C4"], ws["D4"] = "资产编号", "设备名称", "类别"
    ws["B5"], ws["C5"], ws["D5"] = "Asset code", "Name", "category"
    ws["B6"], ws["C6"], ws["D6"] = "X-1", "电梯", "3000"
    _, header, rows = read_all(save(wb, tmp_path / "b.xlsx"))
    assert header.row_number == 5
    assert [c[:2] for c in header.columns] == [("B", "资产编号"), ("C", "设备名称"), ("D", "类别")]
    assert [(r.row_number, r.values) for r in rows] == [
        (6, {"asset_code": "X-1", "name": "电梯", "category": "3000"})
    ]


def test_inspection_rows(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(
        [
            "设备编号",
            "检验类别",
            "检验日期",
            "检验机构",
            "报告编号",
            "检验结论",
            "下次检验日期",
            "主要问题",
        ]
    )
    ws.append(
        ["DT-1", "定期检验", "2024年5月20日", "市特检院", "R-001", "合格", "2025-05-19", None]
    )
    ws.append(["DT-1", "定期检验", "2025/5/20", "市特检院", "R-002", "合格", "2026-05", "无"])
    ws.append(["DT-2", "定期检验", "2025-05-20", None, None, "合格", "2024-05-20", None])
    _, header, rows = read_all(save(wb, tmp_path / "i.xlsx"), "inspections")
    parser = RowParser("inspections", TODAY)
    results = [parser.parse(r) for r in rows]
    assert results[0][1] == results[1][1] == []  # same asset twice is fine for inspections
    assert results[1][0]["next_due"] == dt.date(2026, 5, 1)  # future allowed here
    assert results[0][0]["conclusion"] == "合格"  # no choices given → text passed through
    assert [(e.row_number, e.column, e.message) for e in results[2][1]] == [
        (4, "下次检验日期", "下次检验日期早于检验日期")
    ]


def test_csv_gb18030(tmp_path):
    text = (
        "晋城市第三人民医院设备台账\n"
        "资产编号,设备名称,购置日期,资产原值（元）\n"
        'C-1,ＤＲ,2015年3月,"¥1,280,000.00"\n'
        ",,,\n"
        "合计,,,1280000\n"
    )
    path = tmp_path / "ledger.csv"
    path.write_bytes(text.encode("gb18030"))
    assert sniff_file(str(path)) == "csv"
    reader, header, rows = read_all(str(path))
    assert header.row_number == 2
    assert header.format == "csv"
    assert [r.row_number for r in rows] == [3]
    assert (reader.skipped_blank, reader.skipped_total) == (1, 1)
    clean, errors = parse_row(rows[0], "assets", TODAY)
    assert errors == []
    assert clean == {
        "asset_code": "C-1",
        "name": "DR",
        "purchase_date": dt.date(2015, 3, 1),
        "original_value": Decimal("1280000.00"),
    }


def test_csv_utf8_bom_and_semicolons(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes(codecs.BOM_UTF8 + "资产编号;设备名称\nA;B\n".encode())
    _, header, rows = read_all(str(path))
    assert header.columns[0] == ("A", "资产编号", "asset_code")
    assert rows[0].values == {"asset_code": "A", "name": "B"}


def test_bytes_source(tmp_path):
    data = (tmp_path / "x").with_suffix(".xlsx")
    wb = Workbook()
    wb.active.append(["资产编号", "设备名称"])
    wb.active.append(["A", "B"])
    wb.save(data)
    raw = data.read_bytes()
    assert sniff_file(raw, "upload.xlsx") == "xlsx"
    _, _, rows = read_all(raw, filename="upload.xlsx")
    assert rows[0].values == {"asset_code": "A", "name": "B"}


# --- unusable files -----------------------------------------------------------------


def unusable(source, filename=None, **kwargs) -> str:
    with pytest.raises(UnusableFile) as caught:
        sniff_file(source, filename, **kwargs)
    return caught.value.message


def test_xls_is_refused_with_save_as_advice(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000)
    assert unusable(str(path)) == "无法读取这个旧版 .xls 文件，请在 Excel 中另存为 .xlsx 后再导入"
    # and the same file renamed to .xlsx
    assert unusable(path.read_bytes(), "renamed.xlsx").startswith("无法读取这个旧版 .xls 文件")


def test_renamed_text_file(tmp_path):
    path = tmp_path / "ledger.xlsx"
    path.write_text("这是一份说明文字，不是表格。\n", encoding="utf-8")
    assert unusable(str(path)) == "文件不是有效的 Excel (.xlsx) 或 CSV 文件"
    txt = tmp_path / "notes.txt"
    txt.write_text("资产编号,设备名称\n", encoding="utf-8")
    assert unusable(str(txt)) == "文件不是有效的 Excel (.xlsx) 或 CSV 文件"
    png = tmp_path / "photo.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert unusable(str(png)) == "文件不是有效的 Excel (.xlsx) 或 CSV 文件"
    # and iter_rows sniffs too
    with pytest.raises(UnusableFile, match="不是有效的"):
        list(iter_rows(str(path), "assets"))


def test_truncated_zip(tmp_path):
    wb = Workbook()
    wb.active.append(["资产编号", "设备名称"])
    full = tmp_path / "full.xlsx"
    wb.save(full)
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert unusable(str(cut)) == "文件已损坏（zip 结构不完整），请重新保存后再导入"


def test_zip_that_is_not_a_workbook(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    assert unusable(buf.getvalue(), "report.xlsx") == "文件不是有效的 Excel (.xlsx) 或 CSV 文件"


def _zip_with_zeros(path, size: int) -> None:
    chunk = b"\x00" * (1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(size // len(chunk)):
                member.write(chunk)


def test_zip_bomb_by_total_size(tmp_path):
    path = tmp_path / "bomb.xlsx"
    _zip_with_zeros(path, 300 * 1024 * 1024)
    assert path.stat().st_size < 1024 * 1024  # ~300 KB on disk
    assert unusable(str(path)) == "文件解压后过大，疑似压缩炸弹，已拒绝"


def test_zip_bomb_by_ratio(tmp_path):
    path = tmp_path / "dense.xlsx"
    _zip_with_zeros(path, 8 * 1024 * 1024)  # well under 200 MB, but ~1000:1
    assert unusable(str(path)) == "文件解压后过大，疑似压缩炸弹，已拒绝"


def test_oversize_file(tmp_path):
    path = messy_ledger(tmp_path)
    assert unusable(path, max_bytes=1024) == "文件超过 1 KB 上限"
    assert unusable(b"x" * (21 * 1024 * 1024), "big.csv") == "文件超过 20 MB 上限"


def test_empty_file(tmp_path):
    assert unusable(b"", "empty.csv") == "文件是空的"


def test_no_header_found(tmp_path):
    wb = Workbook()
    wb.active.append(["月度报表"])
    wb.active.append(["甲", "乙", "丙"])
    with pytest.raises(UnusableFile) as caught:
        list(iter_rows(save(wb, tmp_path / "n.xlsx"), "assets"))
    assert caught.value.message.startswith("未找到表头：前 20 行中没有一行")


def test_missing_required_column(tmp_path):
    wb = Workbook()
    wb.active.append(["标题"])
    wb.active.append(["设备名称", "规格型号", "科室"])
    with pytest.raises(UnusableFile) as caught:
        list(iter_rows(save(wb, tmp_path / "m.xlsx"), "assets"))
    assert caught.value.message == "缺少必需的列：资产编号（表头在第 2 行）"


def test_row_cap(tmp_path):
    wb = Workbook()
    wb.active.append(["资产编号", "设备名称"])
    for i in range(3):
        wb.active.append([f"A{i}", "x"])
    path = save(wb, tmp_path / "r.xlsx")
    assert len(read_all(path, max_rows=3)[2]) == 3
    with pytest.raises(UnusableFile) as caught:
        list(iter_rows(path, "assets", max_rows=2))
    assert caught.value.message == "行数超过上限 2 行，请拆分成多个文件后分批导入"


def test_second_sheet_used_when_first_is_instructions(tmp_path):
    wb = Workbook()
    wb.active.title = "填写说明"
    wb.active.append(["请按模板填写"])
    data = wb.create_sheet("台账")
    data.append(["资产编号", "设备名称"])
    data.append(["A", "B"])
    _, header, rows = read_all(save(wb, tmp_path / "s.xlsx"))
    assert header.sheet_name == "台账"
    assert rows[0].row_number == 2
