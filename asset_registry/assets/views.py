"""Asset register pages, the public scan page `/a/<token>` and the in-app scanner."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..enums import Role
from ..inspections import safety
from ..inspections.safety import SafetyState
from ..web import EDITORS, MANAGERS, current_scope, login_required, roles_required
from . import services
from .forms import AssetForm, AttachmentForm, StatusForm
from .models import AssetStatus, DisposalMethod

bp = Blueprint("assets", __name__, url_prefix="/assets")
scan_bp = Blueprint("scan", __name__)

MULTI_ORG_ROLES = (Role.CITY_ADMIN, Role.BUREAU_REVIEWER, Role.REGULATOR)


@bp.record_once
def _register_scan(state) -> None:
    # The scan page lives at the site root (/a/<token>): a sibling blueprint,
    # registered together with this one.
    state.app.register_blueprint(scan_bp)


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _asset_or_404(asset_id: int):
    asset = services.get_asset(current_scope(), asset_id)
    if asset is None:
        abort(404)
    return asset


# --------------------------------------------------------------------------- list


@bp.get("/")
@login_required
def index():
    scope = current_scope()
    filters = services.AssetFilters.from_args(request.args)
    page_no = request.args.get("page", 1, type=int) or 1
    page = services.asset_page(scope, filters, page_no)
    multi_org = scope.role in MULTI_ORG_ROLES
    return render_template(
        "assets/index.html",
        page=page,
        filters=filters,
        filter_args=filters.to_args(),
        categories=services.categories(),
        statuses=AssetStatus.choices(),
        safety_states=SafetyState.choices(),
        safety_badges=safety.BADGE,
        safety_label=safety.label,
        departments=[] if multi_org else services.departments(scope),
        orgs=services.visible_orgs(scope) if multi_org else [],
        multi_org=multi_org,
        today=clock.today(),
    )


# --------------------------------------------------------------------------- form


def _category_choices(form: AssetForm) -> list:
    cats = services.categories()
    form.category_id.choices = [(0, "—")] + [(c.id, c.name) for c in cats]
    return cats


def _save(form: AssetForm, asset=None):
    scope = current_scope()
    try:
        if asset is None:
            asset = services.create_asset(scope, form.service_data(), user_id=_user_id())
            last = form.last_inspection()
            if last is not None:
                from ..inspections import services as inspections

                try:
                    inspections.record_initial_inspection(scope, asset, last, _user_id())
                except inspections.InspectionError as exc:
                    raise services.AssetError(
                        next((n for n, k in form.LAST_INSPECTION.items() if k == exc.field),
                             None), exc.message) from None
        else:
            services.update_asset(scope, asset, form.service_data(), user_id=_user_id())
    except services.AssetError as exc:
        target = getattr(form, exc.field, None) if exc.field else None
        if target is not None:
            target.errors = [*target.errors, exc.message]
        else:
            flash(exc.message, "danger")
        return None
    return asset


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def new():
    form = AssetForm()
    cats = _category_choices(form)
    if form.validate_on_submit():
        asset = _save(form)
        if asset is not None:
            flash(_("设备 %(code)s 已登记。", code=asset.asset_code), "success")
            return redirect(url_for("assets.detail", asset_id=asset.id))
    status = 422 if request.method == "POST" else 200
    return render_template("assets/form.html", form=form, asset=None, categories=cats), status


@bp.route("/<int:asset_id>/edit", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def edit(asset_id: int):
    asset = _asset_or_404(asset_id)
    form = AssetForm(obj=asset)
    if request.method == "GET":
        form.category_id.data = asset.category_id or 0
    cats = _category_choices(form)
    if form.validate_on_submit() and _save(form, asset) is not None:
        flash(_("已保存。"), "success")
        return redirect(url_for("assets.detail", asset_id=asset.id))
    status = 422 if request.method == "POST" else 200
    return render_template("assets/form.html", form=form, asset=asset, categories=cats), status


# --------------------------------------------------------------------------- detail


@bp.get("/<int:asset_id>")
@login_required
def detail(asset_id: int):
    scope = current_scope()
    asset = _asset_or_404(asset_id)
    return render_template(
        "assets/detail.html",
        asset=asset,
        figures=services.derived_figures(asset, clock.today()),
        history=services.status_history(scope, asset),
        attachments=services.attachments_of(scope, asset),
        status_form=StatusForm(to_status=asset.status),
        attachment_form=AttachmentForm(),
        can_edit=scope.role in MANAGERS,
        can_upload=scope.role in EDITORS,
        scan_url=url_for("scan.page", token=asset.qr_token, _external=False),
        DisposalMethod=DisposalMethod,
        status_labels=dict(AssetStatus.choices()),
    )


@bp.post("/<int:asset_id>/status")
@roles_required(*MANAGERS)
def status(asset_id: int):
    asset = _asset_or_404(asset_id)
    form = StatusForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(e, "danger")
        return redirect(url_for("assets.detail", asset_id=asset.id))
    try:
        services.change_status(
            current_scope(),
            asset,
            form.to_status.data,
            reason=form.reason.data,
            user_id=_user_id(),
            disposed_on=form.disposed_on.data,
            disposal_method=form.disposal_method.data or None,
            disposal_recipient=form.disposal_recipient.data,
        )
    except services.AssetError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("状态已变更为 %(s)s。", s=asset.status_label), "success")
    return redirect(url_for("assets.detail", asset_id=asset.id))


@bp.post("/<int:asset_id>/rotate-token")
@roles_required(*MANAGERS)
def rotate(asset_id: int):
    asset = _asset_or_404(asset_id)
    services.rotate_token(current_scope(), asset)
    flash(_("已生成新的二维码，旧标签已失效，请重新打印标签。"), "warning")
    return redirect(url_for("assets.detail", asset_id=asset.id))


@bp.post("/<int:asset_id>/attachments")
@roles_required(*EDITORS)
def upload(asset_id: int):
    asset = _asset_or_404(asset_id)
    form = AttachmentForm()
    if not form.validate_on_submit():
        flash(_("请选择要上传的文件。"), "danger")
        return redirect(url_for("assets.detail", asset_id=asset.id))
    storage = form.file.data
    try:
        services.add_attachment(
            current_scope(),
            asset,
            storage,
            getattr(storage, "filename", "") or "",
            form.kind.data,
            _user_id(),
        )
    except services.AssetError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("附件已上传。"), "success")
    return redirect(url_for("assets.detail", asset_id=asset.id))


@bp.get("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    found = services.open_attachment(current_scope(), attachment_id)
    if found is None:
        abort(404)
    att, path = found
    response = send_file(
        path,
        mimetype=att.content_type,
        as_attachment=att.content_type == "application/pdf"
        and request.args.get("inline") != "1",
        download_name=att.filename,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- scanner


@bp.get("/scan")
@login_required
def scanner():
    return render_template("assets/scanner.html")


@bp.get("/find")
@login_required
def find():
    """The scanner's typed fallback: the code printed on the label (asset code), the
    18-digit 设备代码 or the label token, within the user's scope."""
    code = (request.args.get("code") or "").strip()[:64]
    matches = services.find_by_code(current_scope(), code) if code else []
    if len(matches) == 1:
        return redirect(url_for("scan.page", token=matches[0].qr_token))
    if matches:
        return render_template("assets/scanner.html", matches=matches)
    return render_template("assets/scanner.html", not_found=code), 404


# --------------------------------------------------------------------------- public label


@scan_bp.get("/a/<token>")
def page(token: str):
    asset, replaced = services.asset_by_token(token)
    if asset is None:
        if replaced:
            return render_template("scan/replaced.html"), 410
        return render_template("scan/unknown.html"), 404
    mark = services.safety_mark(asset)
    scope = current_scope()
    full = None
    if current_user.is_authenticated and services.in_scope(scope, asset):
        full = services.get_asset(scope, asset.id)
    if full is None:
        return render_template("scan/public.html", mark=mark)
    return render_template(
        "scan/full.html",
        mark=mark,
        asset=full,
        figures=services.derived_figures(full, clock.today()),
        can_edit=scope.role in MANAGERS,
    )
