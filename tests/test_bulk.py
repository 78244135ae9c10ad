"""The bulk writer under the Excel import: reserved ids, the pipelined writer, the search
trigger it suspends, and what a later ordinary write finds afterwards. Both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from asset_registry import clock
from asset_registry.assets.models import Asset
from asset_registry.assets.services import AssetFilters, asset_page, create_asset, new_token
from asset_registry.audit.models import AuditEvent
from asset_registry.bulk import BatchWriter, IdSequence, insert_many, release_memory, reserve_ids
from asset_registry.extensions import db
from asset_registry.imports import services
from asset_registry.inspections.models import Obligation
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import scope_of
from tests.imports.ledgers import TODAY, simple_ledger, unique_prefix


def codes_like(prefix: str) -> set[str]:
    with use_scope(Scope.system()):
        return set(
            db.session.scalars(select(Asset.asset_code).where(Asset.asset_code.like(f"{prefix}%")))
        )


def found_by_search(username: str, term: str) -> set[str]:
    scope = scope_of(username)
    with use_scope(scope):
        return {a.asset_code for a in asset_page(scope, AssetFilters(q=term)).items}


def import_codes(tmp_path, codes, **kw):
    scope = scope_of("rmyy")
    path = simple_ledger(tmp_path / "a.xlsx", [(code, "监护仪") for code in codes])
    return services.import_assets(scope, scope.org_id, path, today=TODAY, **kw)


def test_reserved_ids_are_free_and_the_sequence_moves_on(app, tmp_path):
    """Imported rows carry ids taken before the insert; an ordinary ORM insert after the
    import (PostgreSQL: from the sequence) does not collide with them."""
    p = unique_prefix()
    result = import_codes(tmp_path, [f"{p}-{i}" for i in range(5)])
    db.session.commit()
    with use_scope(Scope.system()):
        stored = dict(
            db.session.execute(
                select(Asset.asset_code, Asset.id).where(Asset.asset_code.like(f"{p}-%"))
            ).all()
        )
    assert [stored[f"{p}-{i}"] for i in range(5)] == result.new_ids
    assert result.new_ids == list(range(result.new_ids[0], result.new_ids[0] + 5))
    # every imported asset has its duties, their audit rows name the reserved ids
    with use_scope(Scope.system()):
        duties = db.session.scalars(
            select(Obligation.id).where(Obligation.asset_id.in_(result.new_ids))
        ).all()
        audited = db.session.scalars(
            select(AuditEvent.entity_id).where(
                AuditEvent.entity == "obligation", AuditEvent.entity_id.in_(duties)
            )
        ).all()
    assert len(duties) == result.obligations_created and sorted(audited) == sorted(duties)

    scope = scope_of("rmyy")
    with use_scope(scope):
        later = create_asset(scope, {"asset_code": f"{p}-later", "name": "呼吸机"})
        db.session.commit()
        assert later.id > max(result.new_ids)
        connection = db.session.connection()
        ids = reserve_ids(connection, Asset.__table__, 3)
        assert ids[0] > later.id and ids == list(range(ids[0], ids[0] + 3))
        codes = [f"{p}-r{i}" for i in range(3)]
        insert_many(
            connection,
            Asset.__table__,
            ["id", *KEYS],
            [(i, *row) for i, row in zip(ids, _rows(scope.org_id, codes), strict=True)],
        )
        sequence = IdSequence(connection, Asset.__table__)
        first, second = sequence.take(2), sequence.take(2)
        assert ids[-1] < first[0] and first[-1] < second[0]
        db.session.rollback()


def test_search_keeps_indexing_ordinary_writes_after_an_import(app, tmp_path):
    """The import suspends the search trigger for its batches: new assets are indexed in
    one statement at the end, and the trigger is back for the next ordinary write."""
    p = unique_prefix()
    assert import_codes(tmp_path, [f"{p}-imported"]).new == 1
    db.session.commit()
    scope = scope_of("rmyy")
    with use_scope(scope):
        create_asset(scope, {"asset_code": f"{p}-typed", "name": "麻醉机"})
        db.session.commit()
    assert found_by_search("rmyy", p) == {f"{p}-imported", f"{p}-typed"}


def test_a_failed_import_restores_the_search_trigger(app, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    p = unique_prefix()
    monkeypatch.setattr(services.DefaultDuties, "plan", boom)
    with pytest.raises(RuntimeError):
        import_codes(tmp_path, [f"{p}-lost"])
    db.session.rollback()
    monkeypatch.undo()
    assert codes_like(p) == set()
    scope = scope_of("rmyy")
    with use_scope(scope):
        create_asset(scope, {"asset_code": f"{p}-after", "name": "监护仪"})
        db.session.commit()
    assert found_by_search("rmyy", p) == {f"{p}-after"}


KEYS = ["asset_code", "name", "org_id", "qr_token", "status", "created_at", "updated_at"]


def _rows(org_id: int, codes: list[str]) -> list[tuple]:
    now = clock.utcnow_naive()
    return [(code, "监护仪", org_id, new_token(), "in_service", now, now) for code in codes]


def test_batch_writer_raises_the_first_error_and_writes_nothing_after_it(app):
    p = unique_prefix()
    scope = scope_of("rmyy")
    table = Asset.__table__

    connection = db.session.connection()
    with pytest.raises(IntegrityError), BatchWriter(connection, depth=2) as writer:
        writer.insert(table, KEYS, _rows(scope.org_id, [f"{p}-1", f"{p}-2"]))
        writer.insert(table, KEYS, _rows(scope.org_id, [f"{p}-1"]))  # code taken
        writer.insert(table, KEYS, _rows(scope.org_id, [f"{p}-3"]))
        writer.insert(table, KEYS, _rows(scope.org_id, [f"{p}-4"]))
    if connection.dialect.name == "sqlite":  # PostgreSQL aborts the transaction anyway
        found = connection.execute(
            select(func.count()).select_from(table).where(table.c.asset_code.like(f"{p}-%"))
        ).scalar()
        assert found == 2  # the first batch; nothing after the error
    db.session.rollback()
    assert codes_like(p) == set()


def test_batch_writer_lets_the_callers_error_win(app):
    p = unique_prefix()
    scope = scope_of("rmyy")

    with pytest.raises(KeyError), BatchWriter(db.session.connection()) as writer:
        writer.insert(Asset.__table__, KEYS, _rows(scope.org_id, [f"{p}-1"]))
        raise KeyError("the caller's own problem")
    db.session.rollback()
    assert codes_like(p) == set()


def test_release_memory_leaves_the_connection_usable(app):
    with use_scope(Scope.system()):
        release_memory(db.session.connection())
        assert db.session.execute(select(func.count()).select_from(Asset.__table__)).scalar() > 0
