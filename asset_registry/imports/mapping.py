"""An organisation's mapping of its ledger onto the register, saved and reused.

    {"columns": {"原值（万元）": {"field": "original_value", "unit": "万元"},
                 "序号": {"field": null}},                       # null: ignore the column
     "values":  {"funding_source": {"财政专户": "local_fiscal"},
                 "category": {"彩色超声": "MED-06"}}}

The same JSON is what `flask import-assets --mapping FILE.json` reads and what the
mapping page edits. Columns are keyed by their normalised header (full-width and
half-width alike, spaces and `*` ignored), values by the ledger word as written.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping as MappingABC
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..tenancy.scope import Scope, use_scope
from .columns import field_map, normalise_header
from .messages import N_
from .units import SHOWN_UNITS, UNITS

MSG_MAPPING_JSON = N_("映射文件不是有效的 JSON：{detail}")
MSG_MAPPING_SHAPE = N_("映射文件的格式不对：应为含 columns 和 values 两项的 JSON 对象")
MSG_MAPPING_FIELD = N_("列“{column}”映射到的字段“{field}”不存在")
MSG_MAPPING_UNIT = N_("列“{column}”的单位“{unit}”无法识别（可用的单位：{options}）")
MSG_MAPPING_NO_UNIT = N_("列“{column}”对应的字段没有单位，不能设置单位“{unit}”")
MSG_MAPPING_VALUE_FIELD = N_("取值映射中的字段“{field}”不是可映射的枚举字段")
MSG_MAPPING_TARGET = N_("“{text}”映射到的“{target}”不是{field}的可选值")
MSG_MAPPING_SECTOR = N_("“{text}”映射到的类别“{target}”属于其他行业，本单位不能使用")


class MappingError(ValueError):
    """A mapping that cannot be used; `message` is Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclasses.dataclass
class Mapping:
    columns: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    values: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)

    @property
    def overrides(self) -> dict[str, dict[str, Any]]:
        return self.columns

    def as_json(self) -> dict:
        return {"columns": self.columns, "values": self.values}

    def merged_with(self, other: Mapping | None) -> Mapping:
        """This mapping with `other`'s entries on top."""
        if other is None:
            return self
        values = {k: dict(v) for k, v in self.values.items()}
        for key, words in other.values.items():
            values.setdefault(key, {}).update(words)
        return Mapping({**self.columns, **other.columns}, values)


def from_json(data: Any, kind: str) -> Mapping:
    """A validated Mapping from parsed JSON (a dict) or JSON text; MappingError if not."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise MappingError(MSG_MAPPING_JSON.format(detail=str(exc)[:100])) from None
    if not isinstance(data, MappingABC):
        raise MappingError(MSG_MAPPING_SHAPE)
    columns_in, values_in = data.get("columns") or {}, data.get("values") or {}
    if not isinstance(columns_in, MappingABC) or not isinstance(values_in, MappingABC):
        raise MappingError(MSG_MAPPING_SHAPE)
    fields = field_map(kind)
    columns: dict[str, dict[str, Any]] = {}
    for header, spec in columns_in.items():
        if isinstance(spec, str) or spec is None:
            spec = {"field": spec or None}
        if not isinstance(spec, MappingABC):
            raise MappingError(MSG_MAPPING_SHAPE)
        key = spec.get("field") or None
        if key is not None and key not in fields:
            raise MappingError(MSG_MAPPING_FIELD.format(column=header, field=key))
        unit = spec.get("unit") or None
        if unit is not None:
            family = fields[key].unit if key else None
            if family is None:
                raise MappingError(MSG_MAPPING_NO_UNIT.format(column=header, unit=unit))
            unit = "".join(str(unit).split()).casefold()
            if unit not in UNITS[family]:
                raise MappingError(
                    MSG_MAPPING_UNIT.format(column=header, unit=unit, options=SHOWN_UNITS[family])
                )
        norm = normalise_header(header)
        if norm:
            columns[norm] = {"field": key, "unit": unit}
    values: dict[str, dict[str, str]] = {}
    for key, words in values_in.items():
        f = fields.get(key)
        if f is None or f.type not in ("enum", "category") or not isinstance(words, MappingABC):
            raise MappingError(MSG_MAPPING_VALUE_FIELD.format(field=key))
        values[key] = {str(text): str(target) for text, target in words.items() if target}
    return Mapping(columns, values)


def check_targets(mapping: Mapping, kind: str, sector: str | None = None) -> None:
    """Every value target exists (an enum code or a category code) and, for categories,
    belongs to the organisation's sector. Needs a session (reads the category tree)."""
    from ..catalog.models import Category
    from .services import choices_for

    fields = field_map(kind)
    choices = choices_for(kind)
    families = None
    for key, words in mapping.values.items():
        if key == "category":
            if families is None:
                families = dict(db.session.execute(select(Category.code, Category.family)).all())
            allowed = SECTOR_FAMILIES.get(sector or "")
            for text, target in words.items():
                if target not in families:
                    raise MappingError(
                        MSG_MAPPING_TARGET.format(text=text, target=target, field=fields[key].zh)
                    )
                if allowed is not None and families[target] not in allowed:
                    raise MappingError(MSG_MAPPING_SECTOR.format(text=text, target=target))
            continue
        codes = choices.get(key) or fields[key].choices or {}
        for text, target in words.items():
            if target not in codes:
                raise MappingError(
                    MSG_MAPPING_TARGET.format(text=text, target=target, field=fields[key].zh)
                )


