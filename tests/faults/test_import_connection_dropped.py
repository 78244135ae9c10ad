"""The database connection dropped in the middle of an import: the job ends failed with
its message, and none of its rows (assets, duties, audit) were kept.

A real failure of the real database: on PostgreSQL a second connection terminates the
import's server process (pg_terminate_backend); on SQLite the import's own DBAPI
connection is closed under it. Either happens right after the import's first batch of
assets has been written, inside its one transaction."""

from __future__ import annotations

import re

from sqlalchemy import create_engine, event, func, select

from asset_registry.audit.models import AuditEvent
from asset_registry.extensions import db
from asset_registry.imports import jobs, services
from asset_registry.inspections.models import Obligation
from asset_registry.tenancy.scope import Scope, use_scope
from tests.imports.ledgers import simple_ledger, unique_prefix
from tests.imports.test_import_assets import assets_like
from tests.imports.test_import_web import get_job, job_id_of, upload, wait_for

REGISTER_AUDIT = select(func.count(AuditEvent.id)).where(
    AuditEvent.entity.in_(["asset", "obligation"])
)
ASSET_INSERT = re.compile(r"^\s*INSERT\b[^(]*\bINTO asset\b", re.IGNORECASE)


class ConnectionKiller:
    """Kills the connection that runs the second asset INSERT, just before it runs."""

    def __init__(self, engine):
        self.engine, self.inserts, self.killed = engine, 0, False
        self.admin = None
        if engine.dialect.name == "postgresql":
            self.admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if self.killed or not ASSET_INSERT.search(statement):
            return
        self.inserts += 1
        if self.inserts < 2:
            return
        self.killed = True
        dbapi_connection = conn.connection.dbapi_connection
        if self.admin is None:
            dbapi_connection.close()
            return
        with self.admin.connect() as other:
            other.exec_driver_sql(
                "SELECT pg_terminate_backend(%(pid)s)", {"pid": dbapi_connection.info.backend_pid}
            )

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self)
        if self.admin is not None:
            self.admin.dispose()


def test_connection_dropped_mid_import_fails_the_job_and_keeps_nothing(
    app, login, tmp_path, monkeypatch
):
    p = unique_prefix()
    rows = [(f"{p}-{i:03d}", f"监护仪{i}") for i in range(40)]
    client = login("rmyy")
    monkeypatch.setitem(app.config, "IMPORT_BACKGROUND_ROWS", 10)  # the job's own thread
    monkeypatch.setattr(services, "BATCH_SIZE", 8)  # several batches in one transaction
    job_id = job_id_of(upload(client, simple_ledger(tmp_path / "台账.xlsx", rows)))
    assert wait_for(client, job_id)["status"] == "done"  # the dry run
    with use_scope(Scope.system()):
        audit_before = db.session.scalar(REGISTER_AUDIT)
        duties_before = db.session.scalar(select(func.count(Obligation.id)))
        db.session.rollback()

    with ConnectionKiller(db.engine) as killer:
        client.post(f"/imports/{job_id}/commit", {})
        progress = wait_for(client, job_id)
    assert killer.killed and killer.inserts == 2

    job = get_job(job_id)
    assert progress["status"] == "failed" and job.status == "failed"
    assert job.message == jobs.MSG_CRASHED and job.finished_at is not None
    assert not job.written and job.written_at is None
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "导入过程中出错，未写入任何数据" in page and "重新运行" in page
    assert assets_like(p) == {}
    with use_scope(Scope.system()):
        assert db.session.scalar(REGISTER_AUDIT) == audit_before
        assert db.session.scalar(select(func.count(Obligation.id))) == duties_before
        db.session.rollback()

    # the database is fine afterwards: the same job, run again, writes every row
    client.post(f"/imports/{job_id}/rerun", {})
    assert wait_for(client, job_id)["status"] == "done"
    job = get_job(job_id)
    assert job.written and len(assets_like(p)) == len(rows)
