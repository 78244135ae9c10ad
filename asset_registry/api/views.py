"""/api/v1: JSON for other tools, authenticated by bearer token. The token's membership
gives the scope, so every query here is filtered exactly as the same user's pages are;
a foreign object is a 404. Session cookies are ignored (and so CSRF does not apply)."""

from __future__ import annotations

import datetime as dt
import decimal

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from .. import clock
from ..alerts.models import AlertRule, AlertStatus
from ..alerts.services import inbox_query
from ..assets.models import Asset, AssetStatus
from ..assets.services import SORTS, AssetFilters, asset_page, get_asset
from ..audit import hooks as audit_hooks
from ..extensions import csrf, db
from ..inputs import MAX_ID, strip_control
from ..inspections.models import Obligation
from ..inspections.rules import CONCLUSIONS
from ..inspections.safety import SafetyState
from ..inspections.services import (
    DUE_WINDOWS,
    InspectionError,
    compliance,
    compliance_by_asset,
    conclusions_for,
    due_list,
    obligations_of,
    record_inspection,
)
from ..labels.services import scan_url
from ..pagination import MAX_PAGE, paginate
from ..tenancy.scope import scoped_get_or_404, set_scope
from ..tenancy.services import memberships_of, scope_for
from ..web import EDITORS, MANAGERS, client_address, login_required
from .openapi import MAX_PER_PAGE, document
from .services import issue_token, membership_for_token, revoke_token, tokens_visible

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
# the signed-in pages where users issue and revoke their tokens
pages = Blueprint("api_tokens", __name__, url_prefix="/api-tokens")
blueprints = (bp, pages)



def _json_value(value):
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _error(status: int, code: str, message: str, *, headers=None, **extra):
    response = jsonify({"error": code, "message": message, **extra})
    response.status_code = status
    response.headers.update(headers or {})
    return response


@bp.before_request
def _authenticate():
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    membership = membership_for_token(token)
    if membership is None:
        return _error(
            401,
            "invalid_token",
            "A valid bearer token is required (Authorization: Bearer <token>).",
            headers={"WWW-Authenticate": 'Bearer realm="asset-registry"'},
        )
    g.membership = membership
    g.scope = scope_for(membership)
    set_scope(g.scope)
    audit_hooks.set_actor(db.session(), membership.user_id, client_address())
    return None


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return _error(exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description or "")


class BadParameter(Exception):
    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name, self.message = name, message


@bp.errorhandler(BadParameter)
def _bad_parameter(exc: BadParameter):
    return _error(400, "invalid_parameter", exc.message, parameter=exc.name)


FLAGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False,
         "no": False, "off": False}


def _query(allowed: dict) -> dict:
    """The query string read strictly: an unknown parameter, a repeated one or a value
    outside its type is a 400 naming it (never silently replaced by a default)."""
    args = request.args
    unknown = sorted(set(args) - set(allowed) - {"page", "per_page"})
    if unknown:
        raise BadParameter(unknown[0], f"Unknown query parameter: {unknown[0]}.")
    values = {}
    for name in args:
        if len(args.getlist(name)) > 1:
            raise BadParameter(name, f"{name} may be given once.")
    for name, read in {**allowed, "page": _integer(1, MAX_PAGE), "per_page":
                       _integer(1, MAX_PER_PAGE)}.items():
        if name in args:
            values[name] = read(name, args[name])
    values.setdefault("page", 1)
    values.setdefault("per_page", 50)
    return values


def _integer(lo: int, hi: int):
    def read(name: str, raw: str) -> int:
        if not raw.strip().isdigit() or not lo <= int(raw) <= hi:
            raise BadParameter(name, f"{name} must be an integer from {lo} to {hi}.")
        return int(raw)

    return read


def _choice(*choices):
    def read(name: str, raw: str) -> str:
        if raw not in choices:
            raise BadParameter(name, f"{name} must be one of: {', '.join(map(str, choices))}.")
        return raw

    return read


def _values(enum) -> list[str]:
    return [member.value for member in enum]


def _flag(name: str, raw: str) -> bool:
    if raw.lower() not in FLAGS:
        raise BadParameter(name, f"{name} must be true or false.")
    return FLAGS[raw.lower()]


