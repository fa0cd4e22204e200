"""Derivation: replay = sequencer, forced inclusion by the deadline, reorgs, bad batches."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.chain.derive import Deriver, derive
from rollbook.chain.l1 import L1Block, L1Forced
from rollbook.codec.batch import decode_batch, encode_batch
from rollbook.exchange.leaves import account_key
from rollbook.exchange.txs import Deposit, Origin
from rollbook.sim.l1sim import L1_BLOCK_TIME, block_hash
from tests.chain.helpers import Rollup, run


def test_replay_from_l1_equals_the_sequencer() -> None:
    rollup = Rollup(seed=1)
    run(rollup, blocks=60, post_every=7, inputs_every=11)
    deriver = derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, rollup.l1.blocks)
    assert not [n for n in deriver.notes if "skipped" in n], deriver.notes
    assert [b.hash for b in deriver.blocks] == [b.hash for b in rollup.seq.blocks]
    assert deriver.state.root() == rollup.world.state.root()
    # The L1 inputs went in: deposits credited and forced withdrawals executed.
    l1_receipts = [
        (t, r)
        for b in deriver.blocks
        for t, r in zip(b.txs, b.receipts, strict=True)
        if t.origin is Origin.L1
    ]
    assert any(isinstance(t.tx, Deposit) for t, _ in l1_receipts)
    assert any(t.l1_sender is not None for t, _ in l1_receipts)  # forced withdrawals
    assert all(r.ok for _, r in l1_receipts), [r for _, r in l1_receipts if not r.ok]
    heads = deriver.heads()
    assert heads.safe == len(deriver.blocks) - 1 and heads.final <= heads.safe


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    blocks=st.integers(5, 40),
    post_every=st.integers(1, 9),
    inputs_every=st.integers(0, 6),
)
def test_replay_property(seed: int, blocks: int, post_every: int, inputs_every: int) -> None:
    rollup = Rollup(seed=seed, traders=4)
    run(rollup, blocks, post_every, inputs_every)
    deriver = derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, rollup.l1.blocks)
    assert deriver.head.hash == rollup.seq.blocks[-1].hash
    assert deriver.state.root() == rollup.world.state.root()


def test_reencoded_batches_derive_the_same_chain() -> None:
    rollup = Rollup(seed=2)
    run(rollup, blocks=20, post_every=5, inputs_every=4)
    sep = rollup.world.separator
    reencoded = [
        dataclasses.replace(
            b, batches=tuple(encode_batch(decode_batch(d, sep)[0], sep).data for d in b.batches)
        )
        for b in rollup.l1.blocks
    ]
    assert [b.batches for b in reencoded] == [b.batches for b in rollup.l1.blocks]
    deriver = derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, reencoded)
    assert deriver.head.hash == rollup.seq.blocks[-1].hash


# -- forced inclusion ----------------------------------------------------------------


def inclusion_times(deriver: Deriver, l1: list[L1Block]) -> list[tuple[int, int]]:
    """(L1 time posted, L1 time of the L1 block whose processing included it) per forced tx."""
    times = {b.number: b.timestamp for b in l1}
    posted = [(b.timestamp, i.sender) for b in l1 for i in b.inputs if isinstance(i, L1Forced)]
    included = [
        times[deriver.derived_from[n]]
        for n, block in enumerate(deriver.blocks)
        for t in block.txs
        if t.l1_sender is not None
    ]
    return [(p[0], inc) for p, inc in zip(posted, included, strict=True)]


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), count=st.integers(1, 12), window=st.sampled_from([60, 120, 600]))
def test_a_silent_sequencer_cannot_delay_forced_txs(seed: int, count: int, window: int) -> None:
    """The sequencer posts nothing at all; every forced tx still lands by its deadline,
    all of them at once (no FIFO throttle: the k-th does not wait k windows)."""
    rollup = Rollup(seed=seed, traders=3, overrides={"inclusion_window": window})
    for k in range(count):
        rollup.force_withdraw(rollup.people[k % 3], 1 + k)
        rollup.world.advance(5)
        rollup.mine()
    rollup.world.advance(window + L1_BLOCK_TIME * (rollup.cfg.confirmation_depth + 3))
    rollup.mine()
    deriver = derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, rollup.l1.blocks)
    pairs = inclusion_times(deriver, rollup.l1.blocks)
    assert len(pairs) == count
    depth_time = L1_BLOCK_TIME * rollup.cfg.confirmation_depth
    for posted, included in pairs:
        assert included <= posted + max(window, depth_time) + L1_BLOCK_TIME
    # They went in, and executed: the owners were paid on L2's books.
    assert all(r.ok for b in deriver.blocks for r in b.receipts)


def test_a_censoring_sequencer_is_overridden() -> None:
    """The sequencer keeps posting blocks but never advances its origin past a forced
    tx; at the deadline a watcher has the inbox record a forced batch that takes it,
    and the sequencer's later batches, which do not continue the inbox's count, are
    refused (skipped here, on a simulated L1)."""
    rollup = Rollup(seed=3, overrides={"inclusion_window": 60, "max_drift": 3600})
    run(rollup, blocks=10, post_every=5)
    victim = rollup.people[0]
    rollup.force_withdraw(victim, 25)
    stuck = rollup.seq.blocks[-1].header.l1_origin
    rollup.seq.origin_for = lambda timestamp: rollup.seq.l1[stuck]  # type: ignore[method-assign]
    run(rollup, blocks=60, post_every=5)
    deriver = derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, rollup.l1.blocks)
    assert any("posted twice, or one is missing" in n for n in deriver.notes)
    origins = [b.header.l1_origin for b in deriver.blocks]
    assert origins == sorted(origins)
    forced = [
        (t, r)
        for b in deriver.blocks
        for t, r in zip(b.txs, b.receipts, strict=True)
        if t.l1_sender == victim.owner
    ]
    assert len(forced) == 1 and forced[0][1].ok, forced  # it executed on the derived chain
    # The sequencer's own chain never included it.
    assert not [t for b in rollup.seq.blocks for t in b.txs if t.l1_sender == victim.owner]


# -- reorgs ------------------------------------------------------------------------


def rewrite(blocks: list[L1Block], fork: int, salt: bytes, drop_batches: bool) -> list[L1Block]:
    """The same history up to ``fork``, then blocks with new hashes (and maybe without
    their batches, as if the batcher's txs were reorged out)."""
    out = list(blocks[:fork])
    for block in blocks[fork:]:
        parent = out[-1].hash if out else blocks[0].parent_hash
        batches = () if drop_batches else block.batches
        out.append(
            L1Block(
                block.number,
                block_hash(block.number, parent, block.timestamp, block.inputs, batches, salt),
                parent,
                block.timestamp,
                block.inputs,
                batches,
            )
        )
    return out


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), fork_back=st.integers(1, 8), drop=st.booleans())
def test_reorg_then_rederive_equals_deriving_the_new_history(
    seed: int, fork_back: int, drop: bool
) -> None:
    rollup = Rollup(seed=seed, traders=4)
    run(rollup, blocks=40, post_every=4, inputs_every=5)
    old = rollup.l1.blocks
    fork = max(0, len(old) - fork_back)
    new = rewrite(old, fork, b"fork", drop)
    follower = Deriver(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref)
    follower.update(old)
    rolled = follower.update(new)
    assert rolled == len(old) - fork
    fresh = derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, new)
    assert [b.hash for b in follower.blocks] == [b.hash for b in fresh.blocks]
    assert follower.state.root() == fresh.state.root()
    assert follower.heads() == fresh.heads()


def test_garbage_and_foreign_batches_are_skipped_whole() -> None:
    rollup = Rollup(seed=4)
    run(rollup, blocks=12, post_every=4)
    good = rollup.l1.blocks
    sep = rollup.world.separator
    index = next(i for i, b in enumerate(good) if b.batches)
    batch, _ = decode_batch(good[index].batches[0], sep)
    foreign = encode_batch(dataclasses.replace(batch, chain_id=7), sep).data
    bad = [b"\x01garbage", good[index].batches[0][:-3], foreign]
    spoiled = list(good)
    spoiled[index] = dataclasses.replace(good[index], batches=(*bad, *good[index].batches))
    deriver = derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, spoiled)
    assert len([n for n in deriver.notes if "skipped" in n]) == 3
    assert deriver.head.hash == rollup.seq.blocks[-1].hash
    assert deriver.state.account(0) == rollup.world.state.account(0)
    assert deriver.state.get(account_key(1)) == rollup.world.state.get(account_key(1))
