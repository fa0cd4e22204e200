# pragma version 0.4.3
# pragma evm-version prague
"""
@title AccountSteps
@notice The accounts family of the one-step executor: the owner's authority
        (`auth.owner`: the L1 sender, or the owner's EIP-712 signature and tx nonce)
        with what each owner tx does in that step (key registration and revocation,
        the margin mode, the insurance fund's refusal), `debit`, `withdraw.record`,
        `withdraw.leaf` (also a leaf of the withdrawals tree), `transfer.recipient`,
        `transfer.credit` and `nonce_floor`: the rules of
        `rollbook.exchange.accounts`, step by step. Settlement (`settle.*`) is not
        here yet.
@dev    Items: origin u8 | L1 sender 20 | kind (bit 6 set: no signature) | the fields
        (rollbook.codec.txcodec OWNER_LAYOUTS) | EIP-2098 signature (64 bytes).
"""

import steps

AUTH_OWNER: constant(uint256) = 64
DEBIT: constant(uint256) = 65
WITHDRAW_RECORD: constant(uint256) = 66
WITHDRAW_LEAF: constant(uint256) = 67
TRANSFER_RECIPIENT: constant(uint256) = 68
TRANSFER_CREDIT: constant(uint256) = 69
NONCE_FLOOR: constant(uint256) = 70
MARGIN_BEGIN: constant(uint256) = 96

K_WITHDRAW: constant(uint8) = 1
K_TRANSFER: constant(uint8) = 2
K_REGISTER_KEY: constant(uint8) = 3
K_REVOKE_KEY: constant(uint8) = 4
K_NONCE_FLOOR: constant(uint8) = 5
K_SET_MARGIN_MODE: constant(uint8) = 6
UNSIGNED_BIT: constant(uint8) = 64
BASE_MASK: constant(uint8) = 191  # the kind without UNSIGNED_BIT
MAX_KEYS: constant(uint256) = 4

T_WITHDRAW: constant(bytes32) = 0xe969a640f7da664997925d976245ac43b0749f8c18f4cedf1a096cab7cd9c266
T_TRANSFER: constant(bytes32) = 0xa4671b3a3d1829f3e436f62b24ea79b85ca85667b8a1bb0901410bbb1b4a42ac
T_REGISTER_KEY: constant(bytes32) = 0x4b31d5788845bf8dd3724435767e07f7a0ecb13bc88a290bd3ea134bb8991c09
T_REVOKE_KEY: constant(bytes32) = 0x59ed5cde9b54acf9c0a00f37199629b438f33fd5aebfdbc018f2649485064b16
T_NONCE_FLOOR: constant(bytes32) = 0x131633ce73015b56f03605e6b7f84c004a12e3d363914861eac32ecf69365271
T_SET_MARGIN_MODE: constant(bytes32) = 0xb5b000ecf78fc0fd21a6a8011c31a12a0bf90f745666d030e6e35966a590f15c

CODE_UNKNOWN_ACCOUNT: constant(uint256) = 10004
E_UNKNOWN_ACCOUNT: constant(bytes32) = 0x556e6b6e6f776e4163636f756e74000000000000000000000000000000000000  # "UnknownAccount"
E_UNAUTHORIZED: constant(bytes32) = 0x556e617574686f72697a65640000000000000000000000000000000000000000  # "Unauthorized"
E_BAD_SIGNATURE: constant(bytes32) = 0x4261645369676e61747572650000000000000000000000000000000000000000  # "BadSignature"
E_MALFORMED: constant(bytes32) = 0x4d616c666f726d65645478000000000000000000000000000000000000000000  # "MalformedTx"

# Account leaf offsets (rollbook.exchange.leaves.Account).
OWNER_AT: constant(uint256) = 6
KEYS_AT: constant(uint256) = 69  # key i at KEYS_AT + 25 i
NONCE_FLOOR_AT: constant(uint256) = 165
TX_NONCE_AT: constant(uint256) = 198
INSTRUMENTS_AT: constant(uint256) = 231  # u32 count, then 33 bytes per instrument

struct OwnerTx:
    kind: uint8
    signed: bool
    account: uint256  # the sender of a transfer
    recipient: uint256
    amount: uint256
    nonce: uint256
    key_index: uint256
    key: bytes20
    flag: uint256  # the margin mode's portfolio flag, the nonce floor's floor
    struct_hash: bytes32
    signature: Bytes[64]

domain_separator: public(bytes32)


@deploy
def __init__(domain_separator: bytes32):
    self.domain_separator = domain_separator


