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
