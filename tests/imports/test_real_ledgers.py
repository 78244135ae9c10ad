"""Ledgers as finance and equipment offices really export them: units in headers,
ledger words for funding and status, official category names with full-width brackets,
合计 and signature rows, control characters; saved and file mappings; undo."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from asset_registry.assets.models import Asset
from asset_registry.catalog.models import Category
from asset_registry.extensions import db
from asset_registry.imports.export import export_assets
from asset_registry.imports.mapping import MappingError, check_targets, from_json, save_mapping
from asset_registry.imports.models import ImportJob
from asset_registry.imports.services import import_assets, run_import
from asset_registry.imports.undo import UndoRefused, revert_import
from asset_registry.inspections.models import Obligation
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import scope_of
from tests.imports.ledgers import TODAY, save, unique_prefix
from tests.imports.test_import_assets import assets_like


def finance_export(path, p: str, *, unit_header: str = "原值（万元）") -> str:
    """A finance department's fixed-asset card export (固定资产卡片)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "固定资产卡片"
    ws["A1"] = "晋城市人民医院固定资产明细账"
    ws.merge_cells("A1:J1")
    ws["A2"] = "单位：晋城市人民医院            金额单位：见表头"
    ws.append(
        [
            "卡片编号",
            "资产名称",
            "资产分类",
            "取得日期",
            unit_header,
            "使用年限（月）",
            "资金来源",
            "使用状况",
            "使用部门",
            "财务凭证号",
        ]
    )
    ws.append(
        [
            f"{p}-1",
            "数字化X射线摄影系统",
            "医用X射线设备",
            "2018-05-01",
            12.5,
            180,
            "自筹",
            "使用中",
            "放射科",
            "记-0012",
        ]
    )
    # "_x0001_" is how a workbook stores a control character (U+0001) in a cell
    ws.append(
        [
            f"{p}-2",
            "观光车_x0001_",
            "场（厂）内专用机动车辆",
            "2019.06",
            "45",
            96,
            "财政拨款",
            "闲置",
            "景区部",
            "记-0013",
        ]
    )
    ws.append(
        [f"{p}-3", "心电监护仪", "07", "2020年3月", 3.08, 60, "财政资金", "维修", "ICU", None]
    )
    ws.append(
        [
            f"{p}-4",
            "备用发电机",
            "机械设备",
            "2016/7/1",
            "128万",
            120,
            "自筹资金",
            "待报废",
            "后勤科",
            None,
        ]
    )
    ws.append(["合计", None, None, None, 188.58, None, None, None, None, None])
    ws.append([None])
    ws.append(["制表人：张三", None, "审核人：李四", None, "单位负责人：王五"])
    ws.append([None, "填表日期：2024年12月31日"])
    return save(wb, path)


def run(user, path, **kw):
    scope = scope_of(user)
    result = import_assets(scope, scope.org_id, path, today=TODAY, **kw)
    db.session.commit()
    return result


def category_code(category_id):
    with use_scope(Scope.system()):
        return db.session.scalar(select(Category.code).where(Category.id == category_id))


