"""The node's L1 port: follow the rollup contracts' blocks, post batches, propose roots.

Two ways to reach L1, one interface (:class:`~rollbook.node.service.L1Port`):

- :class:`ChainPort` over any JSON-RPC node (Anvil, a testnet) and a deployment
  record: the batcher and the proposer send their own txs and wait for each to be
  mined (a reverted or lost tx raises; the node retries it next round). Fees are capped
  by the client's ``maxFeePerGas``.
- :class:`DevnetPort` over an embedded EVM (:class:`~rollbook.l1.driver.EvmL1`): the
  node is also the L1's block producer, on a slot clock, so the devnet needs nothing
  outside the process.

The node follows L1 ``lag`` blocks behind its tip: a reorg shallower than that never
reaches the sequencer (its origins are ``k`` deep anyway); the verifier
(:mod:`rollbook.node.verifier`) follows the tip and handles reorgs itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound

from rollbook.chain.l1 import L1Block
from rollbook.l1.client import L1Error
from rollbook.l1.driver import EvmL1
from rollbook.l1.system import System, read_block

CONFIRM_TIMEOUT = 60.0


@dataclass
class Spending:
    hashes: list[bytes] = field(default_factory=list)
    gas: int = 0
    wei: int = 0
    counted: int = 0

    def total(self, receipt_of: Callable[[bytes], Any]) -> tuple[int, int]:
        for tx_hash in self.hashes[self.counted :]:
            receipt = receipt_of(tx_hash)
            self.gas += int(receipt["gasUsed"])
            self.wei += int(receipt["gasUsed"]) * int(receipt.get("effectiveGasPrice", 0))
        self.counted = len(self.hashes)
        return self.gas, self.wei


@dataclass
class ChainPort:
    """L1 over JSON-RPC with a deployment; the batcher and proposer keys pay gas."""

    system: System
    batcher: bytes
    proposer: bytes
    lag: int = 2
    spending: Spending = field(default_factory=Spending)

    def poll(self, after: int, now: int) -> list[L1Block]:
        tip = self.system.client.head()
        return [read_block(self.system, n) for n in range(after + 1, tip - self.lag + 1)]

    def tip(self) -> int:
        return self.system.client.head()

    def batched(self) -> int:
        return int(self.system.client.read(self.system.inbox, "blocks"))

    def post_batch(self, data: bytes) -> None:
        s = self.system
        self._confirm(s.client.call_tx(self.batcher, s.inbox, "post", data, gas=12_000_000))

    def propose(self, root: bytes, l2_block: int, l1_origin: int) -> None:
        s = self.system
        bond = int(s.client.read(s.oracle, "required_bond"))
        tx = s.client.call_tx(
            self.proposer, s.oracle, "propose", root, l2_block, l1_origin, value=bond
        )
        self._confirm(tx)

    def spent(self) -> tuple[int, int]:
        return self.spending.total(self.system.client.receipt)

    def _confirm(self, tx_hash: bytes) -> None:
        client = self.system.client
        client.unconfirmed.clear()  # this port waits for its own txs
        deadline = time.monotonic() + CONFIRM_TIMEOUT
        while True:
            try:
                receipt = client.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                receipt = None
            if receipt is not None:
                break
            if time.monotonic() > deadline:
                client.nonces.clear()  # re-read the nonce: the tx may be dropped
                raise L1Error(f"tx {tx_hash.hex()} was not mined within {CONFIRM_TIMEOUT:.0f} s")
            time.sleep(0.1)
        client.receipt(tx_hash)  # raises with the revert reason
        self.spending.hashes.append(tx_hash)


@dataclass
class DevnetPort:
    """The embedded L1, mined by the node on a slot clock (devnet only)."""

    l1: EvmL1
    lag: int = 2
    spending: Spending = field(default_factory=Spending)
    _mine_from: int = 0

    def poll(self, after: int, now: int) -> list[L1Block]:
        before = len(self.l1.sent)
        self.l1.mine(now)
        roles = {
            self.l1.client.address_of(k) for k in (self.l1.roles.batcher, self.l1.roles.proposer)
        }
        for tx_hash in self.l1.sent[before:]:
            tx = self.l1.client.w3.eth.get_transaction(HexBytes(tx_hash))
            if tx["from"] in roles:
                self.spending.hashes.append(tx_hash)
        tip = self.l1.tip.number
        return [b for b in self.l1.blocks if after < b.number <= tip - self.lag]

    def tip(self) -> int:
        return self.l1.tip.number

    def batched(self) -> int:
        return int(self.l1.client.read(self.l1.system.inbox, "blocks"))

    def post_batch(self, data: bytes) -> None:
        self.l1.post_batch(data)  # mined in the next slot

    def propose(self, root: bytes, l2_block: int, l1_origin: int) -> None:
        self.l1.propose(root, l2_block, l1_origin)

    def spent(self) -> tuple[int, int]:
        return self.spending.total(self.l1.client.receipt)
