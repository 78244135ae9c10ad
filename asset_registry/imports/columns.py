"""The field catalogue of the ledger importer and header matching.

For each import kind ("assets", "inspections") the target fields, in template
order: the Chinese header the template writes, an English header, the key the
importer and the models use, the value type, whether it is required, and the
synonyms real ledgers use for it (DOMAIN.md §6). Pure data, no database.

Value types: text, category (text, resolved by the caller against the category
tree), date, money, int, decimal, bool, enum (choices supplied by the caller,
or built in here for fixed sets such as the medical device class).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .values import normalise_text

__all__ = [
    "ASSET_FIELDS",
    "FIELDS",
    "INSPECTION_FIELDS",
    "PLAN_ITEM_FIELDS",
    "KINDS",
    "Field",
    "HeaderMatch",
    "column_letter",
    "field_map",
    "fields_for",
    "match_headers",
    "normalise_header",
    "synonym_index",
]

TYPES = frozenset({"text", "category", "date", "money", "int", "decimal", "bool", "enum"})


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    zh: str  # header written by the template
    en: str  # English header (second header row of the template)
    type: str = "text"
    required: bool = False
    # Other headers that mean this field, most specific first: when two columns
    # of one file map to the same field, the one listed earlier is read first and
    # the other only fills its blanks (一级类别 + 二级类别 → 二级类别 wins).
    synonyms: tuple[str, ...] = ()
    allow_future: bool = False  # dates: False → "不能是未来日期"
    max_length: int | None = None  # text: longer → error (matches the model column)
    # enum fields with a fixed set: {code: (zh, en)} and extra accepted spellings
    choices: Mapping[str, tuple[str, str]] | None = None
    aliases: Mapping[str, str] | None = field(default=None)
    # unit family the header may state ("money": 元/千元/万元, "years": 年/月), see units.py
    unit: str | None = None
    hint_zh: str = ""  # one line for the template's instructions sheet
    example: object = None  # a value for the template's example row

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"unknown field type {self.type!r}")


DEVICE_CLASS_CHOICES = {
    "I": ("Ⅰ类", "Class I"),
    "II": ("Ⅱ类", "Class II"),
    "III": ("Ⅲ类", "Class III"),
}
DEVICE_CLASS_ALIASES = {
    alias: code
    for code, spellings in {
        "I": ("1", "1类", "I类", "Ⅰ", "一类", "第一类", "第Ⅰ类", "第I类"),
        "II": ("2", "2类", "II类", "Ⅱ", "二类", "第二类", "第Ⅱ类", "第II类"),
        "III": ("3", "3类", "III类", "Ⅲ", "三类", "第三类", "第Ⅲ类", "第III类"),
    }.items()
    for alias in spellings
}
ENERGY_GRADE_CHOICES = {str(n): (f"{n}级", f"Grade {n}") for n in range(1, 6)}
ENERGY_GRADE_ALIASES = {
    f"{zh}级": str(n) for n, zh in zip(range(1, 6), "一二三四五", strict=True)
} | {f"{zh}级能效": str(n) for n, zh in zip(range(1, 6), "一二三四五", strict=True)}


ASSET_FIELDS: tuple[Field, ...] = (
    Field(
        "asset_code",
        "资产编号",
        "Asset code",
        required=True,
        max_length=64,
        synonyms=(
            "资产编号",
            "设备编号",
            "资产编码",
            "设备编码",
            "编号",
            "资产代码",
            "卡片编号",
            "资产卡片编号",
            "asset code",
            "asset tag",
            "asset no",
            "asset number",
            "asset id",
            "inventory number",
            "inventory no",
            "tag",
            "code",
        ),
        hint_zh="本单位内唯一；再次导入时按此编号更新",
        example="ZY-2015-0001",
    ),
    Field(
        "name",
        "设备名称",
        "Name",
        required=True,
        max_length=200,
        synonyms=(
            "设备名称",
            "资产名称",
            "名称",
            "设备",
            "name",
            "asset name",
            "equipment name",
            "device name",
        ),
        example="64排CT",
    ),
    Field(
        "category",
        "类别",
        "Category",
        type="category",
        max_length=100,
        synonyms=(
            "二级类别",
            "设备类别",
            "资产类别",
            "类别",
            "设备种类",
            "种类",
            "设备分类",
            "资产分类",
            "分类",
            "一级类别",
            "category",
            "asset category",
            "type",
        ),
        hint_zh="类别名称或编码",
        example="医用成像器械",
    ),
    Field(
        "model",
        "规格型号",
        "Model",
        max_length=200,
        synonyms=(
            "规格型号",
            "型号规格",
            "型号",
            "规格",
            "model",
            "model no",
            "model number",
            "specification",
        ),
        example="Revolution ACT",
    ),
    Field(
        "manufacturer",
        "厂商名称",
        "Manufacturer",
        max_length=200,
        synonyms=(
            "厂商名称",
            "生产厂家",
            "制造单位",
            "生产厂商",
            "制造商",
            "生产企业",
            "厂家",
            "厂商",
            "品牌",
            "manufacturer",
            "maker",
            "brand",
        ),
        example="GE医疗",
    ),
    Field(
        "serial_no",
        "出厂编号",
        "Serial number",
        max_length=100,
        synonyms=(
            "出厂编号",
            "序列号",
            "产品序列号",
            "机身号",
            "serial number",
            "serial no",
            "serial",
            "serial #",
            "s/n",
            "sn",
        ),
        example="SN123456",
    ),
    Field(
        "department",
        "使用科室",
        "Department",
        max_length=100,
        synonyms=("使用科室", "使用部门", "科室", "部门", "使用单位部门", "department", "dept"),
        example="放射科",
    ),
    Field(
        "location",
        "使用地点",
        "Location",
        max_length=200,
        synonyms=(
            "使用地点",
            "使用场所",
            "存放地点",
            "安装地点",
            "设备地点",
            "位置",
            "地点",
            "location",
            "place",
            "room",
        ),
        example="门诊楼2层CT室",
    ),
    Field(
        "purchase_date",
        "购置日期",
        "Purchase date",
        type="date",
        synonyms=(
            "购置日期",
            "购买日期",
            "购入日期",
            "采购日期",
            "购置时间",
            "取得日期",
            "purchase date",
            "purchased",
            "acquired on",
            "acquisition date",
        ),
        example="2015-03-08",
    ),
    Field(
        "commissioned_on",
        "投用日期",
        "Commissioning date",
        type="date",
        synonyms=(
            "投用日期",
            "投用时间",
            "启用日期",
            "启用时间",
            "投入使用日期",
            "使用日期",
            "commissioning date",
            "commissioned on",
            "in service date",
        ),
        hint_zh="不得早于购置日期",
        example="2015-04-01",
    ),
    Field(
        "design_life_years",
        "设计使用年限",
        "Design life (years)",
        type="int",
        unit="years",
        # Only a stated design life: a finance export's 使用年限 is the depreciation life.
        synonyms=(
            "设计使用年限",
            "设计使用寿命",
            "设计寿命",
            "产品有效期",
            "design life",
            "design life years",
        ),
        hint_zh="整数，单位：年（表头写“设计使用年限（月）”时按月换算）；铭牌、说明书或登记证上载明的设计年限",
        example=10,
    ),
    Field(
        "accounting_life_years",
        "折旧年限",
        "Accounting life (years)",
        type="int",
        unit="years",
        synonyms=(
            "折旧年限",
            "使用年限",
            "预计使用年限",
            "会计使用年限",
            "会计折旧年限",
            "折旧期限",
            "accounting life",
            "depreciation years",
            "depreciation life",
            "useful life",
            "service life",
        ),
        hint_zh="整数，单位：年（表头写“折旧年限（月）”时按月换算）；财务卡片的“使用年限”即此项",
        example=6,
    ),
    Field(
        "original_value",
        "资产原值（元）",
        "Original value (CNY)",
        type="money",
        unit="money",
        synonyms=(
            "资产原值",
            "原值",
            "账面原值",
            "金额",
            "价格",
            "单价",
            "购置金额",
            "original value",
            "purchase cost",
            "purchase price",
            "value",
            "cost",
            "price",
        ),
        hint_zh=(
            "单位：元（表头写“原值（万元）”时按万元换算）；可写 1280000、¥1,280,000.00 或 128万"
        ),
        example=1280000,
    ),
    Field(
        "funding_source",
        "资金来源",
        "Funding source",
        type="enum",
        max_length=30,
        synonyms=("资金来源", "经费来源", "资金性质", "资金渠道", "funding source", "funding"),
    ),
    Field(
        "status",
        "使用状态",
        "Status",
        type="enum",
        max_length=20,
        synonyms=(
            "使用状态",
            "使用状况",
            "状态",
            "设备状态",
            "资产状态",
            "设备状况",
            "使用情况",
            "status",
        ),
    ),
    Field(
        "energy_grade",
        "能效等级",
        "Energy grade",
        type="enum",
        max_length=10,
        choices=ENERGY_GRADE_CHOICES,
        aliases=ENERGY_GRADE_ALIASES,
        synonyms=("能效等级", "能效", "energy grade", "energy efficiency grade"),
    ),
    Field(
        "equipment_code",
        "设备代码",
        "Equipment code",
        max_length=32,
        synonyms=("设备代码", "注册代码", "特种设备代码", "equipment code", "registration code"),
        hint_zh="特种设备 18 位设备代码，请将该列设为文本格式",
    ),
    Field(
        "registration_no",
        "使用登记证编号",
        "Registration certificate no.",
        max_length=64,
        synonyms=(
            "使用登记证编号",
            "使用登记证号",
            "登记证编号",
            "登记证号",
            "registration no",
            "registration number",
            "registration certificate no",
        ),
    ),
    Field(
        "device_class",
        "医疗器械分类",
        "Device class",
        type="enum",
        max_length=3,
        choices=DEVICE_CLASS_CHOICES,
        aliases=DEVICE_CLASS_ALIASES,
        synonyms=("医疗器械分类", "管理类别", "器械类别", "风险类别", "device class"),
    ),
    Field(
        "catalogue_code",
        "分类编码",
        "Catalogue code",
        max_length=8,
        synonyms=(
            "分类编码",
            "目录编码",
            "分类目录编码",
            "器械分类编码",
            "catalogue code",
            "catalog code",
        ),
        hint_zh="医疗器械分类目录编码，如 06-07-02",
    ),
    Field(
        "permit_no",
        "配置许可证号",
        "Configuration permit no.",
        max_length=64,
        synonyms=("配置许可证号", "配置许可证编号", "大型设备配置许可证号", "permit no"),
    ),
    Field(
        "radiation",
        "放射设备",
        "Radiation equipment",
        type="bool",
        synonyms=("放射设备", "是否放射设备", "放射诊疗设备", "radiation", "radiation equipment"),
        hint_zh="是/否",
    ),
    Field(
        "metrology",
        "计量器具",
        "Metrology",
        type="bool",
        synonyms=("计量器具", "计量校准", "强制检定", "是否计量器具", "是否强检", "metrology"),
        hint_zh="是/否",
    ),
    Field(
        "vessel_grade",
        "安全状况等级",
        "Safety grade",
        type="int",
        synonyms=("安全状况等级", "安全等级", "safety grade"),
    ),
    Field(
        "notes",
        "备注",
        "Notes",
        max_length=2000,
        synonyms=("备注", "说明", "备注说明", "notes", "remarks", "remark", "comment"),
    ),
)

INSPECTION_FIELDS: tuple[Field, ...] = (
    Field(
        "asset_code",
        "资产编号",
        "Asset code",
        required=True,
        max_length=64,
        synonyms=("资产编号", "设备编号", "资产编码", "设备编码", "编号", "asset code", "code"),
        example="ZY-2015-0001",
    ),
    Field(
        "obligation_kind",
        "检验类别",
        "Inspection kind",
        type="enum",
        max_length=40,
        synonyms=(
            "检验类别",
            "检验类型",
            "检验性质",
            "检测类别",
            "inspection kind",
            "inspection type",
            "kind",
        ),
    ),
    Field(
        "inspected_on",
        "检验日期",
        "Inspection date",
        type="date",
        required=True,
        synonyms=(
            "检验日期",
            "检测日期",
            "检定日期",
            "检验时间",
            "inspection date",
            "inspected on",
            "date",
        ),
        example="2024-05-20",
    ),
    Field(
        "agency",
        "检验机构",
        "Inspection agency",
        max_length=200,
        synonyms=("检验机构", "检测机构", "检验单位", "检定机构", "agency", "inspection agency"),
    ),
    Field(
        "report_no",
        "报告编号",
        "Report no.",
        max_length=100,
        synonyms=("报告编号", "检验报告编号", "报告号", "证书编号", "report no", "report number"),
    ),
    Field(
        "conclusion",
        "检验结论",
        "Conclusion",
        type="enum",
        max_length=40,
        synonyms=("检验结论", "结论", "检测结论", "检定结论", "conclusion", "result"),
    ),
    Field(
        "next_due",
        "下次检验日期",
        "Next due",
        type="date",
        allow_future=True,
        synonyms=(
            "下次检验日期",
            "下次检验时间",
            "下次检验",
            "下次检定日期",
            "有效期至",
            "next due",
            "next inspection",
            "valid until",
        ),
    ),
    Field(
        "problems",
        "主要问题",
        "Problems found",
        max_length=2000,
        synonyms=("主要问题", "存在问题", "发现问题", "问题", "problems", "findings"),
    ),
)

# 更新计划明细: the items of one renewal plan (a draft or returned plan of the organisation).
PLAN_ITEM_FIELDS: tuple[Field, ...] = (
    Field(
        "equipment_name",
        "拟购设备名称",
        "Equipment to buy",
        required=True,
        max_length=200,
        synonyms=("拟购设备名称", "拟购设备", "更新设备名称", "设备名称", "名称", "equipment"),
        example="64排CT",
    ),
    Field(
        "specification",
        "规格型号",
        "Specification",
        max_length=500,
        synonyms=("规格型号", "规格", "型号", "主要参数", "specification", "model"),
        example="64排及以上",
    ),
    Field(
        "quantity",
        "数量",
        "Quantity",
        type="int",
        synonyms=("数量", "台数", "台（套）数", "数量（台）", "quantity", "qty"),
        example=1,
    ),
    Field(
        "unit_price",
        "单价（元）",
        "Unit price (CNY)",
        type="money",
        unit="money",
        required=True,
        synonyms=("单价", "预算单价", "单价（元）", "单价(元)", "unit price", "price"),
        example=6_800_000,
    ),
    Field(
        "funding_source",
        "资金来源",
        "Funding source",
        type="enum",
        max_length=30,
        synonyms=("资金来源", "资金渠道", "funding source", "funding"),
        hint_zh="整项投资的资金来源；一项设备有多个资金来源时导入后在计划页面拆分",
    ),
    Field(
        "replaced_asset_code",
        "被替换资产编号",
        "Replaced asset code",
        max_length=64,
        synonyms=(
            "被替换资产编号",
            "被替换设备编号",
            "拟淘汰设备编号",
            "原设备编号",
            "原资产编号",
            "replaced asset code",
            "replaces",
        ),
        hint_zh="以旧换新时填写被替换设备的资产编号；新增设备留空",
        example="ZY-2015-0001",
    ),
    Field(
        "reasons",
        "更新理由",
        "Reasons",
        max_length=200,
        synonyms=("更新理由", "更新原因", "理由", "reasons", "reason"),
        hint_zh="可填多项，用顿号分隔：超过设计使用年限、检验不合格、能效低于标准、技术落后、能力不足、故障频繁",
        example="超过设计使用年限、故障频繁",
    ),
    Field(
        "planned_quarter",
        "计划完成时间",
        "Planned quarter",
        max_length=20,
        synonyms=("计划完成时间", "计划完成季度", "计划季度", "完成时间", "planned quarter"),
        hint_zh="某年某季度，如 2025Q3 或 2025年第3季度",
        example="2025Q3",
    ),
    Field(
        "energy_saved_kwh",
        "预计年节电量（kWh）",
        "Energy saved per year (kWh)",
        type="decimal",
        synonyms=("预计年节电量", "年节电量", "节电量", "energy saved"),
    ),
    Field(
        "capacity_effect",
        "预期效果",
        "Expected effect",
        max_length=500,
        synonyms=("预期效果", "产能效果", "效果", "expected effect"),
    ),
)

FIELDS: dict[str, tuple[Field, ...]] = {
    "assets": ASSET_FIELDS,
    "inspections": INSPECTION_FIELDS,
    "plan_items": PLAN_ITEM_FIELDS,
}
KINDS = tuple(FIELDS)


def fields_for(kind: str) -> tuple[Field, ...]:
    try:
        return FIELDS[kind]
    except KeyError:
        raise ValueError(f"unknown import kind {kind!r}") from None


def field_map(kind: str) -> dict[str, Field]:
    return {f.key: f for f in fields_for(kind)}


# --- header matching ------------------------------------------------------------

_BRACKETED = re.compile(r"[(\[【][^)\]】]*[)\]】]")
_MARKERS = str.maketrans("", "", "*:：")


def normalise_header(text: object) -> str:
    """The exact-match form of a header: half-width, no spaces, no `*`/colon, lower-case."""
    s = normalise_text(text)
    if s is None:
        return ""
    return s.replace(" ", "").translate(_MARKERS).casefold()


def _strip_units(key: str) -> str:
    """Fallback form: bracketed units removed ("原值(元)" → "原值", "产品有效期(年)" → …)."""
    return _BRACKETED.sub("", key)


def _build_index(fields: Sequence[Field]) -> dict[str, tuple[str, int]]:
    index: dict[str, tuple[str, int]] = {}
    for f in fields:
        for rank, text in enumerate((*f.synonyms, f.zh, f.en, f.key)):
            for form in (normalise_header(text), _strip_units(normalise_header(text))):
                if form:
                    index.setdefault(form, (f.key, rank))
    return index


_INDEX = {kind: _build_index(fields) for kind, fields in FIELDS.items()}


def synonym_index(kind: str) -> dict[str, tuple[str, int]]:
    """{normalised header: (key, rank)} for one kind (rank 0 = most specific synonym)."""
    fields_for(kind)
    return _INDEX[kind]


def lookup_header(text: object, kind: str) -> tuple[str, int] | None:
    """(key, rank) for one header cell, or None."""
    if text is None or (type(text) is str and not text):
        return None
    index = _INDEX[kind]
    norm = normalise_header(text)
    if not norm:
        return None
    hit = index.get(norm)
    if hit is None:
        stripped = _strip_units(norm)
        if stripped != norm:
            hit = index.get(stripped)
    return hit


def column_letter(index: int) -> str:
    """0 → "A", 25 → "Z", 26 → "AA"."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass(slots=True)
