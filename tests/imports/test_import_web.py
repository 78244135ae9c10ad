"""Upload, dry run, commit, background jobs, bad files, round trip, CLI, isolation."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from asset_registry import clock
from asset_registry.assets.models import Asset
from asset_registry.extensions import db
from asset_registry.imports.models import ImportJob
from asset_registry.tenancy.scope import Scope, use_scope
from tests.imports.ledgers import messy_ledger, org_id, simple_ledger, unique_prefix
from tests.imports.test_import_assets import assets_like, audit_count, run


def upload(client, path, name=None, kind="assets"):
    with open(path, "rb") as fh:
        data = fh.read()
    return client.post(
        "/imports/",
        {"kind": kind, "file": (io.BytesIO(data), name or str(path).rsplit("/", 1)[-1])},
        content_type="multipart/form-data",
    )


def job_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def get_job(job_id) -> ImportJob:
    db.session.remove()
    with use_scope(Scope.system()):
        return db.session.scalars(select(ImportJob).where(ImportJob.id == job_id)).one()


def rmyy_asset_count() -> int:
    with use_scope(Scope.system()):
        return db.session.scalar(
            select(func.count()).select_from(Asset).where(Asset.org_id == org_id("rmyy"))
        )


def test_upload_dry_run_then_commit(app, login, tmp_path):
    p = unique_prefix()
    client = login("rmyy")
    job_id = job_id_of(upload(client, messy_ledger(tmp_path / "台账.xlsx", p, bad=True)))
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "试运行结果" in page and "不能是未来日期" in page and "第" not in page[:0]
    job = get_job(job_id)
    assert (job.new_count, job.rejected_count, job.written) == (5, 7, False)
    assert assets_like(p) == {}
    # all-or-nothing commit: rejected rows → nothing written
    client.post(f"/imports/{job_id}/commit", {})
    job = get_job(job_id)
    assert job.written is False and assets_like(p) == {}
    # the error report: original rows, an 错误 column, bad cells filled with a comment
    response = client.get(f"/imports/{job_id}/report.xlsx")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data)).worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[-2:] == ["错误", "原行号"] and header[1] == "*资产编号"
    first = [c for c in ws[2]]
    assert first[4].value == "2030-01-01" and first[4].fill.fgColor.rgb.endswith("FFC7CE")
    assert "不能是未来日期" in first[4].comment.text
    assert first[-1].value == 10 and "购置日期“2030-01-01”：不能是未来日期" in first[-2].value


def test_commit_valid_only(app, login, tmp_path):
    p = unique_prefix()
    client = login("rmyy")
    job_id = job_id_of(upload(client, messy_ledger(tmp_path / "台账.xlsx", p, bad=True)))
    client.post(f"/imports/{job_id}/commit", {"valid_only": "y"})
    job = get_job(job_id)
    assert job.written and not job.dry_run and len(assets_like(p)) == 5


def test_background_job_with_progress(app, login, tmp_path):
    p = unique_prefix()
    rows = [(f"{p}-{i:04d}", f"设备{i}") for i in range(60)]
    path = simple_ledger(tmp_path / "big.xlsx", rows)
    client = login("rmyy")
    app.config["IMPORT_BACKGROUND_ROWS"] = 10
    try:
        job_id = job_id_of(upload(client, path))
        assert get_job(job_id).background
        job = wait_for(client, job_id)
        assert job["status"] == "done" and job["percent"] == 100
        assert get_job(job_id).new_count == 60 and assets_like(p) == {}
        response = client.post(f"/imports/{job_id}/commit", {})
        assert response.headers["Location"].endswith(f"/imports/{job_id}")
        assert get_job(job_id).background  # the write runs in the background too
        wait_for(client, job_id)
        # once finished, the progress bar (and its script) gives way to the result
        page = client.get(f"/imports/{job_id}").get_data(as_text=True)
        assert "job-progress" not in page and "import-progress.js" not in page
    finally:
        app.config["IMPORT_BACKGROUND_ROWS"] = 2000
    assert get_job(job_id).written and len(assets_like(p)) == 60


def wait_for(client, job_id, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/imports/{job_id}/progress").get_json()
        if job["finished"]:
            return job
        time.sleep(0.1)
    raise AssertionError("import job did not finish")


def _xlsx_bytes(tmp_path) -> bytes:
    path = simple_ledger(tmp_path / "ok.xlsx", [("A1", "x")] * 50)
    with open(path, "rb") as fh:
        return fh.read()


def _bomb(path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024))


@pytest.mark.parametrize(
    "case, expected",
    [
        ("xls", "另存为 .xlsx"),
        ("renamed", "不是有效的 Excel"),
        ("truncated", "文件已损坏"),
        ("bomb", "压缩炸弹"),
        ("oversize", "文件超过"),
    ],
)
def test_bad_files_give_a_clear_message(app, login, tmp_path, case, expected):
    path = tmp_path / "台账.xlsx"
    if case == "xls":
        path = tmp_path / "台账.xls"
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4000)
    elif case == "renamed":
        path.write_text("资产编号,设备名称\nA,B\n" * 10, encoding="utf-8")
    elif case == "truncated":
        data = _xlsx_bytes(tmp_path)
        path.write_bytes(data[: len(data) // 2])
    elif case == "bomb":
        _bomb(path)
    else:
        path.write_bytes(_xlsx_bytes(tmp_path))
        app.config["IMPORT_MAX_BYTES"] = 1000
    before = rmyy_asset_count()
    client = login("rmyy")
    try:
        response = upload(client, path)
    finally:
        app.config["IMPORT_MAX_BYTES"] = 20 * 1024 * 1024
    assert response.status_code == 400
    assert expected in response.get_data(as_text=True)
    assert rmyy_asset_count() == before


def test_round_trip_two_edits(app, login, tmp_path):
    p = unique_prefix()
    run("rmyy", messy_ledger(tmp_path / "台账.xlsx", p))
    # formula-like text survives as text, neutralised in the export
    csv = tmp_path / "f.csv"
    csv.write_text(f"资产编号,设备名称\n{p}-F,=1+2\n", encoding="utf-8")
    assert run("rmyy", str(csv)).new == 1
    client = login("rmyy")
    response = client.get("/imports/export/assets.xlsx")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]][:2] == ["资产编号", "设备名称"]
    rows = {r[0].value: r for r in ws.iter_rows(min_row=3)}
    assert rows[f"{p}-F"][1].value == "'=1+2"
    rows[f"{p}-001"][1].value = "CT机（新）"
    rows[f"{p}-003"][12].value = 430000  # 资产原值
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    total = len(rows)
    ids = [a.id for a in assets_like(p).values()]
    # the export holds every rmyy asset, some registered today by other tests
    result = run("rmyy", str(edited), today=clock.today())
    assert (result.new, result.changed, result.rejected) == (0, 2, 0), result.errors[:3]
    assert result.unchanged == total - 2
    assert [c["changes"] for c in result.changes] == [
        [("设备名称", "CT机", "CT机（新）")],
        [("资产原值（元）", "420000.00", "430000.00")],
    ]
    assert audit_count(ids) == 6 + 2  # the creates and the two updates, nothing else
    assert assets_like(p)[f"{p}-F"].name == "=1+2"


def test_cli_exit_codes(app, tmp_path):
    p = unique_prefix()
    runner = app.test_cli_runner()
    good = messy_ledger(tmp_path / "good.xlsx", p)
    out = runner.invoke(args=["import-assets", good, "--org", "hcxf", "--dry-run"])
    assert out.exit_code == 0, out.output
    assert "新增 5，修改 0，未变 0，拒绝 0" in out.output and "试运行" in out.output
    out = runner.invoke(args=["import-assets", good, "--org", "hcxf"])
    assert out.exit_code == 0 and "已写入" in out.output
    bad = messy_ledger(tmp_path / "bad.xlsx", unique_prefix(), bad=True)
    report = tmp_path / "report.xlsx"
    out = runner.invoke(args=["import-assets", bad, "--org", "hcxf", "--report", str(report)])
    assert out.exit_code == 1 and "拒绝 7" in out.output and report.exists()
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    out = runner.invoke(args=["import-assets", str(xls), "--org", "hcxf"])
    assert out.exit_code == 2 and "另存为 .xlsx" in out.output
    out = runner.invoke(args=["import-assets", good, "--org", "nosuchorg"])
    assert out.exit_code == 2
    with use_scope(Scope.system()):
        orgs = set(db.session.scalars(select(Asset.org_id).where(Asset.asset_code.like(f"{p}%"))))
    assert orgs == {org_id("hcxf")}


def test_other_org_cannot_see_a_job_or_its_report(app, login, tmp_path):
    p = unique_prefix()
    client = login("rmyy")
    job_id = job_id_of(upload(client, messy_ledger(tmp_path / "台账.xlsx", p, bad=True)))
    assert client.get(f"/imports/{job_id}/report.xlsx").status_code == 200
    other = login("hcxf")
    for url in ("", "/progress", "/report.xlsx"):
        assert other.get(f"/imports/{job_id}{url}").status_code == 404
    assert other.post(f"/imports/{job_id}/commit", {}).status_code == 404
    assert login("rmyy_xj").get("/imports/").status_code == 404  # staff cannot import


def test_template_has_headers_keys_and_drop_downs(app, login):
    client = login("rmyy")
    response = client.get("/imports/template/assets.xlsx")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]][:3] == ["资产编号", "设备名称", "类别"]
    assert [c.value for c in ws[2]][:3] == ["asset_code", "name", "category"]
    assert ws.row_dimensions[2].hidden
    validations = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    assert "C3:C100000" in validations  # category
    assert wb["选项"].sheet_state == "hidden" and "填写说明" in wb.sheetnames
    options = [c.value for c in wb["选项"]["A"]]
    assert "在用" in options or any(
        c.value == "在用" for row in wb["选项"].iter_rows() for c in row
    )


def test_stale_running_job_is_requeued_and_rerun(app, login, tmp_path):
    import datetime as dt

    from asset_registry.imports import jobs

    p = unique_prefix()
    client = login("rmyy")
    job_id = job_id_of(upload(client, simple_ledger(tmp_path / "a.xlsx", [(f"{p}-1", "甲")])))
    client.post(f"/imports/{job_id}/commit", {})
    # simulate a crash mid-run: status running, data never committed, old heartbeat
    with use_scope(Scope.system()):
        job = db.session.scalars(select(ImportJob).where(ImportJob.id == job_id)).one()
        job.status, job.written, job.dry_run = "running", False, False
        job.heartbeat_at = job.started_at = dt.datetime(2020, 1, 1)
        db.session.commit()
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert 'id="rerun"' in page
    with use_scope(Scope.system()):
        assert job_id in jobs.requeue_stale()
        db.session.commit()
    jobs.start_thread(app, job_id).join(30)
    job = get_job(job_id)
    assert job.status == "done" and job.written


def test_a_crash_inside_the_import_is_a_message_not_a_500(app, login, tmp_path, monkeypatch):
    from asset_registry.imports import services

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    p = unique_prefix()
    client = login("rmyy")
    job_id = job_id_of(upload(client, simple_ledger(tmp_path / "a.xlsx", [(f"{p}-1", "甲")])))
    # mid-write: the asset batch is already with the pipelined writer
    monkeypatch.setattr(services.DefaultDuties, "plan", boom)
    response = client.post(f"/imports/{job_id}/commit", {})
    assert response.status_code == 302
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "导入过程中出错，未写入任何数据" in page and "重新运行" in page
    assert assets_like(p) == {}


def test_row_errors_read_in_the_users_language(app, login, tmp_path):
    """Stored in Chinese (the error report keeps them so); shown in English, with the
    row number or limit they carry, to a user who chose English."""
    p = unique_prefix()
    client = login("rmyy")
    job_id = job_id_of(upload(client, messy_ledger(tmp_path / "台账.xlsx", p, bad=True)))
    chinese = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "不能是未来日期" in chinese and "资产编号在文件中重复（与第 4 行相同）" in chinese
    client.post("/lang/en", {})
    english = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "Must not be a future date" in english
    assert "Asset code repeated in the file (same as row 4)" in english
    assert "The commissioning date is before the purchase date" in english
    assert "不能是未来日期" not in english and "与第 4 行相同" not in english
    # the job's stored summary is unchanged: Chinese, as the error report writes it
    assert any(e["message"] == "不能是未来日期" for e in get_job(job_id).summary["errors"])
    client.post("/lang/zh_Hans_CN", {})


def test_unknown_messages_are_shown_as_they_are(app):
    from flask_babel import force_locale

    from asset_registry.imports.messages import shown

    with app.test_request_context(), force_locale("en"):
        assert shown("长度不能超过 30 个字符") == "At most 30 characters"
        assert shown("行数超过上限 200,000 行，请拆分成多个文件后分批导入").startswith(
            "More than 200,000 rows"
        )
        assert shown("某个没有登记的提示") == "某个没有登记的提示"
        # a whole message of another domain (a plan rule) through its own catalogue entry
        assert shown("请为每笔资金选择有效的资金来源。") == (
            "Choose a valid funding source for each amount."
        )
        assert shown(None) == ""
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        assert shown("长度不能超过 30 个字符") == "长度不能超过 30 个字符"


def test_job_bookkeeping_reaches_its_row_from_its_own_transaction(app, login, tmp_path):
    """Progress and failure are written outside the job's session (and, on PostgreSQL,
    outside its row-security setting): they must still land on the job's row."""
    from asset_registry.imports import jobs

    client = login("rmyy")
    job_id = job_id_of(upload(client, simple_ledger(tmp_path / "a.xlsx", [("X-1", "甲")])))
    db.session.remove()
    jobs._set_progress(job_id, 1234)
    assert get_job(job_id).rows_done == 1234
    jobs._mark_failed(job_id, jobs.MSG_CRASHED)
    job = get_job(job_id)
    assert job.status == "failed" and job.message == jobs.MSG_CRASHED


