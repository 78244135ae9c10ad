"""Inspections services: obligations, inspection records, must-not-run, compliance,
faults, self-checks and the renewal priority.

They take the scope explicitly, flush, and never commit. The rules themselves
(intervals, conclusions, what blocks an asset) live in `rules.py`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import (
    Integer,
    Select,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import contains_eager, joinedload

from .. import clock
from ..assets.models import Asset, AssetStatus, Attachment, StatusChange
from ..audit.hooks import audit_rows
from ..bulk import audit_many, insert_many, reserve_ids
from ..catalog.models import Category, ObligationTemplate
from ..enums import Role
from ..extensions import db
from ..inputs import InputError, read_amount, read_date, read_int, read_text
from ..tenancy.models import Organisation
from ..tenancy.scope import Scope
from . import rules, safety
from .models import Fault, FaultSeverity, InspectionRecord, Obligation, ObligationKind

CHUNK = 500
METHODS = ("form", "scan", "import", "api")
DUE_WINDOWS = (30, 60, 90)
# A stop written by this module starts with this mark, so a passing inspection
# restarts only what an inspection stopped (not a manager's own decision).
STOP_MARK = "法定检验"


class InspectionError(InputError):
    """Bad input on an inspection, a self-check or a fault."""


# --------------------------------------------------------------------------- coercion


def _date(data: Mapping, key: str) -> dt.date | None:
    return read_date(data, key, error=InspectionError)


def _text(data: Mapping, key: str, limit: int) -> str | None:
    return read_text(data, key, limit, error=InspectionError)


def _int(data: Mapping, key: str, lo: int, hi: int) -> int | None:
    return read_int(data, key, lo, hi, error=InspectionError)


def _amount(data: Mapping, key: str, places: str) -> decimal.Decimal | None:
    return read_amount(data, key, error=InspectionError, places=places)


def _check_writable(scope: Scope, asset: Asset) -> None:
    if not scope.writable or not scope.contains_org(asset.org_id):
        raise InspectionError(None, _("无权为该设备登记。"))


def _plain(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# --------------------------------------------------------------------------- obligations


@dataclass(frozen=True)
class AssetFacts:
    """What the default-duty rules read about one asset (`_planned`)."""

    id: int
    org_id: int
    category_id: int | None
    base: dt.date | None
    design_life_end: dt.date | None
    is_special: bool
    special_code: str | None
    vessel_grade: int | None
    radiation: bool
    metrology: bool
    # the design life was given for this asset (nameplate, manual, registration), not
    # taken from its category's default: only then can reaching it stop the device
    own_design_life: bool = False

    @property
    def plan_signature(self) -> tuple:
        """Everything `_planned` reads: equal signatures, equal duties."""
        return (
            self.category_id,
            self.base,
            self.design_life_end,
            self.is_special,
            self.special_code,
            self.vessel_grade,
            self.radiation,
            self.metrology,
            self.own_design_life,
        )


def _asset_facts(asset_ids: list[int]) -> list[AssetFacts]:
    out = []
    for start in range(0, len(asset_ids), CHUNK):
        rows = db.session.execute(
            select(
                Asset.id,
                Asset.org_id,
                Asset.category_id,
                func.coalesce(Asset.commissioned_on, Asset.purchase_date),
                Asset.design_life_end,
                Asset.is_special,
                func.coalesce(Asset.special_code, Category.special_code),
                Asset.vessel_grade,
                Asset.radiation,
                Asset.metrology,
                and_(Asset.design_life_years.is_not(None),
                     Asset.design_life_from_category.is_(False)),
            )
            .outerjoin(Category, Category.id == Asset.category_id)
            .where(Asset.id.in_(asset_ids[start : start + CHUNK]))
        ).all()
        out.extend(AssetFacts(*row) for row in rows)
    return out


@dataclass(frozen=True, slots=True)
class DutyRule:
    """An obligation template read once for many assets: plain attributes, and the
    columns every duty made from it shares."""

    id: int
    kind: str
    condition: str | None
    interval_months: int | None
    interval_days: int | None
    first_within_months: int | None
    columns: dict

    @classmethod
    def of(cls, template: ObligationTemplate) -> DutyRule:
        return cls(
            id=template.id,
            kind=template.kind,
            condition=template.condition,
            interval_months=template.interval_months,
            interval_days=template.interval_days,
            first_within_months=template.first_within_months,
            columns={
                "template_id": template.id,
                "kind": template.kind,
                "name": template.name,
                "interval_months": template.interval_months,
                "interval_days": template.interval_days,
                "lead_days": template.lead_days,
                "statutory": template.statutory,
                "conclusion_set": template.conclusion_set,
                "checklist": template.checklist,
                "critical_items": template.critical_items,
            },
        )


def _templates_by_category() -> dict[int, list[DutyRule]]:
    """Each category's effective templates: its own, else the nearest ancestor's
    (reference data: two small queries for any number of assets)."""
    parents = dict(db.session.execute(select(Category.id, Category.parent_id)).all())
    own: dict[int, list[DutyRule]] = {}
    for template in db.session.scalars(select(ObligationTemplate).order_by(ObligationTemplate.id)):
        own.setdefault(template.category_id, []).append(DutyRule.of(template))
    effective: dict[int, list[DutyRule]] = {}
    for category_id in parents:
        node, seen = category_id, set()
        while node is not None and node not in own and node not in seen:
            seen.add(node)
            node = parents.get(node)
        effective[category_id] = own.get(node, []) if node is not None else []
    return effective


def _applies(rule: DutyRule, facts: AssetFacts) -> bool:
    if rule.condition == "radiation":
        return facts.radiation
    if rule.condition == "metrology":
        return facts.metrology
    return True


def _planned(facts: AssetFacts, rules_: list[DutyRule], today: dt.date) -> dict:
    """The duties an asset should carry, keyed ("t", template id) or ("k", kind)."""
    base = facts.base or today
    plan: dict[tuple, dict] = {}
    for rule in rules_:
        if not _applies(rule, facts):
            continue
        months = rule.interval_months
        if rules.grade_governs(rule.kind, facts.special_code):
            months = rules.grade_interval(facts.vessel_grade, months)
        plan[("t", rule.id)] = {
            **rule.columns,
            "interval_months": months,
            # a statutory date comes only from a recorded inspection (safety.py): until
            # one is entered the duty has none and the asset is "unverified"; the
            # institution's own schedules (self-checks, maintenance) start from the base
            "next_due": None
            if rule.columns["statutory"]
            else rules.first_due(
                base,
                today,
                first_months=rule.first_within_months,
                months=months,
                days=rule.interval_days,
            ),
        }
    auto = {
        "template_id": None,
        "interval_months": None,
        "interval_days": None,
        "lead_days": 90,
        "conclusion_set": "general",
        "checklist": None,
        "critical_items": None,
    }
    if facts.is_special and facts.design_life_end is not None and facts.own_design_life:
        # 达到设计使用年限: inspection or safety assessment before continued use
        plan[("k", ObligationKind.DESIGN_LIFE_ASSESSMENT.value)] = {
            **auto,
            "kind": ObligationKind.DESIGN_LIFE_ASSESSMENT.value,
            "name": "达到设计使用年限检验/安全评估",
            "statutory": True,
            "next_due": facts.design_life_end,
        }
    own_end = facts.design_life_end if facts.own_design_life else None
    if rules.is_vessel(facts.special_code) and (facts.base or own_end):
        candidates = [own_end]
        if facts.base is not None:
            candidates.append(rules.add_years(facts.base, rules.VESSEL_RISK_YEARS))
        plan[("k", ObligationKind.RISK_ASSESSMENT.value)] = {
            **auto,
            "kind": ObligationKind.RISK_ASSESSMENT.value,
            "name": "安全风险评估（使用超20年或超设计使用年限）",
            "statutory": False,
            "next_due": min(d for d in candidates if d is not None),
        }
    return plan


def _key(obligation_template_id: int | None, kind: str) -> tuple:
    return ("t", obligation_template_id) if obligation_template_id else ("k", kind)


def _obligation_ids(asset_ids: list[int]) -> dict[tuple, int]:
    """(asset id, duty key) → obligation id for the given assets, a chunk at a time."""
    # No tenant criterion here: with `org_id IN (…)` added SQLite prefers the org_id
    # index over asset_id and reads every duty of the organisation for each chunk
    # (quadratic: 10 s of a 100,000-row import). The rows are keyed by the caller's
    # asset ids, which it holds in its scope, and only decide what to insert for them.
    ids = {}
    for start in range(0, len(asset_ids), CHUNK):
        rows = db.session.execute(
            select(Obligation.id, Obligation.asset_id, Obligation.template_id, Obligation.kind)
            .where(Obligation.asset_id.in_(asset_ids[start : start + CHUNK]))
            .execution_options(all_tenants=True)
        ).all()
        ids.update(((asset_id, _key(tid, kind)), oid) for oid, asset_id, tid, kind in rows)
    return ids


class DefaultDuties:
    """The default duties of new assets, planned without touching the database (the
    templates are read once): for bulk writers that insert the rows themselves.

        duties = DefaultDuties()
        rows, audit_after = duties.plan(facts)   # obligation rows, audit "after" values
    """

    MEMO_LIMIT = 5_000

    def __init__(self) -> None:
        self.today = clock.today()
        self.templates = _templates_by_category()
        # Assets that share a category, dates and flags share their duties.
        self._plans: dict[tuple, list[tuple[tuple, dict, dict]]] = {}

    def plan(
        self, facts: list[AssetFacts], existing: Mapping[tuple, int] | None = None
    ) -> tuple[list[dict], list[dict]]:
        """Rows to insert for duties the assets lack (`existing`: (asset id, key) → id)."""
        rows, audit_after = [], []
        for fact in facts:
            signature = fact.plan_signature
            planned = self._plans.get(signature)
            if planned is None:
                plan = _planned(fact, self.templates.get(fact.category_id, []), self.today)
                planned = [
                    (key, duty, {k: _plain(v) for k, v in duty.items() if v is not None})
                    for key, duty in plan.items()
                ]
                if len(self._plans) < self.MEMO_LIMIT:
                    self._plans[signature] = planned
            for key, duty, after in planned:
                if existing is None or (fact.id, key) not in existing:
                    rows.append({"org_id": fact.org_id, "asset_id": fact.id, **duty})
                    audit_after.append(after)
        return rows, audit_after


def duty_insert(ids: list[int], rows: list[dict]) -> tuple[list[str], list[tuple]]:
    """(keys, parameter tuples) inserting planned duty `rows` with the given ids."""
    keys = list(rows[0]) if rows else []
    return ["id", *keys], [
        (oid, *(row[k] for k in keys)) for oid, row in zip(ids, rows, strict=True)
    ]


def duty_audit(ids: list[int], rows: list[dict], audit_after: list[dict]) -> list[dict]:
    """The audit rows of duties just inserted with `ids`."""
    return [
        {
            "org_id": row["org_id"],
            "entity": Obligation.__tablename__,
            "entity_id": oid,
            "action": "create",
            "changes": {
                "before": {},
                "after": {"org_id": row["org_id"], "asset_id": row["asset_id"], **after},
            },
        }
        for oid, row, after in zip(ids, rows, audit_after, strict=True)
    ]


def create_default_obligations(asset_ids: list[int]) -> int:
    """Give freshly created or imported assets their default duties, set-based: a few
    reference queries, one SELECT per 500 assets, one executemany INSERT, and the
    audit rows in bulk. Duties an asset already has (active or not) are kept.
    Returns the number of obligations created."""
    asset_ids = sorted(set(asset_ids))
    if not asset_ids:
        return 0
    db.session.flush()
    rows, audit_after = DefaultDuties().plan(_asset_facts(asset_ids), _obligation_ids(asset_ids))
    if not rows:
        return 0
    table = Obligation.__table__
    connection = db.session.connection()
    # A plain executemany with ids reserved first: INSERT … RETURNING in parameter
    # order makes SQLAlchemy send one statement per row on SQLite.
    ids = reserve_ids(connection, table, len(rows))
    insert_many(connection, table, *duty_insert(ids, rows))
    audit_many(db.session, duty_audit(ids, rows, audit_after))
    safety.touch(db.session, asset_ids)
    safety.flush_touched()
    return len(rows)


def sync_obligations(scope: Scope, asset: Asset) -> None:
    """Create/refresh the asset's obligations from its category's templates.

    On re-categorisation (or a changed flag, date or vessel grade) duties that no
    longer apply are deactivated, ones that apply again are reactivated, untouched
    ones follow the new rule, and duties a manager edited are left as they are."""
    db.session.flush()
    today = clock.today()
    facts = _asset_facts([asset.id])
    if not facts:
        return
    plan = _planned(facts[0], _templates_by_category().get(facts[0].category_id, []), today)
    current = db.session.scalars(select(Obligation).where(Obligation.asset_id == asset.id)).all()
    for obligation in current:
        duty = plan.get(_key(obligation.template_id, obligation.kind))
        if obligation.customised:
            continue
        if duty is None:
            obligation.active = False
            continue
        obligation.active = True
        obligation.interval_months = duty["interval_months"]
        if obligation.last_done is None:
            obligation.next_due = duty["next_due"]
    db.session.flush()
    create_default_obligations([asset.id])


def obligations_of(scope: Scope, asset: Asset, *, include_inactive: bool = False):
    stmt = select(Obligation).where(Obligation.asset_id == asset.id)
    if not include_inactive:
        stmt = stmt.where(Obligation.active.is_(True))
    return list(
        db.session.scalars(
            stmt.order_by(Obligation.statutory.desc(), Obligation.next_due, Obligation.id)
        )
    )


def get_obligation(scope: Scope, obligation_id: int) -> Obligation | None:
    return db.session.scalars(
        select(Obligation)
        .where(Obligation.id == obligation_id)
        .options(joinedload(Obligation.asset).joinedload(Asset.organisation))
    ).one_or_none()


def _lines(raw) -> list[str]:
    if isinstance(raw, str):
        raw = raw.splitlines()
    return [str(i).strip() for i in (raw or []) if str(i).strip()]


def update_obligation(scope: Scope, obligation: Obligation, data: Mapping) -> Obligation:
    """A manager's per-asset edit of interval, lead time, checklist and its safety-critical
    items. Never the next date: that comes from a recorded inspection (`record_inspection`),
    so nobody can move what the safety mark shows by editing a duty."""
    _check_writable(scope, obligation.asset)
    months = _int(data, "interval_months", 1, 240)
    days = _int(data, "interval_days", 1, 3650)
    lead = _int(data, "lead_days", 0, 365)
    items = _lines(data.get("checklist"))
    critical = _lines(data.get("critical_items"))
    if set(critical) - set(items):
        raise InspectionError(
            "critical_items",
            _("安全关键项必须是检查表中的项目：%(items)s",
              items="、".join(sorted(set(critical) - set(items)))),
        )
    if len(items) > 30:
        raise InspectionError("checklist", _("检查项最多 30 条。"))
    if any(len(i) > 100 for i in items):
        raise InspectionError("checklist", _("每条检查项最多 100 个字符。"))
    if len(set(items)) != len(items):
        raise InspectionError("checklist", _("检查项不能重复。"))
    if months and days:
        raise InspectionError("interval_days", _("周期请只填写月数或天数其中之一。"))
    obligation.interval_months = months
    obligation.interval_days = days
    obligation.lead_days = lead if lead is not None else obligation.lead_days
    obligation.checklist = items or None
    obligation.critical_items = critical or None
    obligation.active = bool(data.get("active", True)) and data.get("active") not in ("", "0")
    obligation.customised = True
    db.session.flush()
    return obligation


# --------------------------------------------------------------------------- must not run


def _blocking(asset_id: int, today: dt.date) -> list[Obligation]:
    return list(
        db.session.scalars(
            select(Obligation)
            .where(Obligation.asset_id == asset_id, rules.blocking_clause(today))
            .order_by(Obligation.id)
        )
    )


def _out_of_use_vessel(asset: Asset) -> bool:
    return asset.vessel_grade == 5 and rules.is_fixed_vessel(asset.special_code)


def _stopped_by_inspection(reason: str | None) -> bool:
    """Whether the asset's last stop (its reason) was an inspection's doing."""
    return bool(reason) and (reason.startswith(STOP_MARK) or reason.startswith(_("法定检验")))


def _last_stop_reasons(asset_ids: list[int]) -> dict[int, str | None]:
    """The reason of each asset's latest change to "stopped" (a query per 500 assets)."""
    reasons: dict[int, str | None] = {}
    for start in range(0, len(asset_ids), CHUNK):
        rows = db.session.execute(
            select(StatusChange.asset_id, StatusChange.reason)
            .where(
                StatusChange.asset_id.in_(asset_ids[start : start + CHUNK]),
                StatusChange.to_status == AssetStatus.STOPPED,
            )
            .order_by(StatusChange.asset_id, StatusChange.at, StatusChange.id)
        )
        for asset_id, reason in rows:  # the latest of each asset comes last
            reasons[asset_id] = reason
    return reasons


