"""Helpers for the programme tests: approved (and completed) plan items, projects."""

from __future__ import annotations

import datetime as dt

from asset_registry.extensions import db
from asset_registry.plans import services as plans
from asset_registry.programme import projects
from asset_registry.tenancy.scope import use_scope
from tests.helpers import scope_of
from tests.plans.support import item_input, unique, user_id

REVIEWER = {"rmyy": "wjw", "fybjy": "wjw", "gprmyy": "wjw", "sxkj": "jyj", "hcxf": "wlj"}


def approved_items(username: str = "rmyy", totals=("200000.00",), *, complete_on=None,
                   prices=None) -> list[int]:
    """A committed, approved plan of `username`'s institution with one item per total;
    with `complete_on`, procured and completed at `prices` (default: the totals)."""
    scope = scope_of(username)
    with use_scope(scope):
        plan = plans.create_plan(scope, year=2025, title=unique("计划"),
                                 user_id=user_id(username))
        for total in totals:
            plans.save_item(scope, plan, item_input(
                total=total, funding=[("special_bonds", total)], equipment_name=unique("设备")))
        plans.submit(scope, plan)
        db.session.commit()
        plan_id = plan.id
    reviewer = scope_of(REVIEWER[username])
    with use_scope(reviewer):
        plans.review(reviewer, plans.get_plan(reviewer, plan_id), "approve")
        db.session.commit()
    with use_scope(scope):
        plan = plans.get_plan(scope, plan_id)
        ids = [i.id for i in plan.items]
        if complete_on is not None:
            plans.start_procurement(scope, plan)
            for item, price in zip(plan.items, prices or totals, strict=True):
                plans.complete_item(scope, item, plans.CompletionInput(
                    actual_price=price, supplier="供应商", completed_on=complete_on,
                    new_asset_code=unique("NEW")))
            db.session.commit()
    return ids


def make_project(owner: str, item_ids, asks=None, **fields) -> int:
    scope = scope_of(owner)
    with use_scope(scope):
        data = projects.ProjectInput(
            name=fields.pop("name", unique("项目")), applicant=fields.pop("applicant", "申报单位"),
            channel=fields.pop("channel", "special_bonds"), item_ids=item_ids,
            asks=asks or {"special_bonds": "100000.00"}, **fields)
        project = projects.create_project(scope, data, user_id=user_id(owner))
        db.session.commit()
        return project.id


TODAY = dt.date(2025, 7, 15)
