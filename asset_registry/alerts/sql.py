"""Two portable SQL pieces the set-based scan needs: day arithmetic and INSERT … ON
CONFLICT DO NOTHING, compiled for SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Integer
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from ..extensions import db


class days_between(FunctionElement):  # noqa: N801 (reads like the SQL function it is)
    """`later - earlier` in whole days, for two date expressions."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between_default(element, compiler, **kw):
    earlier, later = list(element.clauses)
    # PostgreSQL: date - date is an integer number of days
    return (
        f"(CAST({compiler.process(later, **kw)} AS DATE)"
        f" - CAST({compiler.process(earlier, **kw)} AS DATE))"
    )


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    earlier, later = list(element.clauses)
    return (
        f"CAST(julianday({compiler.process(later, **kw)})"
        f" - julianday({compiler.process(earlier, **kw)}) AS INTEGER)"
    )


def insert_ignoring_duplicates(table):
    """An INSERT that skips rows whose unique key already exists."""
    dialect = db.engine.dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return _IgnoringInsert(module, table)


class _IgnoringInsert:
    def __init__(self, module, table):
        self._module, self._table = module, table

    def from_select(self, names, select_stmt):
        stmt = self._module.insert(self._table).from_select(names, select_stmt)
        return stmt.on_conflict_do_nothing()

    def values(self, **values):
        return self._module.insert(self._table).values(**values).on_conflict_do_nothing()
