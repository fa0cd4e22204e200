"""Liquidation, backstop and socialised loss (docs/design/consensus.md sections 5 and 7).

Anchors: dYdX v4 liquidations (the liquidated account is the taker, the fill price is
bounded around the oracle price, a fee of at most 1.5 % goes to the insurance fund and
never creates bad debt), Deribit (incremental liquidation against the book).

Common set-up: Alice deposits 150 USDC and takes 1 ETH long at 2000 from Bob:
    Alice.balance = 150e6 − 2_000e6 − 1e6 (taker fee) = −1_851_000_000
so at mark m her equity is m − 1_851e6 and MM = ceil(m · 3 %).
ETH defaults: MM 30_000 ppm, liq fee 10_000 ppm, band 50_000 ppm, backstop 500_000 ppm.
"""

from __future__ import annotations

from rollbook.crypto.secp256k1 import private_key_address
from rollbook.exchange.leaves import Position
from rollbook.exchange.txs import Backstop, Fill, Liquidate, RegisterKey, SettleAccount
from rollbook.exchange.types import OrderFlags, Side
from rollbook.sim.world import Trader, World, base, key_from_label, usd
from tests.exchange.helpers import conservation_holds, reject

ALICE_BALANCE = -1_851_000_000


def reprice(world: World, price: int) -> None:
    world.advance(1)
    assert world.set_prices(price).ok


def fund_owner(world: World) -> bytes:
    return private_key_address(world.governance_key)


def setup_long(fund_cash: int = 0) -> tuple[World, Trader, Trader, Trader]:
    """World with Alice long 1 ETH (balance −1_851e6), Bob short 1 ETH, Carol liquid."""
    world = World()
    assert world.list_perp().ok
    assert world.set_prices(usd(2000)).ok
    if fund_cash:
        assert world.deposit(fund_owner(world), fund_cash).ok
    alice = world.add_trader("alice", 150)
    bob = world.add_trader("bob", 10_000)
    carol = world.add_trader("carol", 100_000)
    ask = world.order(bob, Side.SELL, usd(2000), base(1))
    bid = world.order(alice, Side.BUY, usd(2000), base(1))
    assert world.l2(Fill(ask, bid, base(1))).ok
    assert world.state.account(alice.index).balance == ALICE_BALANCE
    return world, alice, bob, carol


# -- Liquidate ------------------------------------------------------------------------


def test_not_liquidatable_at_maintenance_boundary() -> None:
    """Liquidatable while equity < MM, not at equity == MM."""
    world, alice, _, carol = setup_long()
    bid = world.order(carol, Side.BUY, usd(1900), base(1))
    reject(world, Liquidate(alice.index, bid, base(1, 1)), "NotLiquidatable", 11029)
    # m = 1_908_247_423: equity = 57_247_423; MM = ceil(57_247_422.69) = 57_247_423
    reprice(world, 1_908_247_423)
    bid = world.order(carol, Side.BUY, 1_908_250_000, base(1))
    reject(world, Liquidate(alice.index, bid, base(1, 1)), "NotLiquidatable", 11029)
    # m = 1_908_247_422: equity = 57_247_422 < MM = ceil(57_247_422.66) = 57_247_423
    reprice(world, 1_908_247_422)
    assert world.l2(Liquidate(alice.index, bid, base(1, 1))).ok


