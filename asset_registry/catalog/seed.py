"""Category tree and default duties from shared/DOMAIN.md (editable defaults, not law)."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from .models import Category, ObligationTemplate

MEDICAL_CATALOGUE = [
    ("01", "有源手术器械"),
    ("02", "无源手术器械"),
    ("03", "神经和心血管手术器械"),
    ("04", "骨科手术器械"),
    ("05", "放射治疗器械"),
    ("06", "医用成像器械"),
    ("07", "医用诊察和监护器械"),
    ("08", "呼吸、麻醉和急救器械"),
    ("09", "物理治疗器械"),
    ("10", "输血、透析和体外循环器械"),
    ("11", "医疗器械消毒灭菌器械"),
    ("12", "有源植入器械"),
    ("13", "无源植入器械"),
    ("14", "注输、护理和防护器械"),
    ("15", "患者承载器械"),
    ("16", "眼科器械"),
    ("17", "口腔科器械"),
    ("18", "妇产科、辅助生殖和避孕器械"),
    ("19", "医用康复器械"),
    ("20", "中医器械"),
    ("21", "医用软件"),
    ("22", "临床检验器械"),
]
# (check) typical practice: linac 10–12 y, CT/MR 8–10 y, monitors 5–8 y
MEDICAL_LIFE = {"05": (12, 8), "06": (10, 6), "07": (6, 5), "08": (8, 6), "22": (8, 5)}

RIDE_DAILY = ["运行前试运行", "安全压杠/安全带", "紧急停止按钮", "站台与围栏", "异常声响与振动"]
ROPEWAY_DAILY = ["钢丝绳外观", "驱动与制动", "抱索器", "站内安全设施", "通讯与广播"]
# items whose 异常 stops the device (inspections.services.record_self_check)
RIDE_CRITICAL = ["安全压杠/安全带", "紧急停止按钮"]
ROPEWAY_CRITICAL = ["钢丝绳外观", "驱动与制动", "抱索器"]

# Each template: kind, name, interval months, extras
PM = ("preventive_maintenance", "预防性维护", 6, {"statutory": False})
MEDICAL_TEMPLATES = [
    PM,
    ("metrology", "强制检定", 12, {"condition": "metrology"}),
    # 放射诊疗 (DOMAIN.md §4): 验收检测 once after installation (again after a major
    # repair), 状态检测 at least annually, 稳定性检测 as the institution's own regular check
    ("acceptance_test", "放射设备验收检测", None, {"condition": "radiation"}),
    ("radiation_test", "放射设备状态检测", 12, {"condition": "radiation"}),
    ("stability_test", "放射设备稳定性检测", 3,
     {"condition": "radiation", "statutory": False, "lead_days": 14}),
]

# code, name, name_en, parent, family, special code, design life, accounting life, templates
CATEGORIES: list[tuple] = [
    ("MED", "医疗设备", "Medical equipment", None, "medical", None, 8, 6, MEDICAL_TEMPLATES),
    *[
        (
            f"MED-{c}",
            f"{c} {n}",
            None,
            "MED",
            "medical",
            None,
            *MEDICAL_LIFE.get(c, (8, 6)),
            MEDICAL_TEMPLATES,
        )
        for c, n in MEDICAL_CATALOGUE
    ],
    ("EDU", "教学科研设备", "Teaching and research equipment", None, "teaching", None, 6, 5, []),
    (
        "EDU-LAB",
        "实验教学仪器",
        "Teaching lab instruments",
        "EDU",
        "teaching",
        None,
        8,
        5,
        [("preventive_maintenance", "年度维护校准", 12, {"statutory": False})],
    ),
    (
        "EDU-RES",
        "大型科研仪器",
        "Large research instruments",
        "EDU",
        "teaching",
        None,
        10,
        6,
        [("metrology", "计量校准", 12, {"statutory": False})],
    ),
    ("EDU-IT", "信息化教学设备", "Teaching IT equipment", "EDU", "teaching", None, 6, 6, []),
    (
        "EDU-TRAIN",
        "实训设备",
        "Vocational training equipment",
        "EDU",
        "teaching",
        None,
        10,
        10,
        [("preventive_maintenance", "年度维护", 12, {"statutory": False})],
    ),
    ("SE", "特种设备", "Special equipment", None, "special", None, 15, 10, []),
    (
        "SE-1000",
        "锅炉",
        "Boilers",
        "SE",
        "special",
        "1000",
        15,
        10,
        [
            ("external_inspection", "外部检验", 12, {}),
            ("internal_inspection", "内部检验", 24, {}),
        ],
    ),
    ("SE-2000", "压力容器", "Pressure vessels", "SE", "special", "2000", 20, 10, []),
    (
        "SE-2100",
        "固定式压力容器",
        "Fixed pressure vessels",
        "SE-2000",
        "special",
        "2100",
        20,
        10,
        [
            # interval follows the safety grade (1–2: 72 months; 3: 36–72, set by the inspector)
            ("periodic_inspection", "定期检验（全面检验）", 72, {"first_within_months": 36}),
            # the user unit's own annual check (TSG 21): overdue warns, it does not stop
            ("user_annual_check", "年度检查", 12, {"statutory": False}),
        ],
    ),
    (
        "SE-2200",
        "移动式压力容器",
        "Mobile pressure vessels",
        "SE-2000",
        "special",
        "2200",
        15,
        10,
        [("periodic_inspection", "定期检验", 12, {})],
    ),
    (
        "SE-2300",
        "气瓶",
        "Gas cylinders",
        "SE-2000",
        "special",
        "2300",
        8,
        8,
        [("periodic_inspection", "定期检验", 36, {})],
    ),
    (
        "SE-3000",
        "电梯",
        "Elevators",
        "SE",
        "special",
        "3000",
        15,
        10,
        [("annual_inspection", "定期检验（年度）", 12, {})],
    ),
    (
        "SE-4000",
        "起重机械",
        "Lifting machinery",
        "SE",
        "special",
        "4000",
        15,
        10,
        [("periodic_inspection", "定期检验", 24, {})],
    ),
    (
        "SE-5000",
        "场（厂）内专用机动车辆",
        "Field vehicles (sightseeing cars)",
        "SE",
        "special",
        "5000",
        8,
        8,
        [("annual_inspection", "定期检验（年度）", 12, {"conclusion_set": "vehicle"})],
    ),
    (
        "SE-6000",
        "大型游乐设施",
        "Large amusement rides",
        "SE",
        "special",
        "6000",
        15,
        10,
        [
            ("annual_inspection", "定期检验（年度）", 12, {}),
            (
                "daily_check",
                "日常安全检查",
                None,
                {
                    "interval_days": 1,
                    "lead_days": 0,
                    "statutory": False,
                    "conclusion_set": "check",
                    "checklist": RIDE_DAILY,
                    "critical_items": RIDE_CRITICAL,
                },
            ),
            (
                "monthly_check",
                "月度检查",
                1,
                {
                    "lead_days": 3,
                    "statutory": False,
                    "conclusion_set": "check",
                    "checklist": RIDE_DAILY,
                    "critical_items": RIDE_CRITICAL,
                },
            ),
        ],
    ),
    ("SE-7000", "压力管道元件", "Pressure piping components", "SE", "special", "7000", 15, 10, []),
    (
        "SE-8000",
        "压力管道",
        "Pressure piping",
        "SE",
        "special",
        "8000",
        20,
        10,
        [("periodic_inspection", "定期检验", 36, {})],
    ),
    (
        "SE-9000",
        "客运索道",
        "Passenger ropeways",
        "SE",
        "special",
        "9000",
        30,
        20,
        [
            ("annual_inspection", "年度检验", 12, {}),
            ("full_inspection", "全面检验", 36, {}),
            (
                "daily_check",
                "日常检查",
                None,
                {
                    "interval_days": 1,
                    "lead_days": 0,
                    "statutory": False,
                    "conclusion_set": "check",
                    "checklist": ROPEWAY_DAILY,
                    "critical_items": ROPEWAY_CRITICAL,
                },
            ),
            (
                "monthly_check",
                "月度检查",
                1,
                {
                    "lead_days": 3,
                    "statutory": False,
                    "conclusion_set": "check",
                    "checklist": ROPEWAY_DAILY,
                    "critical_items": ROPEWAY_CRITICAL,
                },
            ),
        ],
    ),
    (
        "SE-F000",
        "安全附件",
        "Safety accessories",
        "SE",
        "special",
        "F000",
        10,
        10,
        [("periodic_inspection", "校验", 12, {})],
    ),
    (
        "PERF",
        "演艺设备",
        "Performance equipment",
        None,
        "performance",
        None,
        10,
        8,
        [("preventive_maintenance", "年度维护", 12, {"statutory": False})],
    ),
    ("PERF-LIGHT", "舞台灯光", "Stage lighting", "PERF", "performance", None, 8, 6, []),
    ("PERF-SOUND", "音响设备", "Sound systems", "PERF", "performance", None, 8, 6, []),
    ("PERF-MACH", "舞台机械", "Stage machinery", "PERF", "performance", None, 15, 10, []),
    ("SPORT", "体育设备", "Sports equipment", None, "sports", None, 8, 8, []),
    (
        "SPORT-FIT",
        "全民健身器材",
        "Community fitness equipment",
        "SPORT",
        "sports",
        None,
        8,
        8,
        [("preventive_maintenance", "季度巡检", 3, {"statutory": False})],
    ),
    (
        "AMUSE",
        "小型游乐设备",
        "Small amusement equipment",
        None,
        "amusement",
        None,
        10,
        8,
        [("preventive_maintenance", "月度维护", 1, {"statutory": False})],
    ),
    ("GEN", "通用设备", "General equipment", None, "general", None, 6, 6, []),
    (
        "GEN-IT",
        "计算机及办公设备",
        "Computers and office equipment",
        "GEN",
        "general",
        None,
        6,
        6,
        [],
    ),
    ("GEN-VEH", "车辆", "Vehicles", "GEN", "general", None, 8, 8, []),
    ("GEN-MECH", "机械设备", "Machinery", "GEN", "general", None, 10, 10, []),
    # special-equipment sub-kinds (特种设备目录): their duties come from the kind above
    *[
        (code, name, en, parent, "special", special, life, acct, [])
        for code, name, en, parent, special, life, acct in (
            ("SE-1100", "承压蒸汽锅炉", "Steam boilers", "SE-1000", "1100", 15, 10),
            ("SE-1200", "承压热水锅炉", "Hot-water boilers", "SE-1000", "1200", 15, 10),
            ("SE-5100", "机动工业车辆", "Industrial trucks", "SE-5000", "5100", 8, 8),
            ("SE-5200", "非公路用旅游观光车辆", "Sightseeing cars", "SE-5000", "5200", 8, 8),
            ("SE-6100", "观览车类", "Observation wheels", "SE-6000", "6100", 15, 10),
            ("SE-6200", "滑行车类", "Roller coasters", "SE-6000", "6200", 15, 10),
            ("SE-6400", "陀螺类", "Gyros", "SE-6000", "6400", 15, 10),
            ("SE-6600", "转马类", "Carousels", "SE-6000", "6600", 15, 10),
            ("SE-6700", "自控飞机类", "Self-controlled aircraft rides", "SE-6000", "6700", 15, 10),
            ("SE-9110", "往复式客运架空索道", "Reversible aerial ropeways", "SE-9000", "9110", 30,
             20),
            ("SE-9120", "循环式客运架空索道", "Circulating aerial ropeways", "SE-9000", "9120", 30,
             20),
            ("SE-9200", "客运缆车", "Funiculars", "SE-9000", "9200", 30, 20),
        )
    ],
]


def seed_demo() -> None:
    existing = {c.code: c for c in db.session.scalars(select(Category))}
    for sort, row in enumerate(CATEGORIES):
        code, name, name_en, parent, family, special, life, acct, templates = row
        cat = existing.get(code)
        if cat is not None:
            continue  # the city admin may have edited it: keep their values
        cat = Category(
            code=code,
            name=name,
            name_en=name_en,
            family=family,
            special_code=special,
            is_special=family == "special",
            is_medical=family == "medical",
            design_life_years=life,
            accounting_life_years=acct,
            sort=sort,
            parent_id=existing[parent].id if parent else None,
        )
        db.session.add(cat)
        db.session.flush()
        existing[code] = cat
        for kind, tname, months, extra in templates:
            db.session.add(
                ObligationTemplate(
                    category_id=cat.id,
                    kind=kind,
                    name=tname,
                    interval_months=months,
                    **{"lead_days": 30, **extra},
                )
            )
    db.session.flush()
