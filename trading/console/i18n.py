"""Chinese first, English available: one message catalogue per language.

The language comes from ``?lang=`` (remembered in a cookie) and defaults to Chinese.
Catalogues are built from one table of (zh, en) pairs so that no key can exist in one
language only; a test also checks every key the templates use is in the table.
"""

from __future__ import annotations

import logging
from typing import Any

from trading.console.messages import MESSAGES

log = logging.getLogger(__name__)

DEFAULT = "zh"
LANGUAGES = ("zh", "en")
HTML_LANG = {"zh": "zh-CN", "en": "en"}

CATALOGUES: dict[str, dict[str, str]] = {
    lang: {key: pair[index] for key, pair in MESSAGES.items()}
    for index, lang in enumerate(LANGUAGES)
}


def pick(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT


def text(lang: str, key: str, **values: Any) -> str:
    """The message ``key`` in ``lang``, with ``{name}`` placeholders filled from ``values``."""
    template = CATALOGUES.get(lang, CATALOGUES[DEFAULT]).get(key)
    if template is None:
        log.warning("console message %r has no text", key)
        return key
    if not values:
        return template
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        log.warning("console message %r does not take %s", key, sorted(values))
        return template


def label(lang: str, group: str, code: str | None) -> str:
    """A code's name (``status.open``), or the code itself when the catalogue lacks it."""
    if code is None or code == "":
        return "—"
    key = f"{group}.{code}"
    return CATALOGUES.get(lang, CATALOGUES[DEFAULT]).get(key, code)
