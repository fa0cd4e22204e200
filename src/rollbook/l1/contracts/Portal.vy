# pragma version 0.4.3
# pragma evm-version prague
"""
@title Portal
@notice The bridge's L1 side. Deposits escrow collateral and get sequential ids
        (derivation credits them at confirmation depth, #4). Forced txs are posted
        here with a fee; derivation includes each one when its window expires. Both
        join the `InputQueue` as block tx items, so the one-step executor (#7) loads
        them from L1; a forced tx that is not one canonical owner action or forced
        close is refused here, so every queued one is a tx derivation takes.
        Withdrawals are proven against a *final* output root and paid once. In ZK
        mode (#8) the `oracle` is the `ZkRollup`: a withdrawal a verified batch
        published is paid from its data's Merkle root (`withdraw_verified`), at once,
        from the same escrow and under the same paid-once map.
@dev    A withdrawal leaf sits in the withdrawals tree (a compact sparse Merkle tree,
        docs/design/batch.md section 4) at path keccak(encode_key(("wd", id))) with
        value keccak(encode_leaf(Withdrawal(owner, amount))); the encodings are the
        tagged ones of exchange/leaves.py, rebuilt here byte for byte.
"""

from ethereum.ercs import IERC20

import ownertx
import txroot

interface IInputQueue:
    def push(item_hash: bytes32) -> uint256: nonpayable

interface IOutputOracle:
    def final_root(index: uint256) -> bytes32: view
    def latest_origin() -> uint256: view
    def challenge_window() -> uint256: view
    def count() -> uint256: view
    def is_final(index: uint256) -> bool: view

interface IZkRollup:
    def withdrawals_root(batch_index: uint256) -> bytes32: view

struct SettlementProof:
    leaf: Bytes[67]
    siblings: DynArray[bytes32, MAX_DEPTH]
    other_path: bytes32
    other_value: bytes32

struct ForcedTx:
    l1_block: uint256
    posted_at: uint256

HEADER_BYTES: constant(uint256) = 152  # rollbook.chain.blocks.Header
MAX_FORCED_BYTES: constant(uint256) = 512
UNSIGNED_BIT: constant(uint8) = 64
BASE_MASK: constant(uint8) = 191  # the kind without UNSIGNED_BIT
K_DEPOSIT: constant(bytes1) = 0x0b
K_FORCED_CLOSE: constant(uint8) = 17
MAX_DEPTH: constant(uint256) = 256
U64_LIMIT: constant(uint256) = 2**64
MODE_ZK: constant(uint256) = 2  # output_version = mode << 16 | STF version

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

event Claimed:
    account: indexed(uint256)
    owner: indexed(address)
    equity: int256
    claim: uint256

event EscapePaid:
    account: indexed(uint256)
    owner: indexed(address)
    amount: uint256

event WithdrawalPaid:
    withdrawal_id: indexed(uint256)
    owner: indexed(address)
    amount: uint256
    output_index: uint256

collateral: public(IERC20)
oracle: public(IOutputOracle)
queue: public(IInputQueue)
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

# -- the escape hatch (after a freeze) --
struct DepositRecord:
    depositor: address
    amount: uint256

claim_period: public(uint256)
deposits: public(HashMap[uint256, DepositRecord])
paid_total: public(uint256)
reference: public(uint256)
no_reference: public(bool)
first_deposit_id: public(uint256)
reference_state_root: public(bytes32)
reference_time: public(uint256)
books_recorded: public(bool)
derived_deposits: public(uint256)
l2_withdrawals_total: public(uint256)
claims: public(HashMap[uint256, uint256])
claimed: public(HashMap[uint256, bool])
claim_leaf: public(HashMap[uint256, bytes32])
claim_equity: public(HashMap[uint256, int256])
claim_next: public(HashMap[uint256, uint256])
claim_count: public(HashMap[uint256, uint256])
claim_owner: public(HashMap[uint256, address])
user_claims_total: public(uint256)
fund_claim: public(uint256)
pool: public(uint256)
pool_fixed: public(bool)
settled: public(HashMap[uint256, bool])
refunded: public(HashMap[uint256, bool])


