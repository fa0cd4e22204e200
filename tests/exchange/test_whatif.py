"""The what-if query: margin, Greeks and liquidation prices after hypothetical trades."""

from __future__ import annotations

from rollbook.exchange.black76 import greeks
from rollbook.exchange.fixedmath import ONE
from rollbook.exchange.margin import health
from rollbook.exchange.numeric import SIZE_ONE
from rollbook.exchange.txs import Fill
from rollbook.exchange.types import OrderFlags, Side
from rollbook.exchange.whatif import Trade, simulate
from rollbook.sim.world import GENESIS_TIME, World, base, option_chain, usd

EXPIRY = GENESIS_TIME + 86_400 + 8 * 3600
CALL = 10


def world_with_long_perp() -> tuple[World, int]:
    world = World()
    assert world.list_perp().ok
    assert world.l1(option_chain(CALL, EXPIRY, (3000, 3300))).ok
    vols = {i: 800_000 for i in range(CALL, CALL + 4)}
    assert world.l2(world.oracle_update({1: usd(3000)}, {1: usd(3000)}, vols=vols)).ok
    maker = world.add_trader("maker", 1_000_000)
    trader = world.add_trader("trader", 1_000)
    ask = world.order(maker, Side.SELL, usd(3000), base(2), 1, OrderFlags.POST_ONLY)
    assert world.l2(Fill(ask, world.order(trader, Side.BUY, usd(3000), base(2)), base(2))).ok
    return world, trader.index


def test_no_trade_is_the_stf_health_and_changes_nothing() -> None:
    world, index = world_with_long_perp()
    root = world.state.root()
    answer = simulate(world.state, index, world.now)
    world.state.begin()
    expected = health(world.state, index, world.now)
    world.state.rollback()
    assert answer.before == answer.after == expected
    assert world.state.root() == root


def test_liquidation_price_of_a_long_perp_matches_the_formula() -> None:
    """Long q at index S with balance b: underwater when b + S·q < ceil(3 % · S·q)."""
    world, index = world_with_long_perp()
    balance = world.state.account(index).balance  # about −5,000 USDC (bought 2 ETH)
    ((asset, below, above),) = simulate(world.state, index, world.now).liquidation
    assert asset == 1 and above is None and below is not None

    def underwater(spot: int) -> bool:  # the perp's mark equals its index here
        value = spot * base(2) // SIZE_ONE
        return balance + value < -(-value * 30_000 // 10**6)

    # the nearest underwater index below the current one, to one quote unit
    assert underwater(below) and not underwater(below + 1)
    assert abs(below - (-balance * SIZE_ONE * 100 // (base(2) * 97))) <= 2


def test_hypothetical_short_call_adds_deribit_margin_and_greeks() -> None:
    world, index = world_with_long_perp()
    mark = world.state.instrument(CALL).mark
    answer = simulate(world.state, index, world.now, (Trade(CALL, -base(1), mark),))
    # short 3000 call ATM: IM = (15 % · 3000 + mark) per ETH; the perp's IM is unchanged
    assert answer.after.initial - answer.before.initial == usd(450) + mark
    assert answer.after.maintenance - answer.before.maintenance == usd(225) + mark
    (g,) = answer.greeks
    option = greeks(usd(3000), usd(3000), 800_000 * 10**12, EXPIRY - world.now, True)
    assert g.delta == base(2) + (-base(1) * option.delta // ONE)
    assert g.gamma == -base(1) * option.gamma // ONE < 0
    assert g.vega < 0 and g.theta > 0  # short an option: short vega, earns decay
    assert g.rho == -base(1) * option.rho // (100 * SIZE_ONE) > 0
    # the state itself is untouched
    assert world.state.position(index, CALL).size == 0
