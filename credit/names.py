"""Organisation and person names as they are compared (名称比对).

The same firm is typed many ways: full-width or half-width letters and brackets (NFKC),
traditional or simplified characters (OpenCC's character table, shipped by
opencc-python-reimplemented), spaces, brackets around the place (``北京（集团）`` /
``北京(集团)`` / ``北京集团``) and the legal form at the end (有限公司, 有限责任公司,
股份有限公司, Co., Ltd. …). :func:`name_key` folds all of these into one key, stored beside
the name (``subjects.name_key``) so that an exact match is an index lookup; candidates are
ranked with rapidfuzz (:func:`rank`). Nothing here touches the database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from importlib.resources import files

from rapidfuzz import fuzz, process

#: Legal-form suffixes as they read once punctuation is gone, longest first so that
#: 股份有限公司 is not read as …有限公司. 集团 stays: it is part of the name.
LEGAL_FORMS = (
    "股份有限公司",
    "有限责任公司",
    "个人独资企业",
    "普通合伙企业",
    "有限合伙企业",
    "合伙企业",
    "有限公司",
    "普通合伙",
    "有限合伙",
    "公司",
    "coltd",
    "limited",
    "ltd",
    "inc",
)
_NOISE = re.compile(r"[\s()\[\]{}<>【】〔〕〈〉《》「」『』\"'“”‘’·・.,，、。;；:：\-_/]+")


@cache
def _t2s() -> dict[int, str]:
    """OpenCC's traditional-to-simplified character table (``TSCharacters``, shipped by
    opencc-python-reimplemented), as a ``str.translate`` table.

    Character by character, without OpenCC's phrase tables: a name key only has to fold the
    two spellings of one name together, and ``translate`` is some thirty times faster than
    the library's segmenting converter, which batch screening of 1,000 names feels.
    """
    text = (files("opencc") / "dictionary" / "TSCharacters.txt").read_text(encoding="utf-8")
    table: dict[int, str] = {}
    for line in text.splitlines():
        traditional, _, simplified = line.partition("\t")
        if len(traditional) == 1 and simplified.split():
            table[ord(traditional)] = simplified.split()[0]
    return table


def name_key(name: str) -> str:
    """The comparison key of a name: NFKC, simplified, lower case, spaces, brackets and
    punctuation removed, then the legal form at the end dropped.

    ``'北京市建設工程（集團）有限公司'`` and ``'北京市建设工程(集团) 有限责任公司'`` both become
    ``'北京市建设工程集团'``.
    """
    text = unicodedata.normalize("NFKC", name or "").strip().lower()
    text = text.translate(_t2s())
    compact = _NOISE.sub("", text)
    for suffix in LEGAL_FORMS:
        if compact.endswith(suffix) and len(compact) > len(suffix):
            return compact[: -len(suffix)]
    return compact


def rank(query: str, candidates: Iterable[tuple[object, str]], limit: int = 20) -> list:
    """``candidates`` as ``(item, name)``, best first, each with its similarity (0-100)
    to ``query`` by key (rapidfuzz WRatio). Answers ``[(item, score)]``."""
    items = list(candidates)
    if not items:
        return []
    keys = [name_key(name) for _item, name in items]
    found = process.extract(name_key(query), keys, scorer=fuzz.WRatio, limit=limit)
    return [(items[index][0], round(score, 1)) for _key, score, index in found]
