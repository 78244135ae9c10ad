"""Dashboard figures, every one a GROUP BY in SQL over the caller's scope.

Each query is an ORM select, so the central scope listener narrows it (an institution
sees itself, a bureau its institutions, the regulator special equipment only). Asset and
duty figures read the rollups (reports.models), which `refresh_rollups` rebuilds from
the asset and obligation tables in one grouped pass each: at a million assets a live
pass takes seconds, a pass over the rollups milliseconds. Plan figures come straight
from the (small) plan tables. Python only adds up the few grouped rows those return.
"""

from __future__ import annotations

import datetime as dt
import decimal
import time
from collections import defaultdict
from dataclasses import dataclass, field

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import (
    Date,
    DateTime,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
)

from .. import clock
from ..assets.models import Asset, AssetStatus, FundingSource
from ..catalog.models import Category
from ..enums import Role, Sector
from ..extensions import db
from ..inspections import permits, safety
from ..inspections.models import Obligation
from ..plans.models import (
    APPROVED_STATES,
    REQUESTED_STATES,
    FundingLine,
    PlanItem,
    PlanStatus,
    RenewalPlan,
)
from ..tenancy.models import Organisation
from ..tenancy.scope import Scope
from .models import AssetRollup, DutyRollup

ZERO = decimal.Decimal("0")
AGE_BANDS = ((0, 5), (5, 10), (10, 15), (15, None))
DUE_WINDOW_DAYS = 30
# Self-checks are the operator's own routine, not statutory inspections.
SELF_CHECK_KINDS = ("daily_check", "monthly_check")


def _(message: str, **variables) -> str:
    """gettext usable from the bench and CLI too (no request there; msgids are Chinese)."""
    if has_request_context():
        return gettext(message, **variables)
    return message % variables if variables else message


@dataclass
class Table:
    """A figure: its numbers as a table, and which column the bar chart draws."""

    key: str
    title: str
    headers: list[str]
    rows: list[list]
    bar_col: int | None = None
    percent_cols: tuple[int, ...] = ()
    money_cols: tuple[int, ...] = ()
    note: str | None = None
    target: decimal.Decimal | None = field(default=None)  # a reference line on the chart

    @property
    def bar_values(self) -> list[float]:
        if self.bar_col is None:
            return []
        return [float(row[self.bar_col] or 0) for row in self.rows]

    @property
    def bar_top(self) -> float:
        return max([*self.bar_values, float(self.target or 0), 1.0])


