"""Governance and origins (docs/design/consensus.md sections 1, 8 and 9).

Listings, instrument parameters, the oracle set and risk parameters change only
through txs from L1 (the governance timelock); an L2-origin tx claiming an L1-only type
is ``WrongOrigin``, as is an L2-only tx arriving from L1.
"""

from __future__ import annotations

import pytest

from rollbook.crypto.secp256k1 import private_key_address
from rollbook.exchange.errors import MalformedTx
from rollbook.exchange.governance import MAX_POSITIONS_LIMIT
from rollbook.exchange.leaves import FUND_MAX_POSITIONS, Account, Instrument, encode_leaf
from rollbook.exchange.stf import Receipt
from rollbook.exchange.txs import (
    Backstop,
    Fill,
    Liquidate,
    ListInstrument,
    SetInstrumentParams,
    SetOracle,
    SetRiskParams,
    SettleAccount,
    Tx,
)
from rollbook.exchange.types import Side
from rollbook.sim.world import World, base, key_from_label, perp_spec, usd
from tests.l1.conftest import contract_constant


def make_world() -> World:
    world = World()
    assert world.list_perp().ok
    assert world.set_prices(usd(2000)).ok
    return world


def reject(world: World, tx: Tx, error: str, code: int, *, l1: bool = False) -> Receipt:
    root = world.state.root()
    receipt = world.l1(tx) if l1 else world.l2(tx)
    assert not receipt.ok, receipt
    assert (receipt.error, receipt.code) == (error, code), receipt
    assert world.state.root() == root
    return receipt


def spec(instrument_id: int = 2, **changes: object) -> Instrument:
    listing = perp_spec(instrument_id, "BTC_USDC-PERPETUAL", asset=2)
    return listing._replace(**changes)


def params(**changes: int) -> SetInstrumentParams:
    fields = {
        "instrument_id": 1,
        "im_ppm": 100_000,
        "mm_ppm": 60_000,
        "maker_fee_ppm": 0,
        "taker_fee_ppm": 700,
        "liq_fee_ppm": 15_000,
        "funding_cap_ppm": 1_000,
        "max_open_interest": 10**12,
        "active": True,
    } | changes
    return SetInstrumentParams(**fields)


def test_listing_only_from_l1() -> None:
    world = make_world()
    reject(world, ListInstrument(spec()), "WrongOrigin", 13009)
    assert world.l1(ListInstrument(spec())).ok
    assert world.state.instrument(2).symbol == "BTC_USDC-PERPETUAL"
    reject(world, ListInstrument(spec()), "MalformedTx", 11029, l1=True)  # id taken


