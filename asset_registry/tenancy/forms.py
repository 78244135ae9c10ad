from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from ..enums import OrgKind, Role, Sector


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请输入用户名"))])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码"))])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired()])
    new = PasswordField(
        _l("新密码"), validators=[DataRequired(), Length(min=8, message=_l("至少 8 位"))]
    )
    confirm = PasswordField(
        _l("确认新密码"), validators=[EqualTo("new", message=_l("两次输入不一致"))]
    )


class OrganisationForm(FlaskForm):
    code = StringField(_l("单位编码"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("单位名称"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("类型"), choices=OrgKind.choices)
    sector = SelectField(
        _l("行业"), choices=[("", "—"), *Sector.choices()], validators=[Optional()]
    )
    county = StringField(_l("县（市、区）"), validators=[Optional(), Length(max=50)])
    uscc = StringField(_l("统一社会信用代码"), validators=[Optional(), Length(max=18)])
    parent_id = SelectField(_l("上级单位"), coerce=int, validators=[Optional()])


class UserForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(_l("电子邮箱"), validators=[Optional()])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(), Length(min=8)])
    org_id = SelectField(_l("单位"), coerce=int)
    role = SelectField(_l("角色"), choices=Role.choices)
