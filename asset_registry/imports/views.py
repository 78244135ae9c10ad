"""Upload → dry run (preview) → commit; progress for background jobs; template,
error report and exports. Thin: every decision is in services/jobs."""

from __future__ import annotations

import io
import json
import os
from urllib.parse import quote

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import clock
from ..enums import Role
from ..extensions import db
from ..pagination import paginate
from ..plans.services import editable_plans
from ..tenancy.scope import scoped_get_or_404
from ..web import MANAGERS, current_scope, login_required, roles_required
from . import jobs
from .columns import fields_for
from .export import export_assets, export_due
from .forms import CommitForm, UploadForm
from .mapping import (
    Mapping,
    MappingError,
    check_targets,
    from_json,
    mapping_choices,
    save_mapping,
    saved_mapping,
)
from .messages import shown
from .models import ImportJob, ImportKind, ImportStatus
from .reader import UnusableFile, sniff_file
from .template import template_bytes
from .undo import UndoRefused, can_undo, new_asset_ids, revert_import

bp = Blueprint("imports", __name__, url_prefix="/imports")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx(data: bytes, filename: str):
    response = send_file(
        io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=filename
    )
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def _jobs_page():
    stmt = select(ImportJob).order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
    return paginate(stmt, request.args)


def _upload_form() -> UploadForm:
    form = UploadForm()
    form.plan_id.choices = [("", _("（导入更新计划明细时选择）"))] + [
        (str(plan.id), f"{plan.year} · {plan.title}") for plan in editable_plans(current_scope())
    ]
    return form


@bp.get("/")
@roles_required(*MANAGERS)
def index():
    return render_template("imports/index.html", form=_upload_form(), page=_jobs_page())


@bp.post("/")
@roles_required(*MANAGERS)
def upload():
    form = _upload_form()
    if not form.validate_on_submit():
        return render_template("imports/index.html", form=form, page=_jobs_page()), 400
    scope = current_scope()
    plan_id = None
    if form.kind.data == ImportKind.PLAN_ITEMS:
        offered = {value for value, _label in form.plan_id.choices if value}
        if form.plan_id.data not in offered:
            form.plan_id.errors = [_("请选择要导入到的更新计划（草稿或被退回修改的计划）。")]
            return render_template("imports/index.html", form=form, page=_jobs_page()), 400
        plan_id = int(form.plan_id.data)
    upload_file = form.file.data
    filename = os.path.basename(upload_file.filename or "") or "upload"
    path, size = jobs.store_upload(scope.org_id, filename, upload_file.stream)
    try:
        sniff_file(path, filename, max_bytes=_max_bytes())
    except UnusableFile as exc:
        os.unlink(path)
        form.file.errors = [exc.message]
        return render_template("imports/index.html", form=form, page=_jobs_page()), 400
    job = ImportJob(
        org_id=scope.org_id,
        kind=form.kind.data,
        filename=filename[:255],
        stored_path=path,
        size=size,
        dry_run=True,
        user_id=current_user.id,
        plan_id=plan_id,
    )
    db.session.add(job)
    db.session.flush()
    jobs.run_or_queue(job, scope)
    return redirect(url_for("imports.show", job_id=job.id))


def _max_bytes() -> int:
    return current_app.config["IMPORT_MAX_BYTES"]


@bp.app_template_filter("import_message")
def import_message(message: str | None) -> str:
    return shown(message)


@bp.get("/<int:job_id>")
@roles_required(*MANAGERS)
def show(job_id: int):
    job = scoped_get_or_404(ImportJob, job_id)
    return render_template(
        "imports/show.html",
        job=job,
        form=CommitForm(),
        summary=job.summary or {},
        stale=jobs.is_stale(job),
        choices=mapping_choices(job.kind),
        can_undo=can_undo(job),
        new_assets=new_asset_ids(job, limit=200),
    )


