"""Request lifecycle: scope, audit actor, one commit per request, errors, locale."""

from __future__ import annotations

import functools
import ipaddress
import logging

from flask import (
    Blueprint,
    Flask,
    Request,
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
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import DataError
from werkzeug.datastructures import ImmutableMultiDict, iter_multi_items
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter

from . import db_events  # noqa: F401  (registers the session/engine listeners)
from .audit import hooks as _audit_hooks  # noqa: F401  (registers the audit hook)
from .enums import Role
from .extensions import db, login_manager
from .inputs import MAX_ID, strip_control
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
    _security_headers(response)
    return response


# Scripts only from our own files (no inline script, so an injected <script> does not
# run); styles may be inline (style="" attributes); nobody may frame a page.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def _security_headers(response) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    hsts = current_app.config.get("HSTS_SECONDS")
    if hsts:
        headers.setdefault("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")
    signed_in = request.endpoint != "static" and getattr(current_user, "is_authenticated", False)
    if signed_in or request.path.startswith("/api/"):
        # a signed-in page (a new API token, a ledger) must not stay in a shared cache
        # or in the browser's history after sign-out
        headers["Cache-Control"] = "no-store"
        headers.add_header("Vary", "Cookie")
    headers.pop("Server", None)


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


@core.get("/favicon.ico")
def favicon():
    # browsers and bookmarks ask for /favicon.ico whatever the page links
    return redirect(url_for("static", filename="favicon.svg"), code=301)


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
    scope = g.get("scope")
    # an inspector's day starts with the round, not a chart
    if scope is not None and scope.role == Role.INSTITUTION_STAFF and (
        "inspections.today" in current_app.view_functions
    ):
        return redirect(url_for("inspections.today"))
    return redirect(url_for("reports.dashboard"))


def _error_page(code: int, message: str, title: str | None = None):
    if request.path.startswith("/api/"):
        return {
            "error": HTTP_STATUS_CODES.get(code, "error").lower().replace(" ", "_"),
            "message": message,
        }, code
    return render_template("errors/error.html", code=code, message=message, title=title), code


class CleanParameters(ImmutableMultiDict):
    """Query and form values (and names) without control characters: a NUL in a search box
    or a text field is dropped here once, instead of failing in the database later."""

    def __init__(self, mapping=None):
        if mapping is None:
            super().__init__()
            return
        super().__init__(
            (strip_control(key), strip_control(value) if isinstance(value, str) else value)
            for key, value in iter_multi_items(mapping)
        )


class ApiFreeSessions(SecureCookieSessionInterface):
    """The API authenticates by bearer token alone: a session cookie sent along is
    ignored, and no session cookie is ever set on an API response."""

    def open_session(self, app, request):
        if request.path.startswith("/api/"):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if request.path.startswith("/api/"):
            return
        super().save_session(app, session, response)


class CleanRequest(Request):
    parameter_storage_class = CleanParameters


class IdConverter(IntegerConverter):
    """`<int:…>` in routes: a number beyond the id columns' range is no URL of ours (404),
    rather than an overflow in the database driver."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(url_map, fixed_digits, min, MAX_ID if max is None else max, signed)


class TextConverter(UnicodeConverter):
    """`<…>` / `<string:…>` path segments: no control characters (404 instead)."""

    def __init__(self, url_map, minlength=1, maxlength=None, length=None):
        super().__init__(url_map, minlength, maxlength, length)
        # UnicodeConverter sets its regex per instance (for the lengths): narrow that one
        self.regex = self.regex.replace("[^/]", r"[^/\x00-\x1f\x7f]")


class TextPathConverter(PathConverter):
    regex = r"[^\x00-\x1f\x7f]+?"


def install_converters(app: Flask) -> None:
    """Before any route is added (so create_app calls it first)."""
    app.request_class = CleanRequest
    app.session_interface = ApiFreeSessions()
    app.url_map.converters.update(
        int=IdConverter, default=TextConverter, string=TextConverter, path=TextPathConverter
    )


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
        return _error_page(
            400,
            _("页面已过期或表单缺少安全令牌，请刷新页面后重试。"),
            title=_("页面已过期"),
        )

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def value_out_of_range(err):
        # last line of defence: a value the database cannot hold (a number beyond its
        # column: PostgreSQL raises DataError, SQLite's driver OverflowError; a NUL in a
        # JSON string) is the client's mistake, not a server error
        db.session.rollback()
        log.warning("value refused by the database: %s", getattr(err, "orig", err))
        return _error_page(400, _("请求中的数值超出允许范围或包含无效字符。"))

    @app.errorhandler(404)
    def not_found(err):
        return _error_page(404, _("页面不存在，或您无权查看。"))

    @app.errorhandler(413)
    def too_large(err):
        return _error_page(413, _("上传的文件过大。"))

    @app.errorhandler(400)
    def bad_request(err):
        return _error_page(400, _("请求无效。"))

    @app.errorhandler(HTTPException)
    def other_http_error(err):
        # the API answers JSON for every status (405 and the rest); pages keep Werkzeug's
        if request.path.startswith("/api/"):
            return _error_page(err.code or 500, err.description or "")
        return err

    @app.errorhandler(500)
    def server_error(err):
        db.session.rollback()
        return _error_page(500, _("服务器内部错误，已记录。请稍后重试。"))
