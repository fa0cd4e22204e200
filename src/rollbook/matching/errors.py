"""Errors raised by the matching engine.

Two kinds, as in the rest of rollbook:

- :class:`MatchingError` and its subclasses reject *input*: an order for an unknown
  or expired instrument, a price off the tick grid, a post-only order that would
  take, too many open orders. The engine state is unchanged when one is raised (no
  order id is consumed), and the API layer turns it into a Deribit-style JSON-RPC
  error using ``code`` and ``message``.
- :class:`BookInvariantError` means the engine itself is broken (a bug, never a user
  mistake). It is not a :class:`MatchingError`, so callers that handle bad input do
  not swallow it by accident.

Codes follow Deribit's v2 error table where one fits (``order_not_found`` 10004,
``book_closed`` 10012, ``price_wrong_tick`` 10043, ``post_only_reject`` 11054, ...);
``11029 invalid_arguments`` covers the rest.
"""

from __future__ import annotations


class MatchingError(Exception):
    """Base of all input rejections raised by :mod:`rollbook.matching`.

    Attributes:
        code: Deribit-style numeric error code.
        message: Deribit-style short error name (``snake_case``).
    """

    code: int = 11029
    message: str = "invalid_arguments"


class UnknownInstrumentError(MatchingError):
    """The instrument id is not registered with the engine."""

    code = 10020
    message = "invalid_or_unsupported_instrument"

    def __init__(self, instrument: int) -> None:
        super().__init__(f"unknown instrument {instrument}")
        self.instrument = instrument


class DuplicateInstrumentError(MatchingError):
    """``add_instrument`` was called twice for the same id."""

    def __init__(self, instrument: int) -> None:
        super().__init__(f"instrument {instrument} is already registered")
        self.instrument = instrument


class InvalidInstrumentSpecError(MatchingError):
    """Tick or lot of a new instrument is not a positive integer, or its expiry is
    neither ``None`` nor a non-negative integer."""

    def __init__(self, instrument: int, tick: int, lot: int, expiry: int | None = None) -> None:
        why = f"tick {tick} and lot {lot} must be positive integers"
        if expiry is not None:
            why += f", expiry {expiry!r} a non-negative integer or None"
        super().__init__(f"instrument {instrument}: {why}")
        self.instrument = instrument
        self.tick = tick
        self.lot = lot
        self.expiry = expiry


class InstrumentExpiredError(MatchingError):
    """The instrument has expired (its expiry is at or before the order's time) but
    :meth:`~rollbook.matching.MatchingEngine.expire` has not removed it yet."""

    code = 10012
    message = "book_closed"

    def __init__(self, instrument: int, expiry: int) -> None:
        super().__init__(f"instrument {instrument} expired at {expiry}; its book is closed")
        self.instrument = instrument
        self.expiry = expiry


class InvalidPriceError(MatchingError):
    """The price is not positive or not a multiple of the instrument's tick."""

    code = 10043
    message = "price_wrong_tick"

    def __init__(self, price: int, tick: int) -> None:
        super().__init__(f"price {price} is not a positive multiple of tick {tick}")
        self.price = price
        self.tick = tick


class InvalidSizeError(MatchingError):
    """The size is not positive or not a multiple of the instrument's lot."""

    code = 10021
    message = "invalid_amount"

    def __init__(self, size: int, lot: int) -> None:
        super().__init__(f"size {size} is not a positive multiple of lot {lot}")
        self.size = size
        self.lot = lot


class InvalidOrderFlagsError(MatchingError):
    """Unknown flag bits, or a contradictory combination (e.g. POST_ONLY with IOC)."""

    def __init__(self, flags: int, why: str) -> None:
        super().__init__(f"invalid order flags {flags:#x}: {why}")
        self.flags = flags
        self.why = why


class PostOnlyWouldCrossError(MatchingError):
    """A post-only order's price reaches the opposite best price, so it would take."""

    code = 11054
    message = "post_only_reject"

    def __init__(self, price: int, best_opposite: int) -> None:
        super().__init__(
            f"post-only order at {price} would cross the opposite best {best_opposite}"
        )
        self.price = price
        self.best_opposite = best_opposite


class TooManyOpenOrdersError(MatchingError):
    """The account already has the maximum number of open (resting) orders."""

    code = 10013
    message = "max_open_orders"

    def __init__(self, account: int, limit: int) -> None:
        super().__init__(f"account {account} already has {limit} open orders (the maximum)")
        self.account = account
        self.limit = limit


class UnknownOrderError(MatchingError):
    """No open order has this id (never existed, already filled or cancelled)."""

    code = 10004
    message = "order_not_found"

    def __init__(self, order_id: int) -> None:
        super().__init__(f"no open order with id {order_id}")
        self.order_id = order_id


class BookInvariantError(Exception):
    """A book invariant does not hold: a bug in the engine, not bad input."""
