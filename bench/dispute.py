"""Benchmark: the dispute game's cost (``rollbook bench dispute``).

On the embedded EVM with the deployed system (StepExecutor, its step families,
DisputeGame, OutputOracle): chains of blocks of L1 inputs (per block, deposits to a
new owner and a known one and a refused forced withdrawal, all through the Portal, so
the executor loads them from the input queue) whose output roots are disputed.

- **One-step gas per step type**: every step of the block traces is executed by the
  executor as a call (the gas ``prove`` spends in it); the maximum per step type.
  Headline: the most expensive one-step proof among the step types the executor
  covers (goal ≤ 1M gas); the step types it does not cover yet are listed.
- **Full games**: a proposer claims a wrong root for an output of ``n`` blocks (a
  wrong step inside the last block) and defends it; a challenger disputes it; both
  play to the end. Rounds (defender posts) and total gas (open, posts, choices, the
  proof), for ``n`` = 1, 2, 4, 8 blocks (2^20 … 2^23 positions: a block spans 2^20
  positions whatever its length) and arity 2 and 4. Goal: ≤ 25 rounds at 2^20.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rollbook.chain.blocks import L2Block, Mode, output_version
from rollbook.chain.derive import ChainConfig, derive
from rollbook.chain.sequencer import BlockBuilder, batch_of
from rollbook.chain.trace import SPAN, LyingTrace, trace_output
from rollbook.codec.batch import encode_batch, frame
from rollbook.codec.txcodec import encode_standalone
from rollbook.crypto.keccak import keccak256
from rollbook.crypto.secp256k1 import private_key_address
from rollbook.exchange.steps import FAMILIES
from rollbook.exchange.txs import Withdraw
from rollbook.l1.client import FORK
from rollbook.l1.driver import EvmL1
from rollbook.l1.onestep import FAMILY_CONTRACTS, FAMILY_SLOTS, witness_at
from rollbook.node.disputer import CHALLENGER, Disputer
from rollbook.node.service import Genesis
from rollbook.sim.vectors import scenario_trace, scenarios
from rollbook.sim.world import GENESIS_TIME, World, usd

GOAL_GAS = 1_000_000
GOAL_ROUNDS = 25
L1_BLOCK = 12


class Setup:
    """A genesis world, the system on an embedded EVM, and a chain of blocks built from
    what the Portal recorded: per block, a deposit that opens an account, one to a
    known owner and a forced withdrawal its sender may not make (refused)."""

    def __init__(self, blocks: int, arity: int) -> None:
        world = World(now=GENESIS_TIME)
        world.list_perp()
        self.people = [world.add_trader(f"t{i}", 100_000) for i in range(3)]
        world.set_prices(usd(3000))
        self.world = world
        # Origins need no confirmation depth here: the blocks are built, not raced.
        self.cfg = ChainConfig(chain_id=901, domain_separator=world.separator, confirmation_depth=0)
        glob = world.state.globals()
        self.l1 = EvmL1.embedded(
            world.now,
            output_version=output_version(Mode.OPTIMISTIC),
            challenge_window=3_600,
            freeze_delay=7_200,
            governance_delay=14_400,
            first_deposit_id=glob.next_deposit_id,
            dispute_arity=arity,
            dispute_clock=3_600,
            domain_separator=world.separator,
            chain=self.cfg,
        )
        self.genesis_state = world.state.copy()
        builder = BlockBuilder(self.cfg, world.state.copy(), self.l1.genesis_ref)
        self.l1.anchor(builder.blocks[0])
        newcomers = [keccak256(b"rollbook.bench.owner" + bytes([n])) for n in range(blocks)]
        keys = {p.owner: p.owner_key for p in self.people}
        keys |= {private_key_address(k): k for k in newcomers}
        self.l1.add_owners(keys)
        refused = Withdraw(0, 1, 0)  # the insurance fund's: no trader may force it
        self.now = self.l1.tip.timestamp
        for n in range(blocks):
            self.l1.deposit(private_key_address(newcomers[n]), 1_000 * (n + 1))
            self.l1.deposit(self.people[n % len(self.people)].owner, 10 * (n + 1))
            self.l1.force(self.people[0].owner, encode_standalone(refused, world.separator))
            self.mine()
        for l1_block in self.l1.blocks:
            builder.observe(l1_block)
        for l1_block in self.l1.blocks[-blocks:]:
            builder.open_block(l1_block.timestamp)
            builder.seal([], [])
        # The blocks as L1 holds them: one batch in the inbox, and the chain derived.
        batch = batch_of(builder.blocks[1:], builder.blocks[0], self.cfg, {})
        self.l1.post_batch(encode_batch(batch, world.separator).data)
        self.mine()
        derived = derive(self.cfg, self.genesis_state, self.l1.genesis_ref, self.l1.blocks)
        assert [b.hash for b in derived.blocks] == [b.hash for b in builder.blocks]
        self.chain: list[L2Block] = derived.blocks
        self.hashes: list[bytes] = []

    def submit(self, send: Callable[[], bytes]) -> None:
        self.l1.queued.append(lambda: self._record(send()))

    def _record(self, tx_hash: bytes) -> bytes:
        self.hashes.append(tx_hash)
        return tx_hash

    def mine(self) -> None:
        self.now = self.l1.tip.timestamp + L1_BLOCK
        self.l1.mine(self.now)


def one_step_gas(setup: Setup) -> dict[str, int]:
    """The executor's gas for every step it covers, maximum per type: the steps of the
    chain's blocks and of every STF vector's tx in a block of its own (a vector's L1 tx
    is loaded by an executor of its own, whose input queue holds it)."""
    executor = setup.l1.system.executor
    traces = trace_output(
        setup.genesis_state, setup.chain, 0, len(setup.chain) - 1, setup.cfg.domain_separator
    ).blocks
    runs = [(executor, trace) for trace in traces]
    # Each vector once, in a block of its own on an executor of its own, whose input
    # queue holds its L1 tx (if any) and whose inbox holds its batch (record 0).
    names = sorted(scenarios())
    l1_block, executors = scenario_executors(setup, names)
    runs += [(executors[n], scenario_trace(n, l1_block)[0]) for n in names]
    out: dict[str, int] = {}
    for ex, trace in runs:
        inputs = trace.inputs.hash()
        for offset, step in enumerate(trace.steps):
            call = ex.functions.execute(
                step.pre.checkpoint, offset, inputs, witness_at(trace, offset)
            )
            try:
                got = bytes(call.call())
            except Exception as exc:  # web3 or eth-tester raise their own revert types
                if "not executable yet" in str(exc):
                    continue  # a family still to come (listed in the output)
                raise
            assert got == step.post.checkpoint, f"{step.name} diverges"
            gas = int(call.estimate_gas()) - 21_000
            out[step.name] = max(out.get(step.name, 0), gas)
        end = len(trace.steps)
        call = ex.functions.execute(
            trace.steps[-1].post.checkpoint, end, inputs, witness_at(trace, end)
        )
        out["no-op"] = max(out.get("no-op", 0), int(call.estimate_gas()) - 21_000)
    return out


def scenario_executors(setup: Setup, names: list[str]) -> tuple[int, dict[str, Any]]:
    """For each vector (by name), an executor (with the system's families and batch
    decoder) whose input queue holds its L1 tx, pushed in one L1 block, and whose inbox
    holds its block's batch; returns that block's number and the executors."""
    l1 = setup.l1
    client, key = l1.client, l1.roles.deployer
    system = l1.system
    me = client.address_of(key)
    queues = [client.next_address(key, i) for i in range(len(names))]
    for _ in names:
        l1.queued.append(lambda: client.deploy("InputQueue", key))
    setup.mine()
    l1_block = l1.tip.number + 1
    traces = {name: scenario_trace(name, l1_block)[0] for name in names}
    for name, address in zip(names, queues, strict=True):
        queue = client.contract("InputQueue", address)
        l1.queued.append(lambda q=queue: client.call_tx(key, q, "bind", me, me))
        item = traces[name].steps[1].item
        if item[:1] == b"\x01":  # an L1 tx: the queue's first entry
            l1.queued.append(lambda q=queue, i=item: client.call_tx(key, q, "push", keccak256(i)))
    setup.mine()
    assert l1.tip.number == l1_block
    inboxes = []
    for name, queue in zip(names, queues, strict=True):  # no depth, no drift bound
        source = traces[name].source
        assert source is not None
        data = source.head + b"".join(frame(i) for i in source.items)
        inbox = client.contract("BatchInbox", client.next_address(key))
        inboxes.append(inbox.address)
        l1.queued.append(
            lambda q=queue: client.deploy("BatchInbox", key, me, q, 901, 0, 1 << 62, 600)
        )
        l1.queued.append(lambda b=inbox, d=data: client.call_tx(key, b, "post", d))
        setup.mine()
    families = [client.read(system.executor, "families", i) for i in range(FAMILY_SLOTS)]
    version = client.read(system.executor, "version")
    decoder = client.read(system.executor, "decoder")
    executors = []
    for queue, inbox in zip(queues, inboxes, strict=True):  # each is most of a block's gas
        executors.append(client.next_address(key))
        l1.queued.append(
            lambda q=queue, b=inbox: client.deploy(
                "StepExecutor", key, version, families, q, b, decoder
            )
        )
        setup.mine()
    return l1_block, {
        name: client.contract("StepExecutor", address)
        for name, address in zip(names, executors, strict=True)
    }


def full_game(blocks: int, arity: int) -> dict[str, Any]:
    """A lie at a step of the last block, disputed and played out."""
    setup = Setup(blocks, arity)
    l1, mode = setup.l1, Mode.OPTIMISTIC
    setup.mine()
    chain = setup.chain
    genesis = Genesis(setup.genesis_state, setup.cfg, l1.genesis_ref, {})
    honest = trace_output(setup.genesis_state, chain, 0, blocks, setup.cfg.domain_separator)
    lie_from = (blocks - 1) * SPAN + len(honest.blocks[-1].steps) // 2
    lie = LyingTrace(honest, lie_from, mode)
    defender = Disputer(
        l1.system,
        l1.roles.proposer,
        genesis,
        lambda: chain,
        submit=setup.submit,
        lies={lie.root(): lambda h: LyingTrace(h, lie_from, mode)},
    )
    key = bytes(range(1, 33))
    client, faucet = l1.client, l1.roles.deployer
    l1.queued.append(lambda: client.transfer_eth(faucet, client.address_of(key), 10**19))
    challenger = Disputer(l1.system, key, genesis, lambda: chain, submit=setup.submit)
    l1.propose(lie.root(), blocks, chain[blocks].header.l1_origin)
    setup.mine()
    setup.hashes.clear()
    for _ in range(200):
        challenger.check_outputs()
        challenger.act()
        defender.act()
        setup.mine()
        if challenger.outcomes():
            break
    assert challenger.outcomes() == {0: CHALLENGER}, "the honest challenger must win"
    assert client.read(l1.system.oracle, "count") == 0
    gas = [int(client.receipt(h)["gasUsed"]) for h in setup.hashes]
    kinds = [m.kind for m in challenger.moves + defender.moves]
    assert challenger.moves[-1].kind == "prove"  # the game's last tx
    return {
        "blocks": blocks,
        "positions": f"2^{(blocks * SPAN).bit_length() - 1}",
        "arity": arity,
        "rounds": kinds.count("post"),
        "moves": len(gas),
        "total_gas": sum(gas),
        "max_move_gas": max(gas),
        "prove_step": next(m.detail for m in challenger.moves if m.kind == "prove"),
        "prove_gas": gas[-1],
    }


def run(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="rollbook bench dispute")
    parser.add_argument("--blocks", type=int, nargs="*", default=[1, 2, 4, 8])
    parser.add_argument("--arity", type=int, nargs="*", default=[2, 4])
    args = parser.parse_args(argv)
    steps = one_step_gas(Setup(3, 2))
    covered = {name for name in steps}
    every = {name for _, names in FAMILIES for name in names}
    games = [full_game(n, k) for k in args.arity for n in args.blocks]
    worst = max(steps, key=lambda name: steps[name])
    at_2_20 = [g for g in games if g["blocks"] == 1]
    return {
        "headline": {
            "name": "most expensive one-step proof (gas, over every step type)",
            "value": steps[worst],
            "unit": "gas",
            "goal": f"<= {GOAL_GAS:,}",
        },
        "worst_step": worst,
        "one_step_gas": dict(sorted(steps.items(), key=lambda kv: -kv[1])),
        "not_covered_yet": sorted(every - covered),
        "families_deployed": sorted(FAMILY_CONTRACTS.values()),
        "games": games,
        "rounds_at_2^20": {str(g["arity"]): g["rounds"] for g in at_2_20},
        "rounds_goal": f"<= {GOAL_ROUNDS} at 2^20 steps",
        "fork": FORK,
    }
