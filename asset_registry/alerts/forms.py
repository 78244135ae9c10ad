from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .models import WebhookKind


class SettingsForm(FlaskForm):
    due_soon_days = IntegerField(
        _l("到期提醒提前天数"),
        validators=[Optional(), NumberRange(1, 365, _l("请输入 1–365 之间的整数"))],
        description=_l("留空则使用各检验义务自身的提前期（默认 30 天）"),
    )
    due_7d_days = IntegerField(
        _l("临期（紧急）提醒天数"),
        validators=[DataRequired(_l("请填写")), NumberRange(1, 60, _l("请输入 1–60 之间的整数"))],
    )
    escalate_after_days = IntegerField(
        _l("超期多少天后上报主管部门"),
        validators=[DataRequired(_l("请填写")), NumberRange(1, 365, _l("请输入 1–365 之间的整数"))],
    )
    life_ending_days = IntegerField(
        _l("设计使用年限届满提前提醒天数"),
        validators=[DataRequired(_l("请填写")),
                    NumberRange(1, 1095, _l("请输入 1–1095 之间的整数"))],
    )
    recipients = TextAreaField(
        _l("额外收件邮箱"), validators=[Optional(), Length(max=2000)],
        description=_l("每行一个；本单位资产管理员会自动收到"),
    )
    webhook_url = StringField(_l("群机器人 Webhook 地址"), validators=[Optional(), Length(max=500)])
    webhook_kind = SelectField(_l("群机器人类型"), choices=WebhookKind.choices)
    # never shown back: blank keeps the stored secret
    webhook_secret = PasswordField(
        _l("钉钉加签密钥"), validators=[Optional(), Length(max=200)],
        description=_l("钉钉机器人“安全设置”选择“加签”时填写（SEC 开头）；留空则保留已保存的密钥"),
        render_kw={"autocomplete": "off"},
    )
    clear_webhook_secret = BooleanField(_l("清除已保存的加签密钥"))
    safety_phone = StringField(
        _l("安全管理联系电话"), validators=[Optional(), Length(max=30)],
        description=_l("显示在本单位设备二维码的公开页面上，供发现异常的群众联系"),
    )


class NoteForm(FlaskForm):
    note = StringField(_l("备注"), validators=[Optional(), Length(max=500)])
