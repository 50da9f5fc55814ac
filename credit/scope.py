"""Scope of a listing: sectors and regions, national when both are empty.

A listing applies to an act when the act's sector is among the listing's sectors (or the
listing names none) and the act's region is covered by one of the listing's regions (or
the listing names none). A GB/T 2260 code covers itself; a province code ``xx0000`` covers
every code of the province; a prefecture code ``xxyy00`` covers its counties.

When the question names no sector (or no region), a listing scoped by sector (or region)
still applies: the service cannot tell that the act falls outside the scope, and refusing
a debarred subject by mistake is cheaper than admitting one.
"""

from __future__ import annotations

from collections.abc import Iterable

SECTORS = ("construction", "procurement", "land", "property", "other")
# 工程建设 / 政府采购 / 土地使用权和矿业权 / 国有产权 / 其他


def pack(codes: Iterable[str] | None) -> str:
    """Codes as stored: sorted, unique, between commas; '' for none."""
    unique = sorted({c for c in (codes or ()) if c})
    return "," + ",".join(unique) + "," if unique else ""


def unpack(packed: str | None) -> list[str]:
    return [c for c in (packed or "").split(",") if c]


def covering_regions(region: str) -> list[str]:
    """The codes whose scope includes ``region``: itself, its prefecture, its province."""
    codes = [region]
    if len(region) == 6 and region.isascii() and region.isdigit():
        for parent in (region[:4] + "00", region[:2] + "0000"):
            if parent not in codes:
                codes.append(parent)
    return codes


def region_covers(scope: str, region: str) -> bool:
    if scope == region:
        return True
    if scope.endswith("0000"):
        return region[:2] == scope[:2]
    if scope.endswith("00"):
        return region[:4] == scope[:4]
    return False


def in_scope(sectors: str, regions: str, sector: str | None, region: str | None) -> bool:
    """Does a listing with packed ``sectors``/``regions`` apply to an act in sector/region?"""
    if sectors and sector and f",{sector}," not in sectors:
        return False
    return not (
        regions and region and not any(region_covers(code, region) for code in unpack(regions))
    )