# The category families an organisation of a sector keeps (special and general
# equipment everywhere: elevators and boilers stand in hospitals and colleges alike).
SECTOR_FAMILIES = {
    "health": {"medical", "special", "general"},
    "education": {"teaching", "special", "general", "medical", "sports"},
    "culture_tourism": {"performance", "amusement", "special", "general"},
    "sports": {"sports", "amusement", "special", "general"},
}


def _row(scope: Scope, org_id: int, kind: str):
    from .models import ImportMapping
    from .services import org_scope

    with use_scope(org_scope(scope, org_id)):
        return db.session.scalars(select(ImportMapping).where(ImportMapping.kind == kind)).first()


def saved_mapping(scope: Scope, org_id: int, kind: str) -> Mapping | None:
    """Organisation `org_id`'s saved mapping for `kind`, or None."""
    row = _row(scope, org_id, kind)
    if row is None:
        return None
    return Mapping(dict(row.columns or {}), {k: dict(v) for k, v in (row.values or {}).items()})


def save_mapping(
    scope: Scope, org_id: int, kind: str, mapping: Mapping, user_id: int | None = None
):
    """Create or replace the organisation's mapping for `kind` (audited: TenantOwned)."""
    from .models import ImportMapping

    row = _row(scope, org_id, kind)
    with use_scope(scope):
        if row is None:
            row = ImportMapping(org_id=org_id, kind=kind)
            db.session.add(row)
        row.columns = mapping.columns
        row.values = mapping.values
        row.updated_by = user_id
        db.session.flush()
    return row


def mapping_choices(kind: str) -> dict:
    """What the mapping page offers: the fields (with their unit family and its units),
    and the targets of each enumerated field ({code: label}), categories included."""
    from ..catalog.models import Category
    from .services import choices_for
    from .units import UNITS

    fields = field_map(kind)
    targets: dict[str, dict[str, str]] = {
        key: {code: zh for code, (zh, _) in ch.items()} for key, ch in choices_for(kind).items()
    }
    for key, f in fields.items():
        if f.choices:
            targets[key] = {code: zh for code, (zh, _) in f.choices.items()}
    if "category" in fields:
        targets["category"] = dict(
            db.session.execute(
                select(Category.code, Category.name).order_by(Category.sort, Category.id)
            ).all()
        )
    units = {family: [u for u in UNITS[family] if u in _OFFERED_UNITS] for family in UNITS}
    return {
        "fields": [(f.key, f.zh, f.unit) for f in fields.values()],
        "targets": targets,
        "units": units,
    }


_OFFERED_UNITS = ("元", "千元", "万元", "年", "月")
