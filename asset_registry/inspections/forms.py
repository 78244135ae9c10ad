"""Inspection forms. Only shapes here: dates and rules are checked by the services, which
give the Chinese messages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from .models import FaultSeverity
from .rules import INSPECTION_TYPES


class InspectionForm(FlaskForm):
    inspected_on = StringField(_l("检验日期"), render_kw={"type": "date", "required": True})
    inspection_type = SelectField(
        _l("检验类别"),
        choices=[("", "—"), *((k, v) for k, v in INSPECTION_TYPES.items())],
        validators=[Optional()],
    )
    agency = StringField(_l("检验机构"), validators=[Optional(), Length(max=200)])
    report_no = StringField(_l("报告编号"), validators=[Optional(), Length(max=100)])
    conclusion = SelectField(_l("检验结论"), choices=[], validate_choice=False)
    safety_grade = SelectField(
        _l("安全状况等级"),
        choices=[("", "—"), *((str(g), str(g)) for g in range(1, 6))],
        validators=[Optional()],
    )
    next_due = StringField(
        _l("下次检验日期"),
        render_kw={"type": "date"},
        description=_l("按检验报告（合格证）填写；留空则按检验日期加检验周期计算。"),
    )
    problems = TextAreaField(_l("主要问题"), validators=[Optional(), Length(max=5000)])
    attachment = FileField(
        _l("检验报告/合格证（照片或 PDF）"),
        render_kw={"accept": "image/jpeg,image/png,application/pdf", "capture": "environment"},
    )


class ObligationForm(FlaskForm):
    interval_months = StringField(
        _l("周期（月）"), render_kw={"inputmode": "numeric"}, validators=[Optional()]
    )
    interval_days = StringField(
        _l("周期（天）"), render_kw={"inputmode": "numeric"}, validators=[Optional()]
    )
    lead_days = StringField(_l("提前提醒天数"), render_kw={"inputmode": "numeric"})
    checklist = TextAreaField(
        _l("检查表"), description=_l("每行一项；用于日常/月度自检。"), render_kw={"rows": 6}
    )
    critical_items = TextAreaField(
        _l("安全关键项"),
        description=_l(
            "每行一项，须为检查表中的项目（如制动器、抱索器、安全钳）。"
            "特种设备自检中这些项目异常，将登记为严重故障并停机。"
        ),
        render_kw={"rows": 3},
    )
    active = BooleanField(_l("启用"), default=True)


class FaultForm(FlaskForm):
    description = TextAreaField(_l("故障描述"), render_kw={"rows": 4, "required": True})
    severity = SelectField(
        _l("严重程度"), choices=FaultSeverity.choices, default=FaultSeverity.MEDIUM.value
    )
    downtime_hours = StringField(_l("停机时长（小时）"), render_kw={"inputmode": "decimal"})
    cost = StringField(_l("维修费用（元）"), render_kw={"inputmode": "decimal"})
    stop = BooleanField(_l("设备停机待修"))
    run_on = BooleanField(
        _l("严重故障仍可运行（仅资产管理员）"),
        description=_l("特种设备的严重故障默认停机；确需继续运行时勾选并说明理由。"),
    )
    run_on_reason = StringField(_l("继续运行的理由"), validators=[Optional(), Length(max=500)])
    major_repair = BooleanField(
        _l("需大修（更换关键部件）"),
        description=_l("放射设备大修后须重新进行验收检测，处理完毕时自动生成该项目。"),
    )
    attachment = FileField(
        _l("照片"), render_kw={"accept": "image/jpeg,image/png", "capture": "environment"}
    )


class ResolveForm(FlaskForm):
    resolution = TextAreaField(_l("处理结果"), render_kw={"rows": 4, "required": True})
    resolved_on = StringField(_l("处理日期"), render_kw={"type": "date"})
    downtime_hours = StringField(_l("停机时长（小时）"), render_kw={"inputmode": "decimal"})
    cost = StringField(_l("维修费用（元）"), render_kw={"inputmode": "decimal"})
