"""Verifiable random draw (可验证随机抽取) of experts per seat group, and of samples for
random inspections (双随机一公开).

The draw is a pure function of a secret seed and the published request, so anyone who is
later given the seed can recompute it, and nobody, the operator included, can choose the
result once the seed's hash is published. This docstring is the specification; another
platform that follows it gets the same results, byte for byte.

Protocol
--------
1. Before drawing, the service takes ``seed`` = 32 bytes from a CSPRNG (:func:`new_seed`)
   and publishes ``commitment = hex(SHA-256(seed))`` (:func:`commitment`, lower case hex).
2. It records each seat group's candidate pool and publishes its :func:`pool_digest`.
3. It runs :func:`draw`. After the unseal time it reveals the seed; :func:`verify` checks
   the seed against the commitment, the pools against their digests, and recomputes the
   results.

Algorithm
---------
All hashes are SHA-256, all text is encoded as UTF-8, integers are unsigned big-endian.

*Canonical pool.* Ids are non-empty strings without a line feed. A list of ids is made
canonical by removing duplicates and sorting by Unicode code point (the order of their
UTF-8 bytes; never a locale collation). ``pool_digest`` is the hex SHA-256 of the canonical
ids joined with ``"\\n"`` (no trailing line feed; an empty pool hashes the empty string).

*Byte stream.* For a seed and a text ``label`` the stream is ``block_0 || block_1 || ...``
with ``block_i = SHA-256(seed || label || i)``, ``i`` as 8 bytes (counter mode). Bytes are
consumed in order and never reused. The seed must be exactly 32 bytes, so seed and label
cannot run into each other.

*Uniform integer below n* (``n >= 1``). ``limit = 2^64 - (2^64 mod n)``, the largest
multiple of ``n`` not above ``2^64``. Repeat: read the next 8 bytes as an integer ``x``;
if ``x < limit`` the answer is ``x mod n``, otherwise discard ``x`` and read again. Every
attempt reads 8 bytes, also for ``n = 1``. Rejection removes modulo bias entirely.

*Sample of k under a label* (:func:`sample`). Let ``P`` be the canonical population
(``m`` ids, ``k <= m``) and open the stream for the label. For ``j = 0 .. k-1``:
``r = uniform_below(m - j)``, swap ``P[j]`` and ``P[j + r]`` (partial Fisher-Yates). The
sample is ``P[0] .. P[k-1]`` in that order. With label ``"example"``, the 32 zero bytes
as seed and the population ``E01 .. E10``, the sample of 3 is ``E03, E05, E10``.

*Draw* (:func:`draw`). Seat groups ``(key, candidates, count, backups)`` have distinct
keys and are taken in the given order, numbered from 0. An expert sits at most once per
tender, backups included (any backup may be called to sit), so ``taken`` starts empty and
the draw makes two passes, seats first, so that one group's backups can never leave a
later group short of seats:

1. *Seats.* For group number ``g``: ``pool`` = the canonical candidates without those in
   ``taken`` (still sorted). If ``len(pool) < count`` the group is short: it is reported,
   and is treated as taking the whole of ``pool`` so that later groups are judged as if
   the draw went ahead. Otherwise the seats are the sample of ``count`` from ``pool``
   under the label ``"seats:{g}:{key}"``, and they join ``taken``.
2. *Backups* (only when no group is short). For group number ``g`` again in order:
   ``pool`` = the canonical candidates without those in ``taken``; the backups are the
   sample of ``min(backups, len(pool))`` from ``pool`` under the label
   ``"backups:{g}:{key}"``, in the order they are to be called (fewer than asked for
   when the pool runs out, which is not an error), and they join ``taken``.

If any group is short the draw fails as a whole with :class:`Shortfall`, which names every
short group with the number needed and the number available.

Commit, then reveal (scheme ``v2``)
-----------------------------------
Protocol 1 above lets whoever holds the seed draw, look, and draw again. Scheme ``v2``
(after the principle of RFC 3797) fixes everything but one input before anything is drawn,
and takes that input from someone the operator does not control:

1. *Commit.* The service takes a ``secret`` of 32 bytes from the CSPRNG, builds each seat
   group's pool and publishes, in the audit chain and in its answer, before any expert is
   chosen::

       request_digest = hex SHA-256(canonical JSON of the request)
       commitment     = hex SHA-256("gongxin/draw/commit/v2\n" || hex(secret) || "\n" ||
                                    key_0 ":" pool_digest_0 "\n" || ... ||
                                    request_digest)

   (:func:`request_digest`, :func:`round_commitment`; canonical JSON: keys sorted, no
   spaces, UTF-8, as the audit chain writes it; groups in request order, each line
   ``key:digest`` ended by a line feed). The secret stays with the service until the
   unseal time.
2. *Entropy after the commitment.* A text nobody could know at commit time: typed in by the
   supervising regulator present at the draw (监督人, kind ``supervisor``), or the numbers of
   a public source named in the request before the commitment (kind ``public``, e.g. a
   lottery's draw of a given date). Kind ``server`` takes 32 CSPRNG bytes (as hex) after
   the commitment and is for development only: the verification says so.
3. *Reveal.* ``seed = SHA-256("gongxin/draw/seed/v2\n" || secret || SHA-256(entropy))``
   (:func:`derive_seed`; the entropy as UTF-8 with surrounding white space removed), and
   :func:`draw` runs on the committed pools. Experts taken by another draw between the
   commitment and the reveal are *withdrawn* from the committed pools before the draw, each
   with the draw that took them; the record keeps them, so the result stays a pure function
   of (secret, entropy, committed pools, withdrawn).

The operator knows the secret but not the entropy; the supervisor knows the entropy but not
the secret or, until the commitment, the pools: neither can choose the result, and the
commitment in the chain shows any second attempt.

Test vector (``tests/unit/test_draw.py`` checks it): secret = 32 zero bytes, one group
``A0101`` with the pool ``"1" .. "10"``, 3 seats and 2 backups, the request
``{"tender_ref": "T-1"}`` and the entropy ``"05 12 17 23 31"``::

    request_digest = 13d8ad14bb836cfded732ea60f1d5716e8cd59b0f2ad45c359d9c3c47c1f9cf8
    commitment     = 176e6c30c0ad51a8b7fae61d102ea8c71c8bcc3452a50624c089035ec6e49b6a
    seed           = b269d50ff42e6c2a1903001dea1c827855bf6c87c1f01c6f1786e6e90e38014d
    seats 1, 3, 7; backups 2, 8

"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "ENTROPY_KINDS",
    "SEED_BYTES",
    "DrawStream",
    "GroupResult",
    "GroupShortage",
    "SeatGroup",
    "Shortfall",
    "canonical_pool",
    "commitment",
    "derive_seed",
    "draw",
    "new_seed",
    "pool_digest",
    "request_digest",
    "round_commitment",
    "sample",
    "uniform_below",
    "verify",
    "verify_committed",
]

SEED_BYTES = 32
_TWO_64 = 1 << 64


COMMIT_LABEL = "gongxin/draw/commit/v2\n"
SEED_LABEL = b"gongxin/draw/seed/v2\n"
ENTROPY_KINDS = ("supervisor", "public", "server")


def request_digest(request: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the request as canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def round_commitment(
    secret: bytes, pool_digests: Sequence[tuple[str, str]], request_hex: str
) -> str:
    """The ``v2`` commitment to a secret, the groups' pool digests (in order) and a request."""
    if len(secret) != SEED_BYTES:
        raise ValueError(f"a secret is {SEED_BYTES} bytes")
    lines = "".join(f"{key}:{digest}\n" for key, digest in pool_digests)
    material = COMMIT_LABEL + secret.hex() + "\n" + lines + request_hex
    return hashlib.sha256(material.encode()).hexdigest()


