"""Every page reads in English: each GET route of app.url_map, and the detail pages the
list pages link to (one object per endpoint), rendered in English for each demo role,
shows no Han character (nor Chinese punctuation) outside the data (names, addresses,
notes... as stored)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import JSON, String, Text, select

from asset_registry.extensions import db
from asset_registry.tenancy.scope import Scope, use_scope
from tests.page_walk import walk_pages

ROLES = ("admin", "wjw", "scjg", "rmyy", "rmyy_xj")
HAN = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")
# the language switch names the other language in that language, on purpose
OWN_NAME = "中文"
VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "source", "wbr"}


class VisibleText(HTMLParser):
    """Text a reader sees or hears: text nodes outside script/style, and the attributes
    read aloud or shown (placeholder, title, aria-label, alt, button values)."""

    SHOWN_ATTRS = ("placeholder", "title", "aria-label", "alt", "data-confirm")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template") and tag not in VOID:
            self._hidden += 1
        values = dict(attrs)
        for name in self.SHOWN_ATTRS:
            if values.get(name):
                self.parts.append(values[name])
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(values["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return "\n".join(parser.parts)


def _strings_in(value) -> list[str]:
    """The text in a stored value: a string, or the strings inside a JSON document
    (checklists, import mappings, the audit's before/after values)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_strings_in(k), *_strings_in(v))]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _strings_in(v)]
    return []


def _data_values() -> list[str]:
    """Every stored text value with Han characters (the demo's data), longest first, so a
    name is removed whole before any shorter name inside it."""
    values: set[str] = set()
    with use_scope(Scope.system()):
        for table in db.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String | Text | JSON):
                    continue
                stmt = select(column).where(column.isnot(None))
                if not isinstance(column.type, JSON):
                    stmt = stmt.distinct()  # JSON has no equality on PostgreSQL
                for (value,) in db.session.execute(stmt):
                    for text in _strings_in(value):
                        if HAN.search(text):
                            values.add(text.strip())
                            # multi-line notes are shown line by line
                            values.update(
                                line.strip() for line in text.splitlines() if line.strip())
    return sorted((v for v in values if v), key=len, reverse=True)


@pytest.fixture(scope="module")
def data_values(app):
    return _data_values()


def _english_client(login, username):
    c = login(username)
    # the session only: the user's saved preference stays as it is for other tests
    with c.client.session_transaction() as session:
        session["lang"] = "en"
    return c


def _untranslated(text: str, data: list[str]) -> list[str]:
    for value in data:
        if value in text:
            text = text.replace(value, " ")
    text = text.replace(OWN_NAME, " ")
    found = []
    for line in text.splitlines():
        if HAN.search(line):
            found.append(line.strip()[:160])
    return found


@pytest.mark.parametrize("username", ROLES)
def test_every_page_reads_in_english(app, login, data_values, username):
    c = _english_client(login, username)
    findings: dict[str, list[str]] = {}
    pages = 0
    for url, _endpoint, html in walk_pages(app, c):
        pages += 1
        assert 'lang="en"' in html, f"{url} is not in English"
        problems = _untranslated(visible_text(html), data_values)
        if problems:
            findings[url] = sorted(set(problems))
    assert pages > 10
    report = "\n".join(f"{url}: {lines}" for url, lines in sorted(findings.items()))
    assert not findings, f"Han characters in English pages as {username}:\n{report}"
