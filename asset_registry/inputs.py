"""Typed values out of submitted form data, with the same clear messages everywhere.

Each service binds these readers to its own error class (`AssetError`,
`InspectionError`, …) so its views can show the message beside the right field.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping

from flask_babel import gettext as _

MAX_AMOUNT = decimal.Decimal("99999999999.99")


class InputError(ValueError):
    """Bad input: a clear Chinese message, tied to a form field when there is one."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def read_text(data: Mapping, key: str, limit: int, *, error=InputError) -> str | None:
    value = data.get(key)
    value = str(value).strip() if value is not None else ""
    if len(value) > limit:
        raise error(key, _("内容过长（最多 %(n)s 个字符）。", n=limit))
    return value or None


def read_date(data: Mapping, key: str, *, error=InputError) -> dt.date | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise error(key, _("日期格式不正确，请使用 年-月-日（如 2020-03-15）。")) from None


def read_int(data: Mapping, key: str, lo: int, hi: int, *, error=InputError) -> int | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    try:
        number = value if isinstance(value, int) else int(str(value).strip())
    except ValueError:
        raise error(key, _("请输入整数。")) from None
    if not lo <= number <= hi:
        raise error(key, _("请输入 %(lo)s 到 %(hi)s 之间的整数。", lo=lo, hi=hi))
    return number


def read_amount(
    data: Mapping,
    key: str,
    *,
    error=InputError,
    places: str = "0.01",
    not_a_number: str | None = None,
    negative: str | None = None,
) -> decimal.Decimal | None:
    """A non-negative Decimal (never through float rounding), quantised to `places`."""
    value = data.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = decimal.Decimal(str(value).strip().replace(",", ""))
    except decimal.InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise error(key, not_a_number or _("请输入数字。"))
    if amount < 0:
        raise error(key, negative or _("请输入不小于 0 的数字。"))
    if amount > MAX_AMOUNT:
        raise error(key, _("数值过大。"))
    return amount.quantize(decimal.Decimal(places), rounding=decimal.ROUND_HALF_UP)


# --- request-wide hygiene -----------------------------------------------------------
# C0 controls (but tab, line feed, carriage return) and DEL: never meaningful in a form
# or a query, and NUL is refused by PostgreSQL outright
_CONTROL_CHARS = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 127])
# the widest integer column is PostgreSQL's int4 (SQLite's own limit, 2**63-1, is wider)
MAX_ID = 2**31 - 1


def strip_control(value: str) -> str:
    return value.translate(_CONTROL_CHARS)


def read_id(value, default: int | None = None) -> int | None:
    """An id from a query or a form: a number in the id columns' range, else `default`
    (an id beyond the column cannot name a row, so it is simply "none")."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return number if 0 < number <= MAX_ID else default
