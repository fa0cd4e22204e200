"""A ZK-mode L1 for the contract tests: a real Groth16 verifier, the input queue, the
``ZkRollup`` and a Portal in ZK mode that takes the rollup as its ``oracle``.

The rollup's own rules are tested with ``free_input_test``, a circuit whose one public
input is free (any claim is provable, fast), so every proof is real; the claim's
binding to roots and data is ``BatchClaim``'s (``claim_test``, 40 bytes of data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boa
from eth_utils import to_canonical_address

from rollbook.chain.blocks import Mode, output_version, tx_item
from rollbook.chain.derive import ChainConfig, l1_tx
from rollbook.chain.l1 import L1Deposit
from rollbook.l1.client import create_address
from rollbook.zk import batchdata as bd
from rollbook.zk import claim as zc
from rollbook.zk import keys as zk
from tests.l1.conftest import CLAIM_PERIOD, FREEZE_DELAY, load

FREE = "free_input_test"
CHAIN = 901
WINDOW = 600  # seconds an L1 input may wait before it blocks every batch
GENESIS = 7_777
FORCED_FEE = 10**15
CFG = ChainConfig(chain_id=CHAIN, domain_separator=bytes(32))


def raw(value: Any) -> bytes:
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


@dataclass
class ZkL1:
    keys: zk.CircuitKeys
    verifier: Any
    usdc: Any
    queue: Any
    rollup: Any
    portal: Any
    items: list[bytes]
    """The block tx item of every queue entry, in order (what derivation makes)."""
    deposited: int = 0

    def deposit(self, amount: int, owner: str | None = None) -> bytes:
        """A user's deposit through the Portal; returns its queue item."""
        user = boa.env.generate_address()
        owner = owner or user
        self.usdc.mint(user, amount)
        with boa.env.prank(user):
            self.usdc.approve(self.portal.address, amount)
            self.portal.deposit(amount, owner)
        deposit_id = self.portal.next_deposit_id() - 1
        item = tx_item(l1_tx(L1Deposit(deposit_id, raw(owner), amount), CFG), bytes(32))
        self.items.append(item)
        self.deposited += amount
        return item

    def batch(
        self,
        withdrawals: list[tuple[str, int]] = (),  # type: ignore[assignment]
        inputs: int | None = None,
        rest: bytes = b"",
        index: int | None = None,
    ) -> bd.BatchData:
        """The next batch's data: ``inputs`` queue entries from where the rollup stands
        (default: every one queued), ``withdrawals`` as (owner, amount) from the next id."""
        first = self.rollup.inputs_taken()
        end = len(self.items) if inputs is None else first + inputs
        first_id = self.rollup.next_withdrawal_id()
        return bd.BatchData(
            chain_id=CHAIN,
            batch_index=self.rollup.count() if index is None else index,
            first_input=first,
            inputs=tuple(self.items[first:end]),
            first_withdrawal=first_id,
            withdrawals=tuple(
                bd.PublishedWithdrawal(first_id + i, raw(owner), amount)
                for i, (owner, amount) in enumerate(withdrawals)
            ),
            rest=rest,
        )

    def claim(self, new_root: int, data: bytes, old_root: int | None = None) -> int:
        old = self.rollup.state_root() if old_root is None else old_root
        return zc.claim(old, new_root, zc.data_hash(data))

    def prove(self, new_root: int, data: bytes, old_root: int | None = None) -> bytes:
        """A real proof of the batch's claim (``free_input_test``: any claim)."""
        public = self.claim(new_root, data, old_root)
        return zk.prove(self.keys, {"x": public}, public)

    def submit(self, new_root: int, data: bytes, proof: bytes | None = None, **kw: Any) -> Any:
        if proof is None:
            proof = self.prove(new_root, data)
        return self.rollup.submit(self.rollup.count(), new_root, data, proof, **kw)


def deploy_zk(circuit: str = FREE, genesis: int = GENESIS) -> ZkL1:
    """Deploy the ZK-mode L1 with ``circuit``'s verifying key. The rollup names the
    Portal (deployed next, at its computed address) and the Portal the rollup."""
    keys = zk.circuit_keys(circuit)
    verifier = load("Groth16Verifier", *keys.verifier_args())
    usdc = load("Collateral", "USD Coin", "USDC")
    queue = load("InputQueue")
    me = raw(boa.env.eoa)
    nonce = boa.env.evm.vm.state.get_nonce(to_canonical_address(me))
    portal_at = create_address(me, nonce + 1)
    rollup = load("ZkRollup", verifier.address, queue.address, portal_at, CHAIN, WINDOW, genesis)
    version = output_version(Mode.ZK)
    portal = load(
        "Portal",
        usdc.address,
        rollup.address,
        version,
        FORCED_FEE,
        0,
        FREEZE_DELAY,
        CLAIM_PERIOD,
        queue.address,
    )
    assert portal.address == portal_at
    queue.bind(portal.address, boa.env.eoa)  # the test's account stands for the Timelock
    return ZkL1(keys, verifier, usdc, queue, rollup, portal, [])
