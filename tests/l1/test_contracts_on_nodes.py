"""The contracts' named refusals and main paths through the node client, on the
embedded EVM and on Anvil alike (the titanoboa suite's second form: real txs, real
blocks, revert reasons read back from the node)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from rollbook.chain.blocks import (
    Header,
    L2Block,
    Mode,
    output_root,
    output_version,
    prove_withdrawal,
)
from rollbook.codec.txcodec import encode_standalone
from rollbook.exchange.txs import SetRiskParams
from rollbook.l1.client import L1Error, checksum
from rollbook.l1.driver import EvmL1
from rollbook.sim.world import GENESIS_TIME, World
from tests.l1.conftest import FORCED_WITHDRAW

START = GENESIS_TIME


@pytest.fixture(params=["evm", "anvil"])
def l1(request: pytest.FixtureRequest) -> Iterator[EvmL1]:
    start = EvmL1.embedded if request.param == "evm" else EvmL1.anvil
    node = start(
        START,
        output_version=output_version(Mode.OPTIMISTIC),
        challenge_window=60,
        freeze_delay=120,
        claim_period=60,
    )
    try:
        yield node
    finally:
        node.close()


class Clock:
    def __init__(self, l1: EvmL1) -> None:
        self.l1 = l1
        self.now = l1.tip.timestamp

    def tick(self, seconds: int = 12) -> None:
        self.now += seconds
        self.l1.mine(self.now)


def refused(l1: EvmL1, clock: Clock, action: Callable[[], None], reason: str) -> None:
    """``action`` is mined and reverts with ``reason`` (read back from the node)."""
    action()
    with pytest.raises(L1Error, match=reason.replace("*", r"\*")):
        clock.tick()


def test_named_refusals_and_main_paths(l1: EvmL1) -> None:
    clock = Clock(l1)
    portal, client = l1.system.portal, l1.client
    world = World(now=START)
    alice = world.add_trader("alice", 1_000)
    l1.add_owners({alice.owner: alice.owner_key})
    clock.now = l1.tip.timestamp
    # Deposits: numbered, escrowed; bad amounts refused.
    l1.deposit(alice.owner, 5_000_000)
    clock.tick()
    assert client.read(portal, "next_deposit_id") == 1
    key = alice.owner_key
    refused(
        l1,
        clock,
        lambda: l1.queued.append(
            lambda: client.call_tx(key, portal, "deposit", 0, checksum(alice.owner))
        ),
        "Portal: amount must be in 1..2**64-1",
    )
    # Forced txs pay the fee.
    refused(
        l1,
        clock,
        lambda: l1.queued.append(
            lambda: client.call_tx(key, portal, "force", FORCED_WITHDRAW, value=1)
        ),
        "Portal: the forced-tx fee is not paid",
    )
    # Only the batcher posts; a batch is at least its head.
    inbox = l1.system.inbox
    refused(
        l1,
        clock,
        lambda: l1.queued.append(lambda: client.call_tx(key, inbox, "post", bytes(80))),
        "BatchInbox: only the batcher posts",
    )
    refused(
        l1,
        clock,
        lambda: l1.post_batch(bytes(20)),
        "BatchInbox: a batch is at least a head of one block",
    )
    # Only the proposer proposes; a root is final only after the window.
    oracle = l1.system.oracle
    refused(
        l1,
        clock,
        lambda: l1.queued.append(
            lambda: client.call_tx(key, oracle, "propose", b"\x01" * 32, 1, 0)
        ),
        "OutputOracle: only the proposer proposes",
    )
    # A withdrawal proven against a final root is paid once.
    nonce = world.state.account(alice.index).tx_nonce
    from rollbook.exchange.txs import Withdraw

    tx = world.owner_signed(Withdraw, alice, account=alice.index, amount=2_000_000, nonce=nonce)
    assert world.l2(tx).ok
    state = world.state
    header = Header(1, bytes(32), clock.now, 0, bytes(32), state.root(), state.withdrawals_root())
    block = L2Block(header, (), (), 0)
    claim = prove_withdrawal(state, block, Mode.OPTIMISTIC, 0)
    l1.back_genesis(10**9)
    l1.propose(
        output_root(Mode.OPTIMISTIC, header.state_root, header.withdrawals_root, block.hash),
        1,
        l1.tip.number,
    )
    clock.tick()
    refused(l1, clock, lambda: l1.withdraw(claim, 0), "OutputOracle: the root is not final yet")
    clock.tick(60)
    wrong = type(claim)(
        claim.mode,
        claim.state_root,
        claim.withdrawals_root,
        claim.block_hash,
        claim.withdrawal_id,
        claim.leaf._replace(amount=claim.leaf.amount + 1),
        claim.proof,
    )
    refused(
        l1,
        clock,
        lambda: l1.withdraw(wrong, 0),
        "Portal: the withdrawal is not in the withdrawals tree",
    )
    before = client.read(l1.system.collateral, "balanceOf", checksum(alice.owner))
    l1.withdraw(claim, 0)
    clock.tick()
    after = client.read(l1.system.collateral, "balanceOf", checksum(alice.owner))
    assert after - before == 2_000_000
    refused(l1, clock, lambda: l1.withdraw(claim, 0), "Portal: withdrawal already paid")
    # A freeze only once a forced tx is overdue and unserved.
    l1.force(alice.owner, FORCED_WITHDRAW)
    clock.tick()
    forced_id = client.read(portal, "next_forced_id") - 1
    refused(
        l1,
        clock,
        lambda: l1.portal_call("freeze", forced_id),
        "Portal: the forced tx is not overdue",
    )
    clock.tick(120)
    l1.portal_call("freeze", forced_id)
    clock.tick()
    assert client.read(portal, "frozen")
    refused(l1, clock, lambda: l1.deposit(alice.owner, 1), "Portal: the system is frozen")
    # Governance waits its delay.
    timelock = l1.system.timelock
    eta = l1.tip.timestamp + 10**6
    refused(
        l1,
        clock,
        lambda: l1.queued.append(
            lambda: client.call_tx(l1.roles.deployer, timelock, "schedule", b"\x10" + bytes(8), eta)
        ),
        "govtx: a field has the wrong type",
    )
    risk = encode_standalone(SetRiskParams(16, 3_600, 50_000, 500_000), bytes(32))
    l1.govern(risk)
    clock.tick()
    refused(
        l1,
        clock,
        lambda: l1.queued.append(
            lambda: client.call_tx(l1.roles.deployer, timelock, "execute", 0, risk)
        ),
        "Timelock: too early",
    )
