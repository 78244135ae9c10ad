"""Pages of the programme loop: reserve, task lists, dispatch rounds, 专报. Thin: parse,
call a service, render. A refused action rolls back before its message, so nothing
half-done is committed."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..assets.models import FundingSource
from ..enums import Role, Sector
from ..extensions import db
from ..pagination import paginate
from ..plans import services as plans_services
from ..plans.export import XLSX_MIMETYPE
from ..web import current_scope, roles_required
from . import figures, projects
from . import reports as reports_service
from . import rounds as rounds_service
from . import tasks as tasks_service
from .common import ProgrammeError, is_lead
from .export import reserve_xlsx
from .models import ProjectState, Readiness, TaskMetric

bp = Blueprint("programme", __name__, url_prefix="/programme")

LEADS = (Role.BUREAU_REVIEWER, Role.CITY_ADMIN)
INSTITUTIONS = (Role.INSTITUTION_MANAGER, Role.INSTITUTION_STAFF)
EVERYONE = (*LEADS, *INSTITUTIONS)


def _refused(exc: ProgrammeError) -> None:
    db.session.rollback()
    flash(str(exc), "danger")


@bp.get("/")
@roles_required(*EVERYONE)
def index():
    """The loop's hub: a lead sees its reserve, tasks, rounds and reports; an institution
    its items' application state and its round reports."""
    if is_lead(current_scope()):
        return redirect(url_for("programme.reserve"))
    return redirect(url_for("programme.my_items"))


# --------------------------------------------------------------------------- reserve


@bp.get("/reserve")
@roles_required(*LEADS)
def reserve():
    scope = current_scope()
    filters = projects.ReserveFilters.from_args(request.args)
    page = paginate(projects.reserve_query(scope, filters), request.args, scalars=False)
    return render_template(
        "programme/reserve.html", page=page, filters=filters,
        totals=projects.totals_by_channel(scope, filters), channels=FundingSource.choices(),
        states=ProjectState.choices(), sectors=Sector.choices(),
    )


@bp.get("/reserve.xlsx")
@roles_required(*LEADS)
def reserve_export():
    data = reserve_xlsx(current_scope(), projects.ReserveFilters.from_args(request.args))
    return Response(
        data, mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": "attachment; filename=project-reserve.xlsx"},
    )


def _project_input() -> projects.ProjectInput:
    form = request.form
    return projects.ProjectInput(
        name=form.get("name", ""), applicant=form.get("applicant", ""),
        channel=form.get("channel", ""), readiness=form.get("readiness", ""),
        period_start=form.get("period_start", ""), period_end=form.get("period_end", ""),
        other_investment=form.get("other_investment", "0"), notes=form.get("notes", ""),
        item_ids=form.getlist("item_id"),
        asks={s.value: form.get(f"ask_{s.value}", "") for s in FundingSource},
    )


def _project_form(project):
    scope = current_scope()
    data = None
    if request.method == "POST":
        data = _project_input()
        try:
            if project is None:
                project = projects.create_project(scope, data, user_id=current_user.id)
            else:
                projects.update_project(scope, project, data)
        except ProgrammeError as exc:
            _refused(exc)
            if project is not None:
                project = projects.get_project(scope, project.id)
        else:
            flash(_("储备项目已保存。"), "success")
            return redirect(url_for("programme.project", project_id=project.id))
    elif project is not None:
        data = projects.ProjectInput(
            name=project.name, applicant=project.applicant, channel=project.channel,
            readiness=project.readiness,
            period_start=project.period_start.isoformat() if project.period_start else "",
            period_end=project.period_end.isoformat() if project.period_end else "",
            other_investment=str(project.other_investment), notes=project.notes or "",
            item_ids=[item.id for item, *_r in projects.project_items(scope, project)],
            asks={a.source: str(a.amount) for a in project.asks},
        )
    data = data or projects.ProjectInput()
    return render_template(
        "programme/project_form.html", project=project, data=data,
        chosen={int(i) for i in data.item_ids if str(i).isdigit()},
        items=projects.available_items(scope, project), channels=FundingSource.choices(),
        readiness=Readiness.choices(), sources=list(FundingSource),
    )


@bp.route("/projects/new", methods=["GET", "POST"])
@roles_required(*LEADS)
def project_new():
    return _project_form(None)


