# pragma version 0.4.3
# pragma evm-version prague
"""
@title ZkRollup
@notice ZK mode's L1 side (issue #8, docs/design/zk.md "On L1"): the last verified
        state root and the batches so far. A batch is submitted with a Groth16 proof
        and is final as soon as it verifies: no challenge window. L1 reads the
        sections of the batch's data it must see (rollbook.zk.batchdata): the L1
        inputs it consumes, checked against the `InputQueue` entry by entry, and the
        withdrawals it creates, whose Merkle root it records so the Portal pays them
        in the same block (`Portal.withdraw_verified`). The rest of the data is
        opaque here: the proof binds it through the claim.
@dev    For the Portal this contract stands where the `OutputOracle` stands in
        optimistic mode (its `oracle`): a zero challenge window, every batch final,
        and `latest_origin` telling `Portal.freeze` which forced txs are served.
        Its `final_root` refuses: ZK mode pays withdrawals from batch data, and the
        escape hatch's claims against a Poseidon root are not built (docs/design/zk.md).
        Replay protection is keyed on the batch index, never on proof bytes (Groth16
        proofs are malleable): a batch is taken once, at its index, over the root
        the previous batch left.
"""

import txroot
import zkclaim

interface IVerifier:
    # a view in Groth16Verifier.vy; declared nonpayable so it is called as a
    # statement (Vyper discards no staticcall's result): it returns nothing, it reverts
    def verify(proof: Bytes[256], public_input: uint256): nonpayable

interface IInputQueue:
    def item_hash(index: uint256) -> bytes32: view
    def entries(index: uint256) -> (bytes32, uint256, uint256): view
    def count() -> uint256: view

interface IPortal:
    def frozen() -> bool: view

R: constant(uint256) = 21888242871839275222246405745257275088548364400416034343698204186575808495617
VERSION: constant(uint256) = 1
HEADER_BYTES: constant(uint256) = 37
# Over any batch circuit's data (SHA-256 costs ~30k constraints per 64 bytes in the
# circuit: 32 KiB is ~15M). Vyper lays each Bytes[MAX] buffer out whole in memory,
# and memory's gas grows with the square of its size: at 120,000 bytes the fixed
# cost of `submit` was ~100k gas higher (docs/design/zk.md "On L1").
MAX_DATA_BYTES: constant(uint256) = 32768
MAX_INPUTS: constant(uint256) = 1024
MAX_ITEM_BYTES: constant(uint256) = 4096
MAX_WITHDRAWALS: constant(uint256) = 4096
WITHDRAWAL_BYTES: constant(uint256) = 28  # owner 20, amount u64

event BatchVerified:
    batch_index: indexed(uint256)
    new_root: uint256
    data_hash: bytes32
    inputs_end: uint256
    first_withdrawal: uint256
    withdrawals: uint256
    withdrawals_root: bytes32

verifier: public(IVerifier)
queue: public(IInputQueue)
portal: public(IPortal)
chain_id: public(uint256)
window: public(uint256)
state_root: public(uint256)
count: public(uint256)
inputs_taken: public(uint256)
next_withdrawal_id: public(uint256)
withdrawals_total: public(uint256)
withdrawals_root: public(HashMap[uint256, bytes32])


@deploy
def __init__(
    verifier: IVerifier,
    queue: IInputQueue,
    portal: IPortal,
    chain_id: uint256,
    window: uint256,
    genesis_root: uint256,
):
    assert genesis_root < R, "ZkRollup: the genesis root is not a field element (below r)"
    self.verifier = verifier
    self.queue = queue
    self.portal = portal
    self.chain_id = chain_id
    self.window = window
    self.state_root = genesis_root


