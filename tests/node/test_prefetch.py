"""Prefetched signatures change nothing: the fast path reaches the readable root."""

from __future__ import annotations

from rollbook.exchange.env import SignatureCache
from rollbook.exchange.orders import SignedOrder
from rollbook.exchange.stf import apply_tx
from rollbook.exchange.txs import Fill, OracleUpdate
from rollbook.exchange.types import Side
from rollbook.node.prefetch import SignaturePrefetcher, unique_orders
from rollbook.sim.world import World, base, usd


def tape(world: World) -> list[Fill | OracleUpdate]:
    people = [world.add_trader(f"p{i}", 100_000) for i in range(6)]
    world.set_prices(usd(3000))
    txs: list[Fill | OracleUpdate] = []
    for i in range(60):
        maker, taker = people[i % 6], people[(i + 1) % 6]
        side = Side.BUY if i % 3 else Side.SELL
        m = world.order(maker, side, usd(3000), base(2))
        txs.append(Fill(m, world.order(taker, side.opposite, usd(3000), base(1)), base(1)))
        txs.append(Fill(m, world.order(taker, side.opposite, usd(3000), base(1)), base(1)))
    # One order whose signature is corrupted: it must be rejected on both paths.
    bad = txs[10]
    assert isinstance(bad, Fill)
    corrupted = SignedOrder(
        bad.taker.order,
        bad.taker.signature[:5] + b"\x00" + bad.taker.signature[6:],
        bad.taker.digest,
    )
    txs[10] = Fill(bad.maker, corrupted, bad.size)
    return txs


def test_prefetched_fast_path_matches_readable() -> None:
    readable, fast = World(), World()
    for w in (readable, fast):
        assert w.list_perp().ok
    txs_r, txs_f = tape(readable), tape(fast)
    assert txs_r == txs_f
    receipts_r = [apply_tx(readable.state, tx, readable.env()) for tx in txs_r]
    cache = SignatureCache()
    env = fast.env()
    env.cache, env.fast = cache, True
    with SignaturePrefetcher(fast.separator, txs_f, workers=2) as prefetcher:
        prefetcher.collect(prefetcher.submit(0, len(txs_f)), cache)
    assert len(cache.digests) == len(unique_orders(txs_f))
    # Every order but the corrupted one recovered in the workers.
    assert len(cache.signers) == len(unique_orders(txs_f)) - 1
    receipts_f = [apply_tx(fast.state, tx, env) for tx in txs_f]
    assert [r.ok for r in receipts_r] == [r.ok for r in receipts_f]
    assert not receipts_f[10].ok and sum(r.ok for r in receipts_f) == len(txs_f) - 1
    assert readable.state.root() == fast.state.root()