@deploy
def __init__(
    collateral: IERC20,
    oracle: IOutputOracle,
    output_version: uint256,
    forced_fee: uint256,
    first_deposit_id: uint256,
    freeze_delay: uint256,
    claim_period: uint256,
    queue: IInputQueue,
):
    self.collateral = collateral
    self.queue = queue
    self.oracle = oracle
    self.output_version = output_version
    self.forced_fee = forced_fee
    self.next_deposit_id = first_deposit_id
    self.first_deposit_id = first_deposit_id
    # A covering root proposed in time is final (and can no longer be removed) before
    # a freeze is possible; otherwise removing one disputed root would let anyone
    # freeze a healthy system in the moment before the proposer re-proposes.
    assert freeze_delay > staticcall oracle.challenge_window(), "Portal: the freeze delay must exceed the challenge window"
    self.freeze_delay = freeze_delay
    self.claim_period = claim_period


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
    self.deposits[deposit_id] = DepositRecord(depositor=msg.sender, amount=amount)
    # The block tx item derivation makes of it: origin L1, no sender, Deposit(id, owner, amount).
    item: Bytes[58] = concat(
        b"\x01", empty(bytes20), K_DEPOSIT,
        convert(convert(deposit_id, uint64), bytes8), convert(recipient, bytes20), convert(convert(amount, uint64), bytes8),
    )
    extcall self.queue.push(keccak256(item))
    log Deposited(deposit_id=deposit_id, recipient=recipient, amount=amount)


@external
@payable
def force(data: Bytes[MAX_FORCED_BYTES]):
    """Post a forced tx (the standalone codec encoding of an owner action) with its fee."""
    assert not self.frozen, "Portal: the system is frozen"
    assert msg.value >= self.forced_fee, "Portal: the forced-tx fee is not paid"
    self._check_forced(data)
    self.fees_collected += msg.value
    forced_id: uint256 = self.next_forced_id
    self.next_forced_id = forced_id + 1
    self.forced[forced_id] = ForcedTx(l1_block=block.number, posted_at=block.timestamp)
    extcall self.queue.push(keccak256(concat(b"\x01", convert(msg.sender, bytes20), data)))
    log Forced(forced_id=forced_id, sender=msg.sender, data=data)


