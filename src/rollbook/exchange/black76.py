"""Integer Black-76 prices and Greeks for European options on an index (issue #3).

Black-76 values an option on the forward ``F`` with undiscounted payoff (rate 0, as
for linear USDC-settled options whose premium and settlement are in the same unit):

    d1 = (ln(F/K) + σ²T/2) / (σ√T),   d2 = d1 − σ√T
    call = F·Φ(d1) − K·Φ(d2),          put = K·Φ(−d2) − F·Φ(−d1)

Sources: Deribit prices its options with Black-Scholes on the forward (Black-76,
"Options pricing" in its knowledge base); Lyra/Derive v2's on-chain ``Black76``
library uses the same formula. Time is in seconds over a 365-day year (Deribit).

Integer conventions: prices ``F``, ``K`` and results in quote units (1e-6 USDC) per
whole underlying; ``vol`` and Greeks at ``ONE = 1e18`` unless stated.

Prices are computed in binary fixed point (``x`` means ``x / 2**64``, see
:mod:`rollbook.exchange.fixedmath`) because every oracle update revalues each option
in 23 scenarios (:mod:`rollbook.exchange.portfolio_margin`). :func:`priced` is the
kernel: it takes the log-moneyness ``ln(F/K)`` and ``σ√T`` already computed, so that a
scenario that moves the forward by ``1 + s`` can pass ``ln(F/K) + ln(1 + s)`` and share
one logarithm. The call's value ``F·Φ(d1) − K·Φ(d2)`` is rounded to nearest once; the
put follows from put-call parity ``C − P = F − K``, which therefore holds *exactly*, and
the out-of-the-money side is floored at zero.

Accuracy (``tests/exchange/test_black76.py`` against mpmath): within 0.5 + 1e-6 quote
units of the exact Black-76 value (correctly rounded except within 1e-6 of a tie) for
forwards up to $100,000; the fixed-point errors (Φ within 2 units of 2**-64, ``ln`` and
``σ√T`` within 1) move a price by less than 1e-7 quote units there.
"""

from __future__ import annotations

from math import isqrt
from typing import NamedTuple

from rollbook.exchange.fixedmath import (
    ONE,
    Q_BITS,
    ln,
    ln_ratio_q,
    normal_cdf,
    normal_cdf_q,
    normal_pdf,
    sqrt,
)

YEAR = 365 * 24 * 3600


class Greeks(NamedTuple):
    """Price and Greeks per unit of underlying (units in each field's note)."""

    price: int
    """Option value, quote units per underlying."""
    delta: int
    """∂price/∂F at 1e18 (call in [0, 1], put in [−1, 0])."""
    gamma: int
    """∂delta/∂F per US dollar of F, at 1e18."""
    vega: int
    """∂price/∂σ in quote units per 1.0 of volatility."""
    theta: int
    """∂price/∂t in quote units per year (negative: value decays)."""
    rho: int = 0
    """∂price/∂r at r = 0 in quote units per 1.0 of rate: Black-76 discounts the
    payoff, ``V = e^(−rT)·(…)``, so ``ρ = −T·V`` (USDC options bear no carry here)."""


def _sigma_root_t(vol: int, seconds: int) -> int:
    """σ√T at 1e18."""
    return vol * sqrt(seconds * ONE // YEAR) // ONE


def _d1(forward: int, strike: int, sigma_root_t: int) -> int:
    log_moneyness = ln(forward * ONE // strike) if forward != strike else 0
    return (log_moneyness * ONE + sigma_root_t * sigma_root_t // 2) // sigma_root_t


_HALF_Q = 1 << (Q_BITS - 1)


def check_market(forward: int, strike: int, vol: int, seconds: int) -> None:
    """Reject inputs Black-76 is not defined for.

    Raises:
        ValueError: a non-positive forward or strike, or a negative vol or time.
    """
    if forward <= 0 or strike <= 0:
        raise ValueError("forward and strike must be positive")
    if vol < 0 or seconds < 0:
        raise ValueError("volatility and time must not be negative")


def log_moneyness(forward: int, strike: int) -> int:
    """``ln(F/K)`` at 2**-64 (within one unit)."""
    return ln_ratio_q(forward, strike)


def root_t(seconds: int) -> int:
    """``√T``, T = seconds / 365 days, at 2**-64, rounded down."""
    # T at 2**-128 (floored), so its integer square root is √T at 2**-64.
    return isqrt((seconds << (2 * Q_BITS)) // YEAR)


def sigma_root_t(vol: int, seconds: int) -> int:
    """``σ√T`` at 2**-64, rounded down (``vol`` at 1e18)."""
    return vol * root_t(seconds) // ONE


def priced(forward: int, strike: int, moneyness: int, srt: int) -> tuple[int, int]:
    """``(call, put)`` in quote units from ``ln(F/K)`` and ``σ√T``, both at 2**-64.

    ``d1 = (ln(F/K) + σ²T/2) / σ√T`` and ``d2 = d1 − σ√T``, both at 2**-64;
    ``call = F·Φ(d1) − K·Φ(d2)`` rounded to nearest (ties up); ``put = call − (F − K)``.
    The out-of-the-money side is floored at 0 and the other follows by parity. With
    ``srt == 0`` (no time or no volatility) the values are intrinsic.
    """
    parity = forward - strike
    if srt == 0:
        call = max(parity, 0)
        return call, call - parity
    # (L + srt²/2) / srt, all at 2**-64: the numerator is raised to 2**-128 first.
    d1 = ((moneyness << Q_BITS) + (srt * srt >> 1)) // srt
    d2 = d1 - srt
    call = (forward * normal_cdf_q(d1) - strike * normal_cdf_q(d2) + _HALF_Q) >> Q_BITS
    if strike >= forward:
        call = max(call, 0)
        return call, call - parity
    put = max(call - parity, 0)
    return put + parity, put


def call_put(forward: int, strike: int, vol: int, seconds: int) -> tuple[int, int]:
    """``(call, put)`` values in quote units; ``C − P = F − K`` exactly.

    Raises:
        ValueError: a non-positive forward or strike, or a negative vol or time.
    """
    check_market(forward, strike, vol, seconds)
    return priced(forward, strike, log_moneyness(forward, strike), sigma_root_t(vol, seconds))


def greeks(forward: int, strike: int, vol: int, seconds: int, is_call: bool) -> Greeks:
    """Price and Greeks of one option (rate 0)."""
    call, put = call_put(forward, strike, vol, seconds)
    price = call if is_call else put
    srt = _sigma_root_t(vol, seconds)
    if srt == 0:
        itm = forward > strike if is_call else forward < strike
        delta = (ONE if is_call else -ONE) if itm else 0
        return Greeks(price, delta, 0, 0, 0, 0)
    d1 = _d1(forward, strike, srt)
    pdf = normal_pdf(d1)
    delta = normal_cdf(d1) - (0 if is_call else ONE)
    root_t = sqrt(seconds * ONE // YEAR)
    gamma = pdf * ONE * 10**6 // (forward * srt)
    vega = forward * pdf // ONE * root_t // ONE
    theta = -(forward * pdf // ONE) * vol // (2 * root_t)
    rho = -(price * seconds // YEAR)
    return Greeks(price, delta, gamma, vega, theta, rho)
