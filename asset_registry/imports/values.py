"""Cell-value normalisers for ledger imports.

Pure functions, no database. Each takes a raw cell value as python-calamine or
the csv module hands it over (str, int, float, bool, date, datetime, or None)
and returns a clean Python value, or raises `ValueProblem` with a Chinese
message fit to show the user next to the row and column.

Empty input ("", whitespace, None) always returns None: whether a blank is
allowed is the caller's decision (see `reader.RowParser`).

These run once per cell of files with 100,000+ rows, so the common cases take
the shortest path: `isinstance` checks first, regular expressions precompiled,
no per-call allocation of lookup tables.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .messages import N_

__all__ = [
    "ValueProblem",
    "build_enum_lookup",
    "cell_text",
    "enum_message",
    "normalise_free_text",
    "normalise_text",
    "parse_bool",
    "parse_date",
    "parse_decimal",
    "parse_enum",
    "parse_int",
    "parse_money",
    "strip_control",
]

# Messages (exported so callers and tests compare against one spelling).
MSG_DATE = N_("日期格式无法识别（可写 2015-03-08、2015/3/8、2015.03、2015年3月 或 20150308）")
MSG_DATE_INVALID = N_("日期不存在（请写成 2015-03-08 这样的年-月-日）")
MSG_DATE_FUTURE = N_("不能是未来日期")
MSG_DATE_YEAR_ONLY = N_("日期缺少月份（至少写到月份，如 2015.03 或 2015年3月）")
MSG_DATE_AMBIGUOUS = N_("日期含义不明确（可能是 1 月或 10 月），请写成 2015-01 或 2015-10")
MSG_NUMBER = N_("应为数字")
MSG_INTEGER = N_("应为整数")
MSG_MONEY = N_("应为金额数字")
MSG_MONEY_TOO_LARGE = N_("金额过大")
MSG_NEGATIVE = N_("不能为负数")
MSG_BOOL = N_("应为“是”或“否”")
MSG_NOT_A_CHOICE = N_("不是可选值（可选：{options}）")
MSG_PRECISION = N_("超过 15 位的数字已被 Excel 截断，请将该列设为文本格式后重新填写")

_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")
_MONEY_MAX = Decimal("999999999999.99")  # Numeric(14, 2)
_EXCEL_EPOCH_ORDINAL = dt.date(1899, 12, 30).toordinal()  # 1900 date system
_MAX_SERIAL = 2958465  # 9999-12-31
_MIN_YEAR, _MAX_YEAR = 1900, 2100


class ValueProblem(ValueError):
    """A cell value that cannot be used; `message` is Chinese, shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- text --------------------------------------------------------------------

# Full-width ASCII block U+FF01..U+FF5E -> U+0021..U+007E, ideographic space -> space.
_FULLWIDTH = {0xFF01 + i: 0x21 + i for i in range(94)}
_FULLWIDTH[0x3000] = 0x20
_FULLWIDTH_FIRST = "\uff01"


def _float_text(value: float) -> str:
    if not math.isfinite(value):
        raise ValueProblem(MSG_NUMBER)
    if value.is_integer():
        if abs(value) >= 1e15:
            # Excel keeps 15 significant digits: an 18-digit code typed as a
            # number is already wrong in the file; refuse rather than store it.
            raise ValueProblem(MSG_PRECISION)
        return str(int(value))
    return repr(value)


