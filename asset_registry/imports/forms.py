from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField

from .models import ImportKind


class UploadForm(FlaskForm):
    kind = SelectField(_l("导入内容"), choices=ImportKind.choices, default=ImportKind.ASSETS)
    # the view offers the organisation's editable plans; needed for plan items only
    plan_id = SelectField(_l("导入到更新计划"), choices=[], validate_choice=False)
    file = FileField(
        _l("Excel 或 CSV 文件"),
        validators=[FileRequired(_l("请选择要导入的文件"))],
        description=_l(
            "支持 .xlsx、.xls、.ods 和 CSV（UTF-8 或 GB18030），上传后先试运行，确认后再写入。"
        ),
    )


class CommitForm(FlaskForm):
    valid_only = BooleanField(_l("只导入校验通过的行（被拒绝的行不导入）"))
