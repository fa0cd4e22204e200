# pragma version 0.4.3
# pragma evm-version prague
"""
@title Portal
@notice The bridge's L1 side. Deposits escrow collateral and get sequential ids
        (derivation credits them at confirmation depth, #4). Forced txs are posted
        here with a fee; derivation includes each one when its window expires.
        Withdrawals are proven against a *final* output root and paid once.
@dev    A withdrawal leaf sits in the withdrawals tree (a compact sparse Merkle tree,
        docs/design/batch.md section 4) at path keccak(encode_key(("wd", id))) with
        value keccak(encode_leaf(Withdrawal(owner, amount))); the encodings are the
        tagged ones of exchange/leaves.py, rebuilt here byte for byte.
"""

from ethereum.ercs import IERC20

interface IOutputOracle:
    def final_root(index: uint256) -> bytes32: view
    def latest_origin() -> uint256: view
    def challenge_window() -> uint256: view

struct ForcedTx:
    l1_block: uint256
    posted_at: uint256

MAX_FORCED_BYTES: constant(uint256) = 512
MAX_DEPTH: constant(uint256) = 256
U64_LIMIT: constant(uint256) = 2**64

event Deposited:
    deposit_id: indexed(uint256)
    recipient: indexed(address)
    amount: uint256

event Forced:
    forced_id: indexed(uint256)
    sender: indexed(address)
    data: Bytes[MAX_FORCED_BYTES]

event Frozen:
    forced_id: indexed(uint256)
    frozen_at: uint256

event WithdrawalPaid:
    withdrawal_id: indexed(uint256)
    owner: indexed(address)
    amount: uint256
    output_index: uint256

collateral: public(IERC20)
oracle: public(IOutputOracle)
output_version: public(uint256)
forced_fee: public(uint256)
next_deposit_id: public(uint256)
next_forced_id: public(uint256)
paid: public(HashMap[uint256, bool])
fees_collected: public(uint256)
forced: public(HashMap[uint256, ForcedTx])
freeze_delay: public(uint256)
frozen: public(bool)
frozen_at: public(uint256)


@deploy
def __init__(
    collateral: IERC20,
    oracle: IOutputOracle,
    output_version: uint256,
    forced_fee: uint256,
    first_deposit_id: uint256,
    freeze_delay: uint256,
):
    self.collateral = collateral
    self.oracle = oracle
    self.output_version = output_version
    self.forced_fee = forced_fee
    self.next_deposit_id = first_deposit_id
    # A covering root proposed in time is final (and can no longer be removed) before
    # a freeze is possible; otherwise removing one disputed root would let anyone
    # freeze a healthy system in the moment before the proposer re-proposes.
    assert freeze_delay > staticcall oracle.challenge_window(), "Portal: the freeze delay must exceed the challenge window"
    self.freeze_delay = freeze_delay


@external
def deposit(amount: uint256, recipient: address):
    """Escrow `amount` (6-decimal units) for `recipient`'s L2 account."""
    assert not self.frozen, "Portal: the system is frozen"
    assert amount > 0 and amount < U64_LIMIT, "Portal: amount must be in 1..2**64-1"
    assert recipient != empty(address), "Portal: recipient is the zero address"
    before: uint256 = staticcall self.collateral.balanceOf(self)
    assert extcall self.collateral.transferFrom(msg.sender, self, amount, default_return_value=True), "Portal: transfer failed"
    # Credit only what arrived: a fee-on-transfer token would make the escrow short.
    assert staticcall self.collateral.balanceOf(self) == before + amount, "Portal: the token did not deliver the amount"
    deposit_id: uint256 = self.next_deposit_id
    self.next_deposit_id = deposit_id + 1
    log Deposited(deposit_id=deposit_id, recipient=recipient, amount=amount)


@external
@payable
def force(data: Bytes[MAX_FORCED_BYTES]):
    """Post a forced tx (the standalone codec encoding of an owner action) with its fee."""
    assert not self.frozen, "Portal: the system is frozen"
    assert msg.value >= self.forced_fee, "Portal: the forced-tx fee is not paid"
    assert len(data) > 0, "Portal: empty forced tx"
    self.fees_collected += msg.value
    forced_id: uint256 = self.next_forced_id
    self.next_forced_id = forced_id + 1
    self.forced[forced_id] = ForcedTx(l1_block=block.number, posted_at=block.timestamp)
    log Forced(forced_id=forced_id, sender=msg.sender, data=data)


@external
def freeze(forced_id: uint256):
    """Anyone freezes the system when forced tx `forced_id` is unserved past its
    deadline (StarkEx's rule): `freeze_delay` after it was posted, no output root
    covers its L1 block. (Derivation includes it within the inclusion window, so an
    uncovered forced tx means the proposer has stopped.)"""
    assert not self.frozen, "Portal: already frozen"
    assert forced_id < self.next_forced_id, "Portal: no such forced tx"
    request: ForcedTx = self.forced[forced_id]
    assert block.timestamp >= request.posted_at + self.freeze_delay, "Portal: the forced tx is not overdue"
    assert staticcall self.oracle.latest_origin() < request.l1_block, "Portal: the forced tx was served"
    self.frozen = True
    self.frozen_at = block.timestamp
    log Frozen(forced_id=forced_id, frozen_at=block.timestamp)


@external
def withdraw(
    output_index: uint256,
    state_root: bytes32,
    withdrawals_root: bytes32,
    block_hash: bytes32,
    withdrawal_id: uint256,
    owner: address,
    amount: uint256,
    siblings: DynArray[bytes32, MAX_DEPTH],
):
    """Pay withdrawal `withdrawal_id` to its owner, proven against a final output root."""
    assert not self.paid[withdrawal_id], "Portal: withdrawal already paid"
    assert amount > 0 and amount < U64_LIMIT, "Portal: amount out of range"
    root: bytes32 = staticcall self.oracle.final_root(output_index)
    output: bytes32 = keccak256(
        concat(convert(self.output_version, bytes32), state_root, withdrawals_root, block_hash)
    )
    assert output == root, "Portal: the roots do not hash to the final output root"
    key: Bytes[47] = concat(b"\x05\x00\x00\x00\x02\x04\x00\x00\x00\x02wd\x02", convert(withdrawal_id, bytes32))
    leaf: Bytes[60] = concat(b"\x08\x03\x00\x00\x00\x14", convert(owner, bytes20), b"\x02", convert(amount, bytes32))
    path: bytes32 = keccak256(key)
    node: bytes32 = keccak256(concat(b"\x00", path, keccak256(leaf)))
    bits: uint256 = convert(path, uint256)
    depth: uint256 = len(siblings)
    for k: uint256 in range(MAX_DEPTH):
        if k >= depth:
            break
        level: uint256 = depth - 1 - k
        sibling: bytes32 = siblings[level]
        if (bits >> (255 - level)) & 1 == 1:
            node = keccak256(concat(b"\x01", sibling, node))
        else:
            node = keccak256(concat(b"\x01", node, sibling))
    assert node == withdrawals_root, "Portal: the withdrawal is not in the withdrawals tree"
    self.paid[withdrawal_id] = True
    assert extcall self.collateral.transfer(owner, amount, default_return_value=True), "Portal: transfer failed"
    log WithdrawalPaid(withdrawal_id=withdrawal_id, owner=owner, amount=amount, output_index=output_index)
