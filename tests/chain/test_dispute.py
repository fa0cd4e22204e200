"""The dispute game's rules (the model the Vyper game will be tested against): an honest
side always wins, within the round bound, whatever the other side plays; clocks."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.chain.dispute import (
    Game,
    GameError,
    Side,
    honest_choice,
    honest_post,
    midpoints,
    rounds,
)
from rollbook.crypto.keccak import keccak256


def trace(length: int, salt: bytes = b"") -> list[bytes]:
    return [keccak256(salt + i.to_bytes(4, "big")) for i in range(length + 1)]


def executor(honest: list[bytes]):  # type: ignore[no-untyped-def]
    """The on-chain step in the model: from an honest checkpoint to the next one."""
    index = {c: i for i, c in enumerate(honest)}

    def step(pre: bytes) -> bytes:
        assert pre in index, "a step is only ever run from a checkpoint both accepted"
        return honest[index[pre] + 1]

    return step


def play(game: Game, defender, challenger, step) -> tuple[Side, int]:  # type: ignore[no-untyped-def]
    now = 0
    rounds_played = 0
    while not game.single_step:
        now += 1
        game.post(defender(game), now)
        now += 1
        game.choose(challenger(game), now)
        rounds_played += 1
    return game.prove(step(game.agreed)), rounds_played


@settings(max_examples=200, deadline=None)
@given(
    length=st.integers(1, 5000),
    arity=st.sampled_from([2, 3, 4, 8]),
    data=st.data(),
)
def test_an_honest_challenger_beats_any_lying_defender(length: int, arity: int, data) -> None:  # type: ignore[no-untyped-def]
    honest = trace(length)
    lie_from = data.draw(st.integers(1, length))
    seed = data.draw(st.integers(0, 2**32))
    rng = random.Random(seed)
    lie = honest[:lie_from] + trace(length, b"lie")[lie_from:]

    # the liar sometimes posts inconsistent garbage instead of its own trace
    def liar(game: Game) -> list[bytes]:
        posted = honest_post(game, lie)
        return [keccak256(rng.randbytes(8)) if rng.random() < 0.2 else c for c in posted]

    game = Game(0, length, honest[0], lie[length], arity=arity)
    winner, played = play(game, liar, lambda g: honest_choice(g, honest), executor(honest))
    assert winner is Side.CHALLENGER
    assert played <= rounds(length, arity)


@settings(max_examples=200, deadline=None)
@given(length=st.integers(1, 5000), arity=st.sampled_from([2, 4]), seed=st.integers(0, 2**32))
def test_an_honest_defender_beats_any_challenger(length: int, arity: int, seed: int) -> None:
    honest = trace(length)
    rng = random.Random(seed)
    game = Game(0, length, honest[0], honest[length], arity=arity)

    def random_choice(g: Game) -> int:
        return rng.randrange(len(g.pending) + 1)

    winner, played = play(game, lambda g: honest_post(g, honest), random_choice, executor(honest))
    assert winner is Side.DEFENDER
    assert played <= rounds(length, arity)


def test_round_bound_meets_the_goal() -> None:
    """docs/design/fraud-proofs.md section 5: 2^20 steps of one block plus 32 blocks."""
    assert rounds(2**20, 2) + rounds(32, 2) == 25
    assert rounds(2**20, 4) + rounds(32, 4) == 13
    assert midpoints(0, 16, 4) == [4, 8, 12] and midpoints(0, 2, 4) == [1]
    assert midpoints(5, 6, 2) == []


def test_clocks_charge_the_mover_and_a_silent_side_loses() -> None:
    honest = trace(8)
    game = Game(0, 8, honest[0], honest[8], clock=100, started=1_000)
    game.post(honest_post(game, honest), now=1_030)  # defender spent 30
    assert game.remaining(Side.DEFENDER, 1_030) == 70
    assert game.remaining(Side.CHALLENGER, 1_090) == 40  # its turn since 1030
    assert game.timed_out(1_130) is None
    assert game.timed_out(1_131) is Side.CHALLENGER
    with pytest.raises(GameError, match="run out"):
        game.choose(0, now=1_131)
    assert game.time_out(1_131) is Side.DEFENDER
    with pytest.raises(GameError, match="over"):
        game.prove(honest[1])


def test_moves_out_of_turn_or_shape_are_refused() -> None:
    honest = trace(8)
    game = Game(0, 8, honest[0], honest[8])
    with pytest.raises(GameError, match="defender has not posted"):
        game.choose(0, now=1)
    with pytest.raises(GameError, match="post 1 checkpoints"):
        game.post([honest[2], honest[4]], now=1)
    game.post(honest_post(game, honest), now=2)
    with pytest.raises(GameError, match="challenger's move"):
        game.post(honest_post(game, honest), now=3)
    with pytest.raises(GameError, match=r"sub-range in 0\.\.1"):
        game.choose(2, now=3)
    with pytest.raises(GameError, match="bisect to one step first"):
        game.prove(honest[1])