def test_liquidate_at_band_edge_penalty_capped_by_equity() -> None:
    """Penalty = min(ceil(notional · liq_fee), max(0, equity after)): never negative equity."""
    world, alice, _, carol = setup_long()
    reprice(world, usd(1900))  # equity 49e6 < MM 57e6
    # band: a liquidated long sells at ≥ ceil(1_900e6 · 950_000 / 1e6) = 1_805e6
    bid = world.order(carol, Side.BUY, 1_805_000_000, base(1))
    assert world.l2(Liquidate(alice.index, bid, base(5, 1))).ok
    # notional(1_805e6, 0.5 ETH) = 902_500_000; no taker fee for the liquidated account
    # balance = −1_851e6 + 902_500_000 = −948_500_000
    # equity after = −948_500_000 + 1_900e6 · 0.5 = 1_500_000
    # penalty = min(ceil(902_500_000 · 10_000 / 1e6) = 9_025_000, 1_500_000) = 1_500_000
    assert world.state.account(alice.index).balance == -950_000_000
    assert world.state.account(0).balance == 1_500_000
    assert world.state.position(alice.index, 1).size == base(5, 1)
    # carol pays the maker fee ceil(902_500_000 · 100 / 1e6) = 90_250
    assert world.state.account(carol.index).balance == usd(100_000) - 902_500_000 - 90_250
    assert world.state.position(carol.index, 1).size == base(5, 1)
    assert world.state.globals().fees == 1_000_000 + 200_000 + 90_250
    assert conservation_holds(world)


def test_liquidate_outside_band_refused() -> None:
    world, alice, _, carol = setup_long()
    reprice(world, usd(1900))
    bid = world.order(carol, Side.BUY, 1_804_950_000, base(1))  # one tick under the band
    reject(world, Liquidate(alice.index, bid, base(5, 1)), "PriceNotAllowed", 10011)


def test_liquidate_at_mark_charges_full_penalty() -> None:
    world, alice, _, carol = setup_long()
    reprice(world, usd(1900))
    bid = world.order(carol, Side.BUY, usd(1900), base(1))
    assert world.l2(Liquidate(alice.index, bid, base(5, 1))).ok
    # balance = −1_851e6 + 950e6 = −901e6; equity after = 49e6
    # penalty = min(ceil(950e6 · 1 %) = 9_500_000, 49e6) = 9_500_000 (≤ liq fee)
    assert world.state.account(alice.index).balance == -910_500_000
    assert world.state.account(0).balance == 9_500_000


def test_liquidation_beyond_bankruptcy_is_refused() -> None:
    """dYdX v4 bounds the fillable price by the bankruptcy price: a liquidation fill may
    not create bad debt (a colluding maker would pocket it). §7: equity after the fill
    must stay ≥ min(0, equity before)."""
    world, alice, _, carol = setup_long()
    reprice(world, usd(1880))  # equity 29e6 < MM 56_400_000
    # band floor: ceil(1_880e6 · 0.95) = 1_786e6, below alice's bankruptcy price 1_851e6:
    # balance −1_851e6 + 893e6 = −958e6; equity after = −958e6 + 940e6 = −18e6 < 0
    bid = world.order(carol, Side.BUY, 1_786_000_000, base(1))
    reject(world, Liquidate(alice.index, bid, base(5, 1)), "PriceNotAllowed", 10011)
    # at the bankruptcy price 1_851e6: balance −1_851e6 + 925_500_000 = −925_500_000;
    # equity after = −925_500_000 + 940e6 = 14_500_000 ≥ 0 → accepted;
    # penalty = min(ceil(925_500_000 · 1 %), 14_500_000) = 9_255_000
    bid = world.order(carol, Side.BUY, 1_851_000_000, base(1))
    assert world.l2(Liquidate(alice.index, bid, base(5, 1))).ok
    assert world.state.account(alice.index).balance == -925_500_000 - 9_255_000
    assert world.state.account(0).balance == 9_255_000
    assert conservation_holds(world)


def test_liquidation_never_strands_debt_in_a_flat_account() -> None:
    """A Liquidate may not leave the account with no position and a negative balance:
    Backstop needs a position, so such a debt could never be covered or socialised
    (dYdX v4 bounds the liquidation price by the bankruptcy price for this reason)."""
    world, alice, _, carol = setup_long()
    reprice(world, usd(1880))
    # the whole 1 ETH at the band floor 1_786e6: balance −1_851e6 + 1_786e6 = −65e6, flat
    bid = world.order(carol, Side.BUY, 1_786_000_000, base(1))
    root = world.state.root()
    receipt = world.l2(Liquidate(alice.index, bid, base(1)))
    if not receipt.ok:
        assert world.state.root() == root
    account = world.state.account(alice.index)
    assert account.instruments or account.balance >= 0, (
        f"Liquidate left account {alice.index} flat with balance {account.balance}"
    )
    assert conservation_holds(world)


