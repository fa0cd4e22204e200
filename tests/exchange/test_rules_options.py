"""Option markets in the STF (issue #3): listing, oracle marks, fills, margin, expiry.

Hand-computed cases follow Deribit's published rules (standard option margin, 08:00
UTC expiry, 30-minute settlement TWAP); docs/design/consensus.md section 13.
"""

from __future__ import annotations

import pytest

from rollbook.exchange.black76 import call_put
from rollbook.exchange.leaves import InstrumentKind, Settlement, settlement_key
from rollbook.exchange.margin import health
from rollbook.exchange.portfolio_margin import option_vector, perp_vector
from rollbook.exchange.txs import Fill, SetMarginMode, SettleAccount, Withdraw
from rollbook.exchange.types import OrderFlags, Side
from rollbook.sim.world import GENESIS_TIME, World, base, option_chain, usd
from tests.exchange.helpers import conservation_holds, reject

EXPIRY = GENESIS_TIME + 86_400 + 8 * 3600  # 2026-01-02T08:00:00Z
CALL_3000, PUT_3000, CALL_3300, PUT_3300 = 10, 11, 12, 13
VOL = 800_000  # 80 %


def listed(fast: bool = False) -> World:
    world = World(fast=fast)
    assert world.list_perp().ok
    assert world.l1(option_chain(CALL_3000, EXPIRY, (3000, 3300))).ok
    return world


def quote(world: World, index_usd: int = 3000, vol: int = VOL) -> None:
    """An oracle report: the ETH index, the perp's mark, every option's vol."""
    vols = {i: vol for i in (CALL_3000, PUT_3000, CALL_3300, PUT_3300)}
    receipt = world.l2(world.oracle_update({1: usd(index_usd)}, {1: usd(index_usd)}, vols=vols))
    assert receipt.ok, receipt


def test_listing_names_and_kinds() -> None:
    world = listed()
    assert world.state.instrument(CALL_3000).symbol == "ETH_USDC-2JAN26-3000-C"
    put = world.state.instrument(PUT_3300)
    assert put.symbol == "ETH_USDC-2JAN26-3300-P"
    assert (put.kind, put.expiry, put.strike) == (InstrumentKind.PUT, EXPIRY, usd(3300))


def test_listing_rules() -> None:
    world = listed()
    reject(world, option_chain(20, EXPIRY, (3000,)), "WrongOrigin", 13009)
    root = world.state.root()
    assert not world.l1(option_chain(20, EXPIRY + 3600, (3000,))).ok  # not 08:00 UTC
    assert not world.l1(option_chain(CALL_3000, EXPIRY, (3500,))).ok  # id taken
    assert not world.l1(option_chain(20, EXPIRY, (3000,), tick=3)).ok  # tick × lot grid
    world.now = EXPIRY - 1200
    assert not world.l1(option_chain(20, EXPIRY, (3000,))).ok  # inside the window
    assert world.state.root() == root


def test_oracle_marks_options_with_black76() -> None:
    world = listed()
    quote(world, 3000)
    seconds = EXPIRY - world.now
    call, put = call_put(usd(3000), usd(3300), VOL * 10**12, seconds)
    assert world.state.instrument(CALL_3300).mark == call
    assert world.state.instrument(PUT_3300).mark == put
    assert call - put == usd(3000) - usd(3300)  # parity, to the unit
    option = world.state.instrument(PUT_3300)
    assert option.vector == option_vector(usd(3000), usd(3300), VOL * 10**12, seconds, False, put)
    assert world.state.instrument(1).vector == perp_vector(usd(3000), usd(3000))


