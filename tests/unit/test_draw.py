"""The verifiable random draw: determinism, verification, fairness, and its laws."""

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experts import draw as engine
from experts.draw import (
    DrawStream,
    GroupResult,
    GroupShortage,
    SeatGroup,
    Shortfall,
    commitment,
    draw,
    new_seed,
    pool_digest,
    sample,
    uniform_below,
    verify,
)

# Chi-square critical values at p = 0.001 (upper tail), from the standard table
# (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.4), by degrees of freedom. The tests below use
# fixed seeds, so each statistic is a constant: it either passes every run or never.
CHI2_CRITICAL_P001 = {2: 13.816, 6: 22.458, 9: 27.877, 29: 58.301}


def chi_square(counts, expected):
    return sum((observed - expected) ** 2 / expected for observed in counts)


def seed_for(*parts) -> bytes:
    return hashlib.sha256(":".join(map(str, parts)).encode()).digest()


# --- the specification, re-implemented from the module docstring --------------------


def spec_chunks(seed, label):
    counter = 0
    while True:
        block = hashlib.sha256(seed + label.encode("utf-8") + counter.to_bytes(8, "big")).digest()
        for offset in range(0, 32, 8):
            yield int.from_bytes(block[offset : offset + 8], "big")
        counter += 1


def spec_below(chunks, n):
    limit = 2**64 - 2**64 % n
    return next(x for x in chunks if x < limit) % n


def spec_sample(seed, label, population, k):
    pool = sorted(set(population))
    chunks = spec_chunks(seed, label)
    for j in range(k):
        r = j + spec_below(chunks, len(pool) - j)
        pool[j], pool[r] = pool[r], pool[j]
    return tuple(pool[:k])


def spec_draw(seed, groups):
    """Returns (results, shortages) as [(key, selected, backups)], [(key, needed, available)]."""
    taken, seats, short = set(), [], []
    for g, group in enumerate(groups):
        pool = sorted(set(group.candidates) - taken)
        if len(pool) < group.count:
            short.append((group.key, group.count, len(pool)))
            taken |= set(pool)
            continue
        picks = spec_sample(seed, f"seats:{g}:{group.key}", pool, group.count)
        taken |= set(picks)
        seats.append(picks)
    if short:
        return [], short
    results = []
    for g, (group, selected) in enumerate(zip(groups, seats, strict=True)):
        pool = sorted(set(group.candidates) - taken)
        backups = spec_sample(seed, f"backups:{g}:{group.key}", pool, min(group.backups, len(pool)))
        taken |= set(backups)
        results.append((group.key, selected, backups))
    return results, short


# --- seed, commitment, pool digest, stream -----------------------------------------


def test_seed_is_32_fresh_bytes_and_commitment_is_its_sha256():
    seed = new_seed()
    assert isinstance(seed, bytes) and len(seed) == 32
    assert new_seed() != seed
    assert commitment(seed) == hashlib.sha256(seed).hexdigest()
    assert len(commitment(seed)) == 64


def test_pool_digest_is_canonical():
    expected = hashlib.sha256(b"E1\nE10\nE2").hexdigest()
    assert pool_digest(["E2", "E10", "E1"]) == expected
    assert pool_digest(["E10", "E1", "E2", "E1"]) == expected
    assert pool_digest(iter(["E1", "E2", "E10"])) == expected
    assert pool_digest([]) == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("bad", [["a\nb"], [""]])
def test_ids_that_would_make_the_digest_ambiguous_are_refused(bad):
    with pytest.raises(ValueError):
        pool_digest(bad)


def test_stream_is_counter_mode_sha256():
    seed = bytes(range(32))
    stream = DrawStream(seed, "group:0:A01")
    expected = b"".join(
        hashlib.sha256(seed + b"group:0:A01" + i.to_bytes(8, "big")).digest() for i in range(3)
    )
    assert stream.read(5) + stream.read(30) + stream.read(61) == expected


def test_stream_label_is_utf8_and_seed_must_be_32_bytes():
    seed = bytes(32)
    assert DrawStream(seed, "抽取").read(32) == (
        hashlib.sha256(seed + "抽取".encode() + bytes(8)).digest()
    )
    for bad in (b"", bytes(31), bytes(33)):
        with pytest.raises(ValueError):
            DrawStream(bad, "x")


# --- uniform_below --------------------------------------------------------------------


class ScriptedStream:
    """Hands out the given 64-bit values, to test the rejection rule exactly."""

    def __init__(self, *values):
        self.data = b"".join(v.to_bytes(8, "big") for v in values)
        self.consumed = 0

    def read(self, size):
        chunk = self.data[self.consumed : self.consumed + size]
        self.consumed += size
        return chunk