def _stop_reason(names: list[str]) -> str:
    return _("法定检验不合格或逾期，停止运行：%(items)s", items="、".join(names))[:500]


def _refresh_run_states(
    assets: list[Asset], user_id: int | None, today: dt.date, *, evidence=None
) -> None:
    """Stop each in-service asset that must not run; restart one an inspection stopped
    once nothing keeps it stopped any more, naming the record (`evidence`) that lifted
    it. A query per 500 assets, not per asset."""
    ids = [asset.id for asset in assets]
    blocking: dict[int, list[str]] = {}
    for start in range(0, len(ids), CHUNK):
        rows = db.session.execute(
            select(Obligation.asset_id, Obligation.name)
            .where(
                Obligation.asset_id.in_(ids[start : start + CHUNK]), rules.blocking_clause(today)
            )
            .order_by(Obligation.asset_id, Obligation.id)
        )
        for asset_id, name in rows:
            blocking.setdefault(asset_id, []).append(name)
    stopped = [a.id for a in assets if a.status == AssetStatus.STOPPED and a.id not in blocking]
    reasons = _last_stop_reasons(stopped) if stopped else {}
    for asset in assets:
        names = list(blocking.get(asset.id, []))
        if _out_of_use_vessel(asset):
            names.append(_("安全状况等级 5 级"))
        if names and asset.status == AssetStatus.IN_SERVICE:
            _set_status(asset, AssetStatus.STOPPED, _stop_reason(names), user_id)
        elif (
            not names
            and asset.status == AssetStatus.STOPPED
            and _stopped_by_inspection(reasons.get(asset.id))
        ):
            reason = _("法定检验合格，恢复运行")
            if evidence is not None:
                reason += _("（%(day)s，报告编号 %(no)s，记录 #%(id)s）", day=evidence.inspected_on,
                            no=evidence.report_no or "—", id=evidence.id)
            _set_status(asset, AssetStatus.IN_SERVICE, reason[:500], user_id)


