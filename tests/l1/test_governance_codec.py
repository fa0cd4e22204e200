"""The Timelock's check of a governance tx (govtx.vy) against the codec.

`govtx.check` is a second implementation of :func:`rollbook.codec.txcodec.
decode_governance` and the governance constructors: the Timelock schedules exactly
the governance txs the codec decodes (up to the length the executor loads), so
every governance input in the queue is one the one-step executor can read
(docs/design/fraud-proofs.md section 2). The Python codec is the spec; every test
asks both and compares:

1. the catalogue's governance txs are scheduled;
2. a Hypothesis property over field tuples of right and wrong types, with fields
   added or dropped, then bytes mutated;
3. one targeted case per rule, with the reason the Timelock gives.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rollbook.codec.errors import DecodeError
from rollbook.codec.txcodec import (
    GOVERNANCE_KINDS,
    K_LIST_INSTRUMENT,
    K_LIST_OPTION_CHAIN,
    K_SET_INSTRUMENT_PARAMS,
    K_SET_ORACLE,
    K_SET_RISK_PARAMS,
    decode_standalone,
    encode_standalone,
)
from rollbook.exchange.leaves import encode_value
from tests.codec.helpers import catalogue
from tests.l1.conftest import contract_constant, load_timelock

U64 = 2**64 - 1
SEPARATOR = bytes(32)  # governance encodings do not depend on the domain


@pytest.fixture
def timelock() -> Any:
    """A Timelock without delay, governed by the test's account (one per test: boa's
    state is rolled back after each)."""
    return load_timelock(boa.env.eoa, 0)


def scheduled(timelock: Any, data: bytes) -> bool:
    """Whether the Timelock schedules ``data``."""
    try:
        timelock.schedule(data, boa.env.evm.patch.timestamp)
    except boa.BoaError:
        return False
    return True


def decodes(data: bytes) -> bool:
    """Whether the codec reads ``data`` as a governance tx (the spec)."""
    try:
        tx = decode_standalone(data, SEPARATOR)
    except DecodeError:
        return False
    return type(tx) in GOVERNANCE_KINDS


def governance(kind: int, fields: tuple[object, ...]) -> bytes:
    return bytes([kind]) + encode_value(fields)


# -- 1. real txs --------------------------------------------------------------------------


def test_every_catalogue_governance_tx_is_scheduled(timelock: Any) -> None:
    found = 0
    for name, tx in catalogue().txs:
        if type(tx) in GOVERNANCE_KINDS:
            data = encode_standalone(tx, SEPARATOR)
            assert decodes(data) and scheduled(timelock, data), name
            found += 1
    assert found == len(GOVERNANCE_KINDS) + 1  # SetOracle twice (with an empty set)


# -- 2. the property ----------------------------------------------------------------------

ODD = st.one_of(
    st.booleans(),
    st.binary(max_size=24),
    st.text(max_size=4),
    st.just(()),
    st.tuples(st.integers(0, 9)),
)
EDGES = st.sampled_from([0, 1, U64, U64 + 1, -1, 2**255 - 1, -(2**255)])


def field(right: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly (29 in 30) a value of the right type, else an edge or a wrong type."""
    return st.integers(0, 29).flatmap(lambda n: right if n else st.one_of(EDGES, ODD))


U64S = field(st.integers(0, U64))
INTS = field(st.integers(-(2**255), 2**255 - 1))
SYMBOL = field(
    st.one_of(
        st.text(alphabet="ABCDEFXYZ_-0129!~", min_size=1, max_size=20),
        st.text(max_size=6),
    )
)
UNDERLYING = field(
    st.one_of(
        st.text(alphabet="ABEHTZ0189", min_size=1, max_size=9),
        st.text(alphabet="ETHeth 9é", max_size=9),
    )
)
STRIKES = field(
    st.one_of(
        st.lists(st.integers(1, U64), min_size=1, max_size=32, unique=True).map(
            lambda s: tuple(sorted(s))
        ),
        st.lists(st.integers(0, 2**65), max_size=34).map(tuple),
    )
)
SIGNERS = field(st.lists(field(st.binary(min_size=20, max_size=20)), max_size=5).map(tuple))
BOOL = field(st.booleans())
VECTOR = field(st.lists(field(st.integers(-(2**255), 2**255 - 1)), max_size=4).map(tuple))


def instrument() -> st.SearchStrategy[tuple[object, ...]]:
    kind = st.one_of(st.just(1), st.just(1), INTS)
    return st.tuples(INTS, SYMBOL, kind, *[INTS] * 13, BOOL, *[INTS] * 4, VECTOR, *[INTS] * 8).map(
        lambda fields: (fields,)
    )


