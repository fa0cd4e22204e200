# pragma version 0.4.3
# pragma evm-version prague
"""
@title BatchInbox
@notice Records each batch the batcher posts (docs/design/batch.md section 2): the
        keccak of its data and of its head, the Merkle root of its items and their
        count, its blocks' place among all batch blocks, and the L1 block. The root
        is computed here from the data, never taken from the batcher: the inbox finds
        the items from the head's two counts and walks their length frames, and
        refuses a batch whose frames do not end exactly at its end.
        The inbox also holds the chain's rules on a batch's head
        (rollbook.chain.derive.inbox_accepts, rule 2), so a batch it records is never
        skipped: the version and chain id; `first_block` continues its count of batch
        blocks (a batch is never posted twice or skipped); the instrument table's ids
        increase and its ticks and lots are positive; 1..128 blocks whose tx counts
        add up to the items; L1 origins never go back and are `depth` blocks deep;
        timestamps never go back and are within `max_drift` seconds of this block's.
        Derivation reads the data from the tx's calldata; the record lets #7's
        one-step proof find a block's batch, check its time and origin, and show an
        item under the root to decode it.
        Forced inclusion (Arbitrum's `forceInclusion`): once an L1 input has waited
        `window` seconds and no batch block's origin has taken it, anyone records a
        batch of one empty block whose origin takes it (`force_include`). So every L2
        block comes from this inbox, and a sequencer that censors an input only
        delays it by the window.
"""

import txroot

MAX_BATCH_BYTES: constant(uint256) = 120000
VERSION: constant(uint256) = 2
COUNTS_OFFSET: constant(uint256) = 17
MAX_BLOCKS: constant(uint256) = 128
MAX_INSTRUMENTS: constant(uint256) = 255
TABLE_ENTRY: constant(uint256) = 18
BLOCK_ENTRY: constant(uint256) = 18
LONG_FRAME: constant(uint256) = 255
MAX_ITEM_BYTES: constant(uint256) = 4096
MAX_ITEMS: constant(uint256) = 60000  # a framed item is at least 2 bytes
FORCED_HEAD: constant(uint256) = 38  # the head of one empty block and no table
MIN_HEAD: constant(uint256) = 38
MAX_PADDED: constant(uint256) = 120032

struct Record:
    data_hash: bytes32
    head_hash: bytes32
    tx_root: bytes32
    items: uint256
    first_block: uint256
    blocks: uint256
    l1_block: uint256

interface InputQueue:
    def entries(index: uint256) -> (bytes32, uint256, uint256): view
    def count() -> uint256: view

event ForcedBatch:
    index: indexed(uint256)
    data: Bytes[FORCED_HEAD]

event BatchPosted:
    index: indexed(uint256)
    data_hash: indexed(bytes32)
    tx_root: bytes32
    items: uint256
    size: uint256

batcher: public(address)
queue: public(InputQueue)
chain_id: public(uint256)
depth: public(uint256)
max_drift: public(uint256)
window: public(uint256)
records: public(HashMap[uint256, Record])
count: public(uint256)
# The inbox's cursor: batch blocks so far, and the last one's timestamp and origin.
blocks: public(uint256)
last_timestamp: public(uint256)
last_origin: public(uint256)


@deploy
def __init__(batcher: address, queue: InputQueue, chain_id: uint256, depth: uint256, max_drift: uint256, window: uint256):
    self.batcher = batcher
    self.queue = queue
    self.chain_id = chain_id
    self.depth = depth
    self.max_drift = max_drift
    self.window = window


@pure
@internal
def _field(word: bytes32, width: uint256) -> uint256:
    """The big-endian `width`-byte integer a word starts with."""
    return convert(word, uint256) >> (256 - 8 * width)


