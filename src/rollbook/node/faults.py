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
- ``stolen-balance``: the ``at``-th proposal claims the root of a chain whose last
  block also carries an L1 transfer nobody sent — from the account with the most
  balance to the proposer's pick, "authorised" by the victim's owner as its L1
  sender — so the state really holds the theft; the executor finds no such entry in
  the input queue, and the challenger proves that ``tx.load``.
- ``wrong-fill``: from the ``at``-th proposal on, the first one whose blocks settle
  a fill claims other checkpoints from that fill's ``fill.apply`` step on (a wrong
  result of the fill): the challenger proves that step on the executor.

The devnet runs two :class:`~rollbook.node.disputer.Disputer` s in its L1 thread: the
proposer's (defending every root it posted, the lie included) and an independent
challenger's, which follows L1 with its own :class:`~rollbook.node.verifier.Verifier`
and disputes every root that differs from what it derives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from rollbook.chain.blocks import L2Block, block_output
from rollbook.chain.derive import build_block
from rollbook.chain.l1 import L1Ref
from rollbook.chain.trace import SPAN, LyingTrace, OutputTrace, forged_root, trace_output
from rollbook.exchange.state import State
from rollbook.exchange.stf import BlockTx, Receipt
from rollbook.exchange.txs import Deposit, Fill, Origin, Transfer
from rollbook.l1.driver import EvmL1
from rollbook.node.disputer import Disputer
from rollbook.node.l1port import DevnetPort
from rollbook.node.service import Genesis
from rollbook.node.verifier import Verifier

FAULTS = ("invalid-root", "skipped-deposit", "stolen-balance", "wrong-fill")
STOLEN = 1_000_000  # a dollar: small enough that the victim's margin allows it
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
            lie = {
                "invalid-root": self._invalid_root,
                "skipped-deposit": self._skipped_deposit,
                "stolen-balance": self._stolen_balance,
                "wrong-fill": self._wrong_fill,
            }[self.fault](l2_block)
            root = lie or root
        self.last_proposed = l2_block
        super().propose(root, l2_block, l1_origin)

    def _invalid_root(self, l2_block: int) -> bytes:
        return self._lie_from(l2_block, lambda honest: len(honest.blocks) * SPAN)

    def _wrong_fill(self, l2_block: int) -> bytes | None:
        """A lie from the first ``fill.apply`` step after the last proposal on (None
        if no fill was settled since)."""
        blocks = self.blocks()[self.last_proposed + 1 : l2_block + 1]
        if not any(isinstance(t.tx, Fill) and r.ok for b in blocks for t, r in _txs(b)):
            return None

        def first_fill(honest: OutputTrace) -> int:
            for j, trace in enumerate(honest.blocks):
                for k, step in enumerate(trace.steps):
                    if step.name == "fill.apply":
                        return j * SPAN + k + 1  # the step's post is the first lie
            return len(honest.blocks) * SPAN

        return self._lie_from(l2_block, first_fill)

    def _lie_from(self, l2_block: int, start: Any) -> bytes:
        """Claim a root whose trace is honest up to position ``start(honest)``."""
        position = (l2_block - self.last_proposed) * SPAN
        root = forged_root(self.blocks()[l2_block].header.encode(), position)

        def lie(honest: OutputTrace) -> LyingTrace:
            return LyingTrace(honest, start(honest))

        self.lies[root] = lie
        return root

    def _skipped_deposit(self, l2_block: int) -> bytes | None:
        """The root of the chain without the first deposit credited since the last
        proposal (None if there is none)."""
        blocks = self.blocks()[: l2_block + 1]
        edit = skip_first_deposit(blocks, self.last_proposed)
        return None if edit is None else self._rebuilt(blocks, edit)

    def _stolen_balance(self, l2_block: int) -> bytes:
        """The root of the chain whose last block also carries a forged L1 transfer."""
        return self._rebuilt(self.blocks()[: l2_block + 1], forge_transfer(l2_block))

    def _rebuilt(self, blocks: list[L2Block], edit: Edit) -> bytes:
        assert self.genesis is not None
        root, lie = rebuilt_lie(self.genesis, blocks, edit)
        self.lies[root] = lie
        return root