SHAPES: dict[int, st.SearchStrategy[tuple[object, ...]]] = {
    K_LIST_INSTRUMENT: instrument(),
    K_LIST_OPTION_CHAIN: st.tuples(U64S, UNDERLYING, U64S, U64S, STRIKES, *[U64S] * 9),
    K_SET_INSTRUMENT_PARAMS: st.tuples(*[U64S] * 8, BOOL),
    K_SET_ORACLE: st.tuples(SIGNERS, U64S, U64S, U64S),
    K_SET_RISK_PARAMS: st.tuples(*[U64S] * 4),
}


@st.composite
def governance_bytes(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(sorted(SHAPES)))
    fields = list(draw(SHAPES[kind]))
    change = draw(st.sampled_from(["none"] * 6 + ["drop", "add", "bytes"]))
    if change == "drop":
        fields.pop(draw(st.integers(0, len(fields) - 1)))
    elif change == "add":
        fields.insert(draw(st.integers(0, len(fields))), draw(st.integers(0, 9)))
    data = bytearray(governance(kind, tuple(fields)))
    if change == "bytes":
        for _ in range(draw(st.integers(1, 3))):
            edit = draw(st.sampled_from(["set", "cut", "append", "insert"]))
            at = draw(st.integers(0, len(data)))
            if edit == "set" and at < len(data):
                data[at] = draw(st.integers(0, 255))
            elif edit == "cut":
                del data[at:]
            elif edit == "append":
                data += draw(st.binary(min_size=1, max_size=4))
            elif edit == "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


@settings(
    max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=governance_bytes())
def test_the_timelock_schedules_exactly_what_the_codec_decodes(timelock: Any, data: bytes) -> None:
    expected = decodes(data)
    event("decodes" if expected else "refused")
    assert scheduled(timelock, data) == expected, data.hex()


# -- 3. one case per rule -----------------------------------------------------------------


def perp(**changes: object) -> tuple[object, ...]:
    fields: list[object] = [2, "BTC-PERP", 1, 2, 10**6, 10**4]
    fields += [50_000, 30_000, 100, 500, 10_000, 5_000, 10**15, 0, 0, 0, True, 0, 0, 0, 0]
    fields += [(), 0, 0, 0, 0, 0, 0, 0, 0]
    names = {"symbol": 1, "kind": 2, "active": 16, "vector": 21}
    for name, value in changes.items():
        fields[names[name]] = value
    return (tuple(fields),)


def chain(**changes: object) -> tuple[object, ...]:
    fields: list[object] = [20, "ETH", 1, 1_767_254_400, (2800, 3000)]
    fields += [10**5, 10**6, 150_000, 100_000, 75_000, 200, 500, 10_000, 10**15]
    names = {"first_id": 0, "underlying": 1, "strikes": 4}
    for name, value in changes.items():
        fields[names[name]] = value
    return tuple(fields)


