"""Inspection pages: duties on an asset, recording (desk and phone), self-checks, the
fault log, the due list with its Excel export, compliance and renewal candidates."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..assets import services as asset_services
from ..enums import Role
from ..pagination import paginate
from ..web import EDITORS, MANAGERS, current_scope, login_required, roles_required
from . import permits as permit_services
from . import registration, rounds, rules, safety, services
from .forms import FaultForm, InspectionForm, ObligationForm, ResolveForm
from .models import PermitKind

bp = Blueprint("inspections", __name__, url_prefix="/inspections")

# Who records statutory inspections: the institution's own people (services.CERTIFYING_ROLES)
CERTIFIERS = (Role.INSTITUTION_MANAGER, Role.INSTITUTION_STAFF)


@bp.app_template_filter("localtime")
def _localtime(moment, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as the reader's clock shows it (Beijing time by default)."""
    local = clock.local(moment)
    return local.strftime(fmt) if local is not None else ""


@bp.before_app_request
def _states_of_today():
    """Every page reads safety states as of today: catch up the organisations in the
    signed-in scope whose day has not been refreshed (one small query otherwise)."""
    scope = g.get("scope")
    if request.endpoint != "static" and scope is not None and scope.org_ids != frozenset():
        safety.ensure_current(scope)


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _asset_or_404(asset_id: int):
    asset = asset_services.get_asset(current_scope(), asset_id)
    if asset is None:
        abort(404)
    return asset


def _obligation_or_404(obligation_id: int):
    obligation = services.get_obligation(current_scope(), obligation_id)
    if obligation is None:
        abort(404)
    return obligation


def _via_scan() -> bool:
    return request.values.get("via") == "scan"


def _back(asset):
    if _via_scan():
        return redirect(url_for("scan.page", token=asset.qr_token))
    return redirect(url_for("assets.detail", asset_id=asset.id) + "#inspections")


def _form_error(form, exc: services.InspectionError) -> None:
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, exc.message]
    else:
        flash(exc.message, "danger")


@bp.app_context_processor
def _panel():
    """`inspection_panel(asset)` for the partials the asset pages include."""

    def inspection_panel(asset, limit: int = 10) -> dict:
        scope = current_scope()
        today = clock.today()
        records = services.records_of(scope, asset, limit=limit)
        return {
            "obligations": services.obligations_of(scope, asset),
            "records": records,
            "attachments": services.attachments_by_record(scope, [r.id for r in records]),
            "faults": services.faults_of(scope, asset, limit=limit),
            "safety": safety.explain(asset, today),
            "restrictions": safety.restrictions(asset),
            "life_steps": registration.steps(asset, today),
            "large_equipment": permit_services.large_equipment_need(asset),
            "today": today,
            "can_record": scope.role in EDITORS,
            "can_manage": scope.role in MANAGERS,
            "certifier": scope.role in CERTIFIERS,
            "conclusion_labels": rules.CONCLUSION_LABELS,
        }

    return {"inspection_panel": inspection_panel}


# --------------------------------------------------------------------------- duties


@bp.get("/assets/<int:asset_id>")
@login_required
def asset(asset_id: int):
    return render_template("inspections/asset.html", asset=_asset_or_404(asset_id))


@bp.route("/obligations/<int:obligation_id>/edit", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def edit_obligation(obligation_id: int):
    obligation = _obligation_or_404(obligation_id)
    form = ObligationForm(obj=obligation)
    if request.method == "GET":
        form.checklist.data = "\n".join(obligation.checklist or [])
        form.critical_items.data = "\n".join(obligation.critical_items or [])
    if form.validate_on_submit():
        try:
            services.update_obligation(
                current_scope(),
                obligation,
                {
                    "interval_months": form.interval_months.data,
                    "interval_days": form.interval_days.data,
                    "lead_days": form.lead_days.data,
                    "checklist": form.checklist.data,
                    "critical_items": form.critical_items.data,
                    "active": form.active.data,
                },
            )
        except services.InspectionError as exc:
            _form_error(form, exc)
        else:
            flash(_("检验项目已更新。"), "success")
            return _back(obligation.asset)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "inspections/obligation_form.html", form=form, obligation=obligation
    ), status


