"""Deterministic integer transcendental functions for the pricing that consensus uses.

Issue #3 prices options *inside* the STF, so ln, exp, sqrt and the normal CDF must be
integer functions that give the same bits on every machine. Values are fixed point
with ``ONE = 10**18`` (an input ``x`` means ``x / 1e18``). Internally each function
works at ``10**36`` and rounds once at the end, so the stated bounds hold with margin;
``tests/exchange/test_fixedmath.py`` checks them against ``mpmath`` at 50 digits.

Error bounds (absolute, in units of the result's last place, 1e-18):

- :func:`ln`: ≤ 2 ulp for ``x`` in ``[1e-18, 1e30]``;
- :func:`exp`: relative error ≤ 2e-18 (plus 1 ulp) for ``x`` in ``[-41, 130]``;
- :func:`sqrt`: exact floor;
- :func:`normal_cdf`: ≤ 2 ulp on ``[-40, 40]`` (issue #3's goal is 1e-12 = 1e6 ulp).

In binary fixed point at 2**-64 (the revaluation path, see the end of the module):

- :func:`ln_ratio_q`: ≤ 1 unit of 2**-64 for ratios in ``[1e-12, 1e12]``;
- :func:`normal_cdf_q`: ≤ 2 units of 2**-64 everywhere, and ``Φ(−x) + Φ(x) = 1`` exactly.

Methods: ``ln`` reduces ``x = m · 2^k`` with ``m`` in ``[1, 2)`` and sums
``2 atanh((m−1)/(m+1))``; ``exp`` reduces ``x = k ln 2 + r`` and sums Taylor's series;
``normal_cdf`` sums the all-positive series ``Φ(x) = 1/2 + φ(x) Σ x^(2n+1)/(2n+1)!!``
(no cancellation) below ``|x| = 8.5``, the asymptotic tail series above it, and the
symmetry ``Φ(−x) = 1 − Φ(x)``; beyond ``|x| = 40`` Φ is 0 or 1 to far below 1e-18.
"""

from __future__ import annotations

from math import isqrt

ONE = 10**18
_WORK = 10**36
_SHIFT = _WORK // ONE  # 10**18

# ln 2 and 1/sqrt(2π) at 10**36, rounded to nearest (computed with mpmath at 60 digits).
_LN2 = 693147180559945309417232121458176568
_INV_SQRT_2PI = 398942280401432677939946059934381868


def round_div(a: int, d: int) -> int:
    """``a / d`` rounded to nearest, ties away from zero (``d > 0``)."""
    q, r = divmod(abs(a), d)
    if 2 * r >= d:
        q += 1
    return q if a >= 0 else -q


def _two_atanh(z: int) -> int:
    """``2 atanh(z) = ln((1+z)/(1−z))`` at 10**36 by its series, for small ``|z|``."""
    z2 = z * z // _WORK
    term = z
    total = 0
    n = 1
    while term:
        total += term // n
        term = term * z2 // _WORK
        n += 2
    return 2 * total


def _ln_series(m: int) -> int:
    """ln of ``m / 10**36`` for ``m`` in ``[1e36, 2e36)``: ``2 atanh((m−1)/(m+1))``."""
    return _two_atanh(round_div((m - _WORK) * _WORK, m + _WORK))


# ln(1 + j/64), j = 0..63, built at import from the series (integers only).
_LN_STEPS = 64
_LN_STEP = _WORK // _LN_STEPS
_LN_TABLE = tuple(_ln_series(_WORK + j * _LN_STEP) for j in range(_LN_STEPS))


