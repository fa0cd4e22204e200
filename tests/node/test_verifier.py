"""The verifier follows L1 alone on a real node (Anvil): it derives what the batches
say, checks proposed roots, alarms on a wrong one, and follows an L1 reorg made with
``evm_snapshot`` / ``evm_revert`` to the chain a fresh verifier derives."""

from __future__ import annotations

import pytest

from rollbook.chain.blocks import output_root
from rollbook.l1.anvil import available
from rollbook.node.service import Genesis
from rollbook.node.verifier import Verifier

from ..chain.helpers import Rollup

pytestmark = pytest.mark.skipif(not available(), reason="anvil is installed by `make setup`")


def genesis_of(r: Rollup) -> Genesis:
    return Genesis(r.genesis, r.cfg, r.l1.genesis_ref, r.grid)


def rpc(r: Rollup, method: str, *params: object) -> object:
    response = r.l1.client.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    return response["result"]


def test_verifier_checks_roots_and_follows_a_reorg() -> None:
    r = Rollup(seed=5, backend="anvil")
    try:
        for _ in range(12):
            r.step()
            r.post()
        r.mine()
        v = Verifier(r.l1.system, genesis_of(r))
        v.poll()
        assert v.deriver.head.number > 0
        assert v.deriver.head.hash == r.seq.blocks[v.deriver.head.number].hash

        # the proposer posts a true root, later a false one: that one is an alarm
        good = r.seq.blocks[v.deriver.head.number]
        h = good.header
        r.l1.propose(
            output_root(r.cfg.mode, h.state_root, h.withdrawals_root, good.hash),
            good.number,
            h.l1_origin,
        )
        r.mine()
        r.world.advance(12)
        r.mine()
        v.poll()
        assert v.checked == 1 and v.alarms == []
        for _ in range(3):
            r.step()
            r.post()
        r.mine()
        v.poll()
        lie = r.seq.blocks[v.deriver.head.number]
        r.l1.propose(b"\x11" * 32, lie.number, lie.header.l1_origin)
        r.world.advance(12)
        r.mine()
        v.poll()
        assert [(a.output_index, a.l2_block) for a in v.alarms] == [(1, lie.number)]

        # an L1 reorg: snapshot, more batches, revert, a different (longer) branch
        snapshot = rpc(r, "evm_snapshot")
        tip = r.l1.tip.number
        derived_before = v.deriver.head.number
        for _ in range(8):
            r.step()
            r.post()
        r.mine()
        v.poll()
        assert v.deriver.head.number > derived_before
        assert rpc(r, "evm_revert", snapshot) is True
        r.l1.blocks = [b for b in r.l1.blocks if b.number <= tip]
        r.l1.client.last_timestamp = None
        r.l1.client.nonces.clear()
        r.l1.queued.clear()
        for _ in range(12):  # the new branch: L1 blocks without those batches
            r.world.advance(12)
            for block in r.l1.mine(r.world.now):
                assert block.number > tip
        rolled = v.poll()
        assert rolled > 0 and v.reorgs == 1
        fresh = Verifier(r.l1.system, genesis_of(r))
        fresh.poll()
        assert v.deriver.head.hash == fresh.deriver.head.hash
        assert v.deriver.state.root() == fresh.deriver.state.root()
        assert v.status()["l1_head"] == r.l1.client.head()
    finally:
        r.close()
