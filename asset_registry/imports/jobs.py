"""Running an ImportJob: inline for small files, in a background thread for large ones.

The thread works from the ImportJob row alone (its own app context, session and a
scope for the job's organisation), so closing the page does not stop it. Progress
goes to the row in separate short transactions; the data is written in ONE
transaction at the end, so an interrupted job leaves nothing half-written and can
simply be run again (a job left `running` by a restart is re-queued).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select, update

from .. import clock
from ..audit.hooks import import_batch, set_actor
from ..bulk import release_memory
from ..db_events import on_commit
from ..extensions import db
from ..tenancy.row_security import see_all
from ..tenancy.scope import Scope, use_scope
from .mapping import from_json
from .messages import N_
from .models import ImportJob, ImportKind, ImportStatus
from .report import write_error_report
from .services import ImportResult, estimate_rows, run_import
from .undo import undo_record

log = logging.getLogger(__name__)
STALE_AFTER = dt.timedelta(minutes=10)
MSG_CRASHED = N_("导入过程中出错，未写入任何数据。请稍后重新运行。")
MSG_INTERRUPTED = N_("导入在运行中被中断（服务重启），未写入任何数据，已重新排队。")

_threads: dict[int, threading.Thread] = {}


def job_scope(job: ImportJob) -> Scope:
    """What a job may touch: its own organisation, nothing else."""
    return Scope(
        org_ids=frozenset({job.org_id}), org_id=job.org_id, user_id=job.user_id, role="import"
    )


def upload_dir(org_id: int) -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / "imports" / str(org_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_upload(org_id: int, filename: str, stream) -> tuple[str, int]:
    """Save an uploaded file under a random name; (path, size)."""
    suffix = Path(filename or "").suffix.lower()[:8]
    path = upload_dir(org_id) / f"{uuid.uuid4().hex}{suffix if suffix.isascii() else ''}"
    with open(path, "wb") as out:
        while chunk := stream.read(1 << 20):
            out.write(chunk)
    return str(path), path.stat().st_size


def runs_in_background(job: ImportJob) -> bool:
    threshold = current_app.config["IMPORT_BACKGROUND_ROWS"]
    if job.rows_total:
        return job.rows_total > threshold
    return job.size > threshold * 60  # no row estimate: ~60 bytes per compressed row


def _update_job(job_id: int, **values) -> None:
    """Bookkeeping on the job's row in a short transaction of its own, committed at
    once (the import's own transaction stays open)."""
    table = ImportJob.__table__
    with db.engine.begin() as connection:
        see_all(connection)  # the job's own row, by id, outside any session's scope
        connection.execute(update(table).where(table.c.id == job_id).values(**values))


def _set_progress(job_id: int, rows_done: int) -> None:
    _update_job(job_id, rows_done=rows_done, heartbeat_at=clock.utcnow_naive())


def execute(job: ImportJob, scope: Scope | None = None) -> ImportResult:
    """Run the job in the current session and record the outcome on the row; the
    caller commits (one transaction: the data and the final counts together)."""
    scope = scope or job_scope(job)
    options = {
        "filename": job.filename,
        "dry_run": job.dry_run,
        "valid_only": job.valid_only,
        "max_bytes": current_app.config["IMPORT_MAX_BYTES"],
        "max_rows": current_app.config["IMPORT_MAX_ROWS"],
    }
    if job.kind == ImportKind.PLAN_ITEMS:
        options["plan_id"] = job.plan_id
    if job.mapping:
        options["mapping"] = from_json(job.mapping, job.kind)
    if job.background:
        job_id = job.id
        options["progress"] = lambda n: _set_progress(job_id, n)
    with import_batch(db.session(), job.id):
        result = run_import(scope, job.org_id, job.kind, job.stored_path, **options)
    record_result(job, result)
    return result


def record_result(job: ImportJob, result: ImportResult) -> None:
    job.new_count, job.changed_count = result.new, result.changed
    job.unchanged_count, job.rejected_count = result.unchanged, result.rejected
    job.skipped_count = result.skipped
    job.written = result.written
    job.rows_done = job.rows_total = (
        result.new + result.changed + result.unchanged + result.rejected
    )
    job.summary = result.as_summary()
    job.finished_at = job.heartbeat_at = clock.utcnow_naive()
    report_path = Path(job.stored_path).with_name(Path(job.stored_path).stem + "-errors.xlsx")
    if result.unusable:
        job.status, job.message = ImportStatus.FAILED, result.unusable
        report = write_error_report(result, report_path)
        job.error_report_path = str(report) if report else None
        return
    job.status, job.message = ImportStatus.DONE, None
    if result.written and not job.dry_run:
        job.written_at = clock.utcnow_naive()
        job.undo = undo_record(result)
    report = write_error_report(
        result, Path(job.stored_path).with_name(Path(job.stored_path).stem + "-errors.xlsx")
    )
    job.error_report_path = str(report) if report else None


def prepare(job: ImportJob) -> None:
    """Before a run: reset the outcome and estimate the rows for the progress bar."""
    job.status = ImportStatus.QUEUED
    job.rows_done = 0
    job.rows_total = estimate_rows(job.stored_path)
    job.message = None
    job.background = runs_in_background(job)


def run_or_queue(job: ImportJob, scope: Scope) -> None:
    """Small file: run now in the request's transaction. Large: start a thread once
    the request has committed the job row."""
    prepare(job)
    if not job.background:
        job.status, job.started_at = ImportStatus.RUNNING, clock.utcnow_naive()
        db.session.flush()
        try:
            with db.session.begin_nested():  # a crash undoes the data, not the job row
                execute(job, scope)
        except Exception:  # the user gets a message and a re-run button, never a 500
            log.exception("import job %s failed", job.id)
            job.status, job.message = ImportStatus.FAILED, MSG_CRASHED
            job.finished_at = clock.utcnow_naive()
        return
    db.session.flush()
    app = current_app._get_current_object()
    job_id = job.id
    on_commit(db.session(), lambda: start_thread(app, job_id))


def start_thread(app: Flask, job_id: int) -> threading.Thread:
    thread = threading.Thread(
        target=run_in_thread, args=(app, job_id), name=f"import-{job_id}", daemon=True
    )
    _threads[job_id] = thread
    thread.start()
    return thread


def run_in_thread(app: Flask, job_id: int) -> None:
    with app.app_context():
        session = db.session()
        try:
            with use_scope(Scope.system()):
                job = session.scalars(select(ImportJob).where(ImportJob.id == job_id)).first()
                if job is None or job.status not in (ImportStatus.QUEUED,):
                    return
                job.status = ImportStatus.RUNNING
                job.started_at = job.heartbeat_at = clock.utcnow_naive()
                session.commit()
            scope = job_scope(job)
            set_actor(session, job.user_id, "import-job")
            with use_scope(scope):
                execute(job, scope)
                session.commit()
            release_memory(session.connection())
        except Exception:  # the job must end in a state the user sees, never silently
            log.exception("import job %s failed", job_id)
            session.rollback()
            _mark_failed(job_id, MSG_CRASHED)
        finally:
            db.session.remove()
            _threads.pop(job_id, None)


def _mark_failed(job_id: int, message: str) -> None:
    _update_job(
        job_id, status=ImportStatus.FAILED, message=message, finished_at=clock.utcnow_naive()
    )


def is_stale(job: ImportJob, now: dt.datetime | None = None) -> bool:
    """Running, but no heartbeat for a while and no thread of ours: the process died."""
    now = now or clock.utcnow_naive()
    beat = job.heartbeat_at or job.started_at or job.created_at
    return (
        job.status == ImportStatus.RUNNING
        and job.id not in _threads
        and beat is not None
        and beat < now - STALE_AFTER
    )


def requeue_stale(now: dt.datetime | None = None) -> list[int]:
    """Jobs left `running` with no heartbeat for a while (the process died): queue
    them again. Their data was never committed, so a re-run is safe. System scope."""
    now = now or clock.utcnow_naive()
    stale = list(
        db.session.scalars(
            select(ImportJob).where(
                ImportJob.status == ImportStatus.RUNNING,
                ImportJob.heartbeat_at < now - STALE_AFTER,
            )
        )
    )
    for job in stale:
        if job.id in _threads:  # still alive in this process
            continue
        job.status, job.message, job.rows_done = ImportStatus.QUEUED, MSG_INTERRUPTED, 0
    return [job.id for job in stale if job.id not in _threads]
