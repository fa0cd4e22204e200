"""Cross margin against hand-computed cases (docs/design/consensus.md section 6).

Anchors: dYdX v4 margin (initial / maintenance fractions per market; an
undercollateralised subaccount may only make changes that do not worsen its
collateral-to-maintenance ratio), Derive perps (IM/MM as fractions of notional at mark).
ETH defaults: IM 50_000 ppm (5 %), MM 30_000 ppm (3 %), taker fee 500 ppm, maker 100 ppm.
"""

from __future__ import annotations

from rollbook.exchange.leaves import Withdrawal, withdrawal_key
from rollbook.exchange.stf import Receipt
from rollbook.exchange.txs import Fill, Transfer, Withdraw
from rollbook.exchange.types import Side
from rollbook.sim.world import Trader, World, base, usd
from tests.exchange.helpers import reject


def make_world(fast: bool = False) -> World:
    world = World(fast=fast)
    assert world.list_perp().ok
    assert world.set_prices(usd(2000)).ok
    return world


def go_long_one_eth(world: World, trader: Trader, maker: Trader) -> Receipt:
    """``trader`` takes 1 ETH at 2000 from ``maker``: notional 2_000e6, taker fee 1e6."""
    ask = world.order(maker, Side.SELL, usd(2000), base(1))
    bid = world.order(trader, Side.BUY, usd(2000), base(1))
    return world.l2(Fill(ask, bid, base(1)))


def reprice(world: World, price: int) -> None:
    world.advance(1)
    assert world.set_prices(price).ok


def test_fill_leaving_equity_exactly_at_im_is_accepted(fast: bool) -> None:
    """IM = ceil(|notional(mark, size)| · im_ppm / 1e6); the rule is equity ≥ IM."""
    world = make_world(fast)
    alice = world.add_trader("alice", 101)
    maker = world.add_trader("maker", 100_000)
    assert go_long_one_eth(world, alice, maker).ok
    # balance = 101e6 − 2_000e6 − 1e6 = −1_900e6; equity = −1_900e6 + 2_000e6 = 100e6
    # IM = ceil(2_000e6 · 50_000 / 1e6) = 100e6 → equity == IM, accepted
    assert world.state.account(alice.index).balance == -1_900_000_000


def test_fill_leaving_equity_one_unit_below_im_is_rejected(fast: bool) -> None:
    world = make_world(fast)
    alice = world.add_trader("alice", 100)
    assert world.deposit(alice.owner, 999_999).ok  # 100.999999 USDC
    maker = world.add_trader("maker", 100_000)
    ask = world.order(maker, Side.SELL, usd(2000), base(1))
    bid = world.order(alice, Side.BUY, usd(2000), base(1))
    # equity = 100_999_999 − 1_000_000 (fee) = 99_999_999 < IM 100_000_000
    reject(world, Fill(ask, bid, base(1)), "NotEnoughFunds", 10009)


def setup_below_im(world: World) -> tuple[Trader, Trader]:
    """Alice long 1 ETH from 2000 with 101 USDC; mark falls to 1960.

    balance = −1_900e6; equity = −1_900e6 + 1_960e6 = 60e6
    IM = ceil(1_960e6 · 5 %) = 98e6 > equity ≥ MM = ceil(1_960e6 · 3 %) = 58_800_000
    """
    alice = world.add_trader("alice", 101)
    maker = world.add_trader("maker", 100_000)
    assert go_long_one_eth(world, alice, maker).ok
    reprice(world, usd(1960))
    return alice, maker


def test_risk_reducing_fill_below_im_accepted(fast: bool) -> None:
    """dYdX v4: an undercollateralised account may reduce if MM does not rise and
    equity/MM does not fall (equity_post · MM_pre ≥ equity_pre · MM_post)."""
    world = make_world(fast)
    alice, maker = setup_below_im(world)
    bid = world.order(maker, Side.BUY, usd(1960), base(1, 1))
    ask = world.order(alice, Side.SELL, usd(1960), base(1, 1))
    assert world.l2(Fill(bid, ask, base(1, 1))).ok
    # sell 0.1 at 1960: notional 196e6, taker fee ceil(196e6 · 500 / 1e6) = 98_000
    # balance = −1_900e6 + 196e6 − 98_000 = −1_704_098_000
    # equity_post = −1_704_098_000 + 1_960e6 · 0.9 (1_764e6) = 59_902_000
    # IM_post = ceil(1_764e6 · 5 %) = 88_200_000 > equity_post: plain IM check fails
    # MM_post = 52_920_000 ≤ MM_pre = 58_800_000
    # 59_902_000 · 58_800_000 ≥ 60_000_000 · 52_920_000 → accepted
    assert world.state.account(alice.index).balance == -1_704_098_000
    assert world.state.position(alice.index, 1).size == base(9, 1)


