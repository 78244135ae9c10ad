"""Accessibility: axe-core (vendored in static/vendor/axe) on every page type, as each demo
role, finds no serious or critical violation; the navigation bar fits one line at 1366 px
in both languages; the site has a favicon."""

from __future__ import annotations

import pytest

from tests.helpers import browser_login
from tests.page_walk import walk_pages

pytestmark = pytest.mark.e2e

ROLES = ("admin", "wjw", "scjg", "rmyy", "rmyy_xj")
AXE = "/static/vendor/axe/axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' +
                                                    (n.failureSummary || '').slice(0, 160))}));
}"""


def _page_urls(app, login, username: str) -> list[str]:
    """One URL per endpoint (a page type), found by walking the pages as that user."""
    urls, endpoints = [], set()
    for url, endpoint, _html in walk_pages(app, login(username)):
        if endpoint not in endpoints:
            endpoints.add(endpoint)
            urls.append(url)
    return urls


def _axe_violations(page) -> list[dict]:
    # loaded from the app's own origin, which the Content-Security-Policy allows
    page.add_script_tag(url=AXE)
    return page.evaluate(RUN_AXE)


@pytest.mark.parametrize("username", ROLES)
def test_no_serious_accessibility_violation_on_any_page(app, login, page, username):
    urls = _page_urls(app, login, username)
    assert len(urls) > 10
    browser_login(page, username)
    found = {}
    for url in urls:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        violations = _axe_violations(page)
        if violations:
            found[url] = violations
    report = "\n".join(
        f"{url}: {v['id']} ({v['impact']}) {v['help']} {v['nodes']}"
        for url, violations in found.items() for v in violations
    )
    assert not found, f"axe violations as {username}:\n{report}"


def test_the_sign_in_page_and_the_public_scan_page_are_accessible(page, app, login):
    page.goto("/login")
    assert _axe_violations(page) == []
    scan = next(url for url, endpoint, _ in walk_pages(app, login("rmyy"))
                if endpoint == "scan.page")
    page.context.clear_cookies()
    page.goto(scan)
    assert _axe_violations(page) == []


def _switch_language(page):
    page.click("#lang-switch")
    page.wait_for_load_state("networkidle")


NAV_FITS = """() => {
  const nav = document.querySelector('nav.navbar');
  const links = [...nav.querySelectorAll('.nav-link, .navbar-brand, #lang-switch')]
    .filter(el => el.offsetParent !== null);
  const lineHeight = Math.max(...links.map(el => parseFloat(getComputedStyle(el).lineHeight)
                                                 || el.getBoundingClientRect().height));
  // one line: every item's vertical centre within the same band
  const rows = new Set(links.map(el => {
    const r = el.getBoundingClientRect();
    return Math.round((r.top + r.height / 2) / 24);
  }));
  return {
    wrapped: links.filter(el => el.getBoundingClientRect().height > lineHeight * 1.6 + 16)
                  .map(el => el.textContent.trim()),
    rows: rows.size,
    overflow: document.documentElement.scrollWidth > window.innerWidth,
    navOverflow: nav.scrollWidth > nav.clientWidth,
  };
}"""


@pytest.mark.parametrize("username", ("admin", "rmyy", "wjw"))
def test_the_navigation_fits_one_line_at_1366_px_in_both_languages(page, username):
    page.set_viewport_size({"width": 1366, "height": 800})
    browser_login(page, username)
    page.goto("/assets/")
    try:
        for language in ("zh-CN", "en"):
            if page.locator("html").get_attribute("lang") != language:
                _switch_language(page)
            assert page.locator("html").get_attribute("lang") == language
            fit = page.evaluate(NAV_FITS)
            assert fit == {"wrapped": [], "rows": 1, "overflow": False, "navOverflow": False}, (
                language, fit)
    finally:
        # the switch is saved on the user: leave the demo user in Chinese for other tests
        if page.locator("html").get_attribute("lang") != "zh-CN":
            _switch_language(page)


def test_favicon(page):
    page.goto("/login")
    href = page.locator("link[rel=icon]").get_attribute("href")
    response = page.request.get(href)
    assert response.ok and response.headers["content-type"].startswith("image/")
    assert page.request.get("/favicon.ico").ok
