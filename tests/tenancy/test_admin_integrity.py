"""The organisation tree stays a tree, roles fit the organisation's kind, and every admin
change (organisations, users, memberships) lands in the audit log."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from asset_registry.audit.models import AuditEvent
from asset_registry.extensions import db
from asset_registry.tenancy import services
from asset_registry.tenancy.models import Organisation, User
from asset_registry.tenancy.scope import Scope, use_scope


def _code(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6]}"


def _org(code: str) -> Organisation:
    return db.session.scalars(select(Organisation).where(Organisation.code == code)).one()


@pytest.fixture
def branch(app):
    """A bureau with an institution under it, made for this test."""
    with use_scope(Scope.system()):
        city = services.root_org()
        bureau = services.save_organisation(
            Scope.system(), code=_code("b"), name="测试局", kind="bureau", parent_id=city.id
        )
        school = services.save_organisation(
            Scope.system(), code=_code("i"), name="测试校", kind="institution",
            parent_id=bureau.id,
        )
        db.session.commit()
        return bureau.id, school.id


def _audit_rows(entity: str, entity_id: int) -> list[AuditEvent]:
    with use_scope(Scope.system()):
        return list(
            db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.entity == entity, AuditEvent.entity_id == entity_id
                ).order_by(AuditEvent.id)
            )
        )


def test_an_organisation_cannot_sit_under_itself_or_its_own_descendant(login, branch):
    bureau_id, school_id = branch
    admin = login("admin")
    with use_scope(Scope.system()):
        code = db.session.get(Organisation, bureau_id).code
    form = {"code": code, "name": "测试局", "kind": "bureau"}

    def messages(r):
        html = r.get_data(as_text=True)
        return re.findall(r'role="alert">\s*([^<]+)', html) + re.findall(
            r'invalid-feedback[^>]*>([^<]+)', html
        )

    # under its own descendant: refused by the service with a clear message
    r = admin.post(f"/admin/orgs/{bureau_id}/edit", dict(form, parent_id=school_id))
    assert any("上级单位不能是本单位或其下属单位" in m for m in messages(r)), messages(r)
    # under itself: not even offered as a choice
    r = admin.post(f"/admin/orgs/{bureau_id}/edit", dict(form, parent_id=bureau_id))
    assert r.status_code == 200 and messages(r)
    # and the service refuses it too, whoever calls it
    with use_scope(Scope.system()):
        bureau = db.session.get(Organisation, bureau_id)
        with pytest.raises(services.TenancyError, match="不能是本单位"):
            services.save_organisation(Scope.system(), org=bureau, parent_id=bureau_id, **form)
        db.session.rollback()
    with use_scope(Scope.system()):
        assert db.session.get(Organisation, bureau_id).parent_id == services.root_org().id
    # the pages of that subtree still answer (no endless tree walk)
    assert admin.get("/admin/orgs").status_code == 200


def test_roles_must_fit_the_organisations_kind(login, branch):
    bureau_id, school_id = branch
    admin = login("admin")
    name = _code("u")
    r = admin.post(
        "/admin/users/new",
        {
            "username": name, "display_name": name, "password": "long-enough-1",
            "org_id": bureau_id, "role": "institution_manager",
        },
        follow_redirects=True,
    )
    assert "该角色不适合所选单位的类型" in r.get_data(as_text=True)
    with use_scope(Scope.system()):
        assert db.session.scalars(select(User).where(User.username == name)).first() is None
        with pytest.raises(services.TenancyError):
            services.create_user(
                Scope.system(), username=_code("u"), display_name="x",
                password="long-enough-1", org_id=school_id, role="bureau_reviewer",
            )
        db.session.rollback()
    r = admin.post(
        "/admin/users/new",
        {
            "username": name, "display_name": name, "password": "long-enough-1",
            "org_id": school_id, "role": "institution_manager",
        },
    )
    assert r.status_code == 302


def test_an_organisation_with_members_keeps_a_kind_that_fits_them(login, branch):
    bureau_id, school_id = branch
    with use_scope(Scope.system()):
        services.create_user(
            Scope.system(), username=_code("m"), display_name="m",
            password="long-enough-1", org_id=school_id, role="institution_staff",
        )
        db.session.commit()
        school = db.session.get(Organisation, school_id)
        with pytest.raises(services.TenancyError, match="不适合新类型"):
            services.save_organisation(
                Scope.system(), code=school.code, name=school.name, kind="bureau",
                parent_id=bureau_id, org=school,
            )
        db.session.rollback()


def test_admin_changes_are_audited(login, branch):
    bureau_id, school_id = branch
    admin = login("admin")
    with use_scope(Scope.system()):
        code = db.session.get(Organisation, school_id).code
    assert [e.action for e in _audit_rows("organisation", school_id)] == ["create"]
    r = admin.post(
        f"/admin/orgs/{school_id}/edit",
        {"code": code, "name": "改名后的学校", "kind": "institution", "parent_id": bureau_id},
    )
    assert r.status_code == 302
    update = _audit_rows("organisation", school_id)[-1]
    assert update.action == "update" and update.changes["after"] == {"name": "改名后的学校"}
    assert update.user_id is not None and update.org_id == school_id

    name = _code("a")
    admin.post(
        "/admin/users/new",
        {
            "username": name, "display_name": name, "password": "long-enough-1",
            "org_id": school_id, "role": "institution_staff",
        },
    )
    with use_scope(Scope.system()):
        user = db.session.scalars(select(User).where(User.username == name)).one()
    created = _audit_rows("user_account", user.id)
    assert [e.action for e in created] == ["create"]
    assert "password_hash" not in created[0].changes["after"]
    assert created[0].org_id == school_id
    with use_scope(Scope.system()):
        memberships = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity == "membership", AuditEvent.org_id == school_id
            )
        ).all()
    assert len(memberships) == 1 and memberships[0].changes["after"]["role"] == "institution_staff"

    admin.post(f"/admin/users/{user.id}/active", {"active": "0"})
    last = _audit_rows("user_account", user.id)[-1]
    assert last.action == "update" and last.changes["after"]["is_active"] is False


def test_several_rows_changed_together_are_each_audited(app):
    """audit_admin_changes: e.g. the city admin's category defaults, saved in one go."""
    from asset_registry.catalog.models import Category

    with use_scope(Scope.system()):
        city = services.root_org()
        first, second = db.session.scalars(select(Category).order_by(Category.id).limit(2))
        first.design_life_years = (first.design_life_years or 0) + 1
        second.accounting_life_years = (second.accounting_life_years or 0) + 1
        services.audit_admin_changes([first, second], "update", lambda _c: city.id)
        rows = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity == "category",
                AuditEvent.entity_id.in_([first.id, second.id]),
            )
        ).all()
        changed = {row.entity_id: set(row.changes["after"]) for row in rows}
        db.session.rollback()  # the demo's categories stay as they were
    assert changed == {first.id: {"design_life_years"}, second.id: {"accounting_life_years"}}