def _text(limit: int):
    def read(name: str, raw: str) -> str:
        if len(raw) > limit:
            raise BadParameter(name, f"{name} is longer than {limit} characters.")
        return raw

    return read


ASSET_PARAMS = {
    "q": _text(100),
    "status": _choice(*_values(AssetStatus)),
    "category_id": _integer(1, MAX_ID),
    "org_id": _integer(1, MAX_ID),
    "department": _text(100),
    "special": _flag,
    "over_design_life": _flag,
    "safety": _choice(*_values(SafetyState)),
    "sort": _choice(*SORTS),
    "direction": _choice("asc", "desc"),
}
DUE_PARAMS = {"days": _choice(*map(str, DUE_WINDOWS))}
ALERT_PARAMS = {
    "status": _choice("active", *_values(AlertStatus)),
    "rule": _choice(*_values(AlertRule)),
}


def asset_json(asset: Asset, compliance: str | None = None) -> dict:
    category = asset.category
    return {
        "id": asset.id,
        "asset_code": asset.asset_code,
        "name": asset.name,
        "org_id": asset.org_id,
        "organisation": asset.organisation.name if asset.organisation else None,
        "category": {"id": category.id, "code": category.code, "name": category.name}
        if category
        else None,
        **{
            column: _json_value(getattr(asset, column))
            for column in (
                "model",
                "manufacturer",
                "serial_no",
                "department",
                "location",
                "purchase_date",
                "commissioned_on",
                "design_life_years",
                "accounting_life_years",
                "design_life_end",
                "original_value",
                "funding_source",
                "status",
                "is_special",
                "special_code",
                "equipment_code",
                "registration_no",
                "device_class",
                "permit_no",
            )
        },
        "compliance": compliance,
        "scan_url": scan_url(asset.qr_token),
    }


def obligation_json(obligation: Obligation) -> dict:
    return {
        "id": obligation.id,
        "asset_id": obligation.asset_id,
        "kind": obligation.kind,
        "name": obligation.name,
        "statutory": obligation.statutory,
        "interval_months": obligation.interval_months,
        "interval_days": obligation.interval_days,
        "last_done": _json_value(obligation.last_done),
        "next_due": _json_value(obligation.next_due),
        "failed": obligation.failed,
        "active": obligation.active,
        "conclusion_set": obligation.conclusion_set,
        "conclusions": conclusions_for(obligation),
    }


def _listing(items: list, page: int, per_page: int, total: int, **extra) -> dict:
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": max(1, -(-total // per_page)),
        **extra,
    }


@bp.get("/assets")
def assets():
    params = _query(ASSET_PARAMS)
    page, per_page = params.pop("page"), params.pop("per_page")
    filters = AssetFilters.from_args({k: ("1" if v is True else v) for k, v in params.items()
                                      if v is not False})
    result = asset_page(g.scope, filters, page, per_page)
    # a page past the end is empty (a client paging on stops), not the last page again
    items = result.items if result.page == page else []
    states = compliance_by_asset(g.scope, [a.id for a in items], clock.today())
    return _listing(
        [asset_json(a, states.get(a.id)) for a in items],
        page,
        per_page,
        result.total,
        total_is_lower_bound=result.capped,
    )


@bp.get("/assets/<int:asset_id>")
def asset(asset_id: int):
    found = get_asset(g.scope, asset_id)
    if found is None:
        return _error(404, "not_found", "No such asset.")
    duties = obligations_of(g.scope, found, include_inactive=True)
    return {
        **asset_json(found, compliance(found)),
        "obligations": [obligation_json(o) for o in duties],
    }


@bp.get("/obligations/due")
def obligations_due():
    params = _query(DUE_PARAMS)
    days = int(params.get("days", 30))
    page, per_page = params["page"], params["per_page"]
    listed = paginate(due_list(g.scope, clock.today(), days), {"page": page}, per_page,
                      clamp=False)
    return _listing(
        [
            {**obligation_json(o), "asset_code": o.asset.asset_code, "asset_name": o.asset.name}
            for o in listed.items
        ],
        listed.page,
        per_page,
        listed.total,
        days=days,
    )


