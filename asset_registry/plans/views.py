"""Renewal plan pages: list, drafting, review queue, completion, export. Thin: parse,
call a service, render. A refused action rolls the session back before the message,
so nothing half-done is committed."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
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
from ..extensions import db
from ..pagination import paginate
from ..web import current_scope, login_required, roles_required
from . import services
from .export import XLSX_MIMETYPE, approved_items_xlsx
from .forms import FUNDING_CHOICES, BaselineForm, CompletionForm, ItemForm, PlanForm, ReviewForm
from .models import ItemDecision, PlanStatus

bp = Blueprint("plans", __name__, url_prefix="/plans")

PLAN_ROLES = (
    Role.CITY_ADMIN, Role.BUREAU_REVIEWER, Role.INSTITUTION_MANAGER, Role.INSTITUTION_STAFF,
)


def _plan_or_404(plan_id: int):
    return services.get_plan(current_scope(), plan_id) or abort(404)


def _refused(exc: services.PlanError) -> None:
    db.session.rollback()
    flash(str(exc), "danger")


def _filters_context(filters):
    return {
        "filters": filters,
        "orgs": services.plan_orgs(current_scope()),
        "statuses": PlanStatus.choices(),
        "years": range(clock.today().year + 2, 2022, -1),
    }


@bp.get("/")
@roles_required(*PLAN_ROLES)
def index():
    scope = current_scope()
    filters = services.PlanFilters.from_args(request.args)
    page = paginate(services.plan_query(scope, filters), request.args, scalars=False)
    return render_template(
        "plans/index.html", page=page, totals=services.plan_totals(scope, filters),
        can_edit=services.can_edit(scope), **_filters_context(filters),
    )


@bp.get("/queue")
@roles_required(Role.BUREAU_REVIEWER, Role.CITY_ADMIN)
def queue():
    scope = current_scope()
    filters = services.PlanFilters.from_args(request.args, default_status=PlanStatus.SUBMITTED)
    page = paginate(services.plan_query(scope, filters), request.args, scalars=False)
    return render_template(
        "plans/queue.html", page=page, totals=services.plan_totals(scope, filters),
        **_filters_context(filters),
    )


@bp.get("/export.xlsx")
@roles_required(*PLAN_ROLES)
def export():
    filters = services.PlanFilters.from_args(request.args)
    data = approved_items_xlsx(current_scope(), filters)
    name = f"renewal-items-{filters.year or 'all'}.xlsx"
    return Response(
        data, mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.INSTITUTION_MANAGER, Role.CITY_ADMIN)
def new():
    form = PlanForm()
    if request.method == "GET":
        form.year.data = clock.today().year
    if form.validate_on_submit():
        try:
            plan = services.create_plan(
                current_scope(), year=form.year.data, title=form.title.data,
                notes=form.notes.data, user_id=current_user.id,
            )
        except services.PlanError as exc:
            _refused(exc)
        else:
            flash(_("计划已创建，请添加项目。"), "success")
            return redirect(url_for("plans.show", plan_id=plan.id))
    return render_template("plans/plan_form.html", form=form, plan=None)


@bp.route("/<int:plan_id>/edit", methods=["GET", "POST"])
@roles_required(Role.INSTITUTION_MANAGER, Role.CITY_ADMIN)
def edit(plan_id: int):
    plan = _plan_or_404(plan_id)
    form = PlanForm(obj=plan)
    if form.validate_on_submit():
        try:
            services.update_plan(
                current_scope(), plan, year=form.year.data, title=form.title.data,
                notes=form.notes.data,
            )
        except services.PlanError as exc:
            _refused(exc)
        else:
            flash(_("计划已保存。"), "success")
            return redirect(url_for("plans.show", plan_id=plan_id))
    return render_template("plans/plan_form.html", form=form, plan=plan)


@bp.get("/<int:plan_id>")
@roles_required(*PLAN_ROLES)
def show(plan_id: int):
    scope = current_scope()
    plan = _plan_or_404(plan_id)
    services.mark_review_started(scope, plan)
    attachments: dict = {}
    for att in services.plan_attachments(scope, plan):
        attachments.setdefault(att.item_id, []).append(att)
    return render_template(
        "plans/show.html", plan=plan, events=services.review_events(scope, plan),
        revisions=services.revisions(scope, plan), review_form=ReviewForm(),
        can_edit=services.can_edit(scope), can_review=services.can_review(scope),
        revisable=services.REVISABLE, PlanStatus=PlanStatus, ItemDecision=ItemDecision,
        diff=services.plan_diff(plan), attachments=attachments,
        latest=services.latest_review_comment(scope, plan),
    )


@bp.post("/<int:plan_id>/withdraw")
@roles_required(Role.INSTITUTION_MANAGER, Role.CITY_ADMIN)
def withdraw(plan_id: int):
    return _action(
        plan_id,
        lambda plan: services.withdraw(current_scope(), plan, user_id=current_user.id),
        _("已撤回，计划可以修改后再提交。"),
    )


@bp.post("/<int:plan_id>/attachments")
@roles_required(Role.INSTITUTION_MANAGER, Role.CITY_ADMIN)
def attachment_add(plan_id: int):
    def add(plan):
        item = None
        item_id = request.form.get("item_id", "")
        if item_id.isdigit():
            item = services.get_item(current_scope(), plan, int(item_id)) or abort(404)
        upload = request.files.get("file")
        services.add_plan_attachment(
            current_scope(), plan, upload, upload.filename if upload else "", item=item,
            user_id=current_user.id,
        )

    return _action(plan_id, add, _("附件已上传。"))


@bp.get("/<int:plan_id>/attachments/<int:attachment_id>")
@roles_required(*PLAN_ROLES)
def attachment(plan_id: int, attachment_id: int):
    plan = _plan_or_404(plan_id)
    att = services.get_plan_attachment(current_scope(), plan, attachment_id) or abort(404)
    path = services.attachment_path(att) or abort(404)
    return send_file(
        path, mimetype=att.content_type, download_name=att.filename,
        as_attachment=att.content_type == "application/pdf",
    )


@bp.post("/<int:plan_id>/attachments/<int:attachment_id>/delete")
@roles_required(Role.INSTITUTION_MANAGER, Role.CITY_ADMIN)
def attachment_delete(plan_id: int, attachment_id: int):
    def delete(plan):
        att = services.get_plan_attachment(current_scope(), plan, attachment_id) or abort(404)
        services.delete_plan_attachment(current_scope(), plan, att)

    return _action(plan_id, delete, _("附件已删除。"))


@bp.get("/<int:plan_id>/assets.json")
@roles_required(Role.INSTITUTION_MANAGER, Role.CITY_ADMIN)
def asset_search(plan_id: int):
    """The replaced-asset picker's search: the plan institution's assets, a page at a time."""
    plan = _plan_or_404(plan_id)
    found = services.search_assets(
        current_scope(), plan, request.args.get("q"), request.args.get("page", 1, type=int) or 1
    )
    return jsonify(
        items=[
            {"id": a.id, "code": a.asset_code, "name": a.name, "location": a.location or ""}
            for a in found["items"]
        ],
        page=found["page"], has_more=found["has_more"],
    )


def _item_input(form) -> services.ItemInput:
    sources = request.form.getlist("funding_source")
    amounts = request.form.getlist("funding_amount")
    replaced = request.form.get("replaced_asset_id", "")
    several = [v for v in request.form.getlist("replaced_asset_ids") if v.isdigit()]
    return services.ItemInput(
        equipment_name=form.equipment_name.data, specification=form.specification.data,
        quantity=form.quantity.data, unit_price=form.unit_price.data,
        reasons=form.reasons.data or [], planned_quarter=form.planned_quarter.data,
        energy_saved_kwh=form.energy_saved_kwh.data, capacity_effect=form.capacity_effect.data,
        replaced_asset_id=int(replaced) if replaced.isdigit() else None,
        replaced_asset_ids=[int(v) for v in several],
        funding=list(zip(sources, amounts, strict=False)),
    )


def _item_form(plan, item):
    scope = current_scope()
    form = ItemForm(obj=item, year=plan.year)
    funding = [(line.source, str(line.amount)) for line in item.funding_lines] if item else []
    selected = [a.id for a in item.replaced_assets] if item else []
    if request.method == "GET" and not plan.editable:
        flash(_("计划处于“%(s)s”状态，已冻结，不能直接修改；如需修改请创建新版本。",
                s=plan.status_label), "warning")
        return redirect(url_for("plans.show", plan_id=plan.id))
    if request.method == "POST":
        data = _item_input(form)
        funding = [tuple(row) for row in data.funding]
        selected = [i for i in [data.replaced_asset_id, *data.replaced_asset_ids] if i]
        if form.validate_on_submit():
            try:
                services.save_item(scope, plan, data, item)
            except services.PlanError as exc:
                _refused(exc)
                plan = _plan_or_404(plan.id)
            else:
                flash(_("项目已保存。"), "success")
                return redirect(url_for("plans.show", plan_id=plan.id))
    elif item is None and request.args.get("asset_id", type=int):
        selected = [request.args.get("asset_id", type=int)]
    candidates = services.replacement_candidates(scope, plan)
    shown = {c.asset.id for c in candidates}
    for asset_id in reversed(selected):
        if asset_id not in shown:
            extra = services.candidate_for(scope, asset_id)
            if extra is not None:
                candidates.insert(0, extra)
    rows = funding + [("", "")] * max(0, 2 - len(funding))
    return render_template(
        "plans/item_form.html", plan=plan, item=item, form=form, candidates=candidates,
        selected=selected, funding_rows=rows, funding_choices=FUNDING_CHOICES,
    )


@bp.route("/<int:plan_id>/items/new", methods=["GET", "POST"])
@roles_required(Role.INSTITUTION_MANAGER, Role.CITY_ADMIN)
def item_new(plan_id: int):
    return _item_form(_plan_or_404(plan_id), None)


@bp.route("/<int:plan_id>/items/<int:item_id>/edit", methods=["GET", "POST"])
@roles_required(Role.INSTITUTION_MANAGER, Role.CITY_ADMIN)
def item_edit(plan_id: int, item_id: int):
    plan = _plan_or_404(plan_id)
    item = services.get_item(current_scope(), plan, item_id) or abort(404)
    return _item_form(plan, item)


def _action(plan_id: int, fn, success: str):
    plan = _plan_or_404(plan_id)
    try:
        result = fn(plan)
    except services.PlanError as exc:
        _refused(exc)
        return redirect(url_for("plans.show", plan_id=plan_id))
    flash(success, "success")
    target = result.id if getattr(result, "__tablename__", "") == "renewal_plan" else plan_id
    return redirect(url_for("plans.show", plan_id=target))


@bp.post("/<int:plan_id>/items/<int:item_id>/delete")
@roles_required(Role.INSTITUTION_MANAGER, Role.CITY_ADMIN)
def item_delete(plan_id: int, item_id: int):
    def delete(plan):
        item = services.get_item(current_scope(), plan, item_id) or abort(404)
        services.delete_item(current_scope(), plan, item)

    return _action(plan_id, delete, _("项目已删除。"))


@bp.post("/<int:plan_id>/submit")
@roles_required(Role.INSTITUTION_MANAGER, Role.CITY_ADMIN)
def submit(plan_id: int):
    return _action(
        plan_id,
        lambda plan: services.submit(
            current_scope(), plan, user_id=current_user.id, comment=request.form.get("comment")
        ),
        _("计划已提交主管部门审核。"),
    )


@bp.post("/<int:plan_id>/review")
@roles_required(Role.BUREAU_REVIEWER, Role.CITY_ADMIN)
def review(plan_id: int):
    action = request.form.get("action", "")
    if action == "decide":
        return _decide(plan_id)
    messages = {
        "approve": _("计划已批准。"), "return": _("计划已退回。"), "reject": _("计划未予通过。"),
    }
    return _action(
        plan_id,
        lambda plan: services.review(
            current_scope(), plan, action, comment=request.form.get("comment"),
            user_id=current_user.id,
        ),
        messages.get(action, ""),
    )


def _decide(plan_id: int):
    """Item by item: `decision-<item id>` (approved | returned) and `note-<item id>`."""
    decisions = {}
    for key, value in request.form.items():
        if key.startswith("decision-") and key[9:].isdigit():
            decisions[int(key[9:])] = (value, request.form.get(f"note-{key[9:]}"))

    def decide(plan):
        event = services.decide_items(
            current_scope(), plan, decisions, comment=request.form.get("comment"),
            user_id=current_user.id,
        )
        flash(_("计划已批准。") if event.to_status == PlanStatus.APPROVED
              else _("部分项目已退回单位修改。"), "success")

    plan = _plan_or_404(plan_id)
    try:
        decide(plan)
    except services.PlanError as exc:
        _refused(exc)
    return redirect(url_for("plans.show", plan_id=plan_id))


@bp.app_template_filter("wan")
def _wan(value) -> str:
    return services.wan(value)


@bp.app_template_filter("yuan")
def _yuan(value) -> str:
    return services.money(value)


@bp.post("/<int:plan_id>/procure")
@roles_required(Role.INSTITUTION_MANAGER, Role.CITY_ADMIN)
def procure(plan_id: int):
    return _action(
        plan_id,
        lambda plan: services.start_procurement(current_scope(), plan, user_id=current_user.id),
        _("计划已进入采购阶段。"),
    )


@bp.post("/<int:plan_id>/revise")
@roles_required(Role.INSTITUTION_MANAGER, Role.CITY_ADMIN)
def revise(plan_id: int):
    return _action(
        plan_id,
        lambda plan: services.new_revision(current_scope(), plan, user_id=current_user.id),
        _("已创建新版本，可以修改后重新提交。"),
    )


@bp.route("/<int:plan_id>/items/<int:item_id>/complete", methods=["GET", "POST"])
@roles_required(Role.INSTITUTION_MANAGER, Role.CITY_ADMIN)
def complete(plan_id: int, item_id: int):
    from ..assets.services import categories

    scope = current_scope()
    plan = _plan_or_404(plan_id)
    item = services.get_item(scope, plan, item_id) or abort(404)
    form = CompletionForm()
    form.category_id.choices = [(0, _("与被替换设备相同"))] + [
        (c.id, c.name) for c in categories()
    ]
    if request.method == "GET":
        form.completed_on.data = clock.today()
        form.actual_price.data = str(item.total)
    if form.validate_on_submit():
        data = services.CompletionInput(
            actual_price=form.actual_price.data, supplier=form.supplier.data,
            completed_on=form.completed_on.data, new_asset_code=form.new_asset_code.data,
            category_id=form.category_id.data or None,
            disposal_method=form.disposal_method.data,
            disposal_recipient=form.disposal_recipient.data,
        )
        try:
            services.complete_item(scope, item, data, user_id=current_user.id)
        except services.PlanError as exc:
            _refused(exc)
            plan = _plan_or_404(plan_id)
            item = services.get_item(scope, plan, item_id)
        else:
            flash(_("已登记完成：新设备已入账，旧设备已处置。"), "success")
            return redirect(url_for("plans.show", plan_id=plan_id))
    elif form.errors:
        flash(_("请检查填写的内容。"), "danger")
    return render_template("plans/complete.html", plan=plan, item=item, form=form)


@bp.route("/baselines", methods=["GET", "POST"])
@roles_required(Role.BUREAU_REVIEWER, Role.CITY_ADMIN)
def baselines():
    scope = current_scope()
    form = BaselineForm()
    if form.validate_on_submit():
        try:
            services.set_baseline(
                scope, request.form.get("org_id", type=int) or 0, form.amount.data,
                target_increase_pct=form.target_increase_pct.data,
            )
        except services.PlanError as exc:
            _refused(exc)
        else:
            flash(_("基准数据已保存。"), "success")
            return redirect(url_for("plans.baselines"))
    bureaus = services.plan_orgs(scope, "bureau")
    return render_template(
        "plans/baselines.html", form=form, rows=services.baselines(scope), bureaus=bureaus,
    )


@bp.app_context_processor
def _chain_helper():
    """`plan_chain(asset)` for templates/plans/_asset_chain.html, included on the asset page."""
    return {"plan_chain": lambda asset: services.asset_chain(current_scope(), asset)}


@bp.get("/asset/<int:asset_id>/chain")
@login_required
def chain(asset_id: int):
    """The 以旧换新 chain of one asset, as a fragment (for the asset page)."""
    from ..assets.services import get_asset

    asset = get_asset(current_scope(), asset_id) or abort(404)
    return render_template("plans/_asset_chain.html", asset=asset)
