"""The dispute game on the real contracts (DisputeGame, StepExecutor, OutputOracle):
a lying proposer loses its root and every root after it; an honest proposer facing a
lying challenger keeps its root, which then finalises; the executor decides the last
step from the Python trace's witness."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boa
import pytest

from rollbook.chain.blocks import L2Block, output_root, output_version
from rollbook.chain.derive import build_batched_block
from rollbook.chain.l1 import L1Ref
from rollbook.chain.trace import SPAN, LyingTrace, OutputTrace, trace_output
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.stf import BlockTx
from rollbook.exchange.txs import Deposit, Origin
from rollbook.l1.compile import compiled, source_path
from rollbook.l1.onestep import witness_tail
from tests.chain.helpers import Rollup
from tests.l1.conftest import deploy_executor, load, queue_for

BOND = 10**17
CLOCK = 1_000
WINDOW = 5_000
DEFENDER, CHALLENGER = 1, 2
NOT_STANDING = "DisputeGame: not a standing defender of this root"


@pytest.fixture(autouse=True)
def own_env() -> Iterator[None]:
    with boa.swap_env(boa.Env()):
        yield


@dataclass
class Chain:
    rollup: Rollup
    blocks: list[L2Block]  # blocks[0] is genesis

    def output(self, number: int) -> bytes:
        h = self.blocks[number].header
        return output_root(self.rollup.cfg.mode, h.state_root, h.withdrawals_root, h.hash())

    def trace(self, first: int, last: int) -> OutputTrace:
        """The trace of the output of block ``last`` against that of ``first``."""
        r = self.rollup
        return trace_output(r.genesis, self.blocks, first, last, r.world.separator, r.cfg.mode)


@pytest.fixture(scope="module")
def chain() -> Chain:
    """Five blocks of deposits: new owners, known ones, one refused (a wrong id)."""
    rollup = Rollup(seed=7, traders=2)
    state = rollup.genesis.copy()
    blocks = [rollup.seq.blocks[0]]
    next_id = state.globals().next_deposit_id
    owners = [p.owner for p in rollup.people] + [bytes([9]) * 20, bytes([8]) * 20]
    for n in range(1, 6):
        txs = [
            BlockTx(Deposit(next_id, owners[n % len(owners)], 1_000 * n), Origin.L1),
            BlockTx(Deposit(next_id + 7, owners[0], 5), Origin.L1),  # refused: wrong id
            BlockTx(Deposit(next_id + 1, owners[(n + 1) % len(owners)], 10 * n), Origin.L1),
        ]
        next_id += 2
        parent = blocks[-1].header
        genesis = rollup.l1.genesis_ref
        origin = L1Ref(genesis.number + n, bytes([n]) * 32, genesis.timestamp + 12 * n)
        blocks.append(
            build_batched_block(
                state, parent, origin, parent.timestamp + 2, txs, [], rollup.cfg, record=n - 1
            )
        )
    return Chain(rollup, blocks)


def deploy(chain: Chain, proposer: str) -> tuple[Any, Any]:
    version = output_version(chain.rollup.cfg.mode)
    queue = queue_for(chain.trace(0, len(chain.blocks) - 1).blocks)
    executor = deploy_executor(version, chain.rollup.world.separator, queue, chain.blocks[1:])
    game = load("DisputeGame", executor.address, version, 2, CLOCK, BOND)
    oracle = load("OutputOracle", proposer, 0, WINDOW, game.address)
    game.bind(oracle.address, chain.output(0))
    return game, oracle


def play(
    game: Any,
    gid: int,
    defender: str,
    challenger: str,
    defended: Any,
    honest: OutputTrace,
    lying_challenger: random.Random | None = None,
) -> int:
    """Play a game to its end: the defender posts ``defended``'s checkpoints; the
    challenger disputes the first that differs from ``honest`` (or picks at random);
    the honest trace's witness settles the last step."""
    first = True
    end = game.disputes(gid).blocks * SPAN  # the disputed root's position
    while True:
        g = game.games(gid)
        if g.hi - g.lo == 1:
            break
        if g.to_move == DEFENDER:
            points = game.midpoints(g.lo, g.hi)
            with boa.env.prank(defender):
                game.post(
                    gid,
                    [defended[p] for p in points],
                    [defended.header_at(p) for p in points],
                    defended.header_at(end) if first else b"",
                    value=BOND if first else 0,
                )
            first = False
            continue
        bounds = [g.lo, *game.midpoints(g.lo, g.hi), g.hi]
        if lying_challenger is not None:
            index = lying_challenger.randrange(len(bounds) - 1)
        else:
            index = next(
                i for i, end in enumerate(bounds[1:]) if game.pending(gid, end) != honest[end]
            )
        with boa.env.prank(challenger):
            game.choose(gid, index)
    g = game.games(gid)
    at = honest.block_at(g.lo)
    witness = b"" if at is None else witness_tail(*at)
    return game.prove(gid, witness)


