"""Importing renewal-plan items from a spreadsheet: a messy file, exact values and errors,
all-or-nothing, re-import without changes, the plan's own tenancy and state, the web
upload and the CLI."""

from __future__ import annotations

from decimal import Decimal

from openpyxl import Workbook
from sqlalchemy import select

from asset_registry.assets.models import Asset
from asset_registry.extensions import db
from asset_registry.imports.services import run_import
from asset_registry.plans.models import PlanItem, PlanItemAsset
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import scope_of

HEADERS = [
    "序号",
    "拟购设备",
    "规格",
    "台数",
    "预算单价",
    "资金渠道",
    "原资产编号",
    "更新原因",
    "计划季度",
    "年节电量",
]


def code_of(asset_id: int) -> str:
    with use_scope(Scope.system()):
        return db.session.scalar(select(Asset.asset_code).where(Asset.id == asset_id))


def plan_file(path, rows) -> str:
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "晋城市人民医院2025年设备更新计划明细表"
    ws.merge_cells("A1:J1")
    ws.append(HEADERS)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return str(path)


def items_of(plan_id: int) -> list[PlanItem]:
    with use_scope(Scope.system()):
        items = db.session.scalars(
            select(PlanItem).where(PlanItem.plan_id == plan_id).order_by(PlanItem.position)
        ).all()
        for item in items:
            item.funding_lines  # noqa: B018  (loaded while the scope is open)
        return items


def run(user, plan_id, path, **kw):
    scope = scope_of(user)
    result = run_import(scope, scope.org_id, "plan_items", path, plan_id=plan_id, **kw)
    db.session.commit()
    return result


def good_rows(old_code: str) -> list[list]:
    wide = old_code.replace("-", "－")  # full-width, as typed on a Chinese keyboard
    return [
        [
            1,
            "64排CT",
            "64排及以上",
            1,
            "¥6,800,000.00",
            "超长期特别国债",
            wide,
            "超过设计使用年限、故障频繁",
            "2025年第3季度",
            12000,
        ],
        [
            2,
            "彩色多普勒超声",
            None,
            "２",
            "128万",
            "单位自筹",
            None,
            "技术落后，能力不足",
            "2026Q1",
            None,
        ],
        [None] * 10,
        ["合计", None, None, 3, 9360000, None, None, None, None, None],
    ]


def test_a_messy_plan_file_goes_in_with_exact_values(app, tmp_path, make_plan, old_asset):
    plan_id = make_plan("rmyy", items=1)
    old = old_asset("rmyy")
    other_org = old_asset("hcxf")
    bad = [
        [3, "呼吸机", None, 1, -5, "单位自筹", None, None, None, None],
        [4, "监护仪", None, 1, 50000, "单位自筹", "NO-SUCH", None, None, None],
        [5, "麻醉机", None, 1, 50000, "单位自筹", code_of(other_org), None, None, None],
        [6, "DR", None, 1, 50000, "单位自筹", None, "太旧了", "明年", None],
        [7, "64排CT", "64排及以上", 1, 6800000, "超长期特别国债", code_of(old), None, None, None],
        [8, "除颤仪", None, 0, 30000, "单位自筹", None, None, None, None],
        [9, "输液泵", None, 1, 30000, None, None, None, None, None],
    ]
    path = plan_file(tmp_path / "计划.xlsx", good_rows(code_of(old)) + bad)
    result = run("rmyy", plan_id, path)
    assert result.unusable is None, result.unusable
    assert (result.new, result.changed, result.unchanged, result.rejected) == (2, 0, 0, 7)
    assert (result.skipped_blank, result.skipped_total) == (1, 1)
    assert not result.written and len(items_of(plan_id)) == 1  # all or nothing
    errors = [(e.row_number, e.column, e.message) for e in result.errors]
    assert (7, "预算单价", "不能为负数") in errors
    assert (8, "原资产编号", "本单位没有这个资产编号的设备") in errors
    assert (9, "原资产编号", "本单位没有这个资产编号的设备") in errors  # another org's code
    assert any(
        r == 10 and c == "更新原因" and m.startswith("无法识别的更新理由“太旧了”")
        for r, c, m in errors
    )
    assert (10, "计划季度", "计划完成时间应为某年某季度，如 2025Q3 或 2025年第3季度") in errors
    assert (11, "拟购设备", "与第 3 行是同一项设备（名称、规格和被替换设备都相同）") in errors
    # the plans domain's own rules: a quantity of 0, an item nobody pays for
    assert (12, "台数", "数量应为 1 到 100000 之间的整数。") in errors
    assert (13, "资金渠道", "请为每笔资金选择有效的资金来源。") in errors

    result = run("rmyy", plan_id, path, valid_only=True)
    assert result.written and result.new == 2
    first, ct, us = items_of(plan_id)
    assert (ct.position, us.position) == (first.position + 1, first.position + 2)
    assert (ct.equipment_name, ct.specification, ct.quantity) == ("64排CT", "64排及以上", 1)
    assert ct.unit_price == Decimal("6800000.00") and ct.total == Decimal("6800000.00")
    assert ct.replaced_asset_id == old and ct.planned_quarter == "2025Q3"
    with use_scope(Scope.system()):
        links = db.session.scalars(select(PlanItemAsset.asset_id).where(
            PlanItemAsset.item_id == ct.id)).all()
    assert links == [old]  # the chain's link, as the form would make it
    assert ct.reasons == ["past_design_life", "frequent_repairs"]
    assert ct.energy_saved_kwh == Decimal("12000")
    assert [(f.source, f.amount) for f in ct.funding_lines] == [
        ("special_bonds", Decimal("6800000.00"))
    ]
    assert (us.quantity, us.unit_price, us.total) == (
        2,
        Decimal("1280000.00"),
        Decimal("2560000.00"),
    )
    assert us.replaced_asset_id is None and us.planned_quarter == "2026Q1"
    assert us.reasons == ["obsolete", "insufficient_capacity"]
    assert [(f.source, f.amount) for f in us.funding_lines] == [
        ("self_funded", Decimal("2560000.00"))
    ]


