# pragma version 0.4.3
"""
@title steps
@notice What the one-step executor (`StepExecutor.vy`) and its step families (one
        contract per family: `DepositSteps.vy`, ...) share: the step context, the
        leaves a step reads and the changes it makes, the leaf encodings, the
        contexts after a step, and EIP-712 digests with EIP-2098 signer recovery
        (owners' txs and orders). docs/design/fraud-proofs.md section 2;
        `rollbook.chain.trace` is the Python side.
"""

CARRY: constant(uint256) = 16
MAX_ITEM: constant(uint256) = 4096
MAX_LEAF: constant(uint256) = 2048
MAX_READS: constant(uint256) = 5
MAX_WRITES: constant(uint256) = 5
MAX_AUX: constant(uint256) = 2048
FAMILY_SIZE: constant(uint256) = 32

# Step ids: rollbook.chain.trace.FAMILIES (FAMILY_SIZE per family).
TX_LOAD: constant(uint256) = 1
TX_END: constant(uint256) = 2
SEAL: constant(uint256) = 3

# Tx items: origin u8 | L1 sender 20 | the tx's standalone encoding (kind first).
ORIGIN_L1: constant(uint8) = 1
KIND_AT: constant(uint256) = 21

# Leaf encodings (rollbook.exchange.leaves): a tag byte, then each field as 0x02 + 32
# bytes for an int, 0x03 + u32 length + bytes, 0x05 + u32 count + items, 0x01 + a byte.
TAG_ACCOUNT: constant(uint8) = 1
TAG_GLOBALS: constant(uint8) = 7
TAG_OWNER_INDEX: constant(uint8) = 9
G_NEXT_ACCOUNT: constant(uint256) = 0
G_NEXT_DEPOSIT: constant(uint256) = 1
G_NEXT_WITHDRAWAL: constant(uint256) = 2
G_FEES: constant(uint256) = 3
G_TOTAL_DEPOSITS: constant(uint256) = 4
G_TOTAL_WITHDRAWALS: constant(uint256) = 5
ACCOUNT_BALANCE_AT: constant(uint256) = 27

# Receipts of refused txs: the Deribit code and the error's class name.
CODE_UNAUTHORIZED: constant(uint256) = 13009
CODE_INVALID: constant(uint256) = 11029
E_WRONG_ORIGIN: constant(bytes32) = 0x57726f6e674f726967696e000000000000000000000000000000000000000000  # "WrongOrigin"
E_BAD_NONCE: constant(bytes32) = 0x4261644e6f6e6365000000000000000000000000000000000000000000000000  # "BadNonce"

struct Context:
    block: bytes32
    timestamp: uint256
    tx_index: uint256
    next_input: uint256  # the L1 input queue's entry the block takes next
    next_sequenced: uint256  # the batch item of the next sequenced tx
    sequenced_end: uint256  # the batch item after the block's last
    batch: uint256  # the inbox record of the block's batch
    batch_table: bytes32  # keccak(the batch's instrument table || its time u64)
    receipts: bytes32
    tx_hash: bytes32
    pc: uint256
    step: uint256
    tx_pre_root: bytes32
    tx_pre_withdrawals: bytes32
    failed: uint256
    code: uint256
    error: bytes32
    carry: int256[CARRY]

# The offsets of an instrument leaf's fields (rollbook.exchange.leaves.Instrument):
# each int's 32-byte value; `symbol`, `active` and `vector` at their tag byte.
struct InstrumentAt:
    symbol: uint256
    kind: uint256
    asset: uint256
    tick: uint256
    lot: uint256
    im_ppm: uint256
    mm_ppm: uint256
    maker_fee_ppm: uint256
    taker_fee_ppm: uint256
    liq_fee_ppm: uint256
    funding_cap_ppm: uint256
    max_open_interest: uint256
    expiry: uint256
    strike: uint256
    im_floor_ppm: uint256
    active: uint256
    mark: uint256
    mark_time: uint256
    mark_index: uint256
    mark_vol: uint256
    vector: uint256
    funding_index: uint256
    funding_hour: uint256
    premium_sum_ppm: uint256
    premium_samples: uint256
    loss_long: uint256
    loss_short: uint256
    open_interest: uint256
    pool: uint256