Edit = Callable[[L2Block, list[BlockTx], State], list[BlockTx]]
"""A lie's change to a block's L1 txs, given the rebuilt chain's state before it."""


def _txs(block: L2Block) -> Iterator[tuple[BlockTx, Receipt]]:
    return zip(block.txs, block.receipts, strict=True)


def skip_first_deposit(blocks: list[L2Block], after: int) -> Edit | None:
    """The edit that leaves out the first deposit credited after block ``after``
    (None if there is none)."""
    skip = next(
        (
            (b.number, i)
            for b in blocks[after + 1 :]
            for i, (t, r) in enumerate(_txs(b))
            if isinstance(t.tx, Deposit) and r.ok
        ),
        None,
    )
    if skip is None:
        return None
    number, index = skip

    def edit(block: L2Block, l1_txs: list[BlockTx], state: State) -> list[BlockTx]:
        return [t for i, t in enumerate(l1_txs) if i != index or block.number != number]

    return edit


def forge_transfer(number: int) -> Edit:
    """The edit that adds to block ``number`` an L1 transfer nobody sent: from the
    account with the most balance to the lowest other one, "authorised" by the
    victim's owner as its L1 sender."""

    def edit(block: L2Block, l1_txs: list[BlockTx], state: State) -> list[BlockTx]:
        if block.number != number:
            return l1_txs
        ids = [k[1] for k in state.keys_of_kind("acct")]
        accounts = [i for i in ids if isinstance(i, int) and i != 0]
        victim = max(accounts, key=lambda i: (state.account(i).balance, -i))
        thief = min(i for i in accounts if i != victim)
        forged = Transfer(victim, thief, STOLEN, 0)
        return [*l1_txs, BlockTx(forged, Origin.L1, state.account(victim).owner)]

    return edit


def rebuilt_lie(
    genesis: Genesis, blocks: list[L2Block], edit: Edit
) -> tuple[bytes, Callable[[OutputTrace], OutputTrace]]:
    """The last block's output root of ``blocks`` rebuilt with ``edit``, and the lie
    that defends it: the rebuilt chain's trace over the disputed range."""
    chain = rebuild(genesis, blocks, edit)
    g = genesis

    def lie(honest: OutputTrace) -> OutputTrace:
        first = honest.blocks[0].inputs.number - 1
        last = first + len(honest.blocks)
        # (each block runs from the same batch on L1 as the honest one)
        sources = {t.inputs.number: t.source for t in honest.blocks}
        sourced = [replace(b, source=sources.get(b.number, b.source)) for b in chain]
        return trace_output(g.state, sourced, first, last, g.cfg.domain_separator, g.cfg.mode)

    return block_output(chain[-1], g.cfg.mode), lie


def rebuild(genesis: Genesis, blocks: list[L2Block], edit: Edit) -> list[L2Block]:
    """``blocks`` rebuilt from genesis with each block's L1 txs passed through
    ``edit``: the chain a proposer that skips or invents an L1 input would claim."""
    state = genesis.state.copy()
    chain = [blocks[0]]
    for block in blocks[1:]:
        h = block.header
        l1_txs = edit(block, [t for t in block.txs if t.origin is Origin.L1], state)
        sequenced = [t.tx for t in block.txs if t.origin is Origin.L2]
        origin = L1Ref(h.l1_origin, bytes(32), 0)
        parent = chain[-1].header
        built = build_block(state, parent, origin, h.timestamp, l1_txs, sequenced, genesis.cfg)
        chain.append(replace(built, source=block.source))  # the same batch on L1
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
            index, root, _, blocks, _, _ = client.read(game, "disputes", gid)
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
