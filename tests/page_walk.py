"""Walk the app's pages as a signed-in client: every GET route without arguments, then the
first link each page offers to every route with arguments (one object per kind: an asset,
a plan, an import job...). Used by the English-pages and the accessibility tests."""

from __future__ import annotations

import re
from collections.abc import Iterator

# ends the session, or starts a background job on a GET
SKIP_ENDPOINTS = {"static", "auth.logout", "labels.pdf"}
FILE_SUFFIXES = (".xlsx", ".pdf", ".docx", ".json", "/download", "/progress")
HREF = re.compile(r'href="(/[^"#?]*)(?:\?[^"#]*)?"')


def _endpoint_of(app, path: str) -> str | None:
    try:
        endpoint, _args = app.url_map.bind("localhost").match(path, method="GET")
    except Exception:  # noqa: BLE001 - not a page of the app, or a redirect rule
        return None
    return endpoint


def _has_arguments(app, endpoint: str) -> bool:
    return any(rule.arguments for rule in app.url_map.iter_rules(endpoint))


def walk_pages(app, client) -> Iterator[tuple[str, str, str]]:
    """(url, endpoint, html) of each HTML page `client` can open, once per URL."""
    todo = sorted(
        rule.rule for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint not in SKIP_ENDPOINTS and not rule.arguments
    )
    followed: set[str] = set()
    visited: set[str] = set()
    while todo:
        url = todo.pop(0)
        if url in visited or url.endswith(FILE_SUFFIXES):
            continue
        visited.add(url)
        response = client.get(url, follow_redirects=True)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        yield url, _endpoint_of(app, url) or "", html
        for link in HREF.findall(html):
            endpoint = _endpoint_of(app, link)
            if endpoint is None or endpoint in SKIP_ENDPOINTS or endpoint in followed:
                continue
            if _has_arguments(app, endpoint) and link not in visited:
                followed.add(endpoint)
                todo.append(link)
