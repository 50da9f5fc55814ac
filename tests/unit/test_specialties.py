"""The specialty classification (发改法规〔2018〕316号): the shipped table and the covers() rule."""

import csv
from importlib.resources import files

import pytest
from hypothesis import given
from hypothesis import strategies as st

from experts.specialties import (
    Specialty,
    covers,
    is_well_formed,
    known,
    load_specialties,
    parent_of,
    tree,
)

well_formed_codes = st.from_regex(r"[ABC](?:[0-9]{2}){0,3}", fullmatch=True)
shipped_codes = st.sampled_from(sorted(load_specialties()))


def shipped_rows() -> list[dict[str, str]]:
    text = (files("experts") / "data" / "specialties.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


# --- the table ------------------------------------------------------------------------


def test_file_has_code_and_name_columns_sorted_without_duplicates():
    rows = shipped_rows()
    codes = [row["code"] for row in rows]
    assert list(rows[0]) == ["code", "name"]
    assert codes == sorted(codes)
    assert len(codes) == len(set(codes))


def test_every_code_is_well_formed_named_and_has_its_parent():
    table = load_specialties()
    for code, specialty in table.items():
        assert is_well_formed(code), code
        assert specialty.code == code
        assert specialty.name.strip() == specialty.name != "", code
        assert specialty.parent == parent_of(code)
        assert specialty.parent is None or specialty.parent in table, code


def test_three_categories_and_all_four_levels_present():
    table = load_specialties()
    assert [c for c in table if len(c) == 1] == ["A", "B", "C"]
    by_level = {level: sum(len(c) == 1 + 2 * level for c in table) for level in range(4)}
    assert by_level[1] >= 30
    assert by_level[2] >= 300
    assert by_level[3] >= 1500


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("A", "工程"),
        ("B", "货物"),
        ("C", "服务"),
        ("A01", "规划"),
        ("A05", "监理"),
        ("A08", "工程施工"),
        ("A0801", "建筑工程"),
        ("A030101", "岩土工程勘察/工程地质勘察"),
        ("A0521", "设备监造"),
        ("A052101", "城市轨道交通"),
        ("A051801", "广播电视制播工程"),
        ("B01", "机电产品类"),
        ("B0101", "建筑机械"),
        ("B010101", "隧道掘进设备"),
        ("C02", "公共咨询"),
        ("C020114", "采购与招标投标咨询"),
        ("C13", "应对气候变化服务"),
    ],
)
def test_spot_checks(code, name):
    assert load_specialties()[code].name == name


def test_items_sit_under_the_code_they_start_with():
    # The public transcription filed A0518's and A0521's items one group too early.
    table = load_specialties()
    assert table["A051801"].parent == "A0518"
    assert table["A0518"].name == "广播电影电视工程"
    assert not any(s.parent == "A0516" for s in table.values())


def test_load_returns_a_copy():
    first = load_specialties()
    first.clear()
    assert known("A01")
    assert load_specialties()


def test_specialty_is_frozen():
    with pytest.raises(AttributeError):
        Specialty("A", "工程", None).name = "x"  # type: ignore[misc]


# --- codes ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["A", "B", "C", "A01", "A0101", "A010101", "C130101"])
def test_well_formed(code):
    assert is_well_formed(code)


@pytest.mark.parametrize(
    "code",
    ["", "D", "a01", "A1", "A011", "A01010101", " A01", "A01\n", "A０１", "A-01", "01", None, 101],
)
def test_not_well_formed(code):
    assert not is_well_formed(code)


def test_parent_of():
    assert parent_of("A010101") == "A0101"
    assert parent_of("A0101") == "A01"
    assert parent_of("A01") == "A"
    assert parent_of("A") is None
    with pytest.raises(ValueError):
        parent_of("A1")


def test_known():
    assert known("A010101")
    assert not known("A019999")
    assert not known("not a code")


# --- covers(): held equals requested or lies below it -------------------------------


def test_covers_examples():
    assert covers("A08", "A0801")
    assert covers("A08", "A080101")
    assert covers("A", "A080101")
    assert covers("A0801", "A0801")
    assert not covers("A0801", "A08")
    assert not covers("A0801", "A0802")
    assert not covers("A", "B01")
    assert not covers("A01", "A1")
    assert not covers("", "A01")


@given(well_formed_codes, well_formed_codes)
def test_covers_is_prefix_order(requested, held):
    assert covers(requested, held) == held.startswith(requested)


@given(well_formed_codes)
def test_covers_is_reflexive_and_parents_cover_children(code):
    assert covers(code, code)
    parent = parent_of(code)
    if parent is not None:
        assert covers(parent, code)
        assert not covers(code, parent)


@given(well_formed_codes, well_formed_codes, well_formed_codes)
def test_covers_is_transitive_and_antisymmetric(a, b, c):
    if covers(a, b) and covers(b, c):
        assert covers(a, c)
    if covers(a, b) and covers(b, a):
        assert a == b


@given(shipped_codes)
def test_every_shipped_code_is_covered_by_its_ancestors(code):
    ancestor = parent_of(code)
    while ancestor is not None:
        assert covers(ancestor, code)
        assert known(ancestor)
        ancestor = parent_of(ancestor)


# --- tree() ---------------------------------------------------------------------------


def test_tree_holds_every_code_once_under_its_parent():
    table = load_specialties()
    roots = tree()
    assert [node["code"] for node in roots] == ["A", "B", "C"]
    seen: list[str] = []

    def walk(node, parent):
        assert set(node) == {"code", "name", "children"}
        assert node["name"] == table[node["code"]].name
        assert table[node["code"]].parent == parent
        seen.append(node["code"])
        children = [child["code"] for child in node["children"]]
        assert children == sorted(children)
        for child in node["children"]:
            walk(child, node["code"])

    for root in roots:
        walk(root, None)
    assert sorted(seen) == sorted(table)


def test_tree_is_fresh_each_call():
    tree()[0]["children"].clear()
    assert tree()[0]["children"]