def cell_text(value: object) -> str:
    """Any cell value as the text a user would see (1001.0 -> "1001")."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dt.datetime):
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


# C0 controls other than the whitespace str.split() already removes, DEL, and the C1
# block: older systems' CSV exports carry them, and Excel refuses to save a cell with one.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x9f]")


def strip_control(text: str) -> str:
    """`text` without control characters (cheap when there are none: isprintable is a C loop)."""
    if text.isprintable():
        return text
    return _CONTROL.sub("", text)


# Free text (names, departments, notes) keeps full-width punctuation such as （）、：，
# which is correct Chinese typography: only digits, Latin letters and the ideographic
# space are narrowed, so a name saved by the form survives export → re-import as is.
_FULLWIDTH_ALNUM = {
    cp: cp - 0xFEE0
    for first, last in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
    for cp in range(first, last + 1)
}
_FULLWIDTH_ALNUM[0x3000] = 0x20


def normalise_free_text(value: object) -> str | None:
    """Like `normalise_text`, but full-width punctuation is kept (only 0-9, A-Z, a-z)."""
    if value is None:
        return None
    if type(value) is not str:
        value = cell_text(value)
    if value and not value.isascii() and max(value) >= _FULLWIDTH_FIRST:
        value = value.translate(_FULLWIDTH_ALNUM)
    if not value.isprintable():  # inline: this runs for every distinct cell text
        value = _CONTROL.sub("", value)
    value = " ".join(value.split())
    return value or None


def normalise_text(value: object) -> str | None:
    """Full-width -> half-width, trim, collapse internal whitespace; blank -> None."""
    if value is None:
        return None
    if type(value) is not str:
        value = cell_text(value)
    # CJK ideographs sit below U+FF01, so max() (a C loop) rules out full-width
    # forms cheaply; translate() is the costly step on Chinese text.
    if value and not value.isascii() and max(value) >= _FULLWIDTH_FIRST:
        value = value.translate(_FULLWIDTH)
    if not value.isprintable():  # inline: this runs for every distinct cell text
        value = _CONTROL.sub("", value)
    # str.split() splits on every Unicode space (incl. U+3000, NBSP, tabs, newlines).
    value = " ".join(value.split())
    return value or None


def _compact(value: str) -> str:
    """Normalised text with all spaces removed (for numbers and dates)."""
    if value and not value.isascii() and max(value) >= _FULLWIDTH_FIRST:
        value = value.translate(_FULLWIDTH)
    return "".join(value.split())


# --- dates -------------------------------------------------------------------

_TIME = r"(?:(?:\s+|T)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
# 2015-03-08, 2015/3/8, 2015.3.8, 2015.03, 2015-03, optional time after it
_DATE_SEP = re.compile(r"(\d{4})\s*([-/.])\s*(\d{1,2})(?:\s*\2\s*(\d{1,2}))?\.?" + _TIME, re.ASCII)
# 2015年3月, 2015年3月8日 (spaces removed beforehand)
_DATE_ZH = re.compile(r"(\d{4})年(\d{1,2})月(?:(\d{1,2})[日号]?)?", re.ASCII)
# 20150308
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII)
_YEAR_ONLY = re.compile(r"(\d{4})年?", re.ASCII)
_SERIAL_TEXT = re.compile(r"\d{5}(?:\.\d+)?", re.ASCII)


def _make_date(year: int, month: int, day: int) -> dt.date:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise ValueProblem(MSG_DATE)
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueProblem(MSG_DATE_INVALID) from None


def _date_from_number(value: float) -> dt.date:
    if _MIN_YEAR <= value <= _MAX_YEAR:
        # A year, or "2015.03" typed into a number cell (Excel keeps 2015.03).
        if float(value).is_integer():
            raise ValueProblem(MSG_DATE_YEAR_ONLY)
        year_text, _, fraction = repr(float(value)).partition(".")
        year = int(year_text)
        if len(fraction) == 2:
            return _make_date(year, int(fraction), 1)
        if len(fraction) == 1:
            if fraction == "1":  # typed 2015.1 (January) or 2015.10 (October)?
                raise ValueProblem(MSG_DATE_AMBIGUOUS)
            return _make_date(year, int(fraction), 1)
        if len(fraction) == 4:  # 2015.0308
            return _make_date(year, int(fraction[:2]), int(fraction[2:]))
        raise ValueProblem(MSG_DATE)
    if 19000101 <= value <= 21001231 and float(value).is_integer():
        # 20150308 typed into a number cell
        n = int(value)
        return _make_date(n // 10000, n // 100 % 100, n % 100)
    if not 1 <= value <= _MAX_SERIAL:
        raise ValueProblem(MSG_DATE)
    # Excel serial in the 1900 system (time of day, the fraction, is dropped).
    result = dt.date.fromordinal(_EXCEL_EPOCH_ORDINAL + int(value))
    if not _MIN_YEAR <= result.year <= _MAX_YEAR:
        raise ValueProblem(MSG_DATE)
    return result


def _date_from_text(text: str) -> dt.date | None:
    s = normalise_text(text)
    if s is None:
        return None
    m = _DATE_SEP.fullmatch(s)
    if m is not None:
        year, _, month, day = m.groups()
        return _make_date(int(year), int(month), int(day) if day else 1)
    s = s.replace(" ", "")
    m = _DATE_ZH.fullmatch(s)
    if m is not None:
        year, month, day = m.groups()
        return _make_date(int(year), int(month), int(day) if day else 1)
    m = _DATE_COMPACT.fullmatch(s)
    if m is not None:
        return _make_date(int(m[1]), int(m[2]), int(m[3]))
    if _YEAR_ONLY.fullmatch(s):
        raise ValueProblem(MSG_DATE_YEAR_ONLY)
    if _SERIAL_TEXT.fullmatch(s):  # a serial that went through CSV as text
        return _date_from_number(float(s))
    raise ValueProblem(MSG_DATE)


def parse_date(
    value: object, today: dt.date | None = None, *, allow_future: bool = False
) -> dt.date | None:
    """A date from an Excel date, an Excel serial or the usual Chinese text forms.

    A month without a day means the first of that month. Dates after `today`
    are refused unless `allow_future` (e.g. a next-inspection date).
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        result = value.date()
    elif isinstance(value, dt.date):
        result = value
    elif isinstance(value, str):
        result = _date_from_text(value)
        if result is None:
            return None
    elif isinstance(value, bool):
        raise ValueProblem(MSG_DATE)
    elif isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueProblem(MSG_DATE)
        result = _date_from_number(value)
    else:
        raise ValueProblem(MSG_DATE)
    if not allow_future:
        if today is None:
            from .. import clock

            today = clock.today()
        if result > today:
            raise ValueProblem(MSG_DATE_FUTURE)
    return result