def _mapping_from_form(kind: str, form) -> Mapping:
    """The mapping page's choices as a Mapping: every column's field and unit, every
    enumerated value's target (blank: leave it to the synonyms)."""
    columns: dict[str, dict] = {}
    for name, header in form.items():
        if name.startswith("header-"):
            letter = name.removeprefix("header-")
            columns[header] = {
                "field": form.get(f"field-{letter}") or None,
                "unit": form.get(f"unit-{letter}") or None,
            }
    values: dict[str, dict[str, str]] = {}
    for name, text in form.items():
        if name.startswith("text-"):
            _, key, index = name.split("-", 2)
            target = form.get(f"target-{key}-{index}")
            if target:
                values.setdefault(key, {})[text] = target
    return from_json({"columns": columns, "values": values}, kind)


@bp.post("/<int:job_id>/mapping")
@roles_required(*MANAGERS)
def remap(job_id: int):
    """Accept the mapping as edited on the job page: save it for the organisation and
    run the dry run again with it."""
    job = scoped_get_or_404(ImportJob, job_id)
    if not job.dry_run or not job.finished:
        flash(_("该导入已执行或尚未完成试运行。"), "warning")
        return redirect(url_for("imports.show", job_id=job.id))
    scope = current_scope()
    try:
        mapping = _mapping_from_form(job.kind, request.form)
        check_targets(mapping, job.kind, _sector())
    except MappingError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("imports.show", job_id=job.id))
    saved = saved_mapping(scope, job.org_id, job.kind)
    combined = saved.merged_with(mapping) if saved is not None else mapping
    save_mapping(scope, job.org_id, job.kind, combined, current_user.id)
    job.mapping = mapping.as_json()
    jobs.run_or_queue(job, scope)
    flash(_("映射已保存，下次导入时自动使用；已按新的映射重新试运行。"), "success")
    return redirect(url_for("imports.show", job_id=job.id))


def _sector() -> str | None:
    from ..tenancy.models import Organisation

    return db.session.scalars(
        select(Organisation.sector).where(Organisation.id == current_scope().org_id)
    ).first()


