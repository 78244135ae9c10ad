"""Units written in ledger headers: `原值（万元）`, `使用年限（月）`, `单价(千元)`.

A finance export states the unit once, in the header, and every value of the column
is in it: 12.5 under 原值（万元） is 125,000 元, 180 under 使用年限（月） is 15 years.
A field that takes a unit says which family (`Field.unit`: "money" or "years");
the unit found in its header converts the column's values, and a unit the register
does not know refuses the file (a guess would store wrong values without a word).
Pure, no database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from .messages import N_
from .values import (
    MSG_MONEY_TOO_LARGE,
    ValueProblem,
    cell_text,
    normalise_text,
    parse_int,
    parse_money,
)

MSG_UNKNOWN_UNIT = N_("列“{column}”的单位“{unit}”无法识别（可用的单位：{options}）")
MSG_MONTHS_NOT_WHOLE = N_("{months} 个月不是整年，年限按整年记录（如 60、72、120 个月）")

# unit text (normalised, lower-case) → factor to the register's unit
MONEY_UNITS: dict[str, Decimal] = {
    "元": Decimal(1),
    "人民币元": Decimal(1),
    "rmb": Decimal(1),
    "cny": Decimal(1),
    "yuan": Decimal(1),
    "¥": Decimal(1),
    "千元": Decimal(1000),
    "万元": Decimal(10000),
    "万": Decimal(10000),
    "亿元": Decimal(100000000),
}
YEARS_UNITS: dict[str, int] = {"年": 1, "year": 1, "years": 1, "月": 12, "个月": 12, "months": 12}
UNITS = {"money": MONEY_UNITS, "years": YEARS_UNITS}
SHOWN_UNITS = {"money": "元、千元、万元", "years": "年、月"}
# the register's own unit of each family (what a header without a unit means)
BASE_UNIT = {"money": "元", "years": "年"}

# the bracketed tail of a header: (万元), （单位：万元）, [月], 【年】
_BRACKET = re.compile(r"[(\[【]\s*(?:单位\s*[:：]?\s*)?([^()\[\]【】]*?)\s*[)\]】]\s*$")
# a unit written after a slash or a bare suffix: 原值/万元, 原值 万元
_SLASH = re.compile(r"[/／]\s*(?:单位\s*[:：]?\s*)?(\S+)\s*$")


def header_unit(header: object) -> str | None:
    """The unit text of a header (normalised, lower-case), or None if it states none."""
    text = normalise_text(header)
    if not text:
        return None
    m = _BRACKET.search(text) or _SLASH.search(text)
    if m is None:
        return None
    unit = "".join(m[1].split()).casefold()
    return unit or None


# Bracketed text that is a unit at all (a known one or not): 美元 and 天 are units the
# register cannot take; 含税 or 账面 are remarks, not units, and are left alone.
_UNIT_MARKS = {
    "money": ("元", "币", "圆", "$", "¥", "usd", "eur", "rmb", "cny", "yuan", "dollar"),
    "years": ("年", "月", "天", "日", "周", "year", "month", "day", "week"),
}


def column_unit(family: str, header: object) -> str | None:
    """The unit a header states for a field of `family` (None: no unit stated)."""
    unit = header_unit(header)
    if unit is None or unit in UNITS[family]:
        return unit
    return unit if any(mark in unit for mark in _UNIT_MARKS[family]) else None


def unit_factor(family: str, unit: str | None) -> Decimal | int | None:
    """The factor of `unit` in `family`, 1 for no unit, None if the unit is unknown."""
    if unit is None:
        return 1
    return UNITS[family].get(unit)


def is_unit_text(family: str, text: str) -> bool:
    return text in UNITS[family]


_CENT = Decimal("0.01")
_MONEY_MAX = Decimal("999999999999.99")
# a value that carries its own unit (128万, ¥1,280,000, 5000元) keeps it
_OWN_MONEY_UNIT = frozenset("万亿元圆¥￥")


def money_converter(factor: Decimal) -> Callable[[object], Decimal | None]:
    """parse_money, then × factor, unless the cell states its own unit."""

    def convert(value: object) -> Decimal | None:
        if value.__class__ is float and 0 < value < 1e8:  # a number cell: the usual case
            return (Decimal(repr(value)) * factor).quantize(_CENT, rounding=ROUND_HALF_UP)
        amount = parse_money(value)
        if amount is None:
            return None
        if isinstance(value, str) and not _OWN_MONEY_UNIT.isdisjoint(value):
            return amount
        result = (amount * factor).quantize(_CENT, rounding=ROUND_HALF_UP)
        if abs(result) > _MONEY_MAX:
            raise ValueProblem(MSG_MONEY_TOO_LARGE)
        return result

    return convert


def years_converter(months_per_unit: int) -> Callable[[object], int | None]:
    """A life in whole years from a column counted in months (÷12), or in years."""
    if months_per_unit == 1:
        return parse_int

    def convert(value: object) -> int | None:
        if value.__class__ is float and value.is_integer() and value >= 0:
            years, rest = divmod(int(value), months_per_unit)
            if not rest:
                return years
        if isinstance(value, str) and value.strip().endswith("年"):
            return parse_int(value)  # "8年" under a 月 header: the cell says years
        months = parse_int(value, unit="月")
        if months is None:
            return None
        years, rest = divmod(months, months_per_unit)
        if rest:
            raise ValueProblem(MSG_MONTHS_NOT_WHOLE.format(months=cell_text(value)))
        return years

    return convert
