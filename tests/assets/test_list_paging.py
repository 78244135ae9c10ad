"""The list's bounded cost: the count stops at COUNT_CAP ("10,000+ 条"), pages stop at
the cap with a message, the sort order is the same whichever index drives the page,
and a 1–2 character term over a large scope matches asset codes' starts only."""

from __future__ import annotations

import uuid

from asset_registry.assets import services
from asset_registry.assets.services import AssetFilters, asset_page
from asset_registry.tenancy.scope import use_scope
from tests.helpers import scope_of


def _department() -> str:
    return f"分页科{uuid.uuid4().hex[:8]}"


def _page(username: str, page: int = 1, per_page: int = 2, **filters):
    scope = scope_of(username)
    with use_scope(scope):
        return asset_page(scope, AssetFilters(**filters), page, per_page)


def _codes(page) -> list[str]:
    return [a.asset_code for a in page.items]


def test_count_stops_at_the_cap_and_so_do_the_pages(make_asset, monkeypatch):
    department = _department()
    for _ in range(7):
        make_asset("rmyy", department=department)
    exact = _page("rmyy", department=department, per_page=50)
    assert exact.total == 7 and not exact.capped and exact.asked is None

    monkeypatch.setattr(services, "COUNT_CAP", 4)
    first = _page("rmyy", department=department)
    assert first.capped and first.total == 5 and first.cap == 4
    assert first.pages == 2 and first.has_next
    last = _page("rmyy", page=2, department=department)
    assert last.asked is None and not last.has_next
    beyond = _page("rmyy", page=99, department=department)
    assert beyond.asked == 99 and beyond.page == 2
    assert _codes(beyond) == _codes(last) == sorted(_codes(exact))[2:4]


def test_same_rows_and_order_whichever_index_drives(make_asset, monkeypatch):
    department = _department()
    for name in ("丙", "甲", "乙", "甲"):
        make_asset("rmyy", department=department, name=name, status="idle")
    args = dict(department=department, status="idle", per_page=50)
    for sort in ("code", "name", "life_end", "commissioned"):
        for direction in ("asc", "desc"):
            sorted_in_memory = _page("rmyy", sort=sort, direction=direction, **args)
            monkeypatch.setattr(services, "FEW", 0)  # many: the sort order's index walks
            walked = _page("rmyy", sort=sort, direction=direction, **args)
            monkeypatch.undo()
            assert [a.id for a in walked.items] == [a.id for a in sorted_in_memory.items]
            assert walked.total == sorted_in_memory.total == 4


def test_short_term_over_a_large_scope_matches_code_prefixes(make_asset, monkeypatch):
    department = _department()
    prefix = "Zq"
    by_code, _ = make_asset("rmyy", department=department,
                            asset_code=f"ZQ-{uuid.uuid4().hex[:8]}", name="测试")
    by_name, _ = make_asset("rmyy", department=department, name="ZQ型号")
    small = _page("rmyy", q=prefix, department=department, per_page=50)
    assert {a.id for a in small.items} == {by_code, by_name} and not small.code_prefix_only

    monkeypatch.setattr(services, "SHORT_TERM_ROWS", 1)
    large = _page("rmyy", q=prefix, department=department, per_page=50)
    assert large.code_prefix_only
    assert {a.id for a in large.items} == {by_code}
    # three characters and more: the indexed substring search, whatever the scope
    longer = _page("rmyy", q="ZQ型", department=department, per_page=50)
    assert {a.id for a in longer.items} == {by_name} and not longer.code_prefix_only


def test_short_code_prefix_escapes_like_wildcards(make_asset, monkeypatch):
    department = _department()
    make_asset("rmyy", department=department, asset_code=f"AB-{uuid.uuid4().hex[:6]}")
    monkeypatch.setattr(services, "SHORT_TERM_ROWS", 0)
    for term in ("%", "_", "A%", "\\"):
        page = _page("rmyy", q=term, department=department, per_page=50)
        assert page.code_prefix_only and page.total == 0


def test_the_page_shows_the_capped_count_and_the_depth_message(
    make_asset, login, monkeypatch
):
    department = _department()
    for _ in range(3):
        make_asset("rmyy", department=department)
    monkeypatch.setattr(services, "COUNT_CAP", 2)
    client = login("rmyy")
    html = client.get(f"/assets/?department={department}&page=7").get_data(as_text=True)
    assert "共 2+ 条" in html and "请增加筛选条件" in html
    assert 'id="depth-limit"' in html
    plain = client.get(f"/assets/?department={department}").get_data(as_text=True)
    assert 'id="depth-limit"' not in plain


def test_short_term_hint_on_the_page(make_asset, login, monkeypatch):
    department = _department()
    make_asset("rmyy", department=department)
    monkeypatch.setattr(services, "SHORT_TERM_ROWS", 0)
    html = login("rmyy").get(f"/assets/?q=CT&department={department}").get_data(as_text=True)
    assert 'id="short-term-hint"' in html
