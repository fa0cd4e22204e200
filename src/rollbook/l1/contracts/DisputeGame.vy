# pragma version 0.4.3
# pragma evm-version prague
"""
@title DisputeGame
@notice The optimistic rollup's dispute game (#7, docs/design/fraud-proofs.md): anyone
        disputes a proposed output root with a bond against one of its defenders;
        the defender and the challenger bisect the trace from the previous output to
        the disputed one under chess clocks (the rules of `bisection.vy`); the one
        step left is executed on-chain by `StepExecutor.vy`. While a game is open the
        root cannot finalise.
        Anyone may defend (section 4): the proposer defends each of its roots, and
        anyone may back a root within its window with a bond, becoming a defender
        too. A challenger plays one defender per game; a beaten defender stops
        defending that root (a backer's bond goes to its challenger), and the root is
        removed, with every root after it, once none of its defenders stands (the
        staker rule of Arbitrum's classic protocol). So a proposer that does not
        defend cannot lose an honest root that someone else backs, and a liar's
        backers only cost it their bonds.
@dev    Positions: block `j` of the disputed range (`j` = 0 for the first block after
        the anchor) spans [j * SPAN, (j + 1) * SPAN]; the checkpoint at (j + 1) * SPAN
        is block j's output root. The range is padded to a power-of-two number of
        blocks (the padding's checkpoints all equal the disputed root, and a step
        there is a no-op), and the arity is a power of two, so every block boundary
        inside the range is a posted midpoint. The defender opens each output root it
        posts at a block boundary with the block's header; the block's inputs (the
        header without its roots) are what the executor runs that block from.
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

interface Oracle:
    def outputs(index: uint256) -> Output: view
    def count() -> uint256: view
    def proposer() -> address: view
    def challenge_window() -> uint256: view
    def is_final(index: uint256) -> bool: view
    def hold(index: uint256) -> bytes32: nonpayable
    def release(key: bytes32): nonpayable
    def remove_from(index: uint256): nonpayable

struct Output:
    root: bytes32
    l2_block: uint256
    proposed_at: uint256
    l1_origin: uint256

struct Dispute:
    index: uint256
    root: bytes32
    proposed_at: uint256
    blocks: uint256
    key: bytes32  # the oracle's hold
    defender: address

SPAN_BITS: constant(uint256) = 20
SPAN: constant(uint256) = 1048576  # 2**20
MAX_WITNESS: constant(uint256) = 49152
HEADER_BYTES: constant(uint256) = 152
INPUTS_BYTES: constant(uint256) = 56
ROOT_AT: constant(uint256) = 88  # the state root's offset in a header (then the withdrawals root)
BLOCK_TAG: constant(Bytes[14]) = b"rollbook.block"
# StepExecutor.execute(bytes32,uint256,bytes32,Witness): checked against the executor's
# ABI in tests/l1/test_dispute_game.py.
EXECUTE: constant(bytes4) = 0x54af26af
# A backer's standing on a root.
UNBACKED: constant(uint8) = 0
STANDS: constant(uint8) = 1
BEATEN: constant(uint8) = 2
REFUNDED: constant(uint8) = 3

event Disputed:
    game: indexed(uint256)
    index: indexed(uint256)
    root: bytes32
    blocks: uint256

event Backed:
    index: indexed(uint256)
    root: indexed(bytes32)
    backer: indexed(address)

event BlockOpened:
    game: indexed(uint256)
    block: uint256
    inputs: bytes32

deployer: address
oracle: public(address)
executor: public(address)
version: public(uint256)
genesis_root: public(bytes32)
disputes: public(HashMap[uint256, Dispute])
# Per game, the inputs hash of each block whose output root the defender opened.
inputs: public(HashMap[uint256, HashMap[uint256, bytes32]])
# Per root (keyed by `_root_key`): its backers in order, each one's standing, how many
# still stand, and whether its proposer was beaten.
backer_at: public(HashMap[bytes32, HashMap[uint256, address]])
backer_count: public(HashMap[bytes32, uint256])
backing: public(HashMap[bytes32, HashMap[address, uint8]])
standing: public(HashMap[bytes32, uint256])
proposer_beaten: public(HashMap[bytes32, bool])
playing: public(HashMap[bytes32, HashMap[address, uint256]])  # open games against each backer


@deploy
def __init__(executor: address, version: uint256, arity: uint256, clock: uint256, bond: uint256):
    assert arity & (arity - 1) == 0, "DisputeGame: the arity is a power of two"
    bisection.__init__(arity, clock, bond)
    self.executor = executor
    self.version = version
    self.deployer = msg.sender


@external
def bind(oracle: address, genesis_root: bytes32):
    """Name the output oracle (which names this game as its remover) and the genesis
    output root, once: the genesis block cites the L1 block of the deployment, so its
    root is known only after it."""
    assert msg.sender == self.deployer and self.oracle == empty(address), "DisputeGame: bound already"
    assert genesis_root != empty(bytes32), "DisputeGame: the genesis root is empty"
    self.oracle = oracle
    self.genesis_root = genesis_root


@view
@internal
def _root_key(index: uint256, output: Output) -> bytes32:
    return keccak256(abi_encode(index, output.root, output.proposed_at))


@view
@internal
def _defends(key: bytes32, defender: address, proposer: address) -> bool:
    if defender == proposer:
        return not self.proposer_beaten[key]
    return self.backing[key][defender] == STANDS


@external
@payable
def back(index: uint256):
    """Back output `index` with a bond (the game's), within the first half of its
    challenge window: the sender becomes one of its defenders, whom a challenger must
    beat too before the root is removed. Backing closes at half the window so that a
    challenger always has the other half to open a game against each backer (a
    backer that came at the window's last moment could not be played). The bond is
    paid to the challenger that beats it, or refunded (`refund`) once the root is
    final or removed by another root's game."""
    assert self.oracle != empty(address), "DisputeGame: not bound to an oracle yet"
    oracle: Oracle = Oracle(self.oracle)
    assert index < staticcall oracle.count(), "DisputeGame: no such output"
    assert msg.value == bisection.bond, "DisputeGame: a backer's bond is the game's bond"
    output: Output = staticcall oracle.outputs(index)
    closes: uint256 = output.proposed_at + staticcall oracle.challenge_window() // 2
    assert block.timestamp < closes, "DisputeGame: backing the root has closed (half its window)"
    assert msg.sender != staticcall oracle.proposer(), "DisputeGame: the proposer defends already"
    key: bytes32 = self._root_key(index, output)
    assert self.backing[key][msg.sender] == UNBACKED, "DisputeGame: this root is backed by the sender"
    self.backing[key][msg.sender] = STANDS
    self.backer_at[key][self.backer_count[key]] = msg.sender
    self.backer_count[key] += 1
    self.standing[key] += 1
    log Backed(index=index, root=output.root, backer=msg.sender)


@external
def refund(index: uint256, root: bytes32, proposed_at: uint256):
    """A backer that was not beaten takes its bond back once the root it backed
    (output `index`, `root`, proposed at `proposed_at`) is final or was removed, and
    no game against it is open (a game it may yet lose pays its bond)."""
    oracle: Oracle = Oracle(self.oracle)
    key: bytes32 = keccak256(abi_encode(index, root, proposed_at))
    assert self.backing[key][msg.sender] == STANDS, "DisputeGame: no standing backing to refund"
    assert self.playing[key][msg.sender] == 0, "DisputeGame: a game against the backer is open"
    if index < staticcall oracle.count():
        output: Output = staticcall oracle.outputs(index)
        if output.root == root and output.proposed_at == proposed_at:
            assert staticcall oracle.is_final(index), "DisputeGame: the root is not final yet"
    self.backing[key][msg.sender] = REFUNDED
    self.standing[key] -= 1
    send(msg.sender, bisection.bond)


@external
@payable
def open(index: uint256, defender: address) -> uint256:
    """Dispute output `index` against `defender` (its proposer or a standing backer)
    with the challenger's bond, against the output before it (or the genesis root):
    the challenger accepts that one and disputes this one."""
    assert self.oracle != empty(address), "DisputeGame: not bound to an oracle yet"
    oracle: Oracle = Oracle(self.oracle)
    assert index < staticcall oracle.count(), "DisputeGame: no such output"
    assert not staticcall oracle.is_final(index), "DisputeGame: a final root cannot be disputed"
    output: Output = staticcall oracle.outputs(index)
    key: bytes32 = self._root_key(index, output)
    assert self._defends(key, defender, staticcall oracle.proposer()), "DisputeGame: not a standing defender of this root"
    agreed: bytes32 = self.genesis_root
    first: uint256 = 0
    if index > 0:
        anchor: Output = staticcall oracle.outputs(index - 1)
        agreed = anchor.root
        first = anchor.l2_block
    blocks: uint256 = output.l2_block - first
    padded: uint256 = 1
    for i: uint256 in range(64):
        if padded >= blocks:
            break
        padded = padded << 1
    game: uint256 = bisection.open(0, padded << SPAN_BITS, agreed, output.root, defender)
    self.playing[key][defender] += 1
    hold: bytes32 = extcall oracle.hold(index)
    self.disputes[game] = Dispute(
        index=index, root=output.root, proposed_at=output.proposed_at, blocks=blocks, key=hold,
        defender=defender,
    )
    log Disputed(game=game, index=index, root=output.root, blocks=blocks)
    return game


@view
@internal
def _opens(checkpoint: bytes32, header: Bytes[HEADER_BYTES]) -> bool:
    """Whether `header` is the preimage of the output root `checkpoint`."""
    if len(header) != HEADER_BYTES:
        return False
    root: bytes32 = extract32(header, ROOT_AT)
    wroot: bytes32 = extract32(header, ROOT_AT + 32)
    return keccak256(concat(convert(self.version, bytes32), root, wroot, keccak256(header))) == checkpoint


@internal
def _open_block(game: uint256, block_end: uint256, checkpoint: bytes32, header: Bytes[HEADER_BYTES]):
    assert self._opens(checkpoint, header), "DisputeGame: a block's output root needs its header"
    j: uint256 = (block_end >> SPAN_BITS) - 1
    inputs: bytes32 = keccak256(concat(BLOCK_TAG, slice(header, 0, INPUTS_BYTES)))
    self.inputs[game][j] = inputs
    log BlockOpened(game=game, block=j, inputs=inputs)


@external
@payable
def post(game: uint256, checkpoints: DynArray[bytes32, bisection.MAX_ARITY], headers: DynArray[Bytes[HEADER_BYTES], bisection.MAX_ARITY], final_header: Bytes[HEADER_BYTES]):
    """The defender's move: its checkpoints at the midpoints, each block boundary's
    output root opened by its header (empty elsewhere). Its first move also opens the
    disputed root with `final_header`."""
    d: Dispute = self.disputes[game]
    assert d.root != empty(bytes32), "DisputeGame: no such game"
    first_move: bool = bisection.games[game].posted == 0 and bisection.games[game].stake == bisection.bond
    points: DynArray[uint256, bisection.MAX_ARITY] = bisection.post(game, checkpoints)
    assert len(headers) == len(points), "DisputeGame: one header (or none) per midpoint"
    for i: uint256 in range(bisection.MAX_ARITY):
        if i >= len(points):
            break
        p: uint256 = points[i]
        if p & (SPAN - 1) == 0 and p >> SPAN_BITS <= d.blocks:
            self._open_block(game, p, checkpoints[i], headers[i])
        else:
            assert len(headers[i]) == 0, "DisputeGame: a header only opens a block boundary"
    if first_move:
        self._open_block(game, d.blocks << SPAN_BITS, d.root, final_header)
    else:
        assert len(final_header) == 0, "DisputeGame: the disputed root is open already"


@external
def choose(game: uint256, index: uint256):
    """The challenger's move: the first sub-range whose end it disputes."""
    bisection.choose(game, index)


@external
def prove(game: uint256, witness: Bytes[MAX_WITNESS]) -> uint8:
    """Anyone settles the last step: the executor computes the checkpoint after it
    from the agreed one and the witness (the ABI tail of a `StepExecutor.Witness`);
    the defender wins iff it claimed exactly that. In the padding past the disputed
    block the step is a no-op."""
    g: bisection.Game = bisection.ready(game)
    d: Dispute = self.disputes[game]
    post: bytes32 = g.agreed
    if g.lo < d.blocks << SPAN_BITS:
        offset: uint256 = g.lo & (SPAN - 1)
        inputs: bytes32 = self.inputs[game][g.lo >> SPAN_BITS]
        assert offset != 0 or inputs != empty(bytes32), "DisputeGame: the block's inputs are not open"
        result: Bytes[32] = raw_call(
            self.executor,
            concat(EXECUTE, g.agreed, convert(offset, bytes32), inputs, convert(128, bytes32), witness),
            max_outsize=32,
            is_static_call=True,
        )
        post = extract32(result, 0)
    winner: uint8 = bisection.CHALLENGER
    if post == g.disputed:
        winner = bisection.DEFENDER
    self._finish(game, winner)
    return winner


@external
def time_out(game: uint256) -> uint8:
    """End a game whose side to move has run out of clock; the other side wins."""
    winner: uint8 = bisection.timed_out_winner(game)
    self._finish(game, winner)
    return winner


@view
@external
def midpoints(lo: uint256, hi: uint256) -> DynArray[uint256, bisection.MAX_ARITY]:
    return bisection.midpoints(lo, hi)


@view
@external
def remaining(game: uint256, side: uint8) -> int256:
    return bisection.remaining(bisection.games[game], side)


@internal
def _finish(game: uint256, winner: uint8):
    """Pay the winner. A beaten defender stops defending the root (a backer's bond
    goes to the challenger too); once none stands, the root and everything after it
    are removed (unless another game removed it meanwhile). Then release the hold."""
    bisection.resolve(game, winner)
    d: Dispute = self.disputes[game]
    oracle: Oracle = Oracle(self.oracle)
    key: bytes32 = keccak256(abi_encode(d.index, d.root, d.proposed_at))
    self.playing[key][d.defender] -= 1
    if winner == bisection.CHALLENGER:
        if d.defender == staticcall oracle.proposer():
            self.proposer_beaten[key] = True
        elif self.backing[key][d.defender] == STANDS:
            self.backing[key][d.defender] = BEATEN
            self.standing[key] -= 1
            send(bisection.games[game].challenger, bisection.bond)
        if self.proposer_beaten[key] and self.standing[key] == 0 and d.index < staticcall oracle.count():
            output: Output = staticcall oracle.outputs(d.index)
            if output.root == d.root and output.proposed_at == d.proposed_at:
                extcall oracle.remove_from(d.index)
    extcall oracle.release(d.key)
