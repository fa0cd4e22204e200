"""Derivation from a real EVM: the rollup's L1 inputs are the Vyper contracts' logs
and calldata, in an embedded py-evm chain and on an Anvil node (the same client,
two backends), and the derived chain is the sequencer's."""

from __future__ import annotations

import pytest

from rollbook.chain.blocks import L2Block
from rollbook.chain.derive import derive
from rollbook.chain.l1 import L1Deposit, L1Forced, L1Governance
from rollbook.codec.batch import decode_batch
from rollbook.codec.txcodec import encode_standalone
from rollbook.codec.txroot import merkle_root
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.txs import SetRiskParams
from rollbook.l1.client import L1Error
from rollbook.l1.driver import EvmL1
from tests.chain.helpers import Rollup, run
from tests.chain.test_derive import inclusion_times

BACKENDS = ["evm", "anvil"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_the_chain_derived_from_the_evm_is_the_sequencers(backend: str) -> None:
    rollup = Rollup(seed=41, traders=4, backend=backend)
    try:
        check_derivation(rollup)
    finally:
        rollup.close()


def check_derivation(rollup: Rollup) -> None:
    run(rollup, blocks=30, post_every=5, inputs_every=7)
    l1 = rollup.l1
    assert isinstance(l1, EvmL1)
    deriver = derive(rollup.cfg, rollup.genesis, l1.genesis_ref, l1.blocks)
    assert not [n for n in deriver.notes if "skipped" in n], deriver.notes
    assert deriver.head.hash == rollup.seq.blocks[-1].hash
    assert deriver.state.root() == rollup.world.state.root()
    # What derivation read is what the contracts recorded.
    inputs = [i for b in l1.blocks for i in b.inputs]
    assert any(isinstance(i, L1Deposit) for i in inputs)
    assert any(isinstance(i, L1Forced) for i in inputs)
    inbox = l1.system.inbox
    posted = [d for b in l1.blocks for d in b.batches]
    assert l1.client.read(inbox, "count") == len(posted) > 0
    for index, data in enumerate(posted):
        record = l1.client.read(inbox, "records", index)
        assert record[0] == keccak256(data)
        batch, items = decode_batch(data, rollup.world.separator)
        assert (record[2], record[3]) == (batch.tx_root, len(items))
    check_sources(l1, deriver.blocks)
    # Escrow on L1 = what derivation credited (no withdrawal has been paid yet).
    credited = sum(i.amount for i in inputs if isinstance(i, L1Deposit))
    portal = l1.system.portal.address
    assert l1.client.read(l1.system.collateral, "balanceOf", portal) == credited


def check_sources(l1: EvmL1, blocks: list[L2Block]) -> None:
    """Every derived block after genesis is the inbox's batch block ``n − 1``: its
    source names the record that holds it, whose head and items it carries."""
    for block in blocks[1:]:
        source = block.source
        assert source is not None
        data_hash, head_hash, tx_root, items, first_block, count, _ = l1.client.read(
            l1.system.inbox, "records", source.record
        )
        assert bytes(head_hash) == keccak256(source.head)
        assert (bytes(tx_root), items) == (merkle_root(source.items), len(source.items))
        assert first_block + source.block == block.number - 1 and source.block < count
        if not source.items:
            assert bytes(data_hash) == keccak256(source.head)


def test_forced_txs_posted_on_the_evm_land_by_their_deadline(backend: str) -> None:
    rollup = Rollup(seed=42, traders=3, backend=backend, overrides={"inclusion_window": 120})
    try:
        check_forced(rollup)
    finally:
        rollup.close()


def check_forced(rollup: Rollup) -> None:
    for k in range(3):
        rollup.force_withdraw(rollup.people[k], 1 + k)
        rollup.world.advance(7)
        rollup.mine()
    rollup.world.advance(120 + 12 * (rollup.cfg.confirmation_depth + 3))
    rollup.mine()
    deriver = derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, rollup.l1.blocks)
    pairs = inclusion_times(deriver, rollup.l1.blocks)
    assert len(pairs) == 3
    for posted, included in pairs:
        assert included <= posted + 120 + 12


def test_governance_through_the_timelock_reaches_l2_after_its_delay(backend: str) -> None:
    rollup = Rollup(seed=43, traders=3, backend=backend)
    try:
        l1 = rollup.l1
        assert isinstance(l1, EvmL1)
        change = SetRiskParams(
            max_positions=16, max_order_lifetime=86_400, liq_band_ppm=40_000, backstop_ppm=400_000
        )
        l1.govern(encode_standalone(change, rollup.world.separator))
        delay = l1.system.deployment.params["governance_delay"]
        run(rollup, blocks=(delay + 120) // 2, post_every=10)
        deriver = derive(rollup.cfg, rollup.genesis, l1.genesis_ref, l1.blocks)
        assert deriver.head.hash == rollup.seq.blocks[-1].hash
        glob = deriver.state.globals()
        assert (glob.max_positions, glob.liq_band_ppm) == (16, 40_000)
        (block,) = [b for b in deriver.blocks if any(t.tx == change for t in b.txs)]
        executed_at = next(
            b.timestamp for b in l1.blocks if any(isinstance(i, L1Governance) for i in b.inputs)
        )
        assert executed_at >= l1.genesis.timestamp + delay
        assert block.header.timestamp >= executed_at
    finally:
        rollup.close()


def test_a_silent_sequencer_is_overridden_through_the_inbox(backend: str) -> None:
    """The sequencer posts nothing; a watcher has the inbox force each L1 input in once
    it has waited its window (``BatchInbox.force_include``), derivation reads the
    forced batches from the inbox's logs, and the forced withdrawals execute by their
    deadline. A second force of the same input is refused."""
    window = 120
    rollup = Rollup(seed=44, traders=3, backend=backend, overrides={"inclusion_window": window})
    try:
        l1 = rollup.l1
        assert isinstance(l1, EvmL1)
        for k in range(2):
            rollup.force_withdraw(rollup.people[k], 1 + k)
            rollup.world.advance(7)
            rollup.mine()
        rollup.world.advance(window + 12 * (rollup.cfg.confirmation_depth + 3))
        rollup.mine()  # (the watcher forces what is due, one L1 block at a time)
        forced = [d for b in l1.blocks for d in b.batches]
        assert forced and l1.client.read(l1.system.inbox, "count") == len(forced)
        deriver = derive(rollup.cfg, rollup.genesis, rollup.l1.genesis_ref, rollup.l1.blocks)
        assert not any("skipped" in n for n in deriver.notes)
        assert len(deriver.blocks) == 1 + len(forced)  # every block is an inbox block
        check_sources(l1, deriver.blocks)
        pairs = inclusion_times(deriver, rollup.l1.blocks)
        assert len(pairs) == 2
        for posted, included in pairs:
            assert included <= posted + window + 12 * (rollup.cfg.confirmation_depth + 1)
        assert all(r.ok for b in deriver.blocks for r in b.receipts)
        l1.force_include(0)
        with pytest.raises(L1Error, match="a batch block has taken the input already"):
            l1.mine(l1.tip.timestamp + 12)
    finally:
        rollup.close()
