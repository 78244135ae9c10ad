"""Models of this domain: a large label sheet rendered in the background."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .. import clock
from ..enums import LabelledEnum
from ..extensions import db
from ..tenancy.scope import TenantOwned


class LabelJobStatus(LabelledEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @classmethod
    def labels(cls) -> dict:
        from flask_babel import lazy_gettext as _l

        return {"queued": _l("排队中"), "running": _l("生成中"), "done": _l("已完成"),
                "failed": _l("失败")}


class LabelJob(TenantOwned, db.Model):
    """A label PDF too large to render within a request: which labels (chosen ids or
    the list's filters), for whom (the membership whose scope it renders), progress
    and the finished file."""

    __tablename__ = "label_job"
    __audited__ = False  # bookkeeping of a print run, not a change to the register

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id"), index=True)
    layout: Mapped[str] = mapped_column(String(20))
    # the first cell used on the first sheet (1 = top-left): a partly used A4 sheet
    start: Mapped[int] = mapped_column(default=1, server_default="1")
    asset_ids: Mapped[list | None] = mapped_column(JSON)
    filters: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=LabelJobStatus.QUEUED)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
    finished_at: Mapped[dt.datetime | None]

    @property
    def status_label(self) -> str:
        return LabelJobStatus.label_of(self.status)

    @property
    def percent(self) -> int:
        return 100 if self.status == LabelJobStatus.DONE else int(
            100 * self.done / self.total) if self.total else 0
