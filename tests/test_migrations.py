"""The Alembic migrations build exactly the schema the models declare."""

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from asset_registry import create_app
from asset_registry.extensions import db
from asset_registry.tenancy.row_security import tenant_tables
from config import TestingConfig
from tests.helpers import throwaway_database_url


def test_upgrade_from_empty_matches_models(tmp_path):
    url, cleanup = throwaway_database_url(tmp_path)

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = url
        UPLOAD_DIR = str(tmp_path / "uploads")

    app = create_app(Config)
    try:
        with app.app_context():
            flask_migrate.upgrade()
            with db.engine.connect() as conn:
                options = app.extensions["migrate"].configure_args
                context = MigrationContext.configure(
                    conn,
                    opts={"compare_type": True, "include_object": options["include_object"]},
                )
                diff = compare_metadata(context, db.metadata)
            assert diff == []
            if db.engine.dialect.name == "postgresql":
                # every tenant table has its row-level security (a new tenant table's
                # migration must add it: install_row_security(bind, [table]))
                with db.engine.connect() as conn:
                    protected = set(
                        conn.exec_driver_sql(
                            "SELECT c.relname FROM pg_class c"
                            " JOIN pg_policy p ON p.polrelid = c.oid"
                            " WHERE c.relrowsecurity AND c.relforcerowsecurity"
                        ).scalars()
                    )
                assert set(tenant_tables()) <= protected
            flask_migrate.downgrade(revision="base")
            left = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
            assert left == set()
            db.engine.dispose()
    finally:
        cleanup()