class HeaderMatch:
    # column index → key, for every recognised column
    mapping: dict[int, str]
    # key → column indices, preferred column first (see Field.synonyms)
    columns_by_key: dict[str, list[int]]
    # (column index, header text) of non-empty headers that match no field
    unknown: list[tuple[int, str]]

    @property
    def matched(self) -> int:
        return len(self.mapping)


def match_headers(
    headers: Sequence[object],
    kind: str,
    overrides: Mapping[str, Mapping[str, object]] | None = None,
) -> HeaderMatch:
    """Map header cells (by position) to field keys; unknown headers are listed, not fatal.

    `overrides` is an organisation's saved mapping, {normalise_header(text): {"field":
    key or None}}: a column it names goes to that field (rank -1, before any synonym)
    or, with field None, is ignored."""
    ranked: dict[str, list[tuple[int, int]]] = {}
    mapping: dict[int, str] = {}
    unknown: list[tuple[int, str]] = []
    fields = field_map(kind)
    for col, text in enumerate(headers):
        chosen = overrides.get(normalise_header(text)) if overrides and text else None
        if chosen is not None:
            key = chosen.get("field")
            if key is None or key not in fields:
                shown = normalise_text(text)
                if shown:
                    unknown.append((col, shown))
                continue
            hit = (key, -1)
        else:
            hit = lookup_header(text, kind)
        if hit is None:
            shown = normalise_text(text) if text is not None else None
            if shown:
                unknown.append((col, shown))
            continue
        key, rank = hit
        mapping[col] = key
        ranked.setdefault(key, []).append((rank, col))
    columns_by_key = {key: [col for _, col in sorted(hits)] for key, hits in ranked.items()}
    return HeaderMatch(mapping, columns_by_key, unknown)
