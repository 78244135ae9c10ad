"""Forms of the renewal plans. They render and carry CSRF; the services validate, so a
bad value gets one clear message whichever way it arrives."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import Optional

from ..assets.models import FundingSource
from .models import RenewalReason, quarter_label
from .services import COMPLETION_DISPOSALS


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PlanForm(FlaskForm):
    year = IntegerField(_l("计划年度"), validators=[Optional()])
    title = StringField(_l("计划名称"))
    notes = TextAreaField(_l("说明"), validators=[Optional()])


class ItemForm(FlaskForm):
    equipment_name = StringField(_l("拟购设备名称"))
    specification = StringField(_l("规格型号及主要参数"))
    quantity = StringField(_l("数量"), default="1")
    unit_price = StringField(_l("单价（元）"))
    reasons = MultiCheckboxField(_l("更新理由"), choices=RenewalReason.choices())
    planned_quarter = SelectField(_l("计划完成时间"), choices=[])
    energy_saved_kwh = StringField(_l("预计年节电量（千瓦时）"))
    capacity_effect = StringField(_l("预期效果（能力提升）"))

    def __init__(self, *args, year: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        years = [year, year + 1] if year else []
        self.planned_quarter.choices = [("", "—")] + [
            (f"{y}Q{q}", quarter_label(f"{y}Q{q}")) for y in years for q in range(1, 5)
        ]


FUNDING_CHOICES = [("", "—"), *FundingSource.choices()]


class ReviewForm(FlaskForm):
    comment = TextAreaField(_l("审核意见"), validators=[Optional()])


class CompletionForm(FlaskForm):
    actual_price = StringField(_l("实际成交价（元）"))
    supplier = StringField(_l("供应商"))
    completed_on = DateField(_l("完成日期"), validators=[Optional()])
    new_asset_code = StringField(_l("新设备资产编号"))
    category_id = SelectField(_l("新设备分类"), coerce=int, choices=[], validate_choice=False)
    disposal_method = SelectField(
        _l("旧设备处置方式"),
        choices=[("", "—"), *[(m.value, m.label) for m in COMPLETION_DISPOSALS]],
    )
    disposal_recipient = StringField(_l("接收单位（回收商／调入单位）"))


class BaselineForm(FlaskForm):
    amount = StringField(_l("2023 年设备投资基数（元）"))
    target_increase_pct = StringField(_l("2027 年目标增幅（%）"), default="25")
