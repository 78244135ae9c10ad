"""The rollup refresh as the daily job runs it: its own transaction, never its caller's
failure."""

from __future__ import annotations

import datetime as dt
import logging

from .. import clock
from ..extensions import db
from ..tenancy.scope import Scope, use_scope
from . import services

log = logging.getLogger(__name__)


def refresh_daily(today: dt.date | None = None) -> services.RefreshResult | None:
    """Rebuild every organisation's rollups for `today` and commit. Called after the
    caller has committed its own work: a failure here is logged and leaves yesterday's
    figures (with their older "updated at" time) rather than undoing that work."""
    try:
        with use_scope(Scope.system()):
            result = services.refresh_rollups(today or clock.today())
            db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("dashboard rollup refresh failed")
        return None
    log.info("dashboard rollups refreshed: %s", result)
    return result
