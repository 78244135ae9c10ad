"""The import's row and file messages: written in Chinese where they arise (the error
report and the job's saved summary keep them as the ledger's users read them), shown
in the reader's language.

    MSG_X = N_("长度不能超过 {n} 个字符")   # marked for extraction, formatted as usual
    shown("长度不能超过 30 个字符")         # → "At most 30 characters" on the English UI
"""

from __future__ import annotations

import functools
import re

from flask_babel import get_locale, gettext


def N_(text: str) -> str:  # noqa: N802  (the gettext convention for "mark, translate later")
    return text


_FIELD = re.compile(r"\{(\w+)(?::[^}]*)?\}")


@functools.cache
def _patterns() -> tuple[tuple[re.Pattern, str], ...]:
    """Every message template as a pattern that recovers its parameters; the longest
    first, so a template that is a prefix of another never wins by accident."""
    from .. import validators
    from . import inspections, jobs, mapping, plan_items, reader, services, undo, units, values

    templates = {
        value
        for module in (
            reader,
            values,
            services,
            inspections,
            jobs,
            plan_items,
            units,
            mapping,
            undo,
            validators,
        )
        for name, value in vars(module).items()
        if name.startswith("MSG_") and isinstance(value, str)
    }
    compiled = []
    for template in sorted(templates, key=len, reverse=True):
        parts, last = [], 0
        for field in _FIELD.finditer(template):
            parts.append(re.escape(template[last : field.start()]))
            parts.append(f"(?P<{field[1]}>.+?)")
            last = field.end()
        parts.append(re.escape(template[last:]))
        compiled.append((re.compile("".join(parts), re.DOTALL), template))
    return tuple(compiled)


def _filled(params: dict):
    return lambda field: params.get(field[1], field[0])


def shown(message: str | None) -> str:
    """`message` in the current UI language (unchanged in Chinese, or if unknown)."""
    if not message:
        return message or ""
    locale = get_locale()
    if locale is None or locale.language == "zh":
        return message
    for pattern, template in _patterns():
        found = pattern.fullmatch(message)
        if found is not None:
            return _FIELD.sub(_filled(found.groupdict()), gettext(template))
    # a domain's own message passed through whole (a plan rule's "总投资过大。")
    return gettext(message)
