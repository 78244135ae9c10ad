"""Demo inspection histories for the demo equipment (runs after the assets seed).

Most duties are current, about one in five falls due within the month, the 王莽岭
2016 cableway's full inspection is overdue, a 皇城相府 elevator failed its annual
inspection and is stopped, and the hospital's 2004 pressure vessel is past 20 years
(risk assessment due). Idempotent: a duty that already has records is left alone.
Dates are relative to clock.today()."""

from __future__ import annotations

import datetime as dt
import decimal
import zlib

from sqlalchemy import exists, select
from sqlalchemy.orm import contains_eager

from .. import clock
from ..assets.models import Asset
from ..extensions import db
from ..tenancy.models import Organisation
from ..tenancy.scope import Scope
from . import rules, services
from .models import Fault, InspectionRecord, Obligation, ObligationKind

OVERDUE_FULL = ("wml", "WML-SD-2016-001")
FAILED_LIFT = ("hcxf", "HCXF-DT-2006-001")
AGENCY = {
    True: "山西省检验检测中心（晋城）",
    False: "设备科/运维班组",
}
FAULTS = {
    ("hcxf", "HCXF-DT-2006-001"): [
        (300, "high", "门机故障，轿门无法完全关闭", "6", "4800", "更换门机皮带及门刀"),
        (150, "medium", "平层误差超标", "2", "1200", "调整平层感应器"),
        (40, "critical", "制动器异响，紧急停梯", "30", "26000", "更换制动器闸瓦"),
    ],
    ("wml", "WML-SD-2005-002"): [
        (200, "medium", "驱动电机温升偏高", "4", "9800", "更换轴承，清洁散热风道"),
    ],
    ("rmyy", "RMYY-YLRQ-2004-001"): [
        (90, "medium", "门密封圈老化漏汽", "8", "3500", "更换门密封圈"),
    ],
}


# The generated ledger (assets/demo_ledger.py): each device falls in one scenario by a
# hash of its code, so every safety state shows, in the proportions a bureau would meet.
# (upper bound of crc32(code) % 100, scenario), the first that fits.
SCENARIOS = ((4, "failed"), (8, "overdue"), (14, "unverified"), (28, "due_soon"), (100, "ok"))


def _scenario(code: str) -> str:
    bucket = zlib.crc32(code.encode()) % 100
    return next(name for bound, name in SCENARIOS if bucket < bound)


def _verdicts(obligation: Obligation) -> tuple[str, str]:
    """(a passing, a failing) conclusion of the duty's set: 合格/不合格 on medical
    metrology and radiation reports, 符合要求/不符合要求 on TSG reports, 允许运行/停止运行
    for vehicles."""
    allowed = rules.CONCLUSIONS.get(obligation.conclusion_set, rules.CONCLUSIONS["general"])
    if "合格" in allowed and not obligation.asset.is_special:
        return "合格", "不合格"
    passing = next(c for c, ok in allowed.items() if ok)
    failing = next(c for c, ok in allowed.items() if not ok)
    return passing, failing


def _ledger_entries(obligation: Obligation, scenario: str, today: dt.date, n: int) -> list:
    """The records one statutory duty of the generated ledger gets, oldest first."""
    months, days = obligation.interval_months, obligation.interval_days
    if not (months or days):
        return [_one_off(obligation, today)] if scenario != "unverified" else []
    span = (rules.after(today, months, days) - today).days
    if span < 40:
        return []
    seed = zlib.crc32(obligation.asset.asset_code.encode()) + obligation.id
    if scenario == "failed":
        target = today - dt.timedelta(days=5 + seed % 50)  # the failing inspection
    elif scenario == "overdue":
        target = today - dt.timedelta(days=3 + seed % 80)  # the date that passed
    elif scenario == "due_soon":
        target = today + dt.timedelta(days=2 + seed % 26)
    else:
        target = today + dt.timedelta(days=31 + seed % (span - 31))
    last = target if scenario == "failed" else (
        rules.add_months(target, -months) if months else target - dt.timedelta(days=days)
    )
    before = rules.add_months(last, -months) if months else last - dt.timedelta(days=days)
    started = obligation.asset.commissioned_on or obligation.asset.purchase_date
    passing, failing = _verdicts(obligation)
    agency = AGENCY[True] if obligation.asset.is_special else "晋城市计量检定测试所"

    def entry(day: dt.date, conclusion: str, k: int, **extra) -> tuple:
        return (obligation, {
            "inspected_on": day, "conclusion": conclusion, "agency": agency,
            "report_no": f"JCD{day:%Y%m%d}-{obligation.id:06d}-{k}", **extra})

    out = []
    if n % 3 == 0 and before >= (started or before) and before >= rules.EARLIEST_INSPECTION:
        out.append(entry(before, passing, 1))  # an earlier cycle for one in three
    if scenario == "failed":
        out.append(entry(last, failing, 2, problems="安全保护装置动作不可靠；主要受力部件锈蚀"))
    else:
        out.append(entry(last, passing, 2, next_due=target))
    return out