@bp.route("/obligations/<int:obligation_id>/record", methods=["GET", "POST"])
@roles_required(*EDITORS)
def record(obligation_id: int):
    obligation = _obligation_or_404(obligation_id)
    if obligation.statutory and current_scope().role not in CERTIFIERS:
        abort(403)
    form = InspectionForm()
    # no conclusion is preselected: the inspector reads it off the report
    form.conclusion.choices = [("", _("— 请按报告选择 —"))] + [
        (c, rules.CONCLUSION_LABELS.get(c, c)) for c in services.conclusions_for(obligation)
    ]
    if obligation.statutory:
        for field in (form.report_no, form.agency, form.conclusion):
            field.flags.required = True
            field.render_kw = {**(field.render_kw or {}), "required": True}
    if request.method == "GET":
        form.inspected_on.data = clock.today().isoformat()
    notice = None
    if form.validate_on_submit():
        upload = form.attachment.data
        if upload is not None and not getattr(upload, "filename", ""):
            upload = None
        try:
            services.record_inspection(
                current_scope(),
                obligation,
                {
                    "inspected_on": form.inspected_on.data,
                    "inspection_type": form.inspection_type.data,
                    "agency": form.agency.data,
                    "report_no": form.report_no.data,
                    "conclusion": form.conclusion.data,
                    "safety_grade": form.safety_grade.data,
                    "next_due": form.next_due.data,
                    "problems": form.problems.data,
                    "confirm_restart": request.form.get("confirm_restart"),
                },
                user_id=_user_id(),
                method="scan" if _via_scan() else "form",
                attachment=upload,
            )
        except services.InspectionError as exc:
            if exc.field == "confirm_restart":
                notice = exc.message
            else:
                _form_error(form, exc)
        else:
            flash(_("检验记录已保存。"), "success")
            return _back(obligation.asset)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "inspections/record_form.html",
        form=form,
        obligation=obligation,
        asset=obligation.asset,
        restart_notice=notice,
        via_scan=_via_scan(),
        vessel=rules.grade_governs(obligation.kind, obligation.asset.special_code),
    ), status


@bp.post("/assets/<int:asset_id>/registration-change")
@roles_required(Role.INSTITUTION_MANAGER)
def registration_change(asset_id: int):
    asset = _asset_or_404(asset_id)
    try:
        registration.record_change(current_scope(), asset, request.form, _user_id())
    except services.InspectionError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("assets.detail", asset_id=asset.id) + "#life-steps"), 303
    flash(_("使用登记变更已记录，定期检验周期已按分类设置缩短。"), "success")
    return redirect(url_for("assets.detail", asset_id=asset.id) + "#life-steps")


@bp.route("/obligations/<int:obligation_id>/check", methods=["GET", "POST"])
@roles_required(*EDITORS)
def self_check(obligation_id: int):
    obligation = _obligation_or_404(obligation_id)
    items = obligation.checklist or []
    error = None
    if request.method == "POST":
        results = {item: request.form.get(f"item-{i}") for i, item in enumerate(items)}
        try:
            record = services.record_self_check(
                current_scope(),
                obligation,
                results,
                _user_id(),
                note=request.form.get("note"),
                method="scan" if _via_scan() else "form",
            )
        except services.InspectionError as exc:
            error = exc.message
        else:
            if record.passed:
                flash(_("自检已记录：全部正常。"), "success")
            else:
                flash(_("自检已记录：发现异常，已自动登记故障。"), "warning")
            return _back(obligation.asset)
    return render_template(
        "inspections/self_check.html",
        obligation=obligation,
        asset=obligation.asset,
        items=list(enumerate(items)),
        error=error,
        answers=request.form,
        via_scan=_via_scan(),
    ), (422 if error else 200)


# --------------------------------------------------------------------------- faults


@bp.route("/assets/<int:asset_id>/faults/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def report_fault(asset_id: int):
    asset = _asset_or_404(asset_id)
    form = FaultForm()
    if form.validate_on_submit():
        upload = form.attachment.data
        if upload is not None and not getattr(upload, "filename", ""):
            upload = None
        try:
            services.report_fault(
                current_scope(),
                asset,
                {
                    "description": form.description.data,
                    "severity": form.severity.data,
                    "downtime_hours": form.downtime_hours.data,
                    "cost": form.cost.data,
                    "stop": form.stop.data,
                    "run_on": form.run_on.data,
                    "run_on_reason": form.run_on_reason.data,
                    "major_repair": form.major_repair.data,
                },
                _user_id(),
                attachment=upload,
            )
        except services.InspectionError as exc:
            _form_error(form, exc)
        else:
            flash(_("故障已登记。"), "success")
            return _back(asset)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "inspections/fault_form.html", form=form, asset=asset, via_scan=_via_scan()
    ), status


