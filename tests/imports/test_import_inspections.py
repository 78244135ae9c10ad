"""Inspection records: matched to the organisation's duties, exact errors, idempotent."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from asset_registry.extensions import db
from asset_registry.imports.services import run_import
from asset_registry.inspections.models import InspectionRecord, Obligation
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import scope_of
from tests.imports.ledgers import TODAY, simple_ledger, unique_prefix
from tests.imports.test_import_assets import assets_like, run

HEADERS = ("资产编号", "检验类别", "检验日期", "检验机构", "报告编号", "检验结论", "下次检验日期")


def run_inspections(user, path, **kw):
    scope = scope_of(user)
    result = run_import(scope, scope.org_id, "inspections", path, today=TODAY, **kw)
    db.session.commit()
    return result


def test_inspection_records_import(app, tmp_path):
    p = unique_prefix()
    ledger = simple_ledger(
        tmp_path / "lifts.xlsx",
        [(f"{p}-L1", "1号客梯", "电梯", "2020-01-01")],
        headers=("资产编号", "设备名称", "类别", "投用日期"),
    )
    assert run("hcxf", ledger).new == 1
    asset = assets_like(p)[f"{p}-L1"]
    rows = [
        (
            f"{p}-L1",
            "定期检验（年度）",
            "2025-05-20",
            "山西省特检院",
            f"{p}-R1",
            "符合要求",
            "2026-05-20",
        ),
        (f"{p}-NOPE", None, "2025-05-20", None, None, "符合要求", None),
        (f"{p}-L1", "定期检验（年度）", "2025-04-01", None, f"{p}-R0", "允许运行", None),
    ]
    path = simple_ledger(tmp_path / "records.xlsx", rows, headers=HEADERS)
    result = run_inspections("hcxf", path)
    assert (result.new, result.rejected, result.written) == (1, 2, False)
    assert [(e.row_number, e.column, e.message) for e in result.errors] == [
        (3, "资产编号", "本单位没有这个资产编号的设备"),
        (
            4,
            "检验结论",
            "检验结论不适用于该检验项目（可选：符合要求、基本符合要求、不符合要求、复检合格）",
        ),
    ]
    result = run_inspections("hcxf", path, valid_only=True)
    assert result.written and result.new == 1
    with use_scope(Scope.system()):
        record = db.session.scalars(
            select(InspectionRecord).where(InspectionRecord.asset_id == asset.id)
        ).one()
        duty = db.session.scalars(
            select(Obligation).where(Obligation.id == record.obligation_id)
        ).one()
        assert (record.inspected_on, record.conclusion, record.method) == (
            dt.date(2025, 5, 20),
            "符合要求",
            "import",
        )
        assert duty.next_due == dt.date(2026, 5, 20) and duty.last_done == dt.date(2025, 5, 20)
    again = run_inspections("hcxf", path, valid_only=True)
    assert (again.new, again.unchanged) == (0, 1)


def test_other_org_cannot_record_against_my_assets(app, tmp_path):
    p = unique_prefix()
    ledger = simple_ledger(
        tmp_path / "lifts.xlsx",
        [(f"{p}-L1", "客梯", "电梯", "2020-01-01")],
        headers=("资产编号", "设备名称", "类别", "投用日期"),
    )
    run("hcxf", ledger)
    path = simple_ledger(
        tmp_path / "r.xlsx",
        [(f"{p}-L1", None, "2025-05-20", None, "X", "符合要求", None)],
        headers=HEADERS,
    )
    result = run_inspections("wml", path)
    assert result.rejected == 1 and result.errors[0].message == "本单位没有这个资产编号的设备"


def test_due_list_export_round_trips_into_the_inspection_import(app, login, tmp_path):
    import io

    from openpyxl import load_workbook

    p = unique_prefix()
    ledger = simple_ledger(
        tmp_path / "lifts.xlsx",
        [(f"{p}-L1", "客梯", "电梯", "2015-01-01")],
        headers=("资产编号", "设备名称", "类别", "投用日期"),
    )
    run("stxz", ledger)
    client = login("stxz")
    response = client.get("/imports/export/due.xlsx?days=90")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]][:3] == ["资产编号", "检验类别", "检验日期"]
    rows = [r for r in ws.iter_rows(min_row=3) if r[0].value == f"{p}-L1"]
    assert rows, "the overdue lift is on the due list"
    row = rows[0]
    row[2].value, row[4].value, row[5].value = dt.date(2025, 5, 1), f"{p}-R", "符合要求"
    for other in ws.iter_rows(min_row=3):
        if other[0].value != f"{p}-L1":
            other[0].value = None  # only our lift
            for cell in other:
                cell.value = None
    path = tmp_path / "due.xlsx"
    wb.save(path)
    response = client.post(
        "/imports/",
        {"kind": "inspections", "file": (io.BytesIO(path.read_bytes()), "due.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "未识别的列" in page and "试运行结果" in page


def test_import_inspections_cli(app, tmp_path):
    p = unique_prefix()
    path = simple_ledger(
        tmp_path / "r.xlsx",
        [(f"{p}-NONE", None, "2025-05-20", None, "X", "符合要求", None)],
        headers=HEADERS,
    )
    out = app.test_cli_runner().invoke(args=["import-inspections", path, "--org", "wml"])
    assert out.exit_code == 1 and "本单位没有这个资产编号的设备" in out.output
    assert "拒绝 1" in out.output
