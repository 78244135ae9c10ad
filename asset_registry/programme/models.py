"""The programme's own loop (晋市政发〔2024〕12号 工作要求 (三)(四)): funding projects
built from approved plan items, the lead bureaus' task lists, periodic dispatch rounds
with one report per institution, and the numbered 专报 sent to the task force.

Who owns what row (the central scope does the rest):
- a FundingProject, a ProgrammeTask, a DispatchRound and a ProgrammeReport belong to the
  bureau (or the city task force) that made them;
- a ProjectItem and a RoundReport belong to the institution whose plan item or figures
  they carry, so an institution sees its own and its bureau sees all of its institutions'.
"""

from __future__ import annotations

import datetime as dt
import decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..assets.models import FundingSource
from ..enums import LabelledEnum
from ..extensions import db
from ..tenancy.models import Organisation
from ..tenancy.scope import TenantOwned


class ProjectState(LabelledEnum):
    RESERVE = "reserve"
    APPLIED = "applied"
    SELECTED = "selected"
    NOT_SELECTED = "not_selected"
    FUNDED = "funded"
    DISBURSED = "disbursed"

    @classmethod
    def labels(cls) -> dict:
        return {
            "reserve": _l("储备"),
            "applied": _l("已申报"),
            "selected": _l("已入选"),
            "not_selected": _l("未入选"),
            "funded": _l("资金已下达"),
            "disbursed": _l("已拨付到单位"),
        }


class Readiness(LabelledEnum):
    NONE = "none"
    SCHEME = "scheme"
    FEASIBILITY = "feasibility"
    TENDER = "tender"

    @classmethod
    def labels(cls) -> dict:
        return {
            "none": _l("谋划中"),
            "scheme": _l("已编制实施方案"),
            "feasibility": _l("已完成可研"),
            "tender": _l("招标文件已备"),
        }


class TaskMetric(LabelledEnum):
    """What a task's annual target counts; all but OTHER are computed from the register."""

    DEVICES_REPLACED = "devices_replaced"
    INVESTMENT = "investment"
    PAST_LIFE_SHARE = "past_life_share"
    PROJECTS_FUNDED = "projects_funded"
    OTHER = "other"

    @classmethod
    def labels(cls) -> dict:
        return {
            "devices_replaced": _l("更新设备台（套）数"),
            "investment": _l("完成设备投资（万元）"),
            "past_life_share": _l("超设计使用年限设备占比（%）"),
            "projects_funded": _l("争取资金支持项目数"),
            "other": _l("其他（人工填报）"),
        }

    @property
    def unit(self) -> str:
        return str(
            {
                "devices_replaced": _l("台（套）"),
                "investment": _l("万元"),
                "past_life_share": "%",
                "projects_funded": _l("个"),
                "other": "",
            }[self.value]
        )


class RoundState(LabelledEnum):
    OPEN = "open"
    CLOSED = "closed"

    @classmethod
    def labels(cls) -> dict:
        return {"open": _l("调度中"), "closed": _l("已结束")}