def _set_status(asset: Asset, to_status: str, reason: str, user_id: int | None) -> None:
    db.session.add(
        StatusChange(
            org_id=asset.org_id,
            asset_id=asset.id,
            from_status=asset.status,
            to_status=str(to_status),
            reason=reason,
            user_id=user_id,
        )
    )
    asset.status = str(to_status)


def enforce_must_not_run(today: dt.date | None = None) -> int:
    """Stop every in-service asset with a failed or overdue statutory duty, set-based
    (one SELECT, one UPDATE, one multi-row INSERT of status changes, audit in bulk).
    Meant for the daily job under the system scope. Returns the number stopped."""
    today = today or clock.today()
    db.session.flush()
    rows = db.session.execute(
        select(Asset.id, Asset.org_id, Obligation.name)
        .join(Obligation, Obligation.asset_id == Asset.id)
        .where(Asset.status == AssetStatus.IN_SERVICE, rules.blocking_clause(today))
        .order_by(Asset.id, Obligation.id)
    ).all()
    by_asset: dict[int, tuple[int, list[str]]] = {}
    for asset_id, org_id, name in rows:
        by_asset.setdefault(asset_id, (org_id, []))[1].append(name)
    if not by_asset:
        return 0
    now = clock.utcnow_naive()
    ids = sorted(by_asset)
    asset_table = Asset.__table__
    for start in range(0, len(ids), CHUNK):
        db.session.execute(
            update(asset_table)
            .where(
                asset_table.c.id.in_(ids[start : start + CHUNK]),
                asset_table.c.status == AssetStatus.IN_SERVICE,
            )
            .values(status=AssetStatus.STOPPED.value, updated_at=now)
        )
    changes = [
        {
            "org_id": by_asset[i][0],
            "asset_id": i,
            "at": now,
            "from_status": AssetStatus.IN_SERVICE.value,
            "to_status": AssetStatus.STOPPED.value,
            "reason": _stop_reason(by_asset[i][1]),
            "user_id": None,
        }
        for i in ids
    ]
    table = StatusChange.__table__
    change_ids = (
        db.session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), changes
        )
        .scalars()
        .all()
    )
    audit = []
    for change_id, change in zip(change_ids, changes, strict=True):
        audit.append(
            {
                "org_id": change["org_id"],
                "entity": asset_table.name,
                "entity_id": change["asset_id"],
                "action": "update",
                "changes": {"before": {"status": "in_service"}, "after": {"status": "stopped"}},
            }
        )
        audit.append(
            {
                "org_id": change["org_id"],
                "entity": table.name,
                "entity_id": change_id,
                "action": "create",
                "changes": {
                    "before": {},
                    "after": {
                        k: _plain(v) for k, v in change.items() if k != "at" and v is not None
                    },
                },
            }
        )
    audit_rows(db.session, audit)
    safety.touch(db.session, ids)
    safety.flush_touched()
    # ORM copies of these assets in this session are stale now
    db.session.expire_all()
    return len(ids)


def valid_until(asset: Asset) -> dt.date | None:
    """The next inspection date a recorded passing inspection certifies (None when no
    record does: unverified, failed, overdue or stopped). See safety.explain."""
    return safety.explain(asset).certified_until


