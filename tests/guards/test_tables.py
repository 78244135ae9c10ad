"""Table-driven: every header synonym of every import kind reads as its field, and every
conclusion of every inspection regime passes or fails as the regulations say. The tables
are written out here (not read from the code), so a synonym dropped or moved to another
field, or a conclusion whose meaning flips, fails a test."""

from __future__ import annotations

import datetime as dt

import pytest

from asset_registry import clock
from asset_registry.extensions import db
from asset_registry.imports import columns
from asset_registry.inspections import rules, services
from tests.inspections.factories import duty, make_asset

# kind → field → every header a ledger may use for it (the template's own headers last)
HEADERS = {
    "assets": {
        "asset_code": (
            "资产编号", "设备编号", "资产编码", "设备编码", "编号", "资产代码", "卡片编号",
            "资产卡片编号", "asset code", "asset tag", "asset no", "asset number", "asset id",
            "inventory number", "inventory no", "tag", "code", "Asset code",
        ),
        "name": (
            "设备名称", "资产名称", "名称", "设备", "name", "asset name", "equipment name",
            "device name", "Name",
        ),
        "category": (
            "二级类别", "设备类别", "资产类别", "类别", "设备种类", "种类", "设备分类",
            "资产分类", "分类", "一级类别", "category", "asset category", "type", "Category",
        ),
        "model": (
            "规格型号", "型号规格", "型号", "规格", "model", "model no", "model number",
            "specification", "Model",
        ),
        "manufacturer": (
            "厂商名称", "生产厂家", "制造单位", "生产厂商", "制造商", "生产企业", "厂家", "厂商",
            "品牌", "manufacturer", "maker", "brand", "Manufacturer",
        ),
        "serial_no": (
            "出厂编号", "序列号", "产品序列号", "机身号", "serial number", "serial no", "serial",
            "serial #", "s/n", "sn", "Serial number",
        ),
        "department": (
            "使用科室", "使用部门", "科室", "部门", "使用单位部门", "department", "dept",
            "Department",
        ),
        "location": (
            "使用地点", "使用场所", "存放地点", "安装地点", "设备地点", "位置", "地点",
            "location", "place", "room", "Location",
        ),
        "purchase_date": (
            "购置日期", "购买日期", "购入日期", "采购日期", "购置时间", "取得日期",
            "purchase date", "purchased", "acquired on", "acquisition date", "Purchase date",
        ),
        "commissioned_on": (
            "投用日期", "投用时间", "启用日期", "启用时间", "投入使用日期", "使用日期",
            "commissioning date", "commissioned on", "in service date", "Commissioning date",
        ),
        "design_life_years": (
            "设计使用年限", "设计使用寿命", "设计寿命", "产品有效期", "design life",
            "design life years", "Design life (years)",
        ),
        "accounting_life_years": (
            "折旧年限", "使用年限", "预计使用年限", "会计使用年限", "会计折旧年限", "折旧期限",
            "accounting life", "depreciation years", "depreciation life", "useful life",
            "service life", "Accounting life (years)",
        ),
        "original_value": (
            "资产原值", "原值", "账面原值", "金额", "价格", "单价", "购置金额", "original value",
            "purchase cost", "purchase price", "value", "cost", "price", "资产原值（元）",
            "Original value (CNY)",
        ),
        "funding_source": (
            "资金来源", "经费来源", "资金性质", "资金渠道", "funding source", "funding",
            "Funding source",
        ),
        "status": (
            "使用状态", "使用状况", "状态", "设备状态", "资产状态", "设备状况", "使用情况",
            "status", "Status",
        ),
        "energy_grade": (
            "能效等级", "能效", "energy grade", "energy efficiency grade", "Energy grade",
        ),
        "equipment_code": (
            "设备代码", "注册代码", "特种设备代码", "equipment code", "registration code",
            "Equipment code",
        ),
        "registration_no": (
            "使用登记证编号", "使用登记证号", "登记证编号", "登记证号", "registration no",
            "registration number", "registration certificate no", "Registration certificate no.",
        ),
        "device_class": (
            "医疗器械分类", "管理类别", "器械类别", "风险类别", "device class", "Device class",
        ),
        "catalogue_code": (
            "分类编码", "目录编码", "分类目录编码", "器械分类编码", "catalogue code",
            "catalog code", "Catalogue code",
        ),
        "permit_no": (
            "配置许可证号", "配置许可证编号", "大型设备配置许可证号", "permit no",
            "Configuration permit no.",
        ),
        "radiation": (
            "放射设备", "是否放射设备", "放射诊疗设备", "radiation", "radiation equipment",
            "Radiation equipment",
        ),
        "metrology": (
            "计量器具", "计量校准", "强制检定", "是否计量器具", "是否强检", "metrology",
            "Metrology",
        ),
        "vessel_grade": (
            "安全状况等级", "安全等级", "safety grade", "Safety grade",
        ),
        "notes": (
            "备注", "说明", "备注说明", "notes", "remarks", "remark", "comment", "Notes",
        ),
    },
    "inspections": {
        "asset_code": (
            "资产编号", "设备编号", "资产编码", "设备编码", "编号", "asset code", "code",
            "Asset code",
        ),
        "obligation_kind": (
            "检验类别", "检验类型", "检验性质", "检测类别", "inspection kind", "inspection type",
            "kind", "Inspection kind",
        ),
        "inspected_on": (
            "检验日期", "检测日期", "检定日期", "检验时间", "inspection date", "inspected on",
            "date", "Inspection date",
        ),
        "agency": (
            "检验机构", "检测机构", "检验单位", "检定机构", "agency", "inspection agency",
            "Inspection agency",
        ),
        "report_no": (
            "报告编号", "检验报告编号", "报告号", "证书编号", "report no", "report number",
            "Report no.",
        ),
        "conclusion": (
            "检验结论", "结论", "检测结论", "检定结论", "conclusion", "result", "Conclusion",
        ),
        "next_due": (
            "下次检验日期", "下次检验时间", "下次检验", "下次检定日期", "有效期至", "next due",
            "next inspection", "valid until", "Next due",
        ),
        "problems": (
            "主要问题", "存在问题", "发现问题", "问题", "problems", "findings", "Problems found",
        ),
    },
    "plan_items": {
        "equipment_name": (
            "拟购设备名称", "拟购设备", "更新设备名称", "设备名称", "名称", "equipment",
            "Equipment to buy",
        ),
        "specification": (
            "规格型号", "规格", "型号", "主要参数", "specification", "model", "Specification",
        ),
        "quantity": (
            "数量", "台数", "台（套）数", "数量（台）", "quantity", "qty", "Quantity",
        ),
        "unit_price": (
            "单价", "预算单价", "单价（元）", "单价(元)", "unit price", "price",
            "Unit price (CNY)",
        ),
        "funding_source": (
            "资金来源", "资金渠道", "funding source", "funding", "Funding source",
        ),
        "replaced_asset_code": (
            "被替换资产编号", "被替换设备编号", "拟淘汰设备编号", "原设备编号", "原资产编号",
            "replaced asset code", "replaces", "Replaced asset code",
        ),
        "reasons": (
            "更新理由", "更新原因", "理由", "reasons", "reason", "Reasons",
        ),
        "planned_quarter": (
            "计划完成时间", "计划完成季度", "计划季度", "完成时间", "planned quarter",
            "Planned quarter",
        ),
        "energy_saved_kwh": (
            "预计年节电量", "年节电量", "节电量", "energy saved", "预计年节电量（kWh）",
            "Energy saved per year (kWh)",
        ),
        "capacity_effect": (
            "预期效果", "产能效果", "效果", "expected effect", "Expected effect",
        ),
    },
}

