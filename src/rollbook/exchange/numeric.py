"""Fixed-point integer arithmetic with named units and named rounding.

Units (docs/design/consensus.md section 1):
- quote unit: 1e-6 USDC; prices are quote units per whole underlying;
- base unit: 1e-8 of the underlying (``SIZE_ONE``);
- ppm: parts per million for rates;
- ``INDEX_SCALE``: extra precision of the funding and loss indices.

Every division here names its rounding. Nothing is ever built from a float.
"""

from __future__ import annotations

from enum import Enum

SIZE_ONE = 10**8
PPM = 10**6
INDEX_SCALE = 10**12
QUOTE_ONE = 10**6

U64_MAX = (1 << 64) - 1
I64_MAX = (1 << 63) - 1
U32_MAX = (1 << 32) - 1
U16_MAX = (1 << 16) - 1


class Rounding(Enum):
    """Direction of an integer division: toward -inf (DOWN) or +inf (UP)."""

    DOWN = "down"
    UP = "up"


def div(a: int, d: int, rounding: Rounding) -> int:
    """``a / d`` rounded as named. ``d`` must be positive."""
    if d <= 0:
        raise ZeroDivisionError("divisor must be positive")
    if rounding is Rounding.DOWN:
        return a // d
    return -((-a) // d)


def mul_div(a: int, b: int, d: int, rounding: Rounding) -> int:
    """``a * b / d`` rounded as named; the product is exact before dividing."""
    return div(a * b, d, rounding)


def notional(price: int, size: int) -> int:
    """Quote value of ``size`` base units at ``price``; signed like ``size``.

    Exact for every fill because listings require ``tick * lot % SIZE_ONE == 0``;
    for marks (not on tick) it rounds toward -inf, which the margin code accounts for
    by valuing with :func:`value_at_mark`.
    """
    return price * size // SIZE_ONE


def value_at_mark(mark: int, size: int) -> int:
    """Value of a position at mark, rounded toward -inf (conservative for margin)."""
    return mark * size // SIZE_ONE


def ppm_of(amount: int, rate_ppm: int, rounding: Rounding) -> int:
    """``amount * rate_ppm / 1e6`` rounded as named."""
    return mul_div(amount, rate_ppm, PPM, rounding)


def clamp(value: int, low: int, high: int) -> int:
    """``value`` limited to ``[low, high]``."""
    return low if value < low else high if value > high else value