def must_not_run(asset: Asset, today: dt.date | None = None) -> bool:
    return safety.explain(asset, today).red


# --------------------------------------------------------------------------- records


def conclusions_for(obligation: Obligation) -> list[str]:
    return list(rules.CONCLUSIONS.get(obligation.conclusion_set, rules.CONCLUSIONS["general"]))


@dataclass
class _Inspection:
    """An inspection decided (every rule checked) before anything is written."""

    values: dict  # the InspectionRecord's columns
    passed: bool
    governed: bool  # the vessel's safety grade sets the cycle
    months: int | None


def _decide(
    obligation: Obligation,
    asset: Asset,
    data: Mapping,
    today: dt.date,
    *,
    method: str,
    user_id: int | None,
) -> _Inspection:
    """The record an inspection makes and what it means for the duty (raises
    InspectionError). All rules but the report-number check, which needs the database."""
    if not obligation.active:
        raise InspectionError(None, _("该检验项目已停用。"))
    if method not in METHODS:
        raise InspectionError("method", _("登记方式无效。"))
    inspected_on = _date(data, "inspected_on")
    if inspected_on is None:
        raise InspectionError("inspected_on", _("请填写检验日期。"))
    if inspected_on > today:
        raise InspectionError("inspected_on", _("检验日期不能晚于今天。"))
    if inspected_on < rules.EARLIEST_INSPECTION:
        raise InspectionError(
            "inspected_on",
            _("检验日期不能早于 %(day)s。", day=rules.EARLIEST_INSPECTION.isoformat()),
        )
    conclusion = _text(data, "conclusion", 30)
    allowed = rules.CONCLUSIONS.get(obligation.conclusion_set, rules.CONCLUSIONS["general"])
    if conclusion not in allowed:
        raise InspectionError(
            "conclusion",
            _(
                "检验结论“%(c)s”不适用于该检验项目，可选：%(options)s。",
                c=conclusion or "",
                options="、".join(allowed),
            ),
        )
    if conclusion == rules.RESTRICTED and not _text(data, "problems", 5000):
        raise InspectionError("problems", _("限制条件运行：请在“主要问题”中写明运行的限制条件。"))
    next_due = _date(data, "next_due")
    if next_due is not None and next_due <= inspected_on:
        raise InspectionError("next_due", _("下次检验日期必须晚于检验日期。"))
    report_no = _text(data, "report_no", 100)
    agency = _text(data, "agency", 200)
    if obligation.statutory and not report_no:
        raise InspectionError("report_no", _("法定检验须填写检验报告编号。"))
    if obligation.statutory and not agency:
        raise InspectionError("agency", _("法定检验须填写检验机构。"))
    grade = _int(data, "safety_grade", 1, 5)
    governed = rules.grade_governs(obligation.kind, asset.special_code)
    effective_grade = grade if grade is not None else asset.vessel_grade
    months = obligation.interval_months
    if governed and not obligation.customised:
        months = rules.grade_interval(effective_grade, months)
    passed = allowed[conclusion] and not (governed and effective_grade == 5)
    if next_due is None and passed:
        if governed and effective_grade == 4:
            raise InspectionError(
                "next_due", _("安全状况等级为 4 级的压力容器，下次检验日期由检验机构确定，请填写。")
            )
        next_due = rules.after(inspected_on, months, obligation.interval_days)
    if next_due is not None:
        latest = rules.longest_next_due(inspected_on, months, obligation.interval_days, governed)
        if next_due > latest:
            raise InspectionError(
                "next_due",
                _("下次检验日期不能晚于 %(day)s（检验日期后一个最长检验周期）。",
                  day=latest.isoformat()),
            )
    inspection_type = _text(data, "inspection_type", 30)
    if inspection_type is not None and inspection_type not in rules.INSPECTION_TYPES:
        raise InspectionError("inspection_type", _("请选择有效的检验类别。"))
    values = {
        "org_id": asset.org_id,
        "asset_id": asset.id,
        "obligation_id": obligation.id,
        "inspected_on": inspected_on,
        "inspection_type": inspection_type,
        "report_no": report_no,
        "conclusion": conclusion,
        "passed": passed,
        "next_due": next_due,
        "safety_grade": grade,
        "checklist_results": data.get("checklist_results"),
        "agency": agency,
        "problems": _text(data, "problems", 5000),
        "method": method,
        "user_id": user_id,
    }
    return _Inspection(values, passed, governed, months)


# Who may certify a statutory inspection: the institution's own managers and inspectors
# (and jobs and imports under the system scope), never a bureau, the regulator or the
# city admin on the institution's behalf.
CERTIFYING_ROLES = (Role.INSTITUTION_MANAGER.value, Role.INSTITUTION_STAFF.value, "system")


def _check_may_certify(scope: Scope, obligation: Obligation) -> None:
    if obligation.statutory and str(scope.role) not in CERTIFYING_ROLES:
        raise InspectionError(None, _("法定检验只能由使用单位的资产管理员或检验人员登记。"))


def _truthy(value) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "on", "y", "yes")


def restart_notice(obligation: Obligation, data: Mapping, today: dt.date) -> str | None:
    """What recording this passing inspection would change when it lifts a stop (None:
    it restarts nothing): the asset an inspection stopped goes back in service. The form
    shows it and asks for confirmation before it is saved."""
    asset = obligation.asset
    inspected_on = _date(data, "inspected_on")
    if not obligation.statutory or inspected_on is None:
        return None
    if obligation.last_done is not None and inspected_on < obligation.last_done:
        return None  # history: it moves nothing
    if obligation.failed:
        held = _("检验不合格")
    elif obligation.next_due is not None and obligation.next_due < today:
        held = _("检验已过期")
    else:
        return None
    if asset.status != AssetStatus.STOPPED or not _stopped_by_inspection(
        _last_stop_reasons([asset.id]).get(asset.id)
    ):
        return None  # not stopped by an inspection: the record restarts nothing
    if [o for o in _blocking(asset.id, today) if o.id != obligation.id]:
        return None  # still held by another duty
    return _(
        "该设备因“%(duty)s”%(held)s已停止使用。登记这条合格记录后，设备状态将恢复为“在用”。",
        duty=obligation.name,
        held=held,
    )


def _check_rectification(obligation: Obligation, conclusion: str) -> None:
    """整改确认 confirms the rectification a 整改后运行 report asked for: only after one."""
    if conclusion != rules.RECTIFIED:
        return
    latest = db.session.scalar(
        select(InspectionRecord.conclusion)
        .where(InspectionRecord.obligation_id == obligation.id)
        .order_by(InspectionRecord.inspected_on.desc(), InspectionRecord.id.desc()).limit(1)
    )
    if latest != rules.RECTIFY:
        raise InspectionError(
            "conclusion", _("只有结论为“整改后运行”的检验之后才能登记整改确认。")
        )


def _report_taken(report_no: str) -> InspectionError:
    return InspectionError("report_no", _("该检验项目已有报告编号为 %(no)s 的记录。", no=report_no))


def _move_duty(obligation: Obligation, asset: Asset, inspection: _Inspection) -> None:
    """What a recorded inspection does to its duty (and a vessel's grade)."""
    values = inspection.values
    inspected_on, next_due, grade = (
        values["inspected_on"],
        values["next_due"],
        values["safety_grade"],
    )
    # a back-filled older record is history: it does not move the duty
    if obligation.last_done is None or inspected_on >= obligation.last_done:
        obligation.last_done = inspected_on
        obligation.failed = not inspection.passed
        # a failure keeps the old date unless the report sets the re-inspection
        if inspection.passed or next_due is not None:
            obligation.next_due = next_due
        if inspection.governed and grade is not None:
            asset.vessel_grade = grade
            if not obligation.customised:
                obligation.interval_months = inspection.months


