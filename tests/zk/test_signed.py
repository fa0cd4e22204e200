"""The circuits' signature rule (``signed.circom``'s SignedBy) against the Python one.

``rollbook.crypto.babyjub.verify`` is the spec: for a valid signature and for each way
one can be wrong, the ``key_auth`` circuit can be proven exactly when ``verify``
accepts (#8: "a bad signature cannot be proven").
"""

from __future__ import annotations

import pytest

from rollbook.crypto import babyjub as bj
from rollbook.crypto.poseidon import P, poseidon
from tests.zk.helpers import key_auth_inputs
from tests.zk.helpers import provable as zk_provable

SEED = bytes([3]) * 32
KEY = bj.public_key(SEED)
MESSAGE = 123_456_789
SIGNATURE = bj.sign(SEED, MESSAGE)
SMALL = bj.Point(0, P - 1)  # order 2: 8 * SMALL is the identity


def provable(key: bj.Point, message: int, signature: bj.Signature) -> bool:
    inputs = key_auth_inputs(key, message, signature)
    return zk_provable("key_auth", inputs, poseidon([key.x, key.y, message]))


CASES = [
    ("valid", KEY, MESSAGE, SIGNATURE),
    ("another message", KEY, MESSAGE + 1, SIGNATURE),
    ("another key", bj.public_key(bytes(32)), MESSAGE, SIGNATURE),
    ("S + 1", KEY, MESSAGE, SIGNATURE._replace(s=(SIGNATURE.s + 1) % bj.L)),
    ("S + L", KEY, MESSAGE, SIGNATURE._replace(s=SIGNATURE.s + bj.L)),
    (
        "R8 off the curve",
        KEY,
        MESSAGE,
        SIGNATURE._replace(r8=bj.Point(SIGNATURE.r8.x, (SIGNATURE.r8.y + 1) % P)),
    ),
    ("A off the curve", bj.Point(KEY.x, (KEY.y + 1) % P), MESSAGE, SIGNATURE),
    ("a small-order key", SMALL, MESSAGE, bj.Signature(bj.IDENTITY, 0)),
    ("the largest message", KEY, P - 1, bj.sign(SEED, P - 1)),
]


@pytest.mark.parametrize(("name", "key", "message", "signature"), CASES, ids=[c[0] for c in CASES])
def test_the_circuit_accepts_exactly_what_verify_accepts(
    name: str, key: bj.Point, message: int, signature: bj.Signature
) -> None:
    expected = bj.verify(key, message, signature)
    assert expected == (name in ("valid", "the largest message")), name
    assert provable(key, message, signature) == expected, name


def on_curve_provable(enabled: int, point: bj.Point) -> bool:
    inputs = {"enabled": enabled, "x": point.x, "y": point.y}
    return zk_provable("on_curve_test", inputs, poseidon([point.x, point.y, enabled]))


def test_the_on_curve_check_itself() -> None:
    """SignedBy's own checks, apart from the signature equation (which an off-curve
    point fails anyway, almost surely): a point off the curve is refused when the slot
    is enabled, anything passes when it is not, and ``enabled`` is 0 or 1."""
    off = bj.Point(KEY.x, (KEY.y + 1) % P)
    assert bj.on_curve(KEY) and not bj.on_curve(off)
    assert on_curve_provable(1, KEY)
    assert not on_curve_provable(1, off)
    assert on_curve_provable(0, off)
    # the identity passes the curve check at any `enabled`: only its 0-or-1 rule fails
    assert on_curve_provable(1, bj.IDENTITY)
    assert not on_curve_provable(2, bj.IDENTITY)
