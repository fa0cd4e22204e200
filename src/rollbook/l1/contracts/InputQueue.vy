# pragma version 0.4.3
# pragma evm-version prague
"""
@title InputQueue
@notice The L1 inputs of the rollup, in one order: every deposit and forced tx (from
        the Portal) and every governance tx (from the Timelock) is an entry, with
        the hash of its block tx item (`origin 1 || L1 sender or zeros || standalone
        encoding`, rollbook.chain.blocks.tx_item) and the L1 block it arrived in, with
        that block's time (the inbox forces an input in once it has waited its
        window: `BatchInbox.force_include`).
        Derivation takes the entries in this order, and an L2 block whose L1
        origin is `o` takes every entry from L1 blocks up to `o` that its parent did
        not (rollbook.chain.derive, rule 3). The one-step executor (#7) loads a
        block's L1 txs from here, so a proposer can neither invent an L1 tx (a deposit,
        an owner action authorised by its L1 sender, a governance change) nor skip
        one: docs/design/fraud-proofs.md section 2.
@dev    Only the Portal and the Timelock push; the deployer names them once (`bind`),
        as their addresses are known only after this contract's.
"""

struct Entry:
    item_hash: bytes32
    l1_block: uint256
    l1_time: uint256

deployer: address
portal: public(address)
timelock: public(address)
entries: public(HashMap[uint256, Entry])
count: public(uint256)


@deploy
def __init__():
    self.deployer = msg.sender


@external
def bind(portal: address, timelock: address):
    """Name the two contracts that push, once."""
    assert msg.sender == self.deployer and self.portal == empty(address), "InputQueue: bound already"
    assert portal != empty(address) and timelock != empty(address), "InputQueue: a pusher is the zero address"
    self.portal = portal
    self.timelock = timelock


@external
def push(item_hash: bytes32) -> uint256:
    """Append an input; returns its index."""
    assert msg.sender == self.portal or msg.sender == self.timelock, "InputQueue: only the Portal and the Timelock push"
    index: uint256 = self.count
    self.entries[index] = Entry(item_hash=item_hash, l1_block=block.number, l1_time=block.timestamp)
    self.count = index + 1
    return index


@view
@external
def item_hash(index: uint256) -> bytes32:
    """The item hash of entry `index` alone (one storage read, where `entries` reads
    three): the ZK rollup checks each L1 input a batch consumes against it."""
    return self.entries[index].item_hash


@view
@external
def due(index: uint256, origin: uint256) -> bool:
    """Whether entry `index` exists and arrived by L1 block `origin`: an L2 block with
    that origin must take it before any sequenced tx."""
    return index < self.count and self.entries[index].l1_block <= origin