def _fulfils_too(
    obligation: Obligation, asset: Asset, inspection: _Inspection, other: Obligation | None
) -> InspectionRecord | None:
    """A passing inspection that is also another duty's (rules.ALSO_FULFILS: a cableway's
    全面检验 is that year's 年度检验): the same report recorded on the other duty, which
    then runs one of its own cycles from the inspection date."""
    if other is None or not inspection.passed or other.id == obligation.id:
        return None
    values = {
        **inspection.values,
        "obligation_id": other.id,
        "next_due": rules.after(inspection.values["inspected_on"], other.interval_months,
                                other.interval_days),
        "safety_grade": None,
        "problems": _("由%(duty)s记录兼作本项检验", duty=obligation.name),
    }
    _move_duty(other, asset, _Inspection(values, True, False, other.interval_months))
    return InspectionRecord(**values)


def _fulfilled_duties(entries: list[tuple[Obligation, Asset]]) -> dict[int, Obligation]:
    """obligation id → the other duty its passing inspection also fulfils (one query)."""
    wanted = {}
    for obligation, asset in entries:
        kind = rules.also_fulfils(asset.special_code, obligation.kind)
        if kind:
            wanted[obligation.id] = (asset.id, kind)
    if not wanted:
        return {}
    asset_ids = sorted({asset_id for asset_id, _kind in wanted.values()})
    found = {}
    for start in range(0, len(asset_ids), CHUNK):
        for duty in db.session.scalars(select(Obligation).where(
            Obligation.asset_id.in_(asset_ids[start:start + CHUNK]),
            Obligation.active.is_(True),
            Obligation.kind.in_(sorted({kind for _a, kind in wanted.values()})),
        )):
            found[(duty.asset_id, duty.kind)] = duty
    return {oid: found[key] for oid, key in wanted.items() if key in found}


def record_inspection(
    scope: Scope,
    obligation: Obligation,
    data: Mapping,
    *,
    user_id: int | None,
    method: str = "form",
    attachment=None,
) -> InspectionRecord:
    """Record an inspection (or check) against a duty and keep the duty and the asset's
    run state current. `attachment` is an uploaded file (FileStorage) or a
    (bytes, filename) pair: the certificate photo or PDF. Nothing is saved on error."""
    asset = obligation.asset
    _check_writable(scope, asset)
    _check_may_certify(scope, obligation)
    today = clock.today()
    inspection = _decide(obligation, asset, data, today, method=method, user_id=user_id)
    _check_rectification(obligation, inspection.values["conclusion"])
    report_no = inspection.values["report_no"]
    if report_no is not None:
        duplicate = db.session.scalar(
            select(InspectionRecord.id).where(
                InspectionRecord.obligation_id == obligation.id,
                InspectionRecord.report_no == report_no,
            )
        )
        if duplicate is not None:
            raise _report_taken(report_no)
    # last, once the input is valid: asked of a person at a form or an API client; an
    # import is confirmed as a whole
    if method != "import" and inspection.passed and not _truthy(data.get("confirm_restart")):
        notice = restart_notice(obligation, data, today)
        if notice:
            raise InspectionError("confirm_restart", notice + _("请确认后再保存。"))
    try:
        with db.session.begin_nested():
            record = InspectionRecord(**inspection.values)
            db.session.add(record)
            _move_duty(obligation, asset, inspection)
            other = _fulfilled_duties([(obligation, asset)]).get(obligation.id)
            if other is not None and (report_no is None or not db.session.scalar(
                select(InspectionRecord.id).where(InspectionRecord.obligation_id == other.id,
                                                  InspectionRecord.report_no == report_no)
            )):
                mirror = _fulfils_too(obligation, asset, inspection, other)
                if mirror is not None:
                    db.session.add(mirror)
            db.session.flush()
            if attachment is not None:
                _attach(scope, asset, attachment, user_id, inspection_id=record.id)
            if obligation.statutory or obligation.kind in rules.AUTO_KINDS:
                _refresh_run_states([asset], user_id, today, evidence=record)
            db.session.flush()
    except _AttachmentRefused as exc:
        raise InspectionError("attachment", exc.message) from None
    return record


def record_initial_inspection(
    scope: Scope, asset: Asset, data: Mapping, user_id: int | None
) -> InspectionRecord:
    """The last inspection of a device registered with a history, entered with the asset:
    recorded against its statutory duty with the shortest cycle (the one that fails
    first); its other duties are recorded on the asset page."""
    duties = [o for o in obligations_of(scope, asset)
              if o.statutory and o.kind not in (*rules.SELF_CHECK_KINDS, *rules.AUTO_KINDS)]
    if not duties:
        raise InspectionError("inspected_on", _("该类设备没有法定检验项目，无需填写检验记录。"))
    duty = min(duties, key=lambda o: (o.interval_months or 10**6, o.interval_days or 10**6,
                                      o.id))
    return record_inspection(scope, duty, data, user_id=user_id, method="form")


def record_inspections(
    scope: Scope,
    entries: list[tuple[Obligation, Mapping]],
    *,
    user_id: int | None,
    method: str = "import",
) -> tuple[list[InspectionRecord], dict[int, InspectionError]]:
    """`record_inspection` for many at once (the Excel import), set-based: the same
    rules, one query for the report numbers already used, the records and duty
    changes in one flush, the run states in a query per 500 assets. Entries are
    applied in order, as one call each would. Returns the records and, by entry
    index, the refused ones' errors; the accepted ones are written regardless."""
    today = clock.today()
    others = _fulfilled_duties([(obligation, obligation.asset) for obligation, _ in entries])
    duty_ids = sorted({obligation.id for obligation, _ in entries}
                      | {other.id for other in others.values()})
    taken: set[tuple[int, str]] = set()
    for start in range(0, len(duty_ids), CHUNK):
        rows = db.session.execute(
            select(InspectionRecord.obligation_id, InspectionRecord.report_no).where(
                InspectionRecord.obligation_id.in_(duty_ids[start : start + CHUNK]),
                InspectionRecord.report_no.is_not(None),
            )
        )
        taken.update((duty_id, report_no) for duty_id, report_no in rows)
    refused: dict[int, InspectionError] = {}
    records: list[InspectionRecord] = []
    statutory: dict[int, Asset] = {}
    for index, (obligation, data) in enumerate(entries):
        asset = obligation.asset
        try:
            _check_writable(scope, asset)
            _check_may_certify(scope, obligation)
            inspection = _decide(obligation, asset, data, today, method=method, user_id=user_id)
            _check_rectification(obligation, inspection.values["conclusion"])
            report_no = inspection.values["report_no"]
            if report_no is not None:
                if (obligation.id, report_no) in taken:
                    raise _report_taken(report_no)
                taken.add((obligation.id, report_no))
        except InspectionError as exc:
            refused[index] = exc
            continue
        records.append(InspectionRecord(**inspection.values))
        _move_duty(obligation, asset, inspection)
        other = others.get(obligation.id)
        report_no = inspection.values["report_no"]
        if other is not None and (other.id, report_no) not in taken:
            mirror = _fulfils_too(obligation, asset, inspection, other)
            if mirror is not None:
                records.append(mirror)
                taken.add((other.id, report_no))
        if obligation.statutory or obligation.kind in rules.AUTO_KINDS:
            statutory[asset.id] = asset
    # ids taken first: with them the flush sends one executemany, where SQLite would
    # otherwise get an INSERT … RETURNING per record
    ids = reserve_ids(db.session.connection(), InspectionRecord.__table__, len(records))
    for record, record_id in zip(records, ids, strict=True):
        record.id = record_id
    db.session.add_all(records)
    db.session.flush()
    _refresh_run_states(list(statutory.values()), user_id, today)
    db.session.flush()
    return records, refused


