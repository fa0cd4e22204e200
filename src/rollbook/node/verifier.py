"""The verifier: follow L1 alone, derive the chain, check every proposed output root.

A verifier trusts nothing the sequencer says. It reads the rollup contracts' blocks
from L1 (:func:`rollbook.l1.system.read_block`), derives the L2 chain with the same
pure function as everyone (:class:`rollbook.chain.derive.Deriver`), and compares each
output root the proposer posted to the oracle with the root of the block it derived
at that height. Its heads are op-node's: *unsafe* = *safe* = the newest derived block
(a verifier sees no unsafe gossip), *final* = derived from L1 blocks at least
``finality_depth`` deep.

L1 reorgs: each poll walks back from the verifier's L1 head until the node's block
hash matches the one it derived from, and hands the fork from there to
:meth:`Deriver.update`, which rewinds to its snapshot before the fork and derives the
new branch. A mismatch between a proposed root and the derived one is an alarm
(:attr:`Verifier.alarms`); issue #7 makes the verifier dispute it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rollbook.chain.blocks import output_root
from rollbook.chain.derive import Deriver, ReorgTooDeep
from rollbook.chain.l1 import L1Block
from rollbook.l1.system import System, read_block
from rollbook.node.service import Genesis

MAX_READ = 256  # L1 blocks read per poll


@dataclass
class Alarm:
    output_index: int
    l2_block: int
    proposed: bytes
    derived: bytes


@dataclass
class Verifier:
    system: System
    genesis: Genesis
    deriver: Deriver = field(init=False)
    checked: int = 0
    """Output roots checked so far (oracle indices below this)."""
    alarms: list[Alarm] = field(default_factory=list)
    reorgs: int = 0

    def __post_init__(self) -> None:
        g = self.genesis
        self.deriver = Deriver(g.cfg, g.state, g.l1_genesis)

    # -- following L1 -----------------------------------------------------------------

    def poll(self) -> int:
        """Follow L1 to its tip (at most :data:`MAX_READ` blocks); returns how many L1
        blocks a reorg rolled back."""
        client = self.system.client
        tip = client.head()
        d = self.deriver
        ancestor = d.l1[-1].number
        known = {ref.number: ref.hash for ref in d.l1}
        while ancestor > d.l1[0].number and bytes(client.block(ancestor)["hash"]) != known.get(
            ancestor
        ):
            ancestor -= 1
        last = min(tip, ancestor + MAX_READ)
        chain = [read_block(self.system, n) for n in range(ancestor + 1, last + 1)]
        try:
            rolled = d.update(chain)
        except ReorgTooDeep:
            first = self.genesis.l1_genesis.number + 1
            rolled = d.update([read_block(self.system, n) for n in range(first, last + 1)])
        if rolled:
            self.reorgs += 1
            self.checked = min(self.checked, self._first_unchecked_after_rewind())
        self.check_outputs()
        return rolled

    def follow(self, blocks: list[L1Block]) -> None:
        """Derive from given L1 blocks (the devnet hands them over; tests)."""
        self.deriver.update(blocks)
        self.check_outputs()

    def _first_unchecked_after_rewind(self) -> int:
        client, oracle = self.system.client, self.system.oracle
        head = self.deriver.head.number
        for index in range(self.checked):
            if int(client.read(oracle, "outputs", index)[1]) > head:
                return index
        return self.checked

    def check_outputs(self) -> None:
        client, oracle = self.system.client, self.system.oracle
        count = int(client.read(oracle, "count"))
        blocks = self.deriver.blocks
        mode = self.genesis.cfg.mode
        while self.checked < count:
            root, l2_block, _, _ = client.read(oracle, "outputs", self.checked)
            if l2_block >= len(blocks):
                return  # not derived yet
            block = blocks[l2_block]
            h = block.header
            derived = output_root(mode, h.state_root, h.withdrawals_root, block.hash)
            if bytes(root) != derived:
                self.alarms.append(Alarm(self.checked, int(l2_block), bytes(root), derived))
            self.checked += 1

    def status(self) -> dict[str, Any]:
        heads = self.deriver.heads()
        head = self.deriver.head
        return {
            "unsafe_l2": heads.unsafe,
            "safe_l2": heads.safe,
            "finalized_l2": heads.final,
            "l1_head": self.deriver.l1[-1].number,
            "head_hash": "0x" + head.hash.hex(),
            "state_root": "0x" + head.header.state_root.hex(),
            "outputs_checked": self.checked,
            "alarms": [
                {
                    "output_index": a.output_index,
                    "l2_block": a.l2_block,
                    "proposed": "0x" + a.proposed.hex(),
                    "derived": "0x" + a.derived.hex(),
                }
                for a in self.alarms
            ],
            "reorgs": self.reorgs,
            "skipped_batches": sum("skipped" in n for n in self.deriver.notes),
        }
