# pragma version 0.4.3
"""
@title bisection
@notice The bisection game's rules (docs/design/fraud-proofs.md sections 3-6) as a
        module: games between a defender and a challenger over a range of positions
        of a trace, with chess clocks and bonds. It is the Vyper twin of the pure
        model `rollbook.chain.dispute`, tested against it move by move through
        `BisectionGame.vy` (the rules over a bare trace); `DisputeGame.vy` plays the
        same rules over the trace of an output root.
@dev    A round: the defender posts its checkpoints at the fixed midpoints of the
        range (`midpoints`, evenly spaced, never chosen by the mover); the challenger
        names the first sub-range whose end it disputes. A move never resolves: a side
        loses only when its clock runs out on its turn (`time_out`) or at the step
        (the contract's `prove`). The winner takes both bonds less a burn.
"""

MAX_ARITY: constant(uint256) = 16
BURN_PPM: constant(uint256) = 100000  # 10 % of the loser's bond is burnt
PPM: constant(uint256) = 1000000

UNDECIDED: constant(uint8) = 0
DEFENDER: constant(uint8) = 1
CHALLENGER: constant(uint8) = 2

struct Game:
    defender: address
    challenger: address
    lo: uint256
    hi: uint256
    agreed: bytes32
    disputed: bytes32
    to_move: uint8
    spent_defender: uint256
    spent_challenger: uint256
    last_move: uint256
    posted: uint256
    winner: uint8
    stake: uint256

event GameOpened:
    game: indexed(uint256)
    defender: indexed(address)
    challenger: indexed(address)
    lo: uint256
    hi: uint256

event Posted:
    game: indexed(uint256)
    positions: DynArray[uint256, MAX_ARITY]
    checkpoints: DynArray[bytes32, MAX_ARITY]

event Chosen:
    game: indexed(uint256)
    lo: uint256
    hi: uint256

event Resolved:
    game: indexed(uint256)
    winner: uint8

arity: public(uint256)
clock: public(uint256)
bond: public(uint256)
games: public(HashMap[uint256, Game])
pending: public(HashMap[uint256, HashMap[uint256, bytes32]])
count: public(uint256)


@deploy
def __init__(arity: uint256, clock: uint256, bond: uint256):
    assert arity >= 2 and arity <= MAX_ARITY, "bisection: arity out of range"
    self.arity = arity
    self.clock = clock
    self.bond = bond


@payable
@internal
def open(lo: uint256, hi: uint256, agreed: bytes32, disputed: bytes32, defender: address) -> uint256:
    """The challenger (the sender) opens a game with its bond: it accepts `agreed` at
    `lo` and disputes the defender's `disputed` at `hi`. The defender bonds at its
    first move."""
    assert hi > lo, "bisection: a dispute needs at least one step"
    assert msg.value == self.bond, "bisection: the challenger's bond is wrong"
    assert defender != msg.sender, "bisection: a side cannot dispute itself"
    n: uint256 = self.count
    to_move: uint8 = DEFENDER
    if hi - lo == 1:
        to_move = CHALLENGER
    self.games[n] = Game(
        defender=defender, challenger=msg.sender, lo=lo, hi=hi, agreed=agreed,
        disputed=disputed, to_move=to_move, spent_defender=0, spent_challenger=0,
        last_move=block.timestamp, posted=0, winner=UNDECIDED, stake=msg.value,
    )
    self.pending[n][hi] = disputed
    self.pending[n][lo] = agreed
    self.count = n + 1
    log GameOpened(game=n, defender=defender, challenger=msg.sender, lo=lo, hi=hi)
    return n


@view
@internal
def midpoints(lo: uint256, hi: uint256) -> DynArray[uint256, MAX_ARITY]:
    points: DynArray[uint256, MAX_ARITY] = []
    span: uint256 = hi - lo
    if span < 2:
        return points
    for j: uint256 in range(1, MAX_ARITY):
        if j >= self.arity:
            break
        p: uint256 = lo + span * j // self.arity
        if p == lo or p == hi:
            continue
        if len(points) > 0 and points[len(points) - 1] == p:
            continue
        points.append(p)
    return points


@view
@internal
def remaining(g: Game, side: uint8) -> int256:
    used: uint256 = g.spent_defender
    if side == CHALLENGER:
        used = g.spent_challenger
    if g.to_move == side:
        used += block.timestamp - g.last_move
    return convert(self.clock, int256) - convert(used, int256)


