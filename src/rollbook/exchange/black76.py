"""Integer Black-76 prices and Greeks for European options on an index (issue #3).

Black-76 values an option on the forward ``F`` with undiscounted payoff (rate 0, as
for linear USDC-settled options whose premium and settlement are in the same unit):

    d1 = (ln(F/K) + σ²T/2) / (σ√T),   d2 = d1 − σ√T
    call = F·Φ(d1) − K·Φ(d2),          put = K·Φ(−d2) − F·Φ(−d1)

Sources: Deribit prices its options with Black-Scholes on the forward (Black-76,
"Options pricing" in its knowledge base); Lyra/Derive v2's on-chain ``Black76``
library uses the same formula. Time is in seconds over a 365-day year (Deribit).

Integer conventions: prices ``F``, ``K`` and results in quote units (1e-6 USDC) per
whole underlying; ``vol`` and Greeks at ``ONE = 1e18`` unless stated. The out-of-the-
money option is priced directly (its value is small and well conditioned) and the
other side follows from put-call parity ``C − P = F − K``, so parity holds *exactly*.
Accuracy (``tests/exchange/test_black76.py`` against mpmath): within 1 quote unit, i.e.
≤ 1e-9 of the forward for any forward above $1,000.
"""

from __future__ import annotations

from typing import NamedTuple

from rollbook.exchange.fixedmath import ONE, ln, normal_cdf, normal_pdf, round_div, sqrt

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


def _sigma_root_t(vol: int, seconds: int) -> int:
    """σ√T at 1e18."""
    return vol * sqrt(seconds * ONE // YEAR) // ONE


def _d1(forward: int, strike: int, sigma_root_t: int) -> int:
    log_moneyness = ln(forward * ONE // strike) if forward != strike else 0
    return (log_moneyness * ONE + sigma_root_t * sigma_root_t // 2) // sigma_root_t


def call_put(forward: int, strike: int, vol: int, seconds: int) -> tuple[int, int]:
    """``(call, put)`` values in quote units; ``C − P = F − K`` exactly.

    Raises:
        ValueError: a non-positive forward or strike, or a negative vol or time.
    """
    if forward <= 0 or strike <= 0:
        raise ValueError("forward and strike must be positive")
    if vol < 0 or seconds < 0:
        raise ValueError("volatility and time must not be negative")
    srt = _sigma_root_t(vol, seconds)
    if srt == 0:
        call = max(forward - strike, 0)
        return call, call - (forward - strike)
    d1 = _d1(forward, strike, srt)
    d2 = d1 - srt
    if strike >= forward:
        # The call is out of the money: value it, the put by parity.
        call = round_div(forward * normal_cdf(d1) - strike * normal_cdf(d2), ONE)
        call = max(call, 0)
        return call, call - (forward - strike)
    put = round_div(strike * normal_cdf(-d2) - forward * normal_cdf(-d1), ONE)
    put = max(put, 0)
    return put + (forward - strike), put


def greeks(forward: int, strike: int, vol: int, seconds: int, is_call: bool) -> Greeks:
    """Price and Greeks of one option (rate 0)."""
    call, put = call_put(forward, strike, vol, seconds)
    price = call if is_call else put
    srt = _sigma_root_t(vol, seconds)
    if srt == 0:
        itm = forward > strike if is_call else forward < strike
        delta = (ONE if is_call else -ONE) if itm else 0
        return Greeks(price, delta, 0, 0, 0)
    d1 = _d1(forward, strike, srt)
    pdf = normal_pdf(d1)
    delta = normal_cdf(d1) - (0 if is_call else ONE)
    root_t = sqrt(seconds * ONE // YEAR)
    gamma = pdf * ONE * 10**6 // (forward * srt)
    vega = forward * pdf // ONE * root_t // ONE
    theta = -(forward * pdf // ONE) * vol // (2 * root_t)
    return Greeks(price, delta, gamma, vega, theta)
