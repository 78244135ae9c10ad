"""The one source of "now" and "today", so tests and `--today` can move time."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from zoneinfo import ZoneInfo

# Stored times are UTC; pages, exports and mail show them in this zone (TIMEZONE).
LOCAL_TZ = ZoneInfo(os.environ.get("TIMEZONE") or "Asia/Shanghai")
_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """Current time, timezone-aware (UTC)."""
    return _frozen if _frozen is not None else dt.datetime.now(dt.UTC)


def utcnow_naive() -> dt.datetime:
    """UTC without tzinfo, for DateTime columns (SQLite keeps no zone)."""
    return now().astimezone(dt.UTC).replace(tzinfo=None)


def today() -> dt.date:
    """The calendar date in Jincheng."""
    return now().astimezone(LOCAL_TZ).date()


def local(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored time (naive UTC, or aware) in the local zone, for display."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(LOCAL_TZ)


@contextlib.contextmanager
def frozen(at: dt.datetime | dt.date) -> Iterator[None]:
    """Freeze the clock (tests, `alerts scan --today`)."""
    global _frozen
    if isinstance(at, dt.date) and not isinstance(at, dt.datetime):
        at = dt.datetime.combine(at, dt.time(9, 0), LOCAL_TZ)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    previous, _frozen = _frozen, at
    try:
        yield
    finally:
        _frozen = previous