@pure
@internal
def _check_forced(data: Bytes[MAX_FORCED_BYTES]):
    """Refuse what derivation could not take as a forced tx: anything but one owner
    action or forced close in its canonical standalone encoding
    (rollbook.codec.txcodec, the `FORCED_KINDS` of rollbook.chain.derive). So every
    forced tx in the queue is a block tx (tests/l1/test_forced_codec.py checks this
    against the codec)."""
    assert len(data) > 0, "Portal: empty forced tx"
    kind: uint8 = convert(slice(data, 0, 1), uint8)
    body: uint256 = 0
    signed: bool = False
    if kind == K_FORCED_CLOSE:
        body = 6  # account u32, instrument u16
    else:
        base: uint256 = convert(kind & BASE_MASK, uint256)
        signed = kind & UNSIGNED_BIT == 0
        body = ownertx.body_length(base)
        assert body != 0, "Portal: a forced tx is an owner action or a forced close"
        problem: uint256 = ownertx.field_problem(data, base)
        assert problem != ownertx.ZERO_AMOUNT, "Portal: the amount must be positive"
        assert problem != ownertx.SAME_ACCOUNTS, "Portal: a transfer needs two different accounts"
        assert problem != ownertx.ZERO_KEY, "Portal: the zero address cannot be a trading key"
        assert problem != ownertx.NOT_A_BOOL, "Portal: portfolio must be 0 or 1"
    size: uint256 = 1 + body
    if signed:
        size += ownertx.SIGNATURE_BYTES
    assert len(data) == size, "Portal: the forced tx's length does not match its kind"
    if signed:
        assert ownertx.low_s(extract32(data, 1 + body + 32)), "Portal: the signature's s is in the high half"


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
    found: bool = False
    found, self.reference = self._newest_final()
    if not found:
        # No final root ever: nothing reached L2 provably; every deposit is refundable.
        self.derived_deposits = self.first_deposit_id
        self.books_recorded = True
        self.no_reference = True
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
    if self.frozen:
        assert output_index <= self.reference, "Portal: frozen: only roots up to the reference"
    root: bytes32 = staticcall self.oracle.final_root(output_index)
    output: bytes32 = keccak256(
        concat(convert(self.output_version, bytes32), state_root, withdrawals_root, block_hash)
    )
    assert output == root, "Portal: the roots do not hash to the final output root"
    key: Bytes[47] = concat(b"\x05\x00\x00\x00\x02\x04\x00\x00\x00\x02wd\x02", convert(withdrawal_id, bytes32))
    leaf: Bytes[60] = concat(b"\x08\x03\x00\x00\x00\x14", convert(owner, bytes20), b"\x02", convert(amount, bytes32))
    assert self._included(withdrawals_root, keccak256(key), keccak256(leaf), siblings), "Portal: the withdrawal is not in the withdrawals tree"
    self.paid[withdrawal_id] = True
    self.paid_total += amount
    assert extcall self.collateral.transfer(owner, amount, default_return_value=True), "Portal: transfer failed"
    log WithdrawalPaid(withdrawal_id=withdrawal_id, owner=owner, amount=amount, output_index=output_index)


@external
def withdraw_verified(
    batch_index: uint256,
    withdrawal_id: uint256,
    owner: address,
    amount: uint256,
    position: uint256,
    siblings: DynArray[bytes32, txroot.DEPTH],
):
    """ZK mode: pay withdrawal `withdrawal_id`, published by verified batch
    `batch_index` at `position` among its withdrawals (its Merkle path `siblings`,
    rollbook.zk.batchdata.withdrawal_path). Payable in the block the batch verified in."""
    assert self.output_version >> 16 == MODE_ZK, "Portal: only ZK mode pays withdrawals from verified batches"
    assert not self.paid[withdrawal_id], "Portal: withdrawal already paid"
    assert amount > 0 and amount < U64_LIMIT, "Portal: amount out of range"
    assert withdrawal_id < U64_LIMIT, "Portal: a withdrawal id is a u64"
    root: bytes32 = staticcall IZkRollup(self.oracle.address).withdrawals_root(batch_index)
    leaf: bytes32 = keccak256(concat(
        b"\x00", convert(convert(withdrawal_id, uint64), bytes8), convert(owner, bytes20),
        convert(convert(amount, uint64), bytes8),
    ))
    assert root != empty(bytes32) and txroot.fold(leaf, position, siblings) == root, "Portal: the withdrawal is not among the verified batch's withdrawals"
    self.paid[withdrawal_id] = True
    self.paid_total += amount
    assert extcall self.collateral.transfer(owner, amount, default_return_value=True), "Portal: transfer failed"
    log WithdrawalPaid(withdrawal_id=withdrawal_id, owner=owner, amount=amount, output_index=batch_index)


# -- the escape hatch ------------------------------------------------------------------

SIZE_ONE: constant(int256) = 10**8
INDEX_DENOMINATOR: constant(int256) = 10**8 * 10**12
GLOBAL_KEY: constant(Bytes[16]) = b"\x05\x00\x00\x00\x01\x04\x00\x00\x00\x06global"


