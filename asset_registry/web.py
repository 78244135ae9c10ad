"""Request lifecycle: scope, audit actor, one commit per request, errors, locale."""

from __future__ import annotations

import functools
import ipaddress
import logging

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from . import db_events  # noqa: F401  (registers the session/engine listeners)
from .audit import hooks as _audit_hooks  # noqa: F401  (registers the audit hook)
from .enums import Role
from .extensions import db, login_manager
from .tenancy.scope import Scope, set_scope

log = logging.getLogger(__name__)
core = Blueprint("core", __name__)


def select_locale() -> str:
    if not has_request_context():
        # CLI, jobs and seeds: Chinese unless a caller forces a locale (force_locale)
        return "zh_Hans_CN"
    lang = session.get("lang")
    if lang is None and getattr(current_user, "is_authenticated", False):
        lang = current_user.locale
    return lang if lang in ("en", "zh_Hans_CN") else "zh_Hans_CN"


def current_scope() -> Scope:
    return g.scope


def client_address() -> str:
    return request.remote_addr or "unknown"


def roles_required(*roles: str):
    """Restrict a view to the active membership's role (others get 404, like foreign rows)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if g.scope.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)  # read by the navbar (can_open)
        return wrapped

    return decorator


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return wrapped


MANAGERS = (Role.CITY_ADMIN, Role.INSTITUTION_MANAGER)
EDITORS = (Role.CITY_ADMIN, Role.INSTITUTION_MANAGER, Role.INSTITUTION_STAFF)


def _before_request() -> None:
    from .audit import hooks as audit_hooks
    from .tenancy.services import active_membership, scope_for

    if request.endpoint == "static":
        return
    set_scope(Scope.nothing())
    audit_hooks.set_actor(db.session(), None, client_address())
    g.membership = None
    g.scope = Scope.nothing()
    if current_user.is_authenticated:
        membership = active_membership(current_user)
        if membership is not None:
            g.membership = membership
            g.scope = scope_for(membership)
            set_scope(g.scope)
            audit_hooks.set_actor(db.session(), current_user.id, client_address())


def _after_request(response):
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _teardown(exc) -> None:
    if exc is not None:
        db.session.rollback()


def _can_open(endpoint: str) -> bool:
    """The endpoint exists and the active role may open it (menus hide the rest)."""
    view = current_app.view_functions.get(endpoint)
    if view is None:
        return False
    allowed = getattr(view, "allowed_roles", None)
    return allowed is None or g.get("scope") is not None and g.scope.role in allowed


def _context():
    from .tenancy.services import memberships_of

    memberships = []
    if current_user.is_authenticated:
        memberships = memberships_of(current_user)
    return {
        "Role": Role,
        "scope": g.get("scope"),
        "active_membership": g.get("membership"),
        "memberships": memberships,
        "current_locale": select_locale(),
        "MANAGERS": MANAGERS,
        "has_endpoint": lambda endpoint: endpoint in current_app.view_functions,
        "can_open": _can_open,
        "EDITORS": EDITORS,
    }


@core.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # the point is to report, not to crash
        log.exception("health check failed")
        return {"status": "error", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}


@core.post("/lang/<code>")
def set_language(code: str):
    if code in ("en", "zh_Hans_CN"):
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.locale = code
    return redirect(request.referrer or url_for("core.home"))


@core.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for("reports.dashboard"))


def _error_page(code: int, message: str):
    return render_template("errors/error.html", code=code, message=message), code


class TrustedProxies:
    """Believe X-Forwarded-For/-Proto/-Host only from the proxies listed in
    TRUSTED_PROXIES (one hop): otherwise anyone could pick the address the sign-in
    throttle counts, and without it everyone behind the proxy shares one address."""

    def __init__(self, wsgi_app, networks: str):
        self.direct = wsgi_app
        self.proxied = ProxyFix(wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)
        self.networks = [
            ipaddress.ip_network(item.strip(), strict=False)
            for item in networks.split(",")
            if item.strip()
        ]

    def trusts(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def __call__(self, environ, start_response):
        if self.trusts(environ.get("REMOTE_ADDR")):
            return self.proxied(environ, start_response)
        return self.direct(environ, start_response)


def init_app(app: Flask) -> None:
    if app.config.get("TRUSTED_PROXIES"):
        app.wsgi_app = TrustedProxies(app.wsgi_app, app.config["TRUSTED_PROXIES"])
    app.before_request(_before_request)
    app.after_request(_after_request)
    app.teardown_request(_teardown)
    app.context_processor(_context)
    app.register_blueprint(core)

    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(session_id: str):
        """`<user id>:<session version>`: a session from before the user's last sign-out,
        password change or deactivation names an old version and is refused."""
        from .tenancy.models import User

        user_id, _sep, version = session_id.partition(":")
        if not (user_id.isdigit() and version.isdigit()) or len(user_id) > 12:
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.is_active or user.session_version != int(version):
            return None
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
            return {"error": "unauthorized"}, 401
        flash(_("请先登录。"), "warning")
        return redirect(url_for("auth.login", next=request.full_path))

    @app.errorhandler(CSRFError)
    def csrf_error(err):
        return _error_page(400, _("页面已过期或表单缺少安全令牌，请刷新页面后重试。"))

    @app.errorhandler(404)
    def not_found(err):
        return _error_page(404, _("页面不存在，或您无权查看。"))

    @app.errorhandler(413)
    def too_large(err):
        return _error_page(413, _("上传的文件过大。"))

    @app.errorhandler(400)
    def bad_request(err):
        return _error_page(400, _("请求无效。"))

    @app.errorhandler(500)
    def server_error(err):
        db.session.rollback()
        return _error_page(500, _("服务器内部错误，已记录。请稍后重试。"))