def _ln_work(x: int) -> int:
    """ln of ``x / 10**36`` at 10**36, for ``x > 0``.

    ``x = m · 2^k`` with ``m`` in ``[1, 2)``; then ``m = (1 + j/64) · y`` with ``y`` in
    ``[1, 1 + 1/64)``, so ``ln x = k ln 2 + ln(1 + j/64) + 2 atanh((y−1)/(y+1))`` and the
    series needs ~9 terms (``|z| < 1/128``) instead of ~19.
    """
    k = x.bit_length() - 121  # 2**120 ≈ 1.3e36, so m = x / 2**k lies near [1, 2) · 1e36
    m = x >> k if k >= 0 else x << -k
    # Bring m into [1e36, 2e36): adjust k by whole halvings.
    while m >= 2 * _WORK:
        m //= 2
        k += 1
    while m < _WORK:
        m *= 2
        k -= 1
    j = (m - _WORK) // _LN_STEP
    y = round_div(m * _WORK, _WORK + j * _LN_STEP)
    z = round_div((y - _WORK) * _WORK, y + _WORK)
    return _LN_TABLE[j] + _two_atanh(z) + k * _LN2


def ln(x: int) -> int:
    """Natural logarithm of ``x / 1e18``, at 1e18. Raises ``ValueError`` if ``x <= 0``."""
    if x <= 0:
        raise ValueError("ln is defined for positive values only")
    return round_div(_ln_work(x * _SHIFT), _SHIFT)


def _exp_series(r: int) -> int:
    """exp of ``r / 10**36`` at 10**36 by Taylor's series, for ``|r| <= 1/2``."""
    term = _WORK
    total = _WORK
    n = 1
    while term:
        term = term * r // (_WORK * n)
        total += term
        n += 1
    return total


# exp(j/64), j = −32..32, built at import from the series.
_EXP_STEPS = 64
_EXP_STEP = _WORK // _EXP_STEPS
_EXP_TABLE = tuple(_exp_series(j * _EXP_STEP) for j in range(-32, 33))


def _exp_work(x: int) -> int:
    """exp of ``x / 10**36`` at 10**36.

    ``x = k ln 2 + j/64 + r`` with ``|r| <= 1/128``: ``exp x = 2^k · exp(j/64) · exp(r)``,
    the middle factor from the table, the last by ~13 Taylor terms instead of ~30.
    """
    k = round_div(x, _LN2)
    r = x - k * _LN2  # |r| ≤ ln2 / 2
    j = round_div(r, _EXP_STEP)  # |j| ≤ 23
    total = _EXP_TABLE[j + 32] * _exp_series(r - j * _EXP_STEP) // _WORK
    return total << k if k >= 0 else total >> -k


def exp(x: int) -> int:
    """``e`` to the power ``x / 1e18``, at 1e18 (0 below about −41.4)."""
    return round_div(_exp_work(x * _SHIFT), _SHIFT)


def sqrt(x: int) -> int:
    """Square root of ``x / 1e18`` at 1e18, rounded down. Raises on negatives."""
    if x < 0:
        raise ValueError("sqrt of a negative value")
    return isqrt(x * ONE)


_CDF_LIMIT = 40 * _WORK


_TAIL_FROM = 85 * _WORK // 10  # 8.5


