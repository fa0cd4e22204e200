# pragma version 0.4.3
"""
@title report
@notice An oracle report as the one-step executor reads it: shared by the oracle
        family (`OracleSteps.vy`) and the expiry queue's steps (`ExpirySteps.vy`),
        which run inside a report's index entries and hand the report's cursor on.
@dev    Items: origin u8 | L1 sender 20 | kind 0x0a | timestamp u64 | counts of index
        prices, marks and vols (u16 each) | (u16 asset, u64 price)* | (u16, u64)* |
        (u16, u32 vol ppm)* | u8 signature count | EIP-2098 signatures (64 bytes)
        (rollbook.codec.txcodec.encode_oracle).
"""

import steps

ORACLE_INDEX: constant(uint256) = 193
ORACLE_MARK: constant(uint256) = 194
ORACLE_OPTION: constant(uint256) = 196

K_ORACLE: constant(uint8) = 10
ENTRIES_AT: constant(uint256) = 36

struct Report:
    timestamp: uint256
    indices: uint256  # how many index prices
    marks: uint256
    vols: uint256
    signatures_at: uint256  # the signature count's byte


@pure
@internal
def u(item: Bytes[steps.MAX_ITEM], at: uint256, size: uint256) -> uint256:
    """The big-endian unsigned field of `size` (1, 2, 4 or 8) bytes at `at`."""
    if size == 1:
        return convert(slice(item, at, 1), uint256)
    if size == 2:
        return convert(slice(item, at, 2), uint256)
    if size == 4:
        return convert(slice(item, at, 4), uint256)
    return convert(slice(item, at, 8), uint256)


@pure
@internal
def parse(item: Bytes[steps.MAX_ITEM]) -> Report:
    assert convert(slice(item, steps.KIND_AT, 1), uint8) == K_ORACLE, "report: not an oracle report"
    r: Report = Report(
        timestamp=self.u(item, 22, 8),
        indices=self.u(item, 30, 2),
        marks=self.u(item, 32, 2),
        vols=self.u(item, 34, 2),
        signatures_at=0,
    )
    r.signatures_at = ENTRIES_AT + 10 * (r.indices + r.marks) + 6 * r.vols
    assert len(item) == r.signatures_at + 1 + 64 * self.u(item, r.signatures_at, 1), "report: the length is not the encoding's"
    return r


@pure
@internal
def entry(item: Bytes[steps.MAX_ITEM], r: Report, cursor: uint256) -> (uint256, uint256):
    """The report's `cursor`-th entry: (asset or instrument, price or vol)."""
    if cursor < r.indices + r.marks:
        at: uint256 = ENTRIES_AT + 10 * cursor
        return self.u(item, at, 2), self.u(item, at + 2, 8)
    at: uint256 = ENTRIES_AT + 10 * (r.indices + r.marks) + 6 * (cursor - r.indices - r.marks)
    return self.u(item, at, 2), self.u(item, at + 2, 4)


@pure
@internal
def after(ctx: steps.Context, r: Report, done: uint256) -> steps.Context:
    """The context after entry `done - 1` is through: entry `done`'s first step, or the
    tx's end."""
    if done < r.indices:
        return steps.next1(ctx, ORACLE_INDEX, convert(done, int256))
    if done < r.indices + r.marks:
        return steps.next1(ctx, ORACLE_MARK, convert(done, int256))
    if done < r.indices + r.marks + r.vols:
        return steps.next1(ctx, ORACLE_OPTION, convert(done, int256))
    return steps.next_step(ctx, steps.TX_END, empty(int256[steps.CARRY]))
