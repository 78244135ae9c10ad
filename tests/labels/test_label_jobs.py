"""A label sheet over LABELS_INLINE_MAX labels is a background job: a progress page, then
a download link; only the member who asked can see it."""

from __future__ import annotations

import re

import pypdfium2 as pdfium
import pytest

from asset_registry.labels import jobs


@pytest.fixture
def small_inline_limit(app):
    before = app.config["LABELS_INLINE_MAX"]
    app.config["LABELS_INLINE_MAX"] = 3
    yield
    app.config["LABELS_INLINE_MAX"] = before


def test_the_default_limit_is_2000(app):
    from config import Config

    assert Config.LABELS_INLINE_MAX == 2000


def test_a_small_sheet_still_comes_back_at_once(login):
    c = login("wml")
    r = c.get("/labels/pdf?layout=roll-50x30")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")


def test_a_large_sheet_runs_in_the_background_with_progress_and_a_download(
    login, small_inline_limit
):
    c = login("rmyy")
    r = c.get("/labels/pdf?layout=roll-50x30")
    assert r.status_code == 302
    job_url = r.headers["Location"]
    job_id = int(re.search(r"/labels/jobs/(\d+)", job_url).group(1))
    page = c.get(job_url).get_data(as_text=True)
    assert "后台生成" in page
    jobs.wait(job_id)
    progress = c.get(f"/labels/jobs/{job_id}/progress").json
    assert progress["status"] == "done" and progress["percent"] == 100
    assert progress["done"] == progress["total"] > 3
    page = c.get(job_url).get_data(as_text=True)
    assert 'id="label-job-download"' in page and 'http-equiv="refresh"' not in page
    pdf = c.get(f"/labels/jobs/{job_id}/download")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert len(pdfium.PdfDocument(pdf.data)) == progress["done"]  # one label a page

    # another user, even a manager above, does not see it
    for other in ("rmyy_xj", "wjw", "hcxf"):
        stranger = login(other)
        assert stranger.get(job_url).status_code == 404
        assert stranger.get(f"/labels/jobs/{job_id}/download").status_code == 404


def test_chosen_assets_over_the_limit_also_run_in_the_background(
    login, small_inline_limit
):
    from sqlalchemy import select

    from asset_registry.assets.models import Asset
    from asset_registry.extensions import db
    from asset_registry.tenancy.scope import use_scope
    from tests.helpers import scope_of

    with use_scope(scope_of("rmyy")):
        ids = db.session.scalars(select(Asset.id).order_by(Asset.id).limit(5)).all()
    c = login("rmyy")
    r = c.post("/labels/pdf", {"layout": "a4-24", "asset_ids": [str(i) for i in ids]})
    assert r.status_code == 302
    job_id = int(r.headers["Location"].rsplit("/", 1)[1])
    jobs.wait(job_id)
    assert c.get(f"/labels/jobs/{job_id}/progress").json == {
        "status": "done", "done": 5, "total": 5, "percent": 100}
    assert len(pdfium.PdfDocument(c.get(f"/labels/jobs/{job_id}/download").data)) == 1


def test_a_job_whose_thread_died_is_reported_failed(app, login):
    """A job row left queued by a process that died (no thread will ever run it)."""
    import datetime as dt

    from sqlalchemy import select

    from asset_registry import clock
    from asset_registry.extensions import db
    from asset_registry.labels.models import LabelJob
    from asset_registry.tenancy.models import Membership, User
    from asset_registry.tenancy.scope import Scope, use_scope

    with use_scope(Scope.system()):
        membership = db.session.scalars(
            select(Membership).join(Membership.user).where(User.username == "wml")
        ).first()
        job = LabelJob(org_id=membership.org_id, membership_id=membership.id,
                       layout="a4-24", filters={}, total=5000)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    c = login("wml")
    page = c.get(f"/labels/jobs/{job_id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' in page  # young: still waited for
    with clock.frozen(clock.today() + dt.timedelta(days=2)):
        page = c.get(f"/labels/jobs/{job_id}").get_data(as_text=True)
    assert 'id="label-job-failed"' in page and 'http-equiv="refresh"' not in page
    assert c.get(f"/labels/jobs/{job_id}/progress").json["status"] == "failed"
    assert c.get(f"/labels/jobs/{job_id}/download").status_code == 404
