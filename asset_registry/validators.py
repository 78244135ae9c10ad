"""One rule per field for every way in: the import, the forms and the API.

Each validator takes what a user typed (or a cell held) and returns the clean value, or
raises `ValueProblem` whose `message` is the Chinese text shown next to the field or the
row. The importer uses them now; forms and the API can call the same functions so that
a value refused in one place is refused everywhere, with the same words.

    from asset_registry.validators import ValueProblem, amount, equipment_code, date_value
    equipment_code("3110410500")             # → ValueProblem (neither 设备代码 nor 注册代码)
    amount("680万")                          # → Decimal("6800000.00")
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from .imports.values import ValueProblem, normalise_text, parse_date, parse_money

__all__ = ["ValueProblem", "amount", "date_value", "equipment_code"]

def equipment_code(value: object) -> str | None:
    """A special-equipment 设备代码 (18 digits) or an older 注册代码 (17–21 letters or
    digits, upper-cased); full-width digits and spaces are normalised; blank → None. The
    structure only: assets.codes checks it against the category, with the same messages."""
    from .assets import codes

    text = normalise_text(value)
    if text is None:
        return None
    text = text.replace(" ", "").upper()
    if codes.EQUIPMENT_PATTERN.fullmatch(text) or codes.REGISTER_PATTERN.fullmatch(text):
        return text
    raise ValueProblem(codes.MSG_EQUIPMENT_FORMAT)


def amount(value: object) -> Decimal | None:
    """An amount in yuan: 1280000, "¥1,280,000.00", "128万", "1.5亿"; 2 places."""
    return parse_money(value)


def date_value(
    value: object, today: dt.date | None = None, *, allow_future: bool = False
) -> dt.date | None:
    """A date from the usual forms (2015-03-08, 2015/3/8, 2015.03, 2015年3月, Excel serials)."""
    return parse_date(value, today, allow_future=allow_future)
