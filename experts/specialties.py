"""Evaluation-expert specialties (评标专家专业分类), the national classification.

The table is 《公共资源交易评标专家专业分类标准》 (发改法规〔2018〕316号), shipped as
``experts/data/specialties.csv`` (``code,name``, sorted by code). A code is a letter for the
category (A 工程, B 货物, C 服务) followed by up to three two-digit levels, so a code's parent
is the code without its last two digits and "lies below" is "starts with"
(``A0101`` → ``A01`` → ``A``). Nothing here touches Flask or the database.

Where the data comes from, and what is missing:

* Codes and names were transcribed from a public transcription of the 2018 standard
  (GitHub ``zkf-cn/BiddingBox``, ``src/data/expert.json``). The second-level names of B and
  C, and the third-level names under A08 (工程施工), agree with an independent seed script
  of the same standard. Third and fourth levels that the 2018 revision kept from the 2010
  trial standard (发改法规〔2010〕1538号) were compared with two transcriptions of that
  version; the differences are the revision's own (renumbered A0101, renamed A0302 …).
* That transcription hangs the items of A0518 (广播电影电视工程) under A0516 and those of
  A0521 (设备监造) under A0520; here every code sits under the code it starts with, which
  is also the layout of the 2010 standard.
* ``C14 网络、电磁空间安全服务`` appears in one source only and is left out.
* Third-level codes without fourth-level entries (A0516 电子工程, A0520 机电安装工程,
  A0522, A0909, B0144, B0401, B0402, B0503, B0601, B0602, most of C03–C06, C10 …) are
  shipped as leaves; whether the standard lists items under them could not be checked.
* Names are kept as transcribed, including likely slips of the source: B030402 钻挺
  (钻铤), A090113 高环境风险化学特制管控工程, B090119 and B090123 both 劳动防护用品, and
  B012809/B012810 (消弧线圈, 接地变及中性点成套装置避雷器) under B0128 兵器装备.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any

_WELL_FORMED = re.compile(r"[ABC](?:[0-9]{2}){0,3}")


@dataclass(frozen=True, slots=True)
class Specialty:
    code: str
    name: str
    parent: str | None


def is_well_formed(code: str) -> bool:
    """True for ``A``, ``A01``, ``A0101``, ``A010101``; whether the code exists is `known`."""
    return isinstance(code, str) and _WELL_FORMED.fullmatch(code) is not None


def parent_of(code: str) -> str | None:
    """The code one level up, or None for a category (A, B, C)."""
    if not is_well_formed(code):
        raise ValueError(f"not a specialty code: {code!r}")
    return code[:-2] if len(code) > 1 else None


def covers(requested: str, held: str) -> bool:
    """Whether an expert holding ``held`` may sit for ``requested``: that code or one below it."""
    return is_well_formed(requested) and is_well_formed(held) and held.startswith(requested)


@cache
def _table() -> Mapping[str, Specialty]:
    text = (files("experts") / "data" / "specialties.csv").read_text(encoding="utf-8")
    table: dict[str, Specialty] = {}
    for row in csv.DictReader(io.StringIO(text)):
        code, name = row["code"], row["name"].strip()
        if not is_well_formed(code) or not name or code in table:
            raise ValueError(f"bad specialties.csv row: {row}")
        table[code] = Specialty(code, name, parent_of(code))
    orphans = [s.code for s in table.values() if s.parent is not None and s.parent not in table]
    if orphans:
        raise ValueError(f"specialties.csv: codes without their parent: {orphans}")
    return MappingProxyType(table)


def load_specialties() -> dict[str, Specialty]:
    """Every specialty by code, in code order (the file is read once; the dict is a copy)."""
    return dict(_table())


def known(code: str) -> bool:
    return code in _table()


def tree() -> list[dict[str, Any]]:
    """The classification as nested ``{code, name, children}``, categories first, in code order."""
    nodes: dict[str, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    for specialty in sorted(_table().values(), key=lambda s: s.code):
        node = {"code": specialty.code, "name": specialty.name, "children": []}
        nodes[specialty.code] = node
        siblings = roots if specialty.parent is None else nodes[specialty.parent]["children"]
        siblings.append(node)
    return roots
