"""Equipment identifiers checked by their structure: the special-equipment 设备代码, the
older 注册代码 and the 医疗器械分类目录 code. One module, one set of messages, used by
the asset service (so the form and the API) and by the ledger import.

设备代码 (DOMAIN.md §3): 18 digits = 4-digit kind code (特种设备目录 品种, e.g. 3110)
+ 5-digit maker code + 4-digit year of manufacture + 5-digit serial. The kind must
belong to the asset's special-equipment category: a category coded 3000 takes any
3xxx, a sub-kind coded 2100 only 21xx, one coded 9120 only 912x. Codes issued before
the 18-digit scheme (注册代码, 17–21 letters or digits) are kept in their own field.

医疗器械分类目录 code `06-07-02`: sub-catalogue, first-level product category, second-
level category; the sub-catalogue must be the asset's category (MED-06 → 06).

    check_equipment_code("311010021200600008", "3000", today)  → "311010021200600008"
    check_equipment_code("911010001201600001", "3000", today)  → CodeProblem (kind)
    split_code("31104105002015060012")  → (None, "31104105002015060012")
"""

from __future__ import annotations

import datetime as dt
import re

from ..imports.messages import N_
from ..imports.values import normalise_text

# Plain Chinese templates (the msgids): formatted with str.format, translated where shown.
MSG_EQUIPMENT_FORMAT = N_(
    "设备代码应为 18 位数字（种类代码 4 位 + 制造单位代码 5 位 + 制造年份 4 位 + 流水号 5 位）"
)
MSG_EQUIPMENT_REGISTER = N_("这是旧的注册代码（17–21 位），请填写在“注册代码”一栏")
MSG_EQUIPMENT_KIND = N_("设备代码的种类代码 {kind} 不属于所选类别（应以 {prefix} 开头）")
MSG_EQUIPMENT_MAKER = N_("设备代码的制造单位代码（第 5–9 位）不能全为 0")
MSG_EQUIPMENT_YEAR = N_("设备代码的制造年份 {year} 应在 1950 年至 {this_year} 年之间")
MSG_EQUIPMENT_SERIAL = N_("设备代码的流水号（第 14–18 位）不能全为 0")
MSG_EQUIPMENT_NOT_SPECIAL = N_("只有特种设备才有设备代码")
MSG_REGISTER_FORMAT = N_("注册代码应为 17–21 位字母或数字")
MSG_CATALOGUE_FORMAT = N_("分类编码格式应为 NN-NN-NN（如 06-07-02）")
MSG_CATALOGUE_ZERO = N_("分类编码 {code} 不存在：一级、二级产品类别不能为 00")
MSG_CATALOGUE_OTHER = N_("分类编码 {code} 属于子目录 {found}，不在所选子目录 {expected} 下")

FIRST_YEAR = 1950
EQUIPMENT_PATTERN = _EQUIPMENT = re.compile(r"[0-9F]\d{17}")
REGISTER_PATTERN = _REGISTER = re.compile(r"[0-9A-Z]{17,21}")
_CATALOGUE = re.compile(r"(\d{2})-(\d{2})-(\d{2})")
_MEDICAL_CATEGORY = re.compile(r"MED-(\d{2})")


class CodeProblem(ValueError):
    """A code that cannot be used. `template` is the Chinese msgid, `params` fill it;
    `message` is the Chinese text (the import keeps it as such in its report)."""

    def __init__(self, field: str, template: str, **params):
        self.field = field
        self.template = template
        self.params = params
        self.message = template.format(**params)
        super().__init__(self.message)

    def translated(self) -> str:
        from flask_babel import gettext

        return gettext(self.template).format(**self.params)


def _compact(value: object) -> str | None:
    text = normalise_text(value)  # full-width digits and letters → ASCII
    if text is None:
        return None
    return "".join(text.split()).upper() or None


def kind_prefix(special_code: str | None) -> str | None:
    """The leading digits a 设备代码's kind must have for a category: 3000 → "3",
    2100 → "21", 9120 → "912"; None without a special code."""
    if not special_code:
        return None
    return special_code.rstrip("0") or special_code[:1]