def normal_entropy(entropy: str) -> str:
    return entropy.strip()


def derive_seed(secret: bytes, entropy: str) -> bytes:
    """The drawing seed of scheme ``v2`` from the committed secret and the later entropy."""
    if len(secret) != SEED_BYTES:
        raise ValueError(f"a secret is {SEED_BYTES} bytes")
    mixed = hashlib.sha256(normal_entropy(entropy).encode()).digest()
    return hashlib.sha256(SEED_LABEL + secret + mixed).digest()


def new_seed() -> bytes:
    """32 bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(SEED_BYTES)


def commitment(seed: bytes) -> str:
    """Lower case hex SHA-256 of the seed, published before the draw."""
    return hashlib.sha256(seed).hexdigest()


def canonical_pool(ids: Iterable[str]) -> list[str]:
    """Ids deduplicated and sorted by code point; refuses ids that would make it ambiguous."""
    unique = set(ids)
    for id_ in unique:
        if not isinstance(id_, str):
            raise TypeError(f"ids are strings, got {type(id_).__name__}")
        if not id_ or "\n" in id_:
            raise ValueError(f"ids are non-empty and have no line feed, got {id_!r}")
    return sorted(unique)


def pool_digest(ids: Iterable[str]) -> str:
    """Hex SHA-256 of the canonical ids joined with line feeds: the pool snapshot's digest."""
    return hashlib.sha256("\n".join(canonical_pool(ids)).encode()).hexdigest()