def _one_off(obligation: Obligation, today: dt.date) -> tuple:
    """The record of a one-off duty (验收检测 after installation): passed a month after
    the device came into service."""
    started = obligation.asset.commissioned_on or obligation.asset.purchase_date or today
    day = min(today, max(started, rules.EARLIEST_INSPECTION) + dt.timedelta(days=30))
    agency = AGENCY[True] if obligation.asset.is_special else "山西省疾病预防控制中心"
    return (obligation, {
        "inspected_on": day, "conclusion": _verdicts(obligation)[0], "agency": agency,
        "report_no": f"JCO{day:%Y%m%d}-{obligation.id:06d}"})


def _ledger_histories() -> None:
    """Inspection histories for the generated ledger, set-based: one query for the
    duties (with their assets), one record_inspections call. Idempotent: duties that
    already carry records are left alone."""
    from ..assets.demo_ledger import GENERATED

    today = clock.today()
    duties = db.session.scalars(
        select(Obligation)
        .join(Asset, Asset.id == Obligation.asset_id)
        .where(
            Asset.asset_code.like(f"%{GENERATED}%"),
            Obligation.active.is_(True),
            Obligation.statutory.is_(True),
            Obligation.last_done.is_(None),
            ~exists().where(InspectionRecord.obligation_id == Obligation.id),
        )
        .options(contains_eager(Obligation.asset))
        .order_by(Obligation.asset_id, Obligation.id)
    ).all()
    entries = []
    first_of_asset: set[int] = set()
    for n, obligation in enumerate(duties):
        scenario = _scenario(obligation.asset.asset_code)
        if obligation.kind in rules.AUTO_KINDS:
            # dated by the asset's life, not by a certificate: a device past its life has
            # had its 安全评估 (passed) unless it is one of the overdue ones
            due = obligation.next_due
            if due is not None and due < today and scenario != "overdue":
                day = min(today, due + dt.timedelta(days=20))
                entries.append((obligation, {
                    "inspected_on": day, "conclusion": "符合要求", "agency": AGENCY[True],
                    "report_no": f"JCA{day:%Y%m%d}-{obligation.id:06d}",
                    "inspection_type": "安全评估"}))
            continue
        if obligation.asset_id in first_of_asset:
            scenario = "ok"  # the scenario is the asset's first duty's; the others current
        first_of_asset.add(obligation.asset_id)
        if scenario == "unverified":
            continue
        entries.extend(_ledger_entries(obligation, scenario, today, n))
    if entries:
        services.record_inspections(Scope.system(), entries, user_id=None, method="import")


def _assets() -> dict[tuple[str, str], Asset]:
    rows = db.session.execute(select(Organisation.code, Asset).join(Asset.organisation)).all()
    return {(code, asset.asset_code): asset for code, asset in rows}


def _record(obligation: Obligation, day: dt.date, conclusion: str, **extra) -> None:
    services.record_inspection(
        Scope.system(),
        obligation,
        {
            "inspected_on": day,
            "conclusion": conclusion,
            "agency": AGENCY[obligation.statutory],
            "report_no": f"JC{day:%Y%m%d}-{obligation.id:05d}",
            **extra,
        },
        user_id=None,
        method="import",
    )