# regime (conclusion set) → conclusion → passes (README "Inspection regimes")
CONCLUSIONS = {
    "general": {
        "符合要求": True, "基本符合要求": True, "合格": True, "复检合格": True,
        "不符合要求": False, "不合格": False, "复检不合格": False,
    },
    "vehicle": {
        "允许运行": True, "限制条件运行": True, "整改确认": True,
        "停止运行": False, "整改后运行": False,
    },
    "check": {"正常": True, "异常": False},
}


def _cases():
    for kind, fields in HEADERS.items():
        for key, headers in fields.items():
            for header in headers:
                yield kind, key, header


@pytest.mark.parametrize("kind", sorted(HEADERS))
def test_every_header_synonym_reads_as_its_field(kind):
    wrong = []
    for _kind, key, header in (c for c in _cases() if c[0] == kind):
        # as written, and as ledgers decorate it: a required mark, a colon, spaces,
        # full-width letters, a unit in brackets
        wide = header.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
        for text in (header, f"*{header}：", f" {header} ", wide, f"{header}（单位）"):
            hit = columns.lookup_header(text, kind)
            if hit is None or hit[0] != key:
                wrong.append((text, key, hit and hit[0]))
    assert wrong == []


@pytest.mark.parametrize("kind", sorted(HEADERS))
def test_a_whole_header_row_maps_each_column(kind):
    """One ledger row of headers, one synonym per field (a different one each time)."""
    fields = HEADERS[kind]
    longest = max(len(h) for h in fields.values())
    for i in range(longest):
        row = [headers[i % len(headers)] for headers in fields.values()]
        match = columns.match_headers([*row, "备注说明XYZ"], kind)
        assert [match.mapping.get(col) for col in range(len(row))] == list(fields)
        assert match.unknown == [(len(row), "备注说明XYZ")]


