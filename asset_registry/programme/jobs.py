"""The dispatch reminders as a scheduled job runs them: their own transaction."""

from __future__ import annotations

import datetime as dt
import logging

from ..extensions import db
from . import rounds

log = logging.getLogger(__name__)


def remind_job(today: dt.date | None = None) -> int:
    """Send the due and late reminders of every open round and commit; idempotent, so a
    daily run (or a catch-up after downtime) sends each notice once."""
    try:
        sent = rounds.send_reminders(today)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    log.info("programme reminders: %s", sent)
    return sent
