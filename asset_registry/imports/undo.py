"""Undo of a committed asset import: the new assets removed, the changed ones restored.

What a run did is kept on its job (`ImportJob.undo`): the ids of the assets it created
(as ranges: the import reserves them in runs) and, for each asset it changed, the
columns' values before. An undo is allowed while none of those assets has been
touched since the import (edited, inspected, a fault, an attachment, a status change,
a plan item naming it): otherwise it would throw away work done after the import.
It runs in the caller's transaction (one commit), set-based, and is audited.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Iterator

from sqlalchemy import Date, Numeric, bindparam, delete, func, or_, select, update

from .. import clock
from ..alerts.models import Alert
from ..assets.models import Asset, Attachment, ReplacedToken, StatusChange
from ..bulk import audit_many
from ..extensions import db
from ..inspections.models import Fault, InspectionRecord, Obligation
from ..plans.models import PlanItem, PlanItemAsset
from ..tenancy.scope import Scope, use_scope
from .messages import N_
from .models import ImportJob, ImportKind
from .services import ImportResult, org_scope

MSG_NOT_UNDOABLE = N_("只有已写入的设备台账导入可以撤销")
MSG_ALREADY_REVERTED = N_("该导入已撤销")
MSG_TOUCHED = N_(
    "不能撤销：导入后已有 {n} 台设备被修改或登记了检验、故障、附件（如 {codes}），"
    "撤销会丢失这些后续工作"
)
CHUNK = 900  # ids per IN (…): under SQLite's 999-parameter limit on old builds


def _ranges(ids: Iterable[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for i in sorted(ids):
        if out and out[-1][1] == i - 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def _expand(ranges: Iterable[Iterable[int]]) -> list[int]:
    return [i for first, last in ranges for i in range(first, last + 1)]


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def undo_record(result: ImportResult) -> dict | None:
    """What the job keeps so that it can be undone (asset imports only)."""
    if result.kind != ImportKind.ASSETS or not result.written:
        return None
    return {
        "new": _ranges(result.new_ids),
        "changed": {str(asset_id): before for asset_id, before in result.changed_before.items()},
    }


class UndoRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def new_asset_ids(job: ImportJob, limit: int = 200) -> list[int]:
    """The first ids of the assets the job created (for links on its page)."""
    if not job.undo:
        return []
    out: list[int] = []
    for first, last in job.undo.get("new", []):
        out.extend(range(first, min(last, first + limit - len(out) - 1) + 1))
        if len(out) >= limit:
            break
    return out


def can_undo(job: ImportJob) -> bool:
    return bool(job.kind == ImportKind.ASSETS and job.written and job.undo and not job.reverted_at)


def _touched(ids: list[int], since: dt.datetime) -> list[str]:
    """Codes of the assets (of `ids`) changed or given work after `since`."""
    touched: set[int] = set()
    for chunk in _chunks(ids):
        touched.update(
            db.session.scalars(
                select(Asset.id).where(Asset.id.in_(chunk), Asset.updated_at > since)
            )
        )
        for model in (InspectionRecord, Fault, Attachment, StatusChange, ReplacedToken,
                      PlanItemAsset):
            touched.update(
                db.session.scalars(select(model.asset_id).where(model.asset_id.in_(chunk)))
            )
        touched.update(
            db.session.scalars(
                select(func.coalesce(PlanItem.replaced_asset_id, PlanItem.new_asset_id)).where(
                    or_(PlanItem.replaced_asset_id.in_(chunk), PlanItem.new_asset_id.in_(chunk))
                )
            )
        )
    touched.discard(None)
    if not touched:
        return []
    sample = sorted(touched)[:5]
    return list(db.session.scalars(select(Asset.asset_code).where(Asset.id.in_(sample))))


def _touched_changed(ids: list[int], since: dt.datetime) -> list[int]:
    out: list[int] = []
    for chunk in _chunks(ids):
        out.extend(
            db.session.scalars(
                select(Asset.id).where(Asset.id.in_(chunk), Asset.updated_at > since)
            )
        )
    return out


def _typed(column: str, value):
    """A value from the JSON "before" back in the column's Python type."""
    if value is None:
        return None
    kind = Asset.__table__.c[column].type
    if isinstance(kind, Date) and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if isinstance(kind, Numeric) and isinstance(value, str):
        return decimal.Decimal(value)
    return value


