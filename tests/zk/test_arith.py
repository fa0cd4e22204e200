"""arith.circom against rollbook.exchange.numeric: the circuit's floor and ceiling
divisions, signed comparison and absolute value give exactly Python's results (the
proof holds for them and for no result off by one), and inputs beyond the templates'
widths have no witness (#8). That no other witness satisfies the constraints (the
quotient and remainder are unique) is argued in arith.circom, not tested here."""

from __future__ import annotations

import pytest

from rollbook.crypto.poseidon import P, poseidon
from rollbook.exchange.numeric import Rounding, div
from tests.zk.helpers import proof_of, provable, verifies

CASES = [
    (0, 0, 1),
    (1, -1, 7),
    (-1, 1, 7),
    (10**8, 10**8, 10**8),
    (-(10**8), -(10**8) + 1, 3),
    (123_456_789_012_345, -5, 1_000_003),
    (-123_456_789_012_345, 0, 1_000_003),
    ((1 << 129) - 1, 1 << 128, (1 << 64) - 1),
    (-(1 << 129), (1 << 129) - 1, 1),
]


def results(a: int, b: int, d: int) -> list[int]:
    return [
        div(a, 10**8, Rounding.DOWN),
        div(a, 10**6, Rounding.UP),
        div(a, d, Rounding.DOWN),
        int(a <= b),
        int(a < 0),
        abs(a),
    ]


def claim(a: int, b: int, d: int, outputs: list[int]) -> int:
    return poseidon([v % P for v in (a, b, d, *outputs)])


@pytest.mark.parametrize(("a", "b", "d"), CASES)
def test_the_circuit_rounds_as_python_does(a: int, b: int, d: int) -> None:
    inputs = {"a": a % P, "b": b % P, "d": d}
    expected = results(a, b, d)
    proof = proof_of("arith_test", inputs, claim(a, b, d, expected))
    for at in range(len(expected)):
        wrong = list(expected)
        wrong[at] += 1
        assert not verifies("arith_test", proof, claim(a, b, d, wrong))


def test_out_of_range_inputs_are_unprovable() -> None:
    # |a| >= 2^130 and a divisor of zero or of more than 65 bits: no witness exists.
    for a, d in (((1 << 130), 3), (-(1 << 130) - 1, 3), (5, 0), (5, 1 << 66)):
        inputs = {"a": a % P, "b": 0, "d": d}
        assert not provable("arith_test", inputs, claim(a, 0, d, results(a, 0, max(d, 1))))
