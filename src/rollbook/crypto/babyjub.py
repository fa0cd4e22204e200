"""Baby Jubjub and EdDSA-Poseidon: the trading keys of ZK mode (issue #8).

Checking a secp256k1 signature in a circuit costs ~1.5M constraints; an EdDSA
signature over Baby Jubjub with Poseidon costs ~4.2k (circomlib's
``EdDSAPoseidonVerifier``), which is why zkSync Lite and Loopring use it. In ZK mode
an account's trading keys are Baby Jubjub points, registered by the owner (docs/
design/zk.md); the owner's own key stays secp256k1 (L1, EIP-712).

The curve (EIP-2494): the twisted Edwards curve ``a x^2 + y^2 = 1 + d x^2 y^2`` over
BN254's scalar field ``P`` with ``a = 168700``, ``d = 168696``; ``BASE8`` generates the
prime-order subgroup of order ``L`` (the cofactor is 8).

The signature is circomlib's, so the circuit's verifier accepts what :func:`verify`
accepts: with secret scalar ``s`` and public key ``A = s * BASE8``, a signature of
the field element ``m`` is ``(R8, S)`` with ``R8 = r * BASE8`` and
``S = r + 8 h s mod L``, where ``h = Poseidon(R8.x, R8.y, A.x, A.y, m)``. It verifies
when ``S < L`` and ``S * BASE8 == R8 + (8 h) * A``. Two choices are ours:

- the secret scalar is ``keccak256("rollbook/babyjub/key" || seed) mod L`` of a
  32-byte seed (circomlibjs prunes a Blake-512 hash; any scalar below ``L`` works);
- the nonce is deterministic, ``keccak256("rollbook/babyjub/nonce" || s || m) mod L``
  (RFC 6979's idea: no randomness, and one nonce per message).

:func:`verify` also refuses points off the curve and a key of small order (the
circuit checks both as well).

A point travels as 32 bytes, circomlibjs's ``packPoint`` (``babyjub.js``): ``y``
little-endian, with the top bit of the last byte set when ``x`` is "negative", i.e.
``x > (P - 1) / 2`` (``y < P < 2^254`` leaves that bit free). :func:`unpack` recovers
``x`` from the curve equation, ``x^2 = (1 - y^2) / (a - d y^2)``, with a square root
mod ``P`` (Tonelli–Shanks: ``P - 1 = 2^28 q``), and refuses what is not a canonical
encoding of a usable point (:class:`InvalidPoint`).
"""

from __future__ import annotations

from typing import NamedTuple

from rollbook.crypto.keccak import keccak256
from rollbook.crypto.poseidon import P, poseidon

A_COEFF = 168700
D_COEFF = 168696
L = 2736030358979909402780800718157159386076813972158567259200215660948447373041
"""The order of the prime subgroup ``BASE8`` generates."""


class Point(NamedTuple):
    """An affine point of Baby Jubjub (coordinates in ``[0, P)``)."""

    x: int
    y: int


IDENTITY = Point(0, 1)
BASE8 = Point(
    5299619240641551281634865583518297030282874472190772894086521144482721001553,
    16950150798460657717958625567821834550301663161624707787222815936182638968203,
)


class InvalidPoint(ValueError):
    """Bytes that are no canonical packing of a point of large order, or a point off
    the curve given to :func:`pack`; the message says which."""


class Signature(NamedTuple):
    r8: Point
    s: int


def on_curve(point: Point) -> bool:
    x, y = point
    if not (0 <= x < P and 0 <= y < P):
        return False
    xx, yy = x * x % P, y * y % P
    return (A_COEFF * xx + yy - 1 - D_COEFF * xx * yy) % P == 0


def add(p: Point, q: Point) -> Point:
    """The curve's addition law (complete for this ``a`` and ``d``)."""
    x1, y1 = p
    x2, y2 = q
    t = D_COEFF * x1 * x2 % P * y1 * y2 % P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, -1, P) % P
    y3 = (y1 * y2 - A_COEFF * x1 * x2) * pow(1 - t, -1, P) % P
    return Point(x3, y3)


def mul(scalar: int, point: Point) -> Point:
    """``scalar * point`` (double and add, in projective coordinates)."""
    if scalar < 0:
        raise ValueError("a scalar is non-negative")
    # Projective twisted Edwards (X : Y : Z), x = X / Z, y = Y / Z ("add-2008-bbjlp").
    rx, ry, rz = 0, 1, 1
    px, py, pz = point.x, point.y, 1
    while scalar:
        if scalar & 1:
            rx, ry, rz = _padd(rx, ry, rz, px, py, pz)
        px, py, pz = _padd(px, py, pz, px, py, pz)
        scalar >>= 1
    inverse = pow(rz, -1, P)
    return Point(rx * inverse % P, ry * inverse % P)


def _padd(x1: int, y1: int, z1: int, x2: int, y2: int, z2: int) -> tuple[int, int, int]:
    a = z1 * z2 % P
    b = a * a % P
    c = x1 * x2 % P
    d = y1 * y2 % P
    e = D_COEFF * c % P * d % P
    f = (b - e) % P
    g = (b + e) % P
    x3 = a * f % P * ((x1 + y1) * (x2 + y2) - c - d) % P
    y3 = a * g % P * (d - A_COEFF * c) % P
    z3 = f * g % P
    return x3, y3, z3


