"""Tests of one instrument's book: levels, priority, the two-phase walk, deltas."""

from __future__ import annotations

from typing import Any

import pytest

from rollbook.exchange.types import OrderFlags, Side
from rollbook.matching import AdmitAll, Book, BookInvariantError, Fill, Verdict
from rollbook.matching.book import Order

BUY, SELL = Side.BUY, Side.SELL


class Harness:
    """A book plus an order-id counter, to keep the tests short."""

    def __init__(self) -> None:
        self.book = Book(7, tick=1, lot=1)
        self.next_id = 1

    def order(self, account: int, side: Side, price: int, size: int) -> Order:
        order = Order(self.next_id, account, 7, side, price, size, OrderFlags.NONE, None)
        self.next_id += 1
        return order

    def rest(self, account: int, side: Side, price: int, size: int) -> Order:
        order = self.order(account, side, price, size)
        self.book.rest(order)
        return order


class Rejecting:
    """A gate that rejects the listed maker order ids, or the taker after n fills."""

    def __init__(self, bad_makers: tuple[int, ...] = (), taker_after: int | None = None):
        self.bad_makers = bad_makers
        self.taker_after = taker_after
        self.seen: list[Fill] = []

    def check(self, fill: Fill) -> Verdict:
        if fill.maker_order_id in self.bad_makers:
            return Verdict.REJECT_MAKER
        if self.taker_after is not None and len(self.seen) >= self.taker_after:
            return Verdict.REJECT_TAKER
        self.seen.append(fill)
        return Verdict.OK

    def commit(self) -> None:
        pass

    def discard(self) -> None:
        pass


def state(book: Book) -> Any:
    return (book.depth(100), [(o.order_id, o.remaining) for o in book.orders()])


def test_empty_book() -> None:
    book = Book(1, 1, 1)
    assert book.best_bid() is None and book.best_ask() is None
    assert not book.would_cross(BUY, 10**9) and not book.would_cross(SELL, 1)
    assert book.depth() == (1, 0, (), ())
    book.check_invariants()


def test_best_prices_and_depth_aggregate_levels() -> None:
    b = Harness()
    b.rest(1, BUY, 99, 5)
    b.rest(2, BUY, 99, 3)
    b.rest(1, BUY, 97, 1)
    b.rest(3, SELL, 101, 4)
    b.rest(3, SELL, 103, 2)
    b.rest(4, SELL, 101, 6)
    book = b.book
    assert (book.best_bid(), book.best_ask()) == (99, 101)
    depth = book.depth()
    assert [tuple(x) for x in depth.bids] == [(99, 8, 2), (97, 1, 1)]
    assert [tuple(x) for x in depth.asks] == [(101, 10, 2), (103, 2, 1)]
    assert [tuple(x) for x in book.depth(1).asks] == [(101, 10, 2)]
    assert book.depth(0).bids == ()
    assert book.open_size(BUY) == 9 and book.open_size(SELL) == 12
    assert book.would_cross(BUY, 101) and not book.would_cross(BUY, 100)
    assert book.would_cross(SELL, 99) and not book.would_cross(SELL, 100)
    book.check_invariants()


def test_orders_listing_is_best_first_then_time() -> None:
    b = Harness()
    a = b.rest(1, BUY, 98, 1)
    c = b.rest(1, BUY, 99, 1)
    d = b.rest(1, BUY, 99, 1)
    e = b.rest(1, SELL, 102, 1)
    f = b.rest(1, SELL, 101, 1)
    assert b.book.orders() == [c, d, a, f, e]


def test_walk_price_then_time_priority_and_maker_price() -> None:
    b = Harness()
    late = b.rest(1, SELL, 100, 2)
    worse = b.rest(2, SELL, 101, 5)
    better = b.rest(3, SELL, 99, 1)
    later_same_price = b.rest(4, SELL, 100, 2)
    assert late.order_id < later_same_price.order_id
    taker = b.order(9, BUY, 101, 6)
    plan = b.book.propose(taker, AdmitAll())
    assert [(f.maker_order_id, f.price, f.size) for f in plan.fills] == [
        (better.order_id, 99, 1),
        (late.order_id, 100, 2),
        (later_same_price.order_id, 100, 2),
        (worse.order_id, 101, 1),
    ]
    assert plan.filled == 6 and plan.checked and not plan.taker_rejected
    assert all(f.taker_side is BUY and f.taker_order_id == taker.order_id for f in plan.fills)


def test_propose_does_not_change_the_book() -> None:
    b = Harness()
    b.rest(1, SELL, 100, 2)
    b.rest(2, SELL, 101, 5)
    before = state(b.book)
    change_id = b.book.change_id
    b.book.propose(b.order(9, BUY, 101, 4), AdmitAll())
    assert state(b.book) == before and b.book.change_id == change_id


def test_walk_stops_at_limit_price() -> None:
    b = Harness()
    b.rest(1, BUY, 100, 2)
    b.rest(1, BUY, 98, 2)
    plan = b.book.propose(b.order(9, SELL, 99, 10), AdmitAll())
    assert [(f.price, f.size) for f in plan.fills] == [(100, 2)]
    assert plan.filled == 2


