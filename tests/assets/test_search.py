"""Text search of the asset list: substring semantics over code, name, serial number,
model and maker through the trigram index (SQLite FTS5 / PostgreSQL pg_trgm), the
LIKE fallback for short terms, index upkeep on every kind of write, tenancy."""

from __future__ import annotations

import random
import uuid

import pytest
from sqlalchemy import delete, select, update

from asset_registry.assets import search, services
from asset_registry.assets.models import Asset
from asset_registry.assets.services import AssetFilters, asset_page
from asset_registry.extensions import db
from asset_registry.tenancy.scope import Scope, use_scope

FIELDS = ("asset_code", "name", "serial_no", "model", "manufacturer")
_rng = random.Random()


def _ascii() -> str:
    return uuid.uuid4().hex[:10].upper()


def _cjk(n: int) -> str:
    """n random CJK ideographs: unique enough to find only our own rows."""
    return "".join(chr(_rng.randint(0x4E00, 0x9FA5)) for _ in range(n))


def _found(username: str, q: str, **filters) -> tuple[set[int], int]:
    scope_user = username
    from tests.helpers import scope_of

    scope = scope_of(scope_user)
    with use_scope(scope):
        page = asset_page(scope, AssetFilters(q=q, **filters))
        return {a.id for a in page.items}, page.total


def _edit(asset_id: int, **values) -> None:
    with use_scope(Scope.system()):
        db.session.execute(
            update(Asset.__table__).where(Asset.__table__.c.id == asset_id).values(**values)
        )
        db.session.commit()


def test_the_index_is_installed(app):
    with use_scope(Scope.system()):
        assert search.search_available(db.session.connection())


@pytest.mark.parametrize("field", FIELDS)
def test_ascii_substring_of_each_field(make_asset, field):
    token = _ascii()
    department = f"检索科{token}"
    asset_id, _ = make_asset("rmyy", department=department, **{field: f"X-{token}-Y"})
    # long terms go through the index, in any case
    assert asset_id in _found("rmyy", token[2:8])[0]
    assert asset_id in _found("rmyy", token.lower())[0]
    assert asset_id in _found("rmyy", f"X-{token}-Y")[0]
    # a term of one or two characters falls back to LIKE
    assert asset_id in _found("rmyy", token[3:5], department=department)[0]
    assert asset_id in _found("rmyy", token[4].lower(), department=department)[0]
    # not a match: substring means contiguous
    assert asset_id not in _found("rmyy", token[:3] + token[4:7])[0]


@pytest.mark.parametrize("field", FIELDS)
def test_chinese_substring_of_each_field(make_asset, field):
    word = _cjk(6)
    department = f"检索科{_ascii()}"
    asset_id, _ = make_asset("rmyy", department=department, **{field: f"多参数{word}监护仪"})
    assert asset_id in _found("rmyy", word)[0]
    assert asset_id in _found("rmyy", word[1:4])[0]  # three characters: one trigram
    assert asset_id in _found("rmyy", word[2:4], department=department)[0]  # two: LIKE
    assert asset_id in _found("rmyy", "监护", department=department)[0]
    assert asset_id in _found("rmyy", f"数{word[:2]}")[0]  # across the seeded text
    assert asset_id not in _found("rmyy", word[::-1])[0]


def test_a_term_does_not_match_across_two_fields(make_asset):
    token = _ascii()
    asset_id, _ = make_asset("rmyy", name=f"名称{token}", model=f"{token}型")
    assert asset_id in _found("rmyy", token)[0]
    # the end of the name followed by the start of the model is no substring of either
    assert asset_id not in _found("rmyy", f"{token[-3:]}{token[:3]}")[0]


def test_results_and_total_agree(make_asset):
    token = _ascii()
    ids = {make_asset("rmyy", model=f"{token}-{i}")[0] for i in range(3)}
    found, total = _found("rmyy", token)
    assert found == ids and total == 3


def test_many_matches_are_listed_by_walking_the_sort_order(make_asset, monkeypatch):
    """Past FEW matches the page is read in sort order with a per-row test (see
    search_criteria's `dense`): same rows, same order."""
    token = _ascii()
    ids = [make_asset("rmyy", serial_no=f"SN{token}{i}")[0] for i in range(3)]
    monkeypatch.setattr(services, "FEW", 1)
    found, total = _found("rmyy", token)
    assert found == set(ids) and total == 3


def test_orm_update_is_reflected(make_asset, as_user):
    old, new = _ascii(), _cjk(4)
    asset_id, _ = make_asset("rmyy", name=f"旧名{old}")
    with as_user("rmyy") as scope:
        asset = services.get_asset(scope, asset_id)
        data = {c.key: getattr(asset, c.key) for c in Asset.__table__.columns}
        data.update(name=f"新名{new}", original_value=str(asset.original_value))
        data = {k: ("" if v is None else v) for k, v in data.items()}
        services.update_asset(scope, asset, data)
        db.session.commit()
    assert asset_id not in _found("rmyy", old)[0]
    assert asset_id in _found("rmyy", new)[0]