def players() -> tuple[str, str]:
    proposer, challenger = boa.env.generate_address(), boa.env.generate_address()
    for who in (proposer, challenger):
        boa.env.set_balance(who, 10 * BOND)
    return proposer, challenger


@pytest.mark.parametrize("lie_at", ["root", "block", "step"])
def test_a_lying_proposer_loses_its_root_and_those_after(chain: Chain, lie_at: str) -> None:
    proposer, challenger = players()
    game, oracle = deploy(chain, proposer)
    honest = chain.trace(2, 5)
    lie_from = {
        "root": len(honest.blocks) * SPAN,  # only the claimed root is wrong
        "block": 2 * SPAN,  # the output of the second disputed block
        "step": SPAN + 3,  # a step inside the second disputed block
    }[lie_at]
    lying = LyingTrace(honest, lie_from, chain.rollup.cfg.mode)
    with boa.env.prank(proposer):
        oracle.propose(chain.output(2), 2, 0)
        oracle.propose(lying[lying.length], 5, 0)
        oracle.propose(keccak256(b"built on the lie"), 6, 0)
    with boa.env.prank(challenger):
        gid = game.open(1, proposer, value=BOND)
    before = boa.env.get_balance(challenger)
    assert play(game, gid, proposer, challenger, lying, honest) == CHALLENGER
    assert oracle.count() == 1  # the lie and the root built on it are gone
    assert boa.env.get_balance(challenger) == before + 2 * BOND - BOND // 10
    boa.env.time_travel(seconds=WINDOW + 1)
    assert oracle.is_final(0)


def test_an_honest_root_survives_a_lying_challenger_and_finalises(chain: Chain) -> None:
    proposer, challenger = players()
    game, oracle = deploy(chain, proposer)
    honest = chain.trace(0, 4)
    with boa.env.prank(proposer):
        oracle.propose(chain.output(4), 4, 0)
    boa.env.time_travel(seconds=WINDOW - 10)
    with boa.env.prank(challenger):
        gid = game.open(0, proposer, value=BOND)  # a late challenge
    boa.env.time_travel(seconds=20)
    assert not oracle.is_final(0)  # held while the game is open
    rng = random.Random(3)
    assert play(game, gid, proposer, challenger, honest, honest, lying_challenger=rng) == DEFENDER
    assert oracle.count() == 1 and oracle.is_final(0)
    assert oracle.final_root(0) == chain.output(4)


def test_a_silent_proposer_loses_on_time(chain: Chain) -> None:
    proposer, challenger = players()
    game, oracle = deploy(chain, proposer)
    with boa.env.prank(proposer):
        oracle.propose(chain.output(3), 3, 0)
    with boa.env.prank(challenger):
        gid = game.open(0, proposer, value=BOND)
    boa.env.time_travel(seconds=CLOCK + 1)
    assert game.time_out(gid) == CHALLENGER
    assert oracle.count() == 0