class ByteStream(Protocol):
    def read(self, size: int) -> bytes: ...


class DrawStream:
    """The counter-mode SHA-256 byte stream for one (seed, label)."""

    __slots__ = ("_base", "_buffer", "_counter")

    def __init__(self, seed: bytes, label: str) -> None:
        if not isinstance(seed, bytes | bytearray) or len(seed) != SEED_BYTES:
            raise ValueError(f"a seed is {SEED_BYTES} bytes")
        self._base = hashlib.sha256(bytes(seed) + label.encode())
        self._counter = 0
        self._buffer = b""

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            block = self._base.copy()
            block.update(self._counter.to_bytes(8, "big"))
            self._buffer += block.digest()
            self._counter += 1
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


def uniform_below(stream: ByteStream, n: int) -> int:
    """An unbiased integer in ``[0, n)``: rejection sampling on 64-bit chunks of ``stream``."""
    if n < 1:
        raise ValueError("n must be at least 1")
    limit = _TWO_64 - _TWO_64 % n
    while True:
        x = int.from_bytes(stream.read(8), "big")
        if x < limit:
            return x % n


def _sample_canonical(seed: bytes, label: str, pool: list[str], k: int) -> tuple[str, ...]:
    if not 0 <= k <= len(pool):
        raise ValueError(f"cannot sample {k} from {len(pool)}")
    stream = DrawStream(seed, label)
    pool = list(pool)
    m = len(pool)
    for j in range(k):
        r = j + uniform_below(stream, m - j)
        pool[j], pool[r] = pool[r], pool[j]
    return tuple(pool[:k])


def sample(seed: bytes, label: str, population: Sequence[str], k: int) -> tuple[str, ...]:
    """Ordered sample of ``k`` without replacement from the canonical ``population``."""
    return _sample_canonical(seed, label, canonical_pool(population), k)


@dataclass(frozen=True)
class SeatGroup:
    """Seats to fill from one candidate pool (one specialty of one draw request)."""

    key: str
    candidates: tuple[str, ...]
    count: int
    backups: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "candidates", tuple(self.candidates))
        if not isinstance(self.key, str) or not self.key:
            raise ValueError("a seat group needs a key")
        if self.count < 1 or self.backups < 0:
            raise ValueError(f"group {self.key}: count must be >= 1 and backups >= 0")


@dataclass(frozen=True)
class GroupResult:
    """The selected experts of one group, then its backups in calling order."""

    key: str
    selected: tuple[str, ...]
    backups: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "selected", tuple(self.selected))
        object.__setattr__(self, "backups", tuple(self.backups))


@dataclass(frozen=True)
class GroupShortage:
    key: str
    needed: int
    available: int


class Shortfall(Exception):
    """Some seat groups have fewer candidates than seats; ``shortages`` names all of them."""

    def __init__(self, shortages: Sequence[GroupShortage]) -> None:
        self.shortages = tuple(shortages)
        detail = "; ".join(f"{s.key} needs {s.needed}, has {s.available}" for s in self.shortages)
        super().__init__(f"not enough candidates: {detail}")

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {s.key: {"needed": s.needed, "available": s.available} for s in self.shortages}


def draw(seed: bytes, groups: Sequence[SeatGroup]) -> list[GroupResult]:
    """Fill every seat group, seats first and then backups, as the module docstring specifies."""
    keys = [group.key for group in groups]
    if len(set(keys)) != len(keys):
        raise ValueError("seat group keys must be distinct")
    if len(seed) != SEED_BYTES:
        raise ValueError(f"a seed is {SEED_BYTES} bytes")
    canonical = [canonical_pool(group.candidates) for group in groups]
    taken: set[str] = set()
    seats: list[tuple[str, ...]] = []
    shortages: list[GroupShortage] = []
    for index, (group, candidates) in enumerate(zip(groups, canonical, strict=True)):
        pool = [id_ for id_ in candidates if id_ not in taken]
        if len(pool) < group.count:
            shortages.append(GroupShortage(group.key, group.count, len(pool)))
            taken.update(pool)
            continue
        picks = _sample_canonical(seed, f"seats:{index}:{group.key}", pool, group.count)
        taken.update(picks)
        seats.append(picks)
    if shortages:
        raise Shortfall(shortages)
    results: list[GroupResult] = []
    for index, (group, candidates, selected) in enumerate(
        zip(groups, canonical, seats, strict=True)
    ):
        pool = [id_ for id_ in candidates if id_ not in taken]
        backups = _sample_canonical(
            seed, f"backups:{index}:{group.key}", pool, min(group.backups, len(pool))
        )
        taken.update(backups)
        results.append(GroupResult(group.key, selected, backups))
    return results


