"""Backup and restore lose nothing: the seeded demo with attachments, backed up and
restored into a fresh database and upload directory, has every table's rows and every
file back, byte for byte; a damaged archive, a database that is not empty and a
different migration revision are refused. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import flask_migrate
import pytest
from sqlalchemy import inspect, select

from asset_registry import create_app
from asset_registry.assets.models import Asset
from asset_registry.assets.services import add_attachment
from asset_registry.backup.services import MANIFEST, BackupError, backup, restore
from asset_registry.cli import seed_all
from asset_registry.extensions import db
from asset_registry.tenancy import row_security
from asset_registry.tenancy.scope import Scope, use_scope
from config import TestingConfig
from tests.helpers import throwaway_database_url

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n" + "设备检验报告".encode() * 100 + b"\n%%EOF\n"


def _app(tmp_path: Path, name: str):
    url, cleanup = throwaway_database_url(tmp_path / name)
    (tmp_path / name).mkdir(exist_ok=True)
    config = type("Config", (TestingConfig,), {
        "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(tmp_path / name / "uploads"),
    })
    return create_app(config), cleanup


def _contents(app) -> dict:
    """Every table's row count and a hash of its rows (in any order), computed here
    independently of the code under test, and every uploaded file's hash."""
    tables = {}
    with app.app_context(), db.engine.connect() as connection:
        row_security.see_all(connection)
        for table in sorted(inspect(connection).get_table_names()):
            if table.startswith("asset_search"):
                continue
            rows = sorted(
                repr(tuple(r)) for r in connection.exec_driver_sql(f'SELECT * FROM "{table}"')
            )
            tables[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
        root = Path(app.config["UPLOAD_DIR"])
        files = {
            p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()
        }
    return {"tables": tables, "files": files}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """The seeded demo at the code's migration revision, with two attachments."""
    tmp = tmp_path_factory.mktemp("backup")
    app, cleanup = _app(tmp, "source")
    with app.app_context():
        flask_migrate.upgrade()
        seed_all()
        with use_scope(Scope.system()):
            asset = db.session.scalars(select(Asset).order_by(Asset.id).limit(1)).one()
            add_attachment(Scope.system(), asset, PNG, "铭牌.png", "photo", None)
            add_attachment(Scope.system(), asset, PDF, "检验报告.pdf", "certificate", None)
            db.session.commit()
        archive = tmp / "backup.tar.gz"
        manifest = backup(archive)
        db.session.remove()
    yield app, archive, manifest, tmp
    with app.app_context():
        db.engine.dispose()
    cleanup()


def test_round_trip_loses_nothing(source, tmp_path):
    app, archive, manifest, _ = source
    assert manifest["revision"] and len(manifest["files"]) == 2
    assert manifest["tables"]["asset"]["rows"] > 0
    target, cleanup = _app(tmp_path, "target")
    try:
        with target.app_context():
            result = restore(archive)
            db.session.remove()
        assert result.files == 2 and result.migrated_to is None
        before, after = _contents(app), _contents(target)
        assert set(after["tables"]) == set(before["tables"])
        for table, figures in before["tables"].items():
            assert after["tables"][table] == figures, table
        assert after["files"] == before["files"] and len(before["files"]) == 2
        # the restored register works: a scoped query through the app
        with target.app_context(), use_scope(Scope.system()):
            assert db.session.scalar(select(Asset.id).limit(1)) is not None
            db.session.remove()
    finally:
        with target.app_context():
            db.engine.dispose()
        cleanup()


def test_restore_refuses_a_database_that_is_not_empty(source):
    app, archive, _, _ = source
    with app.app_context(), pytest.raises(BackupError, match="不是空的"):
        restore(archive)


def _rewritten(archive: Path, out: Path, change) -> Path:
    """A copy of the archive with `change(name, data) -> data` applied to each member."""
    with tarfile.open(archive, "r:*") as src, tarfile.open(out, "w:gz") as dst:
        for member in src:
            data = change(member.name, src.extractfile(member).read())
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return out


@pytest.mark.parametrize("damage", ["upload", "database"])
def test_a_damaged_archive_is_refused_before_anything_is_written(source, tmp_path, damage):
    _, archive, manifest, _ = source
    victim = f"uploads/{sorted(manifest['files'])[0]}" if damage == "upload" else \
        manifest["database"]["member"]

    def flip(name, data):
        return data[:-1] + bytes([data[-1] ^ 1]) if name == victim else data

    broken = _rewritten(archive, tmp_path / "broken.tar.gz", flip)
    target, cleanup = _app(tmp_path, "target")
    try:
        with target.app_context():
            with pytest.raises(BackupError, match="校验和不符"):
                restore(broken)
            with db.engine.connect() as connection:
                assert inspect(connection).get_table_names() == []
        assert not any(Path(target.config["UPLOAD_DIR"]).rglob("*.*"))
    finally:
        with target.app_context():
            db.engine.dispose()
        cleanup()


def test_another_revision_needs_migrate(source, tmp_path):
    _, archive, manifest, _ = source

    def older(name, data):
        if name != MANIFEST:
            return data
        changed = json.loads(data)
        changed["revision"] = "0000older000"
        return json.dumps(changed).encode()

    other = _rewritten(archive, tmp_path / "older.tar.gz", older)
    target, cleanup = _app(tmp_path, "target")
    try:
        with target.app_context(), pytest.raises(BackupError, match="--migrate"):
            restore(other)
    finally:
        with target.app_context():
            db.engine.dispose()
        cleanup()


def test_the_cli_backs_up_and_restores(source, tmp_path):
    app, _, _, _ = source
    out = tmp_path / "cli.tar.gz"
    # the commands run in this app's context (Flask's CLI keeps an outer one if pushed,
    # as the suite's shared app fixture does)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["backup", str(out)])
    assert result.exit_code == 0, result.output
    assert "已备份" in result.output and out.exists()
    with app.app_context():
        refused = app.test_cli_runner().invoke(args=["restore", str(out)])
    assert refused.exit_code == 2 and "不是空的" in refused.output
