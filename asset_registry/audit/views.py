from flask import Blueprint, render_template, request
from sqlalchemy import select

from ..enums import Role
from ..pagination import paginate
from ..tenancy.models import Organisation, User
from ..web import roles_required
from .models import AuditEvent

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@roles_required(Role.CITY_ADMIN, Role.INSTITUTION_MANAGER)
def index():
    entity = request.args.get("entity", "").strip()
    action = request.args.get("action", "").strip()
    stmt = (
        select(AuditEvent, User.username, Organisation.name)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .join(Organisation, Organisation.id == AuditEvent.org_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    if entity:
        stmt = stmt.where(AuditEvent.entity == entity)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    page = paginate(stmt, request.args, scalars=False)
    return render_template("audit/index.html", page=page, entity=entity, action=action)