@bp.route("/mapping/<kind>", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def saved(kind: str):
    """The organisation's saved mapping of one import kind, edited as JSON."""
    if kind not in ImportKind.__members__.values():
        abort(404)
    scope = current_scope()
    error = None
    if request.method == "POST":
        text = request.form.get("mapping", "")
        try:
            mapping = from_json(text or "{}", kind)
            check_targets(mapping, kind, _sector())
        except MappingError as exc:
            error = exc.message
        else:
            save_mapping(scope, scope.org_id, kind, mapping, current_user.id)
            flash(_("映射已保存。"), "success")
            return redirect(url_for("imports.saved", kind=kind))
    else:
        current = saved_mapping(scope, scope.org_id, kind) or Mapping()
        text = json.dumps(current.as_json(), ensure_ascii=False, indent=2)
    return render_template(
        "imports/mapping.html",
        kind=kind,
        kind_label=ImportKind(kind).label,
        text=text,
        error=error,
        fields=fields_for(kind),
        choices=mapping_choices(kind),
    ), (400 if error else 200)


@bp.route("/synonyms", methods=["GET", "POST"])
@roles_required(Role.CITY_ADMIN)
def synonyms():
    """The ledger words every organisation's imports understand: built in, and the city
    admin's own (added and removed here)."""
    from . import synonyms as words

    scope = current_scope()
    field = request.values.get("field") or "funding_source"
    field = field if field in words.BUILT_IN else "funding_source"
    if request.method == "POST":
        try:
            if request.form.get("delete", "").isdigit():
                if not words.delete_synonym(scope, int(request.form["delete"])):
                    abort(404)
                flash(_("同义词已删除。"), "success")
            else:
                words.add_synonym(scope, field, request.form.get("text", ""),
                                  request.form.get("target", ""))
                flash(_("同义词已添加，之后的导入都会识别。"), "success")
        except words.SynonymError as exc:
            flash(exc.message, "danger")
            return redirect(url_for("imports.synonyms", field=field)), 303
        return redirect(url_for("imports.synonyms", field=field))
    labels = dict(words.targets(field))
    return render_template(
        "imports/synonyms.html", field=field, fields=words.FIELDS,
        built_in=sorted(words.BUILT_IN[field].items()), custom=[
            row for row in words.custom_synonyms() if row.field == field],
        targets=words.targets(field), labels=labels,
    )


@bp.post("/<int:job_id>/undo")
@roles_required(*MANAGERS)
def undo(job_id: int):
    job = scoped_get_or_404(ImportJob, job_id)
    try:
        done = revert_import(current_scope(), job, current_user.id)
    except UndoRefused as exc:
        flash(shown(exc.message), "danger")
        return redirect(url_for("imports.show", job_id=job.id))
    flash(
        _("已撤销：删除新增的 %(removed)s 台，恢复修改过的 %(restored)s 台。", **done), "success"
    )
    return redirect(url_for("imports.show", job_id=job.id))


@bp.get("/<int:job_id>/progress")
@roles_required(*MANAGERS)
def progress(job_id: int):
    job = scoped_get_or_404(ImportJob, job_id)
    return {
        "id": job.id,
        "status": job.status,
        "status_label": job.status_label,
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": job.percent,
        "finished": job.finished,
        "message": shown(job.message),
    }


@bp.post("/<int:job_id>/commit")
@roles_required(*MANAGERS)
def commit(job_id: int):
    job = scoped_get_or_404(ImportJob, job_id)
    form = CommitForm()
    if not form.validate_on_submit():
        abort(400)
    if job.status != ImportStatus.DONE or not job.dry_run:
        flash(_("该导入已执行或尚未完成试运行。"), "warning")
        return redirect(url_for("imports.show", job_id=job.id))
    job.dry_run = False
    job.valid_only = bool(form.valid_only.data)
    jobs.run_or_queue(job, current_scope())
    return redirect(url_for("imports.show", job_id=job.id))


@bp.post("/<int:job_id>/rerun")
@roles_required(*MANAGERS)
def rerun(job_id: int):
    """A job that crashed or was interrupted: its data was never committed, run it again."""
    job = scoped_get_or_404(ImportJob, job_id)
    rerunnable = job.status in (ImportStatus.FAILED, ImportStatus.QUEUED) or jobs.is_stale(job)
    if not rerunnable or job.written:
        abort(404)
    if not os.path.exists(job.stored_path):
        abort(404)
    jobs.run_or_queue(job, current_scope())
    return redirect(url_for("imports.show", job_id=job.id))


@bp.get("/<int:job_id>/report.xlsx")
@roles_required(*MANAGERS)
def report(job_id: int):
    job = scoped_get_or_404(ImportJob, job_id)
    if not job.error_report_path or not os.path.exists(job.error_report_path):
        abort(404)
    stem = os.path.splitext(job.filename)[0]
    with open(job.error_report_path, "rb") as fh:
        return _xlsx(fh.read(), f"{stem}-错误报告.xlsx")


@bp.get("/template/<kind>.xlsx")
@login_required
def template(kind: str):
    if kind not in ImportKind.__members__.values():
        abort(404)
    name = {
        ImportKind.ASSETS: _("设备台账导入模板"),
        ImportKind.INSPECTIONS: _("检验记录导入模板"),
        ImportKind.PLAN_ITEMS: _("更新计划明细导入模板"),
    }[ImportKind(kind)]
    return _xlsx(template_bytes(kind), f"{name}.xlsx")


@bp.get("/export/assets.xlsx")
@login_required
def export_asset_list():
    """The asset list as filtered on the list page (same query string)."""
    data = export_assets(current_scope(), request.args)
    return _xlsx(data, f"{_('设备台账')}-{clock.today().isoformat()}.xlsx")


@bp.get("/export/due.xlsx")
@login_required
def export_due_list():
    days = request.args.get("days", 30, type=int)
    data = export_due(current_scope(), clock.today(), days)
    return _xlsx(data, f"{_('检验计划')}-{clock.today().isoformat()}.xlsx")
