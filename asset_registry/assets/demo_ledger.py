"""The generated part of the Jincheng demo: a believable ledger for every institution the
city plan names (晋市政发〔2024〕12号 tasks 五–七), about 2,700 assets in all.

Deterministic: each institution's rows come from a random generator seeded with its
code, and dates are fixed years (not relative to today), so every run writes the same
ledger. Written set-based (one executemany per table, audit rows in bulk), then the
default duties (inspections.services.create_default_obligations); the inspection
histories that give every safety state are the inspections seed's work.

Special equipment carries a 设备代码 whose kind code is the 特种设备目录 品种 of the
device (3110 曳引驱动乘客电梯, 9120 循环式客运架空索道, 5200 非公路用旅游观光车辆, …);
medical devices a 医疗器械分类目录 code under their sub-catalogue.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import select

from .. import clock
from ..bulk import audit_many, insert_many, reserve_ids
from ..catalog.models import Category
from ..extensions import db
from .models import Asset, AssetStatus, StatusChange
from .services import add_years, new_token

# Marks the generated rows in the asset code: ORG-G-<kind>-<n>
GENERATED = "-G-"

# kind → (name, category, [(model, maker)], [departments], (low, high) value in yuan, extra)
# extra: medical fields, or for special equipment {"kind": 品种 code, "reg": 登记证 prefix}
KINDS: dict[str, tuple] = {
    # imaging and radiotherapy
    "CT": ("螺旋CT", "MED-06", [("uCT 760", "联影医疗"), ("Revolution ACT", "GE医疗"),
                                ("SOMATOM go.Top", "西门子医疗"), ("NeuViz 128", "东软医疗")],
           ["影像科", "放射科"], (2_800_000, 9_500_000),
           {"device_class": "III", "catalogue_code": "06-03-01", "radiation": True}),
    "MR": ("磁共振成像系统", "MED-06", [("uMR 780", "联影医疗"), ("SIGNA Voyager", "GE医疗"),
                                      ("MAGNETOM Amira", "西门子医疗")],
           ["影像科"], (6_000_000, 16_000_000),
           {"device_class": "III", "catalogue_code": "06-09-01"}),
    "DR": ("数字化X射线摄影系统（DR）", "MED-06", [("uDR 596i", "联影医疗"),
                                               ("DigitalDiagnost C90", "飞利浦"),
                                               ("NeuVision 650", "东软医疗")],
           ["放射科", "影像科", "体检中心"], (650_000, 1_600_000),
           {"device_class": "II", "catalogue_code": "06-01-03", "radiation": True}),
    "DSA": ("数字减影血管造影系统（DSA）", "MED-06", [("Artis zee", "西门子医疗"),
                                                 ("Azurion 7", "飞利浦")],
            ["介入科", "心血管内科"], (6_500_000, 12_000_000),
            {"device_class": "III", "catalogue_code": "06-01-06", "radiation": True}),
    "MG": ("乳腺X射线摄影系统", "MED-06", [("Senographe Pristina", "GE医疗"),
                                        ("MAMMOMAT Revelation", "西门子医疗")],
           ["放射科", "乳腺外科"], (1_200_000, 2_800_000),
           {"device_class": "II", "catalogue_code": "06-01-04", "radiation": True}),
    "US": ("彩色多普勒超声诊断仪", "MED-06", [("Resona 7", "迈瑞医疗"), ("EPIQ 5", "飞利浦"),
                                          ("LOGIQ E10", "GE医疗"), ("Aixplorer", "声科影像")],
           ["超声科", "心内科", "产科", "体检中心"], (600_000, 2_200_000),
           {"device_class": "II", "catalogue_code": "06-07-02"}),
    "NJ": ("电子内镜系统", "MED-06", [("EVIS X1", "奥林巴斯"), ("ELUXEO 7000", "富士胶片")],
           ["消化内科", "内镜中心"], (900_000, 2_400_000),
           {"device_class": "II", "catalogue_code": "06-14-01"}),
    "LA": ("医用电子直线加速器", "MED-05",
           [("VitalBeam", "瓦里安"), ("uRT-linac 506c", "联影医疗")],
           ["放疗科"], (18_000_000, 26_000_000),
           {"device_class": "III", "catalogue_code": "05-01-01", "radiation": True}),
    # monitoring, life support, therapy
    "JH": ("多参数监护仪", "MED-07",
           [("BeneVision N12", "迈瑞医疗"), ("IntelliVue MX450", "飞利浦"), ("iM8", "理邦仪器")],
           ["重症医学科", "急诊科", "心内科", "麻醉科", "神经内科"], (38_000, 120_000),
           {"device_class": "II", "catalogue_code": "07-03-01", "metrology": True}),
    "XDT": ("十二道心电图机", "MED-07", [("BeneHeart R12", "迈瑞医疗"), ("ECG-1250", "光电")],
            ["心电图室", "急诊科", "体检中心"], (20_000, 60_000),
            {"device_class": "II", "catalogue_code": "07-03-03", "metrology": True}),
    "CC": ("除颤监护仪", "MED-08", [("BeneHeart D6", "迈瑞医疗"), ("HeartStart XL+", "飞利浦")],
           ["急诊科", "重症医学科", "心内科"], (60_000, 150_000),
           {"device_class": "III", "catalogue_code": "08-04-01", "metrology": True}),
    "HXJ": ("呼吸机", "MED-08", [("SV800", "迈瑞医疗"), ("Hamilton C3", "哈美顿"),
                               ("Servo-i", "迈柯唯")],
            ["重症医学科", "呼吸与危重症医学科", "急诊科"], (180_000, 420_000),
            {"device_class": "III", "catalogue_code": "08-01-01"}),
    "MZJ": ("麻醉机", "MED-08", [("WATO EX-65", "迈瑞医疗"), ("Aisys CS2", "GE医疗")],
            ["麻醉科"], (260_000, 680_000),
            {"device_class": "III", "catalogue_code": "08-02-01"}),
    "TX": ("血液透析机", "MED-10", [("4008S", "费森尤斯"), ("Dialog+", "贝朗")],
           ["肾内科血液净化中心"], (160_000, 260_000),
           {"device_class": "III", "catalogue_code": "10-04-01"}),
    "MJ": ("脉动真空清洗消毒灭菌器", "MED-11", [("XG1.DMD", "山东新华医疗器械")],
           ["消毒供应中心"], (260_000, 520_000),
           {"device_class": "II", "catalogue_code": "11-01-01"}),
    "BC": ("电动病床", "MED-15", [("DB-III", "八乐梦"), ("A5", "迈柯唯")],
           ["重症医学科", "骨科", "神经外科", "康复科"], (18_000, 45_000),
           {"device_class": "I", "catalogue_code": "15-01-01"}),
    "KF": ("康复训练设备", "MED-19", [("A200", "璟和"), ("ArmMotus M2", "傅利叶智能")],
           ["康复科"], (80_000, 600_000), {"device_class": "II", "catalogue_code": "19-01-01"}),
    # the laboratory
    "SH": ("全自动生化分析仪", "MED-22", [("BS-2000M", "迈瑞医疗"), ("AU5800", "贝克曼库尔特"),
                                      ("cobas c 702", "罗氏诊断")],
           ["检验科"], (800_000, 2_600_000),
           {"device_class": "II", "catalogue_code": "22-04-01"}),
    "XXB": ("全自动血细胞分析仪", "MED-22", [("BC-7500", "迈瑞医疗"), ("XN-1000", "希森美康")],
            ["检验科", "急诊检验"], (260_000, 980_000),
            {"device_class": "II", "catalogue_code": "22-03-01"}),
    "PCR": ("实时荧光定量PCR仪", "MED-22", [("SLAN-96P", "宏石医疗"), ("QuantStudio 5", "赛默飞")],
            ["检验科分子诊断实验室"], (180_000, 520_000),
            {"device_class": "I", "catalogue_code": "22-11-01"}),
    # hospital buildings and services
    "PC": ("办公电脑", "GEN-IT", [("启天 M455", "联想"), ("OptiPlex 7010", "戴尔")],
           ["信息中心", "门诊部", "住院部", "财务科", "医务科"], (4_500, 7_500), {}),
    "JHC": ("救护车", "GEN-VEH", [("V348", "江铃福特"), ("Sprinter", "奔驰")],
            ["急诊科"], (280_000, 650_000), {}),
    "DT": ("病床电梯", "SE-3000", [("GeN2-MRL", "奥的斯电梯"), ("NexWay", "上海三菱电梯"),
                                 ("3300AP", "迅达电梯")],
           ["后勤保障部"], (320_000, 620_000), {"kind": "3110", "reg": "梯"}),
    "FT": ("自动扶梯", "SE-3000", [("GS8000", "日立电梯"), ("9300AE", "迅达电梯")],
           ["后勤保障部"], (280_000, 460_000), {"kind": "3310", "reg": "梯"}),
    "ZQGL": ("燃气蒸汽锅炉", "SE-1000", [("WNS4-1.25-Q", "太原锅炉集团"),
                                      ("WNS2-1.0-Y.Q", "郑锅股份")],
             ["后勤保障部"], (380_000, 980_000), {"kind": "1100", "reg": "锅"}),
    "RSGL": ("燃气热水锅炉", "SE-1000", [("WNS1.4-0.7/95/70-Q", "太原锅炉集团")],
             ["后勤保障部", "工程部"], (220_000, 520_000), {"kind": "1200", "reg": "锅"}),
    "CQG": ("储气罐", "SE-2100", [("C-2.0/1.0", "晋城锅炉容器厂"), ("C-1.0/0.8", "开山股份")],
            ["后勤保障部", "动力中心"], (18_000, 60_000), {"kind": "2170", "reg": "容"}),
    "YY": ("医用液氧储罐", "SE-2100", [("CFL-10/0.8", "查特深冷"), ("CFL-5/0.8", "四川空分")],
           ["后勤保障部"], (160_000, 380_000), {"kind": "2150", "reg": "容"}),
    # teaching and research
    "SBQ": ("数字示波器", "EDU-LAB", [("DS1104Z", "普源精电"), ("TBS1102C", "泰克")],
            ["电子信息实验室", "电气实验室", "物理实验室"], (3_500, 18_000), {}),
    "XHY": ("函数信号发生器", "EDU-LAB", [("DG1032Z", "普源精电"), ("SDG1032X", "鼎阳")],
            ["电子信息实验室", "电气实验室"], (2_800, 9_000), {}),
    "DG": ("电工电子实训台", "EDU-LAB", [("THETDG-1", "天煌教仪"), ("DLDG-DT01", "德力")],
           ["电工实训室", "电气实验室"], (18_000, 46_000), {}),
    "HX": ("化学实验通风柜", "EDU-LAB", [("TFG-1500", "实验家具厂")],
           ["化学实验室"], (12_000, 26_000), {}),
    "DNS": ("学生机房电脑", "EDU-IT", [("启天 M437", "联想"), ("清华同方 超翔", "同方")],
            ["计算机机房", "公共机房"], (3_800, 6_200), {}),
    "YTJ": ("多媒体教学一体机", "EDU-IT", [("C86", "希沃"), ("ET86", "鸿合")],
            ["教务处", "多媒体教室"], (9_000, 22_000), {}),
    "SKC": ("数控车床", "EDU-TRAIN", [("CK6140", "沈阳机床"), ("CAK6150", "大连机床")],
            ["机电实训中心", "数控实训车间"], (120_000, 360_000), {}),
    "JQR": ("工业机器人实训工作站", "EDU-TRAIN", [("IRB 1200", "ABB"), ("ER7-C10", "埃斯顿")],
            ["智能制造实训中心"], (160_000, 420_000), {}),
    "QC": ("汽车发动机拆装实训台", "EDU-TRAIN", [("FDJ-EA211", "中德诺浩")],
           ["汽车实训中心"], (38_000, 96_000), {}),
    "HJ": ("焊接实训设备", "EDU-TRAIN", [("NB-350", "瑞凌"), ("WSME-315", "时代焊机")],
           ["焊接实训车间"], (9_000, 32_000), {}),
    "QZJ": ("电动单梁起重机", "SE-4000", [("LD5-16.5", "河南卫华")],
            ["数控实训车间", "机电实训中心"], (60_000, 140_000), {"kind": "4110", "reg": "起"}),
    "SEM": ("扫描电子显微镜", "EDU-RES", [("SU5000", "日立"), ("Sigma 300", "蔡司")],
            ["材料科学与工程学院"], (1_800_000, 3_600_000), {}),
    "XRD": ("X射线衍射仪", "EDU-RES", [("D8 ADVANCE", "布鲁克"), ("SmartLab", "理学")],
            ["化学化工学院", "材料科学与工程学院"], (1_200_000, 2_600_000), {}),
    "GC": ("气相色谱仪", "EDU-RES", [("GC-2030", "岛津"), ("8890", "安捷伦")],
           ["化学化工学院", "分析测试中心"], (220_000, 520_000), {}),
    "XC": ("校车", "GEN-VEH", [("ZK6809DX", "宇通")], ["后勤管理处"], (420_000, 680_000), {}),
    # culture, tourism and sports
    "SD": ("客运索道", "SE-9000", [("8MGD", "法国POMA"), ("GD8", "意大利莱特纳")],
           ["索道公司"], (38_000_000, 96_000_000), {"kind": "9120", "reg": "索"}),
    "LC": ("客运缆车", "SE-9000", [("FUN-120", "北京起重运输机械院")],
           ["索道公司"], (12_000_000, 26_000_000), {"kind": "9200", "reg": "索"}),
    "MTL": ("摩天轮", "SE-6000", [("MTL-42", "温州南方游艺")],
            ["游乐部"], (3_200_000, 6_000_000), {"kind": "6100", "reg": "游"}),
    "GSC": ("过山车", "SE-6000", [("SLC-689", "中山金马科技")],
            ["游乐部"], (4_800_000, 9_800_000), {"kind": "6200", "reg": "游"}),
    "XZMM": ("旋转木马", "SE-6000", [("XZM-36", "中山金马科技"), ("XZM-24", "温州南方游艺")],
             ["游乐部"], (380_000, 860_000), {"kind": "6600", "reg": "游"}),
    "ZKFJ": ("自控飞机", "SE-6000", [("ZKF-24", "中山金马科技")],
             ["游乐部"], (520_000, 980_000), {"kind": "6700", "reg": "游"}),
    "TL": ("陀螺", "SE-6000", [("TL-24", "温州南方游艺")],
           ["游乐部"], (420_000, 760_000), {"kind": "6400", "reg": "游"}),
    "GGC": ("电动观光车", "SE-5000", [("LT-S14", "朗晴"), ("LQY142B", "绿通科技")],
            ["游客服务中心", "交通部"], (98_000, 168_000), {"kind": "5200", "reg": "车"}),
    "GDT": ("观光电梯", "SE-3000", [("GPS-III", "广州日立电梯"), ("NexWay", "上海三菱电梯")],
            ["工程部"], (360_000, 620_000), {"kind": "3110", "reg": "梯"}),
    "WTDG": ("舞台灯光系统", "PERF-LIGHT", [("定制", "浙江大丰"), ("Pointe", "ROBE")],
             ["演艺部"], (180_000, 2_400_000), {}),
    "YX": ("专业音响系统", "PERF-SOUND", [("K2", "L-Acoustics"), ("VTX A12", "JBL")],
           ["演艺部"], (160_000, 1_800_000), {}),
    "WTJX": ("舞台机械", "PERF-MACH", [("升降台", "浙江大丰")],
             ["演艺部"], (600_000, 3_800_000), {}),
    "XYL": ("儿童游乐设备", "AMUSE", [("BL-12", "温州南方游艺")],
            ["游乐部"], (40_000, 180_000), {}),
    "JBC": ("景区接驳车", "GEN-VEH", [("ZK6729D", "宇通")], ["交通部"], (260_000, 480_000), {}),
    "JS": ("室外健身器材", "SPORT-FIT", [("JS-12", "舒华体育"), ("ZN-08", "英派斯")],
           ["场馆部"], (6_000, 48_000), {}),
    "DP": ("LED计分显示屏", "GEN-IT", [("P6", "洲明科技")], ["场馆部"], (180_000, 880_000), {}),
}

HOSPITAL = {
    "CT": 3, "MR": 2, "DR": 5, "DSA": 1, "MG": 1, "US": 14, "NJ": 4, "JH": 60, "XDT": 12,
    "CC": 8, "HXJ": 14, "MZJ": 8, "TX": 10, "MJ": 3, "BC": 40, "KF": 4, "SH": 5, "XXB": 6,
    "PCR": 2, "PC": 60, "JHC": 4, "DT": 8, "FT": 2, "ZQGL": 1, "CQG": 3, "YY": 1,
}
COLLEGE = {
    "SBQ": 20, "XHY": 14, "DG": 12, "HX": 8, "DNS": 40, "YTJ": 20, "SKC": 6, "JQR": 3,
    "QC": 4, "HJ": 10, "QZJ": 1, "SEM": 1, "XRD": 1, "GC": 3, "XC": 2, "DT": 3, "RSGL": 1,
    "CQG": 1,
}
# org code → (profile, scale, extra rows {kind: count})
INSTITUTIONS: dict[str, tuple[dict, float, dict]] = {
    "rmyy": (HOSPITAL, 1.5, {"LA": 2}),
    "fybjy": (HOSPITAL, 0.6, {}),
    "dsrmyy": (HOSPITAL, 0.6, {}),
    "rjkf": (HOSPITAL, 0.35, {"KF": 8}),
    "gprmyy": (HOSPITAL, 0.65, {}),
    "yxrmyy": (HOSPITAL, 0.6, {}),
    "zzrmyy": (HOSPITAL, 0.6, {}),
    "lcrmyy": (HOSPITAL, 0.45, {}),
    "qsrmyy": (HOSPITAL, 0.45, {}),
    "cqrmyy": (HOSPITAL, 0.5, {}),
    "sxkj": (COLLEGE, 2.0, {"SEM": 1, "XRD": 1, "GC": 3}),
    "zyjs": (COLLEGE, 1.2, {}),
    "zzxx": (COLLEGE, 0.7, {}),
    "jsxy": (COLLEGE, 0.9, {"SKC": 4, "HJ": 6}),
    "hcxf": ({"GGC": 12, "GDT": 2, "RSGL": 2, "ZKFJ": 1, "XZMM": 1, "XYL": 6, "WTDG": 4,
              "YX": 3, "JBC": 6, "PC": 16}, 1.0, {}),
    "wml": ({"SD": 1, "LC": 1, "GGC": 10, "JBC": 8, "RSGL": 1, "PC": 12}, 1.0, {}),
    "stxz": ({"MTL": 1, "GSC": 1, "XZMM": 1, "ZKFJ": 1, "TL": 1, "XYL": 8, "GGC": 6,
              "WTDG": 6, "YX": 4, "WTJX": 2, "GDT": 1, "PC": 14}, 1.0, {}),
    "tyc": ({"JS": 30, "DP": 2, "DT": 2, "WTDG": 3, "YX": 2, "PC": 8}, 1.0, {}),
}
LOCATIONS = {
    "medical": ["门诊楼{f}层", "医技楼{f}层", "住院部{f}层", "急诊楼{f}层"],
    "special": ["动力中心", "住院部", "门诊楼", "锅炉房", "教学楼", "景区"],
    "other": ["{f}号楼{f}0{r}室", "实训楼{f}层", "综合楼{f}层"],
}
FUNDING = ["local_fiscal"] * 6 + ["self_funded"] * 3 + ["central_budget", "special_bonds"]
FIRST_YEAR, LAST_YEAR = 2004, 2023  # fixed, so every run writes the same ledger


def _rows_for(org_code: str, org_id: int, cats: dict[str, Category]) -> list[dict]:
    profile, scale, extra = INSTITUTIONS[org_code]
    rng = random.Random(f"jincheng-demo-{org_code}")
    counts = {kind: max(1, round(n * scale)) for kind, n in profile.items()}
    for kind, n in extra.items():
        counts[kind] = counts.get(kind, 0) + n
    rows = []
    for kind, count in counts.items():
        name, cat_code, models, departments, (low, high), fields = KINDS[kind]
        category = cats[cat_code]
        special = {k: v for k, v in fields.items() if k in ("kind", "reg")}
        medical = {k: v for k, v in fields.items() if k not in ("kind", "reg")}
        for n in range(1, count + 1):
            model, maker = rng.choice(models)
            year = rng.randint(FIRST_YEAR, LAST_YEAR)
            started = dt.date(year, rng.randint(1, 12), rng.randint(1, 28))
            bought = started - dt.timedelta(days=rng.randint(10, 90))
            value = Decimal(rng.randint(low // 100, high // 100) * 100)
            family = "special" if category.is_special else (
                "medical" if category.is_medical else "other")
            place = rng.choice(LOCATIONS[family]).format(f=rng.randint(1, 6), r=rng.randint(1, 9))
            status = AssetStatus.IN_SERVICE.value
            roll = rng.random()
            if roll < 0.015:
                status = AssetStatus.IDLE.value
            elif roll < 0.03:
                status = AssetStatus.UNDER_REPAIR.value
            row = {
                "org_id": org_id,
                "asset_code": f"{org_code.upper()}{GENERATED}{kind}-{n:04d}",
                "name": name if count == 1 else f"{name}（{n}号）",
                "category_id": category.id,
                "model": model,
                "manufacturer": maker,
                "serial_no": f"{maker[:1]}{year % 100:02d}{rng.randint(10000, 99999)}",
                "department": rng.choice(departments),
                "location": place,
                "purchase_date": bought,
                "commissioned_on": started,
                "design_life_years": category.design_life_years,
                "accounting_life_years": category.accounting_life_years,
                "design_life_end": add_years(started, category.design_life_years)
                if category.design_life_years else None,
                "original_value": value,
                "funding_source": rng.choice(FUNDING),
                "status": status,
                "is_special": category.is_special,
                "special_code": category.special_code if category.is_special else None,
                "equipment_code": None,
                "registration_no": None,
                "vessel_grade": None,
                "device_class": None,
                "catalogue_code": None,
                "radiation": False,
                "metrology": False,
            }
            if special:
                made = year - rng.randint(0, 1)
                maker_code = 10000 + sum(map(ord, maker)) % 80000
                row["equipment_code"] = (
                    f"{special['kind']}{maker_code:05d}{made}{rng.randint(1, 9999):05d}"
                )
                number = rng.randint(1, 99999)
                row["registration_no"] = f"{special['reg']}{special['kind']}晋E{number:05d}"
                if cat_code == "SE-2100":
                    row["vessel_grade"] = rng.choice((1, 2, 2, 2, 3))
            if category.is_medical:
                row.update(medical)
            rows.append(row)
    return rows


def seed_ledger() -> list[int]:
    """Write the generated ledger of every demo institution that has none yet; returns
    the new asset ids (their default duties are created here too)."""
    from ..inspections import services as inspections
    from ..tenancy.models import Organisation

    orgs = {
        code: org_id
        for code, org_id in db.session.execute(
            select(Organisation.code, Organisation.id).where(
                Organisation.code.in_(sorted(INSTITUTIONS))
            )
        )
    }
    done = set(
        db.session.scalars(
            select(Asset.org_id).where(Asset.asset_code.like(f"%{GENERATED}%")).distinct()
        )
    )
    cats = {c.code: c for c in db.session.scalars(select(Category))}
    rows = [
        row
        for code, org_id in orgs.items()
        if org_id not in done
        for row in _rows_for(code, org_id, cats)
    ]
    if not rows:
        return []
    session = db.session
    connection = session.connection()
    now = clock.utcnow_naive()
    ids = reserve_ids(connection, Asset.__table__, len(rows))
    keys = ["id", *rows[0], "qr_token", "created_at", "updated_at"]
    insert_many(
        connection,
        Asset.__table__,
        keys,
        [(i, *row.values(), new_token(), now, now) for i, row in zip(ids, rows, strict=True)],
    )
    change_ids = reserve_ids(connection, StatusChange.__table__, len(rows))
    insert_many(
        connection,
        StatusChange.__table__,
        ["id", "org_id", "asset_id", "at", "from_status", "to_status", "reason"],
        [
            (cid, row["org_id"], i, now, None, row["status"], "登记入账")  # stored data
            for cid, i, row in zip(change_ids, ids, rows, strict=True)
        ],
    )
    audit_many(
        session,
        [
            {
                "org_id": row["org_id"],
                "entity": "asset",
                "entity_id": i,
                "action": "create",
                "changes": {"before": {}, "after": _audit_after(row)},
            }
            for i, row in zip(ids, rows, strict=True)
        ],
    )
    inspections.create_default_obligations(ids)
    return ids


def _audit_after(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if value is None:
            continue
        if isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        out[key] = value
    return out