@external
def record_books(
    state_root: bytes32,
    withdrawals_root: bytes32,
    header: Bytes[HEADER_BYTES],
    globals_leaf: Bytes[512],
    siblings: DynArray[bytes32, MAX_DEPTH],
):
    """Once frozen: prove the L2 books at the reference root (the globals leaf), so
    the claims, the refunds and the withdrawals still owed are known."""
    assert self.frozen, "Portal: not frozen"
    assert not self.books_recorded, "Portal: books already recorded"
    root: bytes32 = staticcall self.oracle.final_root(self.reference)
    # The L2 block header (docs/design/batch.md §4): its hash is in the output root,
    # and its timestamp is the time at which accounts are valued (option expiries).
    assert len(header) == HEADER_BYTES, "Portal: an L2 header is 152 bytes"
    block_hash: bytes32 = keccak256(header)
    output: bytes32 = keccak256(
        concat(convert(self.output_version, bytes32), state_root, withdrawals_root, block_hash)
    )
    assert output == root, "Portal: the roots do not hash to the reference output root"
    self.reference_time = convert(slice(header, 40, 8), uint256)
    assert self._included(state_root, keccak256(GLOBAL_KEY), keccak256(globals_leaf), siblings), "Portal: the globals leaf is not in the state"
    # Globals: next_account, next_deposit_id, next_withdrawal_id, fees, total_deposits,
    # total_withdrawals, ... each a tagged int (0x02 + 32 bytes) after the leaf tag.
    self.derived_deposits = convert(extract32(globals_leaf, 1 + 33 * 1 + 1), uint256)
    self.l2_withdrawals_total = convert(extract32(globals_leaf, 1 + 33 * 5 + 1), uint256)
    self.reference_state_root = state_root
    self.books_recorded = True


@view
@external
def value_account(
    state_root: bytes32,
    now: uint256,
    index: uint256,
    account_leaf: Bytes[1400],
    account_siblings: DynArray[bytes32, MAX_DEPTH],
    position_leaves: DynArray[Bytes[133], 32],
    position_siblings: DynArray[DynArray[bytes32, MAX_DEPTH], 32],
    instrument_leaves: DynArray[Bytes[2048], 32],
    instrument_siblings: DynArray[DynArray[bytes32, MAX_DEPTH], 32],
    settlements: DynArray[SettlementProof, 32],
) -> (address, int256):
    """The owner and equity of account `index` in the state `state_root` at time
    `now`, computed from its proven leaves exactly as the STF does: balance − pending
    funding and loss + Σ value at mark (an expired option: its payout once fixed)."""
    return self._value(state_root, now, index, account_leaf, account_siblings, position_leaves, position_siblings, instrument_leaves, instrument_siblings, settlements)


@external
def claim_open(index: uint256, account_leaf: Bytes[1400], account_siblings: DynArray[bytes32, MAX_DEPTH]):
    """Start account `index`'s claim against the reference root: prove its account leaf.
    Then `claim_position` once per open position, in order, and `claim_close`."""
    assert self.books_recorded, "Portal: the books at the reference are not recorded"
    assert not self.no_reference, "Portal: no final root to claim against (deposits are refunded)"
    assert block.timestamp < self.frozen_at + self.claim_period, "Portal: the claim period is over"
    assert not self.claimed[index], "Portal: already claimed"
    assert self.claim_leaf[index] == empty(bytes32), "Portal: the claim is already open"
    assert self._included(self.reference_state_root, keccak256(self._account_key(index)), keccak256(account_leaf), account_siblings), "Portal: the account leaf is not in the state"
    self.claim_leaf[index] = keccak256(account_leaf)
    self.claim_owner[index] = convert(convert(slice(account_leaf, 6, 20), bytes20), address)
    self.claim_equity[index] = convert(extract32(account_leaf, 27), int256)
    self.claim_count[index] = convert(slice(account_leaf, 231, 4), uint256)
    self.claim_next[index] = 0