class _AttachmentRefused(Exception):
    def __init__(self, message: str):
        self.message = message


def _attach(scope: Scope, asset: Asset, upload, user_id, *, inspection_id=None, fault_id=None):
    """Store through the asset register's attachment service (content sniffing, size cap,
    random name outside static/)."""
    from ..assets import services as asset_services

    if isinstance(upload, tuple):
        content, filename = upload
    else:
        content, filename = upload, getattr(upload, "filename", "") or ""
    kind = "certificate" if inspection_id and filename.lower().endswith(".pdf") else "photo"
    try:
        return asset_services.add_attachment(
            scope,
            asset,
            content,
            filename,
            kind,
            user_id,
            inspection_id=inspection_id,
            fault_id=fault_id,
        )
    except asset_services.AssetError as exc:
        raise _AttachmentRefused(exc.message) from None


def records_of(scope: Scope, asset: Asset, limit: int = 50) -> list[InspectionRecord]:
    return list(
        db.session.scalars(
            select(InspectionRecord)
            .where(InspectionRecord.asset_id == asset.id)
            .options(joinedload(InspectionRecord.obligation))
            .order_by(InspectionRecord.inspected_on.desc(), InspectionRecord.id.desc())
            .limit(limit)
        )
    )


def attachments_by_record(scope: Scope, record_ids: list[int]) -> dict[int, list[Attachment]]:
    out: dict[int, list[Attachment]] = {}
    if not record_ids:
        return out
    for att in db.session.scalars(
        select(Attachment).where(Attachment.inspection_id.in_(record_ids)).order_by(Attachment.id)
    ):
        out.setdefault(att.inspection_id, []).append(att)
    return out


# --------------------------------------------------------------------------- self-checks


def record_self_check(
    scope: Scope,
    obligation: Obligation,
    results: Mapping,
    user_id: int | None,
    *,
    note: str | None = None,
    method: str = "scan",
) -> InspectionRecord:
    """A daily/monthly check against the duty's checklist: every item ok or fail.
    An abnormal check also opens a fault, so the finding is followed up."""
    items = obligation.checklist or []
    if not items:
        raise InspectionError(None, _("该项目未配置检查表。"))
    if obligation.statutory:
        raise InspectionError(None, _("法定检验须由检验机构出具报告，不能以自检代替。"))
    answers = {}
    for item in items:
        value = results.get(item)
        if value not in ("ok", "fail"):
            raise InspectionError(item, _("请逐项填写检查结果：%(item)s", item=item))
        answers[item] = value
    failed = [item for item, value in answers.items() if value == "fail"]
    critical = [item for item in failed if item in (obligation.critical_items or [])]
    data = {
        "inspected_on": clock.today(),
        "inspection_type": "自检",
        "conclusion": "异常" if failed else "正常",
        "problems": note,
        "checklist_results": answers,
    }
    if obligation.conclusion_set != "check":
        data["conclusion"] = "不符合要求" if failed else "符合要求"
    record = record_inspection(scope, obligation, data, user_id=user_id, method=method)
    if failed:
        # a safety-critical item (brakes, rope grips, safety gear) of special equipment
        # is a serious fault, and a serious fault on special equipment stops it
        serious = bool(critical) and obligation.asset.is_special
        report_fault(
            scope,
            obligation.asset,
            {
                "description": _("自检异常：%(items)s", items="、".join(failed))
                + (_("（安全关键项：%(items)s）", items="、".join(critical)) if critical else "")
                + (f"\n{note}" if note else ""),
                "severity": (FaultSeverity.HIGH if serious else FaultSeverity.MEDIUM).value,
            },
            user_id,
        )
    return record


# --------------------------------------------------------------------------- faults


def fault_stops(
    asset: Asset, severity: str, data: Mapping, scope: Scope
) -> tuple[bool, str | None]:
    """Whether a new fault stops its device, and the manager's reason when a serious
    fault on special equipment may run on. A 危急 fault always stops; a 严重 one on
    special equipment stops unless an institution manager says it may run and why;
    any other stops when the reporter ticks `stop`."""
    if severity == FaultSeverity.CRITICAL:
        return True, None
    if severity == FaultSeverity.HIGH and asset.is_special:
        if not _truthy(data.get("run_on")):
            return True, None
        if str(scope.role) != Role.INSTITUTION_MANAGER.value:
            raise InspectionError(
                "run_on", _("只有使用单位的资产管理员可以决定严重故障的特种设备继续运行。")
            )
        reason = _text(data, "run_on_reason", 500)
        if not reason:
            raise InspectionError("run_on_reason", _("请说明严重故障下仍可继续运行的理由。"))
        return False, reason
    return _truthy(data.get("stop")), None


def report_fault(
    scope: Scope, asset: Asset, data: Mapping, user_id: int | None, *, attachment=None
) -> Fault:
    """Log a fault. One that stops (`fault_stops`) puts the asset under repair until it
    is resolved, and the safety state shows it stopped meanwhile."""
    _check_writable(scope, asset)
    description = _text(data, "description", 2000)
    if not description:
        raise InspectionError("description", _("请描述故障情况。"))
    severity = data.get("severity") or FaultSeverity.MEDIUM.value
    if not FaultSeverity.has(severity):
        raise InspectionError("severity", _("请选择有效的严重程度。"))
    downtime = _amount(data, "downtime_hours", "0.1")
    cost = _amount(data, "cost", "0.01")
    stop, run_on_reason = fault_stops(asset, str(severity), data, scope)
    try:
        with db.session.begin_nested():
            fault = Fault(
                org_id=asset.org_id,
                asset_id=asset.id,
                reported_by=user_id,
                description=description,
                severity=str(severity),
                downtime_hours=downtime,
                cost=cost,
                stops=stop,
                run_on_reason=run_on_reason,
                major_repair=_truthy(data.get("major_repair")),
            )
            db.session.add(fault)
            db.session.flush()
            if attachment is not None:
                _attach(scope, asset, attachment, user_id, fault_id=fault.id)
            if stop and asset.status == AssetStatus.IN_SERVICE:
                _set_status(
                    asset,
                    AssetStatus.UNDER_REPAIR,
                    _("故障报修：%(d)s", d=description)[:500],
                    user_id,
                )
            db.session.flush()
    except _AttachmentRefused as exc:
        raise InspectionError("attachment", exc.message) from None
    return fault


def get_fault(scope: Scope, fault_id: int) -> Fault | None:
    return db.session.scalars(
        select(Fault).where(Fault.id == fault_id).options(joinedload(Fault.asset))
    ).one_or_none()