def revert_import(scope: Scope, job: ImportJob, user_id: int | None = None) -> dict:
    """Undo `job` (see the module docstring); {"removed": n, "restored": m}. Flushes only;
    UndoRefused (nothing written) when the import cannot be undone."""
    if job.reverted_at is not None:
        raise UndoRefused(MSG_ALREADY_REVERTED)
    if not can_undo(job):
        raise UndoRefused(MSG_NOT_UNDOABLE)
    target = org_scope(scope, job.org_id)
    since = job.written_at or job.finished_at
    new_ids = _expand(job.undo.get("new", []))
    changed = {int(k): v for k, v in (job.undo.get("changed") or {}).items()}
    session = db.session()
    with use_scope(target):
        # only this organisation's rows: the ids are re-read through the scope
        existing_new: list[int] = []
        for chunk in _chunks(new_ids):
            existing_new.extend(db.session.scalars(select(Asset.id).where(Asset.id.in_(chunk))))
        touched = _touched(existing_new, since)
        touched_changed = _touched_changed(list(changed), since)
        if touched or touched_changed:
            codes = touched + list(
                db.session.scalars(
                    select(Asset.asset_code).where(Asset.id.in_(touched_changed[:5]))
                )
            )
            raise UndoRefused(
                MSG_TOUCHED.format(
                    n=len(touched) + len(touched_changed), codes="、".join(codes[:5])
                )
            )
        removed = _remove_new(session, job.org_id, existing_new)
        restored = _restore_changed(session, job.org_id, changed)
        job.reverted_at = clock.utcnow_naive()
        job.reverted_by = user_id
        audit_many(
            session,
            [
                {
                    "org_id": job.org_id,
                    "entity": "import_job",
                    "entity_id": job.id,
                    "action": "revert",
                    "changes": {
                        "before": {},
                        "after": {"removed": removed, "restored": restored},
                    },
                }
            ],
        )
        session.flush()
    return {"removed": removed, "restored": restored}


def _remove_new(session, org_id: int, ids: list[int]) -> int:
    """Delete the assets the import created with the duties and alerts it gave them."""
    connection = session.connection()
    removed = 0
    for chunk in _chunks(ids):
        codes = dict(
            connection.execute(select(Asset.id, Asset.asset_code).where(Asset.id.in_(chunk))).all()
        )
        connection.execute(delete(Alert.__table__).where(Alert.__table__.c.asset_id.in_(chunk)))
        connection.execute(
            delete(Obligation.__table__).where(Obligation.__table__.c.asset_id.in_(chunk))
        )
        connection.execute(delete(Asset.__table__).where(Asset.__table__.c.id.in_(chunk)))
        audit_many(
            session,
            [
                {
                    "org_id": org_id,
                    "entity": "asset",
                    "entity_id": asset_id,
                    "action": "delete",
                    "changes": {"before": {"asset_code": code}, "after": {}, "why": "import undo"},
                }
                for asset_id, code in codes.items()
            ],
        )
        removed += len(codes)
    return removed


def _restore_changed(session, org_id: int, changed: dict[int, dict]) -> int:
    """Put back the columns the import changed, from the values it recorded."""
    if not changed:
        return 0
    connection = session.connection()
    table = Asset.__table__
    now = clock.utcnow_naive()
    by_columns: dict[tuple[str, ...], list[tuple[int, dict]]] = {}
    for asset_id, before in changed.items():
        by_columns.setdefault(tuple(sorted(before)), []).append((asset_id, before))
    restored = 0
    for columns, rows in by_columns.items():
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.org_id == org_id)
            .values({c: bindparam(f"b_{c}") for c in (*columns, "updated_at")})
        )
        params = []
        audit = []
        current = {}
        for chunk in _chunks([asset_id for asset_id, _ in rows]):
            current.update(
                {
                    r[0]: dict(zip(columns, r[1:], strict=True))
                    for r in connection.execute(
                        select(table.c.id, *(table.c[c] for c in columns)).where(
                            table.c.id.in_(chunk)
                        )
                    )
                }
            )
        for asset_id, before in rows:
            if asset_id not in current:
                continue  # removed since: nothing to restore
            row = {f"b_{c}": _typed(c, before[c]) for c in columns}
            row["b_id"], row["b_updated_at"] = asset_id, now
            params.append(row)
            audit.append(
                {
                    "org_id": org_id,
                    "entity": "asset",
                    "entity_id": asset_id,
                    "action": "update",
                    "changes": {
                        "before": {c: _plain(current[asset_id][c]) for c in columns},
                        "after": dict(before),
                        "why": "import undo",
                    },
                }
            )
        if params:
            connection.execute(stmt, params)
            audit_many(session, audit)
            restored += len(params)
    return restored


def _plain(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value
