from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .. import clock
from ..extensions import db
from ..tenancy.scope import TenantOwned


class AuditEvent(TenantOwned, db.Model):
    """Who changed what, when and from where: written by one session hook."""

    __tablename__ = "audit_event"
    __org_index__ = False  # the composite indexes below lead with org_id
    __table_args__ = (
        Index("ix_audit_event_org_at", "org_id", "at"),
        Index("ix_audit_event_org_import_job", "org_id", "import_job_id"),
    )
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    address: Mapped[str | None] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(10))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    # the import that wrote the row (its thousands of rows are shown as one entry);
    # no foreign key: the audit outlives what it describes
    import_job_id: Mapped[int | None]
