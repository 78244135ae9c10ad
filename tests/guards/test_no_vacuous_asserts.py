"""No assertion that cannot fail: an assertion ending in "or" followed by the constant
true, or asserting that constant itself, passes whatever the code does."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
# built from parts so that this file does not match itself
VACUOUS = re.compile(r"\bor\s+" + "True" + r"\b|\bassert\s+" + "True" + r"\b")


def vacuous_lines(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if VACUOUS.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_no_assertion_that_cannot_fail():
    assert vacuous_lines(TESTS) == []


def test_the_scan_finds_them(tmp_path):
    (tmp_path / "test_x.py").write_text(
        "def test_a():\n    assert f() or " + "True" + "\n\ndef test_b():\n    assert " + "True\n"
    )
    assert [line.split(":")[1] for line in vacuous_lines(tmp_path)] == ["2", "5"]