@internal
def _charge(game: uint256, side: uint8):
    g: Game = self.games[game]
    assert g.winner == UNDECIDED, "bisection: the game is over"
    assert g.to_move == side, "bisection: not this side's move"
    assert self.remaining(g, side) >= 0, "bisection: the mover's clock has run out"
    elapsed: uint256 = block.timestamp - g.last_move
    if side == DEFENDER:
        self.games[game].spent_defender = g.spent_defender + elapsed
    else:
        self.games[game].spent_challenger = g.spent_challenger + elapsed
    self.games[game].last_move = block.timestamp


@payable
@internal
def post(game: uint256, checkpoints: DynArray[bytes32, MAX_ARITY]) -> DynArray[uint256, MAX_ARITY]:
    """The defender's move: its checkpoints at the range's midpoints (its bond comes
    with its first move). Returns the midpoints."""
    g: Game = self.games[game]
    assert msg.sender == g.defender, "bisection: only the defender posts"
    points: DynArray[uint256, MAX_ARITY] = self.midpoints(g.lo, g.hi)
    assert len(points) > 0, "bisection: one step remains: prove it"
    assert len(checkpoints) == len(points), "bisection: one checkpoint per midpoint"
    self._charge(game, DEFENDER)
    if g.stake == self.bond:
        assert msg.value == self.bond, "bisection: the defender's bond is wrong"
        self.games[game].stake = g.stake + msg.value
    else:
        assert msg.value == 0, "bisection: the defender has bonded already"
    for i: uint256 in range(MAX_ARITY):
        if i >= len(points):
            break
        self.pending[game][points[i]] = checkpoints[i]
    self.games[game].posted = 1
    self.games[game].to_move = CHALLENGER
    log Posted(game=game, positions=points, checkpoints=checkpoints)
    return points


@internal
def choose(game: uint256, index: uint256):
    """The challenger's move: dispute the `index`-th sub-range of the defender's post."""
    g: Game = self.games[game]
    assert msg.sender == g.challenger, "bisection: only the challenger chooses"
    assert g.posted == 1, "bisection: the defender has not posted this round"
    points: DynArray[uint256, MAX_ARITY] = self.midpoints(g.lo, g.hi)
    assert index <= len(points), "bisection: no such sub-range"
    self._charge(game, CHALLENGER)
    lo: uint256 = g.lo
    agreed: bytes32 = g.agreed
    if index > 0:
        lo = points[index - 1]
        agreed = self.pending[game][lo]
    hi: uint256 = g.hi
    disputed: bytes32 = g.disputed
    if index < len(points):
        hi = points[index]
        disputed = self.pending[game][hi]
    self.games[game].lo = lo
    self.games[game].hi = hi
    self.games[game].agreed = agreed
    self.games[game].disputed = disputed
    self.games[game].posted = 0
    if hi - lo == 1:
        self.games[game].to_move = CHALLENGER
    else:
        self.games[game].to_move = DEFENDER
    log Chosen(game=game, lo=lo, hi=hi)


@view
@internal
def ready(game: uint256) -> Game:
    """The game, which must be down to one undecided step."""
    g: Game = self.games[game]
    assert g.winner == UNDECIDED, "bisection: the game is over"
    assert g.hi - g.lo == 1, "bisection: bisect to one step first"
    return g


@view
@internal
def timed_out_winner(game: uint256) -> uint8:
    """The winner of a game whose side to move has run out of clock."""
    g: Game = self.games[game]
    assert g.winner == UNDECIDED, "bisection: the game is over"
    assert self.remaining(g, g.to_move) < 0, "bisection: no clock has run out"
    if g.to_move == DEFENDER:
        return CHALLENGER
    return DEFENDER


@internal
def resolve(game: uint256, winner: uint8):
    """Pay the winner both bonds, less the burn of the loser's."""
    g: Game = self.games[game]
    self.games[game].winner = winner
    stake: uint256 = g.stake
    burn: uint256 = 0
    if stake > self.bond:  # both sides bonded: the loser's bond is partly burnt
        burn = self.bond * BURN_PPM // PPM
    self.games[game].stake = 0
    to: address = g.defender
    if winner == CHALLENGER:
        to = g.challenger
    send(to, stake - burn)
    if burn > 0:
        send(empty(address), burn)
    log Resolved(game=game, winner=winner)
