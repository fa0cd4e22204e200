"""Faults for ``rollbook devnet --fault``: a proposer that lies, and the disputes the
devnet plays about it (docs/design/fraud-proofs.md section 8).

- ``invalid-root``: the proposer's ``at``-th proposal claims a root whose last block
  has another state root (:func:`~rollbook.chain.trace.forged_root`); it then defends
  that claim with its own trace, which is honest up to the last block's output root.

The devnet runs two :class:`~rollbook.node.disputer.Disputer` s in its L1 thread: the
proposer's (defending every root it posted, the lie included) and an independent
challenger's, which follows L1 with its own :class:`~rollbook.node.verifier.Verifier`
and disputes every root that differs from what it derives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rollbook.chain.trace import SPAN, LyingTrace, OutputTrace, forged_root
from rollbook.l1.driver import EvmL1
from rollbook.node.disputer import Disputer
from rollbook.node.l1port import DevnetPort
from rollbook.node.service import Genesis
from rollbook.node.verifier import Verifier

FAULTS = ("invalid-root",)
CHALLENGER_LABEL = b"rollbook.devnet.challenger"


@dataclass
class FaultyPort(DevnetPort):
    """The devnet's L1 port, whose ``at``-th proposal (1-based) is a lie."""

    blocks: Any = None
    """The node's blocks (``blocks()[n]`` is block ``n``)."""
    at: int = 3
    lies: dict[bytes, Any] = field(default_factory=dict)
    proposals: int = 0
    last_proposed: int = 0

    def propose(self, root: bytes, l2_block: int, l1_origin: int) -> None:
        self.proposals += 1
        if self.proposals == self.at:
            position = (l2_block - self.last_proposed) * SPAN
            root = forged_root(self.blocks()[l2_block].header.encode(), position)

            def lie(honest: OutputTrace) -> LyingTrace:
                return LyingTrace(honest, len(honest.blocks) * SPAN)

            self.lies[root] = lie
        self.last_proposed = l2_block
        super().propose(root, l2_block, l1_origin)


@dataclass
class Disputes:
    """The proposer's and a challenger's players, stepped from the L1 thread."""

    l1: EvmL1
    genesis: Genesis
    blocks: Any
    lies: dict[bytes, Any]
    verifier: Verifier = field(init=False)
    defender: Disputer = field(init=False)
    challenger: Disputer = field(init=False)

    def __post_init__(self) -> None:
        l1 = self.l1
        key = bytes(l1.client.w3.keccak(CHALLENGER_LABEL))
        client, faucet = l1.client, l1.roles.deployer
        l1.queued.append(lambda: client.transfer_eth(faucet, client.address_of(key), 10**19))
        self.verifier = Verifier(l1.system, self.genesis)
        self.defender = Disputer(
            l1.system, l1.roles.proposer, self.genesis, self.blocks, self._submit, self.lies
        )
        self.challenger = Disputer(
            l1.system, key, self.genesis, lambda: self.verifier.deriver.blocks, self._submit
        )

    def _submit(self, send: Any) -> None:
        self.l1.queued.append(send)

    def step(self) -> None:
        """Follow L1, dispute wrong roots, make every move due (in the L1 thread)."""
        self.verifier.poll()
        self.challenger.check_outputs()
        self.challenger.act()
        self.defender.act()

    def report(self) -> list[dict[str, Any]]:
        """Every game: the output disputed, who won, the rounds played."""
        client, game = self.l1.client, self.l1.system.game
        out = []
        for gid in range(int(client.read(game, "count"))):
            g = client.read(game, "games", gid)
            index, root, _, blocks, _ = client.read(game, "disputes", gid)
            rounds = sum(1 for m in self.defender.moves if m.game == gid and m.kind == "post")
            out.append(
                {
                    "game": gid,
                    "output": int(index),
                    "blocks": int(blocks),
                    "lie": bytes(root) in self.lies,
                    "winner": {0: "open", 1: "defender", 2: "challenger"}[int(g[11])],
                    "rounds": rounds,
                }
            )
        return out
