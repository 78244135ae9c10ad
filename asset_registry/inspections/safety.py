"""The safety state of an asset: one derivation, read by every page, export and job.

A state says only what evidence shows: the asset's statutory duties and the inspection
records that set their dates, its open faults that stop it, and its status. Worst first:

==========  ===========================================================================
failed      a statutory duty's latest inspection failed, or a safety assessment failed,
            or a fixed vessel is at safety grade 5
overdue     a statutory duty's date, set by a recorded inspection, has passed
stopped     not in service (stopped, under repair, idle, awaiting disposal, disposed)
            or an open fault that stops it
unverified  a statutory duty with no recorded inspection: nobody has certified it
due_soon    a statutory duty falls due within its lead time
ok          every statutory duty certified by a passing record and current
none        no statutory duty (self-checks and maintenance are not statutory)
==========  ===========================================================================

The rule is the SQL expression `_state(today)`, and nothing else decides a state. Its
result is stored on the asset (`Asset.safety_state`, indexed) so the list filters and the
dashboards count it. `refresh` recomputes it set-based: after every flush that touches an
asset's duties, records, faults or status (a session hook, so no service can forget it),
for rows written in bulk (callers say `touch`), and once a day per organisation, since
dates alone move states: `ensure_current` brings an organisation whose day has not been
refreshed up to date before anything reads it, so a missed job never leaves a stale
state behind. Each page can say which records a state rests on (`explain`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, event, func, literal, or_, select, update
from sqlalchemy.orm import Session

from .. import clock
from ..assets.models import Asset, AssetStatus
from ..enums import LabelledEnum
from ..extensions import db
from ..tenancy.scope import Scope, use_scope
from . import rules
from .models import Fault, InspectionRecord, Obligation, SafetyRefresh

CHUNK = 500
_DIRTY_KEY = "safety_dirty_assets"


class SafetyState(LabelledEnum):
    FAILED = "failed"
    OVERDUE = "overdue"
    STOPPED = "stopped"
    UNVERIFIED = "unverified"
    DUE_SOON = "due_soon"
    OK = "ok"
    NONE = "none"

    @classmethod
    def labels(cls) -> dict:
        return {
            "failed": _l("检验不合格"),
            "overdue": _l("检验已过期"),
            "stopped": _l("暂停使用"),
            "unverified": _l("未录入检验记录"),
            "due_soon": _l("即将到期"),
            "ok": _l("检验合格"),
            "none": _l("无法定检验"),
        }


# the states in which a device must not be used, and those a passing record certifies
RED = frozenset({SafetyState.FAILED, SafetyState.OVERDUE, SafetyState.STOPPED})
CERTIFIED = frozenset({SafetyState.OK, SafetyState.DUE_SOON})
BADGE = {
    "failed": "danger", "overdue": "danger", "stopped": "danger", "unverified": "warning",
    "due_soon": "warning", "ok": "success", "none": "secondary",
}


# --------------------------------------------------------------------------- the rule


def _duty_facts(today: dt.date, where):
    """Per asset, one pass over its active duties (GROUP BY): which of the rule's facts
    hold. `where`: the assets concerned, as a criterion on `obligation.asset_id`."""
    o = Obligation.__table__
    t = literal(today, type_=db.Date)
    statutory = and_(o.c.statutory.is_(True), o.c.kind.not_in(rules.SELF_CHECK_KINDS))

    def flag(*conditions):
        return func.max(case((and_(*conditions), 1), else_=0))

    return (
        select(
            o.c.asset_id.label("asset_id"),
            flag(statutory, o.c.failed.is_(True)).label("failed"),
            # a failed 安全评估 / design-life assessment stops too (city plan annex, row 1)
            flag(o.c.kind.in_(rules.AUTO_KINDS), o.c.failed.is_(True)).label("assessed_bad"),
            flag(statutory, o.c.next_due < t).label("overdue"),
            # the design-life assessment is dated by the asset's registered design life,
            # not by a certificate: it is due then, and unverified by nobody's omission
            flag(statutory, o.c.last_done.is_(None), o.c.kind.not_in(rules.AUTO_KINDS))
            .label("unverified"),
            flag(statutory, rules.days_between(t, o.c.next_due) <= o.c.lead_days)
            .label("due_soon"),
            flag(statutory).label("statutory"),
        )
        .where(o.c.active.is_(True), where(o.c.asset_id))
        .group_by(o.c.asset_id)
        .subquery("duty_facts")
    )


def _states(today: dt.date, where):
    """THE derivation: (asset id, state) for the assets `where(asset.id)` selects, worst
    state first — one SELECT joining the duty facts and the stopping faults once."""
    a, f = Asset.__table__, Fault.__table__
    facts = _duty_facts(today, where)
    stopping = (
        select(f.c.asset_id).where(f.c.resolved_at.is_(None), f.c.stops.is_(True),
                                   where(f.c.asset_id))
        .group_by(f.c.asset_id).subquery("stopping")
    )

    def holds(column):
        return func.coalesce(column, 0) == 1

    state = case(
        (a.c.status == AssetStatus.DISPOSED.value, SafetyState.STOPPED.value),
        (or_(holds(facts.c.failed), holds(facts.c.assessed_bad),
             and_(a.c.vessel_grade == 5, a.c.special_code == rules.FIXED_VESSEL)),
         SafetyState.FAILED.value),
        (holds(facts.c.overdue), SafetyState.OVERDUE.value),
        (or_(a.c.status != AssetStatus.IN_SERVICE.value, stopping.c.asset_id.is_not(None)),
         SafetyState.STOPPED.value),
        (holds(facts.c.unverified), SafetyState.UNVERIFIED.value),
        (holds(facts.c.due_soon), SafetyState.DUE_SOON.value),
        (holds(facts.c.statutory), SafetyState.OK.value),
        else_=SafetyState.NONE.value,
    )
    return (
        select(a.c.id.label("id"), state.label("state"))
        .select_from(a.outerjoin(facts, facts.c.asset_id == a.c.id)
                     .outerjoin(stopping, stopping.c.asset_id == a.c.id))
        .where(where(a.c.id))
        .subquery("computed")
    )


def refresh(today: dt.date | None = None, *, asset_ids: Iterable[int] | None = None,
            org_ids: Iterable[int] | None = None) -> int:
    """Recompute and store the state of the given assets (or of every asset of the given
    organisations): one UPDATE … FROM the computed states per 500 ids (or per set of
    organisations), writing only the rows that change. Core statements under the caller's
    session; derived data, so not audited. Returns the number of assets changed."""
    today = today or clock.today()
    a = Asset.__table__
    session = db.session
    changed = 0
    if asset_ids is not None:
        ids = sorted(set(asset_ids))
        batches = [
            (lambda column, chunk=ids[i:i + CHUNK]: column.in_(chunk))
            for i in range(0, len(ids), CHUNK)
        ]
    else:
        orgs = sorted(set(org_ids or ()))
        batches = [lambda column: column.in_(select(a.c.id).where(a.c.org_id.in_(orgs))
                                             .scalar_subquery())]
    for where in batches:
        computed = _states(today, where)
        result = session.execute(
            update(a).where(a.c.id == computed.c.id, a.c.safety_state != computed.c.state)
            .values(safety_state=computed.c.state),
            execution_options={"preserve_rowcount": True},
        )
        changed += max(result.rowcount or 0, 0)
    _expire_loaded(session, None if asset_ids is None else set(asset_ids))
    return changed


def _expire_loaded(session: Session, ids: set[int] | None) -> None:
    """ORM copies in this session carry the old state: reload it when next read."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Asset) and (ids is None or obj.id in ids):
            session.expire(obj, ["safety_state"])


