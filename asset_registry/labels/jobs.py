"""Label sheets too large for one request (LABELS_INLINE_MAX, 2,000 by default) are
rendered by a background thread that works from the LabelJob row alone: its own app
context, session and the scope of the membership that asked. Progress goes to the row
in short transactions of their own; the PDF is written under a temporary name and
moved into place when complete, so a download never gets half a file."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from .. import clock
from ..assets.services import AssetFilters
from ..db_events import on_commit
from ..extensions import db
from ..tenancy.models import Membership
from ..tenancy.row_security import see_all
from ..tenancy.scope import Scope, use_scope
from ..tenancy.services import scope_for
from .models import LabelJob, LabelJobStatus
from .render import Label, write_labels
from .services import labels_for

log = logging.getLogger(__name__)
PROGRESS_EVERY = 250  # labels between progress writes
# far longer than any sheet takes (20,000 labels render in well under a minute): a job
# still unfinished after this lost its thread (a restart) and is reported as failed
STALE_AFTER = dt.timedelta(minutes=30)
_threads: dict[int, threading.Thread] = {}


def queue(
    scope: Scope,
    membership: Membership,
    layout: str,
    total: int,
    *,
    asset_ids: list[int] | None = None,
    filters: AssetFilters | None = None,
    start: int = 1,
) -> LabelJob:
    """A job row for the request to commit; its thread starts after the commit."""
    job = LabelJob(
        org_id=membership.org_id,
        membership_id=membership.id,
        layout=layout,
        start=start,
        asset_ids=asset_ids,
        filters=None if asset_ids is not None else (filters or AssetFilters()).to_args(),
        total=total,
    )
    db.session.add(job)
    db.session.flush()
    app = current_app._get_current_object()
    job_id = job.id
    on_commit(db.session(), lambda: start_thread(app, job_id))
    return job


def start_thread(app: Flask, job_id: int) -> threading.Thread:
    thread = threading.Thread(
        target=run_in_thread, args=(app, job_id), name=f"labels-{job_id}", daemon=True
    )
    _threads[job_id] = thread
    thread.start()
    return thread


def _update_job(job_id: int, **values) -> None:
    table = LabelJob.__table__
    with db.engine.begin() as connection:
        see_all(connection)  # the job's own row, by id, outside any session's scope
        connection.execute(update(table).where(table.c.id == job_id).values(**values))


def _with_progress(labels: Iterable[Label], job_id: int) -> Iterator[Label]:
    for n, label in enumerate(labels, 1):
        if n % PROGRESS_EVERY == 0:
            _update_job(job_id, done=n)
        yield label


def output_dir(org_id: int) -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / "labels" / str(org_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_in_thread(app: Flask, job_id: int) -> None:
    with app.app_context():
        session = db.session()
        try:
            with use_scope(Scope.system()):
                job = session.scalars(select(LabelJob).where(LabelJob.id == job_id)).first()
                if job is None or job.status != LabelJobStatus.QUEUED:
                    return
                membership = session.scalars(
                    select(Membership).where(Membership.id == job.membership_id)
                ).one()
                scope = scope_for(membership)
                layout, asset_ids, filters = job.layout, job.asset_ids, job.filters
                start = job.start
                org_id = job.org_id
            _update_job(job_id, status=LabelJobStatus.RUNNING)
            path = output_dir(org_id) / f"{uuid.uuid4().hex}.pdf"
            partial = path.with_suffix(".part")
            with use_scope(scope):
                labels = labels_for(
                    scope,
                    asset_ids=asset_ids,
                    filters=None if asset_ids is not None else AssetFilters.from_args(filters),
                )
                with open(partial, "wb") as out:
                    count = write_labels(
                        _with_progress(labels, job_id), out, layout, title=_("设备二维码标签"),
                        start=start,
                    )
            os.replace(partial, path)
            session.rollback()
            _update_job(
                job_id,
                status=LabelJobStatus.DONE,
                done=count,
                total=count,
                path=str(path),
                finished_at=clock.utcnow_naive(),
            )
        except Exception:  # the job must end in a state the user sees, never silently
            log.exception("label job %s failed", job_id)
            session.rollback()
            _update_job(job_id, status=LabelJobStatus.FAILED, finished_at=clock.utcnow_naive())
        finally:
            db.session.remove()
            _threads.pop(job_id, None)


def fail_if_stale(job: LabelJob, now: dt.datetime | None = None) -> bool:
    """A job left queued or running by a process that died is failed, so its page says
    so (and offers nothing to wait for) instead of refreshing for ever."""
    now = now or clock.utcnow_naive()
    unfinished = job.status in (LabelJobStatus.QUEUED, LabelJobStatus.RUNNING)
    if unfinished and job.created_at < now - STALE_AFTER:
        job.status, job.finished_at = LabelJobStatus.FAILED, now
        db.session.flush()
        return True
    return False


def wait(job_id: int, timeout: float = 60) -> None:
    """For tests and the CLI: until the job's thread has finished."""
    thread = _threads.get(job_id)
    if thread is not None:
        thread.join(timeout)
