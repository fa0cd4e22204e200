# pragma version 0.4.3
"""
@title govtx
@notice The governance txs' encoding (`decode_governance` of rollbook.codec.txcodec,
        the tagged values of `rollbook.exchange.leaves.encode_value`) and the checks
        their constructors make (rollbook.exchange.txs): `check` reverts, with the
        reason, exactly when the codec would not decode the bytes, or when they are
        longer than the executor can load (`MAX_TX_BYTES`). The Timelock runs it
        when a tx is scheduled, so every governance input in the `InputQueue` decodes
        and the one-step executor's `GovernanceSteps` may read it at fixed offsets
        (docs/design/fraud-proofs.md section 2).
@dev    A value is a tag, then: 0x01 bool (one byte, 0 or 1); 0x02 int (32 bytes, two's
        complement); 0x04 text (u32 length, the bytes); 0x05 tuple (u32 count, the
        items). Every kind has a fixed shape, so the walk expects each tag in turn.
        Text is printable ASCII here (a symbol) or upper-case letters and digits (an
        underlying), which the constructors require, so no UTF-8 is decoded.
"""

MAX_GOV_BYTES: constant(uint256) = 4096  # what the Timelock's ABI takes
# The most a governance tx may be: its queue item (origin, sender, data) must fit the
# executor's `steps.MAX_ITEM` (4,096) for `tx.load` to read it. Longer txs decode in
# Python but are refused here (a test binds the numbers).
MAX_TX_BYTES: constant(uint256) = 4096 - 21
U64_MAX: constant(uint256) = 2**64 - 1
U16_MAX: constant(uint256) = 2**16 - 1
MAX_STRIKES: constant(uint256) = 32
INSTRUMENT_FIELDS: constant(uint256) = 30  # rollbook.exchange.leaves.Instrument
PERPETUAL: constant(uint256) = 1
INT_BYTES: constant(uint256) = 33  # an int value: its tag and its word
K_LIST_INSTRUMENT: constant(uint256) = 12
K_LIST_OPTION_CHAIN: constant(uint256) = 13
K_SET_INSTRUMENT_PARAMS: constant(uint256) = 14
K_SET_ORACLE: constant(uint256) = 15
K_SET_RISK_PARAMS: constant(uint256) = 16


@pure
@internal
def _need(data: Bytes[MAX_GOV_BYTES], at: uint256, n: uint256):
    assert at + n <= len(data), "govtx: the governance tx ends early"


@pure
@internal
def _tag(data: Bytes[MAX_GOV_BYTES], at: uint256, tag: uint256):
    self._need(data, at, 1)
    assert convert(slice(data, at, 1), uint256) == tag, "govtx: a field has the wrong type"


@pure
@internal
def _tuple(data: Bytes[MAX_GOV_BYTES], at: uint256) -> (uint256, uint256):
    """A tuple's item count and the offset of its first item."""
    self._tag(data, at, 5)
    self._need(data, at + 1, 4)
    return convert(slice(data, at + 1, 4), uint256), at + 5


@pure
@internal
def _fields(data: Bytes[MAX_GOV_BYTES], at: uint256, count: uint256) -> uint256:
    """A tuple of exactly `count` fields (a constructor takes no more, no fewer)."""
    n: uint256 = 0
    first: uint256 = 0
    n, first = self._tuple(data, at)
    assert n == count, "govtx: wrong number of fields"
    return first


@pure
@internal
def _int(data: Bytes[MAX_GOV_BYTES], at: uint256) -> (int256, uint256):
    self._tag(data, at, 2)
    self._need(data, at + 1, 32)
    return extract32(data, at + 1, output_type=int256), at + INT_BYTES


@pure
@internal
def _u64(data: Bytes[MAX_GOV_BYTES], at: uint256, low: uint256) -> (uint256, uint256):
    """An int in [low, 2**64 - 1] (`_check_range`, `_check_ints`)."""
    value: int256 = 0
    after: uint256 = 0
    value, after = self._int(data, at)
    assert value >= convert(low, int256) and value <= convert(U64_MAX, int256), "govtx: a number is out of range"
    return convert(value, uint256), after


@pure
@internal
def _u64s(data: Bytes[MAX_GOV_BYTES], at: uint256, count: uint256) -> uint256:
    after: uint256 = at
    for i: uint256 in range(14):
        if i == count:
            break
        x: uint256 = 0
        x, after = self._u64(data, after, 0)
    return after


@pure
@internal
def _bool(data: Bytes[MAX_GOV_BYTES], at: uint256) -> uint256:
    self._tag(data, at, 1)
    self._need(data, at + 1, 1)
    assert convert(slice(data, at + 1, 1), uint256) <= 1, "govtx: a boolean is 0 or 1"
    return at + 2


@pure
@internal
def _text(data: Bytes[MAX_GOV_BYTES], at: uint256) -> (uint256, uint256):
    """A text value: the offset of its bytes and their number."""
    self._tag(data, at, 4)
    self._need(data, at + 1, 4)
    length: uint256 = convert(slice(data, at + 1, 4), uint256)
    self._need(data, at + 5, length)
    return at + 5, length


