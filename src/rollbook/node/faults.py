"""Faults for ``rollbook devnet --fault``: a proposer that lies, and the disputes the
devnet plays about it (docs/design/fraud-proofs.md section 8).

- ``invalid-root``: the proposer's ``at``-th proposal claims a root whose last block
  has another state root (:func:`~rollbook.chain.trace.forged_root`); it then defends
  that claim with its own trace, which is honest up to the last block's output root.
- ``skipped-deposit``: from the ``at``-th proposal on, the first one whose blocks
  credit a deposit claims the root of a chain that leaves that deposit out (the
  blocks rebuilt without it) and defends it with that chain's trace. Its L1 txs
  are not the input queue's: the challenger proves the ``tx.load`` where the chains
  part (docs/design/fraud-proofs.md section 2).

The devnet runs two :class:`~rollbook.node.disputer.Disputer` s in its L1 thread: the
proposer's (defending every root it posted, the lie included) and an independent
challenger's, which follows L1 with its own :class:`~rollbook.node.verifier.Verifier`
and disputes every root that differs from what it derives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rollbook.chain.blocks import L2Block, block_output
from rollbook.chain.derive import build_block
from rollbook.chain.l1 import L1Ref
from rollbook.chain.trace import SPAN, LyingTrace, OutputTrace, forged_root, trace_output
from rollbook.exchange.txs import Deposit, Origin
from rollbook.l1.driver import EvmL1
from rollbook.node.disputer import Disputer
from rollbook.node.l1port import DevnetPort
from rollbook.node.service import Genesis
from rollbook.node.verifier import Verifier

FAULTS = ("invalid-root", "skipped-deposit")
CHALLENGER_LABEL = b"rollbook.devnet.challenger"


@dataclass
class FaultyPort(DevnetPort):
    """The devnet's L1 port, whose ``at``-th proposal (1-based) is a lie of kind
    ``fault``."""

    blocks: Any = None
    """The node's blocks (``blocks()[n]`` is block ``n``)."""
    genesis: Genesis | None = None
    fault: str = "invalid-root"
    at: int = 3
    lies: dict[bytes, Any] = field(default_factory=dict)
    proposals: int = 0
    last_proposed: int = 0

    def propose(self, root: bytes, l2_block: int, l1_origin: int) -> None:
        self.proposals += 1
        if self.proposals >= self.at and not self.lies:
            if self.fault == "invalid-root":
                root = self._invalid_root(l2_block)
            else:
                root = self._skipped_deposit(l2_block) or root
        self.last_proposed = l2_block
        super().propose(root, l2_block, l1_origin)

    def _invalid_root(self, l2_block: int) -> bytes:
        position = (l2_block - self.last_proposed) * SPAN
        root = forged_root(self.blocks()[l2_block].header.encode(), position)

        def lie(honest: OutputTrace) -> LyingTrace:
            return LyingTrace(honest, len(honest.blocks) * SPAN)

        self.lies[root] = lie
        return root

    def _skipped_deposit(self, l2_block: int) -> bytes | None:
        """The root of the chain without the first deposit credited since the last
        proposal (None if there is none)."""
        assert self.genesis is not None
        blocks = self.blocks()[: l2_block + 1]
        skip = next(
            (
                (b.number, i)
                for b in blocks[self.last_proposed + 1 :]
                for i, (t, r) in enumerate(zip(b.txs, b.receipts, strict=True))
                if isinstance(t.tx, Deposit) and r.ok
            ),
            None,
        )
        if skip is None:
            return None
        chain = without(self.genesis, blocks, *skip)
        g = self.genesis

        def lie(honest: OutputTrace) -> OutputTrace:
            first = honest.blocks[0].inputs.number - 1
            last = first + len(honest.blocks)
            return trace_output(g.state, chain, first, last, g.cfg.domain_separator, g.cfg.mode)

        root = block_output(chain[l2_block], g.cfg.mode)
        self.lies[root] = lie
        return root


def without(genesis: Genesis, blocks: list[L2Block], number: int, index: int) -> list[L2Block]:
    """``blocks`` rebuilt from genesis with tx ``index`` of block ``number`` left out:
    the chain a proposer that skips an L1 input would claim."""
    state = genesis.state.copy()
    chain = [blocks[0]]
    for block in blocks[1:]:
        h = block.header
        l1_txs = [t for t in block.txs if t.origin is Origin.L1]
        sequenced = [t.tx for t in block.txs if t.origin is Origin.L2]
        if block.number == number:
            l1_txs = [t for i, t in enumerate(l1_txs) if i != index]
        origin = L1Ref(h.l1_origin, h.l1_origin_hash, 0)
        parent = chain[-1].header
        chain.append(
            build_block(state, parent, origin, h.timestamp, l1_txs, sequenced, genesis.cfg)
        )
    return chain


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
