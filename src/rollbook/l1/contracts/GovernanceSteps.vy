# pragma version 0.4.3
# pragma evm-version prague
"""
@title GovernanceSteps
@notice The governance family of the one-step executor (`rollbook.exchange.governance`):
        txs from the L1 timelock only, every step: `gov.risk` (`set_risk_params`:
        the position bound, the order lifetime, the liquidation band and the backstop
        threshold), `gov.oracle` (`set_oracle`: the oracle set, k of n, and its
        guards), `gov.params` (`set_instrument_params`: an instrument's risk and fee
        parameters, or its delisting), and the listings: `gov.list`
        (`list_instrument`: a perpetual, its id free, its symbol 1-64 characters,
        `check_grid` and `check_risk_fields`; the leaf is the listing's first 13
        fields with fresh indices), and an option chain (`list_option_chain`): its
        load checks the expiry (08:00 UTC, more than 30 minutes and at most two years
        ahead) and the grid, `gov.expiry` the floor, the risk fields and whole-dollar
        strikes and sorts the expiry into the asset's queue (at most 16 live; the
        samples' sum stays), then one `gov.list_option` per option, carrying its place
        j = 2k + (put) in the chain: the id `first_id + j` free, Deribit's name
        (`options.option_symbol`, the date by Howard Hinnant's `civil_from_days`) and
        the leaf. Sources: Deribit's instrument naming and 08:00 UTC expiries;
        docs/design/consensus.md section 13.
@dev    A governance item is its kind, then `encode_value` of its fields (a tagged
        tuple: 0x05, u32 count; an int is 0x02 and 32 bytes; an address 0x03, u32 20
        and 20 bytes).
"""

import steps

GOV_LIST: constant(uint256) = 256
GOV_EXPIRY: constant(uint256) = 257
GOV_LIST_OPTION: constant(uint256) = 258
GOV_PARAMS: constant(uint256) = 259
GOV_ORACLE: constant(uint256) = 260
GOV_RISK: constant(uint256) = 261
MAX_POSITIONS: constant(int256) = 32  # the STF's bound: what the executor can prove
K_LIST_INSTRUMENT: constant(uint8) = 12
K_LIST_OPTION_CHAIN: constant(uint8) = 13
K_SET_INSTRUMENT_PARAMS: constant(uint8) = 14
K_SET_ORACLE: constant(uint8) = 15
K_SET_RISK_PARAMS: constant(uint8) = 16
FIELDS_AT: constant(uint256) = 27  # the first field's tag, after the tuple's header
MAX_SIGNERS: constant(uint256) = 32
PPM: constant(int256) = 10**6
MAX_FEE_PPM: constant(int256) = 100000
I64_MAX: constant(int256) = 2**63 - 1
U16_MAX: constant(int256) = 2**16 - 1
U64_MAX: constant(int256) = 2**64 - 1
SIZE_ONE: constant(int256) = 10**8
QUOTE_ONE: constant(int256) = 10**6
DAY: constant(int256) = 86400
EXPIRY_AT: constant(int256) = 28800  # 08:00 UTC
SETTLEMENT_WINDOW: constant(int256) = 1800
MAX_EXPIRY_HORIZON: constant(int256) = 2 * 365 * 86400
MAX_LIVE_EXPIRIES: constant(uint256) = 16
MAX_STRIKES: constant(uint256) = 32
MAX_SYMBOL_BYTES: constant(uint256) = 64  # a symbol is ASCII (govtx.vy)
CALL: constant(int256) = 2
MONTHS: constant(Bytes[36]) = b"JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC"
# A ListInstrument item: its tuple (0x05, u32 1), the Instrument's (0x05, u32 30), then
# the fields from the id; a ListOptionChain item: its 14 fields from FIELDS_AT.
LISTING_AT: constant(uint256) = 32
CODE_UNKNOWN_INSTRUMENT: constant(uint256) = 10013
E_UNKNOWN_INSTRUMENT: constant(bytes32) = 0x556e6b6e6f776e496e737472756d656e74000000000000000000000000000000  # "UnknownInstrument"
E_MALFORMED: constant(bytes32) = 0x4d616c666f726d65645478000000000000000000000000000000000000000000  # "MalformedTx"


struct Chain:
    # The offsets of a ListOptionChain item's fields (their tag bytes).
    underlying: uint256  # 0x04, u32 length, the name
    asset: uint256
    expiry: uint256
    strikes: uint256  # 0x05, u32 count, 33 bytes each
    count: uint256
    tick: uint256  # then lot, im, im floor, mm, maker, taker, liquidation fee, max OI


