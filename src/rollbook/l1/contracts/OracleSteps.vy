# pragma version 0.4.3
# pragma evm-version prague
"""
@title OracleSteps
@notice The oracle family of the one-step executor: an oracle report
        (`rollbook.exchange.oracle.apply_oracle_update`) step by step.
        `oracle.verify` checks the report's time against the last report, the block
        and the staleness bound, recovers k of n distinct signers of the oracle set
        over the EIP-712 `OracleReport(timestamp, pricesHash)` digest (EIP-2098
        compact signatures, as `AccountSteps.vy`) and writes the report time; then one
        step per entry, carrying its cursor (index prices first, then marks, then
        vols): `oracle.index` checks the move (`check_move`) and writes the asset's
        price, then hands the cursor to the expiry queue's steps (`expiry.queue`,
        another family); `oracle.mark` checks a perpetual's mark and its move;
        `oracle.funding` applies a closed hour's funding, samples the premium and
        stores the mark with the perpetual's scenario vector (`update_mark`,
        `rollbook.exchange.portfolio_margin.perp_vector`); `oracle.option` checks the
        option (phase 0), then its index, the vol's move and prices it (phase 1:
        Black-76 and the scenario vector, `portfolio_margin.mark_and_vector`, which
        `Black76.vy` computes in the same integers).
@dev    Items: origin u8 | L1 sender 20 | kind 0x0a | timestamp u64 | counts of index
        prices, marks and vols (u16 each) | (u16 asset, u64 price)* | (u16, u64)* |
        (u16, u32 vol ppm)* | u8 signature count | EIP-2098 signatures (64 bytes)
        (rollbook.codec.txcodec.encode_oracle), read by the `report.vy` module,
        which `ExpirySteps.vy` shares for the queue's steps.
"""

import steps
import report

interface Pricer:
    def mark_and_vector(forward: int256, strike: int256, vol: int256, seconds: int256, is_call: bool) -> (int256, int256[23]): view

ORACLE_VERIFY: constant(uint256) = 192
ORACLE_INDEX: constant(uint256) = 193
ORACLE_MARK: constant(uint256) = 194
ORACLE_FUNDING: constant(uint256) = 195
ORACLE_OPTION: constant(uint256) = 196
EXPIRY_QUEUE: constant(uint256) = 224

MAX_SIGNATURES: constant(uint256) = 255
MAX_SIGNERS: constant(uint256) = 81  # what an oracle leaf of MAX_LEAF bytes can hold
LANES: constant(uint256) = 23
VECTOR_BYTES: constant(uint256) = 764  # 5 + 33 * LANES

PPM: constant(int256) = 10**6
HOUR: constant(int256) = 3600
FUNDING_PERIODS_PER_RATE: constant(int256) = 8
INDEX_PER_PPM: constant(int256) = 10**6  # INDEX_SCALE // PPM
PERPETUAL: constant(int256) = 1
CALL: constant(int256) = 2
VOL_TO_ONE: constant(int256) = 10**12  # a vol in ppm to 1e18 (oracle.VOL_TO_ONE)
SECP256K1_HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

T_ORACLE_REPORT: constant(bytes32) = 0xae766532352d491aea6e1a024e440a5cf542b41fd4a5d9bdc30f6adfe5ec2aa5

CODE_ORACLE: constant(uint256) = 11098
E_ORACLE: constant(bytes32) = 0x4f7261636c654572726f72000000000000000000000000000000000000000000  # "OracleError"
E_BAD_SIGNATURE: constant(bytes32) = 0x4261645369676e61747572650000000000000000000000000000000000000000  # "BadSignature"
CODE_UNKNOWN_INSTRUMENT: constant(uint256) = 10013
E_UNKNOWN_INSTRUMENT: constant(bytes32) = 0x556e6b6e6f776e496e737472756d656e74000000000000000000000000000000  # "UnknownInstrument"

# AssetPrice leaf (rollbook.exchange.leaves): tag 5, price, timestamp.
PRICE_AT: constant(uint256) = 2
PRICE_TIME_AT: constant(uint256) = 35

# OracleConfig (rollbook.exchange.leaves): the signers, then four ints.
struct Guards:
    count: uint256  # signers
    threshold: uint256
    last_timestamp: uint256
    last_timestamp_at: uint256
    staleness: uint256
    max_move_ppm: int256

domain_separator: public(bytes32)
pricer: public(address)  # Black76.vy


