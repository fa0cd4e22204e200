"""Option instruments: Deribit names, 08:00 UTC expiries, the settlement price (issue #3).

- Names follow Deribit's linear USDC options: ``ETH_USDC-27DEC26-3000-C`` — underlying,
  ``_USDC``, expiry day (no leading zero), month, two-digit year, strike in whole
  dollars, ``C`` or ``P``. Dates are computed from the timestamp with integer civil-
  calendar arithmetic (Howard Hinnant's ``civil_from_days``), since the STF may not
  read a clock or import ``datetime``.
- Expiries are at 08:00 UTC (Deribit).
- The settlement price is the average of the oracle-signed one-minute index samples
  over the last 30 minutes before expiry (Deribit's settlement: a 30-minute TWAP of
  the index). A sample is the index of a report whose timestamp is *on the minute*
  within ``[expiry − 30 min, expiry)``: the oracle signs one report per minute
  boundary, so the sequencer cannot pick among samples, only omit one (which the
  stored sample count shows, and which a verifier holding the oracle's public
  reports can prove). The average rounds half up to a quote unit. If no sample made
  it, the price is the index of the first report at or after expiry. The STF
  accumulates the same sum incrementally (:mod:`rollbook.exchange.expiry`); anyone
  can recompute it bit-exactly from the samples with :func:`settlement_price`.
"""

from __future__ import annotations

from rollbook.exchange.errors import MalformedTx, OracleError

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY = 86_400
EXPIRY_HOUR = 8
SETTLEMENT_WINDOW = 30 * 60
BUCKET = 60
QUOTE_ONE = 10**6


def civil_from_days(days: int) -> tuple[int, int, int]:
    """``(year, month, day)`` of the day ``days`` after 1970-01-01 (proleptic Gregorian)."""
    z = days + 719_468
    era = (z if z >= 0 else z - 146_096) // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    year = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return (year + 1 if month <= 2 else year), month, day


def is_expiry_time(timestamp: int) -> bool:
    """Whether ``timestamp`` is 08:00:00 UTC on some day."""
    return timestamp % DAY == EXPIRY_HOUR * 3600


def option_symbol(underlying: str, expiry: int, strike: int, is_call: bool) -> str:
    """Deribit's name for a linear USDC option, e.g. ``ETH_USDC-27DEC26-3000-C``.

    ``strike`` is in quote units and must be whole dollars.

    Raises:
        MalformedTx: the expiry is not at 08:00 UTC or the strike is not whole dollars.
    """
    if not is_expiry_time(expiry):
        raise MalformedTx("option expiries are at 08:00 UTC")
    if strike <= 0 or strike % QUOTE_ONE:
        raise MalformedTx("option strikes are positive whole dollars")
    year, month, day = civil_from_days(expiry // DAY)
    kind = "C" if is_call else "P"
    return (
        f"{underlying}_USDC-{day}{MONTHS[month - 1]}{year % 100:02d}-{strike // QUOTE_ONE}-{kind}"
    )


def is_settlement_sample(timestamp: int, expiry: int) -> bool:
    """Whether a report at ``timestamp`` is a settlement sample of ``expiry``."""
    return expiry - SETTLEMENT_WINDOW <= timestamp < expiry and timestamp % BUCKET == 0


def average(total: int, count: int) -> int:
    """``total / count`` rounded half up (``count > 0``)."""
    return (2 * total + count) // (2 * count)


def settlement_price(samples: list[tuple[int, int]], expiry: int, fallback: int) -> tuple[int, int]:
    """``(price, samples used)``: the 30-minute TWAP from ``(timestamp, index)`` reports.

    ``fallback`` is the index of the first report at or after expiry, used when no
    sample made it.

    Raises:
        OracleError: two reports with the same timestamp, or a non-positive price.
    """
    seen: list[int] = []
    total = 0
    for timestamp, price in samples:
        if not is_settlement_sample(timestamp, expiry):
            continue
        if price <= 0:
            raise OracleError(f"settlement sample at {timestamp} has no price")
        if timestamp in seen:
            raise OracleError(f"two settlement samples at {timestamp}")
        seen.append(timestamp)
        total += price
    if not seen:
        return fallback, 0
    return average(total, len(seen)), len(seen)
