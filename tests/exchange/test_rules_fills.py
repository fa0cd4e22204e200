"""Fill settlement against hand-computed cases (docs/design/consensus.md sections 3 and 4).

Defaults of ``World.list_perp``: ETH perpetual, tick 50_000 ($0.05), lot 100_000
(0.001 ETH), maker fee 100 ppm, taker fee 500 ppm, IM 5 %, MM 3 %.
All amounts are quote units (1e-6 USDC); sizes are base units (1e-8 ETH).
"""

from __future__ import annotations

from rollbook.exchange.numeric import SIZE_ONE
from rollbook.exchange.txs import (
    Fill,
    ListInstrument,
    SetInstrumentParams,
    SetRiskParams,
)
from rollbook.exchange.types import OrderFlags, Side
from rollbook.sim.world import World, base, perp_spec, usd
from tests.exchange.helpers import conservation_holds, reject

PRICE = usd(2000)


def make_world(fast: bool = False, zk: bool = False) -> World:
    world = World(fast=fast, zk=zk)
    assert world.list_perp().ok
    assert world.set_prices(PRICE).ok
    return world


def test_fill_at_maker_price_with_fees_rounded_up(fast: bool) -> None:
    """Section 3.5/3.6: the fill is at the maker's price; fees are ceil(notional·ppm/1e6)."""
    world = make_world(fast)
    taker = world.add_trader("taker", 10_000)
    maker = world.add_trader("maker", 10_000)
    # maker sells 1.5 ETH at 2000.05 (on tick: 2_000_050_000 / 50_000 = 40_001)
    ask = world.order(maker, Side.SELL, 2_000_050_000, 150_000_000)
    # taker bids up to 2001.00; 0.123 ETH = 12_300_000 base units (123 lots)
    bid = world.order(taker, Side.BUY, 2_001_000_000, 12_300_000)
    assert world.l2(Fill(ask, bid, 12_300_000)).ok

    # notional = 2_000_050_000 · 12_300_000 // 1e8 = 246_006_150 (exact)
    # maker fee = ceil(246_006_150 · 100 / 1e6) = ceil(24_600.615) = 24_601
    # taker fee = ceil(246_006_150 · 500 / 1e6) = ceil(123_003.075) = 123_004
    state = world.state
    assert state.account(taker.index).balance == 10_000_000_000 - 246_006_150 - 123_004
    assert state.account(maker.index).balance == 10_000_000_000 + 246_006_150 - 24_601
    assert state.globals().fees == 24_601 + 123_004
    assert state.position(taker.index, 1).size == 12_300_000
    assert state.position(maker.index, 1).size == -12_300_000
    # entry cost is the fill's notional (display only)
    assert state.position(taker.index, 1).cost == 246_006_150
    assert state.instrument(1).open_interest == 12_300_000
    assert state.account(taker.index).instruments == (1,)
    # slots remember the fill: maker 12_300_000 of 150_000_000, taker fully filled
    assert state.slot(maker.index, ask.order.slot).filled == 12_300_000
    assert state.slot(taker.index, bid.order.slot).filled == 12_300_000
    assert state.slot(maker.index, ask.order.slot).order_hash == ask.digest
    assert conservation_holds(world)


def test_sell_taker_fills_at_maker_bid_not_own_limit(fast: bool) -> None:
    """A sell taker with limit 1990 against a bid at 1999.95 trades at 1999.95."""
    world = make_world(fast)
    taker = world.add_trader("taker", 10_000)
    maker = world.add_trader("maker", 10_000)
    bid = world.order(maker, Side.BUY, 1_999_950_000, base(1))
    ask = world.order(taker, Side.SELL, 1_990_000_000, base(1))
    assert world.l2(Fill(bid, ask, base(1))).ok
    # notional = 1_999_950_000 · 1e8 // 1e8 = 1_999_950_000
    # maker fee = 1_999_950_000 · 100 / 1e6 = 199_995 (exact)
    # taker fee = 1_999_950_000 · 500 / 1e6 = 999_975 (exact)
    assert world.state.account(maker.index).balance == usd(10_000) - 1_999_950_000 - 199_995
    assert world.state.account(taker.index).balance == usd(10_000) + 1_999_950_000 - 999_975
    assert world.state.globals().fees == 199_995 + 999_975
    assert world.state.position(maker.index, 1).size == SIZE_ONE
    assert world.state.position(taker.index, 1).size == -SIZE_ONE


