"""The Alembic migrations build exactly the schema the models declare."""

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from asset_registry import create_app
from asset_registry.extensions import db
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
            flask_migrate.downgrade(revision="base")
            left = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
            assert left == set()
            db.engine.dispose()
    finally:
        cleanup()