def test_values_at_or_above_the_last_multiple_of_n_are_rejected():
    n = 2**63 + 1  # the worst case: almost half of all 64-bit values are rejected
    limit = 2**64 - 2**64 % n
    assert limit == 2**63 + 1
    stream = ScriptedStream(limit, 2**64 - 1, limit - 1)
    assert uniform_below(stream, n) == (limit - 1) % n
    assert stream.consumed == 24

    n = 10
    limit = 2**64 - 2**64 % n  # 2**64 - 6
    stream = ScriptedStream(limit + 3, limit - 1)
    assert uniform_below(stream, n) == 9
    assert stream.consumed == 16


def test_n_of_one_still_reads_one_chunk():
    stream = ScriptedStream(2**64 - 1)
    assert uniform_below(stream, 1) == 0
    assert stream.consumed == 8
    with pytest.raises(ValueError):
        uniform_below(ScriptedStream(0), 0)


@pytest.mark.parametrize("n", [3, 7, 10])
def test_uniform_below_is_unbiased(n):
    counts = [0] * n
    for i in range(2_000):
        stream = DrawStream(seed_for("uniform", n, i), "chi-square")
        for _ in range(10):
            counts[uniform_below(stream, n)] += 1
    assert chi_square(counts, 20_000 / n) < CHI2_CRITICAL_P001[n - 1]


# --- sample -----------------------------------------------------------------------------


def test_sample_matches_the_published_example():
    population = [f"E{i:02d}" for i in range(1, 11)]
    assert sample(bytes(32), "example", population, 3) == ("E03", "E05", "E10")


def test_every_candidate_is_chosen_equally_often():
    candidates = [f"X{i:02d}" for i in range(30)]
    chosen = dict.fromkeys(candidates, 0)
    first = dict.fromkeys(candidates, 0)
    for i in range(20_000):
        picks = sample(hashlib.sha256(str(i).encode()).digest(), "fairness", candidates, 3)
        assert len(set(picks)) == 3
        first[picks[0]] += 1
        for pick in picks:
            chosen[pick] += 1
    assert chi_square(chosen.values(), 60_000 / 30) < CHI2_CRITICAL_P001[29]
    assert chi_square(first.values(), 20_000 / 30) < CHI2_CRITICAL_P001[29]


def test_sample_refuses_more_than_the_population():
    with pytest.raises(ValueError):
        sample(bytes(32), "x", ["a", "b"], 3)
    assert sample(bytes(32), "x", ["a", "b"], 0) == ()


@settings(max_examples=60, deadline=None)
@given(
    st.binary(min_size=32, max_size=32),
    st.text(max_size=12),
    st.lists(st.text(min_size=1, max_size=4).filter(lambda s: "\n" not in s), max_size=25),
    st.data(),
)
def test_sample_follows_the_specification(seed, label, population, data):
    k = data.draw(st.integers(0, len(set(population))))
    assert sample(seed, label, population, k) == spec_sample(seed, label, population, k)


# --- draw -----------------------------------------------------------------------------

POOL_A = tuple(f"E{i:03d}" for i in range(40))
POOL_B = tuple(f"E{i:03d}" for i in range(30, 80))  # overlaps POOL_A on E030..E039


def two_groups(pool_a=POOL_A, pool_b=POOL_B):
    return [SeatGroup("A01", pool_a, 3, 2), SeatGroup("B02", pool_b, 5, 2)]


def test_draw_is_deterministic():
    seed = seed_for("determinism")
    first = draw(seed, two_groups())
    assert draw(seed, two_groups()) == first
    assert [len(r.selected) for r in first] == [3, 5]
    assert [len(r.backups) for r in first] == [2, 2]


def test_different_seeds_give_different_results():
    results = {tuple(draw(seed_for("seed", i), two_groups())) for i in range(50)}
    assert len(results) == 50


def test_pool_order_and_duplicates_do_not_matter():
    seed = seed_for("order")
    shuffled = list(POOL_A) + list(POOL_A[:5])
    random.Random(1).shuffle(shuffled)
    assert draw(seed, two_groups(pool_a=tuple(shuffled))) == draw(seed, two_groups())


def test_draw_uses_the_seat_and_backup_labels_and_sample():
    seed = seed_for("label")
    [result] = draw(seed, [SeatGroup("A01", POOL_A, 3, 2)])
    seats = sample(seed, "seats:0:A01", POOL_A, 3)
    rest = [e for e in POOL_A if e not in seats]
    assert result == GroupResult("A01", seats, sample(seed, "backups:0:A01", rest, 2))


def test_seats_of_every_group_come_before_any_backups():
    # Drawing A's seat and three backups in one pass would take all four candidates and
    # leave B short; seats-first always seats B, whatever the seed.
    groups = [SeatGroup("A", ("w", "x", "y", "z"), 1, 3), SeatGroup("B", ("x", "y", "z"), 2, 0)]
    for i in range(40):
        first, second = draw(seed_for("seats-first", i), groups)
        assert len(second.selected) == 2 and first.selected[0] not in second.selected
        seated = set(first.selected + second.selected)
        assert set(first.backups) == {"w", "x", "y", "z"} - seated