@external
def claim_position(
    index: uint256,
    account_leaf: Bytes[1400],
    position_leaf: Bytes[133],
    position_siblings: DynArray[bytes32, MAX_DEPTH],
    instrument_leaf: Bytes[2048],
    instrument_siblings: DynArray[bytes32, MAX_DEPTH],
    settlement: SettlementProof,
):
    """Add the next open position of account `index` to its claim. For an option
    expired at the reference time, `settlement` proves its settlement leaf (then the
    position pays out at the settlement price) or its absence (then it is valued at
    mark, as the STF does until the price is fixed); otherwise it is ignored."""
    assert block.timestamp < self.frozen_at + self.claim_period, "Portal: the claim period is over"
    assert self.claim_leaf[index] != empty(bytes32) and not self.claimed[index], "Portal: no open claim"
    assert keccak256(account_leaf) == self.claim_leaf[index], "Portal: not the account leaf of the claim"
    k: uint256 = self.claim_next[index]
    assert k < self.claim_count[index], "Portal: every position is already counted"
    instrument_id: uint256 = convert(extract32(account_leaf, 236 + 33 * k), uint256)
    self.claim_equity[index] += self._position_value(self.reference_state_root, self.reference_time, index, instrument_id, position_leaf, position_siblings, instrument_leaf, instrument_siblings, settlement)
    self.claim_next[index] = k + 1


@external
def claim_close(index: uint256):
    """Record account `index`'s claim, max(0, equity), once every position is counted."""
    assert block.timestamp < self.frozen_at + self.claim_period, "Portal: the claim period is over"
    assert self.claim_leaf[index] != empty(bytes32) and not self.claimed[index], "Portal: no open claim"
    assert self.claim_next[index] == self.claim_count[index], "Portal: positions left to count"
    equity: int256 = self.claim_equity[index]
    amount: uint256 = 0
    if equity > 0:
        amount = convert(equity, uint256)
    self.claimed[index] = True
    self.claims[index] = amount
    if index == 0:
        self.fund_claim = amount
    else:
        self.user_claims_total += amount
    log Claimed(account=index, owner=self.claim_owner[index], equity=equity, claim=amount)


@external
def settle_claim(index: uint256):
    """After the claim period: pay account `index`. Users are paid in full if the pool
    covers their claims, else pro rata; the insurance fund (account 0) takes what is
    left, so it absorbs a shortfall first."""
    assert self.books_recorded and block.timestamp >= self.frozen_at + self.claim_period, "Portal: the claim period is not over"
    assert self.claimed[index] and not self.settled[index], "Portal: nothing to pay"
    if not self.pool_fixed:
        held: uint256 = staticcall self.collateral.balanceOf(self)
        owed: uint256 = self.l2_withdrawals_total - min(self.paid_total, self.l2_withdrawals_total)
        refunds: uint256 = self._refunds_outstanding()
        reserved: uint256 = owed + refunds
        self.pool = held - min(held, reserved)
        self.pool_fixed = True
    amount: uint256 = 0
    if index == 0:
        amount = self.pool - min(self.pool, self.user_claims_total)
        amount = min(amount, self.fund_claim)
    elif self.pool >= self.user_claims_total:
        amount = self.claims[index]
    else:
        amount = self.claims[index] * self.pool // self.user_claims_total
    self.settled[index] = True
    if amount > 0:
        assert extcall self.collateral.transfer(self.claim_owner[index], amount, default_return_value=True), "Portal: transfer failed"
    log EscapePaid(account=index, owner=self.claim_owner[index], amount=amount)


@external
def refund(deposit_id: uint256):
    """Once frozen: return a deposit that never reached L2 to its depositor."""
    assert self.books_recorded, "Portal: the books at the reference are not recorded"
    assert deposit_id >= self.derived_deposits and deposit_id < self.next_deposit_id, "Portal: that deposit reached L2"
    assert not self.refunded[deposit_id], "Portal: already refunded"
    self.refunded[deposit_id] = True
    record: DepositRecord = self.deposits[deposit_id]
    assert extcall self.collateral.transfer(record.depositor, record.amount, default_return_value=True), "Portal: transfer failed"


