"""Demo inspection histories for the demo equipment (runs after the assets seed).

Most duties are current, about one in five falls due within the month, the 王莽岭
2016 cableway's full inspection is overdue, a 皇城相府 elevator failed its annual
inspection and is stopped, and the hospital's 2004 pressure vessel is past 20 years
(risk assessment due). Idempotent: a duty that already has records is left alone.
Dates are relative to clock.today()."""

from __future__ import annotations

import datetime as dt
import decimal

from sqlalchemy import select

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
    assets = _assets()
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
    for key, rows in FAULTS.items():
        if key in assets:
            _faults(assets[key], rows, today)
    db.session.flush()