def _project_or_404(project_id: int):
    return projects.get_project(current_scope(), project_id) or abort(404)


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@roles_required(*LEADS)
def project_edit(project_id: int):
    return _project_form(_project_or_404(project_id))


@bp.get("/projects/<int:project_id>")
@roles_required(*LEADS)
def project(project_id: int):
    scope = current_scope()
    found = _project_or_404(project_id)
    return render_template(
        "programme/project.html", project=found, items=projects.project_items(scope, found),
        equipment=projects.equipment_total(found), next_states=[
            s for s in ProjectState if s in projects.TRANSITIONS[ProjectState(found.state)]
        ], channels=FundingSource.choices(), ProjectState=ProjectState,
    )


@bp.post("/projects/<int:project_id>/state")
@roles_required(*LEADS)
def project_state(project_id: int):
    found = _project_or_404(project_id)
    try:
        projects.move_project(current_scope(), found, request.form.get("to", ""), request.form)
    except ProgrammeError as exc:
        _refused(exc)
    else:
        flash(_("项目状态已更新为“%(s)s”。", s=found.state_label), "success")
    return redirect(url_for("programme.project", project_id=project_id))


@bp.post("/projects/<int:project_id>/delete")
@roles_required(*LEADS)
def project_delete(project_id: int):
    try:
        projects.delete_project(current_scope(), _project_or_404(project_id))
    except ProgrammeError as exc:
        _refused(exc)
        return redirect(url_for("programme.project", project_id=project_id))
    flash(_("储备项目已删除。"), "success")
    return redirect(url_for("programme.reserve"))


@bp.get("/my-items")
@roles_required(*INSTITUTIONS)
def my_items():
    return render_template(
        "programme/my_items.html", rows=projects.institution_items(current_scope())
    )


# --------------------------------------------------------------------------- task lists


def _year_arg() -> int | None:
    value = request.args.get("year", "")
    return int(value) if value.isdigit() else None


@bp.get("/tasks")
@roles_required(*LEADS)
def tasks():
    scope = current_scope()
    year = _year_arg()
    org_id = request.args.get("org_id", type=int)
    page = paginate(tasks_service.task_query(scope, year, org_id), request.args, scalars=False)
    shown = [task for task, _name in page.items]
    return render_template(
        "programme/tasks.html", page=page, year=year, org_id=org_id,
        progress=tasks_service.progress(scope, shown, clock.today()),
        bureaus=plans_services.plan_orgs(scope, "bureau"), metrics=TaskMetric.choices(),
        years=range(clock.today().year + 2, 2022, -1), data={},
    )


@bp.post("/tasks/new")
@roles_required(*LEADS)
def task_new():
    try:
        tasks_service.save_task(current_scope(), request.form)
    except ProgrammeError as exc:
        _refused(exc)
    else:
        flash(_("任务已保存。"), "success")
    return redirect(url_for("programme.tasks", year=request.form.get("year")))


@bp.route("/tasks/<int:task_id>/edit", methods=["GET", "POST"])
@roles_required(*LEADS)
def task_edit(task_id: int):
    scope = current_scope()
    task = tasks_service.get_task(scope, task_id) or abort(404)
    if request.method == "POST":
        try:
            tasks_service.save_task(scope, request.form, task)
        except ProgrammeError as exc:
            _refused(exc)
            task = tasks_service.get_task(scope, task_id)
        else:
            flash(_("任务已保存。"), "success")
            return redirect(url_for("programme.tasks", year=task.year))
    return render_template("programme/task_form.html", task=task, metrics=TaskMetric.choices())


@bp.post("/tasks/<int:task_id>/delete")
@roles_required(*LEADS)
def task_delete(task_id: int):
    scope = current_scope()
    task = tasks_service.get_task(scope, task_id) or abort(404)
    year = task.year
    try:
        tasks_service.delete_task(scope, task)
    except ProgrammeError as exc:
        _refused(exc)
    else:
        flash(_("任务已删除。"), "success")
    return redirect(url_for("programme.tasks", year=year))


# --------------------------------------------------------------------------- rounds


@bp.get("/rounds")
@roles_required(*LEADS)
def rounds():
    scope = current_scope()
    page = paginate(rounds_service.round_query(scope), request.args, scalars=False)
    return render_template("programme/rounds.html", page=page, today=clock.today())