@view
@internal
def _refunds_outstanding() -> uint256:
    total: uint256 = 0
    for i: uint256 in range(1024):
        deposit_id: uint256 = self.derived_deposits + i
        if deposit_id >= self.next_deposit_id:
            break
        if not self.refunded[deposit_id]:
            total += self.deposits[deposit_id].amount
    return total


@view
@internal
def _newest_final() -> (bool, uint256):
    """The newest final output index, if any (finality is monotone in the index)."""
    n: uint256 = staticcall self.oracle.count()
    for k: uint256 in range(64):
        if k >= n:
            break
        if staticcall self.oracle.is_final(n - 1 - k):
            return True, n - 1 - k
    return False, 0


@view
@internal
def _included(root: bytes32, path: bytes32, value_hash: bytes32, siblings: DynArray[bytes32, MAX_DEPTH]) -> bool:
    """Walk a compact-SMT inclusion proof up from the leaf (docs/design/batch.md §4)."""
    node: bytes32 = keccak256(concat(b"\x00", path, value_hash))
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
    return node == root


@pure
@internal
def _word(raw: Bytes[2048], at: uint256) -> int256:
    return convert(extract32(raw, at), int256)


@pure
@internal
def _floor_div(a: int256, b: int256) -> int256:
    q: int256 = a // b
    if a % b != 0 and (a < 0) != (b < 0):
        q -= 1
    return q


@pure
@internal
def _account_key(index: uint256) -> Bytes[48]:
    return concat(b"\x05\x00\x00\x00\x02\x04\x00\x00\x00\x04acct\x02", convert(index, bytes32))


@view
@internal
def _value(
    state_root: bytes32,
    now: uint256,
    index: uint256,
    account_leaf: Bytes[1400],
    account_siblings: DynArray[bytes32, MAX_DEPTH],
    position_leaves: DynArray[Bytes[133], 32],
    position_siblings: DynArray[DynArray[bytes32, MAX_DEPTH], 32],
    instrument_leaves: DynArray[Bytes[2048], 32],
    instrument_siblings: DynArray[DynArray[bytes32, MAX_DEPTH], 32],
    settlements: DynArray[SettlementProof, 32],
) -> (address, int256):
    assert self._included(state_root, keccak256(self._account_key(index)), keccak256(account_leaf), account_siblings), "Portal: the account leaf is not in the state"
    owner: address = convert(convert(slice(account_leaf, 6, 20), bytes20), address)
    equity: int256 = convert(extract32(account_leaf, 27), int256)
    count: uint256 = convert(slice(account_leaf, 231, 4), uint256)
    assert len(position_leaves) == count and len(instrument_leaves) == count and len(settlements) == count, "Portal: one position and one instrument leaf per open position"
    for k: uint256 in range(32):
        if k >= count:
            break
        instrument_id: uint256 = convert(extract32(account_leaf, 236 + 33 * k), uint256)
        equity += self._position_value(state_root, now, index, instrument_id, position_leaves[k], position_siblings[k], instrument_leaves[k], instrument_siblings[k], settlements[k])
    return owner, equity


