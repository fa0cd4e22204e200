"""Order vocabulary shared by the settlement STF and the matching engine.

An order's *signed* fields are listed in ``docs/design/consensus.md`` (section
"Orders"). This module holds the small enumerations and the flag bits; the signed
order itself lives in :mod:`rollbook.exchange.orders`.

Units (all integers, see :mod:`rollbook.exchange.numeric`):
- price: quote units (1e-6 USDC) per one whole unit of the underlying;
- size: base units (1e-8 of the underlying).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class Side(IntEnum):
    """Which way an order trades. ``sign`` is +1 for a buy, -1 for a sell."""

    BUY = 0
    SELL = 1

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderFlags(IntFlag):
    """Signed order flags (one byte on the wire).

    - ``POST_ONLY``: the order must rest; the matching engine rejects it if it would
      cross, and the STF refuses to settle it as a taker.
    - ``REDUCE_ONLY``: a fill may only shrink the account's position toward zero.
    - ``IOC``: immediate-or-cancel; the unfilled rest is cancelled, never rests.
    - ``FOK``: fill-or-kill; the whole size fills at once or nothing does.
    Time-in-force defaults to good-till-cancelled (bounded by the signed expiry).
    """

    NONE = 0
    POST_ONLY = 1
    REDUCE_ONLY = 2
    IOC = 4
    FOK = 8

    @classmethod
    def valid_bits(cls) -> int:
        return int(cls.POST_ONLY | cls.REDUCE_ONLY | cls.IOC | cls.FOK)