def test_taker_limit_must_allow_maker_price(fast: bool) -> None:
    """Section 3.6: buy taker needs maker.price ≤ taker.price; sell taker ≥."""
    world = make_world(fast)
    taker = world.add_trader("taker", 10_000)
    maker = world.add_trader("maker", 10_000)
    ask = world.order(maker, Side.SELL, 2_000_050_000, base(1))
    bid = world.order(taker, Side.BUY, usd(2000), base(1))
    reject(world, Fill(ask, bid, base(1)), "PriceNotAllowed", 10011)
    bid2 = world.order(maker, Side.BUY, usd(2000), base(1))
    ask2 = world.order(taker, Side.SELL, 2_000_050_000, base(1))
    reject(world, Fill(bid2, ask2, base(1)), "PriceNotAllowed", 10011)


def test_price_off_tick_and_size_off_lot_are_refused(fast: bool) -> None:
    world = make_world(fast)
    taker = world.add_trader("taker", 10_000)
    maker = world.add_trader("maker", 10_000)
    # 2_000_010_000 % 50_000 = 10_000: off tick
    ask = world.order(maker, Side.SELL, 2_000_010_000, base(1))
    bid = world.order(taker, Side.BUY, usd(2001), base(1))
    reject(world, Fill(ask, bid, base(1)), "PriceNotAllowed", 10011)
    # 12_345 % 100_000 != 0: off lot
    ask = world.order(maker, Side.SELL, usd(2000), base(1))
    bid = world.order(taker, Side.BUY, usd(2000), base(1))
    reject(world, Fill(ask, bid, 12_345), "PriceNotAllowed", 10011)


def test_post_only_taker_rejected_post_only_maker_accepted(fast: bool) -> None:
    """Section 3.6: post-only orders may only be makers."""
    world = make_world(fast)
    taker = world.add_trader("taker", 10_000)
    maker = world.add_trader("maker", 10_000)
    ask = world.order(maker, Side.SELL, usd(2000), base(1), flags=OrderFlags.POST_ONLY)
    bid = world.order(taker, Side.BUY, usd(2000), base(1), flags=OrderFlags.POST_ONLY)
    reject(world, Fill(ask, bid, base(1)), "PostOnlyTaker", 11054)
    bid = world.order(taker, Side.BUY, usd(2000), base(1))
    assert world.l2(Fill(ask, bid, base(1))).ok


def test_reduce_only_shrinks_never_grows_or_flips(fast: bool) -> None:
    """Section 3.6: reduce-only orders may only shrink the position toward zero."""
    world = make_world(fast)
    alice = world.add_trader("alice", 10_000)
    maker = world.add_trader("maker", 100_000)
    # reduce-only with no position: refused
    bid = world.order(maker, Side.BUY, usd(2000), base(10))
    ask = world.order(alice, Side.SELL, usd(2000), base(5, 1), flags=OrderFlags.REDUCE_ONLY)
    reject(world, Fill(bid, ask, base(5, 1)), "ReduceOnlyViolation", 11049)

    # alice opens long 0.5 ETH
    ask = world.order(maker, Side.SELL, usd(2000), base(10))
    assert world.l2(Fill(ask, world.order(alice, Side.BUY, usd(2000), base(5, 1)), base(5, 1))).ok
    # reduce-only buy would grow the long: refused
    grow = world.order(alice, Side.BUY, usd(2000), base(1, 1), flags=OrderFlags.REDUCE_ONLY)
    reject(world, Fill(ask, grow, base(1, 1)), "ReduceOnlyViolation", 11049)
    # reduce-only sell 0.3: 0.5 → 0.2
    ro = world.order(alice, Side.SELL, usd(2000), base(6, 1), flags=OrderFlags.REDUCE_ONLY)
    assert world.l2(Fill(bid, ro, base(3, 1))).ok
    assert world.state.position(alice.index, 1).size == base(2, 1)
    # 0.3 more would flip 0.2 → −0.1: refused
    reject(world, Fill(bid, ro, base(3, 1)), "ReduceOnlyViolation", 11049)
    # exactly 0.2 closes; the position leaf and the instrument entry disappear
    assert world.l2(Fill(bid, ro, base(2, 1))).ok
    assert world.state.position(alice.index, 1).size == 0
    assert world.state.account(alice.index).instruments == ()


