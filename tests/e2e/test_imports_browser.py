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