@deploy
def __init__(domain_separator: bytes32, pricer: address):
    self.domain_separator = domain_separator
    self.pricer = pricer


# -- the report ------------------------------------------------------------------------


@view
@internal
def _digest(item: Bytes[steps.MAX_ITEM], r: report.Report) -> bytes32:
    """The EIP-712 digest of `OracleReport(timestamp, pricesHash)`: pricesHash is the
    keccak of the index entries, 0xff, the marks, 0xff, the vols
    (rollbook.exchange.txs.OracleUpdate.prices_hash)."""
    marks_at: uint256 = report.ENTRIES_AT + 10 * r.indices
    vols_at: uint256 = marks_at + 10 * r.marks
    prices_hash: bytes32 = keccak256(concat(
        slice(item, report.ENTRIES_AT, 10 * r.indices),
        b"\xff",
        slice(item, marks_at, 10 * r.marks),
        b"\xff",
        slice(item, vols_at, 6 * r.vols),
    ))
    struct_hash: bytes32 = keccak256(concat(T_ORACLE_REPORT, convert(r.timestamp, bytes32), prices_hash))
    return keccak256(concat(b"\x19\x01", self.domain_separator, struct_hash))


@pure
@internal
def _recover(digest: bytes32, item: Bytes[steps.MAX_ITEM], at: uint256) -> address:
    """The signer of the EIP-2098 signature at `at` (the zero address if none)."""
    r: uint256 = convert(slice(item, at, 32), uint256)
    vs: uint256 = convert(slice(item, at + 32, 32), uint256)
    s: uint256 = vs & (max_value(uint256) >> 1)
    if s > SECP256K1_HALF_N:
        return empty(address)
    return ecrecover(digest, 27 + (vs >> 255), r, s)


# -- leaves ------------------------------------------------------------------------------


@pure
@internal
def _oracle_path() -> bytes32:
    return keccak256(b"\x05\x00\x00\x00\x01\x04\x00\x00\x00\x06oracle")


@pure
@internal
def _guards(oracle: Bytes[steps.MAX_LEAF]) -> Guards:
    count: uint256 = steps.u32(oracle, 2)
    base: uint256 = 6 + 25 * count  # the threshold's tag
    return Guards(
        count=count,
        threshold=convert(steps.int_at(oracle, base + 1), uint256),
        last_timestamp=convert(steps.int_at(oracle, base + 34), uint256),
        last_timestamp_at=base + 34,
        staleness=convert(steps.int_at(oracle, base + 67), uint256),
        max_move_ppm=steps.int_at(oracle, base + 100),
    )


@pure
@internal
def _is_signer(oracle: Bytes[steps.MAX_LEAF], count: uint256, signer: address) -> bool:
    for i: uint256 in range(MAX_SIGNERS):
        if i >= count:
            break
        if convert(slice(oracle, 6 + 25 * i + 5, 20), address) == signer:
            return True
    return False


@pure
@internal
def _moves_too_far(old: int256, new: int256, max_move_ppm: int256) -> bool:
    """rollbook.exchange.oracle.check_move: more than `max_move_ppm` of `old`."""
    return old > 0 and abs(new - old) > steps.floor_div(old * max_move_ppm, PPM)


@pure
@internal
def _fit(raw: Bytes[2 * steps.MAX_LEAF + VECTOR_BYTES]) -> Bytes[steps.MAX_LEAF]:
    return abi_decode(abi_encode(raw), Bytes[steps.MAX_LEAF])


@pure
@internal
def _vector_bytes(v: int256[LANES]) -> Bytes[VECTOR_BYTES]:
    """A scenario vector as a leaf field: 0x05, u32 count, then 0x02 and 32 bytes per
    lane."""
    return concat(
        b"\x05\x00\x00\x00\x17",
        b"\x02", convert(v[0], bytes32),
        b"\x02", convert(v[1], bytes32),
        b"\x02", convert(v[2], bytes32),
        b"\x02", convert(v[3], bytes32),
        b"\x02", convert(v[4], bytes32),
        b"\x02", convert(v[5], bytes32),
        b"\x02", convert(v[6], bytes32),
        b"\x02", convert(v[7], bytes32),
        b"\x02", convert(v[8], bytes32),
        b"\x02", convert(v[9], bytes32),
        b"\x02", convert(v[10], bytes32),
        b"\x02", convert(v[11], bytes32),
        b"\x02", convert(v[12], bytes32),
        b"\x02", convert(v[13], bytes32),
        b"\x02", convert(v[14], bytes32),
        b"\x02", convert(v[15], bytes32),
        b"\x02", convert(v[16], bytes32),
        b"\x02", convert(v[17], bytes32),
        b"\x02", convert(v[18], bytes32),
        b"\x02", convert(v[19], bytes32),
        b"\x02", convert(v[20], bytes32),
        b"\x02", convert(v[21], bytes32),
        b"\x02", convert(v[22], bytes32),
    )


