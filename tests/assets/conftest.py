"""Helpers for asset tests: unique codes and quick asset creation."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from asset_registry.catalog.models import Category
from asset_registry.extensions import db
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import scope_of

_seq = itertools.count(1)


def unique_code(prefix: str = "T") -> str:
    return f"{prefix}-{next(_seq):05d}"


def category_id(code: str) -> int:
    with use_scope(Scope.system()):
        return db.session.scalar(select(Category.id).where(Category.code == code))


@pytest.fixture
def make_asset(app):
    """`make_asset("rmyy", category="MED-06", **fields)` → committed asset id."""
    from asset_registry.assets.services import create_asset

    def _make(username: str, category: str = "MED-06", **fields) -> tuple[int, str]:
        scope = scope_of(username)
        with use_scope(scope):
            data = {
                "asset_code": unique_code(username.upper()),
                "name": "测试设备",
                "category_id": category_id(category),
                "commissioned_on": "2020-03-15",
                "purchase_date": "2020-03-01",
                "original_value": "100000",
                **fields,
            }
            asset = create_asset(scope, data)
            db.session.commit()
            return asset.id, asset.qr_token

    return _make


@pytest.fixture(autouse=True)
def _with_app(app):
    """Every asset test runs against the seeded demo database."""
    yield
