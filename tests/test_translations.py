"""The English catalogue is complete: every UI msgid (the Chinese text) has an English
msgstr with the same placeholders, and every string the code and templates use is in it,
so a new untranslated UI string fails CI (fix: `make translations-update`, then translate)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
EN_PO = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"

# %(name)s, %(s).1f, %s, %d, %% ; {name} ; HTML tags
PLACEHOLDER = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]|\{[^{}]*\}|</?[a-zA-Z][^>]*>"
)


def _placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


def _read(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def _texts(message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple | list) else [message.id]


def _strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string]


def test_every_english_msgstr_is_filled_with_the_same_placeholders():
    catalog = _read(EN_PO)
    problems = []
    count = 0
    for message in catalog:
        if not message.id:
            continue
        count += 1
        msgid = _texts(message)[0]
        if message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        strings = _strings(message)
        if not all(s and s.strip() for s in strings):
            problems.append(f"untranslated: {msgid!r}")
            continue
        expected = _placeholders(msgid)
        for s in strings:
            if _placeholders(s) != expected:
                problems.append(f"placeholders differ: {msgid!r} -> {s!r}")
    assert count > 0
    assert not problems, "\n".join(problems)


def test_every_extracted_ui_string_is_in_the_english_catalogue(tmp_path, monkeypatch):
    pot = tmp_path / "messages.pot"
    monkeypatch.chdir(ROOT)
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "N_", "-o", str(pot), "."]
    )
    extracted = {m.id for m in _read(pot) if m.id}
    assert extracted, "pybabel extract found no messages"
    english = {m.id for m in _read(EN_PO) if m.id}
    missing = sorted(str(i) for i in extracted - english)
    assert not missing, (
        "UI strings missing from the English catalogue (run `make translations-update` "
        "and translate them):\n" + "\n".join(missing)
    )
