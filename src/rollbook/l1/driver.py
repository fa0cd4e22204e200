"""Drive the real L1 on a slot clock: users' deposits and forced txs, the batcher's
posts, one block every 12 seconds — and read each block back for derivation.

:class:`EvmL1` has the interface of the test history :class:`rollbook.sim.l1sim.SimL1`
(``deposit``, ``force``, ``post_batch``, ``mine``, ``blocks``, ``genesis_ref``), so the
derivation tests and the devnet session run unchanged on the contracts: every
deposit is a real ERC-20 ``transferFrom`` into the Portal, every forced tx pays the
Portal's fee, every batch is a call to the inbox, and what derivation reads is the
logs and calldata of real blocks.

Actions are queued and sent when the next slot's block opens, so each executes at
that block's timestamp.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rollbook.chain.blocks import L2Block, Mode, WithdrawalProof, block_output
from rollbook.chain.derive import ChainConfig, InboxCursor
from rollbook.chain.l1 import L1Block, L1Ref
from rollbook.l1.anvil import FAUCET_KEY as ANVIL_FAUCET_KEY
from rollbook.l1.anvil import Anvil
from rollbook.l1.client import L1Client, checksum
from rollbook.l1.system import (
    DisputeParams,
    InboxParams,
    Roles,
    System,
    anchor_game,
    deploy,
    read_block,
)

L1_BLOCK_TIME = 12
GAS_FUNDING = 10**18


@dataclass
class EvmL1:
    """The rollup's L1 on a real EVM (embedded by default)."""

    system: System
    roles: Roles
    keys: dict[bytes, bytes] = field(default_factory=dict)
    """L1 private key of each owner address that acts on L1 (deposits, forced txs)."""
    blocks: list[L1Block] = field(default_factory=list)
    queued: list[Callable[[], bytes]] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)
    next_deposit: int = 0
    node: Anvil | None = None
    scheduled: list[tuple[int, bytes, int]] = field(default_factory=list)
    """Governance txs scheduled and not yet executed: (proposal id, data, eta)."""
    next_proposal: int = 0

    def __post_init__(self) -> None:
        self.genesis = read_block(self.system, self.system.deployment.block)
        self.next_deposit = self.system.deployment.params.get("first_deposit_id", 0)

    @classmethod
    def embedded(cls, start: int, **params: Any) -> EvmL1:
        """A fresh embedded EVM with the system deployed at ``start``."""
        client = L1Client.embedded(genesis_time=start - 3600)
        return cls.on(client, client.faucet_key(), start, **params)

    @classmethod
    def anvil(cls, start: int, **params: Any) -> EvmL1:
        """A fresh Anvil node (stopped by :meth:`close`) with the system deployed."""
        node = Anvil(genesis_time=start - 3600)
        try:
            l1 = cls.on(L1Client.rpc(node.url, mines=True), ANVIL_FAUCET_KEY, start, **params)
        except BaseException:
            node.stop()
            raise
        l1.node = node
        return l1

    @classmethod
    def on(
        cls,
        client: L1Client,
        faucet: bytes,
        start: int,
        *,
        output_version: int,
        challenge_window: int = 60,
        forced_fee: int = 10**15,
        first_deposit_id: int = 0,
        governance_delay: int = 600,
        freeze_delay: int = 3600,
        claim_period: int = 3600,
        dispute_arity: int = 2,
        dispute_clock: int = 300,
        domain_separator: bytes = bytes(32),
        chain: ChainConfig | None = None,
    ) -> EvmL1:
        """Deploy the system on ``client`` at ``start``, ``faucet`` paying for gas;
        the inbox holds ``chain``'s rules (by default chain 901's)."""
        if chain is None:
            chain = ChainConfig(901, domain_separator)
        roles = Roles(faucet, _key(b"proposer"), _key(b"batcher"))
        # (the deployment's blocks end at `start`; the gas limit decides how many)
        client.open_block(start - 16)
        for key in (roles.proposer, roles.batcher):
            client.transfer_eth(faucet, client.address_of(key), 10 * GAS_FUNDING)
        client.seal_block()
        system = deploy(
            client,
            roles,
            start - 1,
            output_version=output_version,
            challenge_window=challenge_window,
            forced_fee=forced_fee,
            first_deposit_id=first_deposit_id,
            governance_delay=governance_delay,
            freeze_delay=freeze_delay,
            claim_period=claim_period,
            chain=InboxParams(
                chain.chain_id, chain.confirmation_depth, chain.max_drift, chain.inclusion_window
            ),
            dispute=DisputeParams(
                arity=dispute_arity, clock=dispute_clock, domain_separator=domain_separator
            ),
        )
        return cls(system, roles)

    def close(self) -> None:
        """Stop the node this L1 started, if any."""
        if self.node is not None:
            self.node.stop()

    # -- the SimL1 interface ------------------------------------------------------------

    @property
    def client(self) -> L1Client:
        return self.system.client

    @property
    def genesis_ref(self) -> L1Ref:
        return L1Ref.of(self.genesis)

    @property
    def tip(self) -> L1Block:
        return self.blocks[-1] if self.blocks else self.genesis

    def add_owners(self, keys: dict[bytes, bytes]) -> None:
        """Let each owner act on L1 with its key: fund them with gas now, in a block of
        their own one second after the tip (a node's mempool refuses a tx whose sender
        cannot pay, so the funding must be mined before they act)."""
        self.keys.update(keys)
        faucet = self.roles.deployer
        self.client.open_block(self.tip.timestamp + 1)
        hashes = [self.client.transfer_eth(faucet, checksum(o), GAS_FUNDING) for o in keys]
        number = self.client.seal_block()
        for tx_hash in hashes:
            self.client.receipt(tx_hash)
        self.sent.extend(hashes)
        self.blocks.append(read_block(self.system, number))

    def deposit(self, owner: bytes, amount: int) -> None:
        """``owner`` deposits ``amount`` for itself: mint (devnet), approve, deposit."""
        key = self.keys[owner]
        c, s, minter = self.client, self.system, self.roles.deployer
        account, portal = checksum(owner), s.portal.address
        self.queued.append(lambda: c.call_tx(minter, s.collateral, "mint", account, amount))
        self.queued.append(lambda: c.call_tx(key, s.collateral, "approve", portal, amount))
        self.queued.append(lambda: c.call_tx(key, s.portal, "deposit", amount, account))
        self.next_deposit += 1

    def force(self, sender: bytes, data: bytes) -> None:
        key = self.keys[sender]
        fee = self.system.deployment.params["forced_fee"]
        self.queued.append(
            lambda: self.client.call_tx(key, self.system.portal, "force", data, value=fee)
        )

    def govern(self, data: bytes) -> None:
        """The governor schedules a governance tx; the driver executes it when due."""
        eta = self.tip.timestamp + L1_BLOCK_TIME + self.system.deployment.params["governance_delay"]
        client, governor, timelock = self.client, self.roles.deployer, self.system.timelock
        self.queued.append(lambda: client.call_tx(governor, timelock, "schedule", data, eta))
        self.scheduled.append((self.next_proposal, data, eta))
        self.next_proposal += 1

    def post_batch(self, data: bytes) -> None:
        client, batcher, inbox = self.client, self.roles.batcher, self.system.inbox
        self.queued.append(lambda: client.call_tx(batcher, inbox, "post", data, gas=12_000_000))

    def force_include(self, index: int) -> None:
        """Anyone (here the batcher's key pays) asks the inbox to force input queue
        entry ``index`` in (rule 4), in the next block."""
        client, payer, inbox = self.client, self.roles.batcher, self.system.inbox
        self.queued.append(lambda: client.call_tx(payer, inbox, "force_include", index))

    def entries(self) -> list[tuple[int, int]]:
        """The input queue: (L1 block, L1 time) of each entry, in order."""
        client, queue = self.client, self.system.queue
        entries = []
        for i in range(int(client.read(queue, "count"))):
            _, number, time = client.read(queue, "entries", i)
            entries.append((int(number), int(time)))
        return entries

    def inbox_cursor(self) -> InboxCursor:
        client, inbox = self.client, self.system.inbox
        return InboxCursor(
            int(client.read(inbox, "blocks")),
            int(client.read(inbox, "last_timestamp")),
            int(client.read(inbox, "last_origin")),
        )

    def propose(self, root: bytes, l2_block: int, l1_origin: int) -> None:
        """The proposer posts the output root of ``l2_block`` (whose origin is
        ``l1_origin``)."""
        client, proposer, oracle = self.client, self.roles.proposer, self.system.oracle
        self.queued.append(
            lambda: client.call_tx(proposer, oracle, "propose", root, l2_block, l1_origin)
        )

    def anchor(self, genesis: L2Block) -> None:
        """Name the genesis output root to the dispute game (once, after the L2 genesis
        is built on the deployment's L1 block)."""
        version = self.system.deployment.params["output_version"]
        root = block_output(genesis, Mode(version >> 16))
        system, deployer = self.system, self.roles.deployer
        self.queued.append(lambda: anchor_game(system, deployer, root))

    def withdraw(self, claim: WithdrawalProof, output_index: int) -> None:
        """Anyone (here the deployer, paying gas) pays a proven withdrawal to its owner."""
        client, payer, portal = self.client, self.roles.deployer, self.system.portal
        args = (
            output_index,
            claim.state_root,
            claim.withdrawals_root,
            claim.block_hash,
            claim.withdrawal_id,
            checksum(claim.leaf.owner),
            claim.leaf.amount,
            list(claim.proof.siblings),
        )
        self.queued.append(lambda: client.call_tx(payer, portal, "withdraw", *args))

    def portal_call(self, fn: str, *args: Any, value: int = 0, gas: int = 12_000_000) -> None:
        """Anyone (the deployer here) calls ``fn`` on the Portal in the next block."""
        client, payer, portal = self.client, self.roles.deployer, self.system.portal
        self.queued.append(lambda: client.call_tx(payer, portal, fn, *args, value=value, gas=gas))

    def back_genesis(self, amount: int) -> None:
        """Escrow ``amount`` for a genesis allocation (devnets start with funded L2
        accounts; the portal must hold what L2 owes them)."""
        client, minter, s = self.client, self.roles.deployer, self.system
        portal = s.portal.address
        self.queued.append(lambda: client.call_tx(minter, s.collateral, "mint", portal, amount))

    def escrow(self, block: int | None = None) -> int:
        """The collateral the portal holds."""
        s, at = self.system, "latest" if block is None else block
        return int(self.client.read(s.collateral, "balanceOf", s.portal.address, block=at))

    def mine(self, now: int) -> list[L1Block]:
        """Mine every slot due by ``now``; queued actions go into the first block."""
        mined = []
        while self.tip.timestamp + L1_BLOCK_TIME <= now:
            slot = self.tip.timestamp + L1_BLOCK_TIME
            self.client.open_block(slot)
            self._execute_due(slot)
            actions, self.queued = self.queued, []
            hashes = [action() for action in actions]
            number = self.client.seal_block()
            self.sent.extend(hashes)
            block = read_block(self.system, number)
            self.blocks.append(block)
            mined.append(block)
            for tx_hash in hashes:
                self.client.receipt(tx_hash)  # raises L1Error with the reason on a revert
        return mined

    def _execute_due(self, now: int) -> None:
        """Anyone may execute a due governance tx; the driver does, at its eta."""
        due = [s for s in self.scheduled if s[2] <= now]
        self.scheduled = [s for s in self.scheduled if s[2] > now]
        for proposal_id, data, _ in due:
            self.queued.append(self._executor(proposal_id, data))

    def _executor(self, proposal_id: int, data: bytes) -> Callable[[], bytes]:
        client, payer, timelock = self.client, self.roles.deployer, self.system.timelock
        return lambda: client.call_tx(payer, timelock, "execute", proposal_id, data)


def _key(label: bytes) -> bytes:
    from rollbook.crypto.keccak import keccak256

    return keccak256(b"rollbook devnet " + label)
