"""Administrative divisions (GB/T 2260 行政区划代码): six digits, province–prefecture–county.

The table is ``credit/data/regions.csv`` (``code,name,parent``; parent empty for a province).
``xx0000`` is a province, ``xxxx00`` a prefecture, anything else a county-level division whose
parent is its ``xxxx00``. Municipalities keep the GB/T 2260 grouping rows (110100 市辖区,
500200 县), and counties governed directly by a province hang under 419000/429000/469000
(省直辖县级行政区划) or 659000 (自治区直辖县级行政区划), so every county has both a
prefecture and a province. Taiwan, Hong Kong and Macau (71, 81, 82) are provinces without
subdivisions, as in the standard. Nothing here touches Flask or the database.

Only codes in force are listed; a record carrying a retired code (a county that became a
district, say) is not "known" here.

Where the data comes from:

* The base is the Ministry of Civil Affairs list of late 2021 as transcribed in GitHub
  ``cn/GB2260`` (``mca/202112.tsv``). It was compared code by code and name by name with
  the dated history in python-stdnum's ``stdnum/cn/loc.dat`` (taken from Chinese
  Wikipedia); apart from the grouping rows above, which the ministry list omits, the two
  agree on every code and name except the cases below.
* Later changes dated in ``loc.dat`` and also named as county-level units by other public
  material are applied: 西沙区 460302 and 南沙区 460303 (2020, missing from the 2021 list),
  米林市 540481 and 错那市 540581 (2023, replacing 540422 and 540530), 和康县 653228 and
  和安县 653229 (2024), 白杨市 659012, 两江新区 500157 (2025). ``loc.dat`` also ends 江北区
  500105 and 渝北区 500112 in 2025; nothing else confirms that, so both are kept.
* Left out of ``loc.dat``'s "current" entries: the four 大兴安岭 districts 232761–232764
  (not divisions in the ministry's list), 422900/422921/429001 (the 林区 and 随州 codes
  superseded by 429021 and 421300), and every ``xxxx01 市辖区`` statistical grouping.
* ``loc.dat`` misses 临平区 330113 and 钱塘区 330114 (2021), taken from the ministry list,
  and names the direct-rule groupings 省直辖县级行政单位; the standard's wording
  (行政区划) is used, as in other transcriptions.
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

_SIX_DIGITS = re.compile(r"[0-9]{6}")


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    parent: str | None


def _checked(code: str) -> str:
    if not isinstance(code, str) or _SIX_DIGITS.fullmatch(code) is None:
        raise ValueError(f"not a GB/T 2260 code: {code!r}")
    return code


@cache
def _table() -> Mapping[str, Region]:
    text = (files("credit") / "data" / "regions.csv").read_text(encoding="utf-8")
    table: dict[str, Region] = {}
    for row in csv.DictReader(io.StringIO(text)):
        code, name = _checked(row["code"]), row["name"].strip()
        if not name or code in table:
            raise ValueError(f"bad regions.csv row: {row}")
        table[code] = Region(code, name, row["parent"] or None)
    orphans = [r.code for r in table.values() if r.parent is not None and r.parent not in table]
    if orphans:
        raise ValueError(f"regions.csv: codes without their parent: {orphans}")
    return MappingProxyType(table)


def load_regions() -> dict[str, Region]:
    """Every region in force by code, in code order (the file is read once; the dict is a copy)."""
    return dict(_table())


def is_known(code: str) -> bool:
    return code in _table()


def name_of(code: str) -> str | None:
    region = _table().get(code)
    return region.name if region else None


def province_of(code: str) -> str:
    """The province code (first two digits + ``0000``); raises ValueError unless six digits."""
    return _checked(code)[:2] + "0000"


def same_province(a: str, b: str) -> bool:
    return province_of(a) == province_of(b)
