from flask import Blueprint, flash, render_template, request

from ..enums import Role
from ..inputs import InputError, read_date, read_text
from ..pagination import paginate
from ..web import current_scope, roles_required
from . import services

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _filters(args) -> services.AuditFilters:
    """The filters as given; a bad one is a message and left out, never a 500."""
    filters = services.AuditFilters(
        action=args.get("action") if args.get("action") in services.ACTIONS else None,
    )
    readers = {"user": lambda: read_text(args, "user", 100),
               "entity": lambda: read_text(args, "entity", 50),
               "date_from": lambda: read_date(args, "date_from"),
               "date_to": lambda: read_date(args, "date_to")}
    for key, read in readers.items():
        try:
            setattr(filters, key, read())
        except InputError as exc:
            flash(exc.message, "warning")
    return filters


@bp.get("/")
@roles_required(Role.CITY_ADMIN, Role.INSTITUTION_MANAGER)
def index():
    scope = current_scope()
    filters = _filters(request.args)
    page = paginate(services.log_query(scope, filters), request.args, scalars=False)
    described = services.describe([row[0] for row in page.items])
    return render_template(
        "audit/index.html", page=page, filters=filters, described=described,
        entities=services.entity_choices(scope),
    )
