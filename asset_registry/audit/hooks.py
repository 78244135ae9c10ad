"""One session hook records every create/update/delete of a tenant-owned row."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import enum

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from .. import clock
from ..tenancy.scope import TenantOwned
from .models import AuditEvent

ACTOR_KEY = "audit_actor"
IMPORT_JOB_KEY = "audit_import_job"
# QR tokens are bearer secrets for the full scan view; the audit shows that one changed.
SKIP_FIELDS = {"password_hash", "qr_token"}


def _plain(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def set_actor(session: Session, user_id: int | None, address: str | None) -> None:
    session.info[ACTOR_KEY] = (user_id, address)


@contextlib.contextmanager
def import_batch(session: Session, job_id: int | None):
    """Audit rows written inside carry the import job's id, so the log shows the
    import as one entry linking to its job."""
    previous = session.info.get(IMPORT_JOB_KEY)
    session.info[IMPORT_JOB_KEY] = job_id
    try:
        yield
    finally:
        session.info[IMPORT_JOB_KEY] = previous


def current_import_job(session: Session) -> int | None:
    return session.info.get(IMPORT_JOB_KEY)


def _row(obj, action: str) -> dict | None:
    state = inspect(obj)
    before, after = {}, {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in SKIP_FIELDS:
            continue
        hist = state.attrs[key].history
        if action == "create":
            value = getattr(obj, key)
            if value is not None:
                after[key] = _plain(value)
        elif action == "delete":
            value = (
                hist.unchanged[0] if hist.unchanged else (hist.deleted[0] if hist.deleted else None)
            )
            if value is not None:
                before[key] = _plain(value)
        elif hist.has_changes():
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if _plain(old) != _plain(new):
                before[key], after[key] = _plain(old), _plain(new)
    if action == "update" and not after and not before:
        return None
    return {"before": before, "after": after}


@event.listens_for(Session, "after_flush")
def _record(session: Session, flush_context) -> None:
    user_id, address = session.info.get(ACTOR_KEY, (None, None))
    rows = []
    deleted = list(session.deleted)
    # a row removed from a delete-orphan collection (plan.items.remove(item)) is deleted
    # by the flush itself and never appears in session.deleted
    seen = set(map(id, deleted))
    for state, (isdelete, listonly) in flush_context.states.items():
        obj = state.obj()
        if isdelete and not listonly and obj is not None and id(obj) not in seen:
            deleted.append(obj)
            seen.add(id(obj))
    for action, objs in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", deleted),
    ):
        for obj in objs:
            if not isinstance(obj, TenantOwned) or not getattr(obj, "__audited__", True):
                continue
            if action == "update" and id(obj) in seen:
                continue  # its delete row says it all
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            changes = _row(obj, action)
            if changes is None:
                continue
            rows.append(
                {
                    "org_id": obj.org_id,
                    "at": clock.utcnow_naive(),
                    "user_id": user_id,
                    "address": address,
                    "entity": type(obj).__tablename__,
                    "entity_id": getattr(obj, "id", None),
                    "action": action,
                    "changes": changes,
                    "import_job_id": session.info.get(IMPORT_JOB_KEY),
                }
            )
    if rows:
        # Core insert: adding ORM objects during a flush is not allowed.
        session.connection().execute(insert(AuditEvent.__table__), rows)


def audit_rows(session: Session, rows: list[dict]) -> None:
    """For bulk (Core) writes that bypass the ORM hook, e.g. the Excel import."""
    user_id, address = session.info.get(ACTOR_KEY, (None, None))
    now = clock.utcnow_naive()
    for row in rows:
        row.setdefault("at", now)
        row.setdefault("user_id", user_id)
        row.setdefault("address", address)
        row.setdefault("import_job_id", session.info.get(IMPORT_JOB_KEY))
    if rows:
        session.connection().execute(insert(AuditEvent.__table__), rows)