@view
@internal
def _position_value(
    state_root: bytes32,
    now: uint256,
    index: uint256,
    instrument_id: uint256,
    position: Bytes[133],
    position_siblings: DynArray[bytes32, MAX_DEPTH],
    inst: Bytes[2048],
    instrument_siblings: DynArray[bytes32, MAX_DEPTH],
    settlement: SettlementProof,
) -> int256:
    """One position's contribution to equity: − pending funding and loss, then its
    value at mark, or its payout if it is an expired option whose price is fixed
    (exactly `positions.pending_payment`, `numeric.value_at_mark`, `expiry.payoff`)."""
    position_key: Bytes[81] = concat(b"\x05\x00\x00\x00\x03\x04\x00\x00\x00\x03pos\x02", convert(index, bytes32), b"\x02", convert(instrument_id, bytes32))
    assert self._included(state_root, keccak256(position_key), keccak256(position), position_siblings), "Portal: a position leaf is not in the state"
    instrument_key: Bytes[48] = concat(b"\x05\x00\x00\x00\x02\x04\x00\x00\x00\x04inst\x02", convert(instrument_id, bytes32))
    assert self._included(state_root, keccak256(instrument_key), keccak256(inst), instrument_siblings), "Portal: an instrument leaf is not in the state"
    size: int256 = convert(extract32(position, 2), int256)
    funding_snap: int256 = convert(extract32(position, 68), int256)
    loss_snap: int256 = convert(extract32(position, 101), int256)
    base: uint256 = 39 + convert(slice(inst, 35, 4), uint256)
    kind: int256 = self._word(inst, base + 1)
    o: uint256 = base + 464
    mark: int256 = self._word(inst, o + 1)
    vector_len: uint256 = convert(slice(inst, o + 133, 4), uint256)
    q: uint256 = o + 137 + 33 * vector_len
    funding_index: int256 = self._word(inst, q + 1)
    loss_index: int256 = self._word(inst, q + 166)
    if size > 0:
        loss_index = self._word(inst, q + 133)
    # pending = ceil(size·ΔF / D) + ceil(|size|·ΔL / D), with ceil(x) = −floor(−x)
    funding: int256 = -self._floor_div(-(size * (funding_index - funding_snap)), INDEX_DENOMINATOR)
    loss: int256 = -self._floor_div(-(abs(size) * (loss_index - loss_snap)), INDEX_DENOMINATOR)
    expiry: int256 = self._word(inst, base + 364)
    if kind != 1 and convert(now, int256) >= expiry:
        # An expired option: its settlement leaf, or proof that none is fixed yet.
        asset: int256 = self._word(inst, base + 34)
        key: Bytes[82] = concat(b"\x05\x00\x00\x00\x03\x04\x00\x00\x00\x06settle\x02", convert(asset, bytes32), b"\x02", convert(expiry, bytes32))
        path: bytes32 = keccak256(key)
        if len(settlement.leaf) > 0:
            assert self._included(state_root, path, keccak256(settlement.leaf), settlement.siblings), "Portal: the settlement leaf is not in the state"
            price: int256 = convert(extract32(settlement.leaf, 2), int256)
            strike: int256 = self._word(inst, base + 397)
            payoff: int256 = max(price - strike, 0)
            if kind == 3:
                payoff = max(strike - price, 0)
            return self._floor_div(size * payoff, SIZE_ONE) - funding - loss
        assert self._excluded(state_root, path, settlement), "Portal: the settlement is not proven absent"
    return self._floor_div(mark * size, SIZE_ONE) - funding - loss


@view
@internal
def _excluded(root: bytes32, path: bytes32, proof: SettlementProof) -> bool:
    """An exclusion proof: the walk along `path` ends at an empty subtree or at
    another single leaf (which shares the walk's prefix)."""
    depth: uint256 = len(proof.siblings)
    node: bytes32 = empty(bytes32)
    bits: uint256 = convert(path, uint256)
    if proof.other_path != empty(bytes32):
        assert proof.other_path != path, "Portal: the other leaf is the leaf itself"
        other: uint256 = convert(proof.other_path, uint256)
        if depth > 0:
            assert (other >> (256 - depth)) == (bits >> (256 - depth)), "Portal: the other leaf is off the path"
        node = keccak256(concat(b"\x00", proof.other_path, proof.other_value))
    for k: uint256 in range(MAX_DEPTH):
        if k >= depth:
            break
        level: uint256 = depth - 1 - k
        sibling: bytes32 = proof.siblings[level]
        if (bits >> (255 - level)) & 1 == 1:
            node = keccak256(concat(b"\x01", sibling, node))
        else:
            node = keccak256(concat(b"\x01", node, sibling))
    return node == root