@pure
@internal
def _with_vector(inst: Bytes[steps.MAX_LEAF], at: steps.InstrumentAt, v: int256[LANES]) -> Bytes[steps.MAX_LEAF]:
    """The instrument leaf with its vector replaced (whatever its length was)."""
    tail: uint256 = at.funding_index - 1  # field 22's tag
    return self._fit(concat(slice(inst, 0, at.vector), self._vector_bytes(v), slice(inst, tail, len(inst) - tail)))


@pure
@internal
def _spot_ppm(lane: uint256) -> int256:
    """The spot move of the default grid's lane (portfolio_margin.default_grid): seven
    moves under each of three volatility moves, then ∓30 %."""
    if lane == 21:
        return -300_000
    if lane == 22:
        return 300_000
    return (convert(lane % 7, int256) - 3) * 50_000


@pure
@internal
def _perp_vector(mark: int256) -> int256[LANES]:
    """portfolio_margin.perp_vector(mark, mark): floor(mark·(1 + s)) − mark."""
    v: int256[LANES] = empty(int256[LANES])
    for lane: uint256 in range(LANES):
        v[lane] = steps.floor_div(mark * (PPM + self._spot_ppm(lane)), PPM) - mark
    return v


# -- the steps ---------------------------------------------------------------------------


@external
@pure
def begin(ctx: steps.Context, item: Bytes[steps.MAX_ITEM]) -> steps.Context:
    """The first step of a report (one from L1 is refused by the executor's load)."""
    report.parse(item)
    out: steps.Context = ctx
    out.pc = ORACLE_VERIFY
    return out


@view
@internal
def _verify(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], r: report.Report, leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    path: bytes32 = self._oracle_path()
    oracle: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, path)
    assert len(oracle) > 0, "OracleSteps: the oracle leaf is missing"
    g: Guards = self._guards(oracle)
    if r.timestamp <= g.last_timestamp or r.timestamp > ctx.timestamp or ctx.timestamp - r.timestamp > g.staleness:
        return nothing, steps.fail(ctx, CODE_ORACLE, E_ORACLE)
    digest: bytes32 = self._digest(item, r)
    seen: DynArray[address, MAX_SIGNATURES] = []
    count: uint256 = report.u(item, r.signatures_at, 1)
    for i: uint256 in range(MAX_SIGNATURES):
        if i >= count:
            break
        signer: address = self._recover(digest, item, r.signatures_at + 1 + 64 * i)
        if signer == empty(address) or not self._is_signer(oracle, g.count, signer) or signer in seen:
            return nothing, steps.fail(ctx, steps.CODE_UNAUTHORIZED, E_BAD_SIGNATURE)
        seen.append(signer)
    if count < g.threshold:
        return nothing, steps.fail(ctx, steps.CODE_UNAUTHORIZED, E_BAD_SIGNATURE)
    new: Bytes[steps.MAX_LEAF] = steps.with_int(oracle, g.last_timestamp_at, convert(r.timestamp, int256))
    return [steps.change(path, oracle, new)], report.after(ctx, r, 0)


@pure
@internal
def _index(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], r: report.Report, leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    cursor: uint256 = convert(ctx.carry[0], uint256)
    assert cursor < r.indices, "OracleSteps: the cursor is not at an index price"
    asset: uint256 = 0
    price: uint256 = 0
    asset, price = report.entry(item, r, cursor)
    oracle: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, self._oracle_path())
    assert len(oracle) > 0, "OracleSteps: the oracle leaf is missing"
    path: bytes32 = steps.int_key(b"price", asset)
    old: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, path)
    if len(old) > 0 and self._moves_too_far(steps.int_at(old, PRICE_AT), convert(price, int256), self._guards(oracle).max_move_ppm):
        nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
        return nothing, steps.fail(ctx, CODE_ORACLE, E_ORACLE)
    new: Bytes[steps.MAX_LEAF] = concat(b"\x05\x02", convert(price, bytes32), b"\x02", convert(r.timestamp, bytes32))
    # The expiry queue's steps take the same cursor (rollbook.exchange.expiry.record_index).
    return [steps.change(path, old, new)], steps.next1(ctx, EXPIRY_QUEUE, ctx.carry[0])


