"""Enumerations shared by models, forms and templates (labels are translatable)."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class LabelledEnum(StrEnum):
    """A StrEnum whose members carry a translatable label in `LABELS`."""

    @property
    def label(self) -> str:
        return str(self.labels().get(self.value, self.value))

    @classmethod
    def labels(cls) -> dict:
        return {}

    @classmethod
    def has(cls, value) -> bool:
        """`value in Enum` raises TypeError for plain strings on Python 3.11."""
        return value in cls._value2member_map_

    @classmethod
    def label_of(cls, value, default=None) -> str:
        """The label of a stored value; unknown values show as themselves (or `default`)."""
        if cls.has(value):
            return cls(value).label
        return (value or "") if default is None else default

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        # lazy labels: forms build their choices once at import, and each request must
        # still see them in its own language
        labels = cls.labels()
        return [(m.value, labels.get(m.value, m.value)) for m in cls]


class Role(LabelledEnum):
    CITY_ADMIN = "city_admin"
    BUREAU_REVIEWER = "bureau_reviewer"
    REGULATOR = "regulator"
    INSTITUTION_MANAGER = "institution_manager"
    INSTITUTION_STAFF = "institution_staff"

    @classmethod
    def labels(cls) -> dict:
        return {
            "city_admin": _l("市级管理员"),
            "bureau_reviewer": _l("主管部门审核人"),
            "regulator": _l("特种设备监管"),
            "institution_manager": _l("资产管理员"),
            "institution_staff": _l("巡检/使用人员"),
        }


class OrgKind(LabelledEnum):
    CITY = "city"
    BUREAU = "bureau"
    REGULATOR = "regulator"
    INSTITUTION = "institution"

    @classmethod
    def labels(cls) -> dict:
        return {
            "city": _l("市级"),
            "bureau": _l("主管部门"),
            "regulator": _l("监管部门"),
            "institution": _l("使用单位"),
        }


class Sector(LabelledEnum):
    HEALTH = "health"
    EDUCATION = "education"
    CULTURE_TOURISM = "culture_tourism"
    SPORTS = "sports"

    @classmethod
    def labels(cls) -> dict:
        return {
            "health": _l("卫生健康"),
            "education": _l("教育"),
            "culture_tourism": _l("文化旅游"),
            "sports": _l("体育"),
        }
