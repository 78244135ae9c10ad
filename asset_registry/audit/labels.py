"""The audit log in words: what each table and column is called, where an entry's
object can be opened, and stored values shown as a reader knows them."""

from __future__ import annotations

from flask import url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from ..assets.models import AssetStatus, DisposalMethod, FundingSource
from ..enums import LabelledEnum, Role

ENTITY_LABELS = {
    "asset": _l("设备"),
    "asset_status_change": _l("设备状态变更"),
    "attachment": _l("设备附件"),
    "obligation": _l("检验义务"),
    "inspection_record": _l("检验记录"),
    "fault": _l("故障"),
    "registration_change": _l("变更登记"),
    "institution_permit": _l("许可证"),
    "renewal_plan": _l("更新计划"),
    "plan_item": _l("计划项目"),
    "plan_item_asset": _l("计划项目关联设备"),
    "plan_attachment": _l("计划附件"),
    "plan_funding_line": _l("计划资金来源"),
    "plan_review_event": _l("计划审核记录"),
    "import_job": _l("导入任务"),
    "import_mapping": _l("导入映射"),
    "label_job": _l("标签打印"),
    "alert": _l("预警"),
    "alert_settings": _l("预警设置"),
    "membership": _l("用户角色"),
    "api_token": _l("API 令牌"),
    "funding_project": _l("项目"),
    "programme_task": _l("调度任务"),
    "dispatch_report": _l("调度填报"),
    "accounting_settings": _l("折旧设置"),
}

# columns every table shares, and those no import template names
COMMON_FIELDS = {
    "org_id": _l("单位"),
    "asset_id": _l("设备"),
    "category_id": _l("设备类别"),
    "plan_id": _l("更新计划"),
    "user_id": _l("用户"),
    "name": _l("名称"),
    "kind": _l("类型"),
    "status": _l("状态"),
    "role": _l("角色"),
    "note": _l("备注"),
    "active": _l("启用"),
    "statutory": _l("法定检验"),
    "failed": _l("不合格"),
    "next_due": _l("下次检验日期"),
    "last_done": _l("上次检验日期"),
    "interval_months": _l("周期（月）"),
    "interval_days": _l("周期（天）"),
    "lead_days": _l("提前提醒天数"),
    "description": _l("描述"),
    "severity": _l("严重程度"),
    "resolved_at": _l("解决时间"),
    "reported_at": _l("报告时间"),
    "filename": _l("文件名"),
    "is_special": _l("特种设备"),
    "webhook_url": _l("群机器人 Webhook 地址"),
    "recipients": _l("额外收件邮箱"),
}
# never worth a line: the row's own id and bookkeeping times
HIDDEN_FIELDS = {"id", "created_at", "updated_at", "heartbeat_at", "webhook_secret"}
VALUE_ENUMS: dict[str, type[LabelledEnum]] = {
    "funding_source": FundingSource,
    "disposal_method": DisposalMethod,
    "role": Role,
}


def _import_fields() -> dict[str, tuple[str, str]]:
    from ..imports.columns import FIELDS

    return {f.key: (f.zh, f.en) for fields in FIELDS.values() for f in fields}


_IMPORT_FIELDS: dict[str, tuple[str, str]] | None = None


def field_label(column: str) -> str:
    global _IMPORT_FIELDS
    if column in COMMON_FIELDS:
        return str(COMMON_FIELDS[column])
    if _IMPORT_FIELDS is None:
        _IMPORT_FIELDS = _import_fields()
    if column in _IMPORT_FIELDS:
        zh, en = _IMPORT_FIELDS[column]
        return en if str(get_locale()) == "en" else zh
    return column


def entity_label(entity: str) -> str:
    return str(ENTITY_LABELS.get(entity, entity))


def _value_of(changes: dict, key: str):
    for side in ("after", "before"):
        value = (changes or {}).get(side, {}).get(key)
        if value is not None:
            return value
    return None


def entity_url(entity: str, entity_id: int | None, changes: dict) -> str | None:
    """Where the entry's object is shown, if anywhere (deleted objects answer 404 there)."""
    asset_id = entity_id if entity == "asset" else _value_of(changes, "asset_id")
    targets = {
        "asset": ("assets.detail", {"asset_id": asset_id}),
        "asset_status_change": ("assets.detail", {"asset_id": asset_id}),
        "attachment": ("assets.detail", {"asset_id": asset_id}),
        "obligation": ("inspections.asset", {"asset_id": asset_id}),
        "inspection_record": ("inspections.asset", {"asset_id": asset_id}),
        "fault": ("inspections.asset", {"asset_id": asset_id}),
        "registration_change": ("assets.detail", {"asset_id": asset_id}),
        "renewal_plan": ("plans.show", {"plan_id": entity_id}),
        "plan_item": ("plans.show", {"plan_id": _value_of(changes, "plan_id")}),
        "import_job": ("imports.show", {"job_id": entity_id}),
        "label_job": ("labels.job", {"job_id": entity_id}),
        "funding_project": ("programme.project", {"project_id": entity_id}),
    }
    if entity not in targets:
        return None
    endpoint, args = targets[entity]
    if any(not isinstance(v, int) for v in args.values()):
        return None
    try:
        return url_for(endpoint, **args)
    except BuildError:  # the domain is not installed
        return None


def shown_value(entity: str, column: str, value, names: dict) -> str:
    """A stored value as a reader knows it: names for ids, labels for codes."""
    from flask_babel import gettext as _

    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if column in names and value in names[column]:
        return names[column][value]
    if column == "status" and entity == "asset":
        return AssetStatus.label_of(value)
    if column in VALUE_ENUMS:
        return VALUE_ENUMS[column].label_of(value)
    return str(value)