@pure
@external
def begin(ctx: steps.Context, item: Bytes[steps.MAX_ITEM]) -> steps.Context:
    """Governance comes from L1 only (`require_l1`, before any step)."""
    kind: uint8 = convert(slice(item, steps.KIND_AT, 1), uint8)
    if convert(slice(item, 0, 1), uint8) != steps.ORIGIN_L1:
        return steps.refuse(ctx, steps.CODE_UNAUTHORIZED, steps.E_WRONG_ORIGIN)
    out: steps.Context = ctx
    out.pc = GOV_RISK
    if kind == K_SET_ORACLE:
        out.pc = GOV_ORACLE
    elif kind == K_SET_INSTRUMENT_PARAMS:
        out.pc = GOV_PARAMS
    elif kind == K_LIST_INSTRUMENT:
        out.pc = GOV_LIST
    elif kind == K_LIST_OPTION_CHAIN:
        # list_option_chain checks the expiry and the grid before its first step.
        c: Chain = self._chain(item)
        expiry: int256 = self._field(item, c.expiry)
        now: int256 = convert(ctx.timestamp, int256)
        if not (expiry % DAY == EXPIRY_AT and now + SETTLEMENT_WINDOW < expiry and expiry <= now + MAX_EXPIRY_HORIZON):
            return steps.refuse(ctx, steps.CODE_INVALID, E_MALFORMED)
        if not self._grid_ok(self._field(item, c.asset), self._field(item, c.tick), self._field(item, c.tick + 33)):
            return steps.refuse(ctx, steps.CODE_INVALID, E_MALFORMED)
        out.pc = GOV_EXPIRY
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
    if not (self._within(max_positions, MAX_POSITIONS) and self._within(lifetime, 365 * 86400) and self._within(band, PPM) and self._within(backstop, PPM)):
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


# -- listings ----------------------------------------------------------------------------


@pure
@internal
def _grid_ok(asset: int256, tick: int256, lot: int256) -> bool:
    """`check_grid`: a u16 asset, a positive u64 tick and lot, tick × lot a multiple
    of 1e8 (ranges first: the product is computed only within them)."""
    if asset < 0 or asset > U16_MAX or tick <= 0 or tick > U64_MAX or lot <= 0 or lot > U64_MAX:
        return False
    return tick * lot % SIZE_ONE == 0


@pure
@internal
def _risk_ok(im: int256, mm: int256, maker: int256, taker: int256, liq: int256, cap: int256, max_oi: int256, max_liq_fee: int256, floor_: int256) -> bool:
    """`check_risk_fields`."""
    ok: bool = 0 < mm and mm < im and im <= PPM
    if floor_ != 0:
        ok = ok and mm < floor_ and floor_ <= im
    ok = ok and 0 <= maker and maker <= MAX_FEE_PPM and 0 <= taker and taker <= MAX_FEE_PPM
    ok = ok and 0 <= liq and liq <= max_liq_fee and 0 <= cap and cap <= PPM
    return ok and 0 < max_oi and max_oi <= I64_MAX


@pure
@internal
def _max_liq_fee(leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> int256:
    glob: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.globals_path())
    assert len(glob) > 0, "GovernanceSteps: the globals leaf is missing"
    return steps.int_at(glob, steps.field_at(10))


@pure
@internal
def _zeros(count: uint256) -> Bytes[330]:
    """`count` (at most 10) zero int fields."""
    z: Bytes[33] = concat(b"\x02", empty(bytes32))
    out: Bytes[330] = b""
    for i: uint256 in range(10):
        if i >= count:
            break
        out = abi_decode(abi_encode(concat(out, z)), Bytes[330])
    return out


@pure
@internal
def _indices() -> Bytes[667]:
    """A new listing's fields from `active` on: active, no mark, no vector, no
    funding, loss, open interest or pool (rollbook.exchange.leaves.Instrument)."""
    return concat(b"\x01\x01", self._zeros(4), b"\x05\x00\x00\x00\x00", self._zeros(8))