@pure
@internal
def _symbol(data: Bytes[MAX_GOV_BYTES], at: uint256) -> uint256:
    """A listing's symbol: printable ASCII without spaces (0x21..0x7e)."""
    start: uint256 = 0
    length: uint256 = 0
    start, length = self._text(data, at)
    for i: uint256 in range(MAX_GOV_BYTES):
        if i == length:
            break
        b: uint256 = convert(slice(data, start + i, 1), uint256)
        assert b >= 33 and b <= 126, "govtx: a symbol is printable ASCII without spaces"
    return start + length


@pure
@internal
def _underlying(data: Bytes[MAX_GOV_BYTES], at: uint256) -> uint256:
    """An option chain's underlying: 1..8 upper-case letters and digits, a letter
    among them (`isascii`, `isalnum` and `isupper`)."""
    start: uint256 = 0
    length: uint256 = 0
    start, length = self._text(data, at)
    assert length > 0 and length <= 8, "govtx: an underlying is 1..8 characters"
    letters: uint256 = 0
    for i: uint256 in range(8):
        if i == length:
            break
        b: uint256 = convert(slice(data, start + i, 1), uint256)
        if b >= 65 and b <= 90:
            letters += 1
        else:
            assert b >= 48 and b <= 57, "govtx: an underlying is upper-case letters and digits"
    assert letters > 0, "govtx: an underlying is upper-case letters and digits"
    return start + length


@pure
@internal
def _list_instrument(data: Bytes[MAX_GOV_BYTES]) -> uint256:
    """One Instrument of 30 fields: integers, the symbol (text), `active` (a bool),
    `vector` (a tuple of integers); the kind is a perpetual's."""
    at: uint256 = self._fields(data, 1, 1)
    at = self._fields(data, at, INSTRUMENT_FIELDS)
    value: int256 = 0
    value, at = self._int(data, at)  # instrument_id
    at = self._symbol(data, at)
    value, at = self._int(data, at)
    assert value == convert(PERPETUAL, int256), "govtx: a listing lists a perpetual"
    for i: uint256 in range(13):  # asset .. strike, im floor
        value, at = self._int(data, at)
    at = self._bool(data, at)  # active
    for i: uint256 in range(4):  # mark, mark time, mark index, mark vol
        value, at = self._int(data, at)
    count: uint256 = 0
    count, at = self._tuple(data, at)  # vector
    assert count <= (len(data) - at) // INT_BYTES, "govtx: the governance tx ends early"
    for i: uint256 in range(MAX_GOV_BYTES // INT_BYTES):
        if i == count:
            break
        value, at = self._int(data, at)
    for i: uint256 in range(8):  # funding .. pool
        value, at = self._int(data, at)
    return at


@pure
@internal
def _list_option_chain(data: Bytes[MAX_GOV_BYTES]) -> uint256:
    at: uint256 = self._fields(data, 1, 14)
    first_id: uint256 = 0
    first_id, at = self._u64(data, at, 0)
    at = self._underlying(data, at)
    at = self._u64s(data, at, 2)  # asset, expiry
    count: uint256 = 0
    count, at = self._tuple(data, at)
    assert count > 0 and count <= MAX_STRIKES, "govtx: a chain lists 1..32 strikes"
    previous: uint256 = 0
    for i: uint256 in range(MAX_STRIKES):
        if i == count:
            break
        strike: uint256 = 0
        strike, at = self._u64(data, at, 1)
        assert strike > previous, "govtx: strikes must be strictly increasing"
        previous = strike
    at = self._u64s(data, at, 9)  # tick, lot, the margin fractions, fees, max OI
    assert first_id + 2 * count - 1 <= U16_MAX, "govtx: the chain's instrument ids exceed u16"
    return at


@pure
@internal
def _set_oracle(data: Bytes[MAX_GOV_BYTES]) -> uint256:
    at: uint256 = self._fields(data, 1, 4)
    count: uint256 = 0
    count, at = self._tuple(data, at)
    assert count <= (len(data) - at) // 25, "govtx: the governance tx ends early"
    for i: uint256 in range(MAX_GOV_BYTES // 25):
        if i == count:
            break
        self._tag(data, at, 3)
        self._need(data, at + 1, 4)
        assert convert(slice(data, at + 1, 4), uint256) == 20, "govtx: an oracle signer is a 20-byte address"
        self._need(data, at + 5, 20)
        at += 25
    return self._u64s(data, at, 3)  # threshold, staleness, max move


@pure
@internal
def check(data: Bytes[MAX_GOV_BYTES]):
    """Revert, with the reason, unless `data` (the kind byte first) is a governance
    tx the codec decodes."""
    self._need(data, 0, 1)
    assert len(data) <= MAX_TX_BYTES, "govtx: a governance tx is at most 4,075 bytes"
    kind: uint256 = convert(slice(data, 0, 1), uint256)
    at: uint256 = 0
    if kind == K_LIST_INSTRUMENT:
        at = self._list_instrument(data)
    elif kind == K_LIST_OPTION_CHAIN:
        at = self._list_option_chain(data)
    elif kind == K_SET_INSTRUMENT_PARAMS:
        at = self._bool(data, self._u64s(data, self._fields(data, 1, 9), 8))
    elif kind == K_SET_ORACLE:
        at = self._set_oracle(data)
    elif kind == K_SET_RISK_PARAMS:
        at = self._u64s(data, self._fields(data, 1, 4), 4)
    else:
        raise "govtx: not a governance tx kind"
    assert at == len(data), "govtx: bytes after the governance tx"
