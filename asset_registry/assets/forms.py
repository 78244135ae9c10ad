"""Asset forms. Type checks here (a number field holding text); rules in services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .models import AssetStatus, DisposalMethod, FundingSource

DATE_MSG = _l("日期格式不正确，请使用 年-月-日（如 2020-03-15）。")
INT_MSG = _l("请输入整数。")


class LocalisedDateField(DateField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(DATE_MSG)) from None


class LocalisedIntegerField(IntegerField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(INT_MSG)) from None


class LocalisedDecimalField(DecimalField):
    def process_formdata(self, valuelist):
        if valuelist and isinstance(valuelist[0], str):
            valuelist = [valuelist[0].replace(",", "").replace("¥", "").strip()]
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("请输入金额数字（元）。"))) from None


class AssetForm(FlaskForm):
    asset_code = StringField(
        _l("资产编号"), validators=[DataRequired(_l("请填写资产编号。")), Length(max=64)]
    )
    name = StringField(
        _l("设备名称"), validators=[DataRequired(_l("请填写设备名称。")), Length(max=200)]
    )
    category_id = SelectField(_l("设备分类"), coerce=int, validators=[Optional()])
    model = StringField(_l("规格型号"), validators=[Optional(), Length(max=200)])
    manufacturer = StringField(_l("生产厂商"), validators=[Optional(), Length(max=200)])
    serial_no = StringField(_l("出厂编号"), validators=[Optional(), Length(max=100)])
    department = StringField(_l("使用科室/部门"), validators=[Optional(), Length(max=100)])
    location = StringField(_l("使用地点"), validators=[Optional(), Length(max=200)])
    purchase_date = LocalisedDateField(_l("购置日期"), validators=[Optional()])
    commissioned_on = LocalisedDateField(_l("投用日期"), validators=[Optional()])
    design_life_years = LocalisedIntegerField(
        _l("设计使用年限（年）"),
        validators=[Optional(), NumberRange(1, 100)],
        description=_l("留空则取分类默认值"),
    )
    accounting_life_years = LocalisedIntegerField(
        _l("折旧年限（年）"),
        validators=[Optional(), NumberRange(1, 100)],
        description=_l("留空则取分类默认值"),
    )
    original_value = LocalisedDecimalField(
        _l("原值（元）"), places=2, validators=[Optional(), NumberRange(min=0)]
    )
    funding_source = SelectField(
        _l("资金来源"), choices=[("", "—"), *FundingSource.choices()], validators=[Optional()]
    )
    energy_grade = StringField(_l("能效等级"), validators=[Optional(), Length(max=10)])
    # special equipment
    equipment_code = StringField(
        _l("设备代码（18 位）"), validators=[Optional(), Length(max=32)]
    )
    register_code = StringField(
        _l("注册代码"),
        validators=[Optional(), Length(max=21)],
        description=_l("2014 年以前登记的设备：17–21 位旧注册代码"),
    )
    registration_no = StringField(_l("使用登记证编号"), validators=[Optional(), Length(max=64)])
    vessel_grade = LocalisedIntegerField(
        _l("压力容器安全状况等级"), validators=[Optional(), NumberRange(1, 5)]
    )
    # medical
    device_class = SelectField(
        _l("管理类别"),
        choices=[("", "—"), ("I", _l("I 类")), ("II", _l("II 类")), ("III", _l("III 类"))],
        validators=[Optional()],
    )
    catalogue_code = StringField(
        _l("分类目录编码"),
        validators=[Optional(), Length(max=8)],
        description=_l("医疗器械分类目录编码，前两位为所选子目录，如 06-07-02"),
    )
    permit_no = StringField(_l("大型医用设备配置许可证号"), validators=[Optional(), Length(max=64)])
    permit_class = SelectField(
        _l("许可证类别"), choices=[("", "—"), ("甲", _l("甲类")), ("乙", _l("乙类"))],
        validators=[Optional()],
    )
    permit_issued_on = LocalisedDateField(_l("许可证发证日期"), validators=[Optional()])
    radiation = BooleanField(_l("放射诊疗设备"))
    metrology = BooleanField(_l("强制检定计量器具"))
    notes = TextAreaField(_l("备注"), validators=[Optional(), Length(max=20000)])
    # the last statutory inspection of a device registered with a history (new assets
    # only): the only way its first date comes to be certified
    last_inspected_on = LocalisedDateField(_l("最近一次检验日期"), validators=[Optional()])
    last_conclusion = StringField(_l("检验结论"), validators=[Optional(), Length(max=30)])
    last_report_no = StringField(_l("检验报告编号"), validators=[Optional(), Length(max=100)])
    last_agency = StringField(_l("检验机构"), validators=[Optional(), Length(max=200)])
    last_next_due = LocalisedDateField(_l("下次检验日期"), validators=[Optional()])

    SPECIAL = ("equipment_code", "register_code", "registration_no", "vessel_grade")
    MEDICAL = ("device_class", "catalogue_code", "permit_no", "permit_class", "permit_issued_on",
               "radiation", "metrology")

    def service_data(self) -> dict:
        return {
            f.name: f.data
            for f in self
            if f.name not in ("csrf_token",) and f.name not in self.LAST_INSPECTION
        }

    LAST_INSPECTION = {
        "last_inspected_on": "inspected_on", "last_conclusion": "conclusion",
        "last_report_no": "report_no", "last_agency": "agency", "last_next_due": "next_due",
    }

    def last_inspection(self) -> dict | None:
        """The last-inspection fields as a record's input (None when left empty)."""
        data = {key: getattr(self, name).data for name, key in self.LAST_INSPECTION.items()}
        return data if any(v not in (None, "") for v in data.values()) else None


class StatusForm(FlaskForm):
    to_status = SelectField(_l("新状态"), choices=AssetStatus.choices)
    reason = StringField(
        _l("变更原因"), validators=[DataRequired(_l("请填写变更原因。")), Length(max=500)]
    )
    disposed_on = LocalisedDateField(_l("处置日期"), validators=[Optional()])
    disposal_method = SelectField(
        _l("处置方式"), choices=[("", "—"), *DisposalMethod.choices()], validators=[Optional()]
    )
    disposal_recipient = StringField(_l("接收单位"), validators=[Optional(), Length(max=200)])


class AttachmentForm(FlaskForm):
    file = FileField(_l("文件（PDF、JPEG、PNG）"))
    kind = SelectField(
        _l("类型"),
        choices=[
            ("photo", _l("照片")),
            ("certificate", _l("证书/合格证")),
            ("report", _l("检验报告")),
            ("other", _l("其他")),
        ],
    )
