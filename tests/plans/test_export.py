"""The approved-items table a bureau sends upward."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from asset_registry.plans import services
from asset_registry.plans.export import safe_cell
from asset_registry.tenancy.scope import use_scope
from tests.helpers import scope_of
from tests.plans.support import item_input, user_id


def test_headers_funding_columns_and_formula_neutralised(app, login):
    scope = scope_of("rmyy")
    with use_scope(scope):
        plan = services.create_plan(scope, year=2026, title="=HYPERLINK(\"x\")导出测试",
                                    user_id=user_id("rmyy"))
        services.save_item(scope, plan, item_input(equipment_name="@SUM(A1)"))
        services.submit(scope, plan)
        from asset_registry.extensions import db

        db.session.commit()
        plan_id = plan.id
    wjw = scope_of("wjw")
    with use_scope(wjw):
        from asset_registry.extensions import db

        services.review(wjw, services.get_plan(wjw, plan_id), "approve")
        db.session.commit()
    r = login("wjw").get("/plans/export.xlsx?year=2026")
    ws = load_workbook(io.BytesIO(r.data)).active
    headers = [c.value for c in ws[2]]
    assert headers[:6] == ["序号", "单位", "项目名称", "设备名称", "数量", "总投资（元）"]
    assert "超长期特别国债" in headers and "单位自筹" in headers
    assert headers[-2:] == ["计划完成时间", "状态"]
    # other tests add approved plans too: find this one by its (neutralised) title
    row = next(
        [c.value for c in r] for r in ws.iter_rows(min_row=3)
        if str(r[2].value).startswith("'=HYPERLINK")
    )
    assert row[1] == "晋城市人民医院" and row[2].startswith("'=") and row[3] == "'@SUM(A1)"
    assert row[5] == 200000 and row[headers.index("超长期特别国债")] == 150000
    assert row[headers.index("单位自筹")] == 50000
    assert row[-2] == "2025年第3季度" and row[-1] == "已批准"


def test_safe_cell():
    assert safe_cell("-1+2") == "'-1+2" and safe_cell("+x") == "'+x" and safe_cell("ok") == "ok"
    assert safe_cell(5) == 5
