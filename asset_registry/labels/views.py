"""Label sheets as PDF: chosen assets (POST) or the filtered list (GET). Up to
LABELS_INLINE_MAX labels come back at once; a larger sheet becomes a background job
with a progress page and a download link."""

from __future__ import annotations

import io
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..assets.services import AssetFilters
from ..inputs import read_id
from ..tenancy.scope import scoped_get_or_404
from ..tenancy.services import memberships_of
from ..web import current_scope, login_required
from . import jobs, services
from .models import LabelJob, LabelJobStatus
from .render import LAYOUTS, write_labels

bp = Blueprint("labels", __name__, url_prefix="/labels")
MAX_IDS = 10_000


def _ids(values: list[str]) -> list[int]:
    return [i for i in (read_id(v) for v in values[:MAX_IDS]) if i is not None]


@bp.route("/pdf", methods=["GET", "POST"])
@login_required
def pdf():
    args = request.values
    layout = args.get("layout", "a4-24")
    if layout not in LAYOUTS:
        abort(404)
    # the first cell to print on (1 = top-left); out of the sheet starts at the top-left
    start = read_id(args.get("start"), 1) or 1
    start = start if start <= LAYOUTS[layout].per_page else 1
    scope = current_scope()
    ids, filters = None, None
    if request.method == "POST":
        ids = _ids(request.form.getlist("asset_ids"))
    else:
        filters = AssetFilters.from_args(request.args)
    total = services.count_labels(scope, asset_ids=ids, filters=filters)
    if total > current_app.config.get("LABELS_INLINE_MAX", 2000):
        job = jobs.queue(scope, g.membership, layout, total, asset_ids=ids, filters=filters,
                         start=start)
        return redirect(url_for("labels.job", job_id=job.id))
    buf = io.BytesIO()
    write_labels(
        services.labels_for(scope, asset_ids=ids, filters=filters),
        buf,
        layout,
        title=_("设备二维码标签"),
        start=start,
    )
    buf.seek(0)
    name = f"labels-{layout}-{clock.today():%Y%m%d}.pdf"
    return send_file(buf, mimetype="application/pdf", as_attachment=True, download_name=name)


def _own_job(job_id: int) -> LabelJob:
    """A job of one of the signed-in user's memberships, in scope; anyone else's is 404."""
    job = scoped_get_or_404(LabelJob, job_id)
    if job.membership_id not in {m.id for m in memberships_of(current_user)}:
        abort(404)
    jobs.fail_if_stale(job)
    return job


@bp.get("/jobs/<int:job_id>")
@login_required
def job(job_id: int):
    return render_template("labels/job.html", job=_own_job(job_id), Status=LabelJobStatus)


@bp.get("/jobs/<int:job_id>/progress")
@login_required
def progress(job_id: int):
    found = _own_job(job_id)
    return {"status": found.status, "done": found.done, "total": found.total,
            "percent": found.percent}


@bp.get("/jobs/<int:job_id>/download")
@login_required
def download(job_id: int):
    found = _own_job(job_id)
    if found.status != LabelJobStatus.DONE or not found.path or not Path(found.path).exists():
        abort(404)
    name = f"labels-{found.layout}-{found.created_at:%Y%m%d}-{found.id}.pdf"
    return send_file(found.path, mimetype="application/pdf", as_attachment=True,
                     download_name=name)
