"""Under the Content-Security-Policy the pages' own scripts still run and nothing is
refused: no CSP violation on the main pages, and behaviour moved out of inline script
(the asset form's category blocks, select-all on the list) works."""

from __future__ import annotations

import pytest

from tests.helpers import browser_login

pytestmark = pytest.mark.e2e

PAGES = ("/dashboard/", "/assets/", "/assets/new", "/inspections/due", "/plans/", "/imports/",
         "/alerts/", "/api-tokens/", "/admin/users", "/inspections/scanner")


def test_no_page_breaks_the_policy(page):
    violations = []
    page.on("console", lambda msg: violations.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    browser_login(page, "rmyy")
    for url in PAGES:
        page.goto(url)
        page.wait_for_load_state("networkidle")
    assert violations == []


def test_moved_scripts_still_work(page):
    browser_login(page, "rmyy")
    page.goto("/assets/")
    page.check("#select-all")
    boxes = page.locator(".asset-check")
    assert boxes.count() > 0
    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    page.goto("/assets/new")
    blocks = page.locator("[data-show-for]")
    assert blocks.count() > 0 and all(not blocks.nth(i).is_visible()
                                      for i in range(blocks.count()))