def secret_scalar(seed: bytes) -> int:
    """The secret scalar of a 32-byte key seed (never 0)."""
    if len(seed) != 32:
        raise ValueError("a Baby Jubjub key seed is 32 bytes")
    scalar = int.from_bytes(keccak256(b"rollbook/babyjub/key" + seed), "big") % L
    return scalar or 1


def public_key(seed: bytes) -> Point:
    return mul(secret_scalar(seed), BASE8)


def challenge(r8: Point, key: Point, message: int) -> int:
    """``h = Poseidon(R8.x, R8.y, A.x, A.y, m)``, the hash both sides compute."""
    return poseidon([r8.x, r8.y, key.x, key.y, message])


def sign(seed: bytes, message: int) -> Signature:
    """Sign the field element ``message`` with the key of ``seed``."""
    if not 0 <= message < P:
        raise ValueError("a signed message is a field element")
    s = secret_scalar(seed)
    key = mul(s, BASE8)
    nonce = keccak256(
        b"rollbook/babyjub/nonce" + s.to_bytes(32, "big") + message.to_bytes(32, "big")
    )
    r = int.from_bytes(nonce, "big") % L or 1
    r8 = mul(r, BASE8)
    h = challenge(r8, key, message)
    return Signature(r8, (r + 8 * h * s) % L)


def verify(key: Point, message: int, signature: Signature) -> bool:
    """Whether ``signature`` is ``key``'s of ``message`` (the circuit's rule)."""
    r8, s = signature
    if not (0 <= message < P and 0 <= s < L):
        return False
    if not (on_curve(key) and on_curve(r8)):
        return False
    if mul(8, key).x == 0:  # a key of small order signs anything
        return False
    h = challenge(r8, key, message)
    return mul(s, BASE8) == add(r8, mul(8 * h, key))


# -- point compression (circomlibjs ``packPoint`` / ``unpackPoint``) -------------------

PACKED_SIZE = 32
_SIGN_BIT = 1 << 255
_HALF_P = (P - 1) // 2
_TWO_ADICITY = ((P - 1) & -(P - 1)).bit_length() - 1
"""``P - 1 = 2^28 q`` with ``q`` odd: Tonelli–Shanks runs at most 28 rounds."""
_ODD_PART = (P - 1) >> _TWO_ADICITY


def _first_non_residue() -> int:
    """The smallest quadratic non-residue mod ``P`` (Euler's criterion)."""
    z = 2
    while pow(z, _HALF_P, P) != P - 1:
        z += 1
    return z


NON_RESIDUE = _first_non_residue()


def sqrt_mod_p(value: int) -> int | None:
    """A square root of ``value`` mod ``P``, or None when it has none (Tonelli–Shanks).

    Which of the two roots is returned is unspecified; :func:`unpack` picks by sign.
    """
    value %= P
    if value == 0:
        return 0
    if pow(value, _HALF_P, P) != 1:
        return None
    # Invariant: root^2 = value * t, t of order dividing 2^m, c of order exactly 2^m.
    m = _TWO_ADICITY
    c = pow(NON_RESIDUE, _ODD_PART, P)
    t = pow(value, _ODD_PART, P)
    root = pow(value, (_ODD_PART + 1) // 2, P)
    while t != 1:
        # the least i with t^(2^i) = 1; then halve t's order with c^(2^(m-i-1))
        i, t2i = 0, t
        while t2i != 1:
            t2i = t2i * t2i % P
            i += 1
        b = pow(c, 1 << (m - i - 1), P)
        m, c = i, b * b % P
        t, root = t * c % P, root * b % P
    return root


def pack(point: Point) -> bytes:
    """The 32-byte packing of ``point``: ``y`` little-endian, top bit = ``x`` negative.

    Raises:
        InvalidPoint: the point is not on the curve (or its coordinates not below P).
    """
    if not on_curve(point):
        raise InvalidPoint(f"{point} is not on the curve")
    word = point.y | (_SIGN_BIT if point.x > _HALF_P else 0)
    return word.to_bytes(PACKED_SIZE, "little")


def unpack(data: bytes) -> Point:
    """The point ``data`` packs (the inverse of :func:`pack`).

    The point is on the curve by construction (``a - d y^2`` never vanishes: ``a / d``
    is not a square, which is also why the addition law is complete).

    Raises:
        InvalidPoint: ``data`` is not 32 bytes, ``y >= P``, no ``x`` solves the curve
            equation, the sign bit is set for ``x = 0`` (not canonical), or the point
            has small order (``8 * point`` is the identity).
    """
    if len(data) != PACKED_SIZE:
        raise InvalidPoint(f"a packed point is {PACKED_SIZE} bytes, got {len(data)}")
    word = int.from_bytes(data, "little")
    negative = bool(word & _SIGN_BIT)
    y = word & (_SIGN_BIT - 1)
    if y >= P:
        raise InvalidPoint("a packed point's y is not below P")
    yy = y * y % P
    x = sqrt_mod_p((1 - yy) * pow(A_COEFF - D_COEFF * yy, -1, P))
    if x is None:
        raise InvalidPoint(f"no point of the curve has y = {y}")
    if x == 0 and negative:
        raise InvalidPoint("a packed point with x = 0 cannot set the sign bit")
    if (x > _HALF_P) != negative:
        x = P - x
    point = Point(x, y)
    if mul(8, point) == IDENTITY:
        raise InvalidPoint(f"the point with y = {y} has small order")
    return point