def verify(
    seed: bytes,
    seed_commitment: str,
    groups: Sequence[SeatGroup],
    recorded: Sequence[GroupResult],
    *,
    published_pool_digests: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Check a recorded draw against its revealed seed.

    Answers ``match`` (everything below holds), ``seed_matches_commitment``,
    ``results_match`` (the recomputed draw equals ``recorded``, order included),
    ``pool_digests`` (per group key, of the group's candidates as given),
    ``mismatched_groups`` (keys of the entries that differ, position by position, between
    the recomputed and the recorded lists; every key when the draw cannot be recomputed)
    and
    ``pools_match`` (the pools against ``published_pool_digests``; ``None`` when those
    are not given).
    """
    seed_ok = (
        isinstance(seed_commitment, str)
        and isinstance(seed, bytes | bytearray)
        and hmac.compare_digest(commitment(bytes(seed)), seed_commitment.strip().lower())
    )
    digests = {group.key: pool_digest(group.candidates) for group in groups}
    pools_ok: bool | None = None
    if published_pool_digests is not None:
        pools_ok = dict(published_pool_digests) == digests

    recorded = [GroupResult(r.key, r.selected, r.backups) for r in recorded]
    try:
        recomputed: list[GroupResult] | None = draw(seed, groups)
    except (Shortfall, ValueError):
        recomputed = None
    if recomputed is None:
        results_ok = False
        mismatched = list(dict.fromkeys([*(g.key for g in groups), *(r.key for r in recorded)]))
    else:
        results_ok = recomputed == recorded
        mismatched = []
        for position in range(max(len(recomputed), len(recorded))):
            pair = [rs[position] for rs in (recomputed, recorded) if position < len(rs)]
            if len(pair) == 1 or pair[0] != pair[1]:
                mismatched.extend(r.key for r in pair if r.key not in mismatched)
    return {
        "match": bool(seed_ok and results_ok and pools_ok is not False),
        "seed_matches_commitment": bool(seed_ok),
        "results_match": results_ok,
        "pool_digests": digests,
        "mismatched_groups": mismatched,
        "pools_match": pools_ok,
    }


def verify_committed(
    secret: bytes,
    entropy: str | None,
    seed_commitment: str,
    request_hex: str,
    groups: Sequence[SeatGroup],
    recorded: Sequence[GroupResult],
    *,
    withdrawn: Iterable[str] = (),
    stored_seed: bytes | None = None,
    published_pool_digests: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Check a scheme ``v2`` round: the commitment recomputes from the secret, the committed
    pools (``groups``) and the request; the seed derives from the secret and the entropy
    (and equals ``stored_seed`` when given); the draw on the pools less ``withdrawn``
    gives ``recorded``. Before the reveal (``entropy`` None) only the commitment is
    checked. Answers the keys of :func:`verify` and ``revealed``."""
    digests = [(group.key, pool_digest(group.candidates)) for group in groups]
    commitment_ok = hmac.compare_digest(
        round_commitment(secret, digests, request_hex), seed_commitment.strip().lower()
    )
    pools_ok: bool | None = None
    if published_pool_digests is not None:
        pools_ok = dict(published_pool_digests) == dict(digests)
    if entropy is None:
        return {
            "match": bool(commitment_ok and pools_ok is not False),
            "seed_matches_commitment": bool(commitment_ok),
            "results_match": not any(r.selected or r.backups for r in recorded),
            "pool_digests": dict(digests),
            "mismatched_groups": [],
            "pools_match": pools_ok,
            "revealed": False,
        }
    seed = derive_seed(secret, entropy)
    left_out = set(withdrawn)
    drawn = [
        SeatGroup(g.key, tuple(c for c in g.candidates if c not in left_out), g.count, g.backups)
        for g in groups
    ]
    answer = verify(seed, commitment(seed), drawn, recorded)
    seed_ok = commitment_ok and (stored_seed is None or hmac.compare_digest(stored_seed, seed))
    return {
        **answer,
        "match": bool(seed_ok and answer["results_match"] and pools_ok is not False),
        "seed_matches_commitment": bool(seed_ok),
        "pool_digests": dict(digests),
        "pools_match": pools_ok,
        "revealed": True,
    }