@pytest.mark.parametrize(
    "changes",
    [
        # tick · lot = 50_000 · 1_000 = 5e7, not a multiple of 1e8: fills could move dust
        {"tick": 50_000, "lot": 1_000},
        {"tick": 3, "lot": 10**8 // 3 + 1},
        {"tick": 0},
        {"lot": 0},
        {"symbol": ""},
        {"im_ppm": 30_000},  # IM must exceed MM
        {"mm_ppm": 0},
        {"im_ppm": 1_000_001},
        {"liq_fee_ppm": 15_001},  # above 1.5 %
        {"taker_fee_ppm": 100_001},
        {"funding_cap_ppm": 1_000_001},
        {"max_open_interest": 0},
        {"instrument_id": 65_536},
        {"asset": -1},
    ],
)
def test_listing_validation(changes: dict[str, object]) -> None:
    world = make_world()
    reject(world, ListInstrument(spec(**changes)), "MalformedTx", 11029, l1=True)


def test_listing_grid_accepts_exact_notional() -> None:
    world = make_world()
    # tick 1 (1e-6 USDC) · lot 1e8 (1 whole unit) = 1e8: every notional is exact
    assert world.l1(ListInstrument(spec(tick=1, lot=10**8))).ok
    assert world.l1(ListInstrument(spec(3, tick=1_000_000, lot=100, liq_fee_ppm=15_000))).ok


def test_instrument_params_only_from_l1_and_validated() -> None:
    world = make_world()
    reject(world, params(), "WrongOrigin", 13009)
    reject(world, params(instrument_id=9), "UnknownInstrument", 10013, l1=True)
    reject(world, params(mm_ppm=100_000), "MalformedTx", 11029, l1=True)
    reject(world, params(liq_fee_ppm=15_001), "MalformedTx", 11029, l1=True)
    assert world.l1(params()).ok
    inst = world.state.instrument(1)
    assert (inst.im_ppm, inst.mm_ppm, inst.taker_fee_ppm, inst.liq_fee_ppm) == (
        100_000,
        60_000,
        700,
        15_000,
    )


def test_oracle_set_validation() -> None:
    world = make_world()
    a, b = (private_key_address(key_from_label(f"o{i}")) for i in range(2))
    for bad in (
        SetOracle((), 1, 60, 100_000),
        SetOracle((a, b), 0, 60, 100_000),
        SetOracle((a, b), 3, 60, 100_000),
        SetOracle((a, a), 1, 60, 100_000),
        SetOracle((a, b), 1, 0, 100_000),
        SetOracle((a, b), 1, 60, 0),
    ):
        reject(world, bad, "MalformedTx", 11029, l1=True)
    with pytest.raises(MalformedTx, match="20-byte"):
        SetOracle((a, b[:19]), 1, 60, 100_000)


def test_risk_params_only_from_l1_and_applied() -> None:
    world = make_world()
    alice = world.add_trader("alice", 10_000)
    bob = world.add_trader("bob", 10_000)
    shorter = SetRiskParams(32, 3_600, 50_000, 500_000)
    reject(world, shorter, "WrongOrigin", 13009)
    for bad in (
        SetRiskParams(0, 3_600, 50_000, 500_000),
        SetRiskParams(MAX_POSITIONS_LIMIT + 1, 3_600, 50_000, 500_000),
        SetRiskParams(32, 0, 50_000, 500_000),
        SetRiskParams(32, 3_600, 0, 500_000),
        SetRiskParams(32, 3_600, 50_000, 1_000_001),
    ):
        reject(world, bad, "MalformedTx", 11029, l1=True)
    assert world.l1(shorter).ok
    # the order lifetime bound is now one hour
    ask = world.order(bob, Side.SELL, usd(2000), base(1), expiry=world.now + 3_601)
    bid = world.order(alice, Side.BUY, usd(2000), base(1))
    reject(world, Fill(ask, bid, base(1)), "OrderExpired", 10010)


def test_position_bound_is_what_the_executor_can_prove() -> None:
    # The fraud-proof executor reads an account leaf of at most MAX_LEAF bytes and a
    # portfolio of at most MAX_ASSETS assets: governance may not allow accounts beyond.
    assert contract_constant("GovernanceSteps", "MAX_POSITIONS") == MAX_POSITIONS_LIMIT
    assert MAX_POSITIONS_LIMIT <= contract_constant("MarginSteps", "MAX_ASSETS")
    widest = Account(
        owner=bytes(range(20)),
        balance=-(2**255),
        keys=tuple(bytes([k]) * 20 for k in range(1, 5)),
        nonce_floor=2**255 - 1,
        tx_nonce=2**255 - 1,
        instruments=tuple(2**255 - 1 - k for k in range(MAX_POSITIONS_LIMIT)),
        portfolio=True,
    )
    assert len(encode_leaf(widest)) <= contract_constant("steps", "MAX_LEAF")
    # the insurance fund has its own bound, in the STF and the executor alike
    assert contract_constant("LiquidationMoves", "FUND_MAX_POSITIONS") == FUND_MAX_POSITIONS
    fund = widest._replace(instruments=tuple(range(2**255 - FUND_MAX_POSITIONS, 2**255)))
    assert len(encode_leaf(fund)) <= contract_constant("steps", "MAX_LEAF")


def test_l2_only_txs_refused_from_l1() -> None:
    world = make_world()
    alice = world.add_trader("alice", 10_000)
    bob = world.add_trader("bob", 10_000)
    ask = world.order(bob, Side.SELL, usd(2000), base(1))
    bid = world.order(alice, Side.BUY, usd(2000), base(1))
    for tx in (
        Fill(ask, bid, base(1)),
        Liquidate(alice.index, ask, base(1)),
        Backstop(alice.index, 1),
        SettleAccount(alice.index),
        world.oracle_update({1: usd(2000)}, {1: usd(2000)}),
    ):
        reject(world, tx, "WrongOrigin", 13009, l1=True)