CASES = [
    ("a listing", K_LIST_INSTRUMENT, perp(), None),
    ("negative fields", K_LIST_INSTRUMENT, perp(vector=(-1, 2**255 - 1)), None),
    (
        "a spaced symbol",
        K_LIST_INSTRUMENT,
        perp(symbol="BTC PERP"),
        "a symbol is printable ASCII without spaces",
    ),
    (
        "a non-ASCII symbol",
        K_LIST_INSTRUMENT,
        perp(symbol="BTC-€"),
        "a symbol is printable ASCII without spaces",
    ),
    ("a symbol as bytes", K_LIST_INSTRUMENT, perp(symbol=b"BTC"), "a field has the wrong type"),
    ("an option listed alone", K_LIST_INSTRUMENT, perp(kind=2), "a listing lists a perpetual"),
    ("active as an int", K_LIST_INSTRUMENT, perp(active=1), "a field has the wrong type"),
    ("a vector of text", K_LIST_INSTRUMENT, perp(vector=("x",)), "a field has the wrong type"),
    ("two instruments", K_LIST_INSTRUMENT, perp() + perp(), "wrong number of fields"),
    ("a chain", K_LIST_OPTION_CHAIN, chain(), None),
    (
        "a lower-case underlying",
        K_LIST_OPTION_CHAIN,
        chain(underlying="Eth"),
        "an underlying is upper-case letters and digits",
    ),
    (
        "a digits-only underlying",
        K_LIST_OPTION_CHAIN,
        chain(underlying="123"),
        "an underlying is upper-case letters and digits",
    ),
    (
        "a non-ASCII underlying",
        K_LIST_OPTION_CHAIN,
        chain(underlying="ÉTH"),
        "an underlying is upper-case letters and digits",
    ),
    (
        "a long underlying",
        K_LIST_OPTION_CHAIN,
        chain(underlying="ETHEREUM1"),
        "an underlying is 1..8 characters",
    ),
    ("no strikes", K_LIST_OPTION_CHAIN, chain(strikes=()), "a chain lists 1..32 strikes"),
    (
        "33 strikes",
        K_LIST_OPTION_CHAIN,
        chain(strikes=tuple(range(1, 34))),
        "a chain lists 1..32 strikes",
    ),
    ("a zero strike", K_LIST_OPTION_CHAIN, chain(strikes=(0, 1)), "a number is out of range"),
    (
        "strikes down",
        K_LIST_OPTION_CHAIN,
        chain(strikes=(3000, 2800)),
        "strikes must be strictly increasing",
    ),
    (
        "ids past u16",
        K_LIST_OPTION_CHAIN,
        chain(first_id=65_533),
        "the chain's instrument ids exceed u16",
    ),
    ("params", K_SET_INSTRUMENT_PARAMS, (1, 5, 3, 1, 5, 1, 5, 10**15, False), None),
    (
        "a negative fee",
        K_SET_INSTRUMENT_PARAMS,
        (1, 5, 3, -1, 5, 1, 5, 9, True),
        "a number is out of range",
    ),
    (
        "a short signer",
        K_SET_ORACLE,
        ((bytes(19),), 1, 60, 5),
        "an oracle signer is a 20-byte address",
    ),
    ("a signer as text", K_SET_ORACLE, (("a" * 20,), 1, 60, 5), "a field has the wrong type"),
    ("a wide threshold", K_SET_ORACLE, ((), 2**64, 60, 5), "a number is out of range"),
    ("risk", K_SET_RISK_PARAMS, (32, 3_600, 50_000, 500_000), None),
    (
        "risk as a list",
        K_SET_RISK_PARAMS,
        ((32, 3_600, 50_000, 500_000),),
        "wrong number of fields",
    ),
    (
        "risk of bools",
        K_SET_RISK_PARAMS,
        (True, 3_600, 50_000, 500_000),
        "a field has the wrong type",
    ),
]


@pytest.mark.parametrize(("name", "kind", "fields", "reason"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_is_the_codecs(
    timelock: Any, name: str, kind: int, fields: tuple[object, ...], reason: str | None
) -> None:
    data = governance(kind, fields)
    assert decodes(data) == (reason is None), name
    if reason is None:
        assert scheduled(timelock, data)
    else:
        with boa.reverts(f"govtx: {reason}"):
            timelock.schedule(data, boa.env.evm.patch.timestamp)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (governance(K_SET_RISK_PARAMS, (1, 2, 3, 4))[:-1], "govtx: the governance tx ends early"),
        (
            governance(K_SET_RISK_PARAMS, (1, 2, 3, 4)) + b"\x00",
            "govtx: bytes after the governance tx",
        ),
        (bytes([K_SET_ORACLE]) + encode_value(True), "govtx: a field has the wrong type"),
        (bytes([K_SET_RISK_PARAMS]), "govtx: the governance tx ends early"),
        (b"\x10" + b"governance tx bytes", "govtx: a field has the wrong type"),
    ],
)
def test_framing_is_refused_with_its_reason(timelock: Any, data: bytes, reason: str) -> None:
    assert not decodes(data)
    with boa.reverts(reason):
        timelock.schedule(data, boa.env.evm.patch.timestamp)


def test_a_governance_tx_fits_the_executors_item(timelock: Any) -> None:
    """The queue item (origin, sender, data) of the longest tx the Timelock takes is
    the longest item `tx.load` reads; a longer one decodes but is refused."""
    longest = contract_constant("govtx", "MAX_TX_BYTES")
    assert longest + contract_constant("steps", "KIND_AT") == contract_constant("steps", "MAX_ITEM")
    signers = [bytes([i % 256]) * 20 for i in range(160)]
    fits = governance(K_SET_ORACLE, (tuple(signers[:158]), 1, 60, 5))
    over = governance(K_SET_ORACLE, (tuple(signers[:159]), 1, 60, 5))
    assert len(fits) <= longest < len(over)
    assert decodes(fits) and decodes(over)
    assert scheduled(timelock, fits)
    with boa.reverts("govtx: a governance tx is at most 4,075 bytes"):
        timelock.schedule(over, boa.env.evm.patch.timestamp)
