"""One archive (tar.gz) that loses nothing: the database, the uploaded files and a
manifest.

* the database: `pg_dump` custom format on PostgreSQL, taken in a snapshot exported
  from the transaction that also counts and hashes every table, so the figures in the
  manifest describe exactly the dump; on SQLite the online backup API (a consistent
  copy while the app runs), counted and hashed from the copy;
* every file under `UPLOAD_DIR`, with its SHA-256;
* `manifest.json`: format, time, dialect, the Alembic revision, the SHA-256 of each
  member, and per table its row count and a hash of its rows in key order.

`restore` reads the manifest first, checks every member's checksum, refuses a database
that is not empty, an upload directory that is not empty and (unless told to migrate) a
revision other than the code's, then restores and compares every table's count and
hash with the manifest. PostgreSQL row-level security: the dump and the hashes run with
`app.org_ids=all` (the owner is bound by the forced policies like the app); grants are
not restored from the archive but given again to `DATABASE_ROLE`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from flask import current_app
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine, make_url

from .. import clock
from ..extensions import db
from ..tenancy import row_security

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
UPLOADS = "uploads"
# derived data a restore rebuilds byte for byte with its table (SQLite FTS5 shadow tables)
DERIVED_PREFIX = "asset_search"
CHUNK = 1 << 20


class BackupError(RuntimeError):
    """The archive cannot be written or restored; the message says why (Chinese)."""


@dataclass
class RestoreResult:
    revision: str | None
    migrated_to: str | None
    tables: int
    rows: int
    files: int
    mismatched: list[str] = field(default_factory=list)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _ordered_select(connection: Connection, table: str) -> str:
    inspector = inspect(connection)
    quote = connection.dialect.identifier_preparer.quote
    keys = inspector.get_pk_constraint(table).get("constrained_columns") or [
        c["name"] for c in inspector.get_columns(table)
    ]
    return f"SELECT * FROM {quote(table)} ORDER BY " + ", ".join(quote(k) for k in keys)


def table_digests(connection: Connection) -> dict[str, dict]:
    """Every table's row count and SHA-256 of its rows in key order (the caller's
    transaction: on PostgreSQL every organisation's rows are read)."""
    row_security.see_all(connection)
    figures = {}
    for table in sorted(inspect(connection).get_table_names()):
        if table.startswith(DERIVED_PREFIX):
            continue
        digest, rows = hashlib.sha256(), 0
        result = connection.exec_driver_sql(_ordered_select(connection, table))
        for row in result:
            digest.update(repr(tuple(row)).encode())
            digest.update(b"\n")
            rows += 1
        figures[table] = {"rows": rows, "sha256": digest.hexdigest()}
    return figures


def database_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def code_revision() -> str | None:
    """The head of the migrations this code ships."""
    from alembic.script import ScriptDirectory

    directory = current_app.extensions["migrate"].directory
    heads = ScriptDirectory(directory).get_heads()
    return heads[0] if len(heads) == 1 else None


def _upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def _upload_files(root: Path) -> list[Path]:
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file())


# --- PostgreSQL --------------------------------------------------------------------


def _libpq(engine: Engine) -> tuple[str, dict]:
    """(connection URI without the password, environment for pg_dump/pg_restore)."""
    url = make_url(engine.url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    # the policies admit every organisation to a session that says so
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c {row_security.SETTING}=all".strip()
    uri = url.set(drivername="postgresql", password=None, query={})
    return uri.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} 失败：{done.stderr.strip()[:2000]}")