def test_liquidation_may_not_grow_or_flip() -> None:
    world, alice, _, carol = setup_long()
    reprice(world, usd(1900))
    bid = world.order(carol, Side.BUY, usd(1900), base(2))
    reject(world, Liquidate(alice.index, bid, base(15, 1)), "ReduceOnlyViolation", 11049)
    ask = world.order(carol, Side.SELL, usd(1900), base(1))  # alice would buy more
    reject(world, Liquidate(alice.index, ask, base(1, 1)), "ReduceOnlyViolation", 11049)


def test_liquidate_short_band_is_above_mark() -> None:
    world = World()
    assert world.list_perp().ok
    assert world.set_prices(usd(2000)).ok
    sam = world.add_trader("sam", 150)
    lee = world.add_trader("lee", 100_000)
    bid = world.order(lee, Side.BUY, usd(2000), base(1))
    assert world.l2(Fill(bid, world.order(sam, Side.SELL, usd(2000), base(1)), base(1))).ok
    # sam.balance = 150e6 + 2_000e6 − 1e6 = 2_149e6
    reprice(world, usd(2100))  # equity = 2_149e6 − 2_100e6 = 49e6 < MM 63e6
    # band ceiling: floor(2_100e6 · 1.05) = 2_205e6
    ask = world.order(lee, Side.SELL, 2_205_050_000, base(1))
    reject(world, Liquidate(sam.index, ask, base(1)), "PriceNotAllowed", 10011)
    # At the ceiling itself sam would go bankrupt: balance 2_149e6 − 1_102_500_000 =
    # 1_046_500_000, equity 1_046_500_000 − 1_050e6 = −3_500_000 < 0 → refused.
    ask = world.order(lee, Side.SELL, 2_205_000_000, base(1))
    reject(world, Liquidate(sam.index, ask, base(5, 1)), "PriceNotAllowed", 10011)
    # At the bankruptcy price 2_198e6: balance 2_149e6 − 1_099e6 = 1_050e6, equity 0.
    ask = world.order(lee, Side.SELL, 2_198_000_000, base(1))
    assert world.l2(Liquidate(sam.index, ask, base(5, 1))).ok
    assert world.state.account(sam.index).balance == 1_050_000_000
    assert world.state.position(sam.index, 1).size == -base(5, 1)
    assert world.state.account(0).balance == 0  # penalty capped by equity 0


def test_fund_and_self_liquidation_refused() -> None:
    world, alice, _, carol = setup_long()
    reprice(world, usd(1900))
    bid = world.order(carol, Side.BUY, usd(1900), base(1))
    reject(world, Liquidate(0, bid, base(1, 1)), "NotLiquidatable", 11029)
    own = world.order(alice, Side.BUY, usd(1900), base(1))
    reject(world, Liquidate(alice.index, own, base(1, 1)), "MalformedTx", 11029)
    reject(world, Backstop(0, 1), "NotLiquidatable", 11029)


# -- Backstop -------------------------------------------------------------------------


def test_backstop_threshold_and_move_at_mark() -> None:
    """Backstop while equity < MM · 50 % (or < 0); the position moves to account 0 at mark."""
    world, alice, _, _ = setup_long()
    reject(world, Backstop(alice.index, 1), "NotLiquidatable", 11029)
    # 1880: equity 29e6 ≥ floor(56_400_000 · 0.5) = 28_200_000 → refused
    reprice(world, usd(1880))
    reject(world, Backstop(alice.index, 1), "NotLiquidatable", 11029)
    # 1879: equity 28e6 < floor(ceil(1_879e6 · 3 %) · 0.5) = floor(56_370_000 / 2) = 28_185_000
    reprice(world, usd(1879))
    assert world.l2(Backstop(alice.index, 1)).ok
    # alice: balance −1_851e6 + value 1_879e6 = 28e6, no position (no bad debt)
    assert world.state.account(alice.index).balance == 28_000_000
    assert world.state.account(alice.index).instruments == ()
    # the fund holds 1 ETH bought at mark
    assert world.state.position(0, 1) == Position(base(1), 1_879_000_000, 0, 0)
    assert world.state.account(0).balance == -1_879_000_000
    inst = world.state.instrument(1)
    assert (inst.open_interest, inst.loss_index_long, inst.loss_index_short) == (base(1), 0, 0)


