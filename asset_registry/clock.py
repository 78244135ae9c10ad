"""The one source of "now" and "today", so tests and `--today` can move time."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
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