def test_reduce_only_maker_side_is_enforced_too(fast: bool) -> None:
    world = make_world(fast)
    alice = world.add_trader("alice", 10_000)
    taker = world.add_trader("taker", 10_000)
    ask = world.order(alice, Side.SELL, usd(2000), base(1), flags=OrderFlags.REDUCE_ONLY)
    bid = world.order(taker, Side.BUY, usd(2000), base(1))
    reject(world, Fill(ask, bid, base(1)), "ReduceOnlyViolation", 11049)


def test_order_never_overfilled(fast: bool) -> None:
    """Section 3.4: slot.filled + fill.size ≤ o.size."""
    world = make_world(fast)
    taker = world.add_trader("taker", 10_000)
    maker = world.add_trader("maker", 10_000)
    ask = world.order(maker, Side.SELL, usd(2000), base(2, 1))  # 0.2 ETH
    assert world.l2(Fill(ask, world.order(taker, Side.BUY, usd(2000), base(1)), base(15, 2))).ok
    # 0.15 + 0.10 > 0.20
    reject(
        world,
        Fill(ask, world.order(taker, Side.BUY, usd(2000), base(1)), base(1, 1)),
        "OverFill",
        10010,
    )
    # 0.15 + 0.05 = 0.20: exactly full
    assert world.l2(Fill(ask, world.order(taker, Side.BUY, usd(2000), base(1)), base(5, 2))).ok
    assert world.state.slot(maker.index, ask.order.slot).filled == base(2, 1)
    reject(
        world,
        Fill(ask, world.order(taker, Side.BUY, usd(2000), base(1)), 100_000),
        "OverFill",
        10010,
    )


def test_fee_rate_bounded_by_signed_max_fee(fast: bool) -> None:
    """Section 3.5 (dYdX v3 limitFee): the instrument's rate must be ≤ o.maxFeePpm."""
    world = make_world(fast)
    taker = world.add_trader("taker", 10_000)
    maker = world.add_trader("maker", 10_000)
    ask = world.order(maker, Side.SELL, usd(2000), base(1), max_fee_ppm=100)
    bid = world.order(taker, Side.BUY, usd(2000), base(1), max_fee_ppm=499)
    reject(world, Fill(ask, bid, base(1)), "FeeTooHigh", 11029)
    cheap_ask = world.order(maker, Side.SELL, usd(2000), base(1), max_fee_ppm=99)
    bid = world.order(taker, Side.BUY, usd(2000), base(1), max_fee_ppm=500)
    reject(world, Fill(cheap_ask, bid, base(1)), "FeeTooHigh", 11029)
    # rates equal to the bound are fine
    assert world.l2(Fill(ask, bid, base(1))).ok


def test_structural_mismatches_are_malformed(fast: bool) -> None:
    world = make_world(fast)
    assert world.list_perp(instrument_id=2, symbol="BTC_USDC-PERPETUAL", asset=2).ok
    alice = world.add_trader("alice", 10_000)
    bob = world.add_trader("bob", 10_000)
    ask = world.order(bob, Side.SELL, usd(2000), base(1))
    # same side
    reject(
        world,
        Fill(ask, world.order(alice, Side.SELL, usd(2000), base(1)), base(1)),
        "MalformedTx",
        11029,
    )
    # self-trade
    reject(
        world,
        Fill(ask, world.order(bob, Side.BUY, usd(2000), base(1)), base(1)),
        "MalformedTx",
        11029,
    )
    # different instruments
    other = world.order(alice, Side.BUY, usd(2000), base(1), instrument=2)
    reject(world, Fill(ask, other, base(1)), "MalformedTx", 11029)