def _passing(obligation: Obligation) -> str:
    return services.conclusions_for(obligation)[0]


def _history(obligation: Obligation, today: dt.date) -> None:
    """Two cycles of passing records; the latest puts the next due 5 days to a full
    interval ahead, one duty in five within the month."""
    months, days = obligation.interval_months, obligation.interval_days
    span = (rules.after(today, months, days) - today).days
    if span < 10:
        return
    seed = obligation.id * 37
    ahead = 3 + seed % 25 if obligation.id % 5 == 0 else 5 + seed % (span - 5)
    target = today + dt.timedelta(days=ahead)
    last = rules.add_months(target, -months) if months else target - dt.timedelta(days=days)
    before = rules.add_months(last, -months) if months else last - dt.timedelta(days=days)
    _record(obligation, before, _passing(obligation))
    _record(obligation, last, _passing(obligation), next_due=target)


def _faults(asset: Asset, rows, today: dt.date) -> None:
    if db.session.scalar(select(Fault.id).where(Fault.asset_id == asset.id).limit(1)):
        return
    scope = Scope.system()
    for days_ago, severity, text, hours, cost, resolution in rows:
        fault = services.report_fault(
            scope, asset, {"description": text, "severity": severity}, None
        )
        fault.reported_at = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(2))
        services.resolve_fault(
            scope,
            fault,
            {
                "resolution": resolution,
                "resolved_on": today - dt.timedelta(days=max(0, days_ago - 2)),
                "downtime_hours": hours,
                "cost": decimal.Decimal(cost),
            },
            None,
        )


def seed_demo() -> None:
    from ..assets.seed import DEMO

    hand_made = {(org, row[0]) for org, rows in DEMO.items() for row in rows}
    assets = {key: a for key, a in _assets().items() if key in hand_made}
    _ledger_histories()
    if not assets:
        return  # the asset seed has not landed: nothing to give a history to
    today = clock.today()
    ids = [a.id for a in assets.values()]
    services.create_default_obligations(ids)
    done = set(db.session.scalars(select(InspectionRecord.obligation_id).distinct()))
    duties = db.session.scalars(
        select(Obligation)
        .where(Obligation.active.is_(True), Obligation.asset_id.in_(ids))
        .order_by(Obligation.id)
    ).all()
    by_asset = {a.id: key for key, a in assets.items()}
    for obligation in duties:
        if obligation.id in done:
            continue
        key = by_asset[obligation.asset_id]
        kind = obligation.kind
        if kind == ObligationKind.DAILY_CHECK:
            continue
        if kind == ObligationKind.RISK_ASSESSMENT:
            continue  # left due: the 20-year rule is what the demo shows
        if kind == ObligationKind.DESIGN_LIFE_ASSESSMENT:
            if obligation.next_due and obligation.next_due < today:
                _record(obligation, min(today, obligation.next_due + dt.timedelta(days=20)),
                        "符合要求", inspection_type="安全评估")
            continue
        if key == OVERDUE_FULL and kind == ObligationKind.FULL_INSPECTION:
            last = rules.add_months(today, -36) - dt.timedelta(days=20)
            _record(obligation, last, "符合要求", inspection_type="定期检验")
            continue
        if key == FAILED_LIFT and kind == ObligationKind.ANNUAL_INSPECTION:
            _record(obligation, rules.add_months(today, -12) + dt.timedelta(days=3), "符合要求")
            _record(
                obligation,
                today - dt.timedelta(days=6),
                "不符合要求",
                problems="制动器闸瓦磨损超标；层门锁紧元件啮合长度不足 7 mm",
            )
            continue
        if obligation.interval_months or obligation.interval_days:
            _history(obligation, today)
        elif obligation.statutory:
            one_off, data = _one_off(obligation, today)
            _record(one_off, data["inspected_on"], data["conclusion"])
    for key, rows in FAULTS.items():
        if key in assets:
            _faults(assets[key], rows, today)
    db.session.flush()
