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
            "检验结论不适用于该检验项目（可选：符合要求、基本符合要求、不符合要求、合格、不合格、复检合格、复检不合格）",
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


def _statements_while(fn) -> int:
    from sqlalchemy import event

    count = 0

    def counted(*args, **kwargs):
        nonlocal count
        count += 1

    event.listen(db.engine, "before_cursor_execute", counted)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", counted)
    return count


def test_inspection_import_is_set_based_and_keeps_run_states(app, tmp_path):
    """The same number of statements for 2 rows as for 12 (no query per row), and the
    duties and run states end as the form would leave them: a failed lift stops."""
    from asset_registry import clock
    from asset_registry.assets.models import Asset, StatusChange

    inspected = clock.today() - dt.timedelta(days=30)
    counts = {}
    for n in (2, 12):
        p = unique_prefix()
        lifts = [(f"{p}-L{i}", f"{i}号客梯", "电梯", "2020-01-01") for i in range(n)]
        ledger = simple_ledger(
            tmp_path / f"lifts{n}.xlsx", lifts, headers=("资产编号", "设备名称", "类别", "投用日期")
        )
        assert run("hcxf", ledger).new == n
        rows = [
            (
                f"{p}-L{i}",
                "定期检验（年度）",
                inspected.isoformat(),
                "山西省特检院",
                f"{p}-R{i}",
                "不符合要求" if i == 0 else "符合要求",
                None,
            )
            for i in range(n)
        ]
        path = simple_ledger(tmp_path / f"records{n}.xlsx", rows, headers=HEADERS)
        scope = scope_of("hcxf")
        results = []

        def run_it(path=path, scope=scope, results=results):
            results.append(run_import(scope, scope.org_id, "inspections", path))
            db.session.commit()

        counts[n] = _statements_while(run_it)
        assert (results[0].new, results[0].rejected, results[0].written) == (n, 0, True)
        with use_scope(Scope.system()):
            status = dict(
                db.session.execute(
                    select(Asset.asset_code, Asset.status).where(Asset.asset_code.like(f"{p}-%"))
                ).all()
            )
            duties = {
                code: (last_done, next_due, failed)
                for code, last_done, next_due, failed in db.session.execute(
                    select(
                        Asset.asset_code,
                        Obligation.last_done,
                        Obligation.next_due,
                        Obligation.failed,
                    )
                    .join(Asset, Asset.id == Obligation.asset_id)
                    .where(Asset.asset_code.like(f"{p}-%"), Obligation.last_done.is_not(None))
                )
            }
            stops = db.session.scalars(
                select(StatusChange.reason)
                .join(Asset, Asset.id == StatusChange.asset_id)
                .where(Asset.asset_code == f"{p}-L0", StatusChange.to_status == "stopped")
            ).all()
        assert status[f"{p}-L0"] == "stopped" and len(stops) == 1
        assert duties[f"{p}-L0"][0] == inspected and duties[f"{p}-L0"][2] is True
        for i in range(1, n):
            assert status[f"{p}-L{i}"] == "in_service"
            next_year = inspected.replace(year=inspected.year + 1)
            assert duties[f"{p}-L{i}"] == (inspected, next_year, False)
    assert counts[12] == counts[2], counts


def test_a_category_default_design_life_from_an_import_never_stops(app, tmp_path):
    from asset_registry.assets.models import Asset

    p = unique_prefix()
    ledger = simple_ledger(
        tmp_path / "lifts.xlsx",
        [(f"{p}-D1", "老电梯", "电梯", "2005-01-01", None),
         (f"{p}-D2", "铭牌电梯", "电梯", "2005-01-01", 15)],
        headers=("资产编号", "设备名称", "类别", "投用日期", "设计使用年限"),
    )
    result = run("hcxf", ledger)
    assert result.new == 2, result.errors[:3]
    with use_scope(Scope.system()):
        assets = {a.asset_code: a for a in db.session.scalars(
            select(Asset).where(Asset.asset_code.like(f"{p}-%")))}
        hinted, entered = assets[f"{p}-D1"], assets[f"{p}-D2"]
        assert hinted.design_life_from_category and not entered.design_life_from_category

        def kinds(asset):
            return set(db.session.scalars(
                select(Obligation.kind).where(Obligation.asset_id == asset.id)))

        assert "design_life_assessment" not in kinds(hinted)
        assert "design_life_assessment" in kinds(entered)