def test_finance_export_imports_with_the_values_it_means(app, tmp_path):
    p = unique_prefix()
    result = run("rmyy", finance_export(tmp_path / "财务卡片.xlsx", p))
    assert result.unusable is None and result.rejected == 0, result.errors
    assert result.written and result.new == 4
    got = assets_like(p)
    one, two, three, four = (got[f"{p}-{n}"] for n in range(1, 5))
    # 万元 header: 12.5 → 125,000.00 元; a cell with its own unit (128万) keeps it
    assert one.original_value == Decimal("125000.00")
    assert two.original_value == Decimal("450000.00")
    assert three.original_value == Decimal("30800.00")
    assert four.original_value == Decimal("1280000.00")
    # 使用年限（月）: the depreciation life in months → whole years, never the design life
    assert [a.accounting_life_years for a in (one, two, three, four)] == [15, 8, 5, 10]
    assert one.design_life_years != 15 and one.design_life_years != 180
    # ledger words for funding and status
    assert [a.funding_source for a in (one, two, three, four)] == [
        "self_funded",
        "local_fiscal",
        "local_fiscal",
        "self_funded",
    ]
    assert [a.status for a in (one, two, three, four)] == [
        "in_service",
        "idle",
        "under_repair",
        "awaiting_disposal",
    ]
    # common name and official name with full-width brackets
    assert category_code(one.category_id) == "MED-06"
    assert category_code(two.category_id) == "SE-5000" and two.is_special
    assert category_code(three.category_id) == "MED-07"
    assert two.name == "观光车"  # the control character is gone
    # 合计 and the signature lines are skipped and listed
    assert result.skipped_total == 3
    reasons = [(number, why) for number, why, _ in result.skipped_rows]
    assert reasons == [(8, "合计行"), (10, "表尾签字行"), (11, "表尾签字行")]
    assert "制表人：张三" in result.skipped_rows[1][2]
    # the mapping the run used, with units, and the column it ignored
    columns = {c["header"]: (c["field"], c["unit"]) for c in result.column_mapping}
    assert columns["原值（万元）"] == ("original_value", "万元")
    assert columns["使用年限（月）"] == ("accounting_life_years", "月")
    assert columns["财务凭证号"] == (None, None)
    assert result.unknown_columns == [("J", "财务凭证号")]
    assert result.values_found["funding_source"] == {
        "自筹": "self_funded",
        "财政拨款": "local_fiscal",
        "财政资金": "local_fiscal",
        "自筹资金": "self_funded",
    }


def test_unknown_unit_refuses_the_file_with_its_headers(app, tmp_path):
    p = unique_prefix()
    path = finance_export(tmp_path / "usd.xlsx", p, unit_header="原值（美元）")
    result = run("rmyy", path)
    assert result.unusable == "列“原值（美元）”的单位“美元”无法识别（可用的单位：元、千元、万元）"
    assert not result.written and assets_like(p) == {}
    assert "原值（美元）" in result.found_headers and "卡片编号" in result.found_headers
    assert "资产编号" in result.expected_headers and result.required_headers == [
        "资产编号",
        "设备名称",
    ]


def test_refused_file_still_yields_a_report_and_the_cli_lists_headers(app, tmp_path):
    wb = Workbook()
    wb.active.append(["Item", "Qty", "Remarks"])
    wb.active.append(["bolt", 3, ""])
    path = save(wb, tmp_path / "odd.xlsx")
    report = tmp_path / "report.xlsx"
    out = app.test_cli_runner().invoke(
        args=["import-assets", path, "--org", "rmyy", "--report", str(report)]
    )
    assert out.exit_code == 2
    assert "文件中找到的表头：Item、Qty、Remarks" in out.output
    assert "系统可识别的列：资产编号、设备名称" in out.output
    sheet = load_workbook(report).worksheets[0]
    values = [c.value for row in sheet.iter_rows() for c in row if c.value]
    assert "Item" in values and "资产编号" in values and sheet.title == "无法导入"


