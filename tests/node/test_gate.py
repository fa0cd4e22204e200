"""Matching with the STF as margin gate: every fill the sequencer makes, the STF accepts.

ARCHITECTURE section 3: "a fill the STF rejects is a sequencer bug". Random order flow
(limit, IOC, FOK, post-only, reduce-only, over-leveraged traders, self-trades) goes
through the matching engine with :class:`STFGate`; the txs the gate sequenced are then
replayed on a fresh copy of the starting state by ``apply_block``, as a verifier would,
and every one must be accepted, reaching the sequencer's root.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.exchange.audit import conservation_gap, open_interest_mismatches
from rollbook.exchange.stf import Block, BlockTx, apply_block
from rollbook.exchange.types import OrderFlags, Side
from rollbook.matching.engine import MatchingEngine
from rollbook.matching.errors import MatchingError
from rollbook.node.gate import STFGate
from rollbook.sim.world import World, base, usd

FLAGS = [
    OrderFlags.NONE,
    OrderFlags.IOC,
    OrderFlags.FOK,
    OrderFlags.POST_ONLY,
    OrderFlags.REDUCE_ONLY,
    OrderFlags.IOC | OrderFlags.REDUCE_ONLY,
]

ORDERS = st.lists(
    st.tuples(
        st.integers(0, 3),  # trader
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(-10, 10),  # price offset in dollars
        st.integers(1, 300),  # size in 0.01 ETH
        st.sampled_from(FLAGS),
        st.booleans(),  # cancel this trader's orders first
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=40, deadline=None)
@given(ORDERS)
def test_every_sequenced_fill_replays(
    orders: list[tuple[int, Side, int, int, OrderFlags, bool]],
) -> None:
    world = World()
    assert world.list_perp().ok
    traders = [
        world.add_trader(n, c) for n, c in (("a", 50_000), ("b", 2_000), ("c", 500), ("d", 9_000))
    ]
    assert world.set_prices(usd(3000)).ok
    start = world.state.copy()
    gate = STFGate(world.state, world.env())
    engine = MatchingEngine(max_open_orders=20, gate=gate)
    engine.add_instrument(1, 50_000, 100_000)
    for who, side, offset, size_c, flags, cancel_first in orders:
        trader = traders[who]
        if cancel_first:
            engine.cancel_all(trader.index)
        price = usd(3000 + offset)
        signed = world.order(trader, side, price, base(size_c, 2), flags=flags)
        try:
            engine.submit(trader.index, 1, side, price, base(size_c, 2), flags, signed)
        except MatchingError:
            continue
    sequenced = gate.take_pending()
    replay = start.copy()
    receipts = apply_block(
        replay, Block(1, world.now, tuple(BlockTx(tx) for tx in sequenced)), world.separator
    )
    assert all(r.ok for r in receipts), [r for r in receipts if not r.ok][:1]
    assert replay.root() == world.state.root()
    assert conservation_gap(world.state) == 0
    assert open_interest_mismatches(world.state) == []


def test_gate_cancels_an_underfunded_maker_and_fills_the_next() -> None:
    world = World()
    assert world.list_perp().ok
    rich, poor, taker = (
        world.add_trader(n, c) for n, c in (("r", 50_000), ("p", 100), ("t", 50_000))
    )
    assert world.set_prices(usd(3000)).ok
    gate = STFGate(world.state, world.env())
    engine = MatchingEngine(gate=gate)
    engine.add_instrument(1, 50_000, 100_000)
    # The poor account's bid is better, but it cannot carry 1 ETH at 5 % IM ($150 > $100).
    for trader, price in ((poor, usd(3001)), (rich, usd(3000))):
        signed = world.order(trader, Side.BUY, price, base(1))
        engine.submit(trader.index, 1, Side.BUY, price, base(1), OrderFlags.NONE, signed)
    signed = world.order(taker, Side.SELL, usd(2990), base(1), flags=OrderFlags.IOC)
    result = engine.submit(taker.index, 1, Side.SELL, usd(2990), base(1), OrderFlags.IOC, signed)
    assert [c.account for c in result.cancelled] == [poor.index]
    assert [(f.maker_account, f.price) for f in result.fills] == [(rich.index, usd(3000))]
    assert world.state.position(rich.index, 1).size == base(1)
    assert world.state.position(poor.index, 1).size == 0
    assert gate.rejections and gate.rejections[0].error == "NotEnoughFunds"
