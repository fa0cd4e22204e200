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