def test_the_table_lists_every_header_the_code_knows():
    """A new synonym needs its line in the table above (and so a test)."""
    known = {(kind, f.key, text) for kind, fs in columns.FIELDS.items()
             for f in fs for text in (*f.synonyms, f.zh, f.en)}
    assert known == set(_cases())


def test_the_conclusion_table_is_the_rules_table():
    assert rules.CONCLUSIONS == CONCLUSIONS


def _record(scope, obligation, conclusion, **extra):
    data = {"inspected_on": clock.today() - dt.timedelta(days=10), "conclusion": conclusion,
            "report_no": f"JL-{obligation.id}-{conclusion}", "agency": "晋城市特种设备检验所",
            **extra}
    services.record_inspection(scope, obligation, data, user_id=None)
    db.session.flush()
    return obligation


REGIMES = [
    # (conclusion set, organisation, category, duty)
    ("general", "hcxf", "SE-3000", "annual_inspection"),
    ("vehicle", "stxz", "SE-5200", "annual_inspection"),
    ("check", "wml", "SE-6000", "monthly_check"),
]


@pytest.mark.parametrize(
    "regime, org, category, kind, conclusion, passes",
    [(r, o, c, k, conclusion, passes) for r, o, c, k in REGIMES
     for conclusion, passes in CONCLUSIONS[r].items() if conclusion != rules.RECTIFIED],
)
def test_every_conclusion_of_every_regime(app, as_user, regime, org, category, kind,
                                          conclusion, passes):
    with as_user(org) as scope:
        asset = make_asset(scope, org, category, name=f"结论{conclusion}")
        obligation = duty(asset, kind)
        assert obligation.conclusion_set == regime
        extra = {"problems": "限速 10 km/h"} if conclusion == rules.RESTRICTED else {}
        _record(scope, obligation, conclusion, **extra)
        assert obligation.failed is (not passes)
        if obligation.statutory:
            db.session.refresh(asset)
            assert (asset.safety_state == "failed") is (not passes)
        db.session.rollback()


def test_rectification_confirmed_passes_again(app, as_user):
    """整改后运行 keeps the vehicle stopped until a 整改确认 record after it."""
    with as_user("stxz") as scope:
        car = make_asset(scope, "stxz", "SE-5200", name="整改观光车")
        obligation = duty(car, "annual_inspection")
        _record(scope, obligation, rules.RECTIFY)
        assert obligation.failed
        _record(scope, obligation, rules.RECTIFIED, confirm_restart="y")
        assert not obligation.failed
        db.session.rollback()