struct Leaf:
    path: bytes32
    data: Bytes[MAX_LEAF]  # empty: no leaf at the path

struct Change:
    path: bytes32
    has_old: bool
    old: bytes32
    has_new: bool
    new: bytes32
    withdrawal: bool  # also a leaf of the withdrawals tree


# -- contexts ------------------------------------------------------------------------


@pure
@internal
def next_step(ctx: Context, pc: uint256, carry: int256[CARRY]) -> Context:
    """The context after a step that succeeded: `pc` runs next, carrying `carry`."""
    out: Context = ctx
    out.pc = pc
    out.step = ctx.step + 1
    out.carry = carry
    return out


@pure
@internal
def next1(ctx: Context, pc: uint256, carry0: int256) -> Context:
    carry: int256[CARRY] = empty(int256[CARRY])
    carry[0] = carry0
    return self.next_step(ctx, pc, carry)


@pure
@internal
def fail(ctx: Context, code: uint256, error: bytes32) -> Context:
    """The context after a step that refused the tx: only `tx.end` remains."""
    out: Context = ctx
    out.pc = TX_END
    out.step = ctx.step + 1
    out.failed = 1
    out.code = code
    out.error = error
    out.carry = empty(int256[CARRY])
    return out


@pure
@internal
def refuse(ctx: Context, code: uint256, error: bytes32) -> Context:
    """A tx refused at its load, before its first step."""
    out: Context = self.fail(ctx, code, error)
    out.step = 0
    return out


# -- leaves and keys -----------------------------------------------------------------


@pure
@internal
def int_key(kind: Bytes[8], number: uint256) -> bytes32:
    """The path of a leaf keyed (kind, int): keccak(encode_key)."""
    return keccak256(concat(
        b"\x05\x00\x00\x00\x02\x04",
        convert(convert(len(kind), uint32), bytes4),
        kind,
        b"\x02",
        convert(number, bytes32),
    ))


@pure
@internal
def globals_path() -> bytes32:
    return keccak256(b"\x05\x00\x00\x00\x01\x04\x00\x00\x00\x06global")


@pure
@internal
def owner_path(owner: bytes20) -> bytes32:
    return keccak256(concat(b"\x05\x00\x00\x00\x02\x04\x00\x00\x00\x05owner\x03\x00\x00\x00\x14", owner))


@pure
@internal
def int_at(leaf: Bytes[MAX_LEAF], at: uint256) -> int256:
    return extract32(leaf, at, output_type=int256)


@pure
@internal
def field_at(index: uint256) -> uint256:
    """The offset of the `index`-th int of a leaf whose fields are all ints."""
    return 2 + 33 * index


@pure
@internal
def fit(raw: Bytes[2 * MAX_LEAF + 32]) -> Bytes[MAX_LEAF]:
    """`raw` as a leaf (Vyper types a concatenation by the sum of its parts' bounds;
    this checks the real length against the leaf bound)."""
    return abi_decode(abi_encode(raw), Bytes[MAX_LEAF])


@pure
@internal
def with_int(leaf: Bytes[MAX_LEAF], at: uint256, number: int256) -> Bytes[MAX_LEAF]:
    """The leaf with the 32-byte int at `at` replaced."""
    return self.fit(concat(slice(leaf, 0, at), convert(number, bytes32), slice(leaf, at + 32, len(leaf) - at - 32)))


@pure
@internal
def new_account(owner: bytes20, balance: int256) -> Bytes[MAX_LEAF]:
    no_key: Bytes[25] = b"\x03\x00\x00\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    return concat(
        b"\x01\x03\x00\x00\x00\x14", owner,
        b"\x02", convert(balance, bytes32),
        b"\x05\x00\x00\x00\x04", no_key, no_key, no_key, no_key,
        b"\x02", empty(bytes32),
        b"\x02", empty(bytes32),
        b"\x05\x00\x00\x00\x00",
        b"\x01\x00",
    )


