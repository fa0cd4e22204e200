# pragma version 0.4.3
# pragma evm-version prague
"""
@title Timelock
@notice Governance for the L2: listings, parameters and the oracle set. The governance
        key schedules a governance tx (its standalone codec encoding, #4); after the
        delay anyone executes it, which appends it to the `InputQueue`, and derivation
        applies it at confirmation depth. A tx the codec would not decode is refused
        when scheduled (`govtx.check`), so every governance input decodes.
        The delay is at least the exit window, so users who disagree can leave first.
@dev    The timelock only emits L2 governance txs. It has no power over the Portal:
        no key can disable forced txs, withdrawals of free collateral or the escape
        hatch, and the contracts have no upgrade path.
"""

import govtx

MAX_GOV_BYTES: constant(uint256) = govtx.MAX_GOV_BYTES
FIRST_GOVERNANCE_KIND: constant(uint8) = 12  # ListInstrument (rollbook.codec.txcodec)
LAST_GOVERNANCE_KIND: constant(uint8) = 16  # SetRiskParams

interface IInputQueue:
    def push(item_hash: bytes32) -> uint256: nonpayable

struct Scheduled:
    data_hash: bytes32
    eta: uint256
    done: bool

event GovernanceScheduled:
    proposal_id: indexed(uint256)
    eta: uint256
    data: Bytes[MAX_GOV_BYTES]

event GovernanceCancelled:
    proposal_id: indexed(uint256)

event GovernanceExecuted:
    proposal_id: indexed(uint256)
    data: Bytes[MAX_GOV_BYTES]

governor: public(address)
delay: public(uint256)
proposals: public(HashMap[uint256, Scheduled])
count: public(uint256)
# The oldest proposal neither executed nor cancelled: proposals run in order, so a
# listing scheduled first cannot be overtaken by the parameter change that needs it.
cursor: public(uint256)
queue: public(IInputQueue)


@deploy
def __init__(governor: address, delay: uint256, queue: IInputQueue):
    self.governor = governor
    self.delay = delay
    self.queue = queue


@external
def schedule(data: Bytes[MAX_GOV_BYTES], eta: uint256) -> uint256:
    """Schedule a governance tx to be executable from `eta` (≥ now + delay)."""
    assert msg.sender == self.governor, "Timelock: only the governor schedules"
    assert eta >= block.timestamp + self.delay, "Timelock: eta is before the delay"
    assert len(data) > 0, "Timelock: empty governance tx"
    kind: uint8 = convert(slice(data, 0, 1), uint8)
    assert kind >= FIRST_GOVERNANCE_KIND and kind <= LAST_GOVERNANCE_KIND, "Timelock: not a governance tx kind"
    # Only a tx the codec decodes enters the queue (the executor reads it as decoded).
    govtx.check(data)
    proposal_id: uint256 = self.count
    self.proposals[proposal_id] = Scheduled(data_hash=keccak256(data), eta=eta, done=False)
    self.count = proposal_id + 1
    log GovernanceScheduled(proposal_id=proposal_id, eta=eta, data=data)
    return proposal_id


@external
def cancel(proposal_id: uint256):
    assert msg.sender == self.governor, "Timelock: only the governor cancels"
    proposal: Scheduled = self.proposals[proposal_id]
    assert proposal.eta != 0 and not proposal.done, "Timelock: nothing to cancel"
    self.proposals[proposal_id].done = True
    self._advance()
    log GovernanceCancelled(proposal_id=proposal_id)


@external
def execute(proposal_id: uint256, data: Bytes[MAX_GOV_BYTES]):
    """Anyone executes a scheduled governance tx once its time has come."""
    proposal: Scheduled = self.proposals[proposal_id]
    assert proposal.eta != 0, "Timelock: no such proposal"
    assert not proposal.done, "Timelock: already executed or cancelled"
    assert proposal_id == self.cursor, "Timelock: an earlier proposal is still pending"
    assert block.timestamp >= proposal.eta, "Timelock: too early"
    assert keccak256(data) == proposal.data_hash, "Timelock: data differs from the scheduled"
    self.proposals[proposal_id].done = True
    self._advance()
    # The block tx item derivation makes of it: origin L1, no sender, the encoding.
    extcall self.queue.push(keccak256(concat(b"\x01", empty(bytes20), data)))
    log GovernanceExecuted(proposal_id=proposal_id, data=data)


@internal
def _advance():
    """Move the cursor past proposals that are done (a bounded walk per call)."""
    for i: uint256 in range(64):
        if self.cursor >= self.count or not self.proposals[self.cursor].done:
            break
        self.cursor += 1
