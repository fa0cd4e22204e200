"""The optimised fill path settles exactly as the readable STF: root for root.

The fast twin (:mod:`rollbook.exchange.fast`) falls back to the readable code for any
fill that is not common or breaks a rule, so this test drives both with a stream that
mixes accepted fills, rejected ones (over-fill, expiry, fee, margin), reduce-only and
flips, several instruments, funding, and compares receipts and roots after every tx.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import rollbook.exchange.stf as stf
from rollbook.exchange.fast import settle_fill_fast
from rollbook.exchange.stf import apply_tx
from rollbook.exchange.txs import Fill
from rollbook.exchange.types import OrderFlags, Side
from rollbook.sim.world import World, base, usd

ACTIONS = st.lists(
    st.tuples(
        st.integers(0, 3),  # maker
        st.integers(0, 3),  # taker
        st.sampled_from([Side.BUY, Side.SELL]),  # maker side
        st.integers(-20, 20),  # price offset in dollars
        st.integers(1, 400),  # size in 0.01 units
        st.integers(0, 9),  # variant
        st.sampled_from([1, 2]),  # instrument
    ),
    min_size=1,
    max_size=30,
)


def make_world() -> World:
    w = World()
    assert w.list_perp().ok
    assert w.list_perp(2, "BTC_USDC-PERPETUAL", asset=2, tick=500_000, lot=10_000).ok
    for name, cash in (("a", 20_000), ("b", 8_000), ("c", 3_000), ("d", 50_000)):
        w.add_trader(name, cash)
    assert w.l2(w.oracle_update({1: usd(3000), 2: usd(60_000)}, {1: usd(3000), 2: usd(60_000)})).ok
    return w


FAST_SETTLED: list[int] = []


def counting_fast(*args: object) -> None:
    settle_fill_fast(*args)  # type: ignore[arg-type]
    FAST_SETTLED.append(1)


@settings(max_examples=60, deadline=None)
@given(ACTIONS)
def test_fast_path_equals_readable(
    actions: list[tuple[int, int, Side, int, int, int, int]],
) -> None:
    readable, fast = make_world(), make_world()
    names = ["a", "b", "c", "d"]
    reused = None
    for step, (m, t, side, offset, size_c, variant, inst) in enumerate(actions):
        if step % 7 == 6:
            for w in (readable, fast):
                w.advance(1800)
                prices = {1: usd(3000 + offset), 2: usd(60_000 + 10 * offset)}
                marks = {1: usd(3000 + offset + 2), 2: usd(60_000 + 10 * offset)}
                assert w.l2(w.oracle_update(prices, marks)).ok
        price = usd(3000 + offset) if inst == 1 else usd(60_000 + 10 * offset)
        size = base(size_c, 2) if inst == 1 else base(size_c, 3)
        flags = OrderFlags.REDUCE_ONLY if variant == 1 else OrderFlags.NONE
        max_fee = 50 if variant == 2 else 1_000
        expiry = readable.now - 1 if variant == 3 else None
        txs = []
        for w in (readable, fast):
            maker, taker = w.traders[names[m]], w.traders[names[t]]
            if variant == 4 and reused is not None:
                maker_order = reused[0 if w is readable else 1]
            else:
                maker_order = w.order(maker, side, price, size * 2, inst, expiry=expiry)
            taker_order = w.order(
                taker, side.opposite, price, size, inst, flags=flags, max_fee_ppm=max_fee
            )
            txs.append((maker_order, taker_order))
        reused = (txs[0][0], txs[1][0])
        tx_r = Fill(txs[0][0], txs[0][1], size if variant != 5 else size * 3)
        tx_f = Fill(txs[1][0], txs[1][1], size if variant != 5 else size * 3)
        assert tx_r == tx_f  # same keys, same nonces: the same signed tx
        env = fast.env()
        env.fast = True
        r = apply_tx(readable.state, tx_r, readable.env())
        stf.settle_fill_fast = counting_fast  # type: ignore[assignment]
        try:
            f = apply_tx(fast.state, tx_f, env)
        finally:
            stf.settle_fill_fast = settle_fill_fast
        assert (r.ok, r.code, r.error) == (f.ok, f.code, f.error)
        assert readable.state.root() == fast.state.root()


def test_fast_path_is_exercised() -> None:
    """The comparison above is only worth something if the fast path settled fills."""
    FAST_SETTLED.clear()
    test_fast_path_equals_readable()
    assert len(FAST_SETTLED) > 20
