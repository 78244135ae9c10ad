"""Target truth: actual completed investment per year equals the completion records summed
in SQL, beside the approved and requested amounts, each labelled."""

from __future__ import annotations

import datetime as dt
import decimal
import re

from sqlalchemy import text

from asset_registry.extensions import db
from asset_registry.programme import figures
from asset_registry.tenancy.scope import Scope, use_scope
from tests.helpers import scope_of
from tests.programme.support import approved_items


def _sql_actual(org_ids) -> dict[int, decimal.Decimal]:
    where = "" if org_ids is None else (
        " AND org_id IN (" + ",".join(str(i) for i in sorted(org_ids)) + ")")
    with use_scope(Scope.system()):
        rows = db.session.execute(text(
            "SELECT completed_on, actual_price FROM plan_item "
            "WHERE completed_on IS NOT NULL" + where)).all()
    out: dict[int, decimal.Decimal] = {}
    for completed_on, price in rows:
        year = completed_on.year if isinstance(completed_on, dt.date) else int(completed_on[:4])
        out[year] = out.get(year, decimal.Decimal(0)) + decimal.Decimal(str(price))
    return out


def test_actual_investment_equals_the_completion_records(login):
    approved_items("rmyy", ("300000.00",), complete_on=dt.date(2024, 11, 5),
                   prices=("288888.88",))
    approved_items("sxkj", ("500000.00",), complete_on=dt.date(2025, 2, 1),
                   prices=("499000.00",))
    for username in ("wjw", "admin"):
        scope = scope_of(username)
        expected = _sql_actual(scope.org_ids)  # None: the task force, every organisation
        with use_scope(scope):
            rows = {r["year"]: r for r in figures.investment_by_year(scope)}
        for year, amount in expected.items():
            assert rows[year]["actual"] == amount.quantize(decimal.Decimal("0.01")), (username,
                                                                                       year)
        html = login(username).get("/programme/investment").get_data(as_text=True)
        for year, amount in expected.items():
            cell = re.search(rf'data-year="{year}">.*?class="text-end actual">([^<]+)<', html,
                             re.S)
            assert cell and cell.group(1) == f"{amount:,.2f}"
        assert "实际完成投资（元，完成记录）" in html and "批准投资（元，已批准计划）" in html
        assert "增长 25%" in html
    # the health bureau's line does not count the college's purchase
    wjw = scope_of("wjw")
    with use_scope(wjw):
        rows = {r["year"]: r["actual"] for r in figures.investment_by_year(wjw)}
    assert rows[2025] == _sql_actual(wjw.org_ids).get(
        2025, decimal.Decimal(0)).quantize(decimal.Decimal("0.01"))
