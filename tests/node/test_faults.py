"""The devnet's lying proposers (node/faults.py) against the one-step executor: a
chain that skips an L1 deposit or carries an L1 transfer nobody sent parts from the
honest one at a ``tx.load``, and there the executor, given the honest witness, gives
the honest checkpoint — the step the challenger proves to win (section 2 of
docs/design/fraud-proofs.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boa
import pytest

from rollbook.chain.blocks import output_version
from rollbook.chain.derive import derive
from rollbook.chain.trace import SPAN, OutputTrace, trace_output
from rollbook.exchange.txs import Deposit
from rollbook.l1.onestep import witness_at
from rollbook.node.faults import STOLEN, forge_transfer, rebuilt_lie, skip_first_deposit
from rollbook.node.service import Genesis
from tests.chain.helpers import Rollup, run
from tests.l1.conftest import deploy_executor, queue_for


@pytest.fixture(autouse=True)
def own_env() -> Iterator[None]:
    with boa.swap_env(boa.Env()):
        yield


@pytest.fixture(scope="module")
def chain() -> tuple[Genesis, list[Any]]:
    rollup = Rollup(seed=5, traders=3)
    run(rollup, blocks=24, post_every=4, inputs_every=3)
    blocks = derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, rollup.l1.blocks).blocks
    return Genesis(rollup.genesis, rollup.cfg, rollup.l1.genesis_ref, {}), blocks


def l1_items(trace: Any) -> list[bytes]:
    return [
        s.item
        for b in trace.blocks
        for s in b.steps
        if s.name == "tx.load" and s.item[:1] == b"\x01"
    ]


def parting(honest: OutputTrace, liar: Any) -> int:
    """The last position where the two traces agree (bisection's end)."""
    lo, hi = 0, len(honest.blocks) * SPAN
    assert honest[lo] == liar[lo] and honest[hi] != liar[hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if honest[mid] == liar[mid] else (lo, mid)
    return lo


@pytest.mark.parametrize("fault", ["skipped-deposit", "stolen-balance"])
def test_a_lie_about_l1_inputs_loses_at_its_tx_load(
    chain: tuple[Genesis, list[Any]], fault: str
) -> None:
    genesis, blocks = chain
    last = len(blocks) - 1
    # The lie covers the blocks from the first that credits a deposit.
    anchor = next(b.number for b in blocks if any(type(t.tx) is Deposit for t in b.txs)) - 1
    edit = (
        skip_first_deposit(blocks, anchor) if fault == "skipped-deposit" else forge_transfer(last)
    )
    assert edit is not None
    root, lie = rebuilt_lie(genesis, blocks, edit)
    sep = genesis.cfg.domain_separator
    honest = trace_output(genesis.state, blocks, anchor, last, sep)
    liar = lie(honest)
    assert liar.blocks[-1].steps[-1].post.checkpoint == root  # it defends what it claims
    honest_l1, lying_l1 = l1_items(honest), l1_items(liar)
    if fault == "stolen-balance":  # one more L1 tx: an unsigned Transfer nobody sent
        (extra,) = [i for i in lying_l1 if i not in honest_l1]
        assert extra[21] == 0x42 and int.from_bytes(extra[30:38], "big") == STOLEN
    else:  # one L1 tx fewer: the deposit
        (missing,) = [i for i in honest_l1 if i not in lying_l1]
        assert missing[21] == 0x0B
    at = parting(honest, liar)
    j, offset = divmod(at, SPAN)
    step = honest.blocks[j].steps[offset]
    assert step.name == "tx.load"
    everything = trace_output(genesis.state, blocks, 0, last, sep).blocks
    ex = deploy_executor(output_version(genesis.cfg.mode), sep, queue_for(everything), everything)
    trace = honest.blocks[j]
    got = ex.execute(step.pre.checkpoint, offset, trace.inputs.hash(), witness_at(trace, offset))
    assert got == honest[at + 1] != liar[at + 1]
    # ...and the liar has no witness: the executor takes no other item there.
    lying = liar.blocks[j]
    with pytest.raises(boa.BoaError, match=r"L1 input queue|the batch's next"):
        ex.execute(step.pre.checkpoint, offset, trace.inputs.hash(), witness_at(lying, offset))
