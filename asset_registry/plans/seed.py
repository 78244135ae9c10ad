"""Demo renewal plans and the bureaus' 2023 baselines (idempotent; after assets/inspections).

The over-age CT of 人民医院 is left alone: the browser test drafts the plan for it.
"""

from __future__ import annotations

import decimal

from flask import current_app, has_request_context
from sqlalchemy import select

from ..assets.models import Asset, AssetStatus
from ..extensions import db
from ..tenancy.models import Organisation, User
from ..tenancy.scope import Scope
from . import services
from .models import InvestmentBaseline, RenewalPlan

# (check) illustrative 2023 equipment investment per bureau, editable on /plans/baselines
BASELINES = {"wjw": "186000000", "jyj": "64000000", "wlj": "38000000", "tyj": "9500000"}

# org, year, title, final state, [(equipment, spec, qty, unit price, reasons, quarter,
#   funding [(source, amount)], replaced-asset name hint)]
PLANS = [
    ("rmyy", 2025, "2025年检验科设备更新", "draft", [
        ("全自动生化分析仪", "2000 测试/小时", 1, "1850000.00", ["obsolete", "frequent_repairs"],
         "2025Q4", [("special_bonds", "1500000.00"), ("self_funded", "350000.00")], "生化"),
    ]),
    ("fybjy", 2025, "2025年超声与监护设备更新", "submitted", [
        ("彩色多普勒超声诊断仪", "高端妇产专用", 2, "1200000.00", ["past_design_life"], "2025Q3",
         [("special_bonds", "1800000.00"), ("local_fiscal", "600000.00")], "超声"),
        ("多参数监护仪", "12.1 英寸", 20, "38000.00", ["obsolete"], "2025Q3",
         [("self_funded", "760000.00")], None),
    ]),
    ("hcxf", 2025, "2025年景区电梯更新", "approved", [
        ("乘客电梯", "1000kg 1.0m/s", 1, "420000.00", ["past_design_life", "failed_inspection"],
         "2025Q2", [("special_bonds", "300000.00"), ("self_funded", "120000.00")], "电梯"),
    ]),
    ("wml", 2025, "2025年观光车更新", "submitted", [
        ("电动观光车", "14 座", 4, "95000.00", ["energy_below_standard"], "2025Q2",
         [("renewal_loan", "200000.00"), ("self_funded", "180000.00")], "观光车"),
    ]),
    ("sxkj", 2025, "2025年实验教学设备更新", "approved", [
        ("数控加工中心", "五轴", 1, "2600000.00", ["obsolete", "insufficient_capacity"], "2025Q4",
         [("central_budget", "1600000.00"), ("local_fiscal", "1000000.00")], None),
    ]),
]


def _user_id(username: str) -> int | None:
    return db.session.scalar(select(User.id).where(User.username == username))


def _replaced_asset(org_id: int, hint: str | None) -> int | None:
    if not hint:
        return None
    return db.session.scalar(
        select(Asset.id)
        .where(
            Asset.org_id == org_id,
            Asset.name.contains(hint),
            Asset.status != AssetStatus.DISPOSED,
            ~Asset.name.contains("CT"),
        )
        .order_by(Asset.design_life_end)
        .limit(1)
    )


def seed_demo() -> None:
    # Labels and messages are translated lazily through the request's locale; a seed
    # run from the CLI has no request, so give it one (the msgids are the Chinese text).
    if has_request_context():
        _seed()
        return
    with current_app.test_request_context():
        _seed()


def _seed() -> None:
    scope = Scope.system()
    orgs = {o.code: o for o in db.session.scalars(select(Organisation))}
    for code, amount in BASELINES.items():
        if code in orgs:
            exists = db.session.scalar(
                select(InvestmentBaseline.id).where(InvestmentBaseline.org_id == orgs[code].id)
            )
            if exists is None:
                services.set_baseline(scope, orgs[code].id, decimal.Decimal(amount))
    reviewer = {"rmyy": "wjw", "fybjy": "wjw", "hcxf": "wlj", "wml": "wlj", "sxkj": "jyj"}
    for code, year, title, state, items in PLANS:
        org = orgs.get(code)
        if org is None:
            continue
        exists = db.session.scalar(
            select(RenewalPlan.id).where(
                RenewalPlan.org_id == org.id, RenewalPlan.year == year, RenewalPlan.title == title
            )
        )
        if exists is not None:
            continue
        manager = _user_id(code) or _user_id("admin")
        plan = services.create_plan(scope, year=year, title=title, user_id=manager, org_id=org.id)
        for name, spec, qty, price, reasons, quarter, funding, hint in items:
            services.save_item(
                scope, plan,
                services.ItemInput(
                    equipment_name=name, specification=spec, quantity=qty, unit_price=price,
                    reasons=reasons, planned_quarter=quarter, funding=funding,
                    replaced_asset_id=_replaced_asset(org.id, hint),
                ),
            )
        if state in ("submitted", "approved"):
            services.submit(scope, plan, user_id=manager)
        if state == "approved":
            services.review(scope, plan, "approve", user_id=_user_id(reviewer[code]),
                            comment="同意。")
    db.session.flush()