def refresh_day(today: dt.date | None = None, org_ids: Iterable[int] | None = None) -> int:
    """Bring every asset of the organisations (default: all) to `today`'s state and note
    the day: the daily job, and the catch-up of `ensure_current`. Under the system scope
    (derived data of every organisation named)."""
    today = today or clock.today()
    from ..tenancy.models import Organisation

    with use_scope(Scope.system()):
        if org_ids is None:
            org_ids = db.session.scalars(select(Organisation.id)).all()
        org_ids = sorted(set(org_ids))
        changed = 0
        for start in range(0, len(org_ids), 50):
            chunk = org_ids[start:start + 50]
            changed += refresh(today, org_ids=chunk)
            _note_day(chunk, today)
    return changed


def _note_day(org_ids: list[int], today: dt.date) -> None:
    table = SafetyRefresh.__table__
    session = db.session
    now = clock.utcnow_naive()
    known = set(session.scalars(select(table.c.org_id).where(table.c.org_id.in_(org_ids))))
    if known:
        session.execute(update(table).where(table.c.org_id.in_(known))
                        .values(as_of=today, refreshed_at=now))
    fresh = [{"org_id": i, "as_of": today, "refreshed_at": now} for i in org_ids
             if i not in known]
    if fresh:
        session.execute(table.insert(), fresh)


