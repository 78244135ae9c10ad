"""大型医用设备配置许可管理目录（2023年，国卫财务发〔2023〕7号）: which medical devices
need a configuration permit, and of which class (DOMAIN.md §4). CT and MR no longer do.

A device is recognised by its name (the catalogue lists device types, which the
register's sub-catalogues do not separate) or, for any other medical device, by its unit
price: 甲类 from 5000万, 乙类 from 3000万. One place for the rule: the asset form, the
asset page, the compliance page and the dashboards all ask it."""

from __future__ import annotations

import decimal

from sqlalchemy import and_, false, or_

CLASS_A, CLASS_B = "甲", "乙"
CLASSES = (CLASS_A, CLASS_B)

# (class, listed type, name keywords)
LISTED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (CLASS_A, "重离子放射治疗系统", ("重离子",)),
    (CLASS_A, "质子放射治疗系统", ("质子治疗", "质子放射")),
    (CLASS_A, "磁共振引导放射治疗系统", ("磁共振引导", "MR-Linac", "MR引导")),
    (CLASS_A, "射波刀", ("射波刀", "CyberKnife")),
    (CLASS_B, "PET/MR", ("PET/MR", "PET-MR", "PETMR")),
    (CLASS_B, "PET/CT", ("PET/CT", "PET-CT", "PETCT")),
    (CLASS_B, "腹腔镜手术机器人", ("手术机器人", "达芬奇")),
    (CLASS_B, "医用直线加速器", ("直线加速器",)),
    (CLASS_B, "螺旋断层放射治疗系统（TOMO）", ("TOMO", "螺旋断层")),
    (CLASS_B, "γ射线立体定向放射治疗系统（γ刀）", ("γ刀", "伽玛刀", "伽马刀")),
)
CLASS_A_FROM = decimal.Decimal("50000000")
CLASS_B_FROM = decimal.Decimal("30000000")


def listed(name: str | None, value, is_medical: bool) -> tuple[str, str] | None:
    """(class, listed type) when the device needs a configuration permit, else None."""
    if not is_medical:
        return None
    text = (name or "").upper()
    for permit_class, kind, words in LISTED:
        if any(word.upper() in text for word in words):
            return permit_class, kind
    if value is not None and decimal.Decimal(value) >= CLASS_A_FROM:
        return CLASS_A, "单价 5000 万元及以上的大型医疗器械"
    if value is not None and decimal.Decimal(value) >= CLASS_B_FROM:
        return CLASS_B, "单价 3000–5000 万元的大型医疗器械"
    return None


def listed_clause(name_column, value_column, medical_column):
    """The same rule as SQL over asset columns (for counts)."""
    words = [w for _c, _k, ws in LISTED for w in ws]
    by_name = or_(*(name_column.ilike(f"%{w}%") for w in words)) if words else false()
    return and_(medical_column.is_(True),
                or_(by_name, value_column >= CLASS_B_FROM))
