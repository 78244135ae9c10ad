"""Plain helpers shared by plan, report and browser tests."""

from __future__ import annotations

import itertools
import uuid

from sqlalchemy import select

from asset_registry.extensions import db
from asset_registry.plans import services
from asset_registry.plans.models import RenewalPlan
from asset_registry.tenancy.models import User
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import scope_of

_seq = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}-{next(_seq)}"


def user_id(username: str) -> int:
    with use_scope(Scope.system()):
        return db.session.scalar(select(User.id).where(User.username == username))


def item_input(total="200000.00", funding=None, **fields) -> services.ItemInput:
    values = {
        "equipment_name": "64排CT",
        "specification": "64 排 128 层",
        "quantity": "1",
        "unit_price": total,
        "reasons": ["past_design_life"],
        "planned_quarter": "2025Q3",
        "funding": funding
        if funding is not None
        else [("special_bonds", "150000.00"), ("self_funded", "50000.00")],
    }
    values.update(fields)
    return services.ItemInput(**values)




def load(username: str, plan_id: int) -> RenewalPlan | None:
    scope = scope_of(username)
    with use_scope(scope):
        return services.get_plan(scope, plan_id)