def resolve_fault(scope: Scope, fault: Fault, data: Mapping, user_id: int | None) -> Fault:
    """Close a fault with what was done, the downtime and the repair cost; an asset under
    repair returns to service when its last open fault is resolved."""
    asset = fault.asset
    _check_writable(scope, asset)
    if fault.resolved_at is not None:
        raise InspectionError(None, _("该故障已处理完毕。"))
    resolution = _text(data, "resolution", 2000)
    if not resolution:
        raise InspectionError("resolution", _("请填写处理结果。"))
    resolved_on = _date(data, "resolved_on") or clock.today()
    if resolved_on > clock.today():
        raise InspectionError("resolved_on", _("处理日期不能晚于今天。"))
    if resolved_on < fault.reported_at.date():
        raise InspectionError("resolved_on", _("处理日期不能早于报修日期。"))
    downtime = _amount(data, "downtime_hours", "0.1")
    cost = _amount(data, "cost", "0.01")
    fault.resolution = resolution
    fault.resolved_at = (
        clock.utcnow_naive()
        if resolved_on == clock.today()
        else dt.datetime.combine(resolved_on, dt.time(12, 0))
    )
    if downtime is not None:
        fault.downtime_hours = downtime
    if cost is not None:
        fault.cost = cost
    if fault.major_repair and asset.radiation:
        _acceptance_after_repair(asset, resolved_on, description=fault.description)
    db.session.flush()
    if asset.status == AssetStatus.UNDER_REPAIR:
        still_open = db.session.scalar(
            select(func.count(Fault.id)).where(
                Fault.asset_id == asset.id, Fault.resolved_at.is_(None), Fault.stops.is_(True)
            )
        )
        if not still_open:
            _set_status(asset, AssetStatus.IN_SERVICE, _("故障已修复，恢复使用"), user_id)
            db.session.flush()
            # a repair does not cure a failed or overdue statutory inspection
            _refresh_run_states([asset], user_id, clock.today())
            db.session.flush()
    return fault


def _acceptance_after_repair(asset: Asset, repaired_on: dt.date, *, description: str) -> None:
    """After a major repair radiation equipment needs a new 验收检测 before routine use: a
    one-off statutory duty due on the repair date (kept by sync: customised)."""
    db.session.add(Obligation(
        org_id=asset.org_id, asset_id=asset.id, kind=ObligationKind.ACCEPTANCE_TEST.value,
        name=_("大修后验收检测（%(day)s）", day=repaired_on)[:100], interval_months=None,
        interval_days=None, lead_days=0, statutory=True, conclusion_set="general",
        next_due=repaired_on, customised=True,
    ))


def fault_query(scope: Scope, *, open_only: bool = False, q: str = "") -> Select:
    stmt = (
        select(Fault)
        .join(Fault.asset)
        .options(contains_eager(Fault.asset).joinedload(Asset.organisation))
        .order_by(Fault.reported_at.desc(), Fault.id.desc())
    )
    if open_only:
        stmt = stmt.where(Fault.resolved_at.is_(None))
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                Asset.name.ilike(like, escape="\\"),
                Asset.asset_code.ilike(like, escape="\\"),
                Fault.description.ilike(like, escape="\\"),
            )
        )
    return stmt


def faults_of(scope: Scope, asset: Asset, limit: int = 50) -> list[Fault]:
    return list(
        db.session.scalars(
            select(Fault)
            .where(Fault.asset_id == asset.id)
            .order_by(Fault.reported_at.desc(), Fault.id.desc())
            .limit(limit)
        )
    )


# --------------------------------------------------------------------------- compliance

# The compliance of an asset is its safety state (safety.py); these names stay for the
# API and the pages that ask for "compliance".
COMPLIANCE_STATES = tuple(state.value for state in safety.SafetyState)


def compliance_label(state: str) -> str:
    return safety.label(state)


def compliance_by_asset(scope: Scope, asset_ids: list[int], today: dt.date) -> dict[int, str]:
    """Safety states of many assets (for lists)."""
    safety.ensure_current(scope, today)
    return safety.states_of(list(asset_ids))


def compliance(asset: Asset, today: dt.date | None = None) -> str:
    """The asset's safety state (safety.SafetyState)."""
    from ..tenancy.scope import get_scope

    return compliance_by_asset(get_scope(), [asset.id], today or clock.today())[asset.id]


def institution_compliance(scope: Scope, today: dt.date) -> list[dict]:
    """Per institution: assets under statutory inspection by safety state, and the share
    certified and current (the dashboards count the same way)."""
    counts = safety.counts_by_org(scope, today)
    names = {
        org_id: name
        for org_id, name in db.session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(list(counts)))
        )
    }
    out = []
    for org_id, by_state in counts.items():
        inspected = sum(n for state, n in by_state.items() if state != "none")
        if not inspected:
            continue
        current = by_state["ok"] + by_state["due_soon"]
        out.append({
            "org_id": org_id,
            "name": names.get(org_id, ""),
            "total": inspected,
            "current": current,
            "failed": by_state["failed"],
            "overdue": by_state["overdue"],
            "stopped": by_state["stopped"],
            "unverified": by_state["unverified"],
            "share": current / inspected,
        })
    return sorted(out, key=lambda row: row["name"])


def due_list(scope: Scope, today: dt.date, days: int = 30, *, q: str = "") -> Select:
    """Upcoming-and-overdue duties within `days` (30, 60 or 90), earliest first, after
    the statutory duties with no recorded inspection yet (no date: their last record is
    what the institution must enter)."""
    days = days if days in DUE_WINDOWS else 30
    stmt = (
        select(Obligation)
        .join(Obligation.asset)
        .options(contains_eager(Obligation.asset).joinedload(Asset.organisation))
        .where(
            Obligation.active.is_(True),
            Obligation.kind.not_in(rules.SELF_CHECK_KINDS),
            or_(
                Obligation.next_due <= today + dt.timedelta(days=days),
                and_(
                    Obligation.next_due.is_(None),
                    Obligation.last_done.is_(None),
                    Obligation.statutory.is_(True),
                ),
            ),
            Asset.status != AssetStatus.DISPOSED,
        )
        .order_by(Obligation.next_due.is_not(None), Obligation.next_due, Obligation.id)
    )
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                Asset.name.ilike(like, escape="\\"),
                Asset.asset_code.ilike(like, escape="\\"),
                Obligation.name.ilike(like, escape="\\"),
            )
        )
    return stmt


def _cell(value):
    """Exports never carry a formula nor a character a worksheet cannot hold."""
    from ..imports.xlsx import safe_cell_value

    return safe_cell_value(value)


def due_list_xlsx(scope: Scope, today: dt.date, days: int = 30, *, q: str = "") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook(write_only=False)
    ws = wb.active
    ws.title = _("检验计划")
    headers = [
        _("单位"),
        _("资产编号"),
        _("设备名称"),
        _("检验项目"),
        _("法定"),
        _("上次检验"),
        _("下次检验日期"),
        _("剩余天数"),
        _("状态"),
    ]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for obligation in db.session.scalars(due_list(scope, today, days, q=q)):
        asset = obligation.asset
        left = (obligation.next_due - today).days if obligation.next_due else None
        state = _("未录入检验记录") if left is None else _("已逾期") if left < 0 else _("即将到期")
        ws.append(
            [
                _cell(asset.organisation.name),
                _cell(asset.asset_code),
                _cell(asset.name),
                _cell(obligation.name),
                _("是") if obligation.statutory else _("否"),
                obligation.last_done,
                obligation.next_due,
                left,
                state,
            ]
        )
    for column, width in zip("ABCDEFGHI", (28, 16, 28, 24, 6, 12, 14, 10, 10), strict=True):
        ws.column_dimensions[column].width = width
    for row in ws.iter_rows(min_row=2, min_col=6, max_col=7):
        for cell in row:
            cell.number_format = "yyyy-mm-dd"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- renewal


