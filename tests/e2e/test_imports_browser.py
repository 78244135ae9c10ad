"""The import page in a real browser: upload, dry-run preview, commit, the progress
bar of a background job, the error report download."""

from __future__ import annotations

from tests.helpers import browser_login
from tests.imports.ledgers import messy_ledger, simple_ledger, unique_prefix
from tests.imports.test_import_assets import assets_like


def test_upload_preview_commit_and_error_report(page, tmp_path):
    p = unique_prefix()
    path = messy_ledger(tmp_path / "台账.xlsx", p, bad=True)
    browser_login(page, "rmyy")
    page.goto("/imports/")
    page.set_input_files("input[name=file]", path)
    page.click("#upload-submit")
    page.wait_for_selector("#job-outcome")
    assert "试运行结果" in page.inner_text("#job-outcome")
    assert page.inner_text("#errors").count("不能是未来日期") == 1
    with page.expect_download() as download:
        page.click("#error-report")
    assert download.value.suggested_filename.endswith("错误报告.xlsx")
    page.check("input[name=valid_only]")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#commit-submit")
    page.wait_for_selector("#job-outcome.alert-success")
    assert len(assets_like(p)) == 5


def test_large_file_runs_in_background_with_progress_bar(app, page, tmp_path):
    p = unique_prefix()
    rows = [(f"{p}-{i:05d}", f"设备{i}") for i in range(3000)]
    path = simple_ledger(tmp_path / "big.xlsx", rows)
    app.config["IMPORT_BACKGROUND_ROWS"] = 100
    try:
        browser_login(page, "rmyy")
        page.goto("/imports/")
        page.set_input_files("input[name=file]", path)
        page.click("#upload-submit")
        page.wait_for_selector("#job-progress-bar", state="attached")  # the job page shows it
        page.wait_for_selector("#job-outcome", timeout=60_000)  # polled, then reloaded
        assert "3000" in page.inner_text("#job-counts")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#commit-submit")
        page.wait_for_selector("#job-outcome.alert-success", timeout=60_000)
    finally:
        app.config["IMPORT_BACKGROUND_ROWS"] = 2000
    assert len(assets_like(p)) == 3000


def test_plan_items_go_into_the_chosen_plan(page, tmp_path):
    """The plan choice appears only for plan items; the rows land in that plan."""
    from sqlalchemy import select

    from asset_registry.extensions import db
    from asset_registry.plans import services
    from asset_registry.plans.models import PlanItem
    from asset_registry.tenancy.scope import Scope, use_scope
    from tests.helpers import scope_of
    from tests.plans.support import unique, user_id
    from tests.plans.test_plan_import import good_rows, plan_file

    scope = scope_of("rmyy")
    with use_scope(scope):
        plan = services.create_plan(scope, year=2026, title=unique("导入"), user_id=user_id("rmyy"))
        db.session.commit()
        plan_id = plan.id
    path = plan_file(tmp_path / "计划明细.xlsx", good_rows("X")[1:2])
    browser_login(page, "rmyy")
    page.goto("/imports/")
    plan_box = page.locator("#plan_id")
    assert not plan_box.is_visible()
    page.select_option("#kind", "plan_items")
    assert plan_box.is_visible()
    page.select_option("#plan_id", str(plan_id))
    page.set_input_files("input[name=file]", path)
    page.click("#upload-submit")
    page.wait_for_selector("#job-outcome")
    assert "试运行结果" in page.inner_text("#job-outcome")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#commit-submit")
    page.wait_for_selector("#job-outcome.alert-success")
    with use_scope(Scope.system()):
        names = db.session.scalars(
            select(PlanItem.equipment_name).where(PlanItem.plan_id == plan_id)
        ).all()
    assert names == ["彩色多普勒超声"]


def test_mapping_page_changes_one_values_target_then_undo(page, tmp_path):
    """An unrecognised status is highlighted; mapping it to 闲置 saves the mapping, the dry
    run runs again and the preview shows the value as it will be stored; after the
    commit the job's page undoes it."""
    p = unique_prefix()
    path = simple_ledger(
        tmp_path / "状态.xlsx",
        [(f"{p}-1", "跑步机", "停机"), (f"{p}-2", "划船机", "使用中")],
        headers=("资产编号", "设备名称", "使用状况"),
    )
    browser_login(page, "tyc")
    page.goto("/imports/")
    page.set_input_files("input[name=file]", path)
    page.click("#upload-submit")
    page.wait_for_selector("#mapping-form")
    unknown = page.locator("#mapping-form tr[data-value='停机']")
    assert unknown.get_attribute("data-unrecognised") is not None
    assert "未识别" in unknown.inner_text()
    assert "在用" in page.locator("#mapping-form tr[data-value='使用中'] select").inner_text()
    assert page.locator("#job-counts [data-count='4']").inner_text() == "1"  # rejected
    unknown.locator("select").select_option(label="闲置")
    page.click("#mapping-submit")
    page.wait_for_selector("#job-outcome")
    assert "映射已保存" in page.content()
    assert page.locator("#mapping-form tr[data-value='停机']").get_attribute(
        "data-unrecognised"
    ) is None
    assert page.locator("#job-counts [data-count='4']").inner_text() == "0"
    assert "闲置" in page.inner_text("#preview")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#commit-submit")
    page.wait_for_selector("#job-outcome.alert-success")
    assert assets_like(p)[f"{p}-1"].status == "idle"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#undo-submit")
    page.wait_for_selector("text=本次导入已撤销")
    assert assets_like(p) == {}
