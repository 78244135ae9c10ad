"""Cell-value normalisers of the ledger importer (pure, no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from asset_registry.imports.values import (
    MSG_DATE,
    MSG_DATE_AMBIGUOUS,
    MSG_DATE_INVALID,
    MSG_DATE_YEAR_ONLY,
    ValueProblem,
    build_enum_lookup,
    normalise_text,
    parse_bool,
    parse_date,
    parse_decimal,
    parse_enum,
    parse_int,
    parse_money,
)

TODAY = dt.date(2025, 6, 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  ＡＢＣ－１２３  ", "ABC-123"),
        ("放射科\u3000 二楼", "放射科 二楼"),
        ("a\t\n b", "a b"),
        ("（元）", "(元)"),
        ("", None),
        ("   ", None),
        (None, None),
        (1001.0, "1001"),
        (12.5, "12.5"),
        (dt.datetime(2015, 3, 8), "2015-03-08"),
    ],
)
def test_normalise_text(raw, expected):
    assert normalise_text(raw) == expected


def test_normalise_text_refuses_numbers_excel_truncated():
    with pytest.raises(ValueProblem, match="15 位"):
        normalise_text(310010000020150001.0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (dt.datetime(2015, 3, 8, 14, 30), dt.date(2015, 3, 8)),
        (dt.date(2015, 3, 8), dt.date(2015, 3, 8)),
        (45000, dt.date(2023, 3, 15)),
        (45000.75, dt.date(2023, 3, 15)),
        ("45000", dt.date(2023, 3, 15)),
        ("2015-03-08", dt.date(2015, 3, 8)),
        ("2015/3/8", dt.date(2015, 3, 8)),
        ("2015.3.8", dt.date(2015, 3, 8)),
        ("2015.03", dt.date(2015, 3, 1)),
        ("2015-03", dt.date(2015, 3, 1)),
        ("2015年3月", dt.date(2015, 3, 1)),
        ("2015年3月8日", dt.date(2015, 3, 8)),
        ("2015 年 3 月 8 日", dt.date(2015, 3, 8)),
        ("20150308", dt.date(2015, 3, 8)),
        ("２０１５年３月", dt.date(2015, 3, 1)),
        ("２０１５－０３－０８", dt.date(2015, 3, 8)),
        ("2015-03-08 00:00:00", dt.date(2015, 3, 8)),
        ("2015.1", dt.date(2015, 1, 1)),  # text keeps what was typed
        (2015.03, dt.date(2015, 3, 1)),  # "2015.03" typed into a number cell
        (2015.12, dt.date(2015, 12, 1)),
        (20150308, dt.date(2015, 3, 8)),
        ("2025-06-01", TODAY),
        ("", None),
        (None, None),
    ],
)
def test_parse_date_forms(raw, expected):
    assert parse_date(raw, TODAY) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("abc", MSG_DATE),
        ("2015-02-30", MSG_DATE_INVALID),
        ("2015/13/1", MSG_DATE_INVALID),
        ("2015", MSG_DATE_YEAR_ONLY),
        (2015, MSG_DATE_YEAR_ONLY),
        (2015.1, MSG_DATE_AMBIGUOUS),  # 2015.1 or 2015.10 in a number cell
        ("2025-06-02", "不能是未来日期"),
        ("2030年1月", "不能是未来日期"),
        (True, MSG_DATE),
        (-5, MSG_DATE),
        ("1850-01-01", MSG_DATE),
    ],
)
def test_parse_date_problems(raw, message):
    with pytest.raises(ValueProblem) as caught:
        parse_date(raw, TODAY)
    assert caught.value.message == message


def test_parse_date_allow_future():
    assert parse_date("2030-01-01", TODAY, allow_future=True) == dt.date(2030, 1, 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1280000, "1280000.00"),
        (1280000.5, "1280000.50"),
        (0.1, "0.10"),
        (1.005, "1.01"),  # via Decimal(repr): no binary-float rounding surprise
        (Decimal("12.345"), "12.35"),
        ("¥1,280,000.00", "1280000.00"),
        ("￥420,000", "420000.00"),
        ("128万", "1280000.00"),
        ("1.5万元", "15000.00"),
        ("42万元", "420000.00"),
        ("RMB 100", "100.00"),
        ("100元", "100.00"),
        ("１２８万", "1280000.00"),
        ("1,234.567", "1234.57"),
        ("0", "0.00"),
        ("-0", "0.00"),
        ("", None),
        (None, None),
    ],
)
def test_parse_money(raw, expected):
    result = parse_money(raw)
    assert result == (None if expected is None else Decimal(expected))
    if expected is not None:
        assert str(result) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (-5, "不能为负数"),
        ("-5", "不能为负数"),
        ("¥-1,000", "不能为负数"),
        ("(1,000)", "不能为负数"),
        ("约100万", "应为金额数字"),
        ("abc", "应为金额数字"),
        ("1e5", "应为金额数字"),
        ("¥", "应为金额数字"),
        (True, "应为金额数字"),
        (float("nan"), "应为金额数字"),
        ("9999999999999", "金额过大"),
    ],
)
def test_parse_money_problems(raw, message):
    with pytest.raises(ValueProblem) as caught:
        parse_money(raw)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(10, 10), (10.0, 10), ("10", 10), ("１０", 10), ("10年", 10), (" 8 ", 8), ("", None)],
)
def test_parse_int(raw, expected):
    assert parse_int(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (10.5, "应为整数"),
        ("10.5", "应为整数"),
        ("-1", "不能为负数"),
        ("十年", "应为数字"),
        ("abc", "应为数字"),
        (True, "应为数字"),
    ],
)
def test_parse_int_problems(raw, message):
    with pytest.raises(ValueProblem) as caught:
        parse_int(raw)
    assert caught.value.message == message


def test_parse_decimal():
    assert parse_decimal("7.5年") == Decimal("7.5")
    assert parse_decimal(7.25, places=1) == Decimal("7.3")
    with pytest.raises(ValueProblem, match="应为数字"):
        parse_decimal("n/a")
    with pytest.raises(ValueProblem, match="不能为负数"):
        parse_decimal(-1.5)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("是", True),
        ("否", False),
        ("Y", True),
        ("n", False),
        ("YES", True),
        ("no", False),
        ("True", True),
        ("false", False),
        ("1", True),
        ("0", False),
        ("√", True),
        ("×", False),
        (1.0, True),
        (0, False),
        (True, True),
        ("", None),
        (None, None),
    ],
)
def test_parse_bool(raw, expected):
    assert parse_bool(raw) is expected


def test_parse_bool_problem():
    with pytest.raises(ValueProblem) as caught:
        parse_bool("也许")
    assert caught.value.message == "应为“是”或“否”"


STATUS = {"in_service": ("在用", "In service"), "idle": ("闲置", "Idle")}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("在用", "in_service"),
        ("IN SERVICE", "in_service"),
        ("in_service", "in_service"),
        ("Idle", "idle"),
        (" 闲 置 ", "idle"),
        ("", None),
    ],
)
def test_parse_enum(raw, expected):
    assert parse_enum(raw, STATUS) == expected
    assert parse_enum(raw, STATUS, lookup=build_enum_lookup(STATUS)) == expected


def test_parse_enum_problem_lists_choices():
    with pytest.raises(ValueProblem) as caught:
        parse_enum("报废了", STATUS)
    assert caught.value.message == "不是可选值（可选：在用、闲置）"
