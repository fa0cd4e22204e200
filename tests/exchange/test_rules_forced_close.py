"""The forced close (ARCHITECTURE section 4's narrow set of forced txs): from L1, by the
owner, a position is closed against the insurance fund at mark ∓ the instrument's
liquidation fee — StarkEx's forced trade, without a counterparty's signature.

Set-up (as in test_rules_liquidation): Alice long 1 ETH at 2000, Bob short 1 ETH;
ETH's liquidation fee is 10_000 ppm (1 %).
"""

from __future__ import annotations

from rollbook.exchange.audit import open_interest_mismatches
from rollbook.exchange.leaves import INSURANCE_FUND
from rollbook.exchange.stf import apply_tx
from rollbook.exchange.txs import ForcedClose, Origin
from rollbook.sim.world import base, usd
from tests.exchange.helpers import conservation_holds
from tests.exchange.test_rules_liquidation import fund_owner, reprice, setup_long


def forced(world, tx: ForcedClose, sender: bytes):  # type: ignore[no-untyped-def]
    return apply_tx(world.state, tx, world.env(Origin.L1, sender))


def test_a_long_is_closed_to_the_fund_at_mark_less_the_fee() -> None:
    world, alice, _, _ = setup_long(fund_cash=usd(100_000))
    reprice(world, usd(2100))
    fund_before = world.state.account(INSURANCE_FUND).balance
    receipt = forced(world, ForcedClose(alice.index, 1), alice.owner)
    assert receipt.ok, receipt
    value = usd(2100)  # 1 ETH at mark
    penalty = value // 100  # 1 %, rounded up (exact here)
    state = world.state
    assert state.position(alice.index, 1).size == 0 and not state.account(alice.index).instruments
    assert state.account(alice.index).balance == -1_851_000_000 + value - penalty
    assert state.position(INSURANCE_FUND, 1).size == base(1)
    assert state.account(INSURANCE_FUND).balance == fund_before - (value - penalty)
    assert conservation_holds(world)
    assert open_interest_mismatches(state) == []


def test_a_short_is_closed_to_the_fund_at_mark_plus_the_fee() -> None:
    world, _, bob, _ = setup_long(fund_cash=usd(100_000))
    reprice(world, usd(1900))
    before = world.state.account(bob.index).balance
    assert forced(world, ForcedClose(bob.index, 1), bob.owner).ok
    # Bob buys 1 ETH back from the fund at 1900 + 1 %.
    assert world.state.account(bob.index).balance == before - usd(1900) - usd(19)
    assert world.state.position(INSURANCE_FUND, 1).size == -base(1)
    assert conservation_holds(world)


def test_a_forced_close_is_refused_unless_it_is_the_owner_from_l1() -> None:
    world, alice, bob, _ = setup_long(fund_cash=usd(100_000))
    tx = ForcedClose(alice.index, 1)
    from_l2 = apply_tx(world.state, tx, world.env())
    assert not from_l2.ok and from_l2.error == "WrongOrigin"
    stranger = forced(world, tx, bob.owner)
    assert not stranger.ok and stranger.error == "Unauthorized"
    nothing = forced(world, ForcedClose(alice.index, 2), alice.owner)
    assert not nothing.ok
    fund = forced(world, ForcedClose(INSURANCE_FUND, 1), fund_owner(world))
    assert not fund.ok and fund.error == "NotLiquidatable"
    world.advance(120)  # the mark is now stale
    stale = forced(world, tx, alice.owner)
    assert not stale.ok and stale.error == "OracleError"
    assert world.state.position(alice.index, 1).size == base(1)  # nothing changed
