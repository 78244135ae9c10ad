"""Sign-in, password, membership switching, and the organisation/user admin."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..enums import Role
from ..extensions import db
from ..pagination import paginate
from ..web import client_address, current_scope, login_required, roles_required
from . import services
from .forms import LoginForm, OrganisationForm, PasswordForm, UserForm
from .models import Organisation, User

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/"):
        return target
    return url_for("core.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = services.authenticate(
                form.username.data,
                form.password.data,
                client_address(),
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                window_minutes=current_app.config["LOGIN_WINDOW_MINUTES"],
                max_failures_per_address=current_app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
            )
        except services.SignInRefused as exc:
            error = str(exc)
            # the failed attempt is the throttle's evidence: keep it
            db.session.commit()
        else:
            session.clear()
            login_user(user)
            if user.locale:
                session["lang"] = user.locale
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form, error=error), (401 if error else 200)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # every session and token of this user ends, not only this cookie
        services.end_sessions(current_user)
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current.data, form.new.data)
        except services.TenancyError as exc:
            form.current.errors.append(str(exc))
        else:
            # the change ended every session: this one continues under the new version
            login_user(current_user._get_current_object())
            flash(_("密码已修改。"), "success")
            return redirect(url_for("core.home"))
    return render_template("auth/password.html", form=form)


@bp.post("/switch")
@login_required
def switch():
    try:
        membership = services.switch_membership(
            current_user, request.form.get("membership_id", type=int) or 0
        )
    except services.TenancyError as exc:
        flash(str(exc), "danger")
    else:
        flash(
            _(
                "已切换到 %(org)s · %(role)s",
                org=membership.organisation.name,
                role=membership.role_label,
            ),
            "success",
        )
    return redirect(url_for("core.home"))


# --- admin: organisations ---------------------------------------------------------


@bp.get("/admin/orgs")
@roles_required(Role.CITY_ADMIN, Role.BUREAU_REVIEWER, Role.INSTITUTION_MANAGER)
def orgs():
    organisations = services.visible_organisations(current_scope())
    return render_template("admin/orgs.html", organisations=organisations)


def _org_form(org: Organisation | None):
    form = OrganisationForm(obj=org)
    form.parent_id.choices = [(0, "—")] + [
        (o.id, f"{o.name} ({o.code})")
        for o in services.visible_organisations(current_scope())
        if org is None or o.id != org.id
    ]
    if form.validate_on_submit():
        try:
            services.save_organisation(
                current_scope(),
                code=form.code.data,
                name=form.name.data,
                kind=form.kind.data,
                parent_id=form.parent_id.data or None,
                sector=form.sector.data,
                county=form.county.data,
                uscc=form.uscc.data,
                org=org,
            )
        except services.TenancyError as exc:
            flash(str(exc), "danger")
        else:
            flash(_("单位已保存。"), "success")
            return redirect(url_for("auth.orgs"))
    return render_template("admin/org_form.html", form=form, org=org)


@bp.route("/admin/orgs/new", methods=["GET", "POST"])
@roles_required(Role.CITY_ADMIN)
def org_new():
    return _org_form(None)


@bp.route("/admin/orgs/<int:org_id>/edit", methods=["GET", "POST"])
@roles_required(Role.CITY_ADMIN)
def org_edit(org_id: int):
    org = services.get_visible_org(current_scope(), org_id) or abort(404)
    return _org_form(org)


# --- admin: users -------------------------------------------------------------------


@bp.get("/admin/users")
@roles_required(Role.CITY_ADMIN, Role.INSTITUTION_MANAGER)
def users():
    q = request.args.get("q", "").strip()
    page = paginate(services.users_in_scope(current_scope(), q), request.args)
    return render_template("admin/users.html", page=page, q=q)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles_required(Role.CITY_ADMIN, Role.INSTITUTION_MANAGER)
def user_new():
    scope = current_scope()
    form = UserForm()
    form.org_id.choices = [(o.id, o.name) for o in services.visible_organisations(scope)]
    allowed = services.MANAGEABLE_ROLES.get(scope.role, set())
    form.role.choices = [(r.value, r.label) for r in Role if r in allowed]
    if form.validate_on_submit():
        try:
            services.create_user(
                scope,
                username=form.username.data,
                display_name=form.display_name.data,
                password=form.password.data,
                org_id=form.org_id.data,
                role=form.role.data,
                email=form.email.data,
            )
        except services.TenancyError as exc:
            flash(str(exc), "danger")
        else:
            flash(_("用户已创建。"), "success")
            return redirect(url_for("auth.users"))
    return render_template("admin/user_form.html", form=form)


@bp.post("/admin/users/<int:user_id>/active")
@roles_required(Role.CITY_ADMIN, Role.INSTITUTION_MANAGER)
def user_active(user_id: int):
    scope = current_scope()
    if not services.is_user_in_scope(scope, user_id) or user_id == current_user.id:
        abort(404)
    user = db.session.get(User, user_id) or abort(404)
    services.set_user_active(scope, user, request.form.get("active") == "1")
    flash(_("已更新用户状态。"), "success")
    return redirect(url_for("auth.users"))
