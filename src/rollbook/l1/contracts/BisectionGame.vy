# pragma version 0.4.3
# pragma evm-version prague
"""
@title BisectionGame
@notice The bisection rules of `bisection.vy` over a bare trace: games open on any
        range with any agreed and disputed checkpoints, and the last step is decided
        by an `executor` that maps a checkpoint to the next. It is how the rules are
        tested against the pure model (`rollbook.chain.dispute`, tests/l1/
        test_bisection_game.py); the rollup's game is `DisputeGame.vy`.
"""

import bisection

initializes: bisection

exports: (
    bisection.arity,
    bisection.clock,
    bisection.bond,
    bisection.games,
    bisection.pending,
    bisection.count,
)

interface Stepper:
    def execute(pre: bytes32, witness: Bytes[MAX_WITNESS]) -> bytes32: view

MAX_WITNESS: constant(uint256) = 16384

executor: public(address)


@deploy
def __init__(executor: address, arity: uint256, clock: uint256, bond: uint256):
    bisection.__init__(arity, clock, bond)
    self.executor = executor


@external
@payable
def open(lo: uint256, hi: uint256, agreed: bytes32, disputed: bytes32, defender: address) -> uint256:
    return bisection.open(lo, hi, agreed, disputed, defender)


@view
@external
def midpoints(lo: uint256, hi: uint256) -> DynArray[uint256, bisection.MAX_ARITY]:
    return bisection.midpoints(lo, hi)


@view
@external
def remaining(game: uint256, side: uint8) -> int256:
    return bisection.remaining(bisection.games[game], side)


@external
@payable
def post(game: uint256, checkpoints: DynArray[bytes32, bisection.MAX_ARITY]):
    bisection.post(game, checkpoints)


@external
def choose(game: uint256, index: uint256):
    bisection.choose(game, index)


@external
def prove(game: uint256, witness: Bytes[MAX_WITNESS]) -> uint8:
    """Anyone settles the last step: the executor computes the post-checkpoint from
    the agreed one; the defender wins iff it claimed exactly that."""
    g: bisection.Game = bisection.ready(game)
    post: bytes32 = staticcall Stepper(self.executor).execute(g.agreed, witness)
    winner: uint8 = bisection.CHALLENGER
    if post == g.disputed:
        winner = bisection.DEFENDER
    bisection.resolve(game, winner)
    return winner


@external
def time_out(game: uint256) -> uint8:
    """End a game whose side to move has run out of clock; the other side wins."""
    winner: uint8 = bisection.timed_out_winner(game)
    bisection.resolve(game, winner)
    return winner
