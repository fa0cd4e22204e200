"""The sequencer core: signed orders in, fills settled in the STF, blocks sealed; the
same records always give the same books and the same state root."""

from __future__ import annotations

import pytest

from rollbook.chain.derive import ChainConfig
from rollbook.exchange.types import OrderFlags, Side
from rollbook.node.core import Refused, Sequencer
from rollbook.node.inputs import (
    CancelAll,
    CancelOrder,
    Input,
    ObserveL1,
    PlaceOrder,
    Record,
    Tick,
    sign_cancel,
    sign_cancel_all,
)
from rollbook.sim.l1sim import SimL1
from rollbook.sim.world import GENESIS_TIME, Trader, World, base, usd


class Harness:
    """A genesis world, an L1 history and a core fed numbered records."""

    def __init__(self) -> None:
        self.world = World(now=GENESIS_TIME)
        assert self.world.list_perp().ok
        self.alice = self.world.add_trader("alice", 100_000)
        self.bob = self.world.add_trader("bob", 100_000)
        self.poor = self.world.add_trader("poor", 10)
        self.world.set_prices(usd(3000))
        self.genesis = self.world.state.copy()
        self.cfg = ChainConfig(901, self.world.separator)
        self.l1 = SimL1(GENESIS_TIME - 120, self.world.state.globals().next_deposit_id)
        self.l1.mine(GENESIS_TIME)
        self.core = Sequencer(self.genesis, self.cfg, self.l1.genesis_ref)
        self.records: list[Record] = []
        self.ms = GENESIS_TIME * 1000
        for block in self.l1.blocks:
            self.feed(ObserveL1(block))
        self.feed(Tick(GENESIS_TIME))

    def feed(self, inp: Input):  # type: ignore[no-untyped-def]
        self.ms += 7
        record = Record(self.core.seq + 1, self.ms, inp)
        outcome = self.core.apply(record)
        self.records.append(record)
        return outcome

    def order(self, trader: Trader, side: Side, price_usd: int, lots: int, **kw):  # type: ignore[no-untyped-def]
        flags = kw.pop("flags", OrderFlags.NONE)
        signed = self.world.order(trader, side, usd(price_usd), base(lots, 3), flags=flags)
        return PlaceOrder(signed, **kw)


@pytest.fixture
def h() -> Harness:
    return Harness()


def test_a_cross_settles_in_the_stf_and_a_tick_seals_it(h: Harness) -> None:
    resting = h.feed(h.order(h.alice, Side.SELL, 3001, 10, label="ask"))
    assert resting.order is not None and resting.order.state == "open"
    taken = h.feed(h.order(h.bob, Side.BUY, 3001, 4))
    assert [t.size for t in taken.trades] == [base(4, 3)]
    assert taken.order is not None and taken.order.state == "filled"
    assert h.core.state.position(h.bob.index, 1).size == base(4, 3)
    assert h.core.order(resting.order.order_id).filled == base(4, 3)  # type: ignore[union-attr]
    sealed = h.feed(Tick(GENESIS_TIME + 1)).sealed
    assert sealed is not None and sealed.header.number == 1
    assert len(sealed.txs) == 1  # the fill


def test_refusals_change_nothing_and_take_no_number(h: Harness) -> None:
    root = h.core.state.root()
    seq = h.core.seq
    forged = h.world.order(h.alice, Side.BUY, usd(3000), base(1, 3))
    mallory = Trader("mallory", h.alice.index, h.bob.owner_key, h.bob.trading_key)
    by_bob_for_alice = h.world.order(mallory, Side.BUY, usd(3000), base(1, 3))
    off_tick = h.world.order(h.alice, Side.BUY, usd(3000) + 1, base(1, 3))
    cases = [
        (PlaceOrder(by_bob_for_alice), 13009),
        (PlaceOrder(off_tick), 10043),
        (
            CancelOrder(
                h.alice.index,
                999,
                sign_cancel(h.alice.trading_key, h.world.separator, h.alice.index, 999),
            ),
            10004,
        ),
        (
            CancelOrder(
                h.alice.index,
                1,
                sign_cancel(h.bob.trading_key, h.world.separator, h.alice.index, 1),
            ),
            13009,
        ),
    ]
    h.feed(PlaceOrder(forged))
    seq = h.core.seq
    replay = PlaceOrder(forged)
    cases.append((replay, 11029))  # the same (slot, nonce) again
    for inp, code in cases:
        with pytest.raises(Refused) as refused:
            h.core.apply(Record(seq + 1, h.ms, inp))
        assert refused.value.code == code, refused.value.message
        assert h.core.seq == seq
    assert h.core.state.root() == root
    assert len(h.core.engine.open_orders(h.alice.index)) == 1


