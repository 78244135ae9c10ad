"""Demo equipment for each Jincheng demo institution (idempotent; runs after catalog):
the hand-made devices below, which tests and the README name, then the generated
ledger of every institution (demo_ledger.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..catalog.models import Category
from ..extensions import db
from ..tenancy.models import Organisation
from ..tenancy.scope import Scope
from .demo_ledger import seed_ledger
from .models import Asset

D = dt.date

# org code → [(asset code, name, category, model, maker, department, location,
#             purchased, commissioned, value CNY, extra fields)]
DEMO: dict[str, list[tuple]] = {
    "rmyy": [
        ("RMYY-CT-2013-001", "64排螺旋CT", "MED-06", "Optima CT660", "GE医疗", "影像科",
         "门诊楼1层CT室", D(2013, 3, 10), D(2013, 5, 20), "8650000",
         {"device_class": "III", "catalogue_code": "06-03-01", "radiation": True}),
        ("RMYY-MR-2019-001", "3.0T磁共振成像系统", "MED-06", "MAGNETOM Prisma", "西门子医疗",
         "影像科", "医技楼1层MR室", D(2019, 8, 1), D(2019, 11, 15), "16800000",
         {"device_class": "III", "catalogue_code": "06-09-01"}),
        ("RMYY-DR-2021-001", "数字化X射线摄影系统（DR）", "MED-06", "uDR 780i", "联影医疗",
         "影像科", "门诊楼1层放射科", D(2021, 4, 2), D(2021, 5, 10), "1280000",
         {"device_class": "II", "catalogue_code": "06-01-03", "radiation": True}),
        ("RMYY-LA-2015-001", "医用电子直线加速器", "MED-05", "VitalBeam", "瓦里安",
         "放疗科", "放疗中心地下1层", D(2015, 6, 1), D(2015, 10, 8), "23500000",
         {"device_class": "III", "catalogue_code": "05-01-01", "radiation": True,
          "permit_no": "晋乙-2015-0012"}),
        ("RMYY-US-2018-001", "彩色多普勒超声诊断仪", "MED-06", "EPIQ 7", "飞利浦", "超声科",
         "门诊楼3层超声室", D(2018, 2, 6), D(2018, 3, 1), "1950000",
         {"device_class": "II", "catalogue_code": "06-07-02"}),
        *[
            (f"RMYY-JH-2020-00{i}", "多参数监护仪", "MED-07", "BeneVision N15", "迈瑞医疗",
             "重症医学科", f"住院部5层ICU {i}床", D(2020, 1, 6), D(2020, 2, 1), "98000",
             {"device_class": "II", "catalogue_code": "07-03-01", "metrology": True})
            for i in (1, 2, 3)
        ],
        ("RMYY-YLRQ-2004-001", "脉动真空灭菌器（压力容器）", "SE-2100", "XG1.DMD-1.2",
         "山东新华医疗器械", "消毒供应中心", "住院部地下1层", D(2004, 3, 1), D(2004, 4, 20),
         "420000", {"equipment_code": "210014023200400017", "registration_no": "容2100晋E0417",
                    "vessel_grade": 3}),
        ("RMYY-CQG-2009-001", "医用压缩空气储气罐", "SE-2100", "C-2.0/1.0", "晋城锅炉容器厂",
         "后勤保障部", "动力中心", D(2009, 7, 1), D(2009, 8, 1), "36000",
         {"equipment_code": "210021007200900103", "registration_no": "容2100晋E0903",
          "vessel_grade": 2}),
        ("RMYY-DT-2012-001", "住院部1号医用电梯", "SE-3000", "GeN2-MRL", "奥的斯电梯",
         "后勤保障部", "住院部", D(2012, 5, 1), D(2012, 9, 1), "560000",
         {"equipment_code": "311010032201200045", "registration_no": "梯3110晋E1203"}),
    ],
    "fybjy": [
        ("FYBJY-US-2016-001", "彩色多普勒超声诊断仪（妇产）", "MED-06", "Voluson E10", "GE医疗",
         "产科", "门诊2层", D(2016, 3, 1), D(2016, 4, 1), "1600000",
         {"device_class": "II", "catalogue_code": "06-07-02"}),
        ("FYBJY-JH-2022-001", "胎儿监护仪", "MED-07", "F9", "理邦仪器", "产科", "产房",
         D(2022, 5, 1), D(2022, 5, 20), "68000",
         {"device_class": "II", "catalogue_code": "07-03-02", "metrology": True}),
    ],
    "dsrmyy": [
        ("DSRMYY-CT-2011-001", "16排螺旋CT", "MED-06", "Brilliance 16", "飞利浦", "放射科",
         "医技楼1层", D(2011, 9, 1), D(2011, 12, 1), "4200000",
         {"device_class": "III", "catalogue_code": "06-03-01", "radiation": True}),
        ("DSRMYY-DR-2017-001", "数字化X射线摄影系统（DR）", "MED-06", "DigitalDiagnost",
         "飞利浦", "放射科", "医技楼1层", D(2017, 3, 1), D(2017, 4, 1), "1100000",
         {"device_class": "II", "catalogue_code": "06-01-03", "radiation": True}),
    ],
    "rjkf": [
        ("RJKF-KF-2019-001", "下肢康复机器人", "MED-19", "LokoHelp", "上海卓道", "康复科",
         "康复楼2层", D(2019, 6, 1), D(2019, 7, 1), "980000", {"device_class": "II"}),
    ],
    "gprmyy": [
        ("GPRMYY-CT-2014-001", "64排螺旋CT", "MED-06", "SOMATOM go.Top", "西门子医疗",
         "影像科", "医技楼", D(2014, 5, 1), D(2014, 8, 1), "7200000",
         {"device_class": "III", "catalogue_code": "06-03-01", "radiation": True}),
        ("GPRMYY-JH-2016-001", "多参数监护仪", "MED-07", "iMEC 12", "迈瑞医疗", "急诊科",
         "急诊抢救室", D(2016, 1, 1), D(2016, 1, 15), "45000",
         {"device_class": "II", "metrology": True}),
    ],
    "yxrmyy": [
        ("YXRMYY-DR-2012-001", "数字化X射线摄影系统（DR）", "MED-06", "Definium 6000", "GE医疗",
         "放射科", "门诊1层", D(2012, 2, 1), D(2012, 3, 1), "980000",
         {"device_class": "II", "radiation": True}),
    ],
    "sxkj": [
        ("SXKJ-SYS-2018-001", "扫描电子显微镜", "EDU-RES", "SU8010", "日立", "材料科学与工程学院",
         "实验楼B201", D(2018, 9, 1), D(2018, 11, 1), "3200000", {}),
        ("SXKJ-SYS-2012-002", "液相色谱-质谱联用仪", "EDU-RES", "6460", "安捷伦",
         "化学化工学院", "实验楼C305", D(2012, 6, 1), D(2012, 7, 1), "2150000", {}),
        ("SXKJ-JX-2016-001", "数字示波器（教学实验室）", "EDU-LAB", "DS1104Z", "普源精电",
         "电气工程学院", "实训楼401", D(2016, 3, 1), D(2016, 3, 20), "186000", {}),
    ],
    "zyjs": [
        ("ZYJS-SX-2015-001", "数控车床实训设备", "EDU-TRAIN", "CK6140", "沈阳机床",
         "机电工程系", "实训中心1层", D(2015, 8, 1), D(2015, 9, 1), "320000", {}),
        ("ZYJS-JX-2020-001", "PLC 综合实训台", "EDU-LAB", "THPFSL-2", "天煌教仪", "电气工程系",
         "实训中心3层", D(2020, 7, 1), D(2020, 8, 25), "86000", {}),
    ],
    "hcxf": [
        *[
            (f"HCXF-GGC-2017-00{i}", f"电动观光车 {i} 号", "SE-5000", "LQY142B", "绿通科技",
             "游客服务中心", "景区环线", D(2017, 4, 1), D(2017, 5, 1), "128000",
             {"equipment_code": f"5200446022017{i:05d}", "registration_no": f"车5200晋E0{i}17"})
            for i in (1, 2)
        ],
        ("HCXF-DT-2006-001", "御书楼观光电梯", "SE-3000", "GPS-III", "广州日立电梯", "工程部",
         "御书楼", D(2006, 3, 1), D(2006, 6, 1), "480000",
         {"equipment_code": "311010021200600008", "registration_no": "梯3110晋E0612"}),
        ("HCXF-DT-2020-002", "游客中心无障碍电梯", "SE-3000", "NexWay", "上海三菱电梯",
         "工程部", "游客中心", D(2020, 5, 1), D(2020, 7, 1), "360000",
         {"equipment_code": "311010015202000031", "registration_no": "梯3110晋E2007"}),
        ("HCXF-YL-2014-001", "自控飞机", "SE-6000", "ZKF-24", "中山金马科技", "游乐部",
         "相府欢乐园", D(2014, 4, 1), D(2014, 6, 1), "850000",
         {"equipment_code": "670010047201400002", "registration_no": "游6700晋E1406"}),
        ("HCXF-GL-2010-001", "燃气热水锅炉", "SE-1000", "WNS1.4-0.7/95/70-Q", "太原锅炉集团",
         "工程部", "锅炉房", D(2010, 9, 1), D(2010, 11, 1), "260000",
         {"equipment_code": "120014001201000011", "registration_no": "锅1200晋E1011"}),
    ],
    "wml": [
        ("WML-SD-2016-001", "王莽岭客运索道（脱挂抱索器吊厢式）", "SE-9000", "8MGD", "法国POMA",
         "索道公司", "王莽岭景区", D(2015, 10, 1), D(2016, 5, 1), "98000000",
         {"equipment_code": "912010001201600001", "registration_no": "索9120晋E1605"}),
        ("WML-SD-2005-002", "锡崖沟双线往复式索道", "SE-9000", "4S", "北京起重运输机械院",
         "索道公司", "锡崖沟", D(2004, 12, 1), D(2005, 7, 1), "23000000",
         {"equipment_code": "911010003200500002", "registration_no": "索9110晋E0507"}),
        ("WML-GGC-2019-001", "燃油观光车", "SE-5000", "LT-S14", "朗晴", "交通部",
         "景区盘山公路", D(2019, 4, 1), D(2019, 5, 1), "156000",
         {"equipment_code": "520046001201900004", "registration_no": "车5200晋E0419"}),
    ],
    "stxz": [
        ("STXZ-YL-2018-001", "旋转木马", "SE-6000", "XZM-36", "中山金马科技", "游乐部",
         "欢乐谷", D(2018, 3, 1), D(2018, 5, 1), "650000",
         {"equipment_code": "660010047201800011", "registration_no": "游6600晋E1805"}),
        ("STXZ-YL-2012-002", "摩天轮", "SE-6000", "MTL-42", "温州南方游艺", "游乐部",
         "欢乐谷", D(2012, 4, 1), D(2012, 7, 1), "4800000",
         {"equipment_code": "610010088201200003", "registration_no": "游6100晋E1207"}),
        ("STXZ-YY-2021-001", "演艺中心舞台灯光系统", "PERF-LIGHT", "定制", "浙江大丰",
         "演艺部", "司徒小镇大剧场", D(2021, 5, 1), D(2021, 6, 1), "2300000", {}),
    ],
    "tyc": [
        ("TYC-JS-2015-001", "室外健身路径（12件套）", "SPORT-FIT", "JS-12", "舒华体育",
         "场馆部", "体育场东广场", D(2015, 5, 1), D(2015, 6, 1), "86000", {}),
        ("TYC-JS-2022-002", "智能健身驿站器材", "SPORT-FIT", "ZN-08", "英派斯", "场馆部",
         "体育场北门", D(2022, 8, 1), D(2022, 9, 1), "240000", {}),
        ("TYC-DT-2008-001", "看台电梯", "SE-3000", "GPS-CR", "广州日立电梯", "工程部",
         "主看台", D(2008, 5, 1), D(2008, 8, 1), "420000",
         {"equipment_code": "311010021200800019", "registration_no": "梯3110晋E0808"}),
    ],
}


def seed_demo() -> None:
    from .services import create_asset

    scope = Scope.system()
    orgs = {o.code: o.id for o in db.session.scalars(select(Organisation))}
    cats = {c.code: c.id for c in db.session.scalars(select(Category))}
    existing = {tuple(r) for r in db.session.execute(select(Asset.org_id, Asset.asset_code))}
    for org_code, rows in DEMO.items():
        org_id = orgs.get(org_code)
        if org_id is None:
            continue
        for row in rows:
            code, name, cat, model, maker, dept, location, bought, started, value, extra = row
            if (org_id, code) in existing:
                continue
            data = {
                "asset_code": code,
                "name": name,
                "category_id": cats[cat],
                "model": model,
                "manufacturer": maker,
                "serial_no": f"SN{code.replace('-', '')[-10:]}",
                "department": dept,
                "location": location,
                "purchase_date": bought,
                "commissioned_on": started,
                "original_value": value,
                "funding_source": "local_fiscal",
                **extra,
            }
            create_asset(scope, data, org_id=org_id)
    db.session.flush()
    seed_ledger()
    db.session.flush()
