"""One rule per field for every way in: the import, the forms and the API.

Each validator takes what a user typed (or a cell held) and returns the clean value, or
raises `ValueProblem` whose `message` is the Chinese text shown next to the field or the
row. The importer uses them now; forms and the API can call the same functions so that
a value refused in one place is refused everywhere, with the same words.

    from asset_registry.validators import ValueProblem, amount, equipment_code, date_value
    equipment_code("31104105002015060012")   # → ValueProblem (20 digits: not a 设备代码)
    amount("680万")                          # → Decimal("6800000.00")
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from .imports.messages import N_
from .imports.values import ValueProblem, normalise_text, parse_date, parse_money

__all__ = ["ValueProblem", "amount", "date_value", "equipment_code"]

MSG_EQUIPMENT_CODE = N_(
    "设备代码应为 18 位数字（种类代码 4 位 + 制造单位 5 位 + 年份 4 位 + 流水号 5 位）；"
    "旧的注册代码为 17–21 位字母或数字"
)
_EQUIPMENT_CODE = re.compile(r"\d{18}")
# 注册代码 issued before the 18-digit 设备代码: 17–21 letters and digits (DOMAIN.md §3)
_REGISTRATION_CODE = re.compile(r"[0-9A-Z]{17,21}")


def equipment_code(value: object) -> str | None:
    """A special-equipment 设备代码 (18 digits) or an older 注册代码 (17–21 letters or
    digits, upper-cased); full-width digits and spaces are normalised; blank → None."""
    text = normalise_text(value)
    if text is None:
        return None
    text = text.replace(" ", "").upper()
    if _EQUIPMENT_CODE.fullmatch(text) or _REGISTRATION_CODE.fullmatch(text):
        return text
    raise ValueProblem(MSG_EQUIPMENT_CODE)


def amount(value: object) -> Decimal | None:
    """An amount in yuan: 1280000, "¥1,280,000.00", "128万", "1.5亿"; 2 places."""
    return parse_money(value)


def date_value(
    value: object, today: dt.date | None = None, *, allow_future: bool = False
) -> dt.date | None:
    """A date from the usual forms (2015-03-08, 2015/3/8, 2015.03, 2015年3月, Excel serials)."""
    return parse_date(value, today, allow_future=allow_future)
