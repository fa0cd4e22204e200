"""The matching engine: many instruments' books and the life of an order.

The sequencer feeds the engine a stream of order submissions and cancels; the engine
answers each with a result (fills, cancelled makers, the order's status). It is pure:
no clock, no randomness, no I/O, integers only. The same stream always yields the
same results and the same books, so the sequencer's write-ahead log can rebuild the
engine by replaying it.

Life of an order (:meth:`MatchingEngine.submit`)
------------------------------------------------
1. **Validate** (raise a :class:`~rollbook.matching.errors.MatchingError`, nothing
   changes, no order id is used): the instrument is registered (and, when the caller
   passes ``now``, has not expired); ``price`` and ``size`` are positive multiples of
   the instrument's ``tick`` and ``lot``; flags are known bits and not contradictory
   (``IOC`` with ``FOK``, or ``POST_ONLY`` with either of them); an order that may
   rest (not IOC/FOK) is refused when its account already has ``max_open_orders``
   open orders; a ``POST_ONLY`` order is refused if its price reaches the opposite
   best price.
2. **Number**: the order gets the next ``order_id`` (1, 2, 3, ... by default).
3. **Match** (only if the order crosses): :meth:`Book.propose` walks the book and asks
   the :class:`RiskGate` about each fill. Self-trades cancel the *resting* order.
4. **Decide**: a ``FOK`` order that did not fill its whole size is discarded
   (``gate.discard()``, the book is left as it was); otherwise the fills are committed
   (``gate.commit()``) and applied to the book. Makers the gate rejected are cancelled
   either way -- they could not trade, so they are stale -- and are reported.
5. **Rest or cancel the remainder**: a good-till-cancelled order rests; an ``IOC``
   order's remainder is cancelled; an order the gate rejected as taker never rests
   (its remainder would cross the maker it was refused against).

Order types map onto flags: limit GTC (no flag), ``IOC``, ``FOK``, ``POST_ONLY``
(``REDUCE_ONLY`` may accompany any of them; the engine only passes it to the gate in
:attr:`Fill.taker_flags` / :attr:`Fill.maker_flags` -- the gate decides). A *market*
order is not a separate type: the API layer submits it as an ``IOC`` limit order at a
protection price (e.g. the mark price plus a maximum slippage), so it can never fill
beyond what the trader accepted.

Self-trade cancellations belong to the plan: when a ``FOK`` order is discarded, the
resting orders of its own account that it met stay in the book. An order that
matched nothing but its own orders rests (or is cancelled if IOC/FOK) with those
orders cancelled.

Expiry
------
An instrument may be registered with an ``expiry`` (a timestamp in seconds; options
and dated futures have one, perpetuals do not). The engine reads no clock: time is an
input. The sequencer calls :meth:`MatchingEngine.expire` with the block's time, which
removes every instrument whose expiry is at or before it, exactly as
:meth:`MatchingEngine.remove_instrument` would, and returns the dropped orders so the
caller can report them closed (``CancelReason.INSTRUMENT_REMOVED``). Between an
expiry and that call, :meth:`MatchingEngine.submit` refuses orders for the instrument
when given ``now`` (:class:`~rollbook.matching.errors.InstrumentExpiredError`); an
instrument counts as expired *at* its expiry, not after it.

Speed
-----
This module and :mod:`rollbook.matching.book` are written for CPython's speed as well
as for reading (``bench/matching.py`` measures them; the brute-force reference
matcher in ``tests/matching/test_engine.py`` checks them). Results are immutable
``NamedTuple`` records rather than frozen dataclasses: a frozen dataclass costs
~1.7 us to build on CPython 3.11 (one ``object.__setattr__`` per field) against
~0.4 us for a ``NamedTuple``, and one result is built per order. On the hot path a
few constructors are spelled out (``tuple.__new__``, ``object.__new__`` plus slot
stores) to skip a Python frame; each such place says which constructor it stands for.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, NamedTuple

from rollbook.exchange.types import OrderFlags, Side

from .book import (
    AdmitAll,
    Book,
    BookDelta,
    Depth,
    Fill,
    MatchPlan,
    Order,
    OrderIndex,
    OrderInfo,
    RiskGate,
)
from .errors import (
    DuplicateInstrumentError,
    InstrumentExpiredError,
    InvalidInstrumentSpecError,
    InvalidOrderFlagsError,
    InvalidPriceError,
    InvalidSizeError,
    MatchingError,
    PostOnlyWouldCrossError,
    TooManyOpenOrdersError,
    UnknownInstrumentError,
    UnknownOrderError,
)

__all__ = [
    "CancelReason",
    "CancelledOrder",
    "MatchingEngine",
    "OrderStatus",
    "SubmitResult",
]


class OrderStatus(IntEnum):
    """Where an order stands once :meth:`MatchingEngine.submit` returns.

    - ``RESTING``: nothing filled; the whole order rests in the book.
    - ``FILLED``: the whole size filled.
    - ``PARTIALLY_FILLED_RESTING``: some size filled, the rest rests.
    - ``CANCELLED``: the unfilled remainder was cancelled (IOC remainder, FOK that
      could not fill, or the gate rejected the taker after some fills); see ``reason``.
    - ``REJECTED``: the gate rejected the taker before any fill.
    """

    RESTING = 0
    FILLED = 1
    PARTIALLY_FILLED_RESTING = 2
    CANCELLED = 3
    REJECTED = 4


class CancelReason(IntEnum):
    """Why an order, or the unfilled part of one, was cancelled."""

    SELF_TRADE = 1
    """A resting order met by a taker of the same account (cancel-resting STP)."""
    MAKER_MARGIN = 2
    """The gate answered ``REJECT_MAKER`` for this resting order."""
    TAKER_MARGIN = 3
    """The gate answered ``REJECT_TAKER`` for the incoming order."""
    IOC_REMAINDER = 4
    """The part of an immediate-or-cancel order that did not fill at once."""
    FOK_NOT_FILLED = 5
    """A fill-or-kill order could not fill its whole size at once."""
    USER = 6
    """``cancel`` or ``cancel_all``."""
    INSTRUMENT_REMOVED = 7
    """The instrument was removed (e.g. the option expired)."""


class CancelledOrder(NamedTuple):
    """A resting order cancelled as a side effect of matching someone else's order."""

    order_id: int
    account: int
    side: Side
    price: int
    remaining: int
    reason: CancelReason
    payload: Any


