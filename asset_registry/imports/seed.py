"""The built-in ledger synonyms as rows the city admin can see and extend."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from .models import ImportSynonym
from .synonyms import BUILT_IN


def seed_demo() -> None:
    have = set(db.session.execute(select(ImportSynonym.field, ImportSynonym.text)).all())
    rows = [
        {"field": field, "text": text, "target": target}
        for field, words in BUILT_IN.items()
        for text, target in words.items()
        if (field, text) not in have
    ]
    if rows:
        db.session.execute(ImportSynonym.__table__.insert(), rows)
    db.session.flush()
