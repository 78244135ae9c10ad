"""The API token services value by value: what a token looks like and stores, who may
issue and revoke, when a token answers, and how often its last use is written."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

import pytest
from sqlalchemy import select

from asset_registry import clock
from asset_registry.api import services
from asset_registry.api.models import ApiToken
from asset_registry.extensions import db
from asset_registry.tenancy.models import Membership
from asset_registry.tenancy.scope import Scope, ScopeViolation, use_scope
from tests.helpers import membership_id

pytestmark = pytest.mark.usefixtures("app")
T0 = dt.datetime(2031, 5, 6, 8, 0, tzinfo=dt.UTC)


def _membership(username: str) -> Membership:
    return db.session.get(Membership, membership_id(username))


def test_issue_stores_a_digest_and_a_prefix_only(as_user):
    with as_user("rmyy") as scope:
        row, token = services.issue_token(scope, _membership("rmyy"), "  接口对接  ")
        assert token.startswith("ar_") and len(token) > 40
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.prefix == token[:12] and row.name == "接口对接"
        assert row.org_id == _membership("rmyy").org_id and row.revoked_at is None
        _, other = services.issue_token(scope, _membership("rmyy"), "")
        assert other != token
        assert db.session.scalars(select(ApiToken.name).where(
            ApiToken.token_hash == hashlib.sha256(other.encode()).hexdigest())).one() == "API"
        long_row, _ = services.issue_token(scope, _membership("rmyy"), "名" * 150)
        assert long_row.name == "名" * 100
        db.session.rollback()


def test_issue_outside_the_scope_or_read_only_is_refused(as_user):
    with use_scope(Scope.system()):
        foreign = _membership("hcxf")
    with as_user("rmyy") as scope:
        with pytest.raises(ScopeViolation):
            services.issue_token(scope, foreign, "x")
        with pytest.raises(ScopeViolation):
            services.issue_token(replace(scope, writable=False), _membership("rmyy"), "x")
        db.session.rollback()


def test_which_tokens_answer(as_user):
    with as_user("rmyy") as scope:
        row, token = services.issue_token(scope, _membership("rmyy"), "t")
        db.session.commit()
        row_id = row.id
    db.session.remove()
    expected = membership_id("rmyy")
    with use_scope(Scope.nothing()):  # as a request starts: anonymous until the token
        assert services.membership_for_token(token).id == expected
        for wrong in (None, "", token[3:], "xx" + token[2:], token + "x", "ar_" + "a" * 198):
            assert services.membership_for_token(wrong) is None
    with as_user("rmyy") as scope:
        services.revoke_token(scope, row_id)
        db.session.commit()
    db.session.remove()
    with use_scope(Scope.nothing()):
        assert services.membership_for_token(token) is None


def _last_used(row_id):
    db.session.expire_all()
    return db.session.get(ApiToken, row_id).last_used_at


def test_last_use_is_written_at_most_every_five_minutes(as_user):
    with as_user("rmyy") as scope:
        row, token = services.issue_token(scope, _membership("rmyy"), "t")
        db.session.commit()
        row_id = row.id
        with clock.frozen(T0):
            services.membership_for_token(token)
        assert _last_used(row_id) == T0.replace(tzinfo=None)
        with clock.frozen(T0 + dt.timedelta(seconds=services.TOUCH_EVERY_SECONDS)):
            services.membership_for_token(token)
        assert _last_used(row_id) == T0.replace(tzinfo=None)  # exactly 300 s: not yet
        later = T0 + dt.timedelta(seconds=services.TOUCH_EVERY_SECONDS + 1)
        with clock.frozen(later):
            services.membership_for_token(token)
        assert _last_used(row_id) == later.replace(tzinfo=None)
        db.session.rollback()


def test_revoke_once_and_only_what_the_scope_sees(as_user):
    with as_user("rmyy") as scope:
        row, _ = services.issue_token(scope, _membership("rmyy"), "t")
        db.session.commit()
        row_id = row.id
    with as_user("hcxf") as scope:
        assert services.revoke_token(scope, row_id) is None  # another institution's
    with as_user("rmyy") as scope:
        assert services.revoke_token(scope, row_id, membership_ids=[-1]) is None
        assert services.revoke_token(scope, row_id, membership_ids=[]) is None  # none of theirs
        assert services.revoke_token(scope, 2**31 - 1) is None
        with clock.frozen(T0):
            first = services.revoke_token(scope, row_id, membership_ids=[membership_id("rmyy")])
        assert first.revoked_at == T0.replace(tzinfo=None)
        with clock.frozen(T0 + dt.timedelta(days=1)):
            again = services.revoke_token(scope, row_id)
        assert again.revoked_at == T0.replace(tzinfo=None)  # the first revocation stands
        db.session.rollback()


def test_tokens_visible_manager_and_owner(as_user):
    with as_user("rmyy") as scope:
        mine, _ = services.issue_token(scope, _membership("rmyy"), "mine")
        theirs, _ = services.issue_token(scope, _membership("rmyy_xj"), "theirs")
        old, _ = services.issue_token(scope, _membership("rmyy"), "old")
        services.revoke_token(scope, old.id)
        everyone = services.tokens_visible(scope, [], manager=True)
        ids = [t.id for t in everyone]
        assert {mine.id, theirs.id, old.id} <= set(ids)
        assert ids.index(theirs.id) < ids.index(mine.id) < ids.index(old.id)  # revoked last
        own = services.tokens_visible(scope, [membership_id("rmyy_xj")], manager=False)
        assert theirs.id in {t.id for t in own} and mine.id not in {t.id for t in own}
        db.session.rollback()
