"""Dashboards by role, each figure with its table, a server-side SVG chart and an Excel
download. Home page after sign-in."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import OperationalError

from .. import clock
from ..extensions import db
from ..plans.export import XLSX_MIMETYPE, workbook_bytes
from ..web import MANAGERS, current_scope, login_required, roles_required
from . import services

bp = Blueprint("reports", __name__, url_prefix="/dashboard")


@bp.get("/")
@login_required
def dashboard():
    board = services.dashboard(current_scope(), clock.today())
    return render_template("reports/dashboard.html", board=board, today=clock.today())


@bp.post("/refresh")
@login_required
@roles_required(*MANAGERS)
def refresh():
    """Recompute the rollups of the caller's organisations now (the daily job does all)."""
    try:
        result = services.refresh_rollups(clock.today(), current_scope())
    except OperationalError:  # e.g. SQLite busy with another refresh: nothing half-done
        db.session.rollback()
        flash(_("数据更新失败，请稍后重试。"), "danger")
    else:
        flash(_("数据已更新（用时 %(s).1f 秒）。", s=result.seconds), "success")
    return redirect(url_for("reports.dashboard"))


def _xlsx(name: str, tables) -> Response:
    data = workbook_bytes(
        (t.title, t.title + (f"（{t.note}）" if t.note else ""), t.headers,
         services.table_rows_for_export(t))
        for t in tables
    )
    return Response(
        data, mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


@bp.get("/export.xlsx")
@login_required
def export_all():
    board = services.dashboard(current_scope(), clock.today())
    return _xlsx(f"dashboard-{board.kind}.xlsx", board.tables)


@bp.get("/export/<key>.xlsx")
@login_required
def export(key: str):
    board = services.dashboard(current_scope(), clock.today())
    table = board.table(key) or abort(404)
    return _xlsx(f"dashboard-{key}.xlsx", [table])


@bp.app_template_filter("share")
def share_filter(value) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


@bp.app_template_filter("money")
def money_filter(value) -> str:
    return "—" if value is None else f"{float(value):,.2f}"


KIND_TITLES = {
    "institution": _l("本单位设备总览"),
    "bureau": _l("所辖单位总览"),
    "regulator": _l("特种设备监管总览"),
    "city": _l("全市设备更新总览"),
}


@bp.app_context_processor
def _titles():
    return {"dashboard_title": lambda kind: str(KIND_TITLES[kind])}