def test_an_expert_sits_once_per_tender_backups_included():
    seed = seed_for("once")
    shared = tuple(f"S{i}" for i in range(6))
    first, second = draw(seed, [SeatGroup("A", shared, 2, 2), SeatGroup("B", shared, 2, 5)])
    assert not set(first.selected + first.backups) & set(second.selected + second.backups)
    # Six shared candidates: two seats each, then A's two backups take the last two.
    assert len(second.selected) == 2 and len(first.backups) == 2 and second.backups == ()


def test_fewer_backups_when_the_pool_runs_out():
    [result] = draw(seed_for("few"), [SeatGroup("A", ("a", "b", "c", "d"), 3, 5)])
    assert len(result.selected) == 3 and len(result.backups) == 1


def test_shortfall_names_every_short_group():
    groups = [
        SeatGroup("A01", ("a1", "a2"), 3, 1),
        SeatGroup("B02", tuple(f"b{i}" for i in range(10)), 2, 2),
        SeatGroup("C03", (), 1, 0),
        SeatGroup("D04", ("b0", "d1"), 1, 0),
    ]
    with pytest.raises(Shortfall) as info:
        draw(seed_for("short"), groups)
    assert info.value.shortages == (
        GroupShortage("A01", needed=3, available=2),
        GroupShortage("C03", needed=1, available=0),
    )
    assert info.value.as_dict() == {
        "A01": {"needed": 3, "available": 2},
        "C03": {"needed": 1, "available": 0},
    }
    assert "A01 needs 3, has 2" in str(info.value)


def test_a_short_group_counts_as_taking_its_pool():
    groups = [SeatGroup("A", ("x", "y"), 3, 0), SeatGroup("B", ("x", "y", "z"), 2, 0)]
    with pytest.raises(Shortfall) as info:
        draw(seed_for("short-chain"), groups)
    assert info.value.as_dict() == {
        "A": {"needed": 3, "available": 2},
        "B": {"needed": 2, "available": 1},
    }


def test_bad_requests_are_refused():
    with pytest.raises(ValueError):
        draw(bytes(32), [SeatGroup("A", ("a",), 1, 0), SeatGroup("A", ("b",), 1, 0)])
    with pytest.raises(ValueError):
        draw(bytes(16), [SeatGroup("A", ("a",), 1, 0)])
    with pytest.raises(ValueError):
        SeatGroup("A", ("a",), 0, 0)
    with pytest.raises(ValueError):
        SeatGroup("A", ("a",), 1, -1)
    assert draw(bytes(32), []) == []


# --- verify --------------------------------------------------------------------------


@pytest.fixture
def recorded_draw():
    seed = seed_for("verify")
    groups = two_groups()
    return seed, commitment(seed), groups, draw(seed, groups)


def test_an_honest_draw_verifies(recorded_draw):
    seed, committed, groups, recorded = recorded_draw
    digests = {g.key: pool_digest(g.candidates) for g in groups}
    answer = verify(seed, committed, groups, recorded, published_pool_digests=digests)
    assert answer == {
        "match": True,
        "seed_matches_commitment": True,
        "results_match": True,
        "pool_digests": digests,
        "mismatched_groups": [],
        "pools_match": True,
    }
    assert verify(seed, committed.upper(), groups, recorded)["match"] is True
    as_lists = [GroupResult(r.key, list(r.selected), list(r.backups)) for r in recorded]
    assert verify(seed, committed, groups, as_lists)["match"] is True


def test_tampered_order_does_not_match(recorded_draw):
    seed, committed, groups, recorded = recorded_draw
    first, second = recorded
    swapped_seats = GroupResult(first.key, first.selected[::-1], first.backups)
    seat_for_backup = GroupResult(
        first.key, first.selected[:-1] + first.backups[:1], first.selected[-1:] + first.backups[1:]
    )
    swapped_backups = GroupResult(second.key, second.selected, second.backups[::-1])
    for tampered in (
        [swapped_seats, second],
        [first, swapped_backups],
        [first, GroupResult(second.key, second.selected, second.backups[:-1])],
        [seat_for_backup, second],
        [second, first],
        [first],
    ):
        answer = verify(seed, committed, groups, tampered)
        assert answer["match"] is False and answer["results_match"] is False
        assert answer["seed_matches_commitment"] is True
        assert answer["mismatched_groups"]
    answer = verify(seed, committed, groups, [swapped_seats, second])
    assert answer["mismatched_groups"] == ["A01"]