@external
def post(data: Bytes[MAX_BATCH_BYTES]):
    """Record a batch (the frames walked and the root computed here). The data is read
    in this frame only: an internal call would copy all of it (Vyper passes `Bytes` by
    value), so each read is one word extracted from one copy padded with a zero word
    (a field in the last 32 bytes reads whole)."""
    assert msg.sender == self.batcher, "BatchInbox: only the batcher posts"
    n: uint256 = len(data)
    assert n >= MIN_HEAD, "BatchInbox: a batch is at least a head of one block"
    padded: Bytes[MAX_PADDED] = concat(data, empty(bytes32))
    assert self._field(extract32(padded, 0), 1) == VERSION, "BatchInbox: unknown batch version"
    assert self._field(extract32(padded, 1), 8) == self.chain_id, "BatchInbox: a batch for another chain"
    first: uint256 = self._field(extract32(padded, 9), 8)
    assert first == self.blocks, "BatchInbox: the batch does not continue the inbox's blocks"
    instruments: uint256 = self._field(extract32(padded, COUNTS_OFFSET), 1)
    at: uint256 = COUNTS_OFFSET + 1
    assert at + TABLE_ENTRY * instruments + 2 <= n, "BatchInbox: the batch ends inside a field"
    previous: uint256 = 0
    for i: uint256 in range(MAX_INSTRUMENTS):
        if i >= instruments:
            break
        id: uint256 = self._field(extract32(padded, at), 2)
        assert i == 0 or id > previous, "BatchInbox: instrument ids must increase"
        tick: uint256 = self._field(extract32(padded, at + 2), 8)
        lot: uint256 = self._field(extract32(padded, at + 10), 8)
        assert tick > 0 and lot > 0, "BatchInbox: tick and lot must be positive"
        previous = id
        at += TABLE_ENTRY
    blocks: uint256 = self._field(extract32(padded, at), 2)
    assert blocks > 0 and blocks <= MAX_BLOCKS, "BatchInbox: a batch holds 1..128 blocks"
    at += 2
    assert at + BLOCK_ENTRY * blocks <= n, "BatchInbox: the batch ends inside a field"
    timestamp: uint256 = self.last_timestamp
    origin: uint256 = self.last_origin
    txs: uint256 = 0
    for j: uint256 in range(MAX_BLOCKS):
        if j >= blocks:
            break
        t: uint256 = self._field(extract32(padded, at), 8)
        o: uint256 = self._field(extract32(padded, at + 8), 8)
        txs += self._field(extract32(padded, at + 16), 2)
        assert o >= origin, "BatchInbox: an L1 origin goes back"
        assert o + self.depth <= block.number, "BatchInbox: an L1 origin is not deep enough"
        assert t >= timestamp, "BatchInbox: a timestamp goes back"
        assert t + self.max_drift >= block.timestamp and t <= block.timestamp + self.max_drift, "BatchInbox: a timestamp is too far from L1's"
        timestamp = t
        origin = o
        at += BLOCK_ENTRY
    start: uint256 = at
    frontier: bytes32[txroot.DEPTH] = empty(bytes32[txroot.DEPTH])
    items: uint256 = 0
    cursor: uint256 = start
    for i: uint256 in range(MAX_ITEMS):
        if cursor == n:
            break
        size: uint256 = self._field(extract32(padded, cursor), 1)
        cursor += 1
        if size == LONG_FRAME:
            assert cursor + 2 <= n, "BatchInbox: the batch ends inside a field"
            size = self._field(extract32(padded, cursor), 2)
            cursor += 2
            assert size >= LONG_FRAME, "BatchInbox: a short item has a long frame"
        assert size > 0 and size <= MAX_ITEM_BYTES, "BatchInbox: an item is 1..4096 bytes"
        assert cursor + size <= n, "BatchInbox: the batch ends inside an item"
        leaf: bytes32 = keccak256(concat(b"\x00", slice(data, cursor, size)))
        frontier = txroot.push(frontier, items, leaf)
        items += 1
        cursor += size
    assert cursor == n, "BatchInbox: too many items"
    assert items == txs, "BatchInbox: the blocks' tx counts do not add up to the items"
    self.blocks = first + blocks
    self.last_timestamp = timestamp
    self.last_origin = origin
    root: bytes32 = txroot.frontier_root(frontier, items)
    digest: bytes32 = keccak256(data)
    index: uint256 = self.count
    self.records[index] = Record(
        data_hash=digest, head_hash=keccak256(slice(data, 0, start)), tx_root=root,
        items=items, first_block=first, blocks=blocks, l1_block=block.number,
    )
    self.count = index + 1
    log BatchPosted(index=index, data_hash=digest, tx_root=root, items=items, size=n)


@external
def force_include(index: uint256):
    """Anyone: once the input queue's entry `index` has waited `window` seconds and
    no batch block's origin has taken it, record a batch of one empty block whose
    origin (`depth` blocks back, at least the last origin) takes it and every entry
    before it; its timestamp is this block's, at least the last (derivation rule 4).
    The batch's head is logged (`ForcedBatch`) for derivation to read."""
    assert index < staticcall self.queue.count(), "BatchInbox: no such input"
    item: bytes32 = empty(bytes32)
    l1_block: uint256 = 0
    l1_time: uint256 = 0
    item, l1_block, l1_time = staticcall self.queue.entries(index)
    assert l1_block > self.last_origin, "BatchInbox: a batch block has taken the input already"
    assert l1_time + self.window <= block.timestamp, "BatchInbox: the input is within its window"
    origin: uint256 = max(self.last_origin, block.number - self.depth)
    assert origin >= l1_block, "BatchInbox: the input is not deep enough yet"
    timestamp: uint256 = max(self.last_timestamp, block.timestamp)
    first: uint256 = self.blocks
    head: Bytes[FORCED_HEAD] = concat(
        convert(convert(VERSION, uint8), bytes1),
        convert(convert(self.chain_id, uint64), bytes8),
        convert(convert(first, uint64), bytes8),
        b"\x00",  # no instruments
        b"\x00\x01",  # one block:
        convert(convert(timestamp, uint64), bytes8),
        convert(convert(origin, uint64), bytes8),
        b"\x00\x00",  # no txs
    )
    self.blocks = first + 1
    self.last_timestamp = timestamp
    self.last_origin = origin
    digest: bytes32 = keccak256(head)
    n: uint256 = self.count
    self.records[n] = Record(
        data_hash=digest, head_hash=digest, tx_root=empty(bytes32), items=0,
        first_block=first, blocks=1, l1_block=block.number,
    )
    self.count = n + 1
    log ForcedBatch(index=n, data=head)