@external
def submit(batch_index: uint256, new_root: uint256, data: Bytes[MAX_DATA_BYTES], proof: Bytes[256]):
    """Verify batch `batch_index` from the current root to `new_root` over `data`
    (layout: rollbook.zk.batchdata) and make it final: its L1 inputs consumed, its
    withdrawals payable at once. Reverts unless every rule holds and the proof
    verifies; never half-applies."""
    assert not staticcall self.portal.frozen(), "ZkRollup: the system is frozen"
    assert batch_index == self.count, "ZkRollup: not the next batch (batches are taken once, in order)"
    assert new_root < R, "ZkRollup: the new state root is not a field element (below r)"
    size: uint256 = len(data)
    assert size >= HEADER_BYTES, "ZkRollup: the data is shorter than its header"
    assert convert(slice(data, 0, 1), uint256) == VERSION, "ZkRollup: unknown batch data version"
    assert convert(slice(data, 1, 8), uint256) == self.chain_id, "ZkRollup: the data is for another chain"
    assert convert(slice(data, 9, 8), uint256) == batch_index, "ZkRollup: the data is for another batch"
    first_input: uint256 = convert(slice(data, 17, 8), uint256)
    assert first_input == self.inputs_taken, "ZkRollup: the L1 inputs must start where the last batch stopped"
    n_inputs: uint256 = convert(slice(data, 25, 2), uint256)
    first_withdrawal: uint256 = convert(slice(data, 27, 8), uint256)
    assert first_withdrawal == self.next_withdrawal_id, "ZkRollup: the withdrawal ids must follow the last batch's"
    n_withdrawals: uint256 = convert(slice(data, 35, 2), uint256)

    # The L1 inputs, in the queue's order from where the last batch stopped: the
    # sequencer can neither invent, skip nor reorder one.
    # (the walk below stops at MAX_INPUTS: more would be taken unchecked)
    assert n_inputs <= MAX_INPUTS, "ZkRollup: too many L1 inputs in one batch"
    queued: uint256 = staticcall self.queue.count()
    end: uint256 = first_input + n_inputs
    assert end <= queued, "ZkRollup: the batch takes more L1 inputs than the queue holds"
    at: uint256 = HEADER_BYTES
    for i: uint256 in range(MAX_INPUTS):
        if i >= n_inputs:
            break
        assert at + 2 <= size, "ZkRollup: the data ends inside its L1 inputs"
        length: uint256 = convert(slice(data, at, 2), uint256)
        assert length <= MAX_ITEM_BYTES and at + 2 + length <= size, "ZkRollup: an L1 input overruns the data"
        assert keccak256(slice(data, at + 2, length)) == staticcall self.queue.item_hash(first_input + i), "ZkRollup: an L1 input is not the queue's entry at its place"
        at += 2 + length
    # Forced inclusion: an input that has waited its window blocks every batch that
    # does not take it (the entries' times never go back, so the first left is the oldest).
    if end < queued:
        waiting_since: uint256 = (staticcall self.queue.entries(end))[2]
        assert waiting_since + self.window > block.timestamp, "ZkRollup: an L1 input has waited its window: the batch must take it"

    # The withdrawals the batch creates, ids consecutive: committed by their Merkle
    # root (rollbook.codec.txroot over id u64 || owner || amount u64).
    assert n_withdrawals <= MAX_WITHDRAWALS, "ZkRollup: too many withdrawals in one batch"
    assert at + n_withdrawals * WITHDRAWAL_BYTES <= size, "ZkRollup: the data ends inside its withdrawals"
    frontier: bytes32[txroot.DEPTH] = empty(bytes32[txroot.DEPTH])
    total: uint256 = 0
    for i: uint256 in range(MAX_WITHDRAWALS):
        if i >= n_withdrawals:
            break
        amount: uint256 = convert(slice(data, at + 20, 8), uint256)
        assert amount > 0, "ZkRollup: a withdrawal's amount must be positive"
        leaf: bytes32 = keccak256(concat(
            b"\x00", convert(convert(first_withdrawal + i, uint64), bytes8), slice(data, at, WITHDRAWAL_BYTES)
        ))
        frontier = txroot.push(frontier, i, leaf)
        total += amount
        at += WITHDRAWAL_BYTES
    root: bytes32 = txroot.frontier_root(frontier, n_withdrawals)
    # The rest of the data (fills, oracle, funding) is the circuit's: L1 only hashes it.

    data_hash: bytes32 = sha256(data)
    claim: uint256 = zkclaim.claim(self.state_root, new_root, data_hash)
    extcall self.verifier.verify(proof, claim)  # reverts unless the proof holds

    self.state_root = new_root
    self.count = batch_index + 1
    if n_inputs > 0:
        self.inputs_taken = end
    if n_withdrawals > 0:
        self.next_withdrawal_id = first_withdrawal + n_withdrawals
        self.withdrawals_total += total
        self.withdrawals_root[batch_index] = root
    log BatchVerified(
        batch_index=batch_index, new_root=new_root, data_hash=data_hash, inputs_end=end,
        first_withdrawal=first_withdrawal, withdrawals=n_withdrawals, withdrawals_root=root,
    )


# -- what the Portal reads (it takes this contract as its `oracle`) -------------------


@view
@external
def challenge_window() -> uint256:
    """A verified batch is final at once."""
    return 0


@view
@external
def is_final(index: uint256) -> bool:
    return index < self.count


@view
@external
def latest_origin() -> uint256:
    """The newest L1 block whose every input a verified batch has taken (the Portal
    freezes the system for a forced tx posted after it, once overdue). Exact when the
    first input left is the first of its L1 block; otherwise a forced tx taken from
    earlier in that block reads as unserved, which matters only once that block's
    remaining inputs have blocked every batch past their window."""
    taken: uint256 = self.inputs_taken
    if taken >= staticcall self.queue.count():
        return block.number
    return (staticcall self.queue.entries(taken))[1] - 1


@view
@external
def final_root(index: uint256) -> bytes32:
    raise "ZkRollup: ZK mode has no output roots: withdrawals are paid from batch data (Portal.withdraw_verified) and the escape hatch's Poseidon claims are not built"