def test_a_changed_pool_does_not_match(recorded_draw):
    seed, committed, groups, recorded = recorded_draw
    published = {g.key: pool_digest(g.candidates) for g in groups}
    drawn = {e for r in recorded for e in r.selected + r.backups}
    unselected = next(e for e in POOL_A if e not in drawn)
    for pool_a in (
        tuple(e for e in POOL_A if e != unselected),  # one id quietly removed
        (*POOL_A, "E999"),  # one id quietly added
    ):
        changed = two_groups(pool_a=pool_a)
        answer = verify(seed, committed, changed, recorded)
        assert answer["match"] is False
        assert answer["pool_digests"]["A01"] != published["A01"]
        with_digests = verify(seed, committed, changed, recorded, published_pool_digests=published)
        assert with_digests["pools_match"] is False and with_digests["match"] is False


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(POOL_A + POOL_B), st.booleans())
def test_any_single_change_to_a_pool_is_caught_by_its_digest(member, remove):
    published = {g.key: pool_digest(g.candidates) for g in two_groups()}
    pool_a = tuple(e for e in POOL_A if e != member) if remove else (*POOL_A, member + "x")
    changed = two_groups(pool_a=pool_a)
    seed = seed_for("verify")
    answer = verify(
        seed, commitment(seed), changed, draw(seed, two_groups()), published_pool_digests=published
    )
    if remove and member not in POOL_A:
        assert answer["match"] is True  # nothing changed
    else:
        assert answer["match"] is False


def test_a_wrong_seed_or_commitment_does_not_match(recorded_draw):
    seed, committed, groups, recorded = recorded_draw
    other = seed_for("other")
    answer = verify(other, committed, groups, recorded)
    assert answer["seed_matches_commitment"] is False and answer["match"] is False
    answer = verify(seed, commitment(other), groups, recorded)
    assert answer["seed_matches_commitment"] is False and answer["results_match"] is True
    assert answer["match"] is False
    answer = verify(seed[:16], commitment(seed[:16]), groups, recorded)
    assert answer["results_match"] is False and answer["match"] is False


def test_a_draw_that_cannot_be_recomputed_does_not_match(recorded_draw):
    seed, committed, groups, recorded = recorded_draw
    shrunk = [SeatGroup("A01", POOL_A[:2], 3, 2), groups[1]]
    answer = verify(seed, committed, shrunk, recorded)
    assert answer["match"] is False and answer["mismatched_groups"] == ["A01", "B02"]


# --- laws -------------------------------------------------------------------------------

UNIVERSE = [f"E{i:02d}" for i in range(24)]

seat_groups = st.lists(
    st.tuples(
        st.lists(st.sampled_from(UNIVERSE), max_size=20),
        st.integers(1, 4),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=4,
).map(
    lambda specs: [
        SeatGroup(f"G{i}", tuple(candidates), count, backups)
        for i, (candidates, count, backups) in enumerate(specs)
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=32, max_size=32), seat_groups)
def test_draw_laws(seed, groups):
    expected, short = spec_draw(seed, groups)
    try:
        results = draw(seed, groups)
    except Shortfall as error:
        assert short, "Shortfall raised although every group has enough candidates"
        assert [(s.key, s.needed, s.available) for s in error.shortages] == short
        assert all(s.available < s.needed for s in error.shortages)
        return
    assert not short
    assert [(r.key, r.selected, r.backups) for r in results] == expected
    assert [r.key for r in results] == [g.key for g in groups]
    seen: list[str] = []
    for group, result in zip(groups, results, strict=True):
        assert len(result.selected) == group.count
        assert len(result.backups) <= group.backups
        assert set(result.selected + result.backups) <= set(group.candidates)
        seen.extend(result.selected + result.backups)
    assert len(seen) == len(set(seen)), "an expert was drawn twice"
    assert verify(seed, commitment(seed), groups, results)["match"] is True


def test_the_commit_reveal_scheme_reproduces_its_test_vector():
    secret = bytes(32)
    pool = [str(i) for i in range(1, 11)]
    request = engine.request_digest({"tender_ref": "T-1"})
    assert request == "13d8ad14bb836cfded732ea60f1d5716e8cd59b0f2ad45c359d9c3c47c1f9cf8"
    assert engine.round_commitment(secret, [("A0101", engine.pool_digest(pool))], request) == (
        "176e6c30c0ad51a8b7fae61d102ea8c71c8bcc3452a50624c089035ec6e49b6a"
    )
    seed = engine.derive_seed(secret, " 05 12 17 23 31\n")  # surrounding white space ignored
    assert seed.hex() == "b269d50ff42e6c2a1903001dea1c827855bf6c87c1f01c6f1786e6e90e38014d"
    [result] = engine.draw(seed, [engine.SeatGroup("A0101", pool, 3, 2)])
    assert (result.selected, result.backups) == (("1", "3", "7"), ("2", "8"))
    assert engine.derive_seed(secret, "05 12 17 23 32") != seed