def _visible_org_ids(scope: Scope) -> list[int]:
    from ..tenancy.models import Organisation

    with use_scope(Scope.system()):
        stmt = select(Organisation.id).where(scope.org_criteria(Organisation.id))
        return list(db.session.scalars(stmt))


def ensure_current(scope: Scope, today: dt.date | None = None) -> None:
    """Before states are read in `scope`: refresh the organisations whose stored states
    are not of `today` (one small query when they all are)."""
    today = today or clock.today()
    table = SafetyRefresh.__table__
    with use_scope(Scope.system()):
        orgs = _visible_org_ids(scope) if scope.org_ids is not None else None
        stmt = select(table.c.org_id).where(table.c.as_of == today)
        if orgs is not None:
            stmt = stmt.where(table.c.org_id.in_(orgs))
        current = set(db.session.scalars(stmt))
        if orgs is None:
            from ..tenancy.models import Organisation

            orgs = list(db.session.scalars(select(Organisation.id)))
        behind = [i for i in orgs if i not in current]
        if behind:
            refresh_day(today, behind)


def as_of(org_id: int) -> dt.date | None:
    with use_scope(Scope.system()):
        return db.session.scalar(
            select(SafetyRefresh.as_of).where(SafetyRefresh.org_id == org_id)
        )


# --------------------------------------------------------------------------- the hook


def touch(session: Session, asset_ids: Iterable[int]) -> None:
    """Bulk writers (Core statements) name the assets they changed: their states are
    recomputed at the end of the session's next flush."""
    session.info.setdefault(_DIRTY_KEY, set()).update(asset_ids)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, flush_context) -> None:
    dirty = session.info.setdefault(_DIRTY_KEY, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Asset):
            dirty.add(obj.id)
        elif isinstance(obj, Obligation | InspectionRecord | Fault):
            dirty.add(obj.asset_id)


@event.listens_for(Session, "after_flush_postexec")
def _recompute(session: Session, flush_context) -> None:
    dirty = session.info.pop(_DIRTY_KEY, None)
    if dirty:
        _refresh_now(session, dirty)


def flush_touched(session: Session | None = None) -> None:
    """Recompute what `touch` noted without waiting for a flush (bulk writers that end
    with Core statements)."""
    session = session or db.session()
    dirty = session.info.pop(_DIRTY_KEY, None)
    if dirty:
        _refresh_now(session, dirty)


def _refresh_now(session: Session, dirty: set) -> None:
    ids = {i for i in dirty if i is not None}
    if ids:
        refresh(clock.today(), asset_ids=ids)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    flush_touched(session)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_DIRTY_KEY, None)


# --------------------------------------------------------------------------- reading


def label(state: str) -> str:
    return SafetyState.label_of(state, default=state)


def counted():
    """The assets the dashboards count by state (and the list's state filter matches)."""
    return Asset.status != AssetStatus.DISPOSED.value


def state_filter(state: str):
    return and_(Asset.safety_state == state, counted())


@dataclass
class Explanation:
    """A state with the evidence it rests on, for the pages that show one asset."""

    state: str
    as_of: dt.date | None
    reasons: list[str] = field(default_factory=list)
    # the next inspection date a passing record certifies, and who certified it
    certified_until: dt.date | None = None
    certified_by: str | None = None
    certified_on: dt.date | None = None
    certified_report: str | None = None
    has_statutory: bool = False

    @property
    def label(self) -> str:
        return label(self.state)

    @property
    def red(self) -> bool:
        return self.state in RED

    @property
    def badge(self) -> str:
        return BADGE.get(self.state, "secondary")


