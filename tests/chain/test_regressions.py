"""Regressions from the review of #4: inputs that used to halt derivation, blocks the
sequencer could not post, and a reorg deeper than the snapshots.

Each test names the behaviour that now holds; the docstring says what went wrong."""

from __future__ import annotations

import dataclasses

import pytest

from rollbook.chain.blocks import Header, L2Block
from rollbook.chain.derive import Deriver, ReorgTooDeep, derive
from rollbook.chain.l1 import L1Deposit
from rollbook.chain.sequencer import batch_of, strip_repeats
from rollbook.codec.batch import MAX_INSTRUMENTS, Batch, BatchBlock, decode_batch, encode_batch
from rollbook.codec.errors import Oversized
from rollbook.codec.txcodec import NO_SIGNATURE
from rollbook.exchange.orders import SignedOrder
from rollbook.exchange.stf import BlockTx, apply_tx
from rollbook.exchange.txs import Fill, Tx
from rollbook.exchange.types import Side
from rollbook.sim.l1sim import L1_BLOCK_TIME
from rollbook.sim.world import base, usd
from tests.chain.helpers import Rollup
from tests.chain.test_derive import rewrite, run


def mine_empty(rollup: Rollup, count: int) -> None:
    for _ in range(count):
        rollup.world.advance(L1_BLOCK_TIME)
        rollup.mine()


def genesis_batch(rollup: Rollup, txs: tuple[Tx, ...]) -> bytes:
    """A batch of one L2 block on the L2 genesis, at the L1 genesis as origin."""
    batch = Batch(rollup.cfg.chain_id, 0, (BatchBlock(rollup.l1.genesis.timestamp, 0, txs),))
    return encode_batch(batch, rollup.world.separator).data


def derive_all(rollup: Rollup) -> Deriver:
    return derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, rollup.l1.blocks)


def test_a_referenced_taker_on_the_makers_side_makes_its_item_unreadable() -> None:
    """Was: a taker written as a reference to an earlier order on the maker's side
    decoded; the STF rejected the fill, then sealing the block found no standalone
    encoding for it and derivation raised out, half-applied. Now such a reference is
    a BadReference: that item is an Unreadable tx, refused in its place, and the rest
    of the batch stands."""
    rollup = Rollup(seed=11)
    w = rollup.world
    a, b, c = rollup.people[:3]
    m1 = w.order(a, Side.BUY, usd(3000), base(1))
    t1 = w.order(b, Side.SELL, usd(3000), base(1))
    m2 = w.order(c, Side.BUY, usd(3000), base(1))
    ref_m1 = SignedOrder(m1.order, NO_SIGNATURE, m1.digest)
    repeat_t1 = SignedOrder(t1.order, NO_SIGNATURE, t1.digest)
    # Hand-build the bytes: the encoder itself refuses such a taker.
    good = genesis_batch(rollup, (Fill(m1, t1, base(1)), Fill(m2, repeat_t1, base(1))))
    batch, tx_bytes = decode_batch(good, w.separator)
    assert batch.blocks[0].txs[1].taker.signature == NO_SIGNATURE  # a reference to t1
    second = tx_bytes[1]
    # the taker's reference is the last field (the fill is the taker's whole size):
    # item 0's taker (0 << 1 | 1); point it at item 0's maker m1 (0), a buy like m2
    at = len(second) - 2
    assert second[at : at + 2] == (1).to_bytes(2, "big")
    forged_tx = second[:at] + (0).to_bytes(2, "big") + second[at + 2 :]
    forged = good[: len(good) - len(second)] + forged_tx  # the frame's length is the same
    assert ref_m1.order.side == m2.order.side
    mine_empty(rollup, rollup.cfg.confirmation_depth)
    rollup.l1.post_batch(forged)
    mine_empty(rollup, 1)
    deriver = derive_all(rollup)
    assert len(deriver.blocks) == 2
    first, refused = deriver.blocks[1].receipts[-2:]
    assert first.ok
    assert (refused.ok, refused.error) == (False, "MalformedTx")