def test_reducing_at_a_ratio_worsening_price_rejected(fast: bool) -> None:
    world = make_world(fast)
    alice, maker = setup_below_im(world)
    bid = world.order(maker, Side.BUY, usd(1500), base(1, 1))
    ask = world.order(alice, Side.SELL, usd(1500), base(1, 1))
    # sell 0.1 at 1500: notional 150e6, fee 75_000
    # balance = −1_900e6 + 150e6 − 75_000 = −1_750_075_000; equity = 13_925_000
    # 13_925_000 · 58_800_000 < 60_000_000 · 52_920_000 → ratio falls → rejected
    reject(world, Fill(bid, ask, base(1, 1)), "NotEnoughFunds", 10009)


def test_increasing_below_im_rejected(fast: bool) -> None:
    world = make_world(fast)
    alice, maker = setup_below_im(world)
    ask = world.order(maker, Side.SELL, usd(1960), base(1, 1))
    bid = world.order(alice, Side.BUY, usd(1960), base(1, 1))
    reject(world, Fill(ask, bid, base(1, 1)), "NotEnoughFunds", 10009)


def test_withdraw_only_free_collateral(fast: bool) -> None:
    """Withdrawals must leave equity ≥ IM; they never count as reducing risk."""
    world = make_world(fast)
    alice = world.add_trader("alice", 1_000)
    maker = world.add_trader("maker", 100_000)
    assert go_long_one_eth(world, alice, maker).ok
    # balance = 1_000e6 − 2_001e6 = −1_001e6; equity 999e6; IM 100e6; free 899e6
    over = world.owner_signed(Withdraw, alice, account=alice.index, amount=899_000_001, nonce=1)
    reject(world, over, "NotEnoughFunds", 10009)
    exact = world.owner_signed(Withdraw, alice, account=alice.index, amount=899_000_000, nonce=1)
    assert world.l2(exact).ok
    assert world.state.account(alice.index).balance == -1_900_000_000
    glob = world.state.globals()
    assert (glob.next_withdrawal_id, glob.total_withdrawals) == (1, 899_000_000)
    assert world.state.get(withdrawal_key(0)) == Withdrawal(alice.owner, 899_000_000)


def test_withdraw_without_positions_needs_no_oracle(fast: bool) -> None:
    """Section 6: free collateral of an account without positions survives an outage."""
    world = make_world(fast)
    alice = world.add_trader("alice", 1_000)
    world.advance(3_600)  # the mark is an hour stale
    tx = world.owner_signed(Withdraw, alice, account=alice.index, amount=usd(1_000), nonce=1)
    assert world.l2(tx).ok
    assert world.state.account(alice.index).balance == 0
    tx = world.owner_signed(Withdraw, alice, account=alice.index, amount=1, nonce=2)
    reject(world, tx, "NotEnoughFunds", 10009)


def test_checks_with_positions_need_a_fresh_mark(fast: bool) -> None:
    world = make_world(fast)
    alice = world.add_trader("alice", 1_000)
    maker = world.add_trader("maker", 100_000)
    assert go_long_one_eth(world, alice, maker).ok
    world.advance(61)  # staleness is 60 s
    tx = world.owner_signed(Withdraw, alice, account=alice.index, amount=1, nonce=1)
    reject(world, tx, "OracleError", 11098)
    ask = world.order(maker, Side.SELL, usd(2000), base(1, 1))
    bid = world.order(alice, Side.BUY, usd(2000), base(1, 1))
    reject(world, Fill(ask, bid, base(1, 1)), "OracleError", 11098)


def test_transfer_keeps_sender_at_im(fast: bool) -> None:
    world = make_world(fast)
    alice = world.add_trader("alice", 1_000)
    bob = world.add_trader("bob", 10)
    maker = world.add_trader("maker", 100_000)
    assert go_long_one_eth(world, alice, maker).ok
    # free collateral 899e6 as above
    tx = world.owner_signed(
        Transfer, alice, sender=alice.index, recipient=bob.index, amount=899_000_001, nonce=1
    )
    reject(world, tx, "NotEnoughFunds", 10009)
    tx = world.owner_signed(
        Transfer, alice, sender=alice.index, recipient=bob.index, amount=899_000_000, nonce=1
    )
    assert world.l2(tx).ok
    assert world.state.account(bob.index).balance == usd(10) + 899_000_000


def test_im_and_mm_round_up_on_odd_mark(fast: bool) -> None:
    """Values round toward −inf, requirements up: both in the system's favour."""
    world = make_world(fast)
    alice = world.add_trader("alice", 101)
    maker = world.add_trader("maker", 100_000)
    assert go_long_one_eth(world, alice, maker).ok
    # mark 2_000_000_001 for 1 ETH: value 2_000_000_001,
    # IM = ceil(2_000_000_001 · 50_000 / 1e6) = ceil(100_000_000.05) = 100_000_001
    # equity = −1_900e6 + 2_000_000_001 = 100_000_001 == IM: withdrawing 1 unit fails
    reprice(world, 2_000_000_001)
    tx = world.owner_signed(Withdraw, alice, account=alice.index, amount=1, nonce=1)
    reject(world, tx, "NotEnoughFunds", 10009)
