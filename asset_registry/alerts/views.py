"""The inbox (`/alerts/`), acknowledge/resolve, and the per-organisation settings."""

from __future__ import annotations

import smtplib

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..pagination import paginate
from ..web import current_scope, login_required, roles_required
from . import services
from .forms import NoteForm, SettingsForm
from .models import AlertRule, AlertStatus, Severity

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


@bp.app_context_processor
def _bell():
    """The navbar bell asks for its count only when it renders (one COUNT)."""

    def alert_bell_count() -> int:
        if not getattr(current_user, "is_authenticated", False):
            return 0
        return services.open_count(current_scope())

    return {"alert_bell_count": alert_bell_count}


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


@bp.get("/")
@login_required
def inbox():
    scope = current_scope()
    rule = request.args.get("rule") or None
    status = request.args.get("status", "active")
    severity = request.args.get("severity") or None
    org_id = _int_arg("org")
    stmt = services.inbox_query(scope, rule=rule, status=status, org_id=org_id,
                                severity=severity)
    page = paginate(stmt, request.args, scalars=False)
    from ..tenancy.services import visible_organisations

    orgs = visible_organisations(scope) if scope.org_ids is None or len(scope.org_ids) > 1 else []
    return render_template(
        "alerts/inbox.html", page=page, rule=rule, status=status, org_id=org_id, orgs=orgs,
        rules=AlertRule.choices(), statuses=AlertStatus.choices(), form=NoteForm(),
        severities=Severity.choices(), severity=severity, date_meaning=services.DATE_MEANING,
        may_acknowledge=scope.writable and scope.role in services.ACKNOWLEDGE_ROLES,
        may_resolve=scope.writable and scope.role in services.RESOLVE_ROLES,
    )


def _act(action, done: str):
    back = redirect(request.referrer or url_for(".inbox"))
    form = NoteForm()
    if not form.validate_on_submit():
        flash(_("备注过长或表单已过期，请重试。"), "danger")
        return back
    try:
        alert = action(current_scope(), form.note.data)
    except PermissionError:
        abort(403)
    except services.AlertError as exc:
        flash(str(exc), "warning")
        return back
    if alert is None:
        abort(404)
    flash(done, "success")
    return back


@bp.post("/<int:alert_id>/ack")
@login_required
def acknowledge(alert_id: int):
    return _act(lambda scope, note: services.acknowledge(scope, alert_id, note),
                _("已确认该预警。"))


@bp.post("/ack")
@login_required
def acknowledge_many():
    form = NoteForm()
    back = redirect(request.referrer or url_for(".inbox"))
    if not form.validate_on_submit():
        flash(_("备注过长或表单已过期，请重试。"), "danger")
        return back
    ids = [int(v) for v in request.form.getlist("alert_id") if v.isdigit() and len(v) < 10]
    try:
        done = services.acknowledge_many(current_scope(), ids, form.note.data)
    except PermissionError:
        abort(403)
    flash(_("已确认 %(n)s 条预警。", n=done), "success")
    return back


@bp.post("/<int:alert_id>/resolve")
@login_required
def resolve(alert_id: int):
    return _act(lambda scope, note: services.resolve(scope, alert_id, note), _("已解除该预警。"))


@bp.route("/settings", methods=["GET", "POST"])
@roles_required(*services.SETTINGS_ROLES)
def settings():
    scope = current_scope()
    orgs = services.settings_orgs(scope)
    org_id = _int_arg("org") or scope.org_id
    row = services.settings_for(scope, org_id) if org_id else None
    if row is None:
        if not orgs:
            abort(404)
        if _int_arg("org") is not None:
            abort(404)  # a foreign or non-editable organisation
        row = services.settings_for(scope, orgs[0].id)
        org_id = orgs[0].id
    form = SettingsForm(obj=row)
    if form.validate_on_submit():
        try:
            services.save_settings(
                scope, org_id,
                due_soon_days=form.due_soon_days.data, due_7d_days=form.due_7d_days.data,
                escalate_after_days=form.escalate_after_days.data,
                life_ending_days=form.life_ending_days.data, recipients=form.recipients.data,
                webhook_url=(form.webhook_url.data or "").strip() or None,
                webhook_kind=form.webhook_kind.data,
                safety_phone=form.safety_phone.data,
                webhook_secret=form.webhook_secret.data,
                clear_webhook_secret=form.clear_webhook_secret.data,
            )
        except services.AlertError as exc:
            flash(str(exc), "danger")
            return render_template("alerts/settings.html", form=form, orgs=orgs,
                                   org_id=org_id, has_secret=bool(row.webhook_secret)), 400
        flash(_("预警设置已保存。"), "success")
        return redirect(url_for(".settings", org=org_id))
    status = 400 if form.errors else 200
    return render_template("alerts/settings.html", form=form, orgs=orgs, org_id=org_id,
                           has_secret=bool(row.webhook_secret)), status


@bp.post("/settings/test")
@roles_required(*services.SETTINGS_ROLES)
def settings_test():
    """Send a test e-mail or robot message with the saved settings and show the answer."""
    from .delivery import RobotRefused, WebhookRefused, send_test_mail, send_test_webhook

    scope = current_scope()
    org_id = _int_arg("org") or scope.org_id
    org = next((o for o in services.settings_orgs(scope) if o.id == org_id), None)
    if org is None:
        abort(404)  # a foreign or non-editable organisation
    row, org_name = services.settings_for(scope, org.id), org.name
    channel = request.form.get("channel")
    try:
        if channel == "webhook":
            if not row.webhook_url:
                flash(_("请先填写并保存群机器人 Webhook 地址。"), "warning")
            else:
                answer = send_test_webhook(row.webhook_url, row.webhook_kind,
                                           row.webhook_secret, org_name)
                flash(_("群机器人已接收：errcode %(c)s，errmsg %(m)s",
                        c=answer.get("errcode", 0), m=answer.get("errmsg", "")), "success")
        elif channel == "mail":
            # the person testing, and the extra recipients the settings name
            recipients = list(dict.fromkeys(
                r for r in [current_user.email, *row.recipient_list] if r))
            if not recipients:
                flash(_("没有可发送的邮箱：请填写额外收件邮箱或在用户资料中登记邮箱。"), "warning")
            else:
                reply = send_test_mail(recipients, org_name)
                flash(_("邮件服务器已接收：%(r)s", r=reply), "success")
        else:
            abort(404)
    except RobotRefused as exc:
        flash(_("群机器人拒绝了消息：errcode %(c)s，errmsg %(m)s",
                c=exc.errcode, m=exc.errmsg), "danger")
    except WebhookRefused as exc:
        flash(_("不允许发送到该地址：%(e)s", e=exc), "danger")
    except (OSError, smtplib.SMTPException) as exc:
        flash(_("发送失败：%(e)s", e=exc), "danger")
    return redirect(url_for(".settings", org=org_id))
