"""Poseidon and EdDSA over Baby Jubjub (rollbook.crypto.poseidon, .babyjub; #8).

Poseidon is pinned to circomlibjs's published outputs; the curve to EIP-2494's
parameters; the signature to its rule, including what it refuses. That the circuit
accepts exactly these signatures is tests/zk/test_signed.py's business.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.crypto import babyjub as bj
from rollbook.crypto.poseidon import P, poseidon

SEED = bytes(range(32))


def test_poseidon_is_circomlibs() -> None:
    # circomlibjs: poseidon([1]), poseidon([1, 2]), poseidon([1, 2, 3, 4])
    assert poseidon([1]) == 0x29176100EAA962BDC1FE6C654D6A3C130E96A4D1168B33848B897DC502820133
    assert poseidon([1, 2]) == 0x115CC0F5E7D690413DF64C6B9662E9CF2A3617F2743245519E19607A4417189A
    assert poseidon([1, 2, 3, 4]) == (
        0x299C867DB6C1FDD79DCEFA40E4510B9837E60EBB1CE0663DBAA525DF65250465
    )
    assert poseidon([P - 1, 0]) != poseidon([0, P - 1])


@pytest.mark.parametrize("inputs", [[], [P], [-1], list(range(13)), [True]])
def test_poseidon_refuses_what_is_no_field_element(inputs: list[int]) -> None:
    with pytest.raises(ValueError):
        poseidon(inputs)


def test_the_curve_and_its_subgroup() -> None:
    assert bj.on_curve(bj.BASE8) and bj.on_curve(bj.IDENTITY)
    assert bj.mul(bj.L, bj.BASE8) == bj.IDENTITY
    assert bj.mul(bj.L + 5, bj.BASE8) == bj.mul(5, bj.BASE8)
    two = bj.add(bj.BASE8, bj.BASE8)
    assert bj.mul(2, bj.BASE8) == two and bj.on_curve(two)
    assert not bj.on_curve(bj.Point(1, 1))


def test_a_signature_verifies_for_its_key_and_message_only() -> None:
    key = bj.public_key(SEED)
    signature = bj.sign(SEED, 42)
    assert bj.sign(SEED, 42) == signature  # deterministic nonce
    assert bj.verify(key, 42, signature)
    assert not bj.verify(key, 43, signature)
    assert not bj.verify(bj.public_key(bytes(32)), 42, signature)
    assert not bj.verify(key, 42, signature._replace(s=(signature.s + 1) % bj.L))
    assert not bj.verify(key, 42, signature._replace(s=signature.s + bj.L))  # S < L


def test_off_curve_points_and_small_keys_are_refused() -> None:
    key = bj.public_key(SEED)
    signature = bj.sign(SEED, 7)
    r8 = signature.r8
    assert not bj.verify(key, 7, signature._replace(r8=bj.Point(r8.x, (r8.y + 1) % P)))
    assert not bj.verify(bj.Point(key.x, (key.y + 1) % P), 7, signature)
    # a key of small order: (0, -1) has order 2, so 8 * key is the identity
    small = bj.Point(0, P - 1)
    assert bj.on_curve(small)
    assert not bj.verify(small, 7, bj.Signature(bj.IDENTITY, 0))


@settings(max_examples=20, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.integers(0, P - 1))
def test_every_key_signs_every_message(seed: bytes, message: int) -> None:
    assert bj.verify(bj.public_key(seed), message, bj.sign(seed, message))


# -- point compression (circomlibjs packPoint / unpackPoint) --------------------------

# circomlibjs's test/babyjub.js pins these two points and their packed forms.
CIRCOMLIBJS_PACKED = [
    (
        bj.Point(
            17777552123799933955779906779655732241715742912184938656739573121738514868268,
            2626589144620713026669568689430873010625803728049924121243784502389097019475,
        ),
        "53b81ed5bffe9545b54016234682e7b2f699bd42a5e9eae27ff4051bc698ce85",
    ),
    (
        bj.Point(
            6890855772600357754907169075114257697580319025794532037257385534741338397365,
            4338620300185947561074059802482547481416142213883829469920100239455078257889,
        ),
        "e114eb17eddf794f063a68fecac515e3620e131976108555735c8b0773929709",
    ),
]


@pytest.mark.parametrize(("point", "packed"), CIRCOMLIBJS_PACKED)
def test_pack_is_circomlibjs_pack_point(point: bj.Point, packed: str) -> None:
    assert bj.on_curve(point)
    assert bj.pack(point).hex() == packed
    assert bj.unpack(bytes.fromhex(packed)) == point


def test_base8_packs_as_its_y_with_the_sign_of_x() -> None:
    packed = bj.pack(bj.BASE8)
    # BASE8.x < (P - 1) / 2: "positive", so the top bit stays clear
    assert packed == bj.BASE8.y.to_bytes(32, "little")
    assert packed.hex() == "8b7d2d877a253c4b7733e1b91f05e0fcedf96bd11c2e572549b2a0f703727925"
    negated = bj.Point(P - bj.BASE8.x, bj.BASE8.y)
    assert bj.pack(negated) == packed[:31] + bytes([packed[31] | 0x80])
    assert bj.unpack(bj.pack(negated)) == negated


@settings(max_examples=30, deadline=None)
@given(st.integers(1, bj.L - 1))
def test_unpack_inverts_pack(scalar: int) -> None:
    point = bj.mul(scalar, bj.BASE8)
    packed = bj.pack(point)
    assert len(packed) == 32
    assert bj.unpack(packed) == point


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_unpack_gives_a_point_that_packs_back_or_refuses(data: bytes) -> None:
    try:
        point = bj.unpack(data)
    except bj.InvalidPoint:
        return
    assert bj.on_curve(point) and bj.pack(point) == data


def test_sqrt_mod_p() -> None:
    for value in (0, 1, 4, 9, P - 1, 5**2 * 7**4 % P):
        root = bj.sqrt_mod_p(value)
        if root is not None:
            assert root * root % P == value
    assert bj.sqrt_mod_p(bj.NON_RESIDUE) is None
    square = 123456789**2 % P
    assert bj.sqrt_mod_p(square) in (123456789, P - 123456789)


def _y_with_no_point() -> bytes:
    """The smallest y for which no x is on the curve: (1 - y^2) / (a - d y^2) is no square."""
    y = 2
    while bj.sqrt_mod_p((1 - y * y) * pow(bj.A_COEFF - bj.D_COEFF * y * y, -1, P) % P):
        y += 1
    return y.to_bytes(32, "little")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bytes(31), "32 bytes"),
        (bytes(33), "32 bytes"),
        (P.to_bytes(32, "little"), "y is not below P"),
        ((P + 5).to_bytes(32, "little"), "y is not below P"),
        (_y_with_no_point(), "no point"),
        ((1).to_bytes(32, "little"), "small order"),  # (0, 1), the identity
        ((P - 1).to_bytes(32, "little"), "small order"),  # (0, -1), of order 2
        # x = 0 with the sign bit set: not canonical (zero is not negative)
        ((1 | 1 << 255).to_bytes(32, "little"), "sign"),
    ],
)
def test_unpack_refuses(data: bytes, reason: str) -> None:
    with pytest.raises(bj.InvalidPoint, match=reason):
        bj.unpack(data)


def test_unpack_refuses_every_point_of_small_order() -> None:
    t8 = _torsion_generator()
    torsion = [bj.mul(k, t8) for k in range(8)]
    assert len(set(torsion)) == 8 and bj.IDENTITY in torsion
    for point in torsion:
        with pytest.raises(bj.InvalidPoint, match="small order"):
            bj.unpack(bj.pack(point))
    # a subgroup point plus a torsion point is of large order: accepted
    mixed = bj.add(bj.BASE8, t8)
    assert bj.unpack(bj.pack(mixed)) == mixed


def _torsion_generator() -> bj.Point:
    """A point of order 8: ``L * Q`` for the first ``Q`` (by y) where that has order 8
    (the curve has ``8 L`` points, so ``L * Q`` always lies in the 8-torsion)."""
    y = 2
    while True:
        x = bj.sqrt_mod_p((1 - y * y) * pow(bj.A_COEFF - bj.D_COEFF * y * y, -1, P) % P)
        if x is not None:
            t = bj.mul(bj.L, bj.Point(x, y))
            if bj.mul(4, t) != bj.IDENTITY:
                return t
        y += 1


def test_pack_refuses_a_point_off_the_curve() -> None:
    with pytest.raises(bj.InvalidPoint, match="not on the curve"):
        bj.pack(bj.Point(1, 1))
    with pytest.raises(bj.InvalidPoint, match="not on the curve"):
        bj.pack(bj.Point(bj.BASE8.x + P, bj.BASE8.y))