@bp.post("/rounds/new")
@roles_required(*LEADS)
def round_new():
    try:
        found = rounds_service.open_round(current_scope(), request.form, user_id=current_user.id)
    except ProgrammeError as exc:
        _refused(exc)
        return redirect(url_for("programme.rounds"))
    flash(_("调度已发起，已通知各单位填报。"), "success")
    return redirect(url_for("programme.round_detail", round_id=found.id))


def _round_or_404(round_id: int):
    return rounds_service.get_round(current_scope(), round_id) or abort(404)


@bp.get("/rounds/<int:round_id>")
@roles_required(*LEADS)
def round_detail(round_id: int):
    scope = current_scope()
    found = _round_or_404(round_id)
    today = clock.today()
    rows = [
        (report, name, rounds_service.is_late(report, found, today))
        for report, name in rounds_service.round_reports(scope, found)
    ]
    return render_template(
        "programme/round.html", round=found, rows=rows,
        issued=reports_service.report_of_round(scope, found),
    )


@bp.post("/rounds/<int:round_id>/close")
@roles_required(*LEADS)
def round_close(round_id: int):
    try:
        rounds_service.close_round(current_scope(), _round_or_404(round_id))
    except ProgrammeError as exc:
        _refused(exc)
    else:
        flash(_("本轮调度已结束。"), "success")
    return redirect(url_for("programme.round_detail", round_id=round_id))


@bp.get("/my-reports")
@roles_required(*INSTITUTIONS)
def my_reports():
    return render_template(
        "programme/my_reports.html", rows=rounds_service.my_reports(current_scope()),
        today=clock.today(), is_late=rounds_service.is_late,
    )


@bp.route("/my-reports/<int:report_id>", methods=["GET", "POST"])
@roles_required(*INSTITUTIONS)
def my_report(report_id: int):
    scope = current_scope()
    report = rounds_service.get_report(scope, report_id) or abort(404)
    found = rounds_service.rounds_of_reports([report]).get(report.round_id) or abort(404)
    form = request.form if request.method == "POST" else {}
    if request.method == "POST":
        try:
            rounds_service.submit_report(scope, report, request.form, user_id=current_user.id)
        except ProgrammeError as exc:
            _refused(exc)
            report = rounds_service.get_report(scope, report_id)
        else:
            flash(_("调度情况已填报。"), "success")
            return redirect(url_for("programme.my_report", report_id=report_id))
    return render_template(
        "programme/my_report.html", report=report, round=found, form=form,
        prefill=rounds_service.prefill(scope, report, found),
        can_submit=found.is_open and scope.role == Role.INSTITUTION_MANAGER,
    )


# --------------------------------------------------------------------------- 专报


@bp.get("/reports")
@roles_required(*LEADS)
def reports():
    page = paginate(reports_service.report_query(current_scope()), request.args, scalars=False)
    return render_template("programme/reports.html", page=page)


@bp.post("/rounds/<int:round_id>/report")
@roles_required(*LEADS)
def report_new(round_id: int):
    try:
        issued = reports_service.issue(current_scope(), _round_or_404(round_id),
                                       user_id=current_user.id)
    except ProgrammeError as exc:
        _refused(exc)
        return redirect(url_for("programme.round_detail", round_id=round_id))
    flash(_("专报已生成：%(n)s", n=issued.number), "success")
    return redirect(url_for("programme.report_detail", report_id=issued.id))


def _report_or_404(report_id: int):
    return reports_service.get_report(current_scope(), report_id) or abort(404)


@bp.get("/reports/<int:report_id>")
@roles_required(*LEADS)
def report_detail(report_id: int):
    return render_template("programme/report.html", report=_report_or_404(report_id))


@bp.get("/reports/<int:report_id>.<any(docx, pdf):kind>")
@roles_required(*LEADS)
def report_file(report_id: int, kind: str):
    report = _report_or_404(report_id)
    mimetypes = {
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "pdf": "application/pdf",
    }
    return Response(
        report.docx if kind == "docx" else report.pdf, mimetype=mimetypes[kind],
        headers={"Content-Disposition":
                 f"attachment; filename=programme-report-{report.year}-{report.seq}.{kind}"},
    )


# --------------------------------------------------------------------------- target truth


@bp.get("/investment")
@roles_required(*LEADS)
def investment():
    scope = current_scope()
    return render_template(
        "programme/investment.html", rows=figures.investment_by_year(scope),
        base=figures.baseline(scope),
    )
