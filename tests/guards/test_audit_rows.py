"""The audit hook writes a create, an update and a delete row for tenant-owned rows
changed through the real services: the plan item (all three), the plan and its
funding lines, the asset, the institution permit. An update that changes nothing
writes nothing; password hashes and QR tokens never reach the audit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from asset_registry import clock
from asset_registry.assets import services as asset_services
from asset_registry.assets.models import Asset
from asset_registry.audit.models import AuditEvent
from asset_registry.extensions import db
from asset_registry.inspections import permits
from asset_registry.plans import services as plans
from asset_registry.tenancy.scope import Scope, use_scope
from tests.inspections.factories import make_asset, org_id
from tests.plans.support import item_input, unique


def audit(entity: str, entity_id: int) -> list[tuple[str, dict]]:
    with use_scope(Scope.system()):
        rows = db.session.execute(
            select(AuditEvent.action, AuditEvent.changes)
            .where(AuditEvent.entity == entity, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.id)
        ).all()
        db.session.rollback()
    return [(action, changes) for action, changes in rows]


def test_plan_item_create_update_delete(app, as_user):
    with as_user("rmyy") as scope:
        plan = plans.create_plan(scope, year=2027, title=unique("审计计划"))
        item = plans.save_item(scope, plan, item_input(equipment_name="审计CT"))
        item_id, plan_id = item.id, plan.id
        line_ids = [line.id for line in item.funding_lines]
        db.session.commit()
    [(action, changes)] = audit("plan_item", item_id)
    assert action == "create" and changes["after"]["equipment_name"] == "审计CT"
    assert [a for a, _ in audit("renewal_plan", plan_id)] == ["create"]
    assert all([a for a, _ in audit("plan_funding_line", i)] == ["create"] for i in line_ids)

    with as_user("rmyy") as scope:
        plan = plans.get_plan(scope, plan_id)
        item = next(i for i in plan.items if i.id == item_id)
        plans.save_item(scope, plan, item_input(equipment_name="审计MR"), item=item)
        db.session.commit()
    action, changes = audit("plan_item", item_id)[-1]
    assert action == "update"
    assert (changes["before"]["equipment_name"], changes["after"]["equipment_name"]) == (
        "审计CT", "审计MR")

    with as_user("rmyy") as scope:
        plan = plans.get_plan(scope, plan_id)
        item = next(i for i in plan.items if i.id == item_id)
        plans.delete_item(scope, plan, item)
        db.session.commit()
    action, changes = audit("plan_item", item_id)[-1]
    assert action == "delete" and changes["before"]["equipment_name"] == "审计MR"
    assert [a for a, _ in audit("plan_item", item_id)] == ["create", "update", "delete"]


def test_plan_update_names_the_change(app, as_user):
    with as_user("rmyy") as scope:
        title = unique("审计计划")
        plan = plans.create_plan(scope, year=2027, title=title)
        plans.update_plan(scope, plan, year=2028, title=title, notes="补充说明")
        plan_id = plan.id
        db.session.commit()
    actions = audit("renewal_plan", plan_id)
    assert [a for a, _ in actions] == ["create", "update"]
    assert actions[1][1]["after"] == {"year": 2028, "notes": "补充说明"}
    assert actions[1][1]["before"] == {"year": 2027, "notes": None}


def _form(asset: Asset, **changes) -> dict:
    data = {c.key: getattr(asset, c.key) for c in Asset.__table__.columns}
    data.update(original_value=str(asset.original_value or ""), **changes)
    return {k: ("" if v is None else v) for k, v in data.items()}


def test_asset_create_and_update_and_an_empty_update(app, as_user):
    with as_user("rmyy") as scope:
        asset = make_asset(scope, "rmyy", "MED-06", name="审计监护仪", design_life_years=10)
        asset_id = asset.id
        db.session.commit()
    [(action, changes)] = audit("asset", asset_id)
    assert action == "create" and changes["after"]["name"] == "审计监护仪"
    assert "qr_token" not in changes["after"]  # a bearer secret

    with as_user("rmyy") as scope:
        asset = asset_services.get_asset(scope, asset_id)
        asset_services.update_asset(scope, asset, _form(asset))  # nothing changes
        db.session.commit()
    assert len(audit("asset", asset_id)) == 1

    with as_user("rmyy") as scope:
        asset = asset_services.get_asset(scope, asset_id)
        asset_services.update_asset(scope, asset, _form(asset, location="三楼审计室"))
        db.session.commit()
    action, changes = audit("asset", asset_id)[-1]
    assert action == "update"
    assert changes == {"before": {"location": None}, "after": {"location": "三楼审计室"}}


def test_permit_create_and_delete(app, as_user):
    with as_user("rmyy") as scope:
        permit = permits.add_permit(scope, org_id("rmyy"), {
            "kind": "radiation_diagnosis", "number": unique("审计许可"),
            "expires_on": (clock.today() + dt.timedelta(days=400)).isoformat()})
        permit_id = permit.id
        db.session.commit()
    with as_user("rmyy") as scope:
        assert permits.delete_permit(scope, permit_id)
        db.session.commit()
    rows = audit("institution_permit", permit_id)
    assert [a for a, _ in rows] == ["create", "delete"]
    assert rows[1][1]["before"]["id"] == permit_id and rows[1][1]["after"] == {}
