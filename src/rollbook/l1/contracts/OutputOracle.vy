# pragma version 0.4.3
# pragma evm-version prague
"""
@title OutputOracle
@notice Output roots proposed by a bonded proposer. A root is final once its
        challenge window has passed and it has not been removed. #7's dispute game
        (the `remover`) removes a disproven root and every root after it; #8's
        validity path will finalise at once.
@dev    output root = keccak(version || state root || withdrawals root || L2 block hash),
        docs/design/batch.md section 4.
"""

struct Output:
    root: bytes32
    l2_block: uint256
    proposed_at: uint256
    l1_origin: uint256

event OutputProposed:
    index: indexed(uint256)
    root: indexed(bytes32)
    l2_block: uint256
    proposed_at: uint256
    l1_origin: uint256

event OutputsRemoved:
    from_index: indexed(uint256)
    count: uint256

proposer: public(address)
bond: public(uint256)
required_bond: public(uint256)
challenge_window: public(uint256)
remover: public(address)
outputs: public(HashMap[uint256, Output])
count: public(uint256)
# Open dispute games per output, keyed by `_output_key` (an index is reused after a
# removal, a key never).
disputes: public(HashMap[bytes32, uint256])
# Every open game, and the lowest output index any of them held since none was open:
# no output at or after it finalises while a game is open (a root built on a disputed
# one must not finalise before it). Conservative: it is reset only when no game is open.
open_games: public(uint256)
lowest_held: public(uint256)


@deploy
@payable
def __init__(proposer: address, required_bond: uint256, challenge_window: uint256, remover: address):
    self.proposer = proposer
    self.required_bond = required_bond
    self.challenge_window = challenge_window
    self.remover = remover
    self.bond = msg.value
    self.lowest_held = max_value(uint256)


@external
@payable
def post_bond():
    """Add to the proposer's bond (anyone may top it up)."""
    self.bond += msg.value


@external
def propose(root: bytes32, l2_block: uint256, l1_origin: uint256):
    """Propose the output root of L2 block `l2_block` (numbers strictly increase),
    whose L1 origin is `l1_origin`. The root commits to the block's header, origin
    included, so a wrong origin makes a wrong root (disputed in #7). By derivation's
    rules every L1 input up to the origin is in the chain at that block: the Portal
    reads the origin to know which forced txs a proposal has served."""
    assert msg.sender == self.proposer, "OutputOracle: only the proposer proposes"
    assert self.bond >= self.required_bond, "OutputOracle: the proposer's bond is too low"
    assert root != empty(bytes32), "OutputOracle: empty root"
    assert l1_origin < block.number, "OutputOracle: the L1 origin is not yet on L1"
    n: uint256 = self.count
    if n > 0:
        assert l2_block > self.outputs[n - 1].l2_block, "OutputOracle: L2 block must increase"
        assert l1_origin >= self.outputs[n - 1].l1_origin, "OutputOracle: L1 origin goes back"
    self.outputs[n] = Output(
        root=root, l2_block=l2_block, proposed_at=block.timestamp, l1_origin=l1_origin
    )
    self.count = n + 1
    log OutputProposed(
        index=n, root=root, l2_block=l2_block, proposed_at=block.timestamp, l1_origin=l1_origin
    )


@external
def remove_from(index: uint256):
    """The dispute game removes a disproven root and every root built on it."""
    assert msg.sender == self.remover, "OutputOracle: only the dispute game removes roots"
    n: uint256 = self.count
    assert index < n, "OutputOracle: no such output"
    assert not self._final(index), "OutputOracle: a final root cannot be removed"
    self.count = index
    log OutputsRemoved(from_index=index, count=n - index)


@external
def hold(index: uint256) -> bytes32:
    """The dispute game holds a root, and every root after it, back from finality
    while a game against it is open (docs/design/fraud-proofs.md section 4): only a
    root that is not final yet. Returns the key that releases it."""
    assert msg.sender == self.remover, "OutputOracle: only the dispute game holds roots"
    assert index < self.count, "OutputOracle: no such output"
    assert not self._final(index), "OutputOracle: a final root cannot be disputed"
    key: bytes32 = self._output_key(index)
    self.disputes[key] += 1
    self.open_games += 1
    if index < self.lowest_held:
        self.lowest_held = index
    return key


@external
def release(key: bytes32):
    """A game that held the root `key` ended (whether the root stands or was removed)."""
    assert msg.sender == self.remover, "OutputOracle: only the dispute game releases roots"
    assert self.disputes[key] > 0, "OutputOracle: no open dispute of this root"
    self.disputes[key] -= 1
    self.open_games -= 1
    if self.open_games == 0:
        self.lowest_held = max_value(uint256)


@view
@internal
def _output_key(index: uint256) -> bytes32:
    o: Output = self.outputs[index]
    return keccak256(abi_encode(index, o.root, o.proposed_at))


@view
@external
def latest_origin() -> uint256:
    """The L1 origin of the newest (not removed) proposal; 0 if none."""
    if self.count == 0:
        return 0
    return self.outputs[self.count - 1].l1_origin


@view
@external
def is_final(index: uint256) -> bool:
    return index < self.count and self._final(index)


@view
@external
def final_root(index: uint256) -> bytes32:
    """The root at `index`, which must be final."""
    assert index < self.count, "OutputOracle: no such output"
    assert self._final(index), "OutputOracle: the root is not final yet"
    return self.outputs[index].root


@view
@internal
def _final(index: uint256) -> bool:
    if block.timestamp < self.outputs[index].proposed_at + self.challenge_window:
        return False
    if index >= self.lowest_held:
        return False
    return self.disputes[self._output_key(index)] == 0