class SubmitResult(NamedTuple):
    """The outcome of one :meth:`MatchingEngine.submit` (immutable).

    Attributes:
        order_id: the id the engine gave the order.
        status: see :class:`OrderStatus`.
        fills: the fills, in the order they happened (best price first).
        cancelled: resting orders cancelled while matching (self-trade or margin).
        filled: total filled size.
        remaining: ``size - filled``; it rests if ``status`` says so, else it was
            cancelled.
        reason: why the remainder was cancelled or the order rejected, else ``None``.
    """

    order_id: int
    status: OrderStatus
    fills: tuple[Fill, ...]
    cancelled: tuple[CancelledOrder, ...]
    filled: int
    remaining: int
    reason: CancelReason | None


_BUY = Side.BUY
_SELL = Side.SELL
_POST_ONLY = int(OrderFlags.POST_ONLY)
_IOC = int(OrderFlags.IOC)
_FOK = int(OrderFlags.FOK)
_IMMEDIATE = _IOC | _FOK
_VALID_FLAGS = OrderFlags.valid_bits()
_RESTING = OrderStatus.RESTING
_FILLED = OrderStatus.FILLED
_PARTIAL = OrderStatus.PARTIALLY_FILLED_RESTING
_CANCELLED = OrderStatus.CANCELLED
_REJECTED = OrderStatus.REJECTED
_NO_FLAGS = OrderFlags.NONE
_IOC_REMAINDER = CancelReason.IOC_REMAINDER
_new_tuple = tuple.__new__
_new_object = object.__new__
_NO_FILLS: tuple[Fill, ...] = ()
_NO_CANCELS: tuple[CancelledOrder, ...] = ()


def _cancelled(order: Order, reason: CancelReason) -> CancelledOrder:
    return CancelledOrder(
        order.order_id,
        order.account,
        order.side,
        order.price,
        order.remaining,
        reason,
        order.payload,
    )