# --- numbers -----------------------------------------------------------------

_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_MONEY_PREFIXES = ("人民币", "RMB", "CNY", "¥", "￥")  # after upper-casing
_MONEY_SUFFIXES = ("元整", "元", "圆", "RMB", "CNY")
_MONEY_UNITS = {"万": Decimal(10000), "亿": Decimal(100000000)}
_MINUS_SIGNS = str.maketrans({"−": "-", "–": "-", "—": "-"})


def _decimal_from_number(value: int | float, message: str) -> Decimal:
    if isinstance(value, int):
        return Decimal(value)
    if not math.isfinite(value):
        raise ValueProblem(message)
    # repr() is the shortest text that round-trips: 0.1 -> "0.1", never 0.1000000000000000055
    return Decimal(repr(value))


def _decimal_from_text(text: str, message: str) -> Decimal | None:
    s = _compact(text).replace(",", "")
    if not s:
        return None
    if not s.isascii():
        s = s.translate(_MINUS_SIGNS)
    if not _NUMBER.fullmatch(s):
        raise ValueProblem(message)
    return Decimal(s)


def _check_sign(result: Decimal, allow_negative: bool) -> Decimal:
    if result < 0 and not allow_negative:
        raise ValueProblem(MSG_NEGATIVE)
    return result


def parse_money(value: object, *, allow_negative: bool = False) -> Decimal | None:
    """An amount in yuan as Decimal with 2 places: 1280000, "¥1,280,000.00", "128万"."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueProblem(MSG_MONEY)
    if isinstance(value, (int, float)):
        result = _decimal_from_number(value, MSG_MONEY)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueProblem(MSG_MONEY)
        result = value
    elif isinstance(value, str):
        s = _compact(value).replace(",", "").upper()
        if not s:
            return None
        if not s.isascii():
            s = s.translate(_MINUS_SIGNS)
        negative = False
        if s[:1] in "-+":
            negative, s = s[0] == "-", s[1:]
        elif s[:1] == "(" and s[-1:] == ")":  # accounting style (1,000.00)
            negative, s = True, s[1:-1]
        for prefix in _MONEY_PREFIXES:
            if s.startswith(prefix):
                s = s[len(prefix) :]
                break
        if s[:1] == "-":  # ¥-100
            negative, s = True, s[1:]
        for suffix in _MONEY_SUFFIXES:
            if s.endswith(suffix):
                s = s[: -len(suffix)]
                break
        unit = _MONEY_UNITS.get(s[-1:])
        if unit is not None:
            s = s[:-1]
        if not _NUMBER.fullmatch(s) or s[:1] in "-+":
            raise ValueProblem(MSG_MONEY)
        result = Decimal(s)
        if unit is not None:
            result *= unit
        if negative:
            result = -result
    else:
        raise ValueProblem(MSG_MONEY)
    _check_sign(result, allow_negative)
    try:
        result = result.quantize(_CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueProblem(MSG_MONEY_TOO_LARGE) from None
    if abs(result) > _MONEY_MAX:
        raise ValueProblem(MSG_MONEY_TOO_LARGE)
    return result if result else _ZERO  # never -0.00


def parse_decimal(
    value: object, *, places: int | None = None, allow_negative: bool = False, unit: str = "年"
) -> Decimal | None:
    """A non-negative number as Decimal ("7.5", "7.5年", 7.5); `places` quantises."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueProblem(MSG_NUMBER)
    if isinstance(value, (int, float)):
        result = _decimal_from_number(value, MSG_NUMBER)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueProblem(MSG_NUMBER)
        result = value
    elif isinstance(value, str):
        text = value.strip()
        if unit and text.endswith(unit):
            text = text[: -len(unit)]
        result = _decimal_from_text(text, MSG_NUMBER)
        if result is None:
            return None
    else:
        raise ValueProblem(MSG_NUMBER)
    _check_sign(result, allow_negative)
    if places is not None:
        result = result.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return result


