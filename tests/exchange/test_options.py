"""Option names, expiry times and the 30-minute settlement TWAP."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollbook.exchange.errors import MalformedTx, OracleError
from rollbook.exchange.options import civil_from_days, option_symbol, settlement_price

USD = 10**6
EXPIRY = calendar.timegm((2026, 12, 27, 8, 0, 0))


def test_deribit_names() -> None:
    assert option_symbol("ETH", EXPIRY, 3000 * USD, True) == "ETH_USDC-27DEC26-3000-C"
    july = calendar.timegm((2027, 7, 5, 8, 0, 0))
    assert option_symbol("BTC", july, 60_000 * USD, False) == "BTC_USDC-5JUL27-60000-P"
    with pytest.raises(MalformedTx):
        option_symbol("ETH", EXPIRY + 1, 3000 * USD, True)
    with pytest.raises(MalformedTx):
        option_symbol("ETH", EXPIRY, 3000 * USD + 1, True)


@given(st.integers(-719_162, 2_932_896))  # datetime.date: years 1..9999
def test_civil_calendar_matches_datetime(days: int) -> None:
    expected = dt.date(1970, 1, 1) + dt.timedelta(days=days)
    assert civil_from_days(days) == (expected.year, expected.month, expected.day)


def test_settlement_twap_one_sample_per_minute() -> None:
    samples = [(EXPIRY - 1800 + 60 * i, (3000 + i) * USD) for i in range(30)]
    # mean of 3000..3029 = 3014.5 dollars, exact in quote units
    assert settlement_price(samples, EXPIRY, 1) == (3_014_500_000, 30)
    # outside the window, or off the minute: not a sample
    extra = [(EXPIRY, 1), (EXPIRY - 1860, 1), (EXPIRY - 1800 + 7, 1)]
    assert settlement_price([*samples, *extra], EXPIRY, 1) == (3_014_500_000, 30)


def test_settlement_rounds_half_up_and_falls_back_without_samples() -> None:
    samples = [(EXPIRY - 1800 + 60 * i, 1 + (i % 2)) for i in range(20)]  # mean 1.5 units
    assert settlement_price(samples, EXPIRY, 7) == (2, 20)
    assert settlement_price([(EXPIRY - 1800 + 59, 5)], EXPIRY, 7) == (7, 0)
    with pytest.raises(OracleError, match="two settlement samples"):
        settlement_price([*samples, samples[0]], EXPIRY, 7)
