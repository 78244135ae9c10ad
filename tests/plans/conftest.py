"""Fixtures for plan tests: an over-age asset, a plan in a given state."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from asset_registry.catalog.models import Category
from asset_registry.extensions import db
from asset_registry.plans import services
from asset_registry.tenancy.scope import use_scope
from tests.helpers import scope_of
from tests.plans.support import item_input, unique, user_id


@pytest.fixture
def old_asset(app):
    """`old_asset("rmyy", name=...)` → id of an over-age asset (commissioned 2010)."""
    from asset_registry.assets.services import create_asset

    def _make(username: str = "rmyy", category: str = "MED-06", **fields) -> int:
        scope = scope_of(username)
        with use_scope(scope):
            cat = db.session.scalar(select(Category.id).where(Category.code == category))
            asset = create_asset(
                scope,
                {
                    "asset_code": unique("OLD"),
                    "name": fields.pop("name", "旧CT"),
                    "category_id": cat,
                    "commissioned_on": "2010-05-01",
                    "purchase_date": "2010-04-01",
                    "original_value": "3000000",
                    **fields,
                },
            )
            db.session.commit()
            return asset.id

    return _make


@pytest.fixture
def make_plan(app):
    """`make_plan("rmyy", items=1, state="draft")` → committed plan id."""

    def _make(username: str = "rmyy", items: int = 1, state: str = "draft",
              replaced: int | None = None, reviewer: str = "wjw") -> int:
        scope = scope_of(username)
        with use_scope(scope):
            plan = services.create_plan(scope, year=2025, title=unique("计划"),
                                        user_id=user_id(username))
            for n in range(items):
                services.save_item(
                    scope, plan, item_input(replaced_asset_id=replaced if n == 0 else None)
                )
            if state in ("submitted", "approved", "in_procurement"):
                services.submit(scope, plan)
            db.session.commit()
            plan_id = plan.id
        if state in ("approved", "in_procurement"):
            rscope = scope_of(reviewer)
            with use_scope(rscope):
                plan = services.get_plan(rscope, plan_id)
                services.review(rscope, plan, "approve", user_id=user_id(reviewer))
                db.session.commit()
        if state == "in_procurement":
            with use_scope(scope):
                plan = services.get_plan(scope, plan_id)
                services.start_procurement(scope, plan)
                db.session.commit()
        return plan_id

    return _make