def parse_int(value: object, *, allow_negative: bool = False, unit: str = "年") -> int | None:
    """A whole number: 10, 10.0, "10", "１０", "10年"; 10.5 -> ValueProblem("应为整数")."""
    if value is None:
        return None
    if type(value) is int:
        result = value
    elif type(value) is float and value.is_integer():
        result = int(value)
    else:
        number = parse_decimal(value, allow_negative=True, unit=unit)
        if number is None:
            return None
        if number != number.to_integral_value():
            raise ValueProblem(MSG_INTEGER)
        result = int(number)
    if result < 0 and not allow_negative:
        raise ValueProblem(MSG_NEGATIVE)
    return result


# --- booleans and enumerations -------------------------------------------------

_BOOL = {
    "是": True,
    "否": False,
    "y": True,
    "n": False,
    "yes": True,
    "no": False,
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "√": True,
    "×": False,
    "✓": True,
    "✔": True,
    "✗": False,
    "✘": False,
    "有": True,
    "无": False,
    "对": True,
    "错": False,
}


def parse_bool(value: object) -> bool | None:
    """是/否, Y/N, yes/no, true/false, 1/0, √/× (and Excel TRUE/FALSE cells)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if value == 1:
            return True
        if value == 0:
            return False
        raise ValueProblem(MSG_BOOL)
    if isinstance(value, str):
        s = _compact(value)
        if not s:
            return None
        result = _BOOL.get(s)
        if result is None:
            result = _BOOL.get(s.lower())
            if result is None:
                raise ValueProblem(MSG_BOOL)
        return result
    raise ValueProblem(MSG_BOOL)


def _enum_key(text: str) -> str:
    return _compact(text).casefold()


def build_enum_lookup(
    choices: Mapping[str, tuple[str, str]], aliases: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Lookup table {normalised code / zh label / en label / alias: code}.

    Build it once per import and pass it to `parse_enum(..., lookup=...)`.
    """
    lookup: dict[str, str] = {}
    for code, labels in choices.items():
        for text in (code, *labels):
            if text:
                lookup.setdefault(_enum_key(str(text)), code)
    for alias, code in (aliases or {}).items():
        lookup.setdefault(_enum_key(alias), code)
    return lookup


def enum_message(choices: Mapping[str, tuple[str, str]]) -> str:
    """ "不是可选值（可选：在用、闲置…）"."""
    labels = "、".join(str(labels[0]) for labels in choices.values())
    return MSG_NOT_A_CHOICE.format(options=labels)


def parse_enum(
    value: object,
    choices: Mapping[str, tuple[str, str]],
    *,
    lookup: Mapping[str, str] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> str | None:
    """The code whose code, Chinese label or English label matches, case-insensitively.

    `choices` is {code: (zh_label, en_label)}; pass a prebuilt `lookup` on hot paths.
    """
    if value is None:
        return None
    text = cell_text(value)
    if not text.strip():
        return None
    if lookup is None:
        lookup = build_enum_lookup(choices, aliases)
    code = lookup.get(_enum_key(text))
    if code is None:
        raise ValueProblem(enum_message(choices))
    return code
