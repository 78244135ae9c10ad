"""The blank import template (.xlsx) for each import kind."""

from __future__ import annotations

import io

from sqlalchemy import select

from ..catalog.models import Category
from ..extensions import db
from .columns import fields_for
from .services import choices_for
from .xlsx import ledger_workbook


def drop_down_lists(kind: str) -> dict[str, list[str]]:
    """{field key: the labels offered in the template's drop-down}."""
    lists = {key: [zh for zh, _ in choices.values()] for key, choices in choices_for(kind).items()}
    for f in fields_for(kind):
        if f.choices:
            lists[f.key] = [zh for zh, _ in f.choices.values()]
    if kind == "assets":
        lists["category"] = list(
            db.session.scalars(select(Category.name).order_by(Category.sort, Category.id))
        )
    return lists


def template_bytes(kind: str) -> bytes:
    wb = ledger_workbook(kind, (), lists=drop_down_lists(kind), example=True)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