@pure
@internal
def _instrument(leaves: DynArray[steps.Leaf, steps.MAX_READS], instrument_id: uint256) -> Bytes[steps.MAX_LEAF]:
    return steps.leaf(leaves, steps.int_key(b"inst", instrument_id))


@pure
@internal
def _mark(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], r: report.Report, leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    cursor: uint256 = convert(ctx.carry[0], uint256)
    assert cursor >= r.indices and cursor < r.indices + r.marks, "OracleSteps: the cursor is not at a mark"
    instrument_id: uint256 = 0
    mark: uint256 = 0
    instrument_id, mark = report.entry(item, r, cursor)
    inst: Bytes[steps.MAX_LEAF] = self._instrument(leaves, instrument_id)
    if len(inst) == 0:
        return nothing, steps.fail(ctx, CODE_UNKNOWN_INSTRUMENT, E_UNKNOWN_INSTRUMENT)
    at: steps.InstrumentAt = steps.instrument_at(inst)
    if steps.int_at(inst, at.kind) != PERPETUAL:
        return nothing, steps.fail(ctx, CODE_UNKNOWN_INSTRUMENT, E_UNKNOWN_INSTRUMENT)
    oracle: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, self._oracle_path())
    assert len(oracle) > 0, "OracleSteps: the oracle leaf is missing"
    if self._moves_too_far(steps.int_at(inst, at.mark), convert(mark, int256), self._guards(oracle).max_move_ppm):
        return nothing, steps.fail(ctx, CODE_ORACLE, E_ORACLE)
    return nothing, steps.next1(ctx, ORACLE_FUNDING, ctx.carry[0])


@pure
@internal
def _funding(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], r: report.Report, leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """update_mark: a closed hour's funding, the premium sample, the mark and the
    perpetual's vector."""
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    cursor: uint256 = convert(ctx.carry[0], uint256)
    assert cursor >= r.indices and cursor < r.indices + r.marks, "OracleSteps: the cursor is not at a mark"
    instrument_id: uint256 = 0
    raw_mark: uint256 = 0
    instrument_id, raw_mark = report.entry(item, r, cursor)
    mark: int256 = convert(raw_mark, int256)
    path: bytes32 = steps.int_key(b"inst", instrument_id)
    inst: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, path)
    if len(inst) == 0:
        return nothing, steps.fail(ctx, CODE_UNKNOWN_INSTRUMENT, E_UNKNOWN_INSTRUMENT)
    at: steps.InstrumentAt = steps.instrument_at(inst)
    price: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.int_key(b"price", convert(steps.int_at(inst, at.asset), uint256)))
    if len(price) == 0:
        return nothing, steps.fail(ctx, CODE_ORACLE, E_ORACLE)
    index: int256 = steps.int_at(price, PRICE_AT)
    timestamp: int256 = convert(r.timestamp, int256)
    hour: int256 = timestamp // HOUR
    funding_index: int256 = steps.int_at(inst, at.funding_index)
    funding_hour: int256 = steps.int_at(inst, at.funding_hour)
    premium_sum: int256 = steps.int_at(inst, at.premium_sum_ppm)
    samples: int256 = steps.int_at(inst, at.premium_samples)
    if funding_hour == 0:
        funding_hour = hour
    elif hour > funding_hour:
        # hourly_rate_ppm: the average premium / 8, toward zero, clamped.
        rate: int256 = 0
        if samples != 0:
            rate = abs(premium_sum) // (samples * FUNDING_PERIODS_PER_RATE)
            if premium_sum < 0:
                rate = -rate
            cap: int256 = steps.int_at(inst, at.funding_cap_ppm)
            if rate < -cap:
                rate = -cap
            elif rate > cap:
                rate = cap
        funding_index += rate * index * INDEX_PER_PPM
        funding_hour = hour
        premium_sum = 0
        samples = 0
    # premium_ppm: (mark − index) / index in ppm, toward zero.
    premium: int256 = abs(mark - index) * PPM // index
    if mark < index:
        premium = -premium
    new: Bytes[steps.MAX_LEAF] = steps.with_int(inst, at.mark, mark)
    new = steps.with_int(new, at.mark_time, timestamp)
    new = steps.with_int(new, at.mark_index, index)
    new = steps.with_int(new, at.funding_index, funding_index)
    new = steps.with_int(new, at.funding_hour, funding_hour)
    new = steps.with_int(new, at.premium_sum_ppm, premium_sum + premium)
    new = steps.with_int(new, at.premium_samples, samples + 1)
    new = self._with_vector(new, at, self._perp_vector(mark))
    return [steps.change(path, inst, new)], report.after(ctx, r, cursor + 1)