def test_cli_prints_mapping_ignored_columns_and_takes_a_mapping_file(app, tmp_path):
    p = unique_prefix()
    wb = Workbook()
    wb.active.append(["资产编号", "设备名称", "设备价值", "经费", "档案盒号"])
    wb.active.append([f"{p}-1", "呼吸机", 8.8, "财政专户", "H-7"])
    path = save(wb, tmp_path / "mapped.xlsx")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps(
            {
                "columns": {
                    "设备价值": {"field": "original_value", "unit": "万元"},
                    "经费": {"field": "funding_source"},
                    "档案盒号": {"field": None},
                },
                "values": {"funding_source": {"财政专户": "local_fiscal"}},
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    out = app.test_cli_runner().invoke(
        args=["import-assets", path, "--org", "sxkj", "--mapping", str(mapping)]
    )
    assert out.exit_code == 0, out.output
    assert "列 C“设备价值” → 资产原值（元）（单位：万元）" in out.output
    assert "忽略的列：E“档案盒号”" in out.output
    asset = assets_like(p)[f"{p}-1"]
    assert asset.original_value == Decimal("88000.00") and asset.funding_source == "local_fiscal"
    bad = tmp_path / "bad.json"
    bad.write_text('{"columns": {"设备价值": {"field": "price_tag"}}}', encoding="utf-8")
    out = app.test_cli_runner().invoke(
        args=["import-assets", path, "--org", "sxkj", "--mapping", str(bad)]
    )
    assert out.exit_code == 2 and "映射到的字段“price_tag”不存在" in out.output


def test_saved_mapping_is_reused(app, tmp_path):
    p = unique_prefix()
    scope = scope_of("hcxf")
    mapping = from_json(
        {
            "columns": {"设备价值（千元）": {"field": "original_value"}},
            "values": {"status": {"停机待修": "under_repair"}, "category": {"灯具": "PERF-LIGHT"}},
        },
        "assets",
    )
    with use_scope(scope):
        save_mapping(scope, scope.org_id, "assets", mapping)
        db.session.commit()
    wb = Workbook()
    wb.active.append(["资产编号", "设备名称", "设备价值（千元）", "状态", "类别"])
    wb.active.append([f"{p}-1", "追光灯", 12, "停机待修", "灯具"])
    result = run_import(
        scope, scope.org_id, "assets", save(wb, tmp_path / "again.xlsx"), today=TODAY
    )
    db.session.commit()
    assert result.written, result.errors
    asset = assets_like(p)[f"{p}-1"]
    assert asset.original_value == Decimal("12000.00") and asset.status == "under_repair"
    assert category_code(asset.category_id) == "PERF-LIGHT"


def test_mapping_refuses_unknown_fields_units_targets_and_other_sectors(app):
    with pytest.raises(MappingError, match="不存在"):
        from_json({"columns": {"x": {"field": "nope"}}}, "assets")
    with pytest.raises(MappingError, match="单位“美元”无法识别"):
        from_json({"columns": {"x": {"field": "original_value", "unit": "美元"}}}, "assets")
    with pytest.raises(MappingError, match="没有单位"):
        from_json({"columns": {"x": {"field": "name", "unit": "万元"}}}, "assets")
    with use_scope(Scope.system()):
        with pytest.raises(MappingError, match="不是资金来源的可选值"):
            check_targets(
                from_json({"values": {"funding_source": {"a": "gold"}}}, "assets"),
                "assets",
                "health",
            )
        with pytest.raises(MappingError, match="属于其他行业"):
            check_targets(
                from_json({"values": {"category": {"灯": "PERF-LIGHT"}}}, "assets"),
                "assets",
                "health",
            )


def test_english_header_export_maps(app, tmp_path):
    p = unique_prefix()
    wb = Workbook()
    wb.active.append(
        [
            "Asset Tag",
            "Name",
            "Serial",
            "Model",
            "Manufacturer",
            "Location",
            "Purchase Date",
            "Purchase Cost",
            "Status",
            "Order Number",
        ]
    )
    wb.active.append(
        [
            f"{p}-1",
            "Laptop",
            "SN-9",
            "T14",
            "Lenovo",
            "Room 204",
            "2022-09-01",
            6999,
            "使用中",
            "PO-1",
        ]
    )
    result = run("sxkj", save(wb, tmp_path / "snipe.xlsx"))
    assert result.written and result.new == 1, (result.unusable, result.errors)
    asset = assets_like(p)[f"{p}-1"]
    assert (asset.serial_no, asset.model, asset.manufacturer, asset.location) == (
        "SN-9",
        "T14",
        "Lenovo",
        "Room 204",
    )
    assert asset.original_value == Decimal("6999.00")
    assert result.unknown_columns == [("J", "Order Number")]


def test_control_characters_in_stored_values_do_not_break_the_export(app):
    scope = scope_of("sxkj")
    p = unique_prefix()
    with use_scope(scope):
        db.session.add(
            Asset(
                org_id=scope.org_id,
                asset_code=f"{p}-C",
                name="示波器\x07\x1b",
                model="X\x0bY",
                qr_token=f"tok{p}cc",
            )
        )
        db.session.flush()
        data = export_assets(scope, {"q": p})
        db.session.rollback()
    rows = list(load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(values_only=True))
    assert any(row[0] == f"{p}-C" and row[1] == "示波器" for row in rows)


def snapshot(prefix: str) -> dict:
    columns = [c.name for c in Asset.__table__.columns if c.name not in ("updated_at",)]
    with use_scope(Scope.system()):
        rows = db.session.execute(
            select(*(Asset.__table__.c[c] for c in columns)).where(
                Asset.asset_code.like(f"{prefix}%")
            )
        ).all()
        duties = db.session.scalar(
            select(func.count())
            .select_from(Obligation)
            .join(Asset)
            .where(Asset.asset_code.like(f"{prefix}%"))
        )
    return {"rows": sorted(tuple(r) for r in rows), "duties": duties}


def test_undo_restores_the_exact_prior_state(app, login, tmp_path):
    p = unique_prefix()
    client = login("rmyy")
    base = Workbook()
    base.active.append(["资产编号", "设备名称", "资产原值（元）", "使用状态"])
    base.active.append([f"{p}-1", "监护仪", 30000, "在用"])
    base.active.append([f"{p}-2", "输液泵", 8000, "在用"])
    run("rmyy", save(base, tmp_path / "base.xlsx"))
    before = snapshot(p)
    assert len(before["rows"]) == 2
    second = Workbook()
    second.active.append(["资产编号", "设备名称", "资产原值（元）", "使用状态"])
    second.active.append([f"{p}-1", "监护仪", 32000, "闲置"])  # changed
    second.active.append([f"{p}-2", "输液泵", 8000, "在用"])  # unchanged
    second.active.append([f"{p}-3", "除颤仪", 45000, "在用"])  # new
    path = save(second, tmp_path / "second.xlsx")
    with open(path, "rb") as fh:
        response = client.post(
            "/imports/",
            {"kind": "assets", "file": (fh, "second.xlsx")},
            content_type="multipart/form-data",
        )
    job_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    client.post(f"/imports/{job_id}/commit", {})
    after = snapshot(p)
    assert len(after["rows"]) == 3 and after != before
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "撤销" in page
    response = client.post(f"/imports/{job_id}/undo", {})
    assert response.status_code == 302
    assert snapshot(p) == before
    with use_scope(Scope.system()):
        job = db.session.scalar(select(ImportJob).where(ImportJob.id == job_id))
        assert job.reverted_at is not None
        with pytest.raises(UndoRefused, match="已撤销"):
            revert_import(scope_of("rmyy"), job)
    db.session.rollback()


def test_undo_refused_after_the_assets_were_edited(app, tmp_path):
    p = unique_prefix()
    scope = scope_of("rmyy")
    wb = Workbook()
    wb.active.append(["资产编号", "设备名称"])
    wb.active.append([f"{p}-1", "监护仪"])
    path = save(wb, tmp_path / "one.xlsx")
    with use_scope(scope):
        job = ImportJob(
            org_id=scope.org_id, kind="assets", filename="one.xlsx", stored_path=path, dry_run=False
        )
        db.session.add(job)
        db.session.flush()
        from asset_registry.imports.jobs import execute

        execute(job, scope)
        db.session.commit()
        asset = db.session.scalar(select(Asset).where(Asset.asset_code == f"{p}-1"))
        from asset_registry import clock

        asset.name = "监护仪（已改）"
        asset.updated_at = clock.utcnow_naive().replace(year=2100)
        db.session.commit()
        with pytest.raises(UndoRefused, match="导入后已有 1 台设备被修改"):
            revert_import(scope, job)
        db.session.rollback()
    assert assets_like(p)[f"{p}-1"].name == "监护仪（已改）"


def test_due_list_export_reimports_as_records(app, login, tmp_path):
    from asset_registry.inspections.models import InspectionRecord

    p = unique_prefix()
    wb = Workbook()
    wb.active.append(["资产编号", "设备名称", "类别", "投用日期"])
    wb.active.append([f"{p}-R", "客运索道", "客运索道", "2015-01-01"])
    wb.active.append([f"{p}-L", "客梯", "电梯", "2015-01-01"])
    run("wml", save(wb, tmp_path / "ropeway.xlsx"))
    client = login("wml")
    response = client.get("/imports/export/due.xlsx?days=60")
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames[0] == "待检清单" and "填写说明" in book.sheetnames
    notes = [c.value for row in book["填写说明"].iter_rows() for c in row if c.value]
    assert any("未填写检验结果" in str(v) for v in notes)
    ws = book.worksheets[0]
    ours = [r for r in ws.iter_rows(min_row=3) if str(r[0].value or "").startswith(p)]
    kinds = sorted(r[1].value for r in ours if r[0].value == f"{p}-R")
    assert len(kinds) == 2, kinds  # the ropeway's annual and full inspection, by name
    for row in ws.iter_rows(min_row=3):
        if not str(row[0].value or "").startswith(p):
            for cell in row:
                cell.value = None
    filled = next(r for r in ours if r[0].value == f"{p}-R" and "年度" in r[1].value)
    filled[2].value, filled[3].value = dt.date(2025, 5, 20), "省特检院"
    filled[4].value, filled[5].value = f"{p}-RPT", "符合要求"
    path = tmp_path / "due.xlsx"
    book.save(path)
    scope = scope_of("wml")
    result = run_import(scope, scope.org_id, "inspections", str(path), today=TODAY)
    db.session.commit()
    assert (result.new, result.rejected) == (1, 0), result.errors
    assert result.written
    assert [why for _, why, _ in result.skipped_rows].count("未填写检验结果") == len(ours) - 1
    with use_scope(Scope.system()):
        record = db.session.scalar(
            select(InspectionRecord).where(InspectionRecord.report_no == f"{p}-RPT")
        )
        assert record is not None and "年度" in record.obligation.name


def test_each_template_has_its_own_sheet_and_instructions(app, login):
    client = login("rmyy")
    seen = {}
    for kind in ("assets", "inspections", "plan_items"):
        book = load_workbook(io.BytesIO(client.get(f"/imports/template/{kind}.xlsx").data))
        notes = " ".join(
            str(c.value) for row in book["填写说明"].iter_rows() for c in row if c.value
        )
        seen[kind] = (book.sheetnames[0], notes)
    assert [s for s, _ in seen.values()] == ["设备台账", "检验记录", "更新计划明细"]
    assert "每行填写一台设备" in seen["assets"][1]
    assert "每行填写一条检验记录" in seen["inspections"][1]
    assert "拟更新的设备" in seen["plan_items"][1]


def ods_ledger(path, rows) -> str:
    """A minimal OpenDocument spreadsheet (what LibreOffice and WPS save as .ods)."""
    import zipfile
    from xml.sax.saxutils import escape

    def cell(value):
        if isinstance(value, (int, float)):
            return (
                f'<table:table-cell office:value-type="float" office:value="{value}">'
                f"<text:p>{value}</text:p></table:table-cell>"
            )
        return (
            f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}'
            "</text:p></table:table-cell>"
        )

    body = "".join(
        "<table:table-row>" + "".join(cell(v) for v in row) + "</table:table-row>" for row in rows
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="台账">'
        f"{body}</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
        ' manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/"'
        ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED
        )
        zf.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        zf.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return str(path)


def test_ods_and_gb18030_csv_import(app, tmp_path):
    p = unique_prefix()
    ods = ods_ledger(
        tmp_path / "台账.ods",
        [["资产编号", "设备名称", "原值（万元）"], [f"{p}-O", "麻醉机", 36.5]],
    )
    result = run("rmyy", ods)
    assert result.written and result.header.format == "ods", (result.unusable, result.errors)
    assert assets_like(p)[f"{p}-O"].original_value == Decimal("365000.00")
    csv_path = tmp_path / "台账.csv"
    csv_path.write_bytes(
        f"资产编号,设备名称,资金来源\r\n{p}-C,呼吸机,财政拨款\r\n".encode("gb18030")
    )
    result = run("rmyy", str(csv_path))
    assert result.written, (result.unusable, result.errors)
    assert assets_like(p)[f"{p}-C"].funding_source == "local_fiscal"


def test_equipment_code_follows_the_shared_rule(app, tmp_path):
    from asset_registry.assets.codes import MSG_EQUIPMENT_FORMAT

    p = unique_prefix()
    wb = Workbook()
    wb.active.append(["资产编号", "设备名称", "类别", "设备代码"])
    full_width = "３１１０４１０５０２０１５０６００１"  # 3110 41050 2015 06001
    wb.active.append([f"{p}-1", "客梯", "电梯", full_width])
    wb.active.append([f"{p}-2", "货梯", "电梯", "31104"])
    result = run("stxz", save(wb, tmp_path / "codes.xlsx"), valid_only=True)
    assert [(e.row_number, e.message) for e in result.errors] == [(3, MSG_EQUIPMENT_FORMAT)]
    assert assets_like(p)[f"{p}-1"].equipment_code == "311041050201506001"
