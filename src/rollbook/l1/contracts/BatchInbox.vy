# pragma version 0.4.3
# pragma evm-version prague
"""
@title BatchInbox
@notice Records each batch the batcher posts (docs/design/batch.md section 2): the
        keccak of its data and of its head, the Merkle root of its items and their
        count, and the L1 block. The root is computed here from the data, never taken
        from the batcher: the inbox finds the items from the head's two counts and
        walks their length frames, and refuses a batch whose frames do not end
        exactly at its end. Derivation reads the data from the tx's calldata; the
        record lets #7's one-step proof show an item under the root and decode it.
"""

import txroot

MAX_BATCH_BYTES: constant(uint256) = 120000
COUNTS_OFFSET: constant(uint256) = 81
TABLE_ENTRY: constant(uint256) = 18
BLOCK_ENTRY: constant(uint256) = 18
LONG_FRAME: constant(uint256) = 255
MAX_ITEM_BYTES: constant(uint256) = 4096
MAX_ITEMS: constant(uint256) = 60000  # a framed item is at least 2 bytes

struct Record:
    data_hash: bytes32
    head_hash: bytes32
    tx_root: bytes32
    items: uint256
    l1_block: uint256

event BatchPosted:
    index: indexed(uint256)
    data_hash: indexed(bytes32)
    tx_root: bytes32
    items: uint256
    size: uint256

batcher: public(address)
records: public(HashMap[uint256, Record])
count: public(uint256)


@deploy
def __init__(batcher: address):
    self.batcher = batcher


@pure
@internal
def _uint(data: Bytes[MAX_BATCH_BYTES], at: uint256, width: uint256) -> uint256:
    assert at + width <= len(data), "BatchInbox: the batch ends inside a field"
    return convert(extract32(concat(data, empty(bytes32)), at), uint256) >> (256 - 8 * width)


@external
def post(data: Bytes[MAX_BATCH_BYTES]):
    assert msg.sender == self.batcher, "BatchInbox: only the batcher posts"
    n: uint256 = len(data)
    instruments: uint256 = self._uint(data, COUNTS_OFFSET, 1)
    at: uint256 = COUNTS_OFFSET + 1 + TABLE_ENTRY * instruments
    blocks: uint256 = self._uint(data, at, 2)
    start: uint256 = at + 2 + BLOCK_ENTRY * blocks
    assert start <= n, "BatchInbox: the batch ends inside its head"
    frontier: bytes32[txroot.DEPTH] = empty(bytes32[txroot.DEPTH])
    items: uint256 = 0
    cursor: uint256 = start
    for i: uint256 in range(MAX_ITEMS):
        if cursor == n:
            break
        size: uint256 = self._uint(data, cursor, 1)
        cursor += 1
        if size == LONG_FRAME:
            size = self._uint(data, cursor, 2)
            cursor += 2
            assert size >= LONG_FRAME, "BatchInbox: a short item has a long frame"
        assert size > 0 and size <= MAX_ITEM_BYTES, "BatchInbox: an item is 1..4096 bytes"
        assert cursor + size <= n, "BatchInbox: the batch ends inside an item"
        leaf: bytes32 = keccak256(concat(b"\x00", slice(data, cursor, size)))
        frontier = txroot.push(frontier, items, leaf)
        items += 1
        cursor += size
    assert cursor == n, "BatchInbox: too many items"
    root: bytes32 = txroot.frontier_root(frontier, items)
    digest: bytes32 = keccak256(data)
    index: uint256 = self.count
    self.records[index] = Record(
        data_hash=digest, head_hash=keccak256(slice(data, 0, start)), tx_root=root,
        items=items, l1_block=block.number,
    )
    self.count = index + 1
    log BatchPosted(index=index, data_hash=digest, tx_root=root, items=items, size=n)