def test_core_update_and_delete_are_reflected(make_asset):
    """The importer writes with Core executemany, past the ORM: the triggers keep up."""
    old, new, other = _ascii(), _ascii(), _ascii()
    asset_id, _ = make_asset("rmyy", manufacturer=f"厂家{old}", serial_no=f"SN{other}")
    _edit(asset_id, manufacturer=f"厂家{new}")
    assert asset_id not in _found("rmyy", old)[0]
    assert asset_id in _found("rmyy", new)[0]
    assert asset_id in _found("rmyy", other)[0]  # an untouched field is still there
    _edit(asset_id, serial_no=None)
    assert asset_id not in _found("rmyy", other)[0]
    _edit(asset_id, status="idle")  # a field outside the index leaves it alone
    assert asset_id in _found("rmyy", new)[0]
    with use_scope(Scope.system()):
        db.session.execute(delete(Asset.__table__).where(Asset.__table__.c.id == asset_id))
        db.session.commit()
    assert _found("rmyy", new) == (set(), 0)


def test_core_insert_is_indexed(make_asset):
    token = _ascii()
    template_id, _ = make_asset("rmyy")
    with use_scope(Scope.system()):
        row = (
            db.session.execute(select(Asset.__table__).where(Asset.__table__.c.id == template_id))
            .mappings()
            .one()
        )
        values = {k: v for k, v in row.items() if k != "id"}
        values.update(asset_code=f"CORE-{token}", qr_token=uuid.uuid4().hex, model=f"M{token}")
        db.session.execute(Asset.__table__.insert(), [values])
        db.session.commit()
    found, total = _found("rmyy", token)
    assert total == 1 and len(found) == 1


def test_bulk_indexing_indexes_new_rows_once_at_the_end(make_asset):
    token = _ascii()
    template_id, _ = make_asset("rmyy")
    with use_scope(Scope.system()):
        connection = db.session.connection()
        row = (
            db.session.execute(select(Asset.__table__).where(Asset.__table__.c.id == template_id))
            .mappings()
            .one()
        )
        values = [
            {k: v for k, v in row.items() if k != "id"}
            | {
                "asset_code": f"BULK-{token}-{n}",
                "qr_token": uuid.uuid4().hex,
                "model": f"M{token}",
            }
            for n in range(3)
        ]
        with search.bulk_indexing(connection):
            db.session.execute(Asset.__table__.insert(), values)
            if connection.dialect.name == "sqlite":
                # paused: the trigger left the new rows to the block's end
                assert (
                    connection.exec_driver_sql(
                        "SELECT count(*) FROM asset_search WHERE asset_search MATCH ?",
                        (f'"{token}"',),
                    ).scalar()
                    == 0
                )
        if connection.dialect.name == "sqlite":
            assert (
                connection.exec_driver_sql("SELECT count(*) FROM asset_search_pause").scalar() == 0
            )
        db.session.commit()
    found, total = _found("rmyy", token)
    assert total == 3 and len(found) == 3
    # a later single insert goes through the trigger again
    _edit(template_id, model=f"M{token}")
    assert _found("rmyy", token)[1] == 4


def test_another_organisations_asset_is_not_found(make_asset):
    token = _ascii()
    word = _cjk(4)
    theirs, _ = make_asset("sxkj", category="EDU-LAB", name=f"示波器{token}{word}")
    assert _found("rmyy", token) == (set(), 0)
    assert _found("rmyy", word) == (set(), 0)
    assert _found("rmyy", word[:2]) == (set(), 0) or theirs not in _found("rmyy", word[:2])[0]
    assert theirs in _found("sxkj", token)[0]
    assert theirs in _found("admin", token)[0]


@pytest.mark.parametrize(
    "term",
    [
        '"',
        'a"b',
        '""',
        "*",
        "abc*",
        "-abc",
        "a - b",
        "OR",
        "x OR y",
        "AND",
        "NOT x",
        "NEAR(a b)",
        "^abc",
        "name:abc",
        "{name}:x",
        "(abc",
        "a+b",
        "%",
        "_",
        "\\",
        "'; --",
    ],
)
def test_fts_syntax_in_the_term_is_plain_text(app, term):
    found, total = _found("rmyy", term)
    assert total >= 0  # no error


def test_a_term_with_fts_operators_matches_literally(make_asset):
    token = _ascii()
    name = f'探头 "{token}" OR-7* (NEAR)'
    asset_id, _ = make_asset("rmyy", name=name)
    assert asset_id in _found("rmyy", f'"{token}" OR-7*')[0]
    assert asset_id in _found("rmyy", "7* (NEAR)")[0]
    assert asset_id not in _found("rmyy", f"{token} OR zzzz")[0]


def test_the_rebuild_is_idempotent(make_asset):
    token = _ascii()
    asset_id, _ = make_asset("rmyy", model=f"R{token}")
    with use_scope(Scope.system()):
        connection = db.session.connection()
        assert search.install_search(connection)
        search.rebuild_search(connection)
        assert search.install_search(connection)
        db.session.commit()
    assert _found("rmyy", token) == ({asset_id}, 1)


def test_sqlite_search_reads_the_index_not_the_organisation(app, make_asset):
    """The count and the page's ids come from the FTS matches, not from a scan of the
    organisation's rows."""
    from sqlalchemy import event

    with use_scope(Scope.system()):
        if db.session.connection().dialect.name != "sqlite":
            pytest.skip("SQLite query plan")
    make_asset("rmyy", model=f"监护仪{_ascii()}")
    seen: list[tuple[str, tuple]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "asset_search" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        _found("rmyy", "监护仪")
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert len(seen) == 2  # the capped count and the page's ids
    with use_scope(Scope.system()):
        for statement, parameters in seen:
            plan = (
                db.session.connection()
                .exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                .all()
            )
            details = " | ".join(row[3] for row in plan)
            assert "VIRTUAL TABLE" in details, details
            assert "SEARCH asset USING INTEGER PRIMARY KEY" in details, details
