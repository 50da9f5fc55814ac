"""GB/T 2260 administrative divisions: the shipped table's structure and the lookups."""

import csv
from importlib.resources import files

import pytest

from credit.regions import (
    Region,
    is_known,
    load_regions,
    name_of,
    province_of,
    same_province,
)


def shipped_rows() -> list[dict[str, str]]:
    text = (files("credit") / "data" / "regions.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def level(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


# --- the table ------------------------------------------------------------------------


def test_file_has_three_columns_sorted_without_duplicates():
    rows = shipped_rows()
    codes = [row["code"] for row in rows]
    assert list(rows[0]) == ["code", "name", "parent"]
    assert codes == sorted(codes)
    assert len(codes) == len(set(codes))


def test_about_the_full_national_list():
    assert 3100 <= len(load_regions()) <= 3400


def test_codes_are_six_digits_with_names():
    for code, region in load_regions().items():
        assert len(code) == 6 and code.isascii() and code.isdigit(), code
        assert region.code == code
        assert region.name.strip() == region.name != "", code


def test_parents_follow_the_code_structure():
    table = load_regions()
    for code, region in table.items():
        if level(code) == "province":
            assert region.parent is None, code
        elif level(code) == "prefecture":
            assert region.parent == code[:2] + "0000", code
        else:
            assert region.parent == code[:4] + "00", code
        assert region.parent is None or region.parent in table, code


def test_every_county_has_a_prefecture_and_a_province():
    table = load_regions()
    for code in table:
        if level(code) == "county":
            assert code[:4] + "00" in table, code
            assert code[:2] + "0000" in table, code


def test_thirty_four_provinces_including_taiwan_hong_kong_macau():
    provinces = {code for code in load_regions() if level(code) == "province"}
    assert len(provinces) == 34
    assert {"710000", "810000", "820000"} <= provinces


def test_municipalities_group_their_districts_under_xx0100():
    table = load_regions()
    for province in ("110000", "120000", "310000", "500000"):
        grouping = province[:2] + "0100"
        assert table[grouping].parent == province
        districts = [c for c in table if c.startswith(province[:2] + "01") and c != grouping]
        assert districts
        assert all(table[c].parent == grouping for c in districts)
    assert table["500200"].name == "县"
    assert table["500229"].parent == "500200"


def test_counties_under_direct_provincial_rule():
    table = load_regions()
    assert table["419001"].name == "济源市"
    assert table["419001"].parent == "419000"
    assert table["429004"].parent == "429000"
    assert table["469001"].parent == "469000"
    assert table["659001"].parent == "659000"


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("110000", "北京市"),
        ("110101", "东城区"),
        ("310115", "浦东新区"),
        ("440000", "广东省"),
        ("440300", "深圳市"),
        ("440305", "南山区"),
        ("441900", "东莞市"),
        ("330113", "临平区"),
        ("460302", "西沙区"),
        ("650000", "新疆维吾尔自治区"),
        ("810000", "香港特别行政区"),
        ("820000", "澳门特别行政区"),
    ],
)
def test_spot_checks(code, name):
    assert name_of(code) == name


@pytest.mark.parametrize(
    "code",
    [
        "110103",  # 崇文区, merged into 东城区 in 2010
        "320684",  # 海门市, a district (320614) since 2020
        "330103",  # 下城区, merged in 2021
        "371200",  # 莱芜市, merged into 济南 in 2019
        "130101",  # a 市辖区 statistical grouping, not a division
        "232761",  # 大兴安岭 pseudo-district, not in the ministry list
    ],
)
def test_retired_and_grouping_codes_are_not_known(code):
    assert not is_known(code)


def test_load_returns_a_copy():
    load_regions().clear()
    assert is_known("110000")


def test_region_is_frozen():
    with pytest.raises(AttributeError):
        Region("110000", "北京市", None).name = "x"  # type: ignore[misc]


# --- lookups ---------------------------------------------------------------------------


def test_is_known_and_name_of():
    assert is_known("440300")
    assert not is_known("440399")
    assert not is_known("4403")
    assert name_of("440399") is None


def test_province_of():
    assert province_of("440305") == "440000"
    assert province_of("440300") == "440000"
    assert province_of("440000") == "440000"
    assert province_of("999999") == "990000"  # structural, not a lookup


@pytest.mark.parametrize("code", ["", "4403", "44030A", "4403051", "４４０３０５", None])
def test_province_of_rejects_malformed_codes(code):
    with pytest.raises(ValueError):
        province_of(code)


def test_same_province():
    assert same_province("440305", "441900")
    assert same_province("110101", "110000")
    assert not same_province("440305", "110101")
    with pytest.raises(ValueError):
        same_province("440305", "abc")


def test_every_known_code_lies_in_a_known_province():
    for code in load_regions():
        assert is_known(province_of(code))
        assert same_province(code, province_of(code))