def test_a_defender_must_open_block_boundaries(chain: Chain) -> None:
    proposer, challenger = players()
    game, oracle = deploy(chain, proposer)
    honest = chain.trace(0, 4)
    with boa.env.prank(proposer):
        oracle.propose(chain.output(4), 4, 0)
    with boa.env.prank(challenger):
        gid = game.open(0, proposer, value=BOND)
    g = game.games(gid)
    points = game.midpoints(g.lo, g.hi)
    with (
        boa.env.prank(proposer),
        boa.reverts("DisputeGame: a block's output root needs its header"),
    ):
        game.post(
            gid,
            [honest[p] for p in points],
            [b""] * len(points),
            honest.header_at(g.hi),
            value=BOND,
        )
    with (
        boa.env.prank(proposer),
        boa.reverts("DisputeGame: a block's output root needs its header"),
    ):
        game.post(
            gid, [honest[p] for p in points], [honest.header_at(p) for p in points], b"", value=BOND
        )


def test_the_game_calls_the_executor_by_its_abi() -> None:
    """The selector the game calls is the executor's ``execute`` in its compiled ABI."""
    abi = compiled("StepExecutor").abi
    execute = next(f for f in abi if f.get("name") == "execute")
    signature = "execute(" + ",".join(_abi_type(i) for i in execute["inputs"]) + ")"
    selector = keccak256(signature.encode())[:4].hex()
    source = source_path("DisputeGame").read_text()
    assert f"EXECUTE: constant(bytes4) = 0x{selector}" in source


