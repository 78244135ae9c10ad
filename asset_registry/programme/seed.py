"""A believable programme demo (idempotent; after plans): approved and completed health and
education items, two reserve projects, the bureaus' 2025 task lists and a closed
dispatch round of 市卫健委 with its 专报."""

from __future__ import annotations

import datetime as dt

from flask import current_app, has_request_context
from sqlalchemy import select

from .. import clock
from ..enums import Role
from ..extensions import db
from ..plans import services as plans
from ..plans.models import PlanItem, RenewalPlan
from ..tenancy.models import Organisation, User
from ..tenancy.scope import Scope, use_scope
from ..tenancy.services import subtree_ids
from . import projects, reports, rounds, tasks

# org, title, [(equipment, spec, qty, unit price, quarter, funding)], completed prices
DEMO_PLANS = [
    ("rmyy", "2025年医学影像设备更新（一期）", [
        ("数字化X射线摄影系统（DR）", "双板悬吊", 2, "1350000.00", "2025Q2",
         [("special_bonds", "2000000.00"), ("self_funded", "700000.00")]),
        ("彩色多普勒超声诊断仪", "心脏专用", 1, "980000.00", "2025Q2",
         [("special_bonds", "700000.00"), ("self_funded", "280000.00")]),
    ], ["2580000.00", "935000.00"]),
    ("gprmyy", "2025年检验设备更新", [
        ("全自动化学发光免疫分析仪", "200 测试/小时", 1, "1600000.00", "2025Q3",
         [("special_bonds", "1200000.00"), ("local_fiscal", "400000.00")]),
    ], None),
    ("yxrmyy", "2025年县域医疗次中心设备更新", [
        ("64排螺旋CT", "64 排 128 层", 1, "4200000.00", "2025Q4",
         [("special_bonds", "3000000.00"), ("local_fiscal", "1200000.00")]),
    ], None),
]

# owner, name, applicant, channel, readiness, [(org, plan title)], asks, steps
DEMO_PROJECTS = [
    ("wjw", "晋城市县级医院检验影像设备更新项目", "晋城市卫生健康委员会", "special_bonds",
     "feasibility", [("gprmyy", "2025年检验设备更新"), ("yxrmyy", "2025年县域医疗次中心设备更新")],
     {"special_bonds": "4200000.00"},
     [("applied", {"batch": "2025年第二批", "applied_on": "2025-06-20"})]),
    ("jyj", "山西科技学院实验教学装备更新项目", "山西科技学院", "central_budget", "tender",
     [("sxkj", "2025年实验教学设备更新")], {"central_budget": "1600000.00"},
     [("applied", {"batch": "2025年第一批", "applied_on": "2025-04-10"}),
      ("selected", {"decided_on": "2025-05-30"}),
      ("funded", {"funded_amount": "1500000.00", "funded_on": "2025-06-28",
                  "funding_doc_no": "晋发改投资〔2025〕118号"})]),
]

# bureau, [(title, metric, target, measures, deadline, person, office)]
DEMO_TASKS = [
    ("wjw", [
        ("市属公立医院医学影像设备更新", "devices_replaced", "12",
         "推动市人民医院、市妇幼保健院等更新DR、CT、超声等影像设备", "2025-12-31",
         "张晓明", "规划发展与信息化科"),
        ("医疗领域完成设备更新投资", "investment", "3500",
         "按月调度完成投资，优先使用超长期特别国债资金", "2025-12-31", "李静", "财务科"),
        ("争取中央资金支持项目", "projects_funded", "2",
         "谋划县级医院检验影像设备更新项目，申报超长期特别国债", "2025-10-31",
         "王磊", "规划发展与信息化科"),
    ]),
    ("jyj", [
        ("职业院校实训设备更新投资", "investment", "1800",
         "支持山西科技学院、职业技术学院更新实训教学设备", "2025-12-31", "赵刚", "计划财务科"),
    ]),
    ("wlj", [
        ("重点景区索道和游乐设施安全更新", "devices_replaced", "6",
         "皇城相府、王莽岭、司徒小镇更新超年限客运索道、观光车和游乐设施", "2025-11-30",
         "陈峰", "资源开发科"),
    ]),
]


def seed_demo() -> None:
    if has_request_context():
        _seed()
        return
    with current_app.test_request_context():
        _seed()


def _user_id(username: str) -> int | None:
    return db.session.scalar(select(User.id).where(User.username == username))


def _seed() -> None:
    scope = Scope.system()
    orgs = {o.code: o for o in db.session.scalars(select(Organisation))}
    if "wjw" not in orgs:
        return
    _seed_plans(scope, orgs)
    _seed_projects(scope, orgs)
    _seed_tasks(scope, orgs)
    _seed_round(scope, orgs)
    db.session.flush()


def _plan(org_id: int, title: str) -> RenewalPlan | None:
    return db.session.scalars(
        select(RenewalPlan).where(RenewalPlan.org_id == org_id, RenewalPlan.title == title)
    ).first()


