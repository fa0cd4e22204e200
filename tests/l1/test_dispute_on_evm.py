"""Fraud proofs end to end on the deployed system (embedded EVM and Anvil): the
rollup's chain is derived from L1; a proposer that posts a wrong root defends it and
loses to the challenger, which removes it; an honest root attacked by a lying
challenger stands and finalises; a withdrawal is paid against it. Both sides are
:class:`~rollbook.node.disputer.Disputer` s playing without help."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from rollbook.chain.blocks import block_output, prove_withdrawal
from rollbook.chain.derive import derive
from rollbook.chain.trace import SPAN, LyingTrace, OutputTrace, trace_output
from rollbook.exchange.stf import Block, BlockTx, apply_block
from rollbook.exchange.txs import Origin, Withdraw
from rollbook.l1.driver import EvmL1
from rollbook.node.disputer import CHALLENGER, DEFENDER, Disputer
from rollbook.node.service import Genesis
from tests.chain.helpers import Rollup, run

WINDOW = 120
L1_BLOCK = 12

BACKENDS = ["evm", "anvil"]


def _funded(l1: EvmL1, label: bytes) -> bytes:
    key = bytes.fromhex(l1.client.w3.keccak(label).hex().removeprefix("0x"))
    client, faucet = l1.client, l1.roles.deployer
    l1.queued.append(lambda: client.transfer_eth(faucet, client.address_of(key), 10**19))
    return key


def _is_withdrawal(item: BlockTx) -> bool:
    return item.origin is Origin.L1 and isinstance(item.tx, Withdraw)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_lie_is_removed_an_honest_root_stands_and_pays(backend: str) -> None:
    rollup = Rollup(seed=11, traders=3, backend=backend, l1_params={"challenge_window": WINDOW})
    try:
        _play(rollup)
    finally:
        rollup.close()


def _play(rollup: Rollup) -> None:
    l1 = rollup.l1
    assert isinstance(l1, EvmL1)
    run(rollup, blocks=30, post_every=4, inputs_every=3)
    chain = derive(rollup.cfg, rollup.genesis, l1.genesis_ref, l1.blocks).blocks
    assert [b.hash for b in chain] == [b.hash for b in rollup.seq.blocks]
    mode, sep = rollup.cfg.mode, rollup.world.separator
    # The block with the first withdrawal paid on L2, and the last block.
    a = next(
        b.number
        for b in chain
        if any(_is_withdrawal(t) and r.ok for t, r in zip(b.txs, b.receipts, strict=True))
    )
    b = len(chain) - 1
    assert b > a
    lie = LyingTrace(trace_output(rollup.genesis, chain, a, b, sep, mode), (b - a) * SPAN, mode)
    genesis = Genesis(rollup.genesis, rollup.cfg, l1.genesis_ref, rollup.grid)

    def submit(send: Callable[[], bytes]) -> None:
        l1.queued.append(send)  # (mine() replaces the list: no bound append)

    def player(key: bytes, **kw: Any) -> Disputer:
        return Disputer(l1.system, key, genesis, lambda: chain, submit=submit, **kw)

    def lying(honest: OutputTrace) -> LyingTrace:
        return LyingTrace(honest, len(honest.blocks) * SPAN, mode)

    proposer = player(l1.roles.proposer, lies={lie.root(): lying})
    challenger = player(_funded(l1, b"challenger"))
    now = rollup.world.now

    def mine_until(done) -> None:  # type: ignore[no-untyped-def]
        nonlocal now
        for _ in range(400):
            challenger.check_outputs()
            for side in (proposer, challenger, *extra):
                side.act()
            now += L1_BLOCK
            l1.mine(now)
            if done():
                return
        raise AssertionError("the game did not end")

    extra: list[Disputer] = []
    oracle, client = l1.system.oracle, l1.client
    l1.propose(block_output(chain[a], mode), a, chain[a].header.l1_origin)
    l1.propose(lie.root(), b, chain[b].header.l1_origin)
    # 1. The proposer's wrong root: the challenger opens a game, the proposer defends
    #    its lie, the executor decides the last step, the root is removed.
    mine_until(lambda: challenger.outcomes())
    assert challenger.outcomes() == {0: CHALLENGER}
    assert client.read(oracle, "count") == 1
    assert any(m.kind == "prove" for m in challenger.moves)
    # 2. The honest root of the same block, attacked by a lying challenger while its
    #    proposer is silent: the challenger (who derived the same root) backs it, so
    #    beating the proposer on time does not remove it; the liar must beat the
    #    backer too, and cannot.
    l1.propose(block_output(chain[b], mode), b, chain[b].header.l1_origin)
    liar = player(_funded(l1, b"liar"), reckless=random.Random(5))
    extra.append(liar)
    silent = proposer
    proposer = player(_funded(l1, b"nobody"))  # plays no game: the proposer is away
    now += L1_BLOCK
    l1.mine(now)
    liar.challenge(1)
    mine_until(lambda: any(m.kind == "back" for m in challenger.moves))
    now += L1_BLOCK
    l1.mine(now)
    liar.challenge(1)  # now against the backer too, while the root is in its window
    mine_until(lambda: len(liar.outcomes()) == 2)
    assert liar.outcomes()[1] == CHALLENGER  # the silent proposer lost on time
    assert challenger.outcomes()[2] == DEFENDER  # the backer did not
    assert client.read(oracle, "count") == 2
    proposer = silent
    # 3. After the window both roots are final; the withdrawal in block a is paid.
    now += WINDOW + L1_BLOCK
    l1.mine(now)
    assert client.read(oracle, "is_final", 1)
    root1, _, proposed_at, _ = client.read(oracle, "outputs", 1)
    client.call_tx(challenger.key, l1.system.game, "refund", 1, bytes(root1), proposed_at)
    count = sum(
        1
        for blk in chain[: a + 1]
        for t, r in zip(blk.txs, blk.receipts, strict=True)
        if isinstance(t.tx, Withdraw) and r.ok
    )
    state = rollup.genesis.copy()
    for blk in chain[1:]:
        apply_block(state, Block(blk.number, blk.header.timestamp, blk.txs), sep)
    claim = prove_withdrawal(state, chain[a], mode, count - 1, count)
    owner = "0x" + claim.leaf.owner.hex()
    before = client.read(l1.system.collateral, "balanceOf", client.w3.to_checksum_address(owner))
    l1.withdraw(claim, 0)
    now += L1_BLOCK
    l1.mine(now)
    after = client.read(l1.system.collateral, "balanceOf", client.w3.to_checksum_address(owner))
    assert after - before == claim.leaf.amount