@pure
@internal
def floor_div(a: int256, d: int256) -> int256:
    """`a / d` rounded toward −∞ (`d` > 0), as Python's `//`."""
    q: int256 = a // d
    if a % d != 0 and a < 0:
        q -= 1
    return q


@pure
@internal
def ceil_div(a: int256, d: int256) -> int256:
    """`a / d` rounded toward +∞ (`d` > 0): rollbook.exchange.numeric.div UP."""
    return -self.floor_div(-a, d)


@pure
@internal
def u32(leaf: Bytes[MAX_LEAF], at: uint256) -> uint256:
    return convert(slice(leaf, at, 4), uint256)


@pure
@internal
def instrument_at(leaf: Bytes[MAX_LEAF]) -> InstrumentAt:
    """Field 0 (the id, 33 bytes after the tag), the symbol (0x04, u32 length), ints
    2-15, `active` (0x01 and a byte), ints 17-20, the vector (0x05, u32 count, 33
    bytes each), ints 22-29."""
    p: uint256 = 34 + 5 + self.u32(leaf, 35)  # field 2's tag
    q: uint256 = p + 33 * 14 + 2  # field 17's tag
    t: uint256 = q + 33 * 4  # the vector's tag
    u: uint256 = t + 5 + 33 * self.u32(leaf, t + 1)  # field 22's tag
    return InstrumentAt(
        symbol=34,
        kind=p + 1,
        asset=p + 33 + 1,
        tick=p + 66 + 1,
        lot=p + 99 + 1,
        im_ppm=p + 132 + 1,
        mm_ppm=p + 165 + 1,
        maker_fee_ppm=p + 198 + 1,
        taker_fee_ppm=p + 231 + 1,
        liq_fee_ppm=p + 264 + 1,
        funding_cap_ppm=p + 297 + 1,
        max_open_interest=p + 330 + 1,
        expiry=p + 363 + 1,
        strike=p + 396 + 1,
        im_floor_ppm=p + 429 + 1,
        active=p + 462,
        mark=q + 1,
        mark_time=q + 33 + 1,
        mark_index=q + 66 + 1,
        mark_vol=q + 99 + 1,
        vector=t,
        funding_index=u + 1,
        funding_hour=u + 33 + 1,
        premium_sum_ppm=u + 66 + 1,
        premium_samples=u + 99 + 1,
        loss_long=u + 132 + 1,
        loss_short=u + 165 + 1,
        open_interest=u + 198 + 1,
        pool=u + 231 + 1,
    )


@pure
@internal
def leaf(leaves: DynArray[Leaf, MAX_READS], path: bytes32) -> Bytes[MAX_LEAF]:
    """The leaf at `path` before the step (empty if none): the executor checked every
    read against the pre-root."""
    for entry: Leaf in leaves:
        if entry.path == path:
            return entry.data
    raise "steps: the witness lacks a leaf the step reads"


@pure
@internal
def change(path: bytes32, old: Bytes[MAX_LEAF], new: Bytes[MAX_LEAF]) -> Change:
    old_hash: bytes32 = empty(bytes32)
    new_hash: bytes32 = empty(bytes32)
    if len(old) > 0:
        old_hash = keccak256(old)
    if len(new) > 0:
        new_hash = keccak256(new)
    return Change(path=path, has_old=len(old) > 0, old=old_hash, has_new=len(new) > 0, new=new_hash, withdrawal=False)


# -- signatures ----------------------------------------------------------------------


@pure
@internal
def typed_digest(domain_separator: bytes32, struct_hash: bytes32) -> bytes32:
    """The EIP-712 digest of a struct hash in a domain (rollbook.crypto.eip712)."""
    return keccak256(concat(b"\x19\x01", domain_separator, struct_hash))


@view
@internal
def signer(digest: bytes32, r: uint256, vs: uint256) -> address:
    """The signer of `digest` by an EIP-2098 signature (r, yParity·2^255 + s; the
    codec refuses a high s), or the zero address if none recovers: a caller must
    refuse the zero address before comparing it with keys (an unused key is zero)."""
    s: uint256 = vs & (max_value(uint256) >> 1)
    v: uint256 = 27 + (vs >> 255)
    return ecrecover(digest, v, r, s)
