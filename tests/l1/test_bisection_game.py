"""The Vyper bisection game moves in lockstep with the pure model (rollbook.chain.dispute):
same ranges, same turns, same winner; honest sides win; clocks and bonds."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollbook.chain.dispute import Game, Side, honest_choice, honest_post, midpoints
from rollbook.crypto.keccak import keccak256
from tests.l1.conftest import load

BOND = 10**17
CLOCK = 1_000
STEPPER = Path(__file__).resolve().parent / "contracts" / "TraceStepper.vy"


@pytest.fixture(autouse=True)
def own_env() -> Iterator[None]:
    """A fresh EVM of its own: titanoboa keeps storage traces per address across
    anchors, and a later test's contract at a reused address would be described with
    this game's storage layout when it reverts."""
    with boa.swap_env(boa.Env()):
        yield


def trace(length: int, salt: bytes = b"") -> list[bytes]:
    return [keccak256(salt + i.to_bytes(4, "big")) for i in range(length + 1)]


def deploy(arity: int, honest: list[bytes]) -> Any:
    """The game with a test executor that knows the honest trace's steps."""
    stepper = boa.load(str(STEPPER))
    for pre, post in itertools.pairwise(honest):
        stepper.set_next(pre, post)
    return load("BisectionGame", stepper.address, arity, CLOCK, BOND)


def same(model: Game, game: Any, gid: int) -> None:
    g = game.games(gid)
    assert (g.lo, g.hi, g.agreed, g.disputed) == (model.lo, model.hi, model.agreed, model.disputed)
    assert g.to_move == int(model.to_move) + 1


@settings(max_examples=25, deadline=None)
@given(length=st.integers(1, 300), arity=st.sampled_from([2, 3, 4]), data=st.data())
def test_the_contract_plays_exactly_the_model(length: int, arity: int, data) -> None:  # type: ignore[no-untyped-def]
    with boa.env.anchor():
        honest = trace(length)
        liar_defends = data.draw(st.booleans())
        lie_from = data.draw(st.integers(1, length))
        rng = random.Random(data.draw(st.integers(0, 2**32)))
        lie = honest[:lie_from] + trace(length, b"lie")[lie_from:]
        defender_trace = lie if liar_defends else honest
        game = deploy(arity, honest)
        defender, challenger = boa.env.generate_address(), boa.env.generate_address()
        for who in (defender, challenger):
            boa.env.set_balance(who, 10 * BOND)
        with boa.env.prank(challenger):
            gid = game.open(0, length, honest[0], defender_trace[length], defender, value=BOND)
        model = Game(0, length, honest[0], defender_trace[length], arity=arity, clock=CLOCK)
        same(model, game, gid)
        first = True
        while not model.single_step:
            assert game.midpoints(model.lo, model.hi) == midpoints(model.lo, model.hi, arity)
            posted = honest_post(model, defender_trace)
            with boa.env.prank(defender):
                game.post(gid, posted, value=BOND if first else 0)
            first = False
            model.post(posted, model.last_move)
            if liar_defends:
                index = honest_choice(model, honest)
            else:  # a lying challenger picks anything
                index = rng.randrange(len(model.pending) + 1)
            with boa.env.prank(challenger):
                game.choose(gid, index)
            model.choose(index, model.last_move)
            same(model, game, gid)
        post = honest[honest.index(model.agreed) + 1]  # what the step computes
        expected = model.prove(post)
        before = {who: boa.env.get_balance(who) for who in (defender, challenger)}
        assert game.prove(gid, b"") == int(expected) + 1
        winner = defender if expected is Side.DEFENDER else challenger
        assert expected is (Side.CHALLENGER if liar_defends else Side.DEFENDER)
        stake = 2 * BOND if length > 1 else BOND
        burn = BOND // 10 if length > 1 else 0
        assert boa.env.get_balance(winner) == before[winner] + stake - burn


def test_a_silent_defender_loses_on_time_and_the_challenger_takes_its_bond_back() -> None:
    honest = trace(8)
    game = deploy(2, honest)
    defender, challenger = boa.env.generate_address(), boa.env.generate_address()
    boa.env.set_balance(challenger, BOND)
    boa.env.set_balance(defender, BOND)
    with boa.env.prank(challenger):
        gid = game.open(0, 8, honest[0], honest[8], defender, value=BOND)
    with boa.reverts("bisection: no clock has run out"):
        game.time_out(gid)
    boa.env.time_travel(seconds=CLOCK + 1)
    with boa.env.prank(defender), boa.reverts("bisection: the mover's clock has run out"):
        game.post(gid, [honest[4]], value=BOND)
    assert game.time_out(gid) == 2
    assert boa.env.get_balance(challenger) == BOND
    with boa.reverts("bisection: the game is over"):
        game.time_out(gid)


def test_moves_out_of_turn_and_bad_shapes_revert() -> None:
    honest = trace(8)
    game = deploy(2, honest)
    defender, challenger = boa.env.generate_address(), boa.env.generate_address()
    for who in (defender, challenger):
        boa.env.set_balance(who, 10 * BOND)
    with boa.env.prank(challenger), boa.reverts("bisection: the challenger's bond is wrong"):
        game.open(0, 8, honest[0], honest[8], defender, value=BOND - 1)
    with boa.env.prank(challenger):
        gid = game.open(0, 8, honest[0], honest[8], defender, value=BOND)
        with boa.reverts("bisection: the defender has not posted this round"):
            game.choose(gid, 0)
        with boa.reverts("bisection: only the defender posts"):
            game.post(gid, [honest[4]])
    with boa.env.prank(defender):
        with boa.reverts("bisection: one checkpoint per midpoint"):
            game.post(gid, [honest[2], honest[4]], value=BOND)
        with boa.reverts("bisection: the defender's bond is wrong"):
            game.post(gid, [honest[4]])
        game.post(gid, [honest[4]], value=BOND)
        with boa.reverts("bisection: not this side's move"):
            game.post(gid, [honest[4]])
    with boa.env.prank(challenger):
        with boa.reverts("bisection: no such sub-range"):
            game.choose(gid, 2)
    with boa.reverts("bisection: bisect to one step first"):
        game.prove(gid, b"")


@pytest.mark.parametrize("arity", [2, 4, 16])
def test_midpoints_match_the_model(arity: int) -> None:
    honest = trace(2)
    game = deploy(arity, honest)
    for lo, hi in [(0, 1), (0, 2), (0, 3), (5, 21), (0, 2**20), (7, 7 + 2**20 + 3)]:
        assert game.midpoints(lo, hi) == midpoints(lo, hi, arity)