@bp.route("/faults/<int:fault_id>/resolve", methods=["GET", "POST"])
@roles_required(*EDITORS)
def resolve_fault(fault_id: int):
    fault = services.get_fault(current_scope(), fault_id)
    if fault is None:
        abort(404)
    form = ResolveForm()
    if request.method == "GET":
        form.resolved_on.data = clock.today().isoformat()
    if form.validate_on_submit():
        try:
            services.resolve_fault(
                current_scope(),
                fault,
                {
                    "resolution": form.resolution.data,
                    "resolved_on": form.resolved_on.data,
                    "downtime_hours": form.downtime_hours.data,
                    "cost": form.cost.data,
                },
                _user_id(),
            )
        except services.InspectionError as exc:
            _form_error(form, exc)
        else:
            flash(_("故障已处理完毕。"), "success")
            return redirect(url_for("inspections.faults"))
    status = 422 if request.method == "POST" else 200
    return render_template("inspections/resolve_form.html", form=form, fault=fault), status


@bp.get("/faults")
@login_required
def faults():
    q = (request.args.get("q") or "").strip()[:100]
    open_only = request.args.get("open") == "1"
    stmt = services.fault_query(current_scope(), open_only=open_only, q=q)
    return render_template(
        "inspections/faults.html",
        page=paginate(stmt, request.args),
        q=q,
        open_only=open_only,
        can_record=current_scope().role in EDITORS,
    )


# --------------------------------------------------------------------------- lists


def _days() -> int:
    days = request.args.get("days", 30, type=int)
    return days if days in services.DUE_WINDOWS else 30


@bp.get("/due")
@login_required
def due():
    today = clock.today()
    q = (request.args.get("q") or "").strip()[:100]
    stmt = services.due_list(current_scope(), today, _days(), q=q)
    return render_template(
        "inspections/due.html",
        page=paginate(stmt, request.args),
        days=_days(),
        windows=services.DUE_WINDOWS,
        q=q,
        today=today,
    )


@bp.get("/due.xlsx")
@login_required
def due_export():
    today = clock.today()
    q = (request.args.get("q") or "").strip()[:100]
    content = services.due_list_xlsx(current_scope(), today, _days(), q=q)
    name = f"inspections-due-{_days()}d-{today.isoformat()}.xlsx"
    return Response(
        content,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


@bp.get("/compliance")
@login_required
def compliance():
    today = clock.today()
    return render_template(
        "inspections/compliance.html",
        rows=services.institution_compliance(current_scope(), today),
        missing=permit_services.missing_permits_by_org(current_scope()),
        today=today,
    )


@bp.route("/permits", methods=["GET", "POST"])
@login_required
def permits():
    scope = current_scope()
    # the institution keeps its own licences; bureaus and the city read them
    can_manage = scope.writable and scope.role == Role.INSTITUTION_MANAGER
    if request.method == "POST":
        if not can_manage:
            abort(403)
        try:
            permit_services.add_permit(scope, scope.org_id, request.form)
        except services.InspectionError as exc:
            flash(exc.message, "danger")
            return redirect(url_for(".permits")), 303
        flash(_("许可证已登记。"), "success")
        return redirect(url_for(".permits"))
    from ..tenancy.services import visible_organisations

    names = {o.id: o.name for o in visible_organisations(scope)}
    return render_template(
        "inspections/permits.html", permits=permit_services.permits_of(scope), names=names,
        kinds=PermitKind.choices(), can_manage=can_manage,
        today=clock.today(),
    )


@bp.post("/permits/<int:permit_id>/delete")
@roles_required(Role.INSTITUTION_MANAGER)
def delete_permit(permit_id: int):
    try:
        found = permit_services.delete_permit(current_scope(), permit_id)
    except services.InspectionError as exc:
        flash(exc.message, "danger")
        return redirect(url_for(".permits")), 303
    if not found:
        abort(404)
    flash(_("许可证记录已删除。"), "success")
    return redirect(url_for(".permits"))


@bp.get("/renewal")
@login_required
def renewal():
    today = clock.today()
    return render_template(
        "inspections/renewal.html",
        candidates=services.renewal_candidates(current_scope(), today, limit=100),
        today=today,
    )


@bp.get("/today")
@login_required
def today():
    """今日巡检: the round of the institution, by location; the inspector's home page."""
    day = clock.today()
    page = paginate(rounds.round_query(current_scope(), day), request.args, per_page=50)
    return render_template(
        "inspections/today.html", page=page, today=day,
        can_record=current_scope().role in EDITORS,
        certifier=current_scope().role in CERTIFIERS,
        self_checks=rules.SELF_CHECK_KINDS,
    )


@bp.get("/scanner")
@login_required
def scanner():
    if "assets.scanner" in current_app.view_functions:
        return redirect(url_for("assets.scanner"))
    abort(404)
