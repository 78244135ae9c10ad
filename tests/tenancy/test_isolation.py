"""Two-tenant leak tests for the foundation: organisations, users, memberships, audit."""

import pytest
from sqlalchemy import func, select

from asset_registry.audit.models import AuditEvent
from asset_registry.extensions import db
from asset_registry.tenancy.models import Membership, Organisation
from asset_registry.tenancy.scope import Scope, ScopeMissing, ScopeViolation, use_scope
from asset_registry.tenancy.services import visible_organisations
from tests.helpers import scope_of

HEALTH = {"wjw", "rmyy", "fybjy", "dsrmyy", "rjkf", "gprmyy", "yxrmyy"}


def codes(scope):
    return {o.code for o in visible_organisations(scope)}


def test_demo_scopes(app):
    with use_scope(Scope.system()):
        assert codes(scope_of("rmyy")) == {"rmyy"}
        health = visible_organisations(scope_of("wjw"))
        assert {o.code for o in health} >= HEALTH
        # other tests add institutions under the bureau; none is outside health
        assert {o.sector for o in health if o.code != "wjw"} == {"health"}
        assert len(codes(scope_of("admin"))) == db.session.scalar(
            select(func.count(Organisation.id))
        )
    assert scope_of("admin").org_ids is None
    regulator = scope_of("scjg")
    assert regulator.special_only and regulator.contains_org(next(iter(scope_of("hcxf").org_ids)))


def test_query_without_scope_fails_closed(app):
    with pytest.raises(ScopeMissing):
        db.session.scalars(select(Membership)).all()


def test_tenant_rows_are_filtered_everywhere(app):
    rmyy = scope_of("rmyy")
    with use_scope(rmyy):
        orgs = set(db.session.scalars(select(Membership.org_id)))
        assert orgs == set(rmyy.org_ids)
        # counts through a subquery are filtered too
        total = db.session.scalar(select(func.count()).select_from(select(Membership).subquery()))
        assert total == len(list(db.session.scalars(select(Membership))))


def test_write_outside_scope_is_refused(app):
    hcxf_org = next(iter(scope_of("hcxf").org_ids))
    with use_scope(scope_of("rmyy")):
        db.session.add(Membership(user_id=1, org_id=hcxf_org, role="institution_staff"))
        with pytest.raises(ScopeViolation):
            db.session.flush()
    db.session.rollback()


def test_org_admin_pages_stay_in_scope(login):
    rmyy = login("rmyy").get("/admin/orgs").get_data(as_text=True)
    assert "晋城市人民医院" in rmyy and "皇城相府" not in rmyy and "妇幼保健院" not in rmyy
    wjw = login("wjw").get("/admin/orgs").get_data(as_text=True)
    assert "妇幼保健院" in wjw and "山西科技学院" not in wjw and "皇城相府" not in wjw
    admin = login("admin").get("/admin/orgs").get_data(as_text=True)
    assert all(name in admin for name in ("皇城相府", "山西科技学院", "妇幼保健院"))


def test_users_page_stays_in_scope(login):
    html = login("rmyy").get("/admin/users").get_data(as_text=True)
    assert "rmyy_xj" in html and "hcxf" not in html and "wjw" not in html


def test_foreign_org_edit_is_404(login):
    hcxf_org = next(iter(scope_of("hcxf").org_ids))
    assert login("wjw").get(f"/admin/orgs/{hcxf_org}/edit").status_code == 404


def test_manager_cannot_grant_city_admin_or_other_orgs(login, app):
    c = login("rmyy")
    hcxf_org = next(iter(scope_of("hcxf").org_ids))
    r = c.post(
        "/admin/users/new",
        {
            "username": "intruder",
            "display_name": "x",
            "password": "long-enough-1",
            "org_id": hcxf_org,
            "role": "institution_staff",
        },
    )
    assert r.status_code == 200  # form re-shown: the org is not a valid choice
    from asset_registry.tenancy.models import User

    with use_scope(Scope.system()):
        assert db.session.scalars(select(User).where(User.username == "intruder")).first() is None


def test_audit_records_and_is_scoped(login):
    c = login("rmyy")
    rmyy_org = next(iter(scope_of("rmyy").org_ids))
    r = c.post(
        "/admin/users/new",
        {
            "username": "rmyy_new_staff",
            "display_name": "新巡检员",
            "password": "long-enough-1",
            "org_id": rmyy_org,
            "role": "institution_staff",
        },
    )
    assert r.status_code == 302
    with use_scope(Scope.system()):
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == "membership")
            .order_by(AuditEvent.id.desc())
        ).first()
    assert events.org_id == rmyy_org and events.action == "create"
    assert events.user_id is not None and events.address == c.address
    html = c.get("/audit/?entity=membership").get_data(as_text=True)
    # the log reads in words: the role's label, not its code
    assert "巡检/使用人员" in html and "institution_staff" not in html
    other = login("hcxf").get("/audit/?entity=membership").get_data(as_text=True)
    assert "rmyy_new_staff" not in other and f"membership #{events.entity_id}" not in other