def test_unlisted_and_inactive_instruments(fast: bool) -> None:
    world = make_world(fast)
    alice = world.add_trader("alice", 10_000)
    bob = world.add_trader("bob", 10_000)
    ask = world.order(bob, Side.SELL, usd(2000), base(1), instrument=9)
    bid = world.order(alice, Side.BUY, usd(2000), base(1), instrument=9)
    reject(world, Fill(ask, bid, base(1)), "UnknownInstrument", 10013)
    inst = world.state.instrument(1)
    delist = SetInstrumentParams(
        1,
        inst.im_ppm,
        inst.mm_ppm,
        inst.maker_fee_ppm,
        inst.taker_fee_ppm,
        inst.liq_fee_ppm,
        inst.funding_cap_ppm,
        inst.max_open_interest,
        False,
    )
    assert world.l1(delist).ok
    ask = world.order(bob, Side.SELL, usd(2000), base(1))
    bid = world.order(alice, Side.BUY, usd(2000), base(1))
    reject(world, Fill(ask, bid, base(1)), "UnknownInstrument", 10013)


def test_closing_returns_open_interest_to_zero(fast: bool) -> None:
    world = make_world(fast)
    alice = world.add_trader("alice", 10_000)
    bob = world.add_trader("bob", 10_000)
    ask = world.order(bob, Side.SELL, usd(2000), base(1))
    assert world.l2(Fill(ask, world.order(alice, Side.BUY, usd(2000), base(1)), base(1))).ok
    assert world.state.instrument(1).open_interest == SIZE_ONE
    bid = world.order(bob, Side.BUY, usd(2010), base(1))
    assert world.l2(Fill(bid, world.order(alice, Side.SELL, usd(2010), base(1)), base(1))).ok
    # alice: bought at 2000 (taker fee 1_000_000), sold at 2010 (taker fee 1_005_000)
    #   10_000e6 − 2_000e6 − 1_000_000 + 2_010e6 − 1_005_000 = 10_007_995_000
    assert world.state.account(alice.index).balance == 10_007_995_000
    # bob: maker fees 200_000 and 201_000: 10_000e6 + 2_000e6 − 2_010e6 − 401_000
    assert world.state.account(bob.index).balance == 9_989_599_000
    assert world.state.instrument(1).open_interest == 0
    assert world.state.position(alice.index, 1).size == 0
    assert world.state.account(bob.index).instruments == ()
    assert conservation_holds(world)


def test_open_interest_cap(fast: bool) -> None:
    world = World(fast=fast)
    assert world.list_perp(max_open_interest=base(1)).ok
    assert world.set_prices(PRICE).ok
    alice = world.add_trader("alice", 10_000)
    bob = world.add_trader("bob", 10_000)
    ask = world.order(bob, Side.SELL, usd(2000), base(2))
    assert world.l2(Fill(ask, world.order(alice, Side.BUY, usd(2000), base(2)), base(1))).ok
    bid = world.order(alice, Side.BUY, usd(2000), base(1))
    reject(world, Fill(ask, bid, 100_000), "PositionLimit", 10040)


def test_max_positions_per_account(fast: bool) -> None:
    world = make_world(fast)
    spec = perp_spec(2, "BTC_USDC-PERPETUAL", asset=2)
    assert world.l1(ListInstrument(spec)).ok
    world.advance(1)
    assert world.l2(world.oracle_update({1: PRICE, 2: PRICE}, {1: PRICE, 2: PRICE})).ok
    assert world.l1(SetRiskParams(1, 90 * 86_400, 50_000, 500_000)).ok
    alice = world.add_trader("alice", 10_000)
    bob = world.add_trader("bob", 10_000)
    ask = world.order(bob, Side.SELL, usd(2000), base(1))
    assert world.l2(Fill(ask, world.order(alice, Side.BUY, usd(2000), base(1)), base(1))).ok
    ask2 = world.order(bob, Side.SELL, usd(2000), base(1), instrument=2)
    bid2 = world.order(alice, Side.BUY, usd(2000), base(1), instrument=2)
    reject(world, Fill(ask2, bid2, base(1)), "PositionLimit", 10040)