def _renewal_select(today: dt.date) -> Select:
    """Every factor of the renewal priority as a column, and the score, in one SELECT:
    per-asset aggregates come from two grouped subqueries, never a loop."""
    year_ago = dt.datetime.combine(today - dt.timedelta(days=365), dt.time())
    faults = (
        select(
            Fault.asset_id.label("asset_id"),
            func.count(Fault.id).label("n"),
            func.coalesce(func.sum(Fault.cost), 0).label("cost"),
        )
        .where(Fault.reported_at >= year_ago)
        .group_by(Fault.asset_id)
        .subquery()
    )
    statutory = Obligation.statutory.is_(True)
    assessment = Obligation.kind.in_(rules.AUTO_KINDS)
    duties = (
        select(
            Obligation.asset_id.label("asset_id"),
            func.sum(case((and_(statutory, Obligation.failed.is_(True)), 1), else_=0))
            .label("failed"),
            func.sum(case((and_(statutory, Obligation.failed.is_(False),
                                Obligation.next_due < today), 1), else_=0)).label("overdue"),
            func.sum(case((and_(assessment, Obligation.failed.is_(True)), 1), else_=0))
            .label("assessment_failed"),
        )
        .where(Obligation.active.is_(True), or_(statutory, assessment))
        .group_by(Obligation.asset_id)
        .subquery()
    )
    today_lit = literal(today, rules.DATE)
    start = func.coalesce(Asset.commissioned_on, Asset.purchase_date)
    used = rules.days_between(start, today_lit)
    life = rules.days_between(start, Asset.design_life_end)
    n_faults = func.coalesce(faults.c.n, 0)
    cost = func.coalesce(faults.c.cost, 0)
    n_failed = func.coalesce(duties.c.failed, 0)
    n_overdue = func.coalesce(duties.c.overdue, 0)
    n_assessment_failed = func.coalesce(duties.c.assessment_failed, 0)

    def capped(expr, cap):
        return case((expr > cap, cap), (expr < 0, 0), else_=expr)

    life_pts = case((life > 0, capped((used * 30) // life, 30)), else_=0)
    past_life_pts = case(
        (and_(Asset.is_special.is_(True), Asset.design_life_end < today), 15), else_=0
    )
    twenty = rules.add_years(today, -rules.VESSEL_RISK_YEARS)
    vessel_pts = case(
        (
            and_(
                Asset.special_code.like(rules.VESSEL_PREFIX + "%"),
                or_(start <= twenty, Asset.design_life_end < today),
            ),
            10,
        ),
        else_=0,
    )
    failed_pts = case((n_failed > 0, 20), else_=0)
    overdue_pts = case((n_overdue >= 2, 15), (n_overdue == 1, 10), else_=0)
    fault_pts = capped(n_faults * 2, 10)
    cost_pts = case(
        (Asset.original_value > 0, capped(cast(cost * 20 / Asset.original_value, Integer), 10)),
        else_=0,
    )
    energy_pts = case((Asset.energy_grade.in_(rules.LOW_ENERGY_GRADES), 10), else_=0)
    # a failed safety assessment: renewal first (city plan annex, row 1)
    assessment_pts = case((n_assessment_failed > 0, 100), else_=0)
    parts = {
        "assessment_pts": assessment_pts,
        "life_pts": life_pts,
        "past_life_pts": past_life_pts,
        "vessel_pts": vessel_pts,
        "failed_pts": failed_pts,
        "overdue_pts": overdue_pts,
        "fault_pts": fault_pts,
        "cost_pts": cost_pts,
        "energy_pts": energy_pts,
    }
    total = sum(parts.values())
    score = capped(total, 100).label("score")
    return (
        select(
            Asset,
            score,
            *(expr.label(name) for name, expr in parts.items()),
            used.label("days_used"),
            life.label("life_days"),
            n_faults.label("n_faults"),
            cost.label("fault_cost"),
            n_failed.label("n_failed"),
            n_overdue.label("n_overdue"),
        )
        .outerjoin(faults, faults.c.asset_id == Asset.id)
        .outerjoin(duties, duties.c.asset_id == Asset.id)
    )


def _reasons(row) -> list[str]:
    asset = row.Asset
    out = []
    if row.assessment_pts:
        out.append(_("安全评估不合格，设备停用，应列入更新计划") + f" +{int(row.assessment_pts)}")
    if row.life_pts:
        pct = round(100 * row.days_used / row.life_days) if row.life_days else 0
        out.append(
            _(
                "已使用设计寿命的 %(pct)s%%（设计使用年限 %(y)s 年）",
                pct=pct,
                y=asset.design_life_years or "—",
            )
            + f" +{int(row.life_pts)}"
        )
    if row.past_life_pts:
        out.append(
            _(
                "特种设备已超过设计使用年限（%(d)s 届满），继续使用须经检验或安全评估",
                d=asset.design_life_end,
            )
            + f" +{int(row.past_life_pts)}"
        )
    if row.vessel_pts:
        out.append(
            _("压力容器使用超过 20 年或超过设计使用年限，须进行安全风险评估")
            + f" +{int(row.vessel_pts)}"
        )
    if row.failed_pts:
        out.append(_("法定检验不合格 %(n)s 项", n=int(row.n_failed)) + f" +{int(row.failed_pts)}")
    if row.overdue_pts:
        out.append(_("法定检验逾期 %(n)s 项", n=int(row.n_overdue)) + f" +{int(row.overdue_pts)}")
    if row.fault_pts:
        out.append(_("近 12 个月故障 %(n)s 次", n=int(row.n_faults)) + f" +{int(row.fault_pts)}")
    if row.cost_pts:
        cost = decimal.Decimal(row.fault_cost)
        pct = round(100 * cost / asset.original_value) if asset.original_value else 0
        out.append(
            _("近 12 个月维修费用 %(c)s 元，占原值 %(p)s%%", c=f"{cost:,.2f}", p=pct)
            + f" +{int(row.cost_pts)}"
        )
    if row.energy_pts:
        out.append(
            _("能效等级为 %(g)s，低于节能水平", g=asset.energy_grade) + f" +{int(row.energy_pts)}"
        )
    return out


def renewal_priority(asset: Asset, today: dt.date | None = None) -> tuple[int, list[str]]:
    """(score 0–100, the reasons spelled out in Chinese with their points)."""
    row = db.session.execute(
        _renewal_select(today or clock.today()).where(Asset.id == asset.id)
    ).one_or_none()
    if row is None:
        return 0, []
    return int(row.score), _reasons(row)


@dataclass
class RenewalCandidate:
    asset: Asset
    score: int
    reasons: list[str]


def renewal_candidates(
    scope: Scope, today: dt.date, limit: int = 50, *, min_score: int = 1
) -> list[RenewalCandidate]:
    """The assets most in need of renewal, highest score first (one SELECT)."""
    stmt = _renewal_select(today)
    score = stmt.selected_columns.score
    rows = db.session.execute(
        stmt.where(
            Asset.status.not_in((AssetStatus.DISPOSED, AssetStatus.AWAITING_DISPOSAL)),
            score >= min_score,
        )
        .options(joinedload(Asset.organisation), joinedload(Asset.category))
        .order_by(score.desc(), Asset.id)
        .limit(limit)
    ).all()
    return [RenewalCandidate(row.Asset, int(row.score), _reasons(row)) for row in rows]
