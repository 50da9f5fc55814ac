"""The console's pure parts: the alert picture, form conversion, the job store, languages."""

from __future__ import annotations

import math

import marshmallow as ma
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.console import graph, i18n
from trading.console.forms import flatten_errors, nest, with_offset

USCCS = [f"91110000{i:09d}X"[:18] for i in range(8)]


def _item(kind: str, members, tender: str | None = "T1", weight: float = 0.8):
    return graph.EvidenceItem(kind, tuple(members), tender, weight)


def test_every_pair_named_by_evidence_gets_an_edge_coloured_by_its_family():
    drawing = graph.layout(
        USCCS[:3],
        [
            _item("same_machine_code", USCCS[:3]),
            _item("identical_prices", USCCS[:2]),
            _item("co_bidding", USCCS[1:3], tender=None),
        ],
        tenders=["T1", "T2"],
    )
    pairs = {(e.a, e.b, e.family) for e in drawing.edges}
    assert pairs == {
        (USCCS[0], USCCS[1], "fingerprint"),
        (USCCS[0], USCCS[2], "fingerprint"),
        (USCCS[1], USCCS[2], "fingerprint"),
        (USCCS[0], USCCS[1], "prices"),
        (USCCS[1], USCCS[2], "network"),
    }
    assert drawing.families == ("fingerprint", "prices", "network")
    # The tender its evidence names is linked to the three members; T2 has no link.
    assert {(link.a, link.b) for link in drawing.links} == {(m, "T1") for m in USCCS[:3]}
    assert {t.id for t in drawing.tenders} == {"T1", "T2"}


def test_parallel_families_between_one_pair_are_drawn_apart():
    drawing = graph.layout(
        USCCS[:2], [_item("same_mac", USCCS[:2]), _item("same_agent", USCCS[:2])]
    )
    first, second = drawing.edges
    assert (first.x1, first.y1) != (second.x1, second.y1)


def test_a_member_named_alone_gets_a_badge_not_an_edge():
    drawing = graph.layout(USCCS[:2], [_item("cover_bidding", USCCS[:1])])
    assert drawing.edges == ()
    badges = {node.id: node.badges for node in drawing.members}
    assert badges == {USCCS[0]: ("network",), USCCS[1]: ()}


def test_too_many_tenders_keeps_those_with_most_evidence_and_counts_the_rest():
    tenders = [f"T{i:03d}" for i in range(graph.MAX_TENDERS + 10)]
    evidence = [_item("same_ip", USCCS[:2], tender="T030")]
    drawing = graph.layout(USCCS[:2], evidence, tenders)
    assert len(drawing.tenders) == graph.MAX_TENDERS
    assert "T030" in {t.id for t in drawing.tenders}
    assert drawing.hidden_tenders == 10


def test_unknown_kinds_are_drawn_as_other_and_evidence_about_strangers_is_ignored():
    drawing = graph.layout(
        USCCS[:2], [_item("new_kind", USCCS[:2]), _item("same_mac", [USCCS[0], "OUTSIDER"])]
    )
    assert [e.family for e in drawing.edges] == ["other"]


@settings(max_examples=40, deadline=None)
@given(
    members=st.lists(st.sampled_from(USCCS), min_size=1, max_size=8, unique=True),
    picks=st.lists(
        st.tuples(
            st.sampled_from(sorted(graph.FAMILIES)),
            st.lists(st.integers(0, 7), min_size=1, max_size=4),
            st.floats(0.01, 1.0),
        ),
        max_size=12,
    ),
)
def test_the_picture_is_deterministic_and_stays_on_the_canvas(members, picks):
    evidence = [
        _item(kind, [members[i % len(members)] for i in idx], weight=w) for kind, idx, w in picks
    ]
    first = graph.layout(members, evidence, ["T1"])
    assert first == graph.layout(list(reversed(members)), list(reversed(evidence)), ["T1"])
    for node in (*first.members, *first.tenders):
        assert 0 <= node.x <= graph.WIDTH and 0 <= node.y <= graph.HEIGHT
    for edge in first.edges:
        assert edge.a < edge.b and edge.a in members and edge.b in members
        assert 1.5 <= edge.width <= 6.0 and not math.isnan(edge.x1)


def test_dotted_form_names_nest_like_the_api_s_json():
    assert nest({"basis.authority": " 住建委 ", "basis.document_no": "", "note": "x"}) == {
        "basis": {"authority": "住建委"},
        "note": "x",
    }
    assert nest({"a": "  ", "b.c.d": "1"}) == {"b": {"c": {"d": "1"}}}


def test_nested_errors_come_back_under_the_form_s_field_names():
    errors = {"basis": {"decided_on": ["Not a valid date."]}, "seats": {0: {"count": ["bad"]}}}
    assert flatten_errors(errors) == {
        "basis.decided_on": ["Not a valid date."],
        "seats.0.count": ["bad"],
    }
    assert flatten_errors(["whole form"]) == {"_schema": ["whole form"]}


def test_a_browser_s_wall_clock_time_is_read_as_beijing_time():
    class Moment(ma.Schema):
        at = ma.fields.AwareDateTime(required=True)

    shifted = with_offset({"at": "2025-06-01T09:30", "other": "x"}, ["at"], 8)
    assert shifted == {"at": "2025-06-01T09:30:00+08:00", "other": "x"}
    loaded = Moment().load({"at": shifted["at"]})["at"]
    assert loaded.utcoffset().total_seconds() == 8 * 3600 and loaded.hour == 9
    assert with_offset({"at": "2025-06-01T09:30:00Z"}, ["at"], 8) == {"at": "2025-06-01T09:30:00Z"}


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_labels_fall_back_to_the_code_and_placeholders_fill(lang):
    assert i18n.label(lang, "status", "nonexistent") == "nonexistent"
    assert i18n.label(lang, "alert_status", None) == "—"
    assert "7" in i18n.text(lang, "alerts.alert", id=7)
    assert i18n.text(lang, "no.such.key") == "no.such.key"