@pure
@internal
def _u(item: Bytes[steps.MAX_ITEM], at: uint256, size: uint256) -> uint256:
    """The big-endian unsigned field of `size` (1, 4 or 8) bytes at `at`."""
    if size == 1:
        return convert(slice(item, at, 1), uint256)
    if size == 4:
        return convert(slice(item, at, 4), uint256)
    return convert(slice(item, at, 8), uint256)


@pure
@internal
def _word(number: uint256) -> bytes32:
    return convert(number, bytes32)


@pure
@internal
def _decode(item: Bytes[steps.MAX_ITEM]) -> OwnerTx:
    raw: uint8 = convert(slice(item, steps.KIND_AT, 1), uint8)
    kind: uint8 = raw & BASE_MASK
    otx: OwnerTx = empty(OwnerTx)
    otx.kind = kind
    otx.signed = raw & UNSIGNED_BIT == 0
    at: uint256 = 22
    otx.account = self._u(item, at, 4)
    if kind == K_WITHDRAW:
        otx.amount = self._u(item, 26, 8)
        otx.nonce = self._u(item, 34, 4)
        at = 38
        otx.struct_hash = keccak256(concat(T_WITHDRAW, self._word(otx.account), self._word(otx.amount), self._word(otx.nonce)))
    elif kind == K_TRANSFER:
        otx.recipient = self._u(item, 26, 4)
        otx.amount = self._u(item, 30, 8)
        otx.nonce = self._u(item, 38, 4)
        at = 42
        otx.struct_hash = keccak256(concat(T_TRANSFER, self._word(otx.account), self._word(otx.recipient), self._word(otx.amount), self._word(otx.nonce)))
    elif kind == K_REGISTER_KEY:
        otx.key_index = self._u(item, 26, 1)
        otx.key = convert(slice(item, 27, 20), bytes20)
        otx.nonce = self._u(item, 47, 4)
        at = 51
        otx.struct_hash = keccak256(concat(T_REGISTER_KEY, self._word(otx.account), self._word(otx.key_index), convert(otx.key, bytes32) >> 96, self._word(otx.nonce)))
    elif kind == K_REVOKE_KEY:
        otx.key_index = self._u(item, 26, 1)
        otx.nonce = self._u(item, 27, 4)
        at = 31
        otx.struct_hash = keccak256(concat(T_REVOKE_KEY, self._word(otx.account), self._word(otx.key_index), self._word(otx.nonce)))
    elif kind == K_NONCE_FLOOR:
        otx.flag = self._u(item, 26, 4)
        at = 30
        otx.struct_hash = keccak256(concat(T_NONCE_FLOOR, self._word(otx.account), self._word(otx.flag)))
    elif kind == K_SET_MARGIN_MODE:
        otx.flag = self._u(item, 26, 1)
        otx.nonce = self._u(item, 27, 4)
        at = 31
        otx.struct_hash = keccak256(concat(T_SET_MARGIN_MODE, self._word(otx.account), self._word(otx.flag), self._word(otx.nonce)))
    else:
        raise "AccountSteps: not an owner tx"
    if otx.signed:
        assert len(item) == at + 64, "AccountSteps: a signed owner tx ends with its signature"
        otx.signature = slice(item, at, 64)
    else:
        assert len(item) == at, "AccountSteps: an unsigned owner tx has no signature"
    return otx


@view
@internal
def _signer(otx: OwnerTx) -> address:
    """The EIP-712 signer of the tx (EIP-2098 signature; the zero address if none
    recovers)."""
    return steps.signer(
        steps.typed_digest(self.domain_separator, otx.struct_hash),
        convert(slice(otx.signature, 0, 32), uint256),
        convert(slice(otx.signature, 32, 32), uint256),
    )


@pure
@internal
def _owner(leaf: Bytes[steps.MAX_LEAF]) -> address:
    return convert(slice(leaf, OWNER_AT, 20), address)


@pure
@internal
def _key(leaf: Bytes[steps.MAX_LEAF], index: uint256) -> address:
    return convert(slice(leaf, KEYS_AT + 25 * index, 20), address)


@pure
@internal
def _with_key(leaf: Bytes[steps.MAX_LEAF], index: uint256, key: bytes20) -> Bytes[steps.MAX_LEAF]:
    at: uint256 = KEYS_AT + 25 * index
    return steps.fit(concat(slice(leaf, 0, at), key, slice(leaf, at + 20, len(leaf) - at - 20)))


@pure
@internal
def _portfolio(leaf: Bytes[steps.MAX_LEAF]) -> uint256:
    return convert(slice(leaf, len(leaf) - 1, 1), uint256)


@pure
@internal
def _with_portfolio(leaf: Bytes[steps.MAX_LEAF], flag: uint256) -> Bytes[steps.MAX_LEAF]:
    return steps.fit(concat(slice(leaf, 0, len(leaf) - 1), convert(convert(flag, uint8), bytes1)))