class ReportState(LabelledEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"

    @classmethod
    def labels(cls) -> dict:
        return {"pending": _l("待填报"), "submitted": _l("已填报")}


class FundingProject(TenantOwned, db.Model):
    """A project in the reserve (项目储备库), owned by the bureau or task force."""

    __tablename__ = "funding_project"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        Index("ix_funding_project_org_state", "org_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str | None] = mapped_column(String(30))
    applicant: Mapped[str] = mapped_column(String(200))
    # the channel the project is prepared for and applies to (a FundingSource value)
    channel: Mapped[str] = mapped_column(String(30))
    other_investment: Mapped[decimal.Decimal] = mapped_column(Numeric(16, 2), default=0)
    period_start: Mapped[dt.date | None]
    period_end: Mapped[dt.date | None]
    readiness: Mapped[str] = mapped_column(String(20), default=Readiness.NONE)
    state: Mapped[str] = mapped_column(String(20), default=ProjectState.RESERVE)
    batch: Mapped[str | None] = mapped_column(String(100))
    applied_on: Mapped[dt.date | None]
    decided_on: Mapped[dt.date | None]
    funded_amount: Mapped[decimal.Decimal | None] = mapped_column(Numeric(16, 2))
    funded_on: Mapped[dt.date | None]
    funding_doc_no: Mapped[str | None] = mapped_column(String(100))
    disbursed_on: Mapped[dt.date | None]
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=clock.utcnow_naive, onupdate=clock.utcnow_naive
    )

    organisation: Mapped[Organisation] = relationship(foreign_keys="FundingProject.org_id")
    asks: Mapped[list[ProjectFunding]] = relationship(
        back_populates="project", order_by="ProjectFunding.id", cascade="all, delete-orphan"
    )

    @property
    def state_label(self) -> str:
        return ProjectState.label_of(self.state)

    @property
    def channel_label(self) -> str:
        return FundingSource.label_of(self.channel)

    @property
    def readiness_label(self) -> str:
        return Readiness.label_of(self.readiness)

    @property
    def asked_total(self) -> decimal.Decimal:
        return sum((a.amount for a in self.asks), decimal.Decimal("0"))


class ProjectFunding(TenantOwned, db.Model):
    """Funding asked for a project from one source."""

    __tablename__ = "funding_project_ask"
    __table_args__ = (UniqueConstraint("project_id", "source"),)
    __org_index__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("funding_project.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(30))
    amount: Mapped[decimal.Decimal] = mapped_column(Numeric(16, 2))

    project: Mapped[FundingProject] = relationship(back_populates="asks")

    @property
    def source_label(self) -> str:
        return FundingSource.label_of(self.source)


class ProjectItem(TenantOwned, db.Model):
    """An approved plan item grouped into a project; owned by the item's institution.
    An item belongs to one project at most."""

    __tablename__ = "funding_project_item"
    __table_args__ = (
        UniqueConstraint("plan_item_id"),
        Index("ix_funding_project_item_project", "project_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("funding_project.id", ondelete="CASCADE"))
    plan_item_id: Mapped[int] = mapped_column(ForeignKey("plan_item.id", ondelete="CASCADE"))
    added_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)


class ProgrammeTask(TenantOwned, db.Model):
    """One line of a lead bureau's 工作任务清单 for a year."""

    __tablename__ = "programme_task"
    __table_args__ = (
        UniqueConstraint("org_id", "year", "title"),
        Index("ix_programme_task_org_year", "org_id", "year"),
    )
    __org_index__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(30), default=TaskMetric.OTHER)
    target_value: Mapped[decimal.Decimal] = mapped_column(Numeric(16, 2))
    target_unit: Mapped[str] = mapped_column(String(20))
    measures: Mapped[str | None] = mapped_column(Text)
    deadline: Mapped[dt.date | None]
    responsible_person: Mapped[str | None] = mapped_column(String(100))
    responsible_office: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)

    organisation: Mapped[Organisation] = relationship(foreign_keys="ProgrammeTask.org_id")

    @property
    def metric_label(self) -> str:
        return TaskMetric.label_of(self.metric)


class DispatchRound(TenantOwned, db.Model):
    """A 定期调度 round a bureau opens for its institutions."""

    __tablename__ = "dispatch_round"
    __table_args__ = (UniqueConstraint("org_id", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[dt.date]
    period_end: Mapped[dt.date]
    due_on: Mapped[dt.date]
    state: Mapped[str] = mapped_column(String(10), default=RoundState.OPEN)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)
    closed_at: Mapped[dt.datetime | None]

    organisation: Mapped[Organisation] = relationship(foreign_keys="DispatchRound.org_id")

    @property
    def state_label(self) -> str:
        return RoundState.label_of(self.state)

    @property
    def is_open(self) -> bool:
        return self.state == RoundState.OPEN


class RoundReport(TenantOwned, db.Model):
    """One institution's figures for a round; created pending when the round opens.

    The computed figures are the register's at submission; `investment_reported`
    differs from `investment_computed` only with `adjust_reason`."""

    __tablename__ = "dispatch_report"
    __table_args__ = (UniqueConstraint("round_id", "org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("dispatch_round.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(10), default=ReportState.PENDING)
    investment_computed: Mapped[decimal.Decimal | None] = mapped_column(Numeric(16, 2))
    investment_reported: Mapped[decimal.Decimal | None] = mapped_column(Numeric(16, 2))
    adjust_reason: Mapped[str | None] = mapped_column(String(500))
    devices_new: Mapped[int | None]
    devices_replaced: Mapped[int | None]
    devices_disposed: Mapped[int | None]
    special_total: Mapped[int | None]
    special_overdue: Mapped[int | None]
    special_failed: Mapped[int | None]
    problems: Mapped[str | None] = mapped_column(Text)
    needs: Mapped[str | None] = mapped_column(Text)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[dt.datetime | None]
    submitted_on: Mapped[dt.date | None]

    organisation: Mapped[Organisation] = relationship(foreign_keys="RoundReport.org_id")

    @property
    def state_label(self) -> str:
        return ReportState.label_of(self.state)


class ProgrammeReport(TenantOwned, db.Model):
    """A numbered 专报 generated from a closed round; never changes once issued."""

    __tablename__ = "programme_report"
    __table_args__ = (
        UniqueConstraint("org_id", "year", "seq"),
        UniqueConstraint("round_id"),
    )
    __org_index__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("dispatch_round.id"))
    year: Mapped[int]
    seq: Mapped[int]
    number: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    figures: Mapped[dict] = mapped_column(JSON)
    docx: Mapped[bytes] = mapped_column(LargeBinary)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(default=clock.utcnow_naive)


class ReportImmutable(RuntimeError):
    """An issued 专报 was about to change."""


@event.listens_for(ProgrammeReport, "before_update")
def _refuse_report_change(mapper, connection, target) -> None:
    # The issued text is what the task force's leaders read: a correction is a new report.
    raise ReportImmutable(f"programme report {target.number} is issued and cannot change")