def _dump_postgres(engine: Engine, target: Path) -> tuple[dict, str | None]:
    uri, env = _libpq(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
        tables = table_digests(connection)
        revision = database_revision(connection)
        _run(["pg_dump", "--format=custom", "--enable-row-security", f"--snapshot={snapshot}",
              f"--file={target}", f"--dbname={uri}"], env)
        connection.rollback()
    return tables, revision


def _restore_postgres(engine: Engine, source: Path) -> None:
    uri, env = _libpq(engine)
    _run(["pg_restore", "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
          f"--dbname={uri}", str(source)], env)


# --- SQLite ------------------------------------------------------------------------


def _sqlite_path(engine: Engine) -> str:
    return make_url(engine.url).database


def _dump_sqlite(engine: Engine, target: Path) -> tuple[dict, str | None]:
    raw = engine.raw_connection()
    try:
        copy = sqlite3.connect(target)
        raw.driver_connection.backup(copy)
        copy.close()
    finally:
        raw.close()
    from sqlalchemy import create_engine

    snapshot = create_engine(f"sqlite:///{target}")
    try:
        with snapshot.connect() as connection:
            return table_digests(connection), database_revision(connection)
    finally:
        snapshot.dispose()


def _restore_sqlite(engine: Engine, source: Path) -> None:
    engine.dispose()
    target = sqlite3.connect(_sqlite_path(engine))
    try:
        origin = sqlite3.connect(source)
        origin.backup(target)
        origin.close()
    finally:
        target.close()
    engine.dispose()


# --- the archive -------------------------------------------------------------------


def backup(out: str | Path) -> dict:
    """Write the archive to `out`; returns the manifest."""
    engine = db.engine
    dialect = engine.dialect.name
    if dialect not in DATABASE_MEMBER:
        raise BackupError(f"不支持的数据库：{dialect}")
    out = Path(out)
    uploads = _upload_dir()
    with tempfile.TemporaryDirectory(prefix="backup-") as tmp:
        dump = Path(tmp) / DATABASE_MEMBER[dialect]
        if dialect == "postgresql":
            tables, revision = _dump_postgres(engine, dump)
        else:
            tables, revision = _dump_sqlite(engine, dump)
        files = {
            path.relative_to(uploads).as_posix(): {
                "sha256": sha256_file(path), "bytes": path.stat().st_size,
            }
            for path in _upload_files(uploads)
        }
        manifest = {
            "format": FORMAT,
            "created_at": clock.utcnow_naive().isoformat(timespec="seconds") + "Z",
            "dialect": dialect,
            "revision": revision,
            "database": {
                "member": dump.name, "sha256": sha256_file(dump), "bytes": dump.stat().st_size,
            },
            "tables": tables,
            "files": files,
        }
        manifest_path = Path(tmp) / MANIFEST
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w:gz", compresslevel=1) as archive:
            archive.add(manifest_path, arcname=MANIFEST)
            archive.add(dump, arcname=dump.name)
            for name in files:
                archive.add(uploads / name, arcname=f"{UPLOADS}/{name}")
        partial.replace(out)  # no half-written archive under the final name
    return manifest


def read_manifest(archive_path: str | Path) -> dict:
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            member = archive.extractfile(MANIFEST)
            manifest = json.loads(member.read().decode("utf-8"))
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise BackupError(f"不是有效的备份文件：{exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"不支持的备份格式：{manifest.get('format')}")
    return manifest


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise BackupError(f"备份中含有不安全的路径：{name}")
    return path


def _extract_verified(archive_path: Path, manifest: dict, into: Path) -> None:
    """Extract every member the manifest lists and check its checksum; anything
    missing, extra or different refuses the whole archive."""
    expected = {manifest["database"]["member"]: manifest["database"]["sha256"]}
    expected.update({f"{UPLOADS}/{n}": f["sha256"] for n, f in manifest["files"].items()})
    seen = set()
    with tarfile.open(archive_path, "r:*") as archive:
        for member in archive:
            if member.name == MANIFEST:
                continue
            path = _safe_name(member.name)
            if not member.isfile() or member.name not in expected:
                raise BackupError(f"备份中有清单未列出的内容：{member.name}")
            target = into / path
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.extractfile(member) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, CHUNK)
            if sha256_file(target) != expected[member.name]:
                raise BackupError(f"校验和不符：{member.name}")
            seen.add(member.name)
    missing = sorted(set(expected) - seen)
    if missing:
        raise BackupError(f"备份缺少文件：{'、'.join(missing[:10])}")


def _database_is_empty(engine: Engine) -> bool:
    with engine.connect() as connection:
        return not inspect(connection).get_table_names()


def restore(archive_path: str | Path, *, migrate: bool = False) -> RestoreResult:
    """Restore the archive into this app's (empty) database and upload directory."""
    archive_path = Path(archive_path)
    manifest = read_manifest(archive_path)
    engine = db.engine
    dialect = engine.dialect.name
    if manifest["dialect"] != dialect:
        raise BackupError(f"备份来自 {manifest['dialect']}，不能恢复到 {dialect}")
    code = code_revision()
    if manifest["revision"] != code and not migrate:
        raise BackupError(
            f"备份的数据库版本 {manifest['revision']} 与程序版本 {code} 不同；"
            "确认后加 --migrate 恢复并升级"
        )
    if not _database_is_empty(engine):
        raise BackupError("目标数据库不是空的：只能恢复到空数据库")
    uploads = _upload_dir()
    if _upload_files(uploads):
        raise BackupError(f"上传目录不是空的：{uploads}")
    db.session.remove()
    with tempfile.TemporaryDirectory(prefix="restore-") as tmp:
        staged = Path(tmp)
        _extract_verified(archive_path, manifest, staged)
        source = staged / manifest["database"]["member"]
        if dialect == "postgresql":
            _restore_postgres(engine, source)
        else:
            _restore_sqlite(engine, source)
        engine.dispose()
        uploads.mkdir(parents=True, exist_ok=True)
        for name in manifest["files"]:
            target = uploads / _safe_name(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(staged / UPLOADS / name, target)
    role = current_app.config.get("DATABASE_ROLE")
    if dialect == "postgresql" and role:
        with _owner_connection(engine) as connection:
            row_security.grant_app_role(connection, role)
    migrated_to = None
    if manifest["revision"] != code:
        import flask_migrate

        flask_migrate.upgrade()
        migrated_to = code
    with engine.connect() as connection:
        restored = table_digests(connection)
        connection.rollback()
    mismatched = [] if migrated_to else [
        name for name, figures in manifest["tables"].items() if restored.get(name) != figures
    ]
    if mismatched:
        raise BackupError(f"恢复后数据与备份不符：{'、'.join(mismatched)}")
    files_ok = all(
        sha256_file(uploads / name) == f["sha256"] for name, f in manifest["files"].items()
    )
    if not files_ok:
        raise BackupError("恢复后的上传文件与备份不符")
    return RestoreResult(
        revision=manifest["revision"],
        migrated_to=migrated_to,
        tables=len(restored),
        rows=sum(t["rows"] for t in restored.values()),
        files=len(manifest["files"]),
    )


class _owner_connection:  # noqa: N801 - used as a context manager
    """A transaction as the URL's own user (the owner), not the application role."""

    def __init__(self, engine: Engine):
        from sqlalchemy import create_engine

        self._engine = create_engine(engine.url)

    def __enter__(self) -> Connection:
        self._connection = self._engine.connect()
        self._transaction = self._connection.begin()
        return self._connection

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self._transaction.commit()
        else:
            self._transaction.rollback()
        self._connection.close()
        self._engine.dispose()


