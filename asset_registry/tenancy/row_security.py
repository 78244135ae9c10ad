"""PostgreSQL row-level security: the second wall behind the ORM scope (DESIGN.md §4).

Every tenant-owned table carries a policy that shows and accepts only the rows of the
organisations listed in the `app.org_ids` setting: "all" for the system scope and for
statements that opt out of the scope on purpose, "" (nothing) when there is no scope.
The session keeps that setting in step with its scope before each statement it
executes and before each flush. The setting is transaction-local, so it goes with the
transaction, and a rolled-back savepoint makes it be set again.

The ORM scope stays the rule-keeper (404s, the regulator's special-equipment view);
this wall guarantees that a query which escapes it (raw SQL, a forgotten filter) still
cannot read or write another organisation's rows. PostgreSQL lets superusers and
roles with BYPASSRLS through: run the application as an ordinary role (the database
URL's user, or `DATABASE_ROLE`, which the connection switches to).
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import ORMExecuteState, Session

from .scope import SCOPE_KEY, Scope, TenantOwned

SETTING = "app.org_ids"
SPECIAL_SETTING = "app.special_only"  # "on": the regulator's special-equipment view
POLICY = "tenant_wall"
FUNCTION = "app_org_visible"
SPECIAL_FUNCTION = "app_special_only"
_KNOWN = "row_security_setting"  # connection.info: what this transaction has set

SPECIAL_FUNCTION_DDL = f"""
CREATE OR REPLACE FUNCTION {SPECIAL_FUNCTION}() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('{SPECIAL_SETTING}', true), '') = 'on'
$$
"""

FUNCTION_DDL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}(org integer) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE coalesce(current_setting('{SETTING}', true), '')
        WHEN 'all' THEN true
        WHEN '' THEN false
        ELSE org = ANY (string_to_array(current_setting('{SETTING}', true), ',')::integer[])
    END
$$
"""


def _tenant_models() -> dict[str, type]:
    from ..extensions import db

    return {
        mapper.local_table.name: mapper.class_
        for mapper in db.Model.registry.mappers
        if issubclass(mapper.class_, TenantOwned)
    }


def tenant_tables() -> list[str]:
    """Every table of a TenantOwned model."""
    return sorted(_tenant_models())


def _special_sql(model, dialect) -> str:
    """The model's special-equipment criterion (the ORM's own), as SQL for a policy."""
    criterion = model.special_criteria()
    return str(criterion.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def install_row_security(connection: Connection, tables: list[str] | None = None) -> None:
    """Create the policy on every tenant table (idempotent; PostgreSQL only).

    Reading: the scope's organisations and, on equipment tables for a
    special-equipment-only scope, the criterion the ORM applies (in a CASE, so other
    scopes never evaluate it). Writing: the scope's organisations."""
    if connection.dialect.name != "postgresql":
        return
    connection.exec_driver_sql(FUNCTION_DDL)
    connection.exec_driver_sql(SPECIAL_FUNCTION_DDL)
    models = _tenant_models()
    for table in tables if tables is not None else sorted(models):
        special = _special_sql(models[table], connection.dialect)
        # equipment tables narrow a special-equipment scope; the others (false in the
        # ORM: audit rows, memberships, plans) stay an ORM rule, as a RETURNING of the
        # scope's own writes there must still see the row
        narrowed = f"CASE WHEN {SPECIAL_FUNCTION}() THEN ({special}) ELSE true END"
        visible = f"{FUNCTION}(org_id)" + ("" if special == "false" else f" AND {narrowed}")
        connection.exec_driver_sql(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        # the owner too: the application usually owns its tables
        connection.exec_driver_sql(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
        connection.exec_driver_sql(f'DROP POLICY IF EXISTS {POLICY} ON "{table}"')
        connection.exec_driver_sql(
            f'CREATE POLICY {POLICY} ON "{table}" '
            f"USING ({visible}) WITH CHECK ({FUNCTION}(org_id))"
        )


def uninstall_row_security(connection: Connection, tables: list[str] | None = None) -> None:
    if connection.dialect.name != "postgresql":
        return
    for table in tables if tables is not None else tenant_tables():
        connection.exec_driver_sql(f'DROP POLICY IF EXISTS {POLICY} ON "{table}"')
        connection.exec_driver_sql(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
        connection.exec_driver_sql(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
    connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {FUNCTION}(integer)")
    connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {SPECIAL_FUNCTION}()")


def setting_for(scope: Scope | None) -> tuple[str, str]:
    """(app.org_ids, app.special_only) for a scope."""
    if scope is None or (scope.org_ids is not None and not scope.org_ids):
        return "", ""
    special = "on" if scope.special_only else ""
    if scope.org_ids is None:
        return "all", special
    return ",".join(str(org_id) for org_id in sorted(scope.org_ids)), special


_EVERYTHING = ("all", "")


def _sync(connection: Connection, value: tuple[str, str]) -> None:
    if connection.info.get(_KNOWN) == value:
        return
    connection.exec_driver_sql(
        "SELECT set_config(%(orgs)s, %(org_ids)s, true), set_config(%(special)s, %(on)s, true)",
        {"orgs": SETTING, "org_ids": value[0], "special": SPECIAL_SETTING, "on": value[1]},
    )
    connection.info[_KNOWN] = value


def see_all(connection: Connection) -> None:
    """For a connection used outside any session (a job's own bookkeeping by id):
    this transaction sees every organisation. No-op off PostgreSQL."""
    if connection.dialect.name == "postgresql":
        _sync(connection, _EVERYTHING)


def _postgres(session: Session) -> Connection | None:
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return None
    return session.connection()


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    connection = _postgres(state.session)
    if connection is None:
        return
    # a refresh of a row the session already holds reads nothing new (the ORM scope
    # leaves such loads alone too); an opt-out is deliberate and documented at its use
    if state.is_column_load or state.execution_options.get("all_tenants"):
        value = _EVERYTHING
    else:
        value = setting_for(state.session.info.get(SCOPE_KEY))
    _sync(connection, value)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context, instances) -> None:
    connection = _postgres(session)
    if connection is not None:
        _sync(connection, setting_for(session.info.get(SCOPE_KEY)))


def _forget(connection: Connection, *args) -> None:
    connection.info.pop(_KNOWN, None)


# transaction-local: a new transaction, its end, or a savepoint rolled back (which
# undoes a set_config made inside it) means the setting must be made again
for _name in ("begin", "commit", "rollback", "rollback_savepoint"):
    event.listen(Engine, _name, _forget)


def _after_create(target, connection, **kw) -> None:
    install_row_security(connection)


def register(metadata) -> None:
    """`create_all` builds the wall too (the migrations do it by name)."""
    if not event.contains(metadata, "after_create", _after_create):
        event.listen(metadata, "after_create", _after_create)


def switch_role(engine: Engine, role: str) -> None:
    """Every new connection acts as `role` (an ordinary role: RLS applies to it)."""
    if engine.dialect.name != "postgresql":
        return
    quoted = engine.dialect.identifier_preparer.quote(role)

    @event.listens_for(engine, "connect")
    def _set_role(dbapi_connection, connection_record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET ROLE {quoted}")
        cursor.close()
        dbapi_connection.commit()
