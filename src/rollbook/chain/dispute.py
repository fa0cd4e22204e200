"""The dispute game's rules, as a pure model (docs/design/fraud-proofs.md sections 3–5).

This is the reference the Vyper game (#7) is tested against, as `tests/l1` tests the
other contracts against their Python models. It knows nothing about what a
checkpoint commits to: a phase bisects a range of positions ``[lo, hi]`` of some
trace (L2 blocks in phase 1, steps of one block in phase 2) on which the two sides
agree at ``lo`` and disagree at ``hi``.

A round: the defender posts its checkpoints at the ``k − 1`` fixed midpoints of the
range (:func:`midpoints`: evenly spaced, not chosen by the mover); the challenger
names the first sub-range whose end it disputes (it agrees with the sub-range's
start: the range's ``lo`` or a midpoint it did not dispute). The game narrows to
that sub-range. When ``hi − lo == 1`` one step remains; the executor decides it.

Clocks: each side has ``clock`` seconds in total; the time between the opponent's
move (or the game's start) and a side's move is charged to that side; the side to
move that has run out loses (:meth:`Game.timed_out`). A move never resolves
anything, so a last-second move always leaves the opponent its whole remaining clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Side(IntEnum):
    DEFENDER = 0
    CHALLENGER = 1


class GameError(Exception):
    """A move the rules do not allow (the contract reverts)."""


def midpoints(lo: int, hi: int, arity: int) -> list[int]:
    """The ``arity − 1`` positions a defender posts for range ``[lo, hi]``: evenly
    spaced, without duplicates or the ends (fewer when the range is short)."""
    if hi - lo < 2:
        return []
    span = hi - lo
    points = sorted({lo + span * j // arity for j in range(1, arity)} - {lo, hi})
    return points


def rounds(length: int, arity: int) -> int:
    """Rounds needed to narrow a range of ``length`` steps to one (worst case)."""
    count = 0
    while length > 1:
        count += 1
        length = -(-length // arity)
    return count


@dataclass
class Game:
    """One phase of bisection between a defender and a challenger."""

    lo: int
    hi: int
    agreed: bytes
    """The checkpoint both accept at ``lo``."""
    disputed: bytes
    """The defender's checkpoint at ``hi`` (the challenger disputes it)."""
    arity: int = 2
    clock: int = 3 * 86_400 + 12 * 3600
    started: int = 0
    to_move: Side = Side.DEFENDER
    spent: list[int] = field(default_factory=lambda: [0, 0])
    last_move: int = 0
    pending: dict[int, bytes] = field(default_factory=dict)
    moves: int = 0
    winner: Side | None = None

    def __post_init__(self) -> None:
        if self.hi <= self.lo:
            raise GameError("a dispute needs a range of at least one step")
        if self.arity < 2:
            raise GameError("the arity is at least 2")
        self.last_move = self.started
        if self.hi - self.lo == 1:
            self.to_move = Side.CHALLENGER  # nothing to post: the step is up for proof

    @property
    def single_step(self) -> bool:
        return self.hi - self.lo == 1

    def remaining(self, side: Side, now: int) -> int:
        used = self.spent[side] + (now - self.last_move if self.to_move == side else 0)
        return self.clock - used

    def timed_out(self, now: int) -> Side | None:
        """The side whose clock ran out on its turn (it loses), if any."""
        if self.winner is None and self.remaining(self.to_move, now) < 0:
            return self.to_move
        return None

    def _charge(self, side: Side, now: int) -> None:
        if self.winner is not None:
            raise GameError("the game is over")
        if side != self.to_move:
            raise GameError(f"it is the {self.to_move.name.lower()}'s move")
        if now < self.last_move:
            raise GameError("time runs forward")
        if self.remaining(side, now) < 0:
            raise GameError("the mover's clock has run out")
        self.spent[side] += now - self.last_move
        self.last_move = now
        self.moves += 1

    def post(self, checkpoints: list[bytes], now: int) -> None:
        """The defender's move: its checkpoints at :func:`midpoints` of the range."""
        points = midpoints(self.lo, self.hi, self.arity)
        if not points:
            raise GameError("one step remains: prove it, there is nothing to post")
        if len(checkpoints) != len(points):
            raise GameError(f"post {len(points)} checkpoints, not {len(checkpoints)}")
        self._charge(Side.DEFENDER, now)
        self.pending = dict(zip(points, checkpoints, strict=True))
        self.to_move = Side.CHALLENGER

    def choose(self, index: int, now: int) -> None:
        """The challenger's move: dispute the ``index``-th sub-range (0-based) of the
        range as cut by the defender's last post."""
        if not self.pending:
            raise GameError("the defender has not posted this round")
        bounds = [self.lo, *sorted(self.pending), self.hi]
        if not 0 <= index < len(bounds) - 1:
            raise GameError(f"choose a sub-range in 0..{len(bounds) - 2}")
        self._charge(Side.CHALLENGER, now)
        lo, hi = bounds[index], bounds[index + 1]
        agreed = self.agreed if lo == self.lo else self.pending[lo]
        disputed = self.disputed if hi == self.hi else self.pending[hi]
        self.lo, self.hi, self.agreed, self.disputed = lo, hi, agreed, disputed
        self.pending = {}
        self.to_move = Side.CHALLENGER if self.single_step else Side.DEFENDER

    def prove(self, post: bytes) -> Side:
        """Settle the remaining step with the executor's ``post`` checkpoint (what the
        step computes from ``agreed``): the defender wins iff it claimed exactly that."""
        if self.winner is not None:
            raise GameError("the game is over")
        if not self.single_step:
            raise GameError("bisect to one step first")
        self.winner = Side.DEFENDER if post == self.disputed else Side.CHALLENGER
        return self.winner

    def time_out(self, now: int) -> Side:
        """End the game on a clock that ran out; returns the winner."""
        loser = self.timed_out(now)
        if loser is None:
            raise GameError("no clock has run out")
        self.winner = Side(1 - loser)
        return self.winner


def honest_post(game: Game, trace: list[bytes]) -> list[bytes]:
    """An honest defender's checkpoints for the current round (``trace[i]`` is the
    checkpoint at position ``i``)."""
    return [trace[p] for p in midpoints(game.lo, game.hi, game.arity)]


def honest_choice(game: Game, trace: list[bytes]) -> int:
    """An honest challenger's sub-range: the first whose end differs from its trace.
    (The end of the whole range differs by the premise of the game.)"""
    bounds = [game.lo, *sorted(game.pending), game.hi]
    for index, end in enumerate(bounds[1:]):
        claimed = game.disputed if end == game.hi else game.pending[end]
        if claimed != trace[end]:
            return index
    raise GameError("the challenger agrees with every checkpoint: it should not dispute")