@pytest.mark.parametrize("amount", [0, 1 << 64])
def test_a_deposit_the_stf_cannot_take_is_refused_not_fatal(amount: int) -> None:
    """Was: a deposit event of 0 or ≥ 2**64 (ERC-20 amounts are uint256) raised out of
    ``l1_tx`` and halted the sequencer and every verifier at that L1 block. Now it is
    refused in its place with a note, never credited (the portal refuses such
    deposits, #5; the escape hatch refunds one that slips through), and the chain goes
    on. (It keeps its place because a block's L1 txs are the input queue's entries,
    one for one: #7.)"""
    rollup = Rollup(seed=12)
    mine_empty(rollup, 1)
    deposit_id = rollup.world.state.globals().next_deposit_id
    rollup.l1.queued_inputs.append(L1Deposit(deposit_id, rollup.people[0].owner, amount))
    mine_empty(rollup, rollup.cfg.inclusion_window // L1_BLOCK_TIME + rollup.cfg.confirmation_depth)
    deriver = derive_all(rollup)
    assert any("is refused" in n for n in deriver.notes)
    assert len(deriver.blocks) == 2  # the forced block that carried (and refused) it
    (receipt,) = deriver.blocks[1].receipts
    assert (receipt.ok, receipt.error) == (False, "MalformedTx")
    assert deriver.state.globals().next_deposit_id == deposit_id


def test_a_signed_order_after_its_rejected_first_fill_can_be_posted() -> None:
    """Was: fill 1 of maker order X rejected (a forged taker signature), fill 2 of X
    (rightly still signed: X's slot does not hold it) made the block unencodable, so
    the sequencer could not post its own chain. Now a signed order is written new
    again, and derivation reproduces the block."""
    rollup = Rollup(seed=31)
    w = rollup.world
    a, b, c = rollup.people[:3]
    mine_empty(rollup, rollup.cfg.confirmation_depth + 1)
    rollup.seq.open_block(w.now)
    env = w.env()
    env.timestamp = rollup.seq.timestamp
    x = w.order(a, Side.SELL, usd(3000), base(2))
    bad = w.order(b, Side.BUY, usd(3000), base(1))
    other = w.order(c, Side.BUY, usd(3000), base(1))
    forged = SignedOrder(bad.order, other.signature, bad.digest)
    fill1 = strip_repeats(w.state, Fill(x, forged, base(1)))
    r1 = apply_tx(w.state, fill1, env)
    fill2 = strip_repeats(w.state, Fill(x, w.order(c, Side.BUY, usd(3000), base(1)), base(1)))
    r2 = apply_tx(w.state, fill2, env)
    assert not r1.ok and r2.ok, (r1, r2)
    assert fill2.maker.signature == x.signature
    rollup.seq.seal([fill1, fill2], [r1, r2])
    rollup.post()
    mine_empty(rollup, 2)
    deriver = derive_all(rollup)
    assert deriver.head.hash == rollup.seq.blocks[-1].hash


def test_a_batch_trading_more_instruments_than_the_table_holds_still_encodes() -> None:
    """Was: ``instrument_table`` had no cap and the table holds 255 entries, so a batch
    trading more instruments (a few 32-strike option expiries) could not be posted.
    Now the 255 most traded instruments are in the table and the rest go wide."""
    rollup = Rollup(seed=32)
    w = rollup.world
    a, b = rollup.people[:2]
    txs = []
    for instrument in range(1, 300):
        m = w.order(a, Side.SELL, usd(3000), base(1), instrument=instrument)
        t = w.order(b, Side.BUY, usd(3000), base(1), instrument=instrument)
        txs.append(Fill(m, t, base(1)))
    grid = {i: (50_000, 100_000) for i in range(1, 300)}
    parent = rollup.seq.blocks[0]
    header = Header(1, parent.hash, w.now, 0, *(bytes(32),) * 3)
    block = L2Block(header, tuple(BlockTx(t) for t in txs), (), len(txs))
    batch = batch_of([block], parent, rollup.cfg, grid)
    assert len(batch.instruments) == MAX_INSTRUMENTS
    data = encode_batch(batch, w.separator).data
    decoded, _ = decode_batch(data, w.separator)
    assert decoded.blocks[0].txs == tuple(txs)


def test_the_devnet_batcher_fails_loudly_on_a_block_too_big_for_any_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Was: the devnet batcher halved its batch on Oversized with ``max(1, n // 2)``
    forever when one block alone was too big. Now it raises (the shared batch packer
    that the session and the node's batcher use)."""
    import rollbook.chain.sequencer as sequencer_module
    import rollbook.sim.session as session_module
    from rollbook.exchange.errors import InvariantError

    def always_oversized(*args: object, **kwargs: object) -> object:
        raise Oversized("one block is bigger than a batch")

    s = session_module.Session(1, 10_000)
    for n in range(8):
        s.step(n)
    assert len(s.builder.blocks) - 1 > s.posted
    monkeypatch.setattr(sequencer_module, "encode_batch", always_oversized)
    with pytest.raises(InvariantError, match="exceeds the batch size limit"):
        s.post_batch()


def test_a_reorg_below_the_snapshots_rederives_from_genesis_or_refuses() -> None:
    """Was: a reorg deeper than the kept snapshots reset the state to genesis but kept
    the old L1 blocks before the fork, so their batches and inputs were silently lost.
    Now the follower goes back to genesis and re-derives the whole new history (equal
    to deriving it fresh), or refuses loudly if it is not given that history."""
    rollup = Rollup(seed=21, traders=4, overrides={"finality_depth": 6})
    run(rollup, blocks=60, post_every=4, inputs_every=5)
    old = rollup.l1.blocks
    fork = 4
    new = rewrite(old, fork, b"deep", drop_batches=False)
    follower = Deriver(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref)
    follower.update(old)
    follower.update(new)
    fresh = derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, new)
    assert [b.hash for b in follower.blocks] == [b.hash for b in fresh.blocks]
    assert follower.state.root() == fresh.state.root()
    # Given only the tail of the new history, it refuses.
    other = Deriver(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref)
    other.update(old)
    with pytest.raises(ReorgTooDeep):
        other.update(new[fork:])


def test_a_batch_posted_twice_is_skipped() -> None:
    """A batch's first block must continue the inbox's count of batch blocks: the
    same batch posted again (a batcher restarted without reading the inbox) is
    skipped, as the inbox refuses it on L1, and the chain is what it was."""
    rollup = Rollup(seed=22, traders=4)
    run(rollup, blocks=12, post_every=4)
    old = rollup.l1.blocks
    index = next(i for i, b in enumerate(old) if b.batches)
    again = list(old)
    later = old[index + 1]
    again[index + 1] = dataclasses.replace(later, batches=(*later.batches, old[index].batches[0]))
    deriver = derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, again)
    assert any("posted twice" in n for n in deriver.notes), deriver.notes
    honest = derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, old)
    assert [b.hash for b in deriver.blocks] == [b.hash for b in honest.blocks]