def _seed_plans(scope: Scope, orgs) -> None:
    for code, title, items, completed in DEMO_PLANS:
        org = orgs.get(code)
        if org is None or _plan(org.id, title) is not None:
            continue
        plan = plans.create_plan(scope, year=2025, title=title, org_id=org.id,
                                 user_id=_user_id("rmyy") if code == "rmyy" else None)
        for name, spec, qty, price, quarter, funding in items:
            plans.save_item(scope, plan, plans.ItemInput(
                equipment_name=name, specification=spec, quantity=qty, unit_price=price,
                reasons=["obsolete"], planned_quarter=quarter, funding=funding,
            ))
        plans.submit(scope, plan)
        plans.review(scope, plan, "approve", user_id=_user_id("wjw"), comment="同意。")
        if completed:
            plans.start_procurement(scope, plan)
            for n, (item, price) in enumerate(zip(plan.items, completed, strict=True), 1):
                plans.complete_item(scope, item, plans.CompletionInput(
                    actual_price=price, supplier="山西医疗器械有限公司",
                    completed_on=dt.date(2025, 5, 10 + n), new_asset_code=f"RMYY-2025-YX{n:02d}",
                ))


def _seed_projects(scope: Scope, orgs) -> None:
    from .models import FundingProject

    for owner, name, applicant, channel, readiness, plan_refs, asks, steps in DEMO_PROJECTS:
        org = orgs.get(owner)
        if org is None:
            continue
        exists = db.session.scalar(
            select(FundingProject.id).where(FundingProject.org_id == org.id,
                                            FundingProject.name == name)
        )
        if exists is not None:
            continue
        item_ids = []
        for code, title in plan_refs:
            plan = _plan(orgs[code].id, title) if code in orgs else None
            if plan is not None:
                item_ids += list(db.session.scalars(
                    select(PlanItem.id).where(PlanItem.plan_id == plan.id)
                ))
        if not item_ids:
            continue
        project = projects.create_project(scope, projects.ProjectInput(
            name=name, applicant=applicant, channel=channel, readiness=readiness,
            period_start="2025-07-01", period_end="2026-06-30", item_ids=item_ids, asks=asks,
        ), org_id=org.id)
        for to_state, data in steps:
            projects.move_project(scope, project, to_state, data)


def _seed_tasks(scope: Scope, orgs) -> None:
    from .models import ProgrammeTask

    for code, rows in DEMO_TASKS:
        org = orgs.get(code)
        if org is None:
            continue
        for title, metric, target, measures, deadline, person, office in rows:
            exists = db.session.scalar(select(ProgrammeTask.id).where(
                ProgrammeTask.org_id == org.id, ProgrammeTask.year == 2025,
                ProgrammeTask.title == title))
            if exists is None:
                tasks.save_task(scope, {
                    "year": 2025, "title": title, "metric": metric, "target_value": target,
                    "measures": measures, "deadline": deadline, "responsible_person": person,
                    "responsible_office": office,
                }, org_id=org.id)


DEMO_ROUND = "2025年上半年设备更新调度"
# institution, problems, needs (the others stay unreported: the report lists them as late)
DEMO_ANSWERS = [
    ("rmyy", "DR机房防护改造滞后，第二台DR推迟到三季度安装。",
     "请协调超长期特别国债资金尽快拨付。"),
    ("fybjy", "超声设备招标一次流标，已重新挂网。", ""),
]


def _seed_round(scope: Scope, orgs) -> None:
    from .models import DispatchRound, RoundReport

    wjw = orgs["wjw"]
    if db.session.scalar(select(DispatchRound.id).where(
            DispatchRound.org_id == wjw.id, DispatchRound.title == DEMO_ROUND)) is not None:
        return
    # the bureau's own scope opens, closes and reports: the report counts its institutions
    bureau = Scope(org_ids=subtree_ids(wjw.id), role=Role.BUREAU_REVIEWER, org_id=wjw.id,
                   user_id=_user_id("wjw"))
    # the demo round happened in July 2025: its dates are the round's own, not the seed run's
    with clock.frozen(dt.date(2025, 7, 1)), use_scope(bureau):
        round_ = rounds.open_round(bureau, {
            "title": DEMO_ROUND, "period_start": "2025-01-01", "period_end": "2025-06-30",
            "due_on": "2025-07-10"}, user_id=_user_id("wjw"))
    for code, problems, needs in DEMO_ANSWERS:
        if code not in orgs:
            continue
        report = db.session.scalars(select(RoundReport).where(
            RoundReport.round_id == round_.id, RoundReport.org_id == orgs[code].id)).one()
        with clock.frozen(dt.date(2025, 7, 8)):
            computed = rounds.prefill(scope, report, round_)
            rounds.submit_report(scope, report, {
                "investment_reported": str(computed.investment), "problems": problems,
                "needs": needs}, user_id=_user_id(code))
    with clock.frozen(dt.date(2025, 7, 12)), use_scope(bureau):
        rounds.close_round(bureau, round_)
        reports.issue(bureau, round_, user_id=_user_id("wjw"))