@pure
@internal
def _l1_sender(item: Bytes[steps.MAX_ITEM]) -> address:
    return convert(slice(item, 1, 20), address)


@pure
@internal
def _from_l1(item: Bytes[steps.MAX_ITEM]) -> bool:
    return convert(slice(item, 0, 1), uint8) == steps.ORIGIN_L1


@pure
@internal
def _balance_change(leaf: Bytes[steps.MAX_LEAF], delta: int256) -> Bytes[steps.MAX_LEAF]:
    return steps.with_int(leaf, steps.ACCOUNT_BALANCE_AT, steps.int_at(leaf, steps.ACCOUNT_BALANCE_AT) + delta)


@pure
@internal
def _margin(ctx: steps.Context, index: uint256, ret: uint256) -> steps.Context:
    """The context of the account's margin check that returns to step `ret`
    (MarginSteps: carried (account, return step))."""
    carry: int256[steps.CARRY] = empty(int256[steps.CARRY])
    carry[0] = convert(index, int256)
    carry[1] = convert(ret, int256)
    return steps.next_step(ctx, MARGIN_BEGIN, carry)


@external
@pure
def begin(ctx: steps.Context, item: Bytes[steps.MAX_ITEM]) -> steps.Context:
    """The first step of an owner tx: its owner's authority (the nonce floor checks
    its own)."""
    otx: OwnerTx = self._decode(item)
    out: steps.Context = ctx
    out.pc = AUTH_OWNER
    if otx.kind == K_NONCE_FLOOR:
        out.pc = NONCE_FLOOR
    return out


@view
@internal
def _auth(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], otx: OwnerTx, leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    path: bytes32 = steps.int_key(b"acct", otx.account)
    old: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, path)
    if len(old) == 0:
        return nothing, steps.fail(ctx, CODE_UNKNOWN_ACCOUNT, E_UNKNOWN_ACCOUNT)
    new: Bytes[steps.MAX_LEAF] = old
    if self._from_l1(item):
        if otx.signed or self._l1_sender(item) != self._owner(old):
            return nothing, steps.fail(ctx, steps.CODE_UNAUTHORIZED, E_UNAUTHORIZED)
        if otx.nonce != 0:
            return nothing, steps.fail(ctx, steps.CODE_INVALID, steps.E_BAD_NONCE)
    else:
        if not otx.signed or self._signer(otx) != self._owner(old):
            return nothing, steps.fail(ctx, steps.CODE_UNAUTHORIZED, E_BAD_SIGNATURE)
        tx_nonce: int256 = steps.int_at(old, TX_NONCE_AT)
        if convert(otx.nonce, int256) != tx_nonce:
            return nothing, steps.fail(ctx, steps.CODE_INVALID, steps.E_BAD_NONCE)
        new = steps.with_int(old, TX_NONCE_AT, tx_nonce + 1)
    pc: uint256 = steps.TX_END
    if otx.kind == K_WITHDRAW or otx.kind == K_TRANSFER:
        if otx.account == 0:
            return nothing, steps.fail(ctx, steps.CODE_UNAUTHORIZED, E_UNAUTHORIZED)
        pc = DEBIT
        if otx.kind == K_TRANSFER:
            pc = TRANSFER_RECIPIENT
    elif otx.kind == K_REGISTER_KEY:
        if otx.key_index >= MAX_KEYS or self._key(old, otx.key_index) != empty(address):
            return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
        for i: uint256 in range(MAX_KEYS):
            if self._key(old, i) == convert(otx.key, address):
                return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
        new = self._with_key(new, otx.key_index, otx.key)
    elif otx.kind == K_REVOKE_KEY:
        if otx.key_index >= MAX_KEYS or self._key(old, otx.key_index) == empty(address):
            return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
        new = self._with_key(new, otx.key_index, empty(bytes20))
    elif otx.kind == K_SET_MARGIN_MODE:
        if otx.flag == self._portfolio(old):
            return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
        new = self._with_portfolio(new, otx.flag)
        return [steps.change(path, old, new)], self._margin(ctx, otx.account, steps.TX_END)
    return [steps.change(path, old, new)], steps.next1(ctx, pc, 0)


