# pragma version 0.4.3
"""
@title ownertx
@notice The owner actions' compact encoding (`OWNER_LAYOUTS` of
        rollbook.codec.txcodec, docs/design/batch.md section 3): the length of each
        kind's fields, the checks their constructors make (rollbook.exchange.txs),
        and the low-s rule of EIP-2098 signatures. Shared by `Portal.vy` (forced txs,
        unsigned) and `BatchDecoder.vy` (batch items, signed), so both read one
        layout.
@dev    An owner kind is 0x01..0x06; bit 6 (`UNSIGNED_BIT`) marks one without a
        signature. Offsets below count from the kind byte.
"""

UNSIGNED_BIT: constant(uint256) = 64
SIGNATURE_BYTES: constant(uint256) = 64
SECP256K1_HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168
S_MASK: constant(uint256) = 2**255 - 1  # an EIP-2098 word without its yParity bit
MAX_TX: constant(uint256) = 4096

# What a decoded owner action's constructor refuses (`field_problem`).
FIELDS_OK: constant(uint256) = 0
ZERO_AMOUNT: constant(uint256) = 1  # Withdraw, Transfer: amount in 1..2**64-1
SAME_ACCOUNTS: constant(uint256) = 2  # Transfer: a sender and a different recipient
ZERO_KEY: constant(uint256) = 3  # RegisterKey: the zero address is no key
NOT_A_BOOL: constant(uint256) = 4  # SetMarginMode: portfolio is 0 or 1


@pure
@internal
def body_length(base: uint256) -> uint256:
    """The length of the fields of owner kind `base` (the kind without
    `UNSIGNED_BIT`) between the kind byte and the signature; 0 for no owner kind."""
    if base == 1:
        return 16  # Withdraw: account u32, amount u64, nonce u32
    if base == 2:
        return 20  # Transfer: sender u32, recipient u32, amount u64, nonce u32
    if base == 3:
        return 29  # RegisterKey: account u32, key index u8, key 20, nonce u32
    if base == 4:
        return 9  # RevokeKey: account u32, key index u8, nonce u32
    if base == 5:
        return 8  # NonceFloor: account u32, floor u32
    if base == 6:
        return 9  # SetMarginMode: account u32, portfolio u8, nonce u32
    return 0


@pure
@internal
def field_problem(data: Bytes[MAX_TX], base: uint256) -> uint256:
    """The first constructor check the fields of owner kind `base` in `data` (the
    kind byte first) fail, or `FIELDS_OK`. Data too short for the fields is no
    problem of theirs: the caller refuses its length."""
    if len(data) < 1 + self.body_length(base):
        return FIELDS_OK
    if base == 1:
        if convert(slice(data, 5, 8), uint256) == 0:
            return ZERO_AMOUNT
    elif base == 2:
        if slice(data, 1, 4) == slice(data, 5, 4):
            return SAME_ACCOUNTS
        if convert(slice(data, 9, 8), uint256) == 0:
            return ZERO_AMOUNT
    elif base == 3:
        if convert(slice(data, 6, 20), bytes20) == empty(bytes20):
            return ZERO_KEY
    elif base == 6:
        if convert(slice(data, 5, 1), uint256) > 1:
            return NOT_A_BOOL
    return FIELDS_OK


@pure
@internal
def low_s(word: bytes32) -> bool:
    """Whether an EIP-2098 signature's second word (yParity·2^255 + s) has a low s:
    only a low s has this form (the codec refuses the others)."""
    return convert(word, uint256) & S_MASK <= SECP256K1_HALF_N