def _upper_tail_work(x: int) -> int:
    """``1 − Φ(x)`` at 10**36 for ``x >= 8.5`` by the asymptotic series

    ``Q(x) = φ(x)/x · (1 − 1/x² + 3/x⁴ − 15/x⁶ + …)``, stopped at its smallest term;
    at ``x >= 8.5`` that term is below 1e-15 of Q, and Q itself below 1e-17.
    """
    x2 = x * x // _WORK
    term = _WORK
    total = _WORK
    n = 1
    while True:
        # term_k = term_(k−1) · (2k−1) / x²; x2 is at 10**36, hence the _WORK.
        following = term * n * _WORK // x2
        if following == 0 or following >= term:
            break
        term = following
        total += -term if n % 4 == 1 else term
        n += 2
    density = _INV_SQRT_2PI * _exp_work(-x2 // 2) // _WORK
    return density * total // x


def _cdf_work(x: int) -> int:
    """Φ(x / 10**36) at 10**36 for ``x >= 0``."""
    if x >= _CDF_LIMIT:
        return _WORK
    if x >= _TAIL_FROM:
        return _WORK - _upper_tail_work(x)
    x2 = x * x // _WORK
    term = x
    series = 0
    n = 1
    while term:
        series += term
        n += 2
        term = term * x2 // (_WORK * n)
    density = _INV_SQRT_2PI * _exp_work(-x2 // 2) // _WORK
    return _WORK // 2 + density * series // _WORK


# -- Φ by Taylor expansion around a grid (the fast path) ---------------------------------
#
# Φ(x0 + h) = Φ(x0) + φ(x0) Σ_{n≥1} (−1)^(n−1) He_{n−1}(x0) hⁿ / n!   (He: Hermite)
# Grid points every 1/32 on [0, 8.5], so |h| ≤ 1/64 and 16 terms reach far below 1e-36.
# The table is built at import from the series above (integers only: the same on every
# machine), then each Φ costs 16 multiply-adds instead of a 50–150-term series.

_GRID = 32
_TERMS = 16
_STEP = _WORK // _GRID


def _taylor_coefficients(x0: int, terms: int) -> list[int]:
    """``c_1, …, c_terms`` at 10**36 with ``c_n = φ(x0) (−1)^(n−1) He_{n−1}(x0)/n!``."""
    density = _INV_SQRT_2PI * _exp_work(-(x0 * x0 // _WORK) // 2) // _WORK
    hermite_prev, hermite = 0, _WORK  # He_{-1} := 0, He_0 = 1
    factorial = 1
    out = []
    for n in range(1, terms + 1):
        factorial *= n
        sign = 1 if n % 2 == 1 else -1
        out.append(sign * density * hermite // (_WORK * factorial))
        # He_n = x He_{n−1} − (n−1) He_{n−2}
        hermite_prev, hermite = hermite, x0 * hermite // _WORK - (n - 1) * hermite_prev
    return out


def _taylor_row(x0: int) -> tuple[int, ...]:
    """``(Φ(x0), c_1, …, c_16)`` at 10**36 (see :func:`_taylor_coefficients`)."""
    return (_cdf_work(x0), *_taylor_coefficients(x0, _TERMS))


_TABLE = tuple(_taylor_row(i * _STEP) for i in range(0, 85 * _GRID // 10 + 1))


def _cdf_fast(x: int) -> int:
    """Φ(x / 10**36) at 10**36 for ``0 <= x < 8.5``, from the Taylor table."""
    index = round_div(x, _STEP)
    row = _TABLE[index]
    h = x - index * _STEP
    acc = row[_TERMS]
    for n in range(_TERMS - 1, 0, -1):
        acc = row[n] + acc * h // _WORK
    return row[0] + acc * h // _WORK


def normal_cdf(x: int) -> int:
    """Standard normal CDF Φ of ``x / 1e18``, at 1e18."""
    work = abs(x) * _SHIFT
    value = _cdf_fast(work) if work < _TAIL_FROM else _cdf_work(work)
    if x < 0:
        value = _WORK - value
    return round_div(value, _SHIFT)


def normal_cdf_series(x: int) -> int:
    """Φ by the series alone: the reference that :func:`normal_cdf`'s table must match."""
    work = abs(x) * _SHIFT
    value = _cdf_work(work)
    if x < 0:
        value = _WORK - value
    return round_div(value, _SHIFT)


def normal_pdf(x: int) -> int:
    """Standard normal density φ of ``x / 1e18``, at 1e18."""
    work = x * _SHIFT
    x2 = work * work // _WORK
    return round_div(_INV_SQRT_2PI * _exp_work(-x2 // 2) // _WORK, _SHIFT)


# -- Binary fixed point for the per-oracle-update revaluation ----------------------------
#
# Every oracle update revalues each option in 23 scenarios, so that path works in binary
# fixed point: an integer ``x`` means ``x / 2**64`` and rescaling is a shift, not a
# division by 10**18. It needs two functions: ``ln`` of a ratio (once per option) and Φ
# (twice per scenario). Callers convert to quote units once, at the end.

Q_BITS = 64
Q_ONE = 1 << Q_BITS


def _work_to_q(value: int) -> int:
    """A value at 10**36 to 2**-64, rounded to nearest."""
    return round_div(value << Q_BITS, _WORK)


def ln_ratio_q(numerator: int, denominator: int) -> int:
    """``ln(numerator / denominator)`` at 2**-64, for positive integers.

    The ratio is floored at 10**-36 and its logarithm taken at 10**36 by :func:`_ln_work`,
    then rounded once to 2**-64: within 1 unit of 2**-64 for ratios in ``[1e-12, 1e12]``.

    Raises:
        ValueError: a non-positive numerator or denominator.
    """
    if numerator <= 0 or denominator <= 0:
        raise ValueError("ln is defined for positive values only")
    # max(…, 1): a ratio below 1e-36 is taken as 1e-36 (ln ≈ −82.9) instead of failing.
    return _work_to_q(_ln_work(max(numerator * _WORK // denominator, 1)))


# Φ by Taylor expansion around grid points every 1/64 on [0, 10] (641 rows), so the
# offset is |h| ≤ 1/128. By Cramér's bound |He_k(x)| e^(−x²/4) ≤ 1.09 √k!, the n-th
# term is at most 0.44 √(n−1)! hⁿ/n!: the 9th is below 3e-23, so 8 terms reach far below
# 2**-64 ≈ 5.4e-20. Beyond 10 + 1/128, 1 − Φ < 1e-23 and Φ is taken as 1. Rows are built
# at import from the 10**36 table above (Φ) and the Hermite recurrence (c_1 … c_8).

_Q_TERMS = 8
_Q_GRID_BITS = 6  # grid step 2**-6
_Q_STEP_SHIFT = Q_BITS - _Q_GRID_BITS
_Q_HALF_STEP = 1 << (_Q_STEP_SHIFT - 1)


def _q_row(index: int) -> tuple[int, ...]:
    """``(Φ(x0), c_1, …, c_8)`` at 2**-64 for ``x0 = index / 64``."""
    x0 = index * (_WORK >> _Q_GRID_BITS)  # exact: 10**36 is a multiple of 64
    cdf = _cdf_fast(x0) if x0 < _TAIL_FROM else _cdf_work(x0)
    return tuple(_work_to_q(v) for v in (cdf, *_taylor_coefficients(x0, _Q_TERMS)))


_Q_ROWS = 10 * (1 << _Q_GRID_BITS) + 1
_Q_TABLE = tuple(_q_row(i) for i in range(_Q_ROWS))


def normal_cdf_q(x: int) -> int:
    """Standard normal CDF Φ of ``x / 2**64``, at 2**-64 (within 2 units of 2**-64).

    ``Φ(−x) = 2**64 − Φ(x)`` exactly, by construction.
    """
    a = -x if x < 0 else x
    index = (a + _Q_HALF_STEP) >> _Q_STEP_SHIFT
    if index < _Q_ROWS:
        c0, c1, c2, c3, c4, c5, c6, c7, c8 = _Q_TABLE[index]
        h = a - (index << _Q_STEP_SHIFT)
        # Horner's rule; each `>> Q_BITS` floors, adding at most one unit of error.
        acc = c7 + (c8 * h >> Q_BITS)
        acc = c6 + (acc * h >> Q_BITS)
        acc = c5 + (acc * h >> Q_BITS)
        acc = c4 + (acc * h >> Q_BITS)
        acc = c3 + (acc * h >> Q_BITS)
        acc = c2 + (acc * h >> Q_BITS)
        acc = c1 + (acc * h >> Q_BITS)
        value = c0 + (acc * h >> Q_BITS)
        if value > Q_ONE:
            value = Q_ONE
    else:
        value = Q_ONE
    return Q_ONE - value if x < 0 else value
