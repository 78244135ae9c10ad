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

import logging
import os
import weakref

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState, Session

from .scope import SCOPE_KEY, Scope, TenantOwned

SETTING = "app.org_ids"
SPECIAL_SETTING = "app.special_only"  # "on": the regulator's special-equipment view
POLICY = "tenant_wall"
FUNCTION = "app_org_visible"
SPECIAL_FUNCTION = "app_special_only"
_KNOWN = "row_security_setting"  # connection.info: what this transaction has set

log = logging.getLogger(__name__)

SPECIAL_FUNCTION_DDL = f"""
CREATE OR REPLACE FUNCTION {SPECIAL_FUNCTION}() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('{SPECIAL_SETTING}', true), '') = 'on'
$$
"""

# The policy reads the setting through these two functions, each wrapped in a scalar
# subquery: PostgreSQL evaluates such an uncorrelated subquery once per statement (an
# InitPlan) and hands the result to every row as a parameter, so no row pays for
# parsing the list, and `org_id = ANY (…)` stays a plain indexable comparison.
ALL_FUNCTION = "app_sees_all"
IDS_FUNCTION = "app_org_ids"
ALL_FUNCTION_DDL = f"""
CREATE OR REPLACE FUNCTION {ALL_FUNCTION}() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('{SETTING}', true), '') = 'all'
$$
"""
IDS_FUNCTION_DDL = f"""
CREATE OR REPLACE FUNCTION {IDS_FUNCTION}() RETURNS integer[]
LANGUAGE sql STABLE AS $$
    SELECT CASE coalesce(current_setting('{SETTING}', true), '')
        WHEN 'all' THEN NULL
        WHEN '' THEN '{{}}'::integer[]
        ELSE string_to_array(current_setting('{SETTING}', true), ',')::integer[]
    END
$$
"""
# the scope's organisations, for reading and for writing
ORG_VISIBLE = (
    f"((SELECT {ALL_FUNCTION}()) OR org_id = ANY ((SELECT {IDS_FUNCTION}())::integer[]))"
)

# the per-row function of the first version (kept so its migration can rebuild it)
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