def test_reimport_changes_nothing_and_an_edited_price_updates_in_place(
    app, tmp_path, make_plan, old_asset
):
    plan_id = make_plan("rmyy", items=0)
    rows = good_rows(code_of(old_asset("rmyy")))
    path = plan_file(tmp_path / "a.xlsx", rows)
    assert run("rmyy", plan_id, path).new == 2
    again = run("rmyy", plan_id, path)
    assert (again.new, again.changed, again.unchanged, again.written) == (0, 0, 2, True)
    rows[1][4] = "130万"
    edited = run("rmyy", plan_id, plan_file(tmp_path / "b.xlsx", rows))
    assert (edited.new, edited.changed, edited.unchanged) == (0, 1, 1)
    assert edited.changes[0]["code"] == "彩色多普勒超声"
    assert ("预算单价", "1,280,000.00", "1,300,000.00") in edited.changes[0]["changes"]
    items = items_of(plan_id)
    assert len(items) == 2 and items[1].total == Decimal("2600000.00")
    assert [(f.source, f.amount) for f in items[1].funding_lines] == [
        ("self_funded", Decimal("2600000.00"))
    ]


def test_only_an_editable_plan_of_the_own_organisation_takes_items(app, tmp_path, make_plan):
    path = plan_file(tmp_path / "a.xlsx", good_rows("X")[1:2])
    submitted = make_plan("rmyy", items=1, state="submitted")
    result = run("rmyy", submitted, path)
    assert result.unusable.startswith("所选更新计划不存在") and result.exit_code == 2
    theirs = make_plan("hcxf", items=1)
    result = run("rmyy", theirs, path)
    assert result.unusable is not None and len(items_of(theirs)) == 1


def test_upload_asks_for_the_plan_then_imports_into_it(app, login, tmp_path, make_plan):
    plan_id = make_plan("rmyy", items=0)
    client = login("rmyy")
    index = client.get("/imports/").get_data(as_text=True)
    assert f'<option value="{plan_id}">' in index and "下载更新计划明细导入模板" in index
    path = plan_file(tmp_path / "c.xlsx", good_rows("X")[1:2])

    def upload(plan):
        with open(path, "rb") as fh:
            data = {"kind": "plan_items", "plan_id": plan, "file": (fh, "计划.xlsx")}
            return client.post("/imports/", data, content_type="multipart/form-data")

    refused = upload("")
    assert refused.status_code == 400 and "请选择要导入到的更新计划" in refused.get_data(
        as_text=True
    )
    response = upload(str(plan_id))
    assert response.status_code == 302
    job_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "试运行结果" in page and items_of(plan_id) == []
    client.post(f"/imports/{job_id}/commit", {})
    assert [i.equipment_name for i in items_of(plan_id)] == ["彩色多普勒超声"]
    template = client.get("/imports/template/plan_items.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"


def test_cli_imports_plan_items(app, tmp_path, make_plan):
    plan_id = make_plan("rmyy", items=0)
    path = plan_file(tmp_path / "d.xlsx", good_rows("X")[1:2])
    runner = app.test_cli_runner()
    dry = runner.invoke(
        args=["import-plan-items", path, "--org", "rmyy", "--plan", str(plan_id), "--dry-run"]
    )
    assert dry.exit_code == 0 and "新增 1" in dry.output and items_of(plan_id) == []
    done = runner.invoke(args=["import-plan-items", path, "--org", "rmyy", "--plan", str(plan_id)])
    assert done.exit_code == 0, done.output
    assert len(items_of(plan_id)) == 1
    wrong = runner.invoke(args=["import-plan-items", path, "--org", "hcxf", "--plan", str(plan_id)])
    assert wrong.exit_code == 2
