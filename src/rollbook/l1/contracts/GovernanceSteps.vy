# pragma version 0.4.3
# pragma evm-version prague
"""
@title GovernanceSteps
@notice The governance family of the one-step executor (`rollbook.exchange.governance`):
        txs from the L1 timelock only. So far `gov.risk` (`set_risk_params`: the
        position bound, the order lifetime, the liquidation band and the backstop
        threshold) and `gov.oracle` (`set_oracle`: the oracle set, k of n, and its
        guards) and `gov.params` (`set_instrument_params`: an instrument's risk and
        fee parameters, or its delisting). Not yet: listings (`gov.list`,
        `gov.list_option`, `gov.expiry`).
@dev    A governance item is its kind, then `encode_value` of its fields (a tagged
        tuple: 0x05, u32 count; an int is 0x02 and 32 bytes; an address 0x03, u32 20
        and 20 bytes).
"""

import steps

GOV_PARAMS: constant(uint256) = 259
GOV_ORACLE: constant(uint256) = 260
GOV_RISK: constant(uint256) = 261
K_SET_INSTRUMENT_PARAMS: constant(uint8) = 14
K_SET_ORACLE: constant(uint8) = 15
K_SET_RISK_PARAMS: constant(uint8) = 16
FIELDS_AT: constant(uint256) = 27  # the first field's tag, after the tuple's header
MAX_SIGNERS: constant(uint256) = 32
PPM: constant(int256) = 10**6
MAX_FEE_PPM: constant(int256) = 100000
I64_MAX: constant(int256) = 2**63 - 1
CODE_UNKNOWN_INSTRUMENT: constant(uint256) = 10013
E_UNKNOWN_INSTRUMENT: constant(bytes32) = 0x556e6b6e6f776e496e737472756d656e74000000000000000000000000000000  # "UnknownInstrument"
E_MALFORMED: constant(bytes32) = 0x4d616c666f726d65645478000000000000000000000000000000000000000000  # "MalformedTx"


@pure
@external
def begin(ctx: steps.Context, item: Bytes[steps.MAX_ITEM]) -> steps.Context:
    """Governance comes from L1 only (`require_l1`, before any step)."""
    kind: uint8 = convert(slice(item, steps.KIND_AT, 1), uint8)
    if kind != K_SET_ORACLE and kind != K_SET_RISK_PARAMS and kind != K_SET_INSTRUMENT_PARAMS:
        raise "GovernanceSteps: listings are not executable yet"
    if convert(slice(item, 0, 1), uint8) != steps.ORIGIN_L1:
        return steps.refuse(ctx, steps.CODE_UNAUTHORIZED, steps.E_WRONG_ORIGIN)
    out: steps.Context = ctx
    out.pc = GOV_RISK
    if kind == K_SET_ORACLE:
        out.pc = GOV_ORACLE
    elif kind == K_SET_INSTRUMENT_PARAMS:
        out.pc = GOV_PARAMS
    return out


@pure
@internal
def _field(item: Bytes[steps.MAX_ITEM], at: uint256) -> int256:
    return extract32(item, at + 1, output_type=int256)


@pure
@internal
def _within(number: int256, high: int256) -> bool:
    return number > 0 and number <= high


@pure
@internal
def _risk(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    max_positions: int256 = self._field(item, FIELDS_AT)
    lifetime: int256 = self._field(item, FIELDS_AT + 33)
    band: int256 = self._field(item, FIELDS_AT + 66)
    backstop: int256 = self._field(item, FIELDS_AT + 99)
    # The checks come before the leaf is read, as in the STF (a refused tx's witness
    # holds no leaf).
    if not (self._within(max_positions, 256) and self._within(lifetime, 365 * 86400) and self._within(band, PPM) and self._within(backstop, PPM)):
        return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
    gpath: bytes32 = steps.globals_path()
    glob: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, gpath)
    assert len(glob) > 0, "GovernanceSteps: the globals leaf is missing"
    new: Bytes[steps.MAX_LEAF] = steps.with_int(glob, steps.field_at(6), max_positions)
    new = steps.with_int(new, steps.field_at(7), lifetime)
    new = steps.with_int(new, steps.field_at(8), band)
    new = steps.with_int(new, steps.field_at(9), backstop)
    return [steps.change(gpath, glob, new)], steps.next1(ctx, steps.TX_END, 0)