def _abi_type(item: dict[str, Any]) -> str:
    kind: str = item["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + kind[5:]
    return kind


def test_a_backer_keeps_an_honest_root_its_silent_proposer_loses(chain: Chain) -> None:
    """Anyone may defend: a watcher backs an honest root; the lying challenger beats
    the silent proposer on time, but the root stands until it beats the watcher too,
    which it cannot. The root finalises and the backer takes its bond back."""
    proposer, challenger = players()
    watcher = boa.env.generate_address()
    boa.env.set_balance(watcher, 10 * BOND)
    game, oracle = deploy(chain, proposer)
    honest = chain.trace(0, 4)
    with boa.env.prank(proposer):
        oracle.propose(chain.output(4), 4, 0)
    with boa.env.prank(challenger):
        first = game.open(0, proposer, value=BOND)
    with boa.env.prank(watcher):
        game.back(0, value=BOND)
    boa.env.time_travel(seconds=CLOCK + 1)
    assert game.time_out(first) == CHALLENGER
    assert oracle.count() == 1  # the watcher still stands for it
    with (
        boa.env.prank(challenger),
        boa.reverts("DisputeGame: not a standing defender of this root"),
    ):
        game.open(0, proposer, value=BOND)  # a beaten proposer is not played again
    with boa.env.prank(challenger):
        second = game.open(0, watcher, value=BOND)
    rng = random.Random(5)
    assert play(game, second, watcher, challenger, honest, honest, lying_challenger=rng) == DEFENDER
    boa.env.time_travel(seconds=WINDOW)
    assert oracle.is_final(0) and oracle.final_root(0) == chain.output(4)
    before = boa.env.get_balance(watcher)
    output = oracle.outputs(0)
    with boa.env.prank(watcher):
        game.refund(0, output.root, output.proposed_at)
    assert boa.env.get_balance(watcher) == before + BOND
    with boa.env.prank(watcher), boa.reverts("DisputeGame: no standing backing to refund"):
        game.refund(0, output.root, output.proposed_at)


def test_a_lie_falls_once_every_backer_is_beaten(chain: Chain) -> None:
    """A liar's accomplice backs the lie: the challenger must beat both; each beaten
    backer's bond is the challenger's; the root goes with the last one."""
    proposer, challenger = players()
    accomplice = boa.env.generate_address()
    boa.env.set_balance(accomplice, 10 * BOND)
    game, oracle = deploy(chain, proposer)
    honest = chain.trace(0, 3)
    lying = LyingTrace(honest, SPAN + 2, chain.rollup.cfg.mode)
    with boa.env.prank(proposer):
        oracle.propose(lying[lying.length], 3, 0)
    with boa.env.prank(accomplice):
        game.back(0, value=BOND)
    assert game.backer_count(oracle_key := _key(oracle, 0)) == 1 and game.standing(oracle_key) == 1
    with boa.env.prank(challenger):
        against_proposer = game.open(0, proposer, value=BOND)
        against_backer = game.open(0, accomplice, value=BOND)
    assert play(game, against_proposer, proposer, challenger, lying, honest) == CHALLENGER
    assert oracle.count() == 1  # the accomplice still stands
    before = boa.env.get_balance(challenger)
    assert play(game, against_backer, accomplice, challenger, lying, honest) == CHALLENGER
    assert oracle.count() == 0
    # both game bonds less the burn, and the backer's bond
    assert boa.env.get_balance(challenger) == before + 2 * BOND - BOND // 10 + BOND
    with boa.env.prank(accomplice), boa.reverts("DisputeGame: no standing backing to refund"):
        game.refund(0, lying[lying.length], 0)


def test_backing_has_rules(chain: Chain) -> None:
    proposer, challenger = players()
    game, oracle = deploy(chain, proposer)
    with boa.env.prank(proposer):
        oracle.propose(chain.output(2), 2, 0)
    with boa.env.prank(proposer), boa.reverts("DisputeGame: the proposer defends already"):
        game.back(0, value=BOND)
    with boa.env.prank(challenger), boa.reverts("DisputeGame: a backer's bond is the game's bond"):
        game.back(0, value=BOND - 1)
    with (
        boa.env.prank(challenger),
        boa.reverts("DisputeGame: not a standing defender of this root"),
    ):
        game.open(0, boa.env.generate_address(), value=BOND)
    with boa.env.prank(challenger):
        game.back(0, value=BOND)
    with (
        boa.env.prank(challenger),
        boa.reverts("DisputeGame: this root is backed by the sender"),
    ):
        game.back(0, value=BOND)
    output = oracle.outputs(0)
    with boa.env.prank(challenger), boa.reverts("DisputeGame: the root is not final yet"):
        game.refund(0, output.root, output.proposed_at)
    boa.env.time_travel(seconds=WINDOW // 2)
    late = boa.env.generate_address()
    boa.env.set_balance(late, BOND)
    with (
        boa.env.prank(late),
        boa.reverts("DisputeGame: backing the root has closed (half its window)"),
    ):
        game.back(0, value=BOND)


def test_a_last_moment_backer_can_still_be_played_and_cannot_run(chain: Chain) -> None:
    """Backing closes at half the window, so a challenger has the other half to play
    a backer that came at the last moment; and a backer cannot take its bond back
    while a game against it is open, even once another game removed the root."""
    proposer, challenger = players()
    accomplice = boa.env.generate_address()
    boa.env.set_balance(accomplice, 10 * BOND)
    game, oracle = deploy(chain, proposer)
    honest = chain.trace(0, 3)
    lying = LyingTrace(honest, SPAN + 2, chain.rollup.cfg.mode)
    with boa.env.prank(proposer):
        oracle.propose(lying[lying.length], 3, 0)
    with boa.env.prank(challenger):
        against_proposer = game.open(0, proposer, value=BOND)
    assert play(game, against_proposer, proposer, challenger, lying, honest) == CHALLENGER
    assert oracle.count() == 0  # no backer: the lie is gone at once
    boa.env.time_travel(seconds=12)  # (the same root again is another proposal)
    with boa.env.prank(proposer):
        oracle.propose(lying[lying.length], 3, 0)
    boa.env.time_travel(seconds=WINDOW // 2 - 5)
    with boa.env.prank(accomplice):
        game.back(0, value=BOND)  # at the last moment
    with boa.env.prank(challenger):
        again = game.open(0, proposer, value=BOND)
    assert play(game, again, proposer, challenger, lying, honest) == CHALLENGER
    assert oracle.count() == 1 and not oracle.is_final(0)
    with boa.env.prank(challenger):
        against_backer = game.open(0, accomplice, value=BOND)  # half a window is left
    output = oracle.outputs(0)
    with boa.env.prank(accomplice), boa.reverts("DisputeGame: a game against the backer is open"):
        game.refund(0, output.root, output.proposed_at)
    assert play(game, against_backer, accomplice, challenger, lying, honest) == CHALLENGER
    assert oracle.count() == 0


def _key(oracle: Any, index: int) -> bytes:
    output = oracle.outputs(index)
    return keccak256(
        index.to_bytes(32, "big") + output.root + output.proposed_at.to_bytes(32, "big")
    )