@bp.get("/alerts")
def alerts():
    params = _query(ALERT_PARAMS)
    page, per_page = params["page"], params["per_page"]
    listed = paginate(
        inbox_query(g.scope, rule=params.get("rule"), status=params.get("status", "active")),
        {"page": page},
        per_page,
        scalars=False,
        clamp=False,
    )
    return _listing(
        [
            {
                "id": alert.id,
                "org_id": alert.org_id,
                "organisation": org_name,
                "asset_id": alert.asset_id,
                "asset_code": code,
                "asset_name": name,
                "rule": alert.rule,
                "due_date": _json_value(alert.due_date),
                "status": alert.status,
                "stage": alert.stage,
            }
            for alert, code, name, org_name in listed.items
        ],
        listed.page,
        per_page,
        listed.total,
    )


@bp.post("/obligations/<int:obligation_id>/inspections")
def record(obligation_id: int):
    if g.scope.role not in EDITORS:
        return _error(403, "forbidden", "This token's role cannot record inspections.")
    obligation = scoped_get_or_404(Obligation, obligation_id)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _error(400, "bad_request", "Send a JSON object.")
    fields = (
        "inspected_on",
        "conclusion",
        "report_no",
        "agency",
        "next_due",
        "problems",
        "inspection_type",
        "safety_grade",
    )
    # control characters dropped as from any form (a NUL would not even reach the rules)
    values = {k: "" if data.get(k) is None else strip_control(str(data[k])) for k in fields}
    try:
        made = record_inspection(
            g.scope, obligation, values, user_id=g.membership.user_id, method="api"
        )
    except InspectionError as exc:
        return _error(422, "invalid", str(exc.message), field=exc.field)
    return (
        {
            "id": made.id,
            "obligation": obligation_json(obligation),
            "passed": made.passed,
            "next_due": _json_value(made.next_due),
        },
        201,
    )


@bp.get("/conclusions")
def conclusions():
    """The conclusions each conclusion set accepts (an obligation names its set), and
    whether each one counts as passed."""
    return {"conclusion_sets": CONCLUSIONS}


@bp.get("/openapi.json")
def openapi():
    return document(current_app.config["BASE_URL"])


# --- token pages ----------------------------------------------------------------------


# offered on the token page: "" = no expiry
TOKEN_LIFETIMES = ("", "30", "90", "365")


def _is_manager() -> bool:
    return g.scope.role in MANAGERS


def _own_memberships() -> list[int]:
    return [m.id for m in memberships_of(current_user)]


def _tokens() -> list:
    return tokens_visible(g.scope, _own_memberships(), manager=_is_manager())


@pages.get("/")
@login_required
def tokens():
    return render_template(
        "api/tokens.html",
        tokens=_tokens(),
        show_owner=_is_manager(),
        new_token=None,
        lifetimes=TOKEN_LIFETIMES,
    )


@pages.post("/")
@login_required
def create_token():
    name = (request.form.get("name") or "").strip()
    if not name:
        flash(_("请填写令牌用途，例如“巡检系统”。"), "danger")
        return redirect(url_for("api_tokens.tokens"))
    days = request.form.get("expires_in_days", "")
    if days not in TOKEN_LIFETIMES:
        flash(_("请选择令牌有效期。"), "danger")
        return redirect(url_for("api_tokens.tokens"))
    row, token = issue_token(g.scope, g.membership, name)
    if days:
        row.expires_at = clock.utcnow_naive() + dt.timedelta(days=int(days))
        db.session.flush()
    # shown on this response only: the database keeps its SHA-256
    return render_template(
        "api/tokens.html",
        tokens=_tokens(),
        show_owner=_is_manager(),
        new_token=token,
        new_row=row,
        lifetimes=TOKEN_LIFETIMES,
    )


@pages.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    mine = None if _is_manager() else _own_memberships()
    row = revoke_token(g.scope, token_id, membership_ids=mine)
    if row is None:
        abort(404)
    flash(_("令牌“%(name)s”已吊销。", name=row.name), "success")
    return redirect(url_for("api_tokens.tokens"))