def install_row_security(
    connection: Connection, tables: list[str] | None = None, *, version: int = 2
) -> None:
    """Create the policy on every tenant table (idempotent; PostgreSQL only).

    Reading: the scope's organisations and, on equipment tables for a
    special-equipment-only scope, the criterion the ORM applies (behind an OR, so
    other scopes never evaluate it). Writing: the scope's organisations.
    `version=1` rebuilds the first policies (a per-row function; migrations only)."""
    if connection.dialect.name != "postgresql":
        return
    connection.exec_driver_sql(FUNCTION_DDL)
    connection.exec_driver_sql(SPECIAL_FUNCTION_DDL)
    connection.exec_driver_sql(ALL_FUNCTION_DDL)
    connection.exec_driver_sql(IDS_FUNCTION_DDL)
    models = _tenant_models()
    for table in tables if tables is not None else sorted(models):
        special = _special_sql(models[table], connection.dialect)
        # equipment tables narrow a special-equipment scope; the others (false in the
        # ORM: audit rows, memberships, plans) stay an ORM rule, as a RETURNING of the
        # scope's own writes there must still see the row
        if version == 1:
            orgs = f"{FUNCTION}(org_id)"
            narrowed = f"CASE WHEN {SPECIAL_FUNCTION}() THEN ({special}) ELSE true END"
        else:
            orgs = ORG_VISIBLE
            narrowed = f"(NOT (SELECT {SPECIAL_FUNCTION}()) OR ({special}))"
        visible = orgs + ("" if special == "false" else f" AND {narrowed}")
        connection.exec_driver_sql(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        # the owner too: the application usually owns its tables
        connection.exec_driver_sql(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
        connection.exec_driver_sql(f'DROP POLICY IF EXISTS {POLICY} ON "{table}"')
        connection.exec_driver_sql(
            f'CREATE POLICY {POLICY} ON "{table}" USING ({visible}) WITH CHECK ({orgs})'
        )


def uninstall_row_security(connection: Connection, tables: list[str] | None = None) -> None:
    if connection.dialect.name != "postgresql":
        return
    for table in tables if tables is not None else tenant_tables():
        connection.exec_driver_sql(f'DROP POLICY IF EXISTS {POLICY} ON "{table}"')
        connection.exec_driver_sql(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
        connection.exec_driver_sql(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
    # the functions serve every table's policy: they go with the last one (a later
    # migration's downgrade removes only its own tables' policies)
    remaining = connection.exec_driver_sql(
        "SELECT count(*) FROM pg_policy WHERE polname = %(name)s", {"name": POLICY}
    ).scalar()
    if remaining:
        return
    for function in (f"{FUNCTION}(integer)", f"{SPECIAL_FUNCTION}()", f"{ALL_FUNCTION}()",
                     f"{IDS_FUNCTION}()"):
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function}")


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
    # a dropped connection (invalidated) has no info to reach, and the pool clears it
    # on reconnect; reading it here would make the rollback itself fail
    if not connection.invalidated:
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


# engines whose connections act as the database URL's own user: the owner running
# `flask db upgrade` (the application role may not exist yet, and may not create tables)
_OWNER_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


class RowSecurityBypassed(RuntimeError):
    """The app would run as a role that row-level security does not bind."""


_ROLE_SQL = "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"


def _refuse_unbound(dbapi_connection) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(_ROLE_SQL)
        user, superuser, bypass = cursor.fetchone()
    finally:
        cursor.close()
    if superuser or bypass:
        raise RowSecurityBypassed(
            f"PostgreSQL role {user!r} is a superuser or has BYPASSRLS: row-level security "
            "would not bind it. Set DATABASE_ROLE to the application role (README, "
            "PostgreSQL set-up) or, knowingly, ALLOW_RLS_BYPASS=1."
        )


def switch_role(engine: Engine, role: str | None, *, refuse_bypass: bool = False) -> None:
    """Every new connection acts as `role` (an ordinary role: RLS applies to it), and
    with `refuse_bypass` fails when the role it acts as is one RLS does not bind. An
    engine taken over by the migrations acts as the URL's user (the owner)."""
    if engine.dialect.name != "postgresql" or not (role or refuse_bypass):
        return
    quoted = engine.dialect.identifier_preparer.quote(role) if role else None

    @event.listens_for(engine, "connect")
    def _set_role(dbapi_connection, connection_record) -> None:
        if engine in _OWNER_ENGINES:
            return
        if quoted:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"SET ROLE {quoted}")
            cursor.close()
        if refuse_bypass:
            _refuse_unbound(dbapi_connection)
        dbapi_connection.commit()


def act_as_owner(engine: Engine) -> None:
    """From now on this engine's connections stay the URL's user (the migrations)."""
    _OWNER_ENGINES.add(engine)
    engine.dispose()  # pooled connections have switched already


def _bypass_allowed(app) -> bool:
    value = app.config.get("ALLOW_RLS_BYPASS", os.environ.get("ALLOW_RLS_BYPASS", ""))
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def init_app(app) -> None:
    """Bind the app to row-level security on PostgreSQL (create_app calls this):

    * every connection switches to `DATABASE_ROLE` when it is set;
    * outside tests the app refuses to start, and any later connection refuses to
      open, as a superuser or a BYPASSRLS role, unless `ALLOW_RLS_BYPASS=1`;
    * `flask db upgrade` runs as the URL's user (the owner), never the app role;
    * `/healthz` also runs a scoped query (grants and policies, not just a socket)."""
    from ..extensions import db

    app.before_request(_health_probe)
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    refuse = not app.config.get("TESTING") and not _bypass_allowed(app)
    with app.app_context():
        engine = db.engine
        switch_role(engine, app.config.get("DATABASE_ROLE"), refuse_bypass=refuse)
        if not refuse:
            return
        try:
            with engine.connect():
                pass
        except DBAPIError as exc:
            if isinstance(exc.orig, RowSecurityBypassed):
                raise exc.orig from None
            # unreachable, or the role does not exist before the first upgrade: every
            # connection keeps checking, and /healthz reports it
            log.warning("row-security check postponed: %s", exc.orig)
        except RowSecurityBypassed:
            raise


def _migrations_run_as_owner(config):
    """Flask-Migrate hook (every `flask db …` command): the owner migrates."""
    from ..extensions import db

    act_as_owner(db.engine)
    return config


def _register_migrate_hook() -> None:
    from ..extensions import migrate

    if _migrations_run_as_owner not in migrate.configure_callbacks:
        migrate.configure(_migrations_run_as_owner)


_register_migrate_hook()


# --- the application role ------------------------------------------------------------

TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
READ_ONLY_TABLES = ("alembic_version",)


def grant_app_role(connection: Connection, role: str) -> None:
    """Create `role` if missing and give it exactly what the application needs:
    row access to the schema's tables (read-only for the migration bookkeeping), its
    sequences, nothing else: it owns nothing, so it can neither alter a table nor
    switch its row-level security off. Run by the owner (`flask db upgrade`); the
    owner becomes a member so that its connections may `SET ROLE` to it. Idempotent.
    Tables created later by the owner get the same grants by default privileges."""
    if connection.dialect.name != "postgresql":
        return
    quoted = connection.dialect.identifier_preparer.quote(role)
    exists = connection.exec_driver_sql(
        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = %(r)s", {"r": role}
    ).first()
    if exists is None:
        connection.exec_driver_sql(
            f"CREATE ROLE {quoted} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
        )
    elif exists[0]:  # needs a superuser; fails loudly otherwise, as it should
        connection.exec_driver_sql(f"ALTER ROLE {quoted} NOSUPERUSER NOBYPASSRLS")
    me, superuser = connection.exec_driver_sql(
        "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
    ).one()
    if me != role and not superuser:
        connection.exec_driver_sql(f'GRANT {quoted} TO "{me}"')
    read_only = [
        t for t in READ_ONLY_TABLES
        if connection.exec_driver_sql("SELECT to_regclass(%(t)s)", {"t": t}).scalar()
    ]
    for sql in (
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quoted}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {quoted}",
        f"REVOKE CREATE ON SCHEMA public FROM {quoted}",
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT {TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA public TO {quoted}",
        *(f"REVOKE INSERT, UPDATE, DELETE ON {t} FROM {quoted}" for t in read_only),
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {TABLE_PRIVILEGES} ON TABLES TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
    ):
        connection.exec_driver_sql(sql)


def revoke_default_privileges(connection: Connection, role: str) -> None:
    if connection.dialect.name != "postgresql":
        return
    quoted = connection.dialect.identifier_preparer.quote(role)
    if connection.exec_driver_sql(
        "SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": role}
    ).first():
        connection.exec_driver_sql(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {quoted}"
        )
        connection.exec_driver_sql(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {quoted}"
        )


# --- health --------------------------------------------------------------------------

def probe() -> None:
    """Run one scoped ORM query on a tenant table (raises when it cannot run): the
    grants, the policies and the scope machinery, not just the socket."""
    from sqlalchemy import func, select

    from ..assets.models import Asset
    from ..extensions import db
    from .scope import use_scope

    with use_scope(Scope.nothing()):
        db.session.execute(select(func.count(Asset.id))).scalar()


def _health_probe():
    from flask import request

    if request.endpoint != "core.healthz":
        return None
    try:
        probe()
    except Exception:  # the point is to report, not to crash
        log.exception("health check: a scoped query cannot run")
        from ..extensions import db

        db.session.rollback()
        return {"status": "error", "database": "scoped query failed"}, 503
    return None
