"""The words real ledgers use for the register's values, and the lookup built from them.

Built in: funding sources and statuses as finance and equipment offices write them,
categories by their common names (医用X射线设备 → 06 医用成像器械) and codes of the
national classifications. The `import_synonym` table holds the same words (seeded
from here) plus whatever the city admin adds; an organisation's own mapping
(`ImportMapping.values`) comes on top. Every lookup is on the normalised form:
full-width and half-width brackets, spaces, digits and letters are one.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from ..extensions import db
from .values import normalise_text

# field → {ledger word: target}; funding_source/status targets are enum codes,
# category targets are category codes of the tree (catalog/seed.py).
FUNDING_SOURCE = {
    "自筹": "self_funded",
    "自筹资金": "self_funded",
    "单位自筹资金": "self_funded",
    "单位自有资金": "self_funded",
    "自有资金": "self_funded",
    "单位自筹": "self_funded",
    "事业收入": "self_funded",
    "医院自筹": "self_funded",
    "学校自筹": "self_funded",
    "财政拨款": "local_fiscal",
    "财政资金": "local_fiscal",
    "财政补助": "local_fiscal",
    "财政补助资金": "local_fiscal",
    "地方财政": "local_fiscal",
    "本级财政": "local_fiscal",
    "市级财政": "local_fiscal",
    "县级财政": "local_fiscal",
    "省级财政": "local_fiscal",
    "财政": "local_fiscal",
    "国债": "special_bonds",
    "特别国债": "special_bonds",
    "超长期国债": "special_bonds",
    "超长期特别国债资金": "special_bonds",
    "专项债": "local_special_bonds",
    "专项债券": "local_special_bonds",
    "地方专项债": "local_special_bonds",
    "政府专项债": "local_special_bonds",
    "中央预算内": "central_budget",
    "中央预算内资金": "central_budget",
    "中央投资": "central_budget",
    "更新贷款": "renewal_loan",
    "设备更新贷款": "renewal_loan",
    "贴息贷款": "renewal_loan",
    "再贷款": "relending",
    "技改再贷款": "relending",
}
STATUS = {
    "使用中": "in_service",
    "正常": "in_service",
    "正常使用": "in_service",
    "在用": "in_service",
    "使用": "in_service",
    "闲置": "idle",
    "封存": "idle",
    "备用": "idle",
    "未使用": "idle",
    "维修": "under_repair",
    "维修中": "under_repair",
    "故障": "under_repair",
    "待修": "under_repair",
    "送修": "under_repair",
    "停用": "stopped",
    "停止使用": "stopped",
    "待报废": "awaiting_disposal",
    "待处置": "awaiting_disposal",
    "拟报废": "awaiting_disposal",
    "报废": "disposed",
    "已报废": "disposed",
    "已处置": "disposed",
    "处置": "disposed",
}
CATEGORY = {
    # 医疗器械分类目录: common names of devices → the sub-catalogue
    "医用X射线设备": "MED-06",
    "X射线设备": "MED-06",
    "X光机": "MED-06",
    "DR": "MED-06",
    "CT": "MED-06",
    "核磁共振": "MED-06",
    "磁共振": "MED-06",
    "MRI": "MED-06",
    "超声诊断设备": "MED-06",
    "彩超": "MED-06",
    "B超": "MED-06",
    "医学影像设备": "MED-06",
    "影像设备": "MED-06",
    "监护仪": "MED-07",
    "心电图机": "MED-07",
    "监护设备": "MED-07",
    "呼吸机": "MED-08",
    "麻醉机": "MED-08",
    "除颤仪": "MED-08",
    "急救设备": "MED-08",
    "加速器": "MED-05",
    "直线加速器": "MED-05",
    "放疗设备": "MED-05",
    "血液透析机": "MED-10",
    "透析机": "MED-10",
    "消毒灭菌设备": "MED-11",
    "灭菌器": "MED-11",
    "检验设备": "MED-22",
    "生化分析仪": "MED-22",
    "临床检验设备": "MED-22",
    "手术设备": "MED-01",
    "电刀": "MED-01",
    "眼科设备": "MED-16",
    "口腔设备": "MED-17",
    "牙科综合治疗台": "MED-17",
    "康复设备": "MED-19",
    "理疗设备": "MED-09",
    "医疗设备": "MED",
    "医疗器械": "MED",
    # 特种设备目录: names as registration certificates and ledgers write them
    "厂内机动车辆": "SE-5000",
    "场内机动车辆": "SE-5000",
    "场(厂)内机动车辆": "SE-5000",
    "观光车": "SE-5000",
    "叉车": "SE-5000",
    "游乐设施": "SE-6000",
    "索道": "SE-9000",
    "升降机": "SE-3000",
    "直梯": "SE-3000",
    "扶梯": "SE-3000",
    "自动扶梯": "SE-3000",
    "乘客电梯": "SE-3000",
    "载货电梯": "SE-3000",
    "起重机": "SE-4000",
    "压力容器": "SE-2000",
    "储气罐": "SE-2100",
    "气瓶": "SE-2300",
    # GB/T 14885-2022 (固定资产分类与代码), the first levels finance ledgers use
    "A02": "GEN",
    "设备": "GEN",
    "通用设备": "GEN",
    "A0201": "GEN-IT",
    "计算机设备": "GEN-IT",
    "办公设备": "GEN-IT",
    "A0203": "GEN-VEH",
    "车辆": "GEN-VEH",
    "机动车": "GEN-VEH",
    "专用设备": "GEN-MECH",
    "机械设备": "GEN-MECH",
    "A0232": "MED",
    "医疗设备及器械": "MED",
    "教学仪器": "EDU-LAB",
    "教学设备": "EDU",
    "实验设备": "EDU-LAB",
    "科研仪器": "EDU-RES",
    "实训设备": "EDU-TRAIN",
    "舞台灯光设备": "PERF-LIGHT",
    "灯光设备": "PERF-LIGHT",
    "音响": "PERF-SOUND",
    "体育器材": "SPORT",
    "健身器材": "SPORT-FIT",
}
BUILT_IN: dict[str, dict[str, str]] = {
    "funding_source": FUNDING_SOURCE,
    "status": STATUS,
    "category": CATEGORY,
}
FIELDS = tuple(BUILT_IN)


def synonym_key(text: object) -> str:
    """The form every lookup compares: half-width, no spaces, case-folded."""
    return "".join((normalise_text(text) or "").split()).casefold()


def synonyms(field: str) -> dict[str, str]:
    """{normalised ledger word: target} for one field: built in, then the table's rows
    (the city admin's words win over the built-in ones)."""
    from .models import ImportSynonym

    words = {synonym_key(text): target for text, target in BUILT_IN.get(field, {}).items()}
    rows = db.session.execute(
        select(ImportSynonym.text, ImportSynonym.target).where(ImportSynonym.field == field)
    )
    for text, target in rows:
        words[synonym_key(text)] = target
    words.pop("", None)
    return words


def merged(field: str, organisation_values: Mapping[str, str] | None) -> dict[str, str]:
    """The synonyms of `field` with an organisation's own value mapping on top."""
    words = synonyms(field)
    for text, target in (organisation_values or {}).items():
        key = synonym_key(text)
        if key and target:
            words[key] = target
    return words


# --- the city admin's words ----------------------------------------------------------


class SynonymError(ValueError):
    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def targets(field: str) -> list[tuple[str, str]]:
    """(code, label) a ledger word of `field` may mean."""
    from ..assets.models import AssetStatus, FundingSource
    from ..catalog.models import Category

    if field == "funding_source":
        return FundingSource.choices()
    if field == "status":
        return AssetStatus.choices()
    if field == "category":
        return [(c.code, f"{c.code} {c.name}") for c in db.session.scalars(
            select(Category).order_by(Category.sort, Category.id))]
    return []


def custom_synonyms() -> list:
    from .models import ImportSynonym

    built_in = {(f, synonym_key(t)) for f, words in BUILT_IN.items() for t in words}
    rows = db.session.scalars(select(ImportSynonym).order_by(ImportSynonym.field,
                                                            ImportSynonym.text))
    return [row for row in rows if (row.field, synonym_key(row.text)) not in built_in]


def add_synonym(scope, field: str, text: str, target: str):
    """A ledger word the city admin teaches the importer (every organisation's imports
    read it); audited. The scope must be the city's (reference data)."""
    from flask_babel import gettext as _

    from ..tenancy.services import audit_admin_change
    from .models import ImportSynonym

    if not scope.sees_everything or not scope.writable:
        raise SynonymError(None, _("只有市级管理员可以维护导入同义词。"))
    if field not in BUILT_IN:
        raise SynonymError("field", _("请选择字段。"))
    text = (normalise_text(text) or "").strip()[:100]
    if not synonym_key(text):
        raise SynonymError("text", _("请填写台账中的写法。"))
    if target not in dict(targets(field)):
        raise SynonymError("target", _("请选择它在系统中的含义。"))
    if synonym_key(text) in synonyms(field):
        raise SynonymError("text", _("“%(t)s”已有含义：%(m)s。", t=text,
                                     m=synonyms(field)[synonym_key(text)]))
    row = ImportSynonym(field=field, text=text, target=target)
    db.session.add(row)
    audit_admin_change(row, "create", lambda: scope.org_id)
    return row


def delete_synonym(scope, synonym_id: int) -> bool:
    from ..tenancy.services import audit_admin_change
    from .models import ImportSynonym

    row = db.session.get(ImportSynonym, synonym_id)
    built_in = row is not None and synonym_key(row.text) in {
        synonym_key(t) for t in BUILT_IN.get(row.field, {})}
    if row is None or built_in or not scope.sees_everything:
        return False
    audit_admin_change(row, "delete", lambda: scope.org_id)
    db.session.delete(row)
    db.session.flush()
    return True