def _years_ago(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _share(part, whole) -> float | None:
    return (part / whole) if whole else None


# --------------------------------------------------------------------------- rollups
#
# The dashboards read AssetRollup / DutyRollup (a few thousand rows), rebuilt from the
# asset and obligation tables by `refresh_rollups`. The day-relative dimensions (age
# band, past design life, overdue, due soon) are computed for the refresh day.

DISPOSED = AssetStatus.DISPOSED.value


def _special_kind(special_code):
    return func.substr(special_code, 1, 1)


def _asset_rollup_source(today: dt.date, refreshed_at: dt.datetime):
    """One row per combination of the asset dimensions, with counts: the INSERT's SELECT."""
    start = func.coalesce(Asset.commissioned_on, Asset.purchase_date)
    age_band = case(
        (start.is_(None), None),
        (start > today, -1),
        *[(start > _years_ago(today, hi), lo) for lo, hi in AGE_BANDS if hi is not None],
        else_=AGE_BANDS[-1][0],
    )
    past = case((Asset.design_life_end < today, True), else_=False)
    dimensions = [
        Asset.org_id, Asset.is_special, _special_kind(Asset.special_code), Asset.status,
        age_band, past,
    ]
    return select(
        *dimensions, func.count(Asset.id), func.sum(Asset.original_value),
        literal(today, Date), literal(refreshed_at, DateTime),
    ).group_by(*_by_position(range(len(dimensions))))


def _by_position(indexes):
    """GROUP BY output column numbers: SQLite would otherwise evaluate the CASE
    expressions again for the grouping key (measured: half the time of the statement),
    and PostgreSQL would see the SELECT's and GROUP BY's bound parameters as different
    expressions."""
    return [literal_column(str(i + 1)) for i in indexes]


ASSET_ROLLUP_COLUMNS = ("org_id", "is_special", "special_kind", "status", "age_band",
                        "past_design_life", "assets", "original_value", "as_of",
                        "refreshed_at")


def _counted_duties():
    """The duties the dashboards count: active statutory inspections, no self-checks."""
    return and_(Obligation.active.is_(True), Obligation.statutory.is_(True),
                Obligation.kind.not_in(SELF_CHECK_KINDS))


def _duty_rollup_source(today: dt.date, refreshed_at: dt.datetime):
    state = case(
        (Obligation.failed.is_(True), "failed"),
        (Obligation.next_due < today, "overdue"),
        else_="current",
    )
    soon = today + dt.timedelta(days=DUE_WINDOW_DAYS)
    # like before the rollup: "due soon" looks at the date only, failed or not
    due_soon = case((and_(Obligation.next_due >= today, Obligation.next_due <= soon), True),
                    else_=False)
    dimensions = [
        Obligation.org_id, Asset.is_special, _special_kind(Asset.special_code), state, due_soon,
    ]
    return (
        select(*dimensions, func.count(Obligation.id),
               literal(today, Date), literal(refreshed_at, DateTime))
        .join(Asset, Asset.id == Obligation.asset_id)
        .where(_counted_duties())
        # state first: led by org_id, SQLite walks the obligations through the
        # (org_id, next_due) index, a lookup per row, instead of scanning the table
        .group_by(*_by_position((3, 4, 0, 1, 2)))
    )


DUTY_ROLLUP_COLUMNS = ("org_id", "is_special", "special_kind", "state", "due_soon", "duties",
                       "as_of", "refreshed_at")


@dataclass
class RefreshResult:
    asset_rows: int
    duty_rows: int
    seconds: float

    def __str__(self) -> str:
        return (f"{self.asset_rows} asset and {self.duty_rows} duty rollup rows "
                f"in {self.seconds:.2f} s")


def refresh_rollups(today: dt.date, scope: Scope | None = None) -> RefreshResult:
    """Rebuild the rollups for the organisations of `scope` (default: every one) as of
    `today`: per table one DELETE and one INSERT … SELECT … GROUP BY. Flushes only: the
    caller's commit makes the new figures visible at once, and readers meanwhile keep
    seeing the previous ones.

    Core statements, so neither the scope listener nor the audit log sees them: the rows
    are derived data, and the organisations are narrowed here through the scope."""
    started = time.perf_counter()
    scope = scope or Scope.system()
    refreshed_at = clock.utcnow_naive()
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        # two refreshes at once would each delete only the rows they saw and both
        # insert; this mode conflicts with itself but not with the dashboards' reads
        session.execute(text(
            f"LOCK TABLE {AssetRollup.__tablename__}, {DutyRollup.__tablename__} "
            "IN SHARE ROW EXCLUSIVE MODE"
        ))
    counts = []
    for model, source, columns, owner in (
        (AssetRollup, _asset_rollup_source(today, refreshed_at), ASSET_ROLLUP_COLUMNS, Asset),
        (DutyRollup, _duty_rollup_source(today, refreshed_at), DUTY_ROLLUP_COLUMNS,
         Obligation),
    ):
        table = model.__table__
        mine = scope.org_criteria(table.c.org_id)
        session.execute(delete(table).where(mine))
        session.execute(
            insert(table).from_select(list(columns), source.where(scope.org_criteria(owner.org_id)))
        )
        # (rowcount of INSERT … SELECT is -1 under psycopg)
        counts.append(session.scalar(select(func.count()).select_from(table).where(mine)))
    return RefreshResult(*counts, seconds=time.perf_counter() - started)


@dataclass
class Freshness:
    """When the figures in a scope were computed (the oldest row, if refreshes differ)."""

    refreshed_at: dt.datetime | None  # local time
    as_of: dt.date | None


def freshness(scope: Scope) -> Freshness:
    refreshed_at, as_of = db.session.execute(
        select(func.min(AssetRollup.refreshed_at), func.min(AssetRollup.as_of))
    ).one()
    if refreshed_at is not None:
        refreshed_at = refreshed_at.replace(tzinfo=dt.UTC).astimezone(clock.LOCAL_TZ)
    return Freshness(refreshed_at, as_of)


# --------------------------------------------------------------------------- assets


def asset_figures(scope: Scope, today: dt.date) -> dict[int, dict]:
    """Per organisation: totals, by status, past design life, age bands."""
    r = AssetRollup
    live = r.status != DISPOSED

    def total(condition=None):
        return func.sum(r.assets if condition is None else case((condition, r.assets), else_=0))

    columns = [
        r.org_id, total().label("all"), total(live).label("live"),
        total(and_(live, r.past_design_life.is_(True))).label("past"),
    ]
    for status in AssetStatus:
        columns.append(total(r.status == status.value).label(f"s_{status.value}"))
    for lo, _hi in AGE_BANDS:
        columns.append(total(and_(live, r.age_band == lo)).label(f"age_{lo}"))
    columns.append(total(and_(live, r.age_band.is_(None))).label("age_none"))
    rows = db.session.execute(select(*columns).group_by(r.org_id)).all()
    return {row.org_id: {k: int(v or 0) for k, v in row._mapping.items()} for row in rows}


def _duty_total(condition=None):
    r = DutyRollup
    return func.sum(r.duties if condition is None else case((condition, r.duties), else_=0))


def obligation_figures(scope: Scope, today: dt.date) -> dict[int, dict]:
    """Per organisation, the counted duties: total, current, overdue, failed, due within
    the window."""
    r = DutyRollup
    rows = db.session.execute(
        select(
            r.org_id,
            _duty_total().label("total"),
            _duty_total(r.state == "current").label("current"),
            _duty_total(r.state == "overdue").label("overdue"),
            _duty_total(r.state == "failed").label("failed"),
            _duty_total(r.due_soon.is_(True)).label("due"),
        ).group_by(r.org_id)
    ).all()
    return {row.org_id: {k: int(v or 0) for k, v in row._mapping.items()} for row in rows}


def safety_figures(scope: Scope, today: dt.date) -> dict[int, dict]:
    """Per organisation, its assets by safety state (inspections/safety.py): read live
    from the stored state with the same criterion as the asset list's state filter, so
    a dashboard and a list can never disagree. `total`: assets under statutory
    inspection; `current`: certified and current (ok or due soon)."""
    out = {}
    for org_id, by_state in safety.counts_by_org(scope, today).items():
        out[org_id] = {
            **by_state,
            "total": sum(n for state, n in by_state.items() if state != "none"),
            "current": by_state["ok"] + by_state["due_soon"],
            "due": by_state["due_soon"],
        }
    return out


def _sum(per_org: dict[int, dict], key: str) -> int:
    return sum(values.get(key, 0) for values in per_org.values())


def _org_names(org_ids) -> dict[int, tuple[str, str | None, str]]:
    """id → (name, sector, code) for the organisations that appear in the figures."""
    ids = sorted(set(org_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(Organisation.id, Organisation.name, Organisation.sector, Organisation.code)
        .where(Organisation.id.in_(ids))
    )
    return {r.id: (r.name, r.sector, r.code) for r in rows}


def kpis(assets: dict, duties: dict) -> dict:
    live = _sum(assets, "live")
    past = _sum(assets, "past")
    total = _sum(duties, "total")
    return {
        "assets": live,
        "past": past,
        "past_share": _share(past, live),
        "compliance": _share(_sum(duties, "current"), total),
        "due": _sum(duties, "due"),
        "overdue": _sum(duties, "overdue"),
        "failed": _sum(duties, "failed"),
        "stopped": _sum(duties, "stopped"),
        "unverified": _sum(duties, "unverified"),
    }


def status_table(assets: dict) -> Table:
    rows = [[s.label, _sum(assets, f"s_{s.value}")] for s in AssetStatus]
    return Table("status", _("设备按状态"), [_("状态"), _("台数")], rows, bar_col=1)


def age_table(assets: dict) -> Table:
    labels = {0: _("5 年以内"), 5: _("5–10 年"), 10: _("10–15 年"), 15: _("15 年以上")}
    rows = [[labels[lo], _sum(assets, f"age_{lo}")] for lo, _hi in AGE_BANDS]
    rows.append([_("投用日期不详"), _sum(assets, "age_none")])
    return Table("age", _("在册设备按已使用年限"), [_("已使用年限"), _("台数")], rows, bar_col=1)


def institution_table(assets: dict, duties: dict, *, key="institutions",
                      title=None, missing_permits: dict | None = None) -> Table:
    names = _org_names([*assets, *duties])
    rows = []
    for org_id in sorted(names, key=lambda i: names[i][2]):
        a, d = assets.get(org_id, {}), duties.get(org_id, {})
        rows.append([
            names[org_id][0], a.get("live", 0), a.get("past", 0),
            _share(a.get("past", 0), a.get("live", 0)),
            _share(d.get("current", 0), d.get("total", 0)),
            d.get("due", 0), d.get("overdue", 0), d.get("failed", 0),
            d.get("unverified", 0),
            *([missing_permits.get(org_id, 0)] if missing_permits is not None else []),
        ])
    return Table(
        key, title or _("各单位设备与检验合规"),
        [_("单位"), _("在册设备"), _("超设计使用年限"), _("超年限占比"), _("检验合规率"),
         _("即将到期（台）"), _("检验已过期（台）"), _("检验不合格（台）"),
         _("未录入检验（台）"),
         *([_("大型医用设备缺配置许可证")] if missing_permits is not None else [])],
        rows, bar_col=4, percent_cols=(3, 4),
    )


def sector_table(assets: dict, duties: dict) -> Table:
    names = _org_names([*assets, *duties])
    grouped: dict[str | None, dict] = defaultdict(lambda: defaultdict(int))
    for source in (assets, duties):
        for org_id, values in source.items():
            sector = names.get(org_id, ("", None, ""))[1]
            for key in ("live", "past", "current", "total", "overdue", "failed"):
                grouped[sector][key] += values.get(key, 0)
    rows = []
    for sector in [*Sector, None]:
        g = grouped.get(sector.value if sector else None)
        if not g:
            continue
        rows.append([
            sector.label if sector else _("其他"), g["live"], g["past"],
            _share(g["past"], g["live"]), _share(g["current"], g["total"]),
            g["overdue"], g["failed"],
        ])
    return Table(
        "sectors", _("各行业设备与检验合规"),
        [_("行业"), _("在册设备"), _("超设计使用年限"), _("超年限占比"), _("检验合规率"),
         _("已逾期"), _("检验不合格")],
        rows, bar_col=1, percent_cols=(3, 4),
    )


# --------------------------------------------------------------------------- special equipment


def special_kind_table(scope: Scope, today: dt.date) -> Table:
    """Special equipment by catalogue kind: units, past design life, overdue, failed
    (devices, by their safety state)."""
    safety.ensure_current(scope, today)
    a = AssetRollup
    live = a.status != DISPOSED
    units = dict(
        (r[0], r[1:])
        for r in db.session.execute(
            select(
                a.special_kind,
                func.sum(case((live, a.assets), else_=0)),
                func.sum(case((and_(live, a.past_design_life.is_(True)), a.assets), else_=0)),
            )
            .where(a.is_special.is_(True))
            .group_by(a.special_kind)
        )
    )
    kind = _special_kind(Asset.special_code)
    duties = {}
    for code, state, count in db.session.execute(
        select(kind, Asset.safety_state, func.count(Asset.id))
        .where(Asset.is_special.is_(True), safety.counted(),
               Asset.safety_state.in_(("overdue", "failed")))
        .group_by(kind, Asset.safety_state)
    ):
        overdue, failed = duties.get(code, (0, 0))
        if state == "overdue":
            duties[code] = (overdue + count, failed)
        else:
            duties[code] = (overdue, failed + count)
    names = _special_kind_names()
    rows = []
    for code in sorted(set(units) | set(duties), key=lambda c: c or ""):
        n, past = units.get(code, (0, 0))
        overdue, failed = duties.get(code, (0, 0))
        rows.append([names.get(code, code or _("未分类")), int(n or 0), int(past or 0),
                     int(overdue or 0), int(failed or 0)])
    return Table(
        "special_kinds", _("特种设备按种类"),
        [_("种类"), _("在册台数"), _("超设计使用年限"), _("检验逾期"), _("检验不合格")],
        rows, bar_col=1,
    )


def _special_kind_names() -> dict[str, str]:
    """First digit of the catalogue code → the kind's name from the category tree."""
    rows = db.session.execute(
        select(Category.special_code, Category.name).where(Category.special_code.is_not(None))
    ).all()
    names: dict[str, str] = {}
    for code, name in sorted(rows, key=lambda r: r[0]):
        if code and code.endswith("000"):
            names.setdefault(code[0], name)
    return names


def special_institution_table(assets: dict, duties: dict) -> Table:
    table = institution_table(assets, duties, key="special_institutions",
                              title=_("各单位特种设备"))
    table.headers[1] = _("特种设备台数")
    return table


# --------------------------------------------------------------------------- plans


def _current_plans():
    return RenewalPlan.superseded.is_(False)


def plan_status_table(scope: Scope) -> Table:
    totals = (
        select(PlanItem.plan_id, func.sum(PlanItem.total).label("amount"))
        .group_by(PlanItem.plan_id).subquery()
    )
    rows = dict(
        (r[0], r[1:])
        for r in db.session.execute(
            select(RenewalPlan.status, func.count(RenewalPlan.id),
                   func.coalesce(func.sum(totals.c.amount), 0))
            .outerjoin(totals, totals.c.plan_id == RenewalPlan.id)
            .where(_current_plans())
            .group_by(RenewalPlan.status)
        )
    )
    out = [[s.label, int(rows.get(s.value, (0, 0))[0]),
            decimal.Decimal(rows.get(s.value, (0, 0))[1] or 0)] for s in PlanStatus]
    return Table("plan_status", _("更新计划进度"), [_("状态"), _("计划数"), _("金额（元）")],
                 out, bar_col=1, money_cols=(2,))


def plans_by_institution_table(scope: Scope) -> Table:
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for org_id, status, n in db.session.execute(
        select(RenewalPlan.org_id, RenewalPlan.status, func.count(RenewalPlan.id))
        .where(_current_plans())
        .group_by(RenewalPlan.org_id, RenewalPlan.status)
    ):
        counts[org_id][status] = int(n)
    names = _org_names(counts)
    rows = [
        [names[o][0], *[counts[o].get(s.value, 0) for s in PlanStatus], sum(counts[o].values())]
        for o in sorted(counts, key=lambda i: names[i][2])
    ]
    return Table("plans_by_institution", _("各单位更新计划（按状态）"),
                 [_("单位"), *[s.label for s in PlanStatus], _("合计")], rows,
                 bar_col=len(PlanStatus) + 1)


def budget_by_source_table(scope: Scope) -> Table:
    requested = [str(s) for s in REQUESTED_STATES]
    approved = [str(s) for s in APPROVED_STATES]
    rows = dict(
        (r[0], r[1:])
        for r in db.session.execute(
            select(
                FundingLine.source,
                func.sum(case((RenewalPlan.status.in_(requested), FundingLine.amount), else_=0)),
                func.sum(case((RenewalPlan.status.in_(approved), FundingLine.amount), else_=0)),
            )
            .join(PlanItem, PlanItem.id == FundingLine.item_id)
            .join(RenewalPlan, RenewalPlan.id == PlanItem.plan_id)
            .where(_current_plans())
            .group_by(FundingLine.source)
        )
    )
    out = []
    for source in FundingSource:
        req, app = rows.get(source.value, (0, 0))
        out.append([source.label, decimal.Decimal(req or 0), decimal.Decimal(app or 0)])
    return Table("budget_by_source", _("申报与批准资金（按来源）"),
                 [_("资金来源"), _("申报金额（元）"), _("批准金额（元）")], out,
                 bar_col=2, money_cols=(1, 2))


def investment_table(scope: Scope) -> Table:
    """Renewal investment by year against the 2023 baseline and the 2027 target: what was
    requested, approved and actually completed (completion records), each labelled — the
    target is measured by the completed figure. One derivation: programme.figures."""
    from ..programme import figures

    base = figures.baseline(scope)
    rows = [
        [str(row["year"]), row["requested"], row["approved"], row["actual"],
         row["vs_baseline"]]
        for row in figures.investment_by_year(scope)
    ]
    note = _("2023 年基数 %(b)s 元；2027 年目标 %(t)s 元（增长 %(p)s%%，按主管部门设置）；"
             "目标按实际完成投资衡量",
             b=f"{base['amount']:,.2f}", t=f"{base['target']:,.2f}", p=base["pct"])
    return Table("investment", _("更新投资（按年度）与 2027 年目标"),
                 [_("年度"), _("申请投资（元）"), _("批准投资（元）"), _("实际完成投资（元）"),
                  _("实际完成相当于 2023 年基数")], rows,
                 bar_col=3, money_cols=(1, 2, 3), percent_cols=(4,), note=note,
                 target=base["target"])


# --------------------------------------------------------------------------- by role


def dashboard_kind(scope: Scope) -> str:
    if scope.role == Role.REGULATOR:
        return "regulator"
    if scope.role == Role.BUREAU_REVIEWER:
        return "bureau"
    if scope.role in (Role.CITY_ADMIN, "system"):
        return "city"
    return "institution"


@dataclass
class Dashboard:
    kind: str
    kpis: dict
    tables: list[Table]
    freshness: Freshness

    def table(self, key: str) -> Table | None:
        return next((t for t in self.tables if t.key == key), None)


def dashboard(scope: Scope, today: dt.date) -> Dashboard:
    kind = dashboard_kind(scope)
    assets = asset_figures(scope, today)
    duties = safety_figures(scope, today)
    figures = kpis(assets, duties)
    if kind == "institution":
        tables = [status_table(assets), age_table(assets), plan_status_table(scope)]
    elif kind == "bureau":
        tables = [
            institution_table(assets, duties,
                              missing_permits=permits.missing_permits_by_org(scope)),
            plans_by_institution_table(scope),
            budget_by_source_table(scope), investment_table(scope), status_table(assets),
        ]
    elif kind == "regulator":
        tables = [special_kind_table(scope, today), special_institution_table(assets, duties)]
    else:
        tables = [
            sector_table(assets, duties), institution_table(assets, duties),
            special_kind_table(scope, today), plans_by_institution_table(scope),
            budget_by_source_table(scope), investment_table(scope), status_table(assets),
            age_table(assets),
        ]
    return Dashboard(kind, figures, tables, freshness(scope))


def table_rows_for_export(table: Table) -> list[list]:
    """Shares as percentages with one decimal, money as numbers."""
    out = []
    for row in table.rows:
        cells = []
        for i, value in enumerate(row):
            if i in table.percent_cols:
                value = None if value is None else round(float(value) * 100, 1)
            cells.append(value)
        out.append(cells)
    return out