def explain(asset: Asset, today: dt.date | None = None) -> Explanation:
    """The asset's stored state and the records behind it (a few small queries). The
    caller's scope must see the asset (the public page uses the asset's organisation)."""
    today = today or clock.today()
    db.session.refresh(asset, ["safety_state", "status"])
    found = Explanation(asset.safety_state, as_of(asset.org_id))
    duties = db.session.scalars(
        select(Obligation).where(
            Obligation.asset_id == asset.id, Obligation.active.is_(True),
            Obligation.statutory.is_(True), Obligation.kind.not_in(rules.SELF_CHECK_KINDS),
        ).order_by(Obligation.next_due, Obligation.id)
    ).all()
    found.has_statutory = bool(duties)
    assessments = db.session.scalars(
        select(Obligation).where(
            Obligation.asset_id == asset.id, Obligation.active.is_(True),
            Obligation.statutory.is_(False), Obligation.kind.in_(rules.AUTO_KINDS),
            Obligation.failed.is_(True),
        )
    ).all()
    for duty in [*duties, *assessments]:
        if duty.failed:
            latest = _latest_conclusion(duty)
            if latest == rules.RECTIFY:
                found.reasons.append(_("待整改确认：%(duty)s（%(day)s 检验结论为整改后运行）",
                                       duty=duty.name, day=duty.last_done or "—"))
            else:
                found.reasons.append(_("检验不合格：%(duty)s（%(day)s）", duty=duty.name,
                                       day=duty.last_done or "—"))
        elif duty.next_due is not None and duty.next_due < today:
            found.reasons.append(_("检验已过期：%(duty)s，自 %(day)s 起", duty=duty.name,
                                   day=duty.next_due))
    if asset.vessel_grade == 5 and asset.special_code == rules.FIXED_VESSEL:
        found.reasons.append(_("安全状况等级 5 级"))
    faults = db.session.scalars(
        select(Fault).where(Fault.asset_id == asset.id, Fault.resolved_at.is_(None),
                            Fault.stops.is_(True)).order_by(Fault.reported_at)
    ).all()
    for fault in faults:
        found.reasons.append(_("故障停机：%(severity)s故障，%(day)s 报告",
                               severity=fault.severity_label,
                               day=clock.local(fault.reported_at).date()))
    if asset.status != AssetStatus.IN_SERVICE:
        found.reasons.append(_("停用：设备状态为“%(status)s”", status=asset.status_label))
    if found.state in CERTIFIED and duties:
        certified = (d for d in duties if d.next_due is not None and d.last_done is not None
                     and d.kind not in rules.AUTO_KINDS)
        first = min(certified, key=lambda d: d.next_due, default=None)
        record = first and db.session.scalars(
            select(InspectionRecord).where(
                InspectionRecord.obligation_id == first.id,
                InspectionRecord.passed.is_(True),
            ).order_by(InspectionRecord.inspected_on.desc(), InspectionRecord.id.desc())
            .limit(1)
        ).first()
        if record is not None:
            found.certified_until = first.next_due
            found.certified_by = record.agency
            found.certified_on = record.inspected_on
            found.certified_report = record.report_no
    return found


def _latest_conclusion(duty: Obligation) -> str | None:
    return db.session.scalar(
        select(InspectionRecord.conclusion)
        .where(InspectionRecord.obligation_id == duty.id)
        .order_by(InspectionRecord.inspected_on.desc(), InspectionRecord.id.desc()).limit(1)
    )


def restrictions(asset: Asset) -> list[str]:
    """The conditions of current 限制条件运行 reports (shown to staff at the device)."""
    rows = db.session.execute(
        select(Obligation.name, InspectionRecord.problems, InspectionRecord.inspected_on)
        .join(InspectionRecord, InspectionRecord.obligation_id == Obligation.id)
        .where(Obligation.asset_id == asset.id, Obligation.active.is_(True),
               InspectionRecord.conclusion == rules.RESTRICTED,
               InspectionRecord.inspected_on == Obligation.last_done)
    ).all()
    return [_("限制条件运行（%(duty)s，%(day)s）：%(conditions)s", duty=name, day=day,
              conditions=problems or "—") for name, problems, day in rows]


def states_of(asset_ids: list[int]) -> dict[int, str]:
    """Stored states of many assets (for lists), a query per 500 ids."""
    out: dict[int, str] = {}
    for start in range(0, len(asset_ids), CHUNK):
        rows = db.session.execute(
            select(Asset.id, Asset.safety_state)
            .where(Asset.id.in_(asset_ids[start:start + CHUNK]))
        )
        out.update((asset_id, state) for asset_id, state in rows)
    return out


def counts_by_org(scope: Scope, today: dt.date | None = None) -> dict[int, dict[str, int]]:
    """Per organisation in `scope`: assets per state (disposed ones not counted). The
    same column and criterion as the list's state filter, so the two always agree."""
    ensure_current(scope, today)
    from sqlalchemy import func

    rows = db.session.execute(
        select(Asset.org_id, Asset.safety_state, func.count(Asset.id))
        .where(counted()).group_by(Asset.org_id, Asset.safety_state)
    ).all()
    out: dict[int, dict[str, int]] = {}
    for org_id, state, count in rows:
        out.setdefault(org_id, {s.value: 0 for s in SafetyState})[state] = int(count)
    return out