@pure
@internal
def _list(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """`list_instrument`: a perpetual with the listing's first 13 fields and fresh
    indices; checks in the STF's order (a leaf is read only where the STF reads it)."""
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    instrument_id: int256 = self._field(item, LISTING_AT)
    if instrument_id < 0 or instrument_id > U16_MAX:
        return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
    ipath: bytes32 = steps.int_key(b"inst", convert(instrument_id, uint256))
    if len(steps.leaf(leaves, ipath)) > 0:
        return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
    # 1..64 characters, one byte each (the Timelock took printable ASCII only).
    length: uint256 = convert(slice(item, LISTING_AT + 34, 4), uint256)
    if length == 0 or length > MAX_SYMBOL_BYTES:
        return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
    kind_at: uint256 = LISTING_AT + 38 + length  # then asset, tick, lot, ..., max OI
    f: int256[11] = empty(int256[11])
    for i: uint256 in range(11):
        f[i] = self._field(item, kind_at + 33 * (i + 1))
    if not self._grid_ok(f[0], f[1], f[2]):
        return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
    if not self._risk_ok(f[3], f[4], f[5], f[6], f[7], f[8], f[9], self._max_liq_fee(leaves), 0):
        return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
    # The leaf: its tag, the item's fields from the id to the max OI, no expiry,
    # strike or floor, then fresh indices.
    fields: Bytes[steps.MAX_LEAF] = steps.fit(slice(item, LISTING_AT, kind_at + 33 * 11 - LISTING_AT))
    listing: Bytes[steps.MAX_LEAF] = steps.fit(concat(b"\x04", fields, self._zeros(3), self._indices()))
    return [steps.change(ipath, b"", listing)], steps.next1(ctx, steps.TX_END, 0)


@pure
@internal
def _chain(item: Bytes[steps.MAX_ITEM]) -> Chain:
    c: Chain = empty(Chain)
    c.underlying = FIELDS_AT + 33
    c.asset = c.underlying + 5 + convert(slice(item, c.underlying + 1, 4), uint256)
    c.expiry = c.asset + 33
    c.strikes = c.expiry + 33
    c.count = convert(slice(item, c.strikes + 1, 4), uint256)
    c.tick = c.strikes + 5 + 33 * c.count
    return c


@pure
@internal
def _expiry(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """`list_option_chain`'s first step: the risk fields, whole-dollar strikes, and
    the expiry joins the asset's queue (sorted, at most 16 live)."""
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    c: Chain = self._chain(item)
    f: int256[9] = empty(int256[9])  # tick, lot, im, im floor, mm, maker, taker, liq, max OI
    for i: uint256 in range(9):
        f[i] = self._field(item, c.tick + 33 * i)
    if f[3] <= 0:
        return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
    if not self._risk_ok(f[2], f[4], f[5], f[6], f[7], 0, f[8], self._max_liq_fee(leaves), f[3]):
        return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
    for k: uint256 in range(MAX_STRIKES):
        if k >= c.count:
            break
        if self._field(item, c.strikes + 5 + 33 * k) % QUOTE_ONE != 0:
            return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
    expiry: int256 = self._field(item, c.expiry)
    qpath: bytes32 = steps.int_key(b"expiries", convert(self._field(item, c.asset), uint256))
    queue: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, qpath)
    pending: uint256 = 0
    if len(queue) > 0:
        pending = steps.u32(queue, 2)
    # The place of the expiry in the ascending list (or its presence).
    place: uint256 = pending
    for i: uint256 in range(MAX_LIVE_EXPIRIES):
        if i >= pending:
            break
        other: int256 = steps.int_at(queue, 7 + 33 * i)
        if other == expiry:
            return nothing, steps.next1(ctx, GOV_LIST_OPTION, 0)
        if other > expiry:
            place = i
            break
    if pending >= MAX_LIVE_EXPIRIES:
        return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
    # The samples' sum and count stay (they belong to the nearest expiry).
    samples: Bytes[66] = concat(b"\x02", empty(bytes32), b"\x02", empty(bytes32))
    if len(queue) > 0:
        samples = slice(queue, 6 + 33 * pending, 66)
    new: Bytes[steps.MAX_LEAF] = b"\x0a\x05"
    if len(queue) > 0:
        new = steps.fit(concat(
            b"\x0a\x05", convert(convert(pending + 1, uint32), bytes4),
            slice(queue, 6, 33 * place), b"\x02", convert(expiry, bytes32),
        ))
        rest: Bytes[steps.MAX_LEAF] = steps.fit(concat(slice(queue, 6 + 33 * place, 33 * (pending - place)), samples))
        new = steps.fit(concat(new, rest))
    else:
        new = concat(b"\x0a\x05\x00\x00\x00\x01\x02", convert(expiry, bytes32), samples)
    return [steps.change(qpath, queue, new)], steps.next1(ctx, GOV_LIST_OPTION, 0)


@pure
@internal
def _digits(n: uint256) -> Bytes[20]:
    """`n` in decimal (n < 10^20)."""
    if n == 0:
        return b"0"
    out: Bytes[20] = b""
    m: uint256 = n
    for i: uint256 in range(20):
        if m == 0:
            break
        out = abi_decode(abi_encode(concat(convert(convert(48 + m % 10, uint8), bytes1), out)), Bytes[20])
        m //= 10
    return out


@pure
@internal
def _symbol(underlying: Bytes[8], expiry: uint256, strike: uint256, is_call: bool) -> Bytes[64]:
    """`options.option_symbol`: Deribit's name, e.g. ETH_USDC-27DEC26-3000-C (the day
    from Howard Hinnant's civil_from_days, as the STF computes it)."""
    z: uint256 = expiry // 86400 + 719468
    era: uint256 = z // 146097
    doe: uint256 = z - era * 146097
    yoe: uint256 = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    year: uint256 = yoe + era * 400
    doy: uint256 = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp: uint256 = (5 * doy + 2) // 153
    day: uint256 = doy - (153 * mp + 2) // 5 + 1
    month: uint256 = mp + 3
    if mp >= 10:
        month = mp - 9
    if month <= 2:
        year += 1
    yy: uint256 = year % 100
    kind: Bytes[1] = b"P"
    if is_call:
        kind = b"C"
    return concat(
        underlying, b"_USDC-", self._digits(day), slice(MONTHS, 3 * (month - 1), 3),
        convert(convert(48 + yy // 10, uint8), bytes1), convert(convert(48 + yy % 10, uint8), bytes1),
        b"-", self._digits(strike // 10**6), b"-", kind,
    )


@pure
@internal
def _list_option(ctx: steps.Context, item: Bytes[steps.MAX_ITEM], leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """One option of the chain (carried: its place j = 2k + put): id first_id + j, the
    k-th strike, a call or a put."""
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    c: Chain = self._chain(item)
    j: uint256 = convert(ctx.carry[0], uint256)
    assert j < 2 * c.count, "GovernanceSteps: the chain has no such option"
    instrument_id: uint256 = convert(self._field(item, FIELDS_AT), uint256) + j
    ipath: bytes32 = steps.int_key(b"inst", instrument_id)
    if len(steps.leaf(leaves, ipath)) > 0:
        return nothing, steps.fail(ctx, steps.CODE_INVALID, E_MALFORMED)
    strike_at: uint256 = c.strikes + 5 + 33 * (j // 2)
    kind: int256 = CALL + convert(j % 2, int256)
    length: uint256 = convert(slice(item, c.underlying + 1, 4), uint256)
    underlying: Bytes[8] = abi_decode(abi_encode(slice(item, c.underlying + 5, length)), Bytes[8])
    symbol: Bytes[64] = self._symbol(
        underlying, convert(self._field(item, c.expiry), uint256), convert(self._field(item, strike_at), uint256), j % 2 == 0
    )
    # Instrument(id, symbol, kind, asset, tick, lot, im, mm, maker, taker, liq, 0,
    # max OI, expiry, strike, im floor), then fresh indices.
    listing: Bytes[steps.MAX_LEAF] = steps.fit(concat(
        b"\x04\x02", convert(instrument_id, bytes32),
        b"\x04", convert(convert(len(symbol), uint32), bytes4), symbol,
        b"\x02", convert(kind, bytes32),
        slice(item, c.asset, 33), slice(item, c.tick, 66),  # asset; tick, lot
        slice(item, c.tick + 66, 33), slice(item, c.tick + 132, 132),  # im; mm, maker, taker, liq
        b"\x02", empty(bytes32), slice(item, c.tick + 264, 33),  # no funding cap; max OI
        slice(item, c.expiry, 33), slice(item, strike_at, 33), slice(item, c.tick + 99, 33),
        self._indices(),
    ))
    changes: DynArray[steps.Change, steps.MAX_WRITES] = [steps.change(ipath, b"", listing)]
    if j + 1 < 2 * c.count:
        return changes, steps.next1(ctx, GOV_LIST_OPTION, convert(j + 1, int256))
    return changes, steps.next1(ctx, steps.TX_END, 0)


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
    if ctx.pc == GOV_LIST:
        return self._list(ctx, item, leaves)
    if ctx.pc == GOV_EXPIRY:
        return self._expiry(ctx, item, leaves)
    if ctx.pc == GOV_LIST_OPTION:
        return self._list_option(ctx, item, leaves)
    raise "GovernanceSteps: not a governance step"