@pure
@internal
def _oracle(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    count: uint256 = convert(slice(item, FIELDS_AT + 1, 4), uint256)
    if count == 0 or count > MAX_SIGNERS:
        return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
    # Every signer is an address (the codec refuses anything else); distinct.
    for i: uint256 in range(MAX_SIGNERS):
        if i >= count:
            break
        signer: bytes20 = convert(slice(item, FIELDS_AT + 5 + 25 * i + 5, 20), bytes20)
        for j: uint256 in range(MAX_SIGNERS):
            if j >= i:
                break
            if convert(slice(item, FIELDS_AT + 5 + 25 * j + 5, 20), bytes20) == signer:
                return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
    after: uint256 = FIELDS_AT + 5 + 25 * count
    threshold: int256 = self._field(item, after)
    staleness: int256 = self._field(item, after + 33)
    max_move: int256 = self._field(item, after + 66)
    if not (self._within(threshold, convert(count, int256)) and self._within(staleness, 86400) and self._within(max_move, PPM)):
        return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
    opath: bytes32 = keccak256(b"\x05\x00\x00\x00\x01\x04\x00\x00\x00\x06oracle")
    old: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, opath)
    assert len(old) > 0, "GovernanceSteps: the oracle leaf is missing"
    # OracleConfig: the signers (as the item writes them), threshold, the last report
    # time (kept), staleness, max move.
    last_at: uint256 = 1 + 5 + 25 * steps.u32(old, 2) + 33 + 1
    # (bounded to 32 signers: Vyper types a slice by its source's bound)
    signers: Bytes[5 + 25 * MAX_SIGNERS] = abi_decode(abi_encode(slice(item, FIELDS_AT, 5 + 25 * count)), Bytes[5 + 25 * MAX_SIGNERS])
    new: Bytes[steps.MAX_LEAF] = steps.fit(concat(
        b"\x06",
        signers,
        b"\x02", convert(threshold, bytes32),
        b"\x02", extract32(old, last_at),
        b"\x02", convert(staleness, bytes32),
        b"\x02", convert(max_move, bytes32),
    ))
    return [steps.change(opath, old, new)], steps.next1(ctx, steps.TX_END, 0)


@pure
@internal
def _params(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """`check_risk_fields`, then the new values (fields 1-7 and `active`)."""
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    f: int256[8] = empty(int256[8])
    for i: uint256 in range(8):
        f[i] = self._field(item, FIELDS_AT + 33 * i)
    active: uint256 = convert(slice(item, FIELDS_AT + 33 * 8 + 1, 1), uint256)
    ipath: bytes32 = steps.int_key(b"inst", convert(f[0], uint256))
    inst: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, ipath)
    if len(inst) == 0:
        return nothing, steps.fail(ctx, CODE_UNKNOWN_INSTRUMENT, E_UNKNOWN_INSTRUMENT)
    glob: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.globals_path())
    assert len(glob) > 0, "GovernanceSteps: the globals leaf is missing"
    max_liq_fee: int256 = steps.int_at(glob, steps.field_at(10))
    at: steps.InstrumentAt = steps.instrument_at(inst)
    floor_: int256 = steps.int_at(inst, at.im_floor_ppm)
    im: int256 = f[1]
    mm: int256 = f[2]
    ok: bool = 0 < mm and mm < im and im <= PPM
    if floor_ != 0:
        ok = ok and mm < floor_ and floor_ <= im
    ok = ok and 0 <= f[3] and f[3] <= MAX_FEE_PPM and 0 <= f[4] and f[4] <= MAX_FEE_PPM
    ok = ok and 0 <= f[5] and f[5] <= max_liq_fee and 0 <= f[6] and f[6] <= PPM
    ok = ok and 0 < f[7] and f[7] <= I64_MAX
    if not ok:
        return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
    new: Bytes[steps.MAX_LEAF] = steps.with_int(inst, at.im_ppm, im)
    new = steps.with_int(new, at.mm_ppm, mm)
    new = steps.with_int(new, at.maker_fee_ppm, f[3])
    new = steps.with_int(new, at.taker_fee_ppm, f[4])
    new = steps.with_int(new, at.liq_fee_ppm, f[5])
    new = steps.with_int(new, at.funding_cap_ppm, f[6])
    new = steps.with_int(new, at.max_open_interest, f[7])
    new = steps.fit(concat(slice(new, 0, at.active + 1), convert(convert(active, uint8), bytes1), slice(new, at.active + 2, len(new) - at.active - 2)))
    return [steps.change(ipath, inst, new)], steps.next1(ctx, steps.TX_END, 0)


@pure
@external
def rule(
    ctx: steps.Context,
    item: Bytes[steps.MAX_ITEM],
    leaves: DynArray[steps.Leaf, steps.MAX_READS],
    aux: Bytes[steps.MAX_AUX],
) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    if ctx.pc == GOV_RISK:
        return self._risk(ctx, item, leaves)
    if ctx.pc == GOV_ORACLE:
        return self._oracle(ctx, item, leaves)
    if ctx.pc == GOV_PARAMS:
        return self._params(ctx, item, leaves)
    raise "GovernanceSteps: this governance step is not executable yet"
