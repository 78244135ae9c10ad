"""The alert tests' fresh-institution fixture, shared with the guards."""

from tests.alerts.conftest import make_site  # noqa: F401