def test_oracle_option_entries_are_checked() -> None:
    world = listed()
    quote(world)
    world.advance(5)
    # a vol without the asset's index in the same report
    reject(
        world, world.oracle_update({}, {1: usd(3000)}, vols={CALL_3000: VOL}), "OracleError", 11098
    )
    # a vol for a perpetual, a mark for an option
    reject(
        world, world.oracle_update({1: usd(3000)}, {}, vols={1: VOL}), "UnknownInstrument", 10013
    )
    reject(world, world.oracle_update({1: usd(3000)}, {CALL_3000: 5}), "UnknownInstrument", 10013)
    # the vol circuit breaker (max move 10 % per report)
    reject(
        world,
        world.oracle_update({1: usd(3000)}, {}, vols={CALL_3000: VOL * 12 // 10}),
        "OracleError",
        11098,
    )


def _trade(world: World, fast: bool, instrument: int, price: int, size: int) -> tuple[int, int]:
    """Seller 'writer' sells ``size`` to buyer 'holder' at ``price``; returns their indices."""
    writer = world.traders.get("writer") or world.add_trader("writer", 20_000)
    holder = world.traders.get("holder") or world.add_trader("holder", 5_000)
    maker = world.order(writer, Side.SELL, price, size, instrument, OrderFlags.POST_ONLY)
    taker = world.order(holder, Side.BUY, price, size, instrument)
    receipt = world.l2(Fill(maker, taker, size))
    assert receipt.ok, receipt
    return writer.index, holder.index


def test_option_fill_moves_premium_and_fees(fast: bool) -> None:
    world = listed(fast)
    quote(world)
    writer, holder = _trade(world, fast, CALL_3300, usd(100), base(2))
    state = world.state
    premium = usd(200)
    # maker 200 ppm, taker 500 ppm of the premium, rounded up
    assert state.account(writer).balance == usd(20_000) + premium - premium * 200 // 10**6
    assert state.account(holder).balance == usd(5_000) - premium - premium * 500 // 10**6
    assert state.position(holder, CALL_3300).size == base(2)
    assert state.instrument(CALL_3300).open_interest == base(2)
    assert conservation_holds(world)


def test_standard_option_margin_hand_computed() -> None:
    """Deribit: short call IM = max(15 % − OTM/S, 10 %)·S + mark; MM = 7.5 %·S + mark."""
    world = listed()
    quote(world, 3000)
    writer, holder = _trade(world, False, CALL_3300, usd(100), base(2))
    state = world.state
    mark = state.instrument(CALL_3300).mark
    state.begin()
    short = health(state, writer, world.now)
    long_ = health(state, holder, world.now)
    state.rollback()
    # OTM = 300: max(450 − 300, 300) = 300 per ETH, plus the mark; two ETH.
    assert short.initial == 2 * (usd(300) + mark)
    assert short.maintenance == 2 * (usd(225) + mark)
    assert short.equity == state.account(writer).balance - 2 * mark
    # A long pays the premium: its value counts in equity and, equally, in IM.
    assert long_.initial == 2 * mark and long_.maintenance == 0
    assert long_.equity == state.account(holder).balance + 2 * mark


def test_a_long_cannot_buy_options_on_credit(fast: bool) -> None:
    world = listed(fast)
    quote(world)
    poor = world.add_trader("poor", 150)
    writer = world.add_trader("writer", 20_000)
    maker = world.order(writer, Side.SELL, usd(100), base(2), CALL_3300, OrderFlags.POST_ONLY)
    taker = world.order(poor, Side.BUY, usd(100), base(2), CALL_3300)
    reject(world, Fill(maker, taker, base(2)), "NotEnoughFunds", 10009)


def _settlement_run(world: World, prices_usd: list[int], after: int = 5) -> None:
    """On-minute reports through the last 30 minutes, then one after expiry."""
    start = EXPIRY - 1800
    for i, price in enumerate(prices_usd):
        world.now = start + 60 * i
        vols = {c: VOL for c in (CALL_3000, PUT_3000, CALL_3300, PUT_3300)}
        assert world.l2(world.oracle_update({1: usd(price)}, {1: usd(price)}, vols=vols)).ok
        world.now += 30  # an off-minute report: not a sample
        assert world.l2(world.oracle_update({1: usd(price + 50)}, {1: usd(price + 50)})).ok
    world.now = EXPIRY + after
    last = usd(prices_usd[-1] + 20)  # not a sample: the expiry's first report
    assert world.l2(world.oracle_update({1: last}, {1: last})).ok


def test_settlement_twap_and_lazy_payout(fast: bool) -> None:
    world = listed(fast)
    world.now = EXPIRY - 1860
    quote(world, 3300)
    writer, holder = _trade(world, fast, CALL_3000, usd(300), base(3))
    prices = [3290 + (i % 7) for i in range(30)]
    _settlement_run(world, prices)
    state = world.state
    fixed = state.get(settlement_key(1, EXPIRY))
    expected = (2 * sum(usd(p) for p in prices) + 30) // 60
    assert fixed == Settlement(expected, 30)
    # nothing moved yet: settlement is lazy
    assert state.position(holder, CALL_3000).size == base(3)
    w0, h0 = state.account(writer).balance, state.account(holder).balance
    payout = 3 * (expected - usd(3000))
    assert world.l2(SettleAccount(holder)).ok
    assert state.account(holder).balance == h0 + payout
    assert state.position(holder, CALL_3000).size == 0
    assert state.instrument(CALL_3000).open_interest == 0
    assert world.l2(SettleAccount(writer)).ok
    assert state.account(writer).balance == w0 - payout
    assert state.account(writer).instruments == ()
    assert state.instrument(CALL_3000).pool == 0
    assert conservation_holds(world)


def test_settlement_falls_back_to_first_report_without_samples() -> None:
    world = listed()
    world.now = EXPIRY - 10
    quote(world, 3000)
    world.now = EXPIRY + 20
    assert world.l2(world.oracle_update({1: usd(3123)}, {1: usd(3123)})).ok
    assert world.state.get(settlement_key(1, EXPIRY)) == Settlement(usd(3123), 0)


def test_expired_options_do_not_trade_or_take_vols(fast: bool) -> None:
    world = listed(fast)
    world.now = EXPIRY - 30
    quote(world)
    writer = world.add_trader("writer", 20_000)
    holder = world.add_trader("holder", 5_000)
    maker = world.order(writer, Side.SELL, usd(100), base(1), CALL_3000, OrderFlags.POST_ONLY)
    taker = world.order(holder, Side.BUY, usd(100), base(1), CALL_3000)
    world.now = EXPIRY
    reject(world, Fill(maker, taker, base(1)), "UnknownInstrument", 10013)
    reject(
        world,
        world.oracle_update({1: usd(3000)}, {}, vols={CALL_3000: VOL}),
        "UnknownInstrument",
        10013,
    )


def test_expired_position_settles_on_next_touch_before_margin() -> None:
    """A touched account pays out its expired option before its margin is checked."""
    world = listed()
    world.now = EXPIRY - 1860
    quote(world, 3000)
    _writer, holder = _trade(world, False, PUT_3300, usd(310), base(1))
    _settlement_run(world, [3000] * 30)
    state = world.state
    state.begin()
    h = health(state, holder, world.now)
    state.rollback()
    assert h.initial == 0 and h.maintenance == 0  # no positions left after settlement
    assert h.equity == state.account(holder).balance + usd(300)


def test_portfolio_margin_mode(fast: bool) -> None:
    world = listed(fast)
    quote(world)
    writer, _holder = _trade(world, fast, CALL_3000, usd(150), base(2))
    state = world.state
    trader = world.traders["writer"]
    state.begin()
    standard = health(state, writer, world.now)
    state.rollback()
    # nonce 0 went to the key registration
    switch = world.owner_signed(SetMarginMode, trader, account=writer, portfolio=True, nonce=1)
    assert world.l2(switch).ok
    state.begin()
    pm = health(state, writer, world.now)
    state.rollback()
    assert state.account(writer).portfolio
    assert pm.equity == standard.equity
    # A short 3000 call alone: the worst scenario is spot +30 % at unchanged vol.
    assert pm.maintenance > 0 and pm.initial == -(-pm.maintenance * 13 // 10)
    reject(world, switch, "BadNonce", 11029)
    again = world.owner_signed(SetMarginMode, trader, account=writer, portfolio=True, nonce=2)
    reject(world, again, "MalformedTx", 11029)


@pytest.mark.parametrize("portfolio", [False, True])
def test_delta_hedge_lowers_portfolio_margin_only(portfolio: bool) -> None:
    world = listed()
    quote(world)
    writer, _ = _trade(world, False, CALL_3000, usd(150), base(2))
    trader = world.traders["writer"]
    if portfolio:
        assert world.l2(
            world.owner_signed(SetMarginMode, trader, account=writer, portfolio=True, nonce=1)
        ).ok
    state = world.state
    state.begin()
    before = health(state, writer, world.now)
    state.rollback()
    # buy one ETH perp (about the short calls' delta) from a perp maker
    maker = world.add_trader("perp-maker", 100_000)
    ask = world.order(maker, Side.SELL, usd(3000), base(1), 1, OrderFlags.POST_ONLY)
    bid = world.order(trader, Side.BUY, usd(3000), base(1), 1)
    assert world.l2(Fill(ask, bid, base(1))).ok
    state.begin()
    after = health(state, writer, world.now)
    state.rollback()
    if portfolio:
        assert after.maintenance < before.maintenance
    else:
        assert after.maintenance > before.maintenance


# -- regressions from the adversarial review ---------------------------------------------


def test_bankrupt_short_at_expiry_ends_flat_at_zero_and_the_fund_pays() -> None:
    """A short whose payout exceeds its collateral: the fund takes the deficit."""
    world = listed()
    world.now = EXPIRY - 1860
    quote(world, 3000)
    writer = world.add_trader("writer", 700)
    holder = world.add_trader("holder", 5_000)
    maker = world.order(writer, Side.SELL, usd(100), base(2), CALL_3300, OrderFlags.POST_ONLY)
    assert world.l2(
        Fill(maker, world.order(holder, Side.BUY, usd(100), base(2), CALL_3300), base(2))
    ).ok
    prices, price = [], 3000
    for _ in range(30):
        price = min(price * 109 // 100, 6000)  # a rally the writer cannot survive
        prices.append(price)
    _settlement_run(world, prices)
    fund_before = world.state.account(0).balance
    assert world.l2(SettleAccount(holder.index)).ok
    assert world.l2(SettleAccount(writer.index)).ok
    state = world.state
    assert (
        state.account(writer.index).balance == 0 and state.account(writer.index).instruments == ()
    )
    assert state.account(0).balance < fund_before  # the fund paid the deficit
    assert state.instrument(CALL_3300).pool == 0
    assert conservation_holds(world)


@pytest.mark.parametrize("long_first", [False, True])
def test_expiry_settlement_order_does_not_move_money_elsewhere(long_first: bool) -> None:
    """The pool is swept only when it is positive and no long is left to pay."""
    world = listed()
    world.now = EXPIRY - 1860
    quote(world, 3000)
    writer, holder = _trade(world, False, CALL_3000, usd(100), base(5))
    _settlement_run(world, [3300] * 30)
    first, second = (holder, writer) if long_first else (writer, holder)
    fund = world.state.account(0).balance
    assert world.l2(SettleAccount(first)).ok
    assert world.state.account(0).balance >= fund  # never a negative sweep
    assert world.l2(SettleAccount(second)).ok
    assert world.state.instrument(CALL_3000).pool == 0
    assert world.state.account(0).balance - fund in (0, 1)  # at most one unit of dust
    assert conservation_holds(world)


def test_reducing_risk_may_not_hand_value_away() -> None:
    """The risk-reducing exemption also needs free collateral not to fall: with only
    long options left (MM 0) the ratio test alone would pass at any price."""
    world = listed()
    quote(world, 3300)
    w, a, b = (world.add_trader(n, d) for n, d in (("w", 20_000), ("a", 3_700), ("b", 20_000)))
    price = world.state.instrument(CALL_3000).mark // 100_000 * 100_000
    sell = world.order(w, Side.SELL, price, base(10), CALL_3000, OrderFlags.POST_ONLY)
    assert world.l2(Fill(sell, world.order(a, Side.BUY, price, base(10), CALL_3000), base(10))).ok
    ask = world.order(b, Side.SELL, usd(3300), base(1), 1, OrderFlags.POST_ONLY)
    assert world.l2(Fill(ask, world.order(a, Side.BUY, usd(3300), base(1), 1), base(1))).ok
    bid = world.order(b, Side.BUY, usd(50), base(1), 1, OrderFlags.POST_ONLY)
    reject(
        world,
        Fill(bid, world.order(a, Side.SELL, usd(50), base(1), 1), base(1)),
        "NotEnoughFunds",
        10009,
    )


def test_portfolio_margin_does_not_net_different_underlyings() -> None:
    world = World()
    assert world.list_perp().ok
    assert world.list_perp(2, "BTC_USDC-PERPETUAL", 2).ok
    prices = {1: usd(3000), 2: usd(3000)}
    assert world.l2(world.oracle_update(prices, prices)).ok
    x = world.add_trader("x", 120_000)
    mm = world.add_trader("mm", 1_000_000)
    assert world.l2(
        world.owner_signed(SetMarginMode, x, account=x.index, portfolio=True, nonce=1)
    ).ok
    for instrument, side in ((1, Side.BUY), (2, Side.SELL)):
        rest = world.order(mm, side.opposite, usd(3000), base(30), instrument, OrderFlags.POST_ONLY)
        assert world.l2(
            Fill(rest, world.order(x, side, usd(3000), base(30), instrument), base(30))
        ).ok
    state = world.state
    state.begin()
    h = health(state, x.index, world.now)
    state.rollback()
    # each leg alone loses 30 % × 90,000 in its worst scenario; they do not offset
    assert h.maintenance == 2 * usd(27_000)


def test_a_withdrawal_cannot_lean_on_an_unsettled_expiry_loss() -> None:
    """Withdrawing first and letting the payout go bankrupt would bill the fund."""
    world = listed()
    world.now = EXPIRY - 1860
    quote(world, 3000)
    writer, _holder = _trade(world, False, CALL_3000, usd(100), base(5))
    _settlement_run(world, [3300] * 30)  # the writer owes 5 × 300 = 1,500 at the fix
    trader = world.traders["writer"]
    balance = world.state.account(writer).balance
    grab = world.owner_signed(Withdraw, trader, account=writer, amount=balance, nonce=1)
    reject(world, grab, "NotEnoughFunds", 10009)
    fair = world.owner_signed(
        Withdraw, trader, account=writer, amount=balance - usd(1_500), nonce=1
    )
    assert world.l2(fair).ok
    assert (
        world.state.account(writer).balance == 0 and world.state.account(writer).instruments == ()
    )
    assert conservation_holds(world)
