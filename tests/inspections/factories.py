"""Assets for inspection tests, made through the asset register's own service."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from sqlalchemy import select

from asset_registry.assets import services as asset_services
from asset_registry.catalog.models import Category
from asset_registry.extensions import db
from asset_registry.inspections.models import Obligation
from asset_registry.tenancy.models import Organisation

_n = itertools.count(1)


def org_id(code: str) -> int:
    return db.session.scalars(
        select(Organisation.id).where(Organisation.code == code)
    ).one()


def category_id(code: str) -> int:
    return db.session.scalars(select(Category.id).where(Category.code == code)).one()


def make_asset(scope, org_code: str, category_code: str, **fields):
    """A fresh asset with a unique code, created in `scope` for `org_code`."""
    data = {
        "asset_code": f"T-INSP-{uuid.uuid4().hex[:8]}-{next(_n)}",
        "name": fields.pop("name", f"测试设备 {category_code}"),
        "category_id": category_id(category_code),
        "commissioned_on": fields.pop("commissioned_on", dt.date(2016, 5, 1)),
        **fields,
    }
    return asset_services.create_asset(scope, data, org_id=org_id(org_code))


def duty(asset, kind: str) -> Obligation:
    return db.session.scalars(
        select(Obligation).where(Obligation.asset_id == asset.id, Obligation.kind == kind)
    ).one()