class MatchingEngine:
    """Order books for many instruments, with order ids, accounts and a margin gate.

    Parameters:
        max_open_orders: the most open (resting) orders one account may have, over all
            instruments.
        gate: the margin check for fills; :class:`AdmitAll` if omitted.
        first_order_id: the id given to the first order (lets a restarted sequencer
            continue its numbering).

    Raises:
        ValueError: if ``max_open_orders`` or ``first_order_id`` is not positive.
    """

    __slots__ = (
        "_books",
        "_by_account",
        "_expiries",
        "_gate",
        "_index",
        "_max_open",
        "_next_id",
        "_orders",
    )

    def __init__(
        self,
        max_open_orders: int = 1000,
        gate: RiskGate | None = None,
        first_order_id: int = 1,
    ) -> None:
        if max_open_orders <= 0:
            raise ValueError(f"max_open_orders must be positive, got {max_open_orders}")
        if first_order_id <= 0:
            raise ValueError(f"first_order_id must be positive, got {first_order_id}")
        self._books: dict[int, Book] = {}
        # Expiry (seconds) of each registered instrument that has one, in registration
        # order like ``_books``.
        self._expiries: dict[int, int] = {}
        # Resting orders by id and by account; the books keep it up to date.
        self._index = OrderIndex()
        self._orders = self._index.by_id
        self._by_account = self._index.by_account
        self._gate: RiskGate = AdmitAll() if gate is None else gate
        self._max_open = max_open_orders
        self._next_id = first_order_id

    # -- instruments -------------------------------------------------------------------

    def add_instrument(
        self, instrument_id: int, tick: int, lot: int, expiry: int | None = None
    ) -> None:
        """Register an instrument with its price step ``tick`` and size step ``lot``.

        Parameters:
            expiry: when the instrument expires (seconds, the clock of the ``now``
                given to :meth:`expire` and :meth:`submit`); ``None`` if it never does.

        Raises:
            DuplicateInstrumentError: the id is already registered.
            InvalidInstrumentSpecError: ``tick`` or ``lot`` is not a positive int, or
                ``expiry`` is neither ``None`` nor a non-negative int.
        """
        if instrument_id in self._books:
            raise DuplicateInstrumentError(instrument_id)
        bad_expiry = expiry is not None and (not _is_int(expiry) or expiry < 0)
        if bad_expiry or not (_is_int(tick) and _is_int(lot)) or tick <= 0 or lot <= 0:
            raise InvalidInstrumentSpecError(instrument_id, tick, lot, expiry)
        self._books[instrument_id] = Book(instrument_id, tick, lot, self._index)
        if expiry is not None:
            self._expiries[instrument_id] = expiry

    def remove_instrument(self, instrument_id: int) -> list[Order]:
        """Unregister an instrument and drop its open orders (e.g. at option expiry).

        Returns:
            The dropped (now closed) orders, by order id.

        Raises:
            UnknownInstrumentError: the instrument is not registered.
        """
        book = self._book(instrument_id)
        dropped = sorted(book.orders(), key=_order_id)
        for order in dropped:
            book.remove(order)
        del self._books[instrument_id]
        self._expiries.pop(instrument_id, None)
        return dropped

    def expire(self, now: int) -> list[Order]:
        """Remove every instrument whose expiry is at or before ``now``.

        Each is removed as by :meth:`remove_instrument`. Instruments without an expiry
        are never removed; calling again with the same ``now`` removes nothing.

        Parameters:
            now: the current time in seconds (the sequencer's block time).

        Returns:
            The dropped (now closed) orders: instrument by instrument in registration
            order, and by order id within an instrument.

        Raises:
            TypeError: ``now`` is not an int.
        """
        if not _is_int(now):
            raise TypeError(f"now must be an int (seconds), got {now!r}")
        # Collect first: removing edits ``_expiries``.
        expired = [inst for inst, expiry in self._expiries.items() if expiry <= now]
        dropped: list[Order] = []
        for instrument in expired:
            dropped.extend(self.remove_instrument(instrument))
        return dropped

    def instruments(self) -> list[int]:
        """Return the registered instrument ids, in registration order."""
        return list(self._books)

    def expiry(self, instrument: int) -> int | None:
        """Return the expiry of ``instrument`` (seconds), or ``None`` if it has none.

        Raises:
            UnknownInstrumentError: the instrument is not registered.
        """
        self._book(instrument)
        return self._expiries.get(instrument)

    # -- orders ----------------------------------------------------------------------

    def submit(
        self,
        account: int,
        instrument: int,
        side: Side,
        price: int,
        size: int,
        flags: OrderFlags = _NO_FLAGS,
        payload: Any = None,
        # Not keyword-only on purpose: on CPython 3.11 a keyword-only parameter stops
        # the interpreter from specializing the call (~13 ns more per submit).
        now: int | None = None,
    ) -> SubmitResult:
        """Submit one order: validate it, match it, rest or cancel what is left.

        See the module docstring for the steps.

        Parameters:
            account: the trading account.
            instrument: a registered instrument id.
            side: ``Side.BUY`` or ``Side.SELL``.
            price: limit price, a positive multiple of the instrument's tick.
            size: size in base units, a positive multiple of the instrument's lot.
            flags: ``POST_ONLY``, ``REDUCE_ONLY``, ``IOC``, ``FOK`` bits.
            payload: the signed order, opaque to the engine; returned in fills.
            now: the current time in seconds; if given, an order for an instrument
                whose expiry is at or before it is refused. Pass it by keyword.

        Returns:
            A :class:`SubmitResult`.

        Raises:
            UnknownInstrumentError, InstrumentExpiredError, InvalidPriceError,
            InvalidSizeError, InvalidOrderFlagsError, TooManyOpenOrdersError,
            PostOnlyWouldCrossError: the order is refused and nothing changed.
            BookInvariantError: the gate returned something that is not a Verdict.
                Then, as for any exception raised by the gate, ``gate.discard()`` is
                called, nothing changed and the order id is not used.
        """
        try:
            book = self._books[instrument]
        except KeyError:
            raise UnknownInstrumentError(instrument) from None
        if now is not None:
            expiry = self._expiries.get(instrument)
            if expiry is not None and expiry <= now:
                raise InstrumentExpiredError(instrument, expiry)
        if type(price) is not int or price <= 0 or price % book.tick:
            raise InvalidPriceError(price, book.tick)
        if type(size) is not int or size <= 0 or size % book.lot:
            raise InvalidSizeError(size, book.lot)
        # Flag tests run on a plain int: IntFlag operators are slow Python code.
        if flags is _NO_FLAGS:
            bits = 0
        else:
            bits = int(flags)
            if bits & ~_VALID_FLAGS:
                raise InvalidOrderFlagsError(bits, "unknown bits")
            if bits & _IOC and bits & _FOK:
                raise InvalidOrderFlagsError(bits, "IOC and FOK together")
            if bits & _POST_ONLY and bits & _IMMEDIATE:
                raise InvalidOrderFlagsError(bits, "POST_ONLY cannot be IOC or FOK")
            if type(flags) is not OrderFlags:
                flags = OrderFlags(bits)
        if side is _BUY:
            best = book.ask
            crosses = best is not None and price >= best
        elif side is _SELL:
            best = book.bid
            crosses = best is not None and price <= best
        else:
            raise MatchingError(f"side must be Side.BUY or Side.SELL, got {side!r}")
        mine = self._by_account.get(account)
        if mine is not None and len(mine) >= self._max_open and not bits & _IMMEDIATE:
            raise TooManyOpenOrdersError(account, self._max_open)
        if crosses and bits & _POST_ONLY and best is not None:
            raise PostOnlyWouldCrossError(price, best)

        order_id = self._next_id
        self._next_id = order_id + 1
        # Order(order_id, account, instrument, side, price, size, flags, payload),
        # spelled out to skip the __init__ frame (one order per call, ~4 % of the time).
        order = _new_object(Order)
        order.order_id = order_id
        order.account = account
        order.instrument = instrument
        order.side = side
        order.price = price
        order.size = size
        order.remaining = size
        order.flags = flags
        order.payload = payload

        if not crosses:
            # Nothing to match: rest it, or cancel it at once if it may not rest.
            if bits & _IMMEDIATE:
                reason = CancelReason.FOK_NOT_FILLED if bits & _FOK else _IOC_REMAINDER
                return SubmitResult(order_id, _CANCELLED, _NO_FILLS, _NO_CANCELS, 0, size, reason)
            book.rest(order)
            # SubmitResult(...) via tuple.__new__: skips the NamedTuple __new__ frame.
            return _new_tuple(
                SubmitResult, (order_id, _RESTING, _NO_FILLS, _NO_CANCELS, 0, size, None)
            )

        gate = self._gate
        try:
            plan = book.propose(order, gate)
        except BaseException:
            # The walk changes nothing, so undo the numbering and the gate's state:
            # the engine is as if the order had never been submitted.
            gate.discard()
            self._next_id = order_id
            raise
        return self._finish(book, order, bits, plan, gate)

    def _finish(
        self, book: Book, order: Order, bits: int, plan: MatchPlan, gate: RiskGate
    ) -> SubmitResult:
        """Phase two of :meth:`submit` for an order that crossed."""
        # Unpack once: NamedTuple field access is a slow attribute lookup.
        fills, _, self_trade, rejected, taker_rejected, filled, checked = plan
        cancelled: list[CancelledOrder] = []
        for maker in rejected:
            # Stale makers are cancelled whatever happens to the taker.
            cancelled.append(_cancelled(maker, CancelReason.MAKER_MARGIN))
            book.remove(maker)

        size = order.size
        if bits & _FOK and filled != size:
            # All or nothing: forget the proposed fills, leave the book as it was.
            if checked:
                gate.discard()
            if taker_rejected:
                return SubmitResult(
                    order.order_id,
                    _REJECTED,
                    _NO_FILLS,
                    tuple(cancelled),
                    0,
                    size,
                    CancelReason.TAKER_MARGIN,
                )
            return SubmitResult(
                order.order_id,
                _CANCELLED,
                _NO_FILLS,
                tuple(cancelled),
                0,
                size,
                CancelReason.FOK_NOT_FILLED,
            )

        if checked:
            if fills:
                gate.commit()
            else:
                gate.discard()
        for maker in self_trade:
            cancelled.append(_cancelled(maker, CancelReason.SELF_TRADE))
        book.apply(plan)

        remaining = size - filled
        order.remaining = remaining
        reason: CancelReason | None = None
        if remaining == 0:
            status = _FILLED
        elif taker_rejected:
            status = _CANCELLED if filled else _REJECTED
            reason = CancelReason.TAKER_MARGIN
        elif bits & _IOC:
            status = _CANCELLED
            reason = _IOC_REMAINDER
        else:
            # The walk consumed every crossing maker, so the remainder cannot cross.
            book.rest(order)
            status = _PARTIAL if filled else _RESTING
        # SubmitResult(...) via tuple.__new__: skips the NamedTuple __new__ frame.
        return _new_tuple(
            SubmitResult,
            (
                order.order_id,
                status,
                tuple(fills),
                tuple(cancelled) if cancelled else _NO_CANCELS,
                filled,
                remaining,
                reason,
            ),
        )

    def cancel(self, order_id: int) -> Order:
        """Cancel one open order.

        Returns:
            The order, now closed (``remaining`` is what was left unfilled). The
            engine keeps no reference to a closed order, so it will not change.

        Raises:
            UnknownOrderError: no open order has this id.
        """
        try:
            order = self._orders[order_id]
        except KeyError:
            raise UnknownOrderError(order_id) from None
        self._books[order.instrument].remove(order)
        return order

    def cancel_all(self, account: int, instrument: int | None = None) -> list[Order]:
        """Cancel all open orders of ``account`` (on one ``instrument`` if given).

        Returns:
            The cancelled (now closed) orders, by order id.

        Raises:
            UnknownInstrumentError: ``instrument`` is given but not registered.
        """
        if instrument is not None:
            self._book(instrument)
        mine = self._by_account.get(account)
        if not mine:
            return []
        # The dict is in insertion order, which is order-id order (orders rest when
        # submitted and ids increase); copy it because cancelling edits it.
        targets = [o for o in mine.values() if instrument is None or o.instrument == instrument]
        for order in targets:
            self._books[order.instrument].remove(order)
        return targets

    # -- queries -------------------------------------------------------------------------

    def book(self, instrument: int) -> Book:
        """Return the book of ``instrument`` (for queries; change it only via the engine).

        Raises:
            UnknownInstrumentError: the instrument is not registered.
        """
        return self._book(instrument)

    def best_bid(self, instrument: int) -> int | None:
        """Return the best bid price of ``instrument``, or ``None``."""
        return self._book(instrument).best_bid()

    def best_ask(self, instrument: int) -> int | None:
        """Return the best ask price of ``instrument``, or ``None``."""
        return self._book(instrument).best_ask()

    def depth(self, instrument: int, levels: int = 10) -> Depth:
        """Return the top ``levels`` aggregated levels of each side of ``instrument``."""
        return self._book(instrument).depth(levels)

    def delta(self, instrument: int) -> BookDelta:
        """Return ``instrument``'s level changes since the previous call."""
        return self._book(instrument).delta()

    def change_id(self, instrument: int) -> int:
        """Return ``instrument``'s book change counter."""
        return self._book(instrument).change_id

    def open_orders(self, account: int, instrument: int | None = None) -> list[OrderInfo]:
        """Return snapshots of ``account``'s open orders, by order id."""
        mine = self._by_account.get(account)
        if not mine:
            return []
        return [o.info() for o in mine.values() if instrument is None or o.instrument == instrument]

    def open_order_count(self, account: int) -> int:
        """Return how many open orders ``account`` has."""
        mine = self._by_account.get(account)
        return 0 if mine is None else len(mine)

    def lookup(self, order_id: int) -> OrderInfo | None:
        """Return a snapshot of the open order ``order_id``, or ``None`` if not open."""
        order = self._orders.get(order_id)
        return None if order is None else order.info()

    @property
    def next_order_id(self) -> int:
        """The id the next accepted order will get."""
        return self._next_id

    # -- internals -------------------------------------------------------------------------

    def _book(self, instrument: int) -> Book:
        book = self._books.get(instrument)
        if book is None:
            raise UnknownInstrumentError(instrument)
        return book


def _is_int(value: object) -> bool:
    # bool is an int subclass; True is not a price.
    return type(value) is int


def _order_id(order: Order) -> int:
    return order.order_id