def test_backstop_needs_a_position_and_a_fresh_mark() -> None:
    world, alice, _, _ = setup_long()
    reprice(world, usd(1850))
    reject(world, Backstop(alice.index, 2), "MalformedTx", 11029)
    world.advance(61)
    reject(world, Backstop(alice.index, 1), "OracleError", 11098)


def test_bad_debt_covered_by_the_fund() -> None:
    world, alice, _, _ = setup_long(fund_cash=usd(2000))
    reprice(world, usd(1850))  # equity = −1e6
    assert world.l2(Backstop(alice.index, 1)).ok
    # alice: −1_851e6 + 1_850e6 = −1e6 = D; the fund pays it; alice ends at exactly 0
    # fund: 2_000e6 − 1_850e6 (position at mark) − 1e6 = 149e6
    assert world.state.account(alice.index).balance == 0
    assert world.state.account(0).balance == 149_000_000
    inst = world.state.instrument(1)
    assert (inst.loss_index_long, inst.loss_index_short, inst.pool) == (0, 0, 0)
    assert conservation_holds(world)


def test_fund_pays_what_it_has_and_the_rest_is_socialised() -> None:
    """Section 7: the fund pays min(D, max(0, fund)) of its own money; U = D − that.

    The fund holds 400_000 units of cash and no position. Taking Alice's long at mark is
    value-neutral for it, so it can pay 400_000 of D = 1_000_000; U = 600_000 goes to the
    shorts (section 5: only what the fund cannot cover is socialised).
    """
    world, alice, bob, _ = setup_long(fund_cash=400_000)
    reprice(world, usd(1850))
    assert world.l2(Backstop(alice.index, 1)).ok
    assert world.state.account(alice.index).balance == 0
    # fund equity after: balance + value of its 1 ETH at 1850 = 400_000 − 400_000 = 0
    fund_equity = world.state.account(0).balance + 1_850_000_000
    assert fund_equity == 0, f"the fund kept {fund_equity} of its cash while socialising"
    # ΔL_short = ceil(600_000 · 1e20 / OI 1e8) = 6e17
    inst = world.state.instrument(1)
    assert (inst.loss_index_short, inst.pool) == (6 * 10**17, -600_000)
    before = world.state.account(bob.index).balance
    assert world.l2(SettleAccount(bob.index)).ok
    assert world.state.account(bob.index).balance == before - 600_000
    assert world.state.instrument(1).pool == 0


def test_empty_fund_socialises_a_bankrupt_short_on_the_longs() -> None:
    """The fund holds nothing, a short goes bankrupt: the deficit goes to the longs.

    Sam (150 USDC) sells 1 ETH at 2000 to Lee: sam.balance = 2_149e6. Mark 2150:
    equity = 2_149e6 − 2_150e6 = −1e6. The fund takes the short at mark (its balance
    becomes 2_150e6, its equity 0); with no money of its own it cannot pay D = 1e6,
    so U = 1e6 is charged to the long side: ΔL_long = ceil(1e6 · 1e20 / 1e8) = 1e18.
    """
    world = World()
    assert world.list_perp().ok
    assert world.set_prices(usd(2000)).ok
    sam = world.add_trader("sam", 150)
    lee = world.add_trader("lee", 100_000)
    bid = world.order(lee, Side.BUY, usd(2000), base(1))
    assert world.l2(Fill(bid, world.order(sam, Side.SELL, usd(2000), base(1)), base(1))).ok
    reprice(world, usd(2150))
    assert world.l2(Backstop(sam.index, 1)).ok
    assert world.state.account(sam.index).balance == 0
    # the fund must not end with negative equity: balance + value(−1 ETH at 2150) ≥ 0
    fund_equity = world.state.account(0).balance - 2_150_000_000
    assert fund_equity == 0, f"fund equity {fund_equity}: it paid bad debt it did not have"
    inst = world.state.instrument(1)
    assert (inst.loss_index_long, inst.pool) == (10**18, -1_000_000)
    before = world.state.account(lee.index).balance
    assert world.l2(SettleAccount(lee.index)).ok
    assert world.state.account(lee.index).balance == before - 1_000_000