def test_the_city_admin_teaches_the_importer_a_ledger_word(login, tmp_path):
    from asset_registry.audit.models import AuditEvent
    from asset_registry.imports.models import ImportSynonym
    from asset_registry.imports.synonyms import synonym_key, synonyms

    admin = login("admin")
    page = admin.get("/imports/synonyms?field=funding_source").get_data(as_text=True)
    assert "自筹资金" in page  # a built-in word
    assert login("rmyy").get("/imports/synonyms").status_code == 404
    word = "院内结余资金" + unique_prefix()
    assert admin.post("/imports/synonyms?field=funding_source",
                      {"text": word, "target": "self_funded"}).status_code == 302
    # the same word again, or a target that does not exist: refused
    assert admin.post("/imports/synonyms?field=funding_source",
                      {"text": word, "target": "self_funded"}).status_code == 303
    assert admin.post("/imports/synonyms?field=funding_source",
                      {"text": word + "x", "target": "no_such"}).status_code == 303
    with use_scope(Scope.system()):
        assert synonyms("funding_source")[synonym_key(word)] == "self_funded"
        row = db.session.scalars(select(ImportSynonym).where(ImportSynonym.text == word)).one()
        assert db.session.scalar(select(AuditEvent.id).where(
            AuditEvent.entity == "import_synonym", AuditEvent.entity_id == row.id))
        assert db.session.scalar(select(ImportSynonym.id).where(
            ImportSynonym.text == word + "x")) is None
        row_id = row.id
        db.session.rollback()
    # an asset import now reads the word
    p = unique_prefix()
    path = simple_ledger(tmp_path / "a.xlsx", [(f"{p}-1", "监护仪", word)],
                         headers=("资产编号", "设备名称", "资金来源"))
    result = run("rmyy", path)
    assert result.written and assets_like(p)[f"{p}-1"].funding_source == "self_funded"
    assert admin.post("/imports/synonyms?field=funding_source",
                      {"delete": str(row_id)}).status_code == 302