@view
@internal
def _nonce_floor(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], otx: OwnerTx, leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    path: bytes32 = steps.int_key(b"acct", otx.account)
    old: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, path)
    if len(old) == 0:
        return nothing, steps.fail(ctx, CODE_UNKNOWN_ACCOUNT, E_UNKNOWN_ACCOUNT)
    if self._from_l1(item):
        if otx.signed or self._l1_sender(item) != self._owner(old):
            return nothing, steps.fail(ctx, steps.CODE_UNAUTHORIZED, E_UNAUTHORIZED)
    else:
        if not otx.signed:
            return nothing, steps.fail(ctx, steps.CODE_UNAUTHORIZED, E_BAD_SIGNATURE)
        signer: address = self._signer(otx)
        allowed: bool = signer != empty(address) and signer == self._owner(old)
        for i: uint256 in range(MAX_KEYS):
            if signer != empty(address) and signer == self._key(old, i):
                allowed = True
        if not allowed:
            return nothing, steps.fail(ctx, steps.CODE_UNAUTHORIZED, E_BAD_SIGNATURE)
    current: int256 = steps.int_at(old, NONCE_FLOOR_AT)
    if convert(otx.flag, int256) <= current:
        return nothing, steps.fail(ctx, steps.CODE_INVALID, steps.E_BAD_NONCE)
    new: Bytes[steps.MAX_LEAF] = steps.with_int(old, NONCE_FLOOR_AT, convert(otx.flag, int256))
    return [steps.change(path, old, new)], steps.next1(ctx, steps.TX_END, 0)


@view
@external
def rule(
    ctx: steps.Context,
    item: Bytes[steps.MAX_ITEM],
    leaves: DynArray[steps.Leaf, steps.MAX_READS],
    aux: Bytes[steps.MAX_AUX],
) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    otx: OwnerTx = self._decode(item)
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    pc: uint256 = ctx.pc
    if pc == AUTH_OWNER:
        return self._auth(ctx, item, otx, leaves)
    if pc == NONCE_FLOOR:
        return self._nonce_floor(ctx, item, otx, leaves)
    if pc == DEBIT:
        path: bytes32 = steps.int_key(b"acct", otx.account)
        old: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, path)
        assert len(old) > 0, "AccountSteps: the account is missing"
        new: Bytes[steps.MAX_LEAF] = self._balance_change(old, -convert(otx.amount, int256))
        ret: uint256 = WITHDRAW_RECORD
        if otx.kind == K_TRANSFER:
            ret = TRANSFER_CREDIT
        return [steps.change(path, old, new)], self._margin(ctx, otx.account, ret)
    if pc == TRANSFER_RECIPIENT:
        if len(steps.leaf(leaves, steps.int_key(b"acct", otx.recipient))) == 0:
            return nothing, steps.fail(ctx, CODE_UNKNOWN_ACCOUNT, E_UNKNOWN_ACCOUNT)
        return nothing, steps.next1(ctx, DEBIT, 0)
    if pc == TRANSFER_CREDIT:
        path: bytes32 = steps.int_key(b"acct", otx.recipient)
        old: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, path)
        assert len(old) > 0, "AccountSteps: the recipient is missing"
        new: Bytes[steps.MAX_LEAF] = self._balance_change(old, convert(otx.amount, int256))
        return [steps.change(path, old, new)], steps.next1(ctx, steps.TX_END, 0)
    if pc == WITHDRAW_RECORD:
        gpath: bytes32 = steps.globals_path()
        glob: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, gpath)
        account: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.int_key(b"acct", otx.account))
        assert len(glob) > 0 and len(account) > 0, "AccountSteps: a leaf is missing"
        at: uint256 = steps.field_at(steps.G_NEXT_WITHDRAWAL)
        withdrawal_id: int256 = steps.int_at(glob, at)
        new: Bytes[steps.MAX_LEAF] = steps.with_int(glob, at, withdrawal_id + 1)
        total: uint256 = steps.field_at(steps.G_TOTAL_WITHDRAWALS)
        new = steps.with_int(new, total, steps.int_at(glob, total) + convert(otx.amount, int256))
        carry: int256[steps.CARRY] = empty(int256[steps.CARRY])
        carry[0] = withdrawal_id
        carry[1] = convert(convert(convert(self._owner(account), uint160), uint256), int256)
        return [steps.change(gpath, glob, new)], steps.next_step(ctx, WITHDRAW_LEAF, carry)
    if pc == WITHDRAW_LEAF:
        path: bytes32 = steps.int_key(b"wd", convert(ctx.carry[0], uint256))
        old: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, path)
        owner: bytes20 = convert(convert(convert(ctx.carry[1], uint256), uint160), bytes20)
        leaf: Bytes[steps.MAX_LEAF] = concat(b"\x08\x03\x00\x00\x00\x14", owner, b"\x02", convert(otx.amount, bytes32))
        change: steps.Change = steps.change(path, old, leaf)
        change.withdrawal = True
        return [change], steps.next1(ctx, steps.TX_END, 0)
    raise "AccountSteps: not an accounts step"
