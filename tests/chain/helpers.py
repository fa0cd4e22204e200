"""A small rollup for derivation tests: a world, a sequencer, an L1 input history."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from rollbook.chain.blocks import L2Block, output_version
from rollbook.chain.derive import ChainConfig, due_input
from rollbook.chain.sequencer import BlockBuilder, batch_of, postable
from rollbook.codec.batch import encode_batch
from rollbook.codec.txcodec import encode_standalone
from rollbook.exchange.state import State
from rollbook.exchange.stf import apply_tx
from rollbook.exchange.txs import Tx, Withdraw
from rollbook.exchange.types import Side
from rollbook.l1.driver import EvmL1
from rollbook.sim.l1sim import L1_BLOCK_TIME, SimL1
from rollbook.sim.world import GENESIS_TIME, Trader, World, base, usd

L2_BLOCK_TIME = 2


def config(world: World, **overrides: int) -> ChainConfig:
    values = {"confirmation_depth": 2, "max_drift": 600, "inclusion_window": 120}
    values.update(overrides)
    return ChainConfig(chain_id=901, domain_separator=world.separator, **values)


@dataclass
class Rollup:
    """A world with traders (the genesis), an L1 history and a sequencer over them."""

    seed: int = 0
    traders: int = 6
    overrides: dict[str, int] = field(default_factory=dict)
    backend: str = "sim"
    """L1: "sim" (the test history), "evm" (the contracts on an embedded EVM) or
    "anvil" (the contracts on an Anvil node; call ``close()``)."""
    l1_params: dict[str, int] = field(default_factory=dict)
    """Contract parameters for an EVM L1 (challenge window, freeze delay, ...)."""

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.world = World(now=GENESIS_TIME)
        assert self.world.list_perp().ok
        self.people: list[Trader] = [
            self.world.add_trader(f"t{i}", 100_000) for i in range(self.traders)
        ]
        self.world.set_prices(usd(3000))
        self.genesis: State = self.world.state.copy()
        self.cfg = config(self.world, **self.overrides)
        self.l1: SimL1 | EvmL1
        if self.backend in ("evm", "anvil"):
            start = EvmL1.embedded if self.backend == "evm" else EvmL1.anvil
            self.l1 = start(
                self.world.now,
                output_version=output_version(self.cfg.mode),
                first_deposit_id=self.world.state.globals().next_deposit_id,
                domain_separator=self.world.separator,
                chain=self.cfg,
                **self.l1_params,
            )
            self.l1.add_owners({p.owner: p.owner_key for p in self.people})
        else:
            self.l1 = SimL1(
                self.world.now, self.world.state.globals().next_deposit_id, cfg=self.cfg
            )
        self.seq = BlockBuilder(self.cfg, self.world.state, self.l1.genesis_ref)
        if isinstance(self.l1, EvmL1):
            self.l1.anchor(self.seq.blocks[0])
        for block in self.l1.blocks:  # already on L1 (the owners' gas funding)
            self.seq.observe(block)
        self.posted = 0  # sequencer blocks already batched
        self.grid = {1: (self.world.state.instrument(1).tick, self.world.state.instrument(1).lot)}

    def close(self) -> None:
        if isinstance(self.l1, EvmL1):
            self.l1.close()

    # -- L1 side ---------------------------------------------------------------------

    def deposit(self, trader: Trader, usdc: int) -> None:
        self.l1.deposit(trader.owner, usd(usdc))

    def force_withdraw(self, trader: Trader, usdc: int) -> None:
        tx = Withdraw(trader.index, usd(usdc), 0)
        self.l1.force(trader.owner, encode_standalone(tx, self.world.separator))

    def mine(self) -> None:
        """Mine L1 up to now, one block at a time, with a watcher that forces due L1
        inputs in through the inbox (rule 4) before each."""
        while self.l1.tip.timestamp + L1_BLOCK_TIME <= self.world.now:
            self.force_due()
            for block in self.l1.mine(self.l1.tip.timestamp + L1_BLOCK_TIME):
                self.seq.observe(block)

    def force_due(self) -> int | None:
        """A watcher's move: if an L1 input has waited its window and no batch block
        has taken it, ask the inbox to force it in (rule 4) in the next L1 block;
        returns its queue index."""
        tip = self.l1.tip
        index = due_input(
            self.l1.entries(),
            self.l1.inbox_cursor(),
            tip.number + 1,
            tip.timestamp + L1_BLOCK_TIME,
            self.cfg,
        )
        if index is not None:
            self.l1.force_include(index)
        return index

    # -- sequencer side --------------------------------------------------------------

    def random_txs(self, count: int) -> list[Tx]:
        txs: list[Tx] = []
        for _ in range(count):
            maker, taker = self.rng.sample(self.people, 2)
            side = self.rng.choice([Side.BUY, Side.SELL])
            price = usd(3000) + self.rng.randint(-20, 20) * 50_000
            size = base(self.rng.randint(1, 5), 2)
            m = self.world.order(maker, side, price, size * 2)
            t = self.world.order(taker, side.opposite, price, size)
            from rollbook.exchange.txs import Fill

            txs.append(Fill(m, t, size))
        return txs

    def step(self, txs: int = 3) -> L2Block:
        """One L2 block: time passes, L1 may mine, the sequencer seals a block."""
        self.world.advance(L2_BLOCK_TIME)
        self.mine()
        self.seq.open_block(self.world.now)
        env = self.world.env()
        env.timestamp = self.seq.timestamp
        applied, receipts = [], []
        price = usd(3000) + self.rng.randint(-10, 10) * 50_000
        self.world.now = self.seq.timestamp
        for tx in [self.world.oracle_update({1: price}, {1: price}), *self.random_txs(txs)]:
            receipt = apply_tx(self.world.state, tx, env)
            applied.append(tx)
            receipts.append(receipt)
        return self.seq.seal(applied, receipts)

    def post(self) -> None:
        """Batch every sealed, unposted block and queue the batch for the next L1 block."""
        waiting = self.seq.blocks[self.posted + 1 :]
        blocks = waiting[: postable(waiting, self.l1.tip.number + 1, self.cfg)]
        if not blocks:
            return
        parent = self.seq.blocks[self.posted]
        batch = batch_of(blocks, parent, self.cfg, self.grid)
        self.l1.post_batch(encode_batch(batch, self.world.separator).data)
        self.posted += len(blocks)


def run(rollup: Rollup, blocks: int, post_every: int, inputs_every: int = 0) -> None:
    """Build ``blocks`` L2 blocks with deposits and forced withdrawals every
    ``inputs_every``, batching every ``post_every``, until all are on L1."""
    for n in range(1, blocks + 1):
        if inputs_every and n % inputs_every == 0:
            trader = rollup.people[n % len(rollup.people)]
            rollup.deposit(trader, 1_000)
            rollup.force_withdraw(trader, 10)
        rollup.step()
        if n % post_every == 0:
            rollup.post()
    # Let L1 run past the confirmation depth so every block can be posted, and is.
    for _ in range(rollup.cfg.confirmation_depth + 2):
        rollup.post()
        rollup.world.advance(L1_BLOCK_TIME)
        rollup.mine()
