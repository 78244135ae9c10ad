"""Label sheets as PDF: chosen assets (POST) or the filtered list (GET)."""

from __future__ import annotations

import io

from flask import Blueprint, abort, request, send_file
from flask_babel import gettext as _

from .. import clock
from ..assets.services import AssetFilters
from ..web import current_scope, login_required
from . import services
from .render import LAYOUTS, write_labels

bp = Blueprint("labels", __name__, url_prefix="/labels")
MAX_IDS = 10_000


def _ids(values: list[str]) -> list[int]:
    out = []
    for value in values[:MAX_IDS]:
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            continue
    return out


@bp.route("/pdf", methods=["GET", "POST"])
@login_required
def pdf():
    args = request.values
    layout = args.get("layout", "a4-24")
    if layout not in LAYOUTS:
        abort(404)
    scope = current_scope()
    if request.method == "POST":
        ids = _ids(request.form.getlist("asset_ids"))
        labels = services.labels_for(scope, asset_ids=ids)
    else:
        labels = services.labels_for(scope, filters=AssetFilters.from_args(request.args))
    buf = io.BytesIO()
    write_labels(labels, buf, layout, title=_("设备二维码标签"))
    buf.seek(0)
    name = f"labels-{layout}-{clock.today():%Y%m%d}.pdf"
    return send_file(buf, mimetype="application/pdf", as_attachment=True, download_name=name)