def test_apply_partial_and_full_fills() -> None:
    b = Harness()
    m1 = b.rest(1, SELL, 100, 2)
    m2 = b.rest(2, SELL, 100, 5)
    m3 = b.rest(3, SELL, 102, 1)
    plan = b.book.propose(b.order(9, BUY, 100, 4), AdmitAll())
    b.book.apply(plan)
    assert (m1.remaining, m2.remaining, m3.remaining) == (0, 3, 1)
    assert [o.order_id for o in b.book.orders()] == [m2.order_id, m3.order_id]
    assert [tuple(x) for x in b.book.depth().asks] == [(100, 3, 1), (102, 1, 1)]
    b.book.check_invariants()


def test_apply_drops_emptied_levels_and_moves_touch() -> None:
    b = Harness()
    b.rest(1, SELL, 100, 2)
    b.rest(2, SELL, 101, 2)
    b.rest(3, SELL, 105, 2)
    b.rest(4, BUY, 90, 1)
    plan = b.book.propose(b.order(9, BUY, 101, 4), AdmitAll())
    b.book.apply(plan)
    assert b.book.best_ask() == 105 and b.book.best_bid() == 90
    plan = b.book.propose(b.order(9, BUY, 105, 2), AdmitAll())
    b.book.apply(plan)
    assert b.book.best_ask() is None
    b.book.check_invariants()


def test_self_trade_is_recorded_and_skipped() -> None:
    b = Harness()
    own = b.rest(9, SELL, 100, 2)
    other = b.rest(1, SELL, 100, 2)
    plan = b.book.propose(b.order(9, BUY, 100, 2), AdmitAll())
    assert plan.self_trade == [own]
    assert [f.maker_order_id for f in plan.fills] == [other.order_id]
    b.book.apply(plan)
    assert b.book.orders() == [] and b.book.best_ask() is None
    assert own.remaining == 2  # cancelled, not filled
    b.book.check_invariants()


def test_gate_reject_maker_and_taker() -> None:
    b = Harness()
    m1 = b.rest(1, SELL, 100, 1)
    m2 = b.rest(2, SELL, 100, 1)
    m3 = b.rest(3, SELL, 100, 1)
    m4 = b.rest(4, SELL, 100, 1)
    gate = Rejecting(bad_makers=(m2.order_id,), taker_after=2)
    plan = b.book.propose(b.order(9, BUY, 100, 4), gate)
    assert [f.maker_order_id for f in plan.fills] == [m1.order_id, m3.order_id]
    assert plan.rejected_makers == [m2]
    assert plan.taker_rejected and plan.filled == 2
    assert m4.remaining == 1


def test_gate_bad_verdict_is_an_invariant_error() -> None:
    class Broken(AdmitAll):
        def check(self, fill: Fill) -> Verdict:
            return 7  # type: ignore[return-value]

    b = Harness()
    b.rest(1, SELL, 100, 1)
    with pytest.raises(BookInvariantError):
        b.book.propose(b.order(9, BUY, 100, 1), Broken())


def test_remove_in_the_middle_keeps_time_order() -> None:
    b = Harness()
    first = b.rest(1, BUY, 100, 1)
    middle = b.rest(2, BUY, 100, 2)
    last = b.rest(3, BUY, 100, 3)
    b.book.remove(middle)
    assert b.book.orders() == [first, last]
    assert [tuple(x) for x in b.book.depth().bids] == [(100, 4, 2)]
    plan = b.book.propose(b.order(9, SELL, 100, 4), AdmitAll())
    assert [f.maker_order_id for f in plan.fills] == [first.order_id, last.order_id]
    with pytest.raises(BookInvariantError):
        b.book.remove(middle)
    b.book.check_invariants()


def test_remove_last_order_of_best_level_moves_touch() -> None:
    b = Harness()
    top_bid = b.rest(1, BUY, 100, 1)
    b.rest(1, BUY, 90, 1)
    b.rest(1, BUY, 95, 1)
    top_ask = b.rest(1, SELL, 110, 1)
    b.rest(1, SELL, 120, 1)
    b.rest(1, SELL, 115, 1)
    b.book.remove(top_bid)
    b.book.remove(top_ask)
    assert (b.book.best_bid(), b.book.best_ask()) == (95, 115)
    b.book.check_invariants()


def test_change_id_and_delta() -> None:
    b = Harness()
    assert b.book.change_id == 0
    b.rest(1, BUY, 100, 1)
    o = b.rest(1, SELL, 105, 3)
    assert b.book.change_id == 2
    d1 = b.book.delta()
    assert (d1.prev_change_id, d1.change_id) == (0, 2)
    assert d1.bids == ((100, 1),) and d1.asks == ((105, 3),)
    b.book.apply(b.book.propose(b.order(2, BUY, 105, 1), AdmitAll()))
    b.book.remove(o)
    d2 = b.book.delta()
    assert d2.prev_change_id == 2 and d2.change_id == b.book.change_id == 4
    assert d2.bids == () and d2.asks == ((105, 0),)
    d3 = b.book.delta()
    assert (d3.prev_change_id, d3.change_id, d3.bids, d3.asks) == (4, 4, (), ())