@view
@internal
def _option(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], r: report.Report, leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """price_option: the instrument's checks (phase 0), then the index, the vol's move
    and the pricing (phase 1)."""
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    cursor: uint256 = convert(ctx.carry[0], uint256)
    assert cursor >= r.indices + r.marks and cursor < r.indices + r.marks + r.vols, "OracleSteps: the cursor is not at a vol"
    instrument_id: uint256 = 0
    vol: uint256 = 0
    instrument_id, vol = report.entry(item, r, cursor)
    path: bytes32 = steps.int_key(b"inst", instrument_id)
    inst: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, path)
    if len(inst) == 0:
        return nothing, steps.fail(ctx, CODE_UNKNOWN_INSTRUMENT, E_UNKNOWN_INSTRUMENT)
    at: steps.InstrumentAt = steps.instrument_at(inst)
    timestamp: int256 = convert(r.timestamp, int256)
    if ctx.carry[1] == 0:
        if steps.int_at(inst, at.kind) == PERPETUAL or timestamp >= steps.int_at(inst, at.expiry):
            return nothing, steps.fail(ctx, CODE_UNKNOWN_INSTRUMENT, E_UNKNOWN_INSTRUMENT)
        carry: int256[steps.CARRY] = empty(int256[steps.CARRY])
        carry[0] = ctx.carry[0]
        carry[1] = 1
        return nothing, steps.next_step(ctx, ORACLE_OPTION, carry)
    assert ctx.carry[1] == 1, "OracleSteps: an option step has two phases"
    price: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.int_key(b"price", convert(steps.int_at(inst, at.asset), uint256)))
    if len(price) == 0 or steps.int_at(price, PRICE_TIME_AT) != timestamp:
        return nothing, steps.fail(ctx, CODE_ORACLE, E_ORACLE)
    oracle: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, self._oracle_path())
    assert len(oracle) > 0, "OracleSteps: the oracle leaf is missing"
    if self._moves_too_far(steps.int_at(inst, at.mark_vol), convert(vol, int256), self._guards(oracle).max_move_ppm):
        return nothing, steps.fail(ctx, CODE_ORACLE, E_ORACLE)
    index: int256 = steps.int_at(price, PRICE_AT)
    mark: int256 = 0
    vector: int256[LANES] = empty(int256[LANES])
    mark, vector = staticcall Pricer(self.pricer).mark_and_vector(
        index,
        steps.int_at(inst, at.strike),
        convert(vol, int256) * VOL_TO_ONE,
        steps.int_at(inst, at.expiry) - timestamp,
        steps.int_at(inst, at.kind) == CALL,
    )
    new: Bytes[steps.MAX_LEAF] = steps.with_int(inst, at.mark, mark)
    new = steps.with_int(new, at.mark_time, timestamp)
    new = steps.with_int(new, at.mark_index, index)
    new = steps.with_int(new, at.mark_vol, convert(vol, int256))
    new = self._with_vector(new, at, vector)
    return [steps.change(path, inst, new)], report.after(ctx, r, cursor + 1)


@view
@external
def rule(
    ctx: steps.Context,
    item: Bytes[steps.MAX_ITEM],
    leaves: DynArray[steps.Leaf, steps.MAX_READS],
    aux: Bytes[steps.MAX_AUX],
) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    r: report.Report = report.parse(item)
    if ctx.pc == ORACLE_VERIFY:
        return self._verify(ctx, item, r, leaves)
    if ctx.pc == ORACLE_INDEX:
        return self._index(ctx, item, r, leaves)
    if ctx.pc == ORACLE_MARK:
        return self._mark(ctx, item, r, leaves)
    if ctx.pc == ORACLE_FUNDING:
        return self._funding(ctx, item, r, leaves)
    if ctx.pc == ORACLE_OPTION:
        return self._option(ctx, item, r, leaves)
    raise "OracleSteps: not an oracle step"
