"""Block traces (#7): the STF run step by step rebuilds every block of a chain, the
checkpoints chain from the parent's output root to the block's, and each STF step's
witness verifies."""

from __future__ import annotations

from itertools import pairwise

from rollbook.chain.blocks import output_root
from rollbook.chain.derive import derive
from rollbook.chain.trace import SPAN, StepContext, checkpoint, trace_block
from rollbook.commitment.witness import verify_step
from rollbook.exchange.steps import SEAL, TX_END, TX_LOAD
from tests.chain.helpers import Rollup, run


def test_traces_rebuild_a_chain() -> None:
    rollup = Rollup(seed=3, traders=4)
    rollup.force_withdraw(rollup.people[0], 10**9)  # refused: more than its balance
    run(rollup, blocks=30, post_every=4, inputs_every=3)
    chain = derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, rollup.l1.blocks).blocks
    state = rollup.genesis.copy()
    names: set[str] = set()
    failed = 0
    for parent, block in pairwise(chain):
        trace = trace_block(state, parent.header, block, rollup.world.separator)
        h = parent.header
        assert trace.checkpoint_at(0) == output_root(
            rollup.cfg.mode, h.state_root, h.withdrawals_root, h.hash()
        )
        b = block.header
        end = output_root(rollup.cfg.mode, b.state_root, b.withdrawals_root, b.hash())
        assert trace.checkpoint_at(SPAN) == end
        assert trace.checkpoint_at(len(trace.steps)) == end
        assert trace.checkpoint_at(len(trace.steps) - 1) != end
        for before, after in pairwise(trace.steps):
            assert before.post == after.pre
        kinds = [s.name for s in trace.steps]
        assert kinds.count(TX_LOAD) == len(block.txs) + 1
        assert kinds.count(TX_END) == len(block.txs)
        assert kinds[-1] == SEAL
        for step in trace.steps:
            names.add(step.name)
            if step.witness is not None:
                w = step.witness
                assert verify_step(w) == (w.post_root, w.post_withdrawals)
                failed += w.failed
    assert {"deposit", "fill.apply", "margin.compare", "withdraw.leaf"} <= names
    assert state.root() == chain[-1].header.state_root
    assert failed > 0


def test_the_checkpoint_binds_every_context_field() -> None:
    base = StepContext(b"\x01" * 32, 1_000, carry=(5,))
    root = b"\x02" * 32
    variants = [
        StepContext(b"\x09" * 32, 1_000, carry=(5,)),
        StepContext(b"\x01" * 32, 1_001, carry=(5,)),
        StepContext(b"\x01" * 32, 1_000, tx_index=1, carry=(5,)),
        StepContext(b"\x01" * 32, 1_000, pc=2, carry=(5,)),
        StepContext(b"\x01" * 32, 1_000, failed=True, carry=(5,)),
        StepContext(b"\x01" * 32, 1_000, carry=(-5,)),
        StepContext(b"\x01" * 32, 1_000, carry=(5, 1)),
        StepContext(b"\x01" * 32, 1_000, sequenced_end=1, carry=(5,)),
        StepContext(b"\x01" * 32, 1_000, batch=1, carry=(5,)),
        StepContext(b"\x01" * 32, 1_000, batch_table=b"\x01" * 32, carry=(5,)),
    ]
    ours = checkpoint(root, root, base)
    assert len({checkpoint(root, root, v) for v in variants} | {ours}) == len(variants) + 1
    assert checkpoint(root, b"\x03" * 32, base) != ours
