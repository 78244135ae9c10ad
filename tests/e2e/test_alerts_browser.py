"""Real browser: the bell, the inbox, acknowledge with a note, resolve after confirming."""

from __future__ import annotations

import datetime as dt

from asset_registry import clock
from asset_registry.alerts import jobs
from tests.alerts.conftest import make_site  # noqa: F401 (a fixture)
from tests.helpers import browser_login


def test_bell_inbox_acknowledge_and_resolve(page, make_site):  # noqa: F811
    site = make_site()
    today = clock.today()
    site.add_asset(next_due=today + dt.timedelta(days=3))
    site.add_asset(next_due=today - dt.timedelta(days=2))
    jobs.scan_and_queue(today)

    browser_login(page, site.manager)
    assert page.locator("#alert-bell-count").inner_text() == "2"
    page.click("#alert-bell")
    page.wait_for_url("**/alerts/")
    rows = page.locator("#alerts-table tbody tr")
    assert rows.count() == 2
    assert "已超期" in page.locator("#alerts-table").inner_text()

    first = rows.first
    first.locator(".ack-form input[name=note]").fill("已预约检验机构")
    first.locator(".ack-form button").click()
    page.wait_for_load_state()
    assert "已确认该预警" in page.content()
    assert "已预约检验机构" in page.locator("#alerts-table").inner_text()

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#alerts-table tbody tr").first.locator(".resolve-form button").click()
    page.wait_for_load_state()
    assert "已解除该预警" in page.content()
    assert page.locator("#alert-bell-count").inner_text() == "1"
