"""Reading the audit log: filters, an import folded into one entry, and the changes of
a page of entries in words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select

from .. import clock
from ..catalog.models import Category
from ..extensions import db
from ..tenancy.models import Organisation, User
from ..tenancy.scope import Scope
from . import labels
from .models import AuditEvent

ACTIONS = ("create", "update", "delete")


@dataclass
class AuditFilters:
    user: str | None = None  # username or display name, part of it
    entity: str | None = None
    action: str | None = None
    date_from: dt.date | None = None  # Beijing dates, both inclusive
    date_to: dt.date | None = None


def _utc(day: dt.date) -> dt.datetime:
    start = dt.datetime.combine(day, dt.time(0, 0), clock.LOCAL_TZ)
    return start.astimezone(dt.UTC).replace(tzinfo=None)


def _filtered(stmt: Select, filters: AuditFilters) -> Select:
    if filters.entity:
        stmt = stmt.where(AuditEvent.entity == filters.entity)
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.date_from:
        stmt = stmt.where(AuditEvent.at >= _utc(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(AuditEvent.at < _utc(filters.date_to + dt.timedelta(days=1)))
    if filters.user:
        pattern = f"%{filters.user}%"
        users = select(User.id).where(
            or_(User.username.ilike(pattern), User.display_name.ilike(pattern)))
        stmt = stmt.where(AuditEvent.user_id.in_(users))
    return stmt


def log_query(scope: Scope, filters: AuditFilters) -> Select:
    """Rows of (event, username, display name, organisation, rows in its import): the
    rows one import job wrote appear once, as their first row with the count. The scope
    filters every ORM select of AuditEvent (the caller's organisations only)."""
    per_job = _filtered(
        select(AuditEvent.import_job_id.label("job_id"),
               func.min(AuditEvent.id).label("first_id"),
               func.count().label("n"))
        .where(AuditEvent.import_job_id.is_not(None))
        .group_by(AuditEvent.import_job_id),
        filters,
    ).subquery()
    stmt = (
        select(AuditEvent, User.username, User.display_name, Organisation.name, per_job.c.n)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .join(Organisation, Organisation.id == AuditEvent.org_id)
        .outerjoin(per_job, per_job.c.first_id == AuditEvent.id)
        .where(or_(AuditEvent.import_job_id.is_(None), per_job.c.first_id.is_not(None)))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    return _filtered(stmt, filters)


def entity_choices(scope: Scope) -> list[tuple[str, str]]:
    present = db.session.scalars(select(AuditEvent.entity).distinct()).all()
    return sorted(((e, labels.entity_label(e)) for e in present), key=lambda c: c[1])


def describe(events: list[AuditEvent]) -> dict[int, dict]:
    """For each event: its link and its changed fields in words [(label, before, after)].
    Names behind ids (organisations, categories) are read once for the whole page."""
    ids: dict[str, set] = {"org_id": set(), "category_id": set()}
    for event in events:
        for side in ("before", "after"):
            for key in ids:
                value = (event.changes or {}).get(side, {}).get(key)
                if isinstance(value, int):
                    ids[key].add(value)
    names = {
        "org_id": dict(db.session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids["org_id"]))
        ).all()) if ids["org_id"] else {},
        "category_id": dict(db.session.execute(
            select(Category.id, Category.name).where(Category.id.in_(ids["category_id"]))
        ).all()) if ids["category_id"] else {},
    }
    described = {}
    for event in events:
        before = (event.changes or {}).get("before", {})
        after = (event.changes or {}).get("after", {})
        fields = []
        for key in dict.fromkeys([*after, *before]):
            if key in labels.HIDDEN_FIELDS:
                continue
            fields.append((
                labels.field_label(key),
                labels.shown_value(event.entity, key, before.get(key), names)
                if key in before else None,
                labels.shown_value(event.entity, key, after.get(key), names)
                if key in after else None,
            ))
        described[event.id] = {
            "entity": labels.entity_label(event.entity),
            "url": labels.entity_url(event.entity, event.entity_id, event.changes),
            "fields": fields,
        }
    return described
