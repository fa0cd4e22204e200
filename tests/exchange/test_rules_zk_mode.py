"""What ZK mode refuses: txs its circuits could not prove (docs/design/zk.md; #8).

In ZK mode the STF refuses, typed ``ZkUnprovable`` with the state unchanged, an option
listing, an instrument id of ``ZK_INSTRUMENTS`` or more, a position bound above
``ZK_POSITIONS``, a switch to portfolio margin and a fill with an order of the
insurance fund. Optimistic mode accepts every one of the same txs, as before; a ZK
genesis starts within the bounds, and a node refuses a ZK genesis that does not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rollbook.chain.blocks import Mode
from rollbook.chain.derive import ChainConfig
from rollbook.chain.l1 import L1Ref
from rollbook.crypto.keccak import keccak256
from rollbook.crypto.secp256k1 import private_key_address
from rollbook.exchange.governance import MAX_POSITIONS_LIMIT
from rollbook.exchange.leaves import Globals
from rollbook.exchange.stf import Receipt
from rollbook.exchange.txs import (
    Fill,
    ListInstrument,
    RegisterKey,
    SetMarginMode,
    SetRiskParams,
    Tx,
)
from rollbook.exchange.types import Side
from rollbook.exchange.zkmode import ZK_INSTRUMENTS, ZK_POSITIONS, unprovable
from rollbook.node.service import Genesis
from rollbook.sim.world import (
    GENESIS_TIME,
    Trader,
    World,
    base,
    key_from_label,
    option_chain,
    perp_spec,
    usd,
)
from tests.exchange.helpers import conservation_holds, reject

CIRCUITS = Path(__file__).parents[2] / "src" / "rollbook" / "zk" / "circuits"
UNPROVABLE = ("ZkUnprovable", 11029)
EXPIRY = GENESIS_TIME + 86_400 + 8 * 3600  # 2026-01-02T08:00:00Z


def make_world(zk: bool, fast: bool = False) -> World:
    world = World(fast=fast, zk=zk)
    assert world.list_perp().ok
    assert world.set_prices(usd(2000)).ok
    return world


def reject_l1(world: World, tx: Tx, sender: bytes | None = None) -> Receipt:
    """Apply ``tx`` from L1, expect ``ZkUnprovable`` and an unchanged state root."""
    root = world.state.root()
    receipt = world.l1(tx, sender)
    assert not receipt.ok, receipt
    assert (receipt.error, receipt.code) == UNPROVABLE, receipt
    assert world.state.root() == root
    return receipt


def risk(max_positions: int) -> SetRiskParams:
    return SetRiskParams(max_positions, 3_600, 50_000, 500_000)


# -- the bounds --------------------------------------------------------------------------


def test_the_bounds_are_the_default_fill_circuits() -> None:
    """``ZK_POSITIONS`` and ``ZK_INSTRUMENTS`` are N and K of the default FillBatch."""
    source = (CIRCUITS / "fills1_p8.circom").read_text()
    found = re.search(r"component main = FillBatch\((\d+), (\d+), (\d+)\);", source)
    assert found is not None
    _, n, k = map(int, found.groups())
    assert (ZK_POSITIONS, ZK_INSTRUMENTS) == (n, k)
    assert "template FillBatch(S, N, K)" in (CIRCUITS / "batch.circom").read_text()
    assert ZK_POSITIONS <= MAX_POSITIONS_LIMIT


# -- genesis ------------------------------------------------------------------------------


def test_a_zk_genesis_starts_within_the_bounds() -> None:
    assert World(zk=True).state.globals().max_positions == ZK_POSITIONS
    assert World().state.globals().max_positions == Globals().max_positions == 32
    assert unprovable(make_world(zk=True).state) == []
    # an optimistic genesis is not one a ZK chain may start from
    assert unprovable(World().state) == [f"max_positions is 32, above {ZK_POSITIONS}"]


def genesis_of(world: World, mode: Mode) -> Genesis:
    cfg = ChainConfig(901, world.separator, mode)
    l1 = L1Ref(0, keccak256(b"l1 genesis"), GENESIS_TIME - 60)
    return Genesis(world.state.copy(), cfg, l1, {1: (50_000, 100_000)})


def test_a_node_refuses_a_zk_genesis_its_circuits_cannot_prove() -> None:
    zk = make_world(zk=True)
    assert genesis_of(zk, Mode.ZK).cfg.zk
    optimistic = make_world(zk=False)
    assert optimistic.l1(option_chain(20, EXPIRY, (3000,))).ok
    assert optimistic.l1(ListInstrument(perp_spec(ZK_INSTRUMENTS, "BTC_USDC-PERPETUAL"))).ok
    genesis_of(optimistic, Mode.OPTIMISTIC)  # optimistic mode checks none of it
    with pytest.raises(ValueError) as refused:
        genesis_of(optimistic, Mode.ZK)
    message = str(refused.value)
    for part in ("max_positions is 32", "instrument 20", "instrument 21", f"id {ZK_INSTRUMENTS}"):
        assert part in message


# -- governance ---------------------------------------------------------------------------


def test_zk_mode_refuses_option_listings() -> None:
    world = make_world(zk=True)
    receipt = reject_l1(world, option_chain(20, EXPIRY, (3000, 3300)))
    assert "perpetuals only" in receipt.message
    # checked before the chain's own rules: an ill-timed chain is refused the same way
    reject_l1(world, option_chain(20, EXPIRY + 3600, (3000,)))
    optimistic = make_world(zk=False)
    assert optimistic.l1(option_chain(20, EXPIRY, (3000, 3300))).ok


def test_zk_mode_refuses_instrument_ids_beyond_the_cache() -> None:
    world = make_world(zk=True)
    btc = perp_spec(ZK_INSTRUMENTS, "BTC_USDC-PERPETUAL", asset=2)
    receipt = reject_l1(world, ListInstrument(btc))
    assert f"below {ZK_INSTRUMENTS}" in receipt.message
    reject_l1(world, ListInstrument(btc._replace(instrument_id=1_000)))
    assert world.l1(ListInstrument(btc._replace(instrument_id=ZK_INSTRUMENTS - 1))).ok
    optimistic = make_world(zk=False)
    assert optimistic.l1(ListInstrument(btc)).ok


def test_zk_mode_refuses_a_position_bound_above_the_circuits() -> None:
    world = make_world(zk=True)
    receipt = reject_l1(world, risk(ZK_POSITIONS + 1))
    assert f"at most {ZK_POSITIONS} positions" in receipt.message
    reject_l1(world, risk(MAX_POSITIONS_LIMIT))
    # the bound of both modes still comes first
    assert not world.l1(risk(MAX_POSITIONS_LIMIT + 1)).ok
    assert world.l1(risk(ZK_POSITIONS - 1)).ok
    assert world.state.globals().max_positions == ZK_POSITIONS - 1
    assert world.l1(risk(ZK_POSITIONS)).ok
    optimistic = make_world(zk=False)
    assert optimistic.l1(risk(MAX_POSITIONS_LIMIT)).ok


def test_a_zk_account_holds_at_most_the_circuits_positions(fast: bool) -> None:
    """With the genesis bound, the ninth position of an account is refused."""
    world = World(fast=fast, zk=True)
    marks = {}
    for iid in range(1, ZK_POSITIONS + 2):
        assert world.list_perp(iid, f"P{iid}_USDC-PERPETUAL", 1).ok
        marks[iid] = usd(2000)
    assert world.l2(world.oracle_update({1: usd(2000)}, marks)).ok
    maker, taker = world.add_trader("maker", 100_000), world.add_trader("taker", 100_000)
    for iid in range(1, ZK_POSITIONS + 1):
        ask = world.order(maker, Side.SELL, usd(2000), base(1, 1), instrument=iid)
        bid = world.order(taker, Side.BUY, usd(2000), base(1, 1), instrument=iid)
        assert world.l2(Fill(ask, bid, base(1, 1))).ok
    assert len(world.state.account(maker.index).instruments) == ZK_POSITIONS
    last = ZK_POSITIONS + 1
    ask = world.order(maker, Side.SELL, usd(2000), base(1, 1), instrument=last)
    bid = world.order(taker, Side.BUY, usd(2000), base(1, 1), instrument=last)
    reject(world, Fill(ask, bid, base(1, 1)), "PositionLimit", 10040)
    assert unprovable(world.state) == []


# -- margin mode --------------------------------------------------------------------------


def test_zk_mode_refuses_portfolio_margin() -> None:
    world = make_world(zk=True)
    alice = world.add_trader("alice", 10_000)
    switch = world.owner_signed(SetMarginMode, alice, account=alice.index, portfolio=True, nonce=1)
    receipt = reject(world, switch, *UNPROVABLE)
    assert "standard margin only" in receipt.message and receipt.account == alice.index
    # forced from L1 by the owner: refused alike
    reject_l1(world, SetMarginMode(alice.index, True, 0), alice.owner)
    # the owner's authority is checked first
    stranger = world.add_trader("stranger", 10)
    forged = world.owner_signed(
        SetMarginMode, stranger, account=alice.index, portfolio=True, nonce=1
    )
    reject(world, forged, "BadSignature", 13009)
    assert not world.state.account(alice.index).portfolio
    optimistic = make_world(zk=False)
    alice = optimistic.add_trader("alice", 10_000)
    switch = optimistic.owner_signed(
        SetMarginMode, alice, account=alice.index, portfolio=True, nonce=1
    )
    assert optimistic.l2(switch).ok
    assert optimistic.state.account(alice.index).portfolio


# -- the insurance fund's orders -----------------------------------------------------------


def fund_trader(world: World) -> Trader:
    """Governance funds account 0 and registers a trading key for it from L1."""
    governance = private_key_address(world.governance_key)
    assert world.deposit(governance, usd(100_000)).ok
    fund_key = key_from_label("fund-trading-key")
    register = RegisterKey(0, 0, world.trading_key_id(fund_key), 0)
    assert world.l1(register, governance).ok
    return Trader("fund", 0, world.governance_key, fund_key)


def test_zk_mode_refuses_fills_of_the_insurance_funds_orders(fast: bool) -> None:
    world = make_world(zk=True, fast=fast)
    fund = fund_trader(world)
    alice = world.add_trader("alice", 10_000)
    for fund_side, alice_side in ((Side.SELL, Side.BUY), (Side.BUY, Side.SELL)):
        fund_order = world.order(fund, fund_side, usd(2000), base(1))
        alice_order = world.order(alice, alice_side, usd(2000), base(1))
        for maker, taker, role in (
            (fund_order, alice_order, "maker"),
            (alice_order, fund_order, "taker"),
        ):
            receipt = reject(world, Fill(maker, taker, base(1)), *UNPROVABLE)
            assert receipt.account == 0  # a sequencer drops the fund's order, not Alice's
            assert f"({role} order)" in receipt.message
    # Alice's orders fill against an ordinary account
    bob = world.add_trader("bob", 10_000)
    ask = world.order(bob, Side.SELL, usd(2000), base(1))
    assert world.l2(Fill(ask, world.order(alice, Side.BUY, usd(2000), base(1)), base(1))).ok
    assert conservation_holds(world)


def test_optimistic_mode_fills_the_insurance_funds_orders(fast: bool) -> None:
    world = make_world(zk=False, fast=fast)
    fund = fund_trader(world)
    alice = world.add_trader("alice", 10_000)
    ask = world.order(fund, Side.SELL, usd(2000), base(1))
    assert world.l2(Fill(ask, world.order(alice, Side.BUY, usd(2000), base(1)), base(1))).ok
    bid = world.order(fund, Side.BUY, usd(2000), base(1))
    assert world.l2(Fill(world.order(alice, Side.SELL, usd(2000), base(1)), bid, base(1))).ok
    assert world.state.account(0).instruments == ()
    assert conservation_holds(world)


# -- a fill's record ------------------------------------------------------------------------


def test_zk_mode_refuses_a_fill_its_record_cannot_hold(fast: bool) -> None:
    """A record holds the price in 32 bits of ticks: with a tick of one quote unit,
    $5,000 is 5e9 ticks. Optimistic mode has no records and fills it."""
    for zk in (True, False):
        world = make_world(zk=zk, fast=fast)
        assert world.list_perp(3, "XYZ_USDC-PERPETUAL", 3, 1, base(1)).ok
        world.advance(1)
        assert world.l2(world.oracle_update({3: usd(5000)}, {3: usd(5000)})).ok
        alice, bob = world.add_trader("alice", 100_000), world.add_trader("bob", 100_000)
        fill = Fill(
            world.order(bob, Side.SELL, usd(5000), base(1), instrument=3),
            world.order(alice, Side.BUY, usd(5000), base(1), instrument=3),
            base(1),
        )
        if zk:
            receipt = reject(world, fill, *UNPROVABLE)
            assert "5000000000 ticks" in receipt.message
        else:
            assert world.l2(fill).ok
