"""Import jobs: one row per uploaded ledger, from the dry run to the committed import."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .. import clock
from ..enums import LabelledEnum
from ..extensions import db
from ..tenancy.scope import TenantOwned


class ImportStatus(LabelledEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @classmethod
    def labels(cls) -> dict:
        return {
            "queued": _l("排队中"),
            "running": _l("进行中"),
            "done": _l("已完成"),
            "failed": _l("失败"),
        }


class ImportKind(LabelledEnum):
    ASSETS = "assets"
    INSPECTIONS = "inspections"
    PLAN_ITEMS = "plan_items"

    @classmethod
    def labels(cls) -> dict:
        return {
            "assets": _l("设备台账"),
            "inspections": _l("检验记录"),
            "plan_items": _l("更新计划明细"),
        }


class ImportJob(TenantOwned, db.Model):
    """An uploaded file and what became of it. The progress columns are written in
    their own short transactions while the job runs; the data in one at the end."""

    __tablename__ = "import_job"
    __table_args__ = (Index("ix_import_job_org_created", "org_id", "created_at"),)
    # Its own progress writes are bookkeeping, not changes worth an audit trail.
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default=ImportKind.ASSETS)
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10), default=ImportStatus.QUEUED)
    dry_run: Mapped[bool] = mapped_column(default=True)
    valid_only: Mapped[bool] = mapped_column(default=False)
    background: Mapped[bool] = mapped_column(default=False)
    # what the run found (a dry run fills them too)
    new_count: Mapped[int] = mapped_column(default=0)
    changed_count: Mapped[int] = mapped_column(default=0)
    unchanged_count: Mapped[int] = mapped_column(default=0)
    rejected_count: Mapped[int] = mapped_column(default=0)
    skipped_count: Mapped[int] = mapped_column(default=0)
    written: Mapped[bool] = mapped_column(default=False)
    # progress (rows read so far / data rows estimated from the sheet dimensions)
    rows_done: Mapped[int] = mapped_column(default=0)
    rows_total: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(Text)  # unusable file / crash, in Chinese
    # first changes (field: before → after), skipped/unknown columns, first errors
    summary: Mapped[dict | None] = mapped_column(JSON)
    error_report_path: Mapped[str | None] = mapped_column(String(500))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # plan items go into this renewal plan
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("renewal_plan.id", ondelete="SET NULL"))
    # the mapping the run used (the organisation's saved one with the page's changes)
    mapping: Mapped[dict | None] = mapped_column(JSON)
    # what the committed run did, for undo: {"new": [[first id, last id], …] (ranges),
    # "changed": {asset id: {column: value before}}}
    undo: Mapped[dict | None] = mapped_column(JSON)
    written_at: Mapped[dt.datetime | None]
    reverted_at: Mapped[dt.datetime | None]
    reverted_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
    started_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]

    @property
    def status_label(self) -> str:
        return ImportStatus(self.status).label

    @property
    def kind_label(self) -> str:
        return ImportKind(self.kind).label

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.finished:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)


class ImportSynonym(db.Model):
    """A ledger word and what it means in the register, for every organisation:
    `field` "funding_source" / "status" → an enum code, "category" → a category code.
    Seeded with the built-in words (synonyms.py); the city admin may add more."""

    __tablename__ = "import_synonym"
    __table_args__ = (UniqueConstraint("field", "text"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    field: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(100))  # as written (normalised on lookup)
    target: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)


class ImportMapping(TenantOwned, db.Model):
    """An organisation's accepted mapping for one import kind, reused on every import:
    `columns` {normalised header: {"field": key | None, "unit": unit | None}} (field None:
    ignore the column), `values` {field key: {ledger word: target code}}."""

    __tablename__ = "import_mapping"
    __table_args__ = (UniqueConstraint("org_id", "kind"),)
    __org_index__ = False  # the unique key leads with org_id

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    columns: Mapped[dict] = mapped_column(JSON, default=dict)
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=clock.utcnow_naive, onupdate=clock.utcnow_naive
    )
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