def test_socialised_loss_charges_between_1x_and_1_1x_of_uncovered_debt() -> None:
    """Section 7 goal: money charged by ADL ≤ 1.1 × uncovered bad debt (and ≥ 1×)."""
    world = World()
    assert world.list_perp().ok
    assert world.set_prices(usd(2000)).ok
    alice = world.add_trader("alice", 150)
    shorts = [world.add_trader(name, 10_000) for name in ("s1", "s2", "s3")]
    sizes = [33_300_000, 33_300_000, 33_400_000]  # 0.333 + 0.333 + 0.334 ETH
    for short, size in zip(shorts, sizes, strict=True):
        ask = world.order(short, Side.SELL, usd(2000), size)
        bid = world.order(alice, Side.BUY, usd(2000), size)
        assert world.l2(Fill(ask, bid, size)).ok
    # taker fees: 333_000 + 333_000 + 334_000 = 1e6 → alice.balance = −1_851e6
    assert world.state.account(alice.index).balance == ALICE_BALANCE
    mark = 1_849_876_543
    reprice(world, mark)
    assert world.l2(Backstop(alice.index, 1)).ok
    # D = 1_851e6 − 1_849_876_543 = 1_123_457; the empty fund pays 0; U = 1_123_457
    uncovered = 1_123_457
    # ΔL_short = ceil(1_123_457 · 1e20 / 1e8) = 1_123_457e12
    assert world.state.instrument(1).loss_index_short == uncovered * 10**12
    assert world.state.instrument(1).pool == -uncovered
    charged = 0
    for short in shorts:
        before = world.state.account(short.index).balance
        assert world.l2(SettleAccount(short.index)).ok
        charged += before - world.state.account(short.index).balance
    # each pays ceil(|s| · 1_123_457 / 1e8):
    #   33_300_000 → ceil(374_111.18) = 374_112 (twice); 33_400_000 → ceil(375_234.64) = 375_235
    assert charged == 374_112 * 2 + 375_235 == 1_123_459
    assert uncovered <= charged <= uncovered * 11 // 10
    assert world.state.instrument(1).pool == 2  # ≥ 0: the rounding dust
    # the fund's long is not on the charged side
    before = world.state.account(0).balance
    assert world.l2(SettleAccount(0)).ok
    assert world.state.account(0).balance == before
    assert conservation_holds(world)


def test_fund_unwinds_its_position_exempt_from_margin() -> None:
    """Section 7: governance registers a trading key for account 0 from L1; the fund's
    reduce-only orders then unwind the backstopped position with no margin check."""
    world, alice, _, carol = setup_long()
    reprice(world, usd(1850))
    assert world.l2(Backstop(alice.index, 1)).ok  # fund: long 1 ETH, balance −1_850e6
    fund_key = key_from_label("fund-trading-key")
    register = RegisterKey(0, 0, private_key_address(fund_key), 0)
    reject(world, register, "BadSignature", 13009)  # not from L2 unsigned
    assert world.l1(register, fund_owner(world)).ok
    fund = Trader("fund", 0, world.governance_key, fund_key)
    ask = world.order(fund, Side.SELL, usd(1800), base(1), flags=OrderFlags.REDUCE_ONLY)
    bid = world.order(carol, Side.BUY, usd(1800), base(1))
    assert world.l2(Fill(ask, bid, base(1))).ok
    # fund: −1_850e6 + 1_800e6 − maker fee ceil(1_800e6 · 100 / 1e6) = 180_000
    assert world.state.account(0).balance == -50_180_000
    assert world.state.account(0).instruments == ()
    assert conservation_holds(world)
