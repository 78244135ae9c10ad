"""The statutory rules as plain functions and SQL expressions: one source of truth for the
single-asset services, the bulk paths and the seed (DOMAIN.md §3–4)."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, Integer, and_, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from .models import Obligation, ObligationKind

FIXED_VESSEL = "2100"
VESSEL_PREFIX = "2"  # 2000 压力容器 and its sub-kinds
VESSEL_RISK_YEARS = 20  # the city plan's annex, row 1

# Self-checks come every day or month: they never make the asset "overdue".
SELF_CHECK_KINDS = (ObligationKind.DAILY_CHECK.value, ObligationKind.MONTHLY_CHECK.value)
AUTO_KINDS = (ObligationKind.DESIGN_LIFE_ASSESSMENT.value, ObligationKind.RISK_ASSESSMENT.value)

# Conclusion → passed, per conclusion set (DOMAIN.md §3). Stored as the Chinese msgid.
CONCLUSIONS: dict[str, dict[str, bool]] = {
    # TSG reports (定期检验, 监督检验) and the elevator, metrology and radiation reports
    "general": {
        "符合要求": True, "基本符合要求": True, "不符合要求": False,
        "合格": True, "不合格": False, "复检合格": True, "复检不合格": False,
    },
    # 场（厂）内专用机动车辆 and sightseeing cars: 整改后运行 keeps the vehicle stopped
    # until the rectification is confirmed (a record 整改确认 after it)
    "vehicle": {
        "允许运行": True, "限制条件运行": True, "整改后运行": False, "停止运行": False,
        "整改确认": True,
    },
    "check": {"正常": True, "异常": False},
}
RECTIFY = "整改后运行"
RECTIFIED = "整改确认"
RESTRICTED = "限制条件运行"
CONCLUSION_LABELS = {
    "符合要求": _l("符合要求"),
    "基本符合要求": _l("基本符合要求"),
    "不符合要求": _l("不符合要求"),
    "复检合格": _l("复检合格"),
    "合格": _l("合格"),
    "不合格": _l("不合格"),
    "复检不合格": _l("复检不合格"),
    "整改确认": _l("整改确认"),
    "允许运行": _l("允许运行"),
    "整改后运行": _l("整改后运行"),
    "限制条件运行": _l("限制条件运行"),
    "停止运行": _l("停止运行"),
    "正常": _l("正常"),
    "异常": _l("异常"),
}
INSPECTION_TYPES = {
    "监督检验": _l("监督检验"),
    "首次检验": _l("首次检验"),
    "定期检验": _l("定期检验"),
    "达到设计使用年限检验": _l("达到设计使用年限检验"),
    "安全评估": _l("安全评估"),
    "事故检验": _l("事故检验"),
    "计量检定": _l("计量检定"),
    "状态检测": _l("状态检测"),
    "自检": _l("自检"),
    "整改确认": _l("整改确认"),
}

# A passing inspection of one kind that is, by the regulations, also another duty's: in
# the year of a cableway's 全面检验 that inspection is the year's 年度检验 (TSG S7001).
# (special-code prefix, kind done) → (kind it also fulfils)
ALSO_FULFILS = {("9", "full_inspection"): "annual_inspection"}


def also_fulfils(special_code: str | None, kind: str) -> str | None:
    for (prefix, done), other in ALSO_FULFILS.items():
        if kind == done and (special_code or "").startswith(prefix):
            return other
    return None
LOW_ENERGY_GRADES = ("3", "4", "5", "三级", "四级", "五级", "3级", "4级", "5级", "不达标")


# --------------------------------------------------------------------------- dates


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months, clamped to the month's end (31 Jan + 1 month → 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def add_years(day: dt.date, years: int) -> dt.date:
    return add_months(day, 12 * years)


def after(done: dt.date, months: int | None, days: int | None) -> dt.date | None:
    """The next due date one interval after `done` (None: no fixed cycle)."""
    if months:
        return add_months(done, months)
    if days:
        return done + dt.timedelta(days=days)
    return None


def first_due(
    base: dt.date,
    today: dt.date,
    *,
    first_months: int | None,
    months: int | None,
    days: int | None,
) -> dt.date | None:
    """The first due date of a new duty: `first_months` (else one interval) after
    commissioning, then along the cycle to the first date not in the past, so a
    legacy asset registered today is not born overdue (nobody knows its history;
    the first record puts the date right)."""
    if months:
        offset = first_months if first_months is not None else months
        due = add_months(base, offset)
        if due < today:
            gap = (today.year - due.year) * 12 + today.month - due.month
            k = max(0, gap // months)
            due = add_months(base, offset + k * months)
            while due < today:
                k += 1
                due = add_months(base, offset + k * months)
        return due
    if days:
        due = add_months(base, first_months) if first_months else base + dt.timedelta(days=days)
        if due < today:
            steps = -(-(today - due).days // days)
            due += dt.timedelta(days=steps * days)
        return due
    return add_months(base, first_months) if first_months else None


# Bounds of a recorded inspection (DOMAIN.md §3): no register holds older certificates,
# and no certificate runs longer than its regime's longest cycle.
EARLIEST_INSPECTION = dt.date(1950, 1, 1)
LONGEST_VESSEL_MONTHS = 72  # grade 1–2 fixed vessels; grade 3 is 3–6 years
LONGEST_UNSET_MONTHS = 72  # duties whose date the inspector sets (grade 4, assessments)


def longest_next_due(inspected_on: dt.date, months: int | None, days: int | None,
                     governed: bool) -> dt.date:
    """The latest next date a certificate of this duty may state."""
    if governed:
        return add_months(inspected_on, LONGEST_VESSEL_MONTHS)
    if months:
        return add_months(inspected_on, months)
    if days:
        return inspected_on + dt.timedelta(days=days)
    return add_months(inspected_on, LONGEST_UNSET_MONTHS)


# --------------------------------------------------------------------------- vessels


def is_fixed_vessel(special_code: str | None) -> bool:
    return special_code == FIXED_VESSEL


def is_vessel(special_code: str | None) -> bool:
    return bool(special_code) and special_code.startswith(VESSEL_PREFIX)


def grade_interval(grade: int | None, default: int | None) -> int | None:
    """Fixed pressure vessels: 1–2 → 6 years; 3 → 3–6 years as the inspector sets
    (36 months unless the certificate says otherwise); 4 → set by the inspector;
    5 → out of use, no cycle."""
    if grade in (1, 2):
        return 72
    if grade == 3:
        return 36
    if grade in (4, 5):
        return None
    return default


def grade_governs(kind: str, special_code: str | None) -> bool:
    return kind == ObligationKind.PERIODIC_INSPECTION and is_fixed_vessel(special_code)


# --------------------------------------------------------------------------- SQL


def blocking_clause(today: dt.date):
    """An obligation that keeps its asset from running: statutory, active, and either
    failed or past due; or a failed safety assessment (city plan annex, row 1). Used by
    the bulk enforcer and the run states; safety.py states the same rule."""
    return and_(
        Obligation.active.is_(True),
        or_(
            and_(
                Obligation.statutory.is_(True),
                or_(Obligation.failed.is_(True), Obligation.next_due < today),
            ),
            and_(Obligation.kind.in_(AUTO_KINDS), Obligation.failed.is_(True)),
        ),
    )


class days_between(FunctionElement):  # noqa: N801  (reads like the SQL function it is)
    """Whole days from the first date to the second, portable across SQLite and PG."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between_default(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_between_pg(element, compiler, **kw):
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST({end} AS DATE) - CAST({start} AS DATE))"


DATE = Date()
