"""Last in the seeding order: the dashboards' rollups over the demo just loaded."""

from __future__ import annotations

from .. import clock
from .services import refresh_rollups


def seed_demo() -> None:
    refresh_rollups(clock.today())