def check_equipment_code(
    value: object,
    special_code: str | None,
    today: dt.date,
    *,
    field: str = "equipment_code",
    any_kind: bool = False,
) -> str | None:
    """The clean 18-digit 设备代码 (blank → None), or CodeProblem. `special_code`: the
    asset's category's special code (None → not special equipment: any code refused).
    `any_kind`: the category is not known here (a ledger row updating a registered
    asset without a category column): the structure only."""
    code = _compact(value)
    if code is None:
        return None
    if not special_code and not any_kind:
        raise CodeProblem(field, MSG_EQUIPMENT_NOT_SPECIAL)
    if not _EQUIPMENT.fullmatch(code):
        if _REGISTER.fullmatch(code):
            raise CodeProblem(field, MSG_EQUIPMENT_REGISTER)
        raise CodeProblem(field, MSG_EQUIPMENT_FORMAT)
    kind, maker, year, serial = code[:4], code[4:9], int(code[9:13]), code[13:]
    prefix = None if any_kind else kind_prefix(special_code)
    if prefix and not kind.startswith(prefix):
        raise CodeProblem(field, MSG_EQUIPMENT_KIND, kind=kind, prefix=prefix)
    if maker == "00000":
        raise CodeProblem(field, MSG_EQUIPMENT_MAKER)
    if not FIRST_YEAR <= year <= today.year:
        raise CodeProblem(field, MSG_EQUIPMENT_YEAR, year=code[9:13], this_year=today.year)
    if serial == "00000":
        raise CodeProblem(field, MSG_EQUIPMENT_SERIAL)
    return code


def check_register_code(value: object, *, field: str = "register_code") -> str | None:
    """An older 注册代码: 17–21 letters or digits (upper-cased); blank → None."""
    code = _compact(value)
    if code is None:
        return None
    if not _REGISTER.fullmatch(code):
        raise CodeProblem(field, MSG_REGISTER_FORMAT)
    return code


def split_code(value: object) -> tuple[str | None, str | None]:
    """(设备代码, 注册代码) for one ledger cell that may hold either: 18 digits (or F and
    17 digits) is a 设备代码, any other 17–21 letters or digits an older 注册代码.
    Structure is not checked here (see check_equipment_code)."""
    code = _compact(value)
    if code is None:
        return None, None
    if _EQUIPMENT.fullmatch(code) or not _REGISTER.fullmatch(code):
        return code, None
    return None, code


def catalogue_number(category_code: str | None) -> str | None:
    """The sub-catalogue number of a medical category: "MED-06" → "06"; else None."""
    m = _MEDICAL_CATEGORY.fullmatch(category_code or "")
    return m[1] if m else None


def check_catalogue_code(
    value: object, category_code: str | None, *, field: str = "catalogue_code"
) -> str | None:
    """A 医疗器械分类目录 code under the asset's sub-catalogue; blank → None."""
    code = _compact(value)
    if code is None:
        return None
    m = _CATALOGUE.fullmatch(code)
    if m is None:
        raise CodeProblem(field, MSG_CATALOGUE_FORMAT)
    if m[1] == "00" or m[2] == "00" or m[3] == "00" or int(m[1]) > 22:
        raise CodeProblem(field, MSG_CATALOGUE_ZERO, code=code)
    expected = catalogue_number(category_code)
    if expected and m[1] != expected:
        raise CodeProblem(field, MSG_CATALOGUE_OTHER, code=code, found=m[1], expected=expected)
    return code


def check_import_row(clean: dict, category, today: dt.date) -> list[CodeProblem]:
    """The code checks for one validated ledger row, `category` resolved (anything with
    `code` and `special_code`; None when the row names none). A 设备代码 cell holding an
    older 注册代码 moves to `register_code`; the codes are checked against the category.
    Returns the problems (the failing keys are dropped from `clean`)."""
    problems: list[CodeProblem] = []
    special_code = category.special_code if category is not None else None
    category_code = category.code if category is not None else None
    if clean.get("equipment_code") is not None:
        equipment, register = split_code(clean["equipment_code"])
        if register is not None:
            clean["equipment_code"] = None
            clean["register_code"] = register
        else:
            try:
                clean["equipment_code"] = check_equipment_code(
                    equipment, special_code, today, any_kind=category is None
                )
            except CodeProblem as problem:
                clean.pop("equipment_code")
                problems.append(problem)
    if clean.get("catalogue_code") is not None:
        try:
            clean["catalogue_code"] = check_catalogue_code(clean["catalogue_code"], category_code)
        except CodeProblem as problem:
            clean.pop("catalogue_code")
            problems.append(problem)
    return problems
