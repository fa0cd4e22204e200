# pragma version 0.4.3
# pragma evm-version prague
"""
@title BatchInbox
@notice Records each batch the batcher posts: the keccak of its data, its tx root (at
        bytes 9..41 of the data, docs/design/batch.md section 2) and the L1 block.
        Derivation reads the data from the tx's calldata; the record lets #7's
        one-step proof show which tx a step executed (a path under the tx root).
"""

MAX_BATCH_BYTES: constant(uint256) = 120000
TX_ROOT_OFFSET: constant(uint256) = 9

struct Record:
    data_hash: bytes32
    tx_root: bytes32
    l1_block: uint256

event BatchPosted:
    index: indexed(uint256)
    data_hash: indexed(bytes32)
    tx_root: bytes32
    size: uint256

batcher: public(address)
records: public(HashMap[uint256, Record])
count: public(uint256)


@deploy
def __init__(batcher: address):
    self.batcher = batcher


@external
def post(data: Bytes[MAX_BATCH_BYTES]):
    assert msg.sender == self.batcher, "BatchInbox: only the batcher posts"
    assert len(data) >= TX_ROOT_OFFSET + 32, "BatchInbox: a batch is at least its header"
    root: bytes32 = extract32(data, TX_ROOT_OFFSET)
    digest: bytes32 = keccak256(data)
    n: uint256 = self.count
    self.records[n] = Record(data_hash=digest, tx_root=root, l1_block=block.number)
    self.count = n + 1
    log BatchPosted(index=n, data_hash=digest, tx_root=root, size=len(data))