def test_margin_rejection_is_reported_with_deribit_code(h: Harness) -> None:
    h.feed(h.order(h.alice, Side.SELL, 3000, 1000))
    outcome = h.feed(h.order(h.poor, Side.BUY, 3000, 500, flags=OrderFlags.IOC))
    assert outcome.order is not None and outcome.order.state == "rejected"
    assert outcome.error is not None and outcome.error.code == 10009
    assert h.core.state.position(h.poor.index, 1).size == 0


def test_edit_cancel_and_cancel_all(h: Harness) -> None:
    first = h.feed(h.order(h.alice, Side.BUY, 2990, 5)).order
    assert first is not None
    edited = h.feed(h.order(h.alice, Side.BUY, 2995, 6, replaces=first.order_id))
    assert h.core.order(first.order_id).state == "cancelled"  # type: ignore[union-attr]
    assert edited.order is not None and edited.order.state == "open"
    assert h.core.engine.best_bid(1) == usd(2995)
    sig = sign_cancel(h.alice.trading_key, h.world.separator, h.alice.index, edited.order.order_id)
    h.feed(CancelOrder(h.alice.index, edited.order.order_id, sig))
    assert h.core.engine.best_bid(1) is None
    for price in (2980, 2981, 2982):
        h.feed(h.order(h.alice, Side.BUY, price, 1))
    stamp = h.ms + 7
    sig = sign_cancel_all(h.alice.trading_key, h.world.separator, h.alice.index, 0, stamp)
    assert len(h.feed(CancelAll(h.alice.index, 0, stamp, sig)).cancelled) == 3
    with pytest.raises(Refused):  # the same cancel-all cannot be replayed
        h.core.apply(Record(h.core.seq + 1, h.ms + 7, CancelAll(h.alice.index, 0, stamp, sig)))


def test_replaying_the_records_gives_the_same_books_blocks_and_root(h: Harness) -> None:
    for i in range(20):
        h.feed(h.order(h.alice, Side.SELL, 3001 + i % 3, 2 + i % 4))
        h.feed(h.order(h.bob, Side.BUY, 3002, 3, flags=OrderFlags.IOC))
        if i % 5 == 4:
            h.feed(Tick(GENESIS_TIME + i))
    again = Sequencer(h.genesis, h.cfg, h.l1.genesis_ref)
    for record in h.records:
        again.apply(record)
    assert again.state.root() == h.core.state.root()
    assert [b.hash for b in again.builder.blocks] == [b.hash for b in h.core.builder.blocks]
    assert again.engine.depth(1) == h.core.engine.depth(1)
    assert again.fill_count == h.core.fill_count > 0


def test_log_records_round_trip(h: Harness) -> None:
    from rollbook.node.inputs import decode_record, encode_record

    h.feed(h.order(h.alice, Side.SELL, 3001, 10, label="ask é"))
    h.feed(h.order(h.bob, Side.BUY, 3001, 4, flags=OrderFlags.IOC, replaces=0))
    h.feed(Tick(GENESIS_TIME + 5))
    for record in h.records:
        assert decode_record(encode_record(record)) == record
    with pytest.raises(ValueError):
        decode_record(b"\x07" + encode_record(h.records[0])[1:])


def test_a_tick_past_the_drift_is_refused_before_anything_is_sealed(h: Harness) -> None:
    h.feed(h.order(h.alice, Side.SELL, 3001, 10))
    h.feed(h.order(h.bob, Side.BUY, 3001, 4, flags=OrderFlags.IOC))
    blocks, root, seq = len(h.core.builder.blocks), h.core.state.root(), h.core.seq
    stalled = GENESIS_TIME + h.cfg.max_drift + 600  # L1 has not moved for too long
    with pytest.raises(Refused) as refused:
        h.core.apply(Record(seq + 1, h.ms, Tick(stalled)))
    assert refused.value.code == 13028 and "stalled" in refused.value.message
    assert (len(h.core.builder.blocks), h.core.state.root(), h.core.seq) == (blocks, root, seq)
    assert h.core.open  # the block still takes orders; it seals when L1 moves again
    h.feed(Tick(GENESIS_TIME + 10))
    assert len(h.core.builder.blocks) == blocks + 1
