# pragma version 0.4.3
# pragma evm-version prague
"""
@title MarginSteps
@notice The margin family of the one-step executor: an account's initial-margin check
        as the STF runs it (`rollbook.exchange.margin.settle_and_price` and
        `require_initial_margin`), one step per position. `margin.begin` starts the
        check; `margin.settle_accumulate` settles a position's lazy funding and loss
        (`rollbook.exchange.positions.settle_loaded`), checks its mark is fresh and adds
        its value, IM and MM (standard mode: Deribit's option formulas,
        `rollbook.exchange.option_margin`; a perpetual's fractions) to the carried
        sums; `margin.compare` checks equity ≥ IM and returns to the step the caller
        named. Carried: (account, return step, cursor, Σ value, Σ IM, Σ MM), then a
        trade's (instrument, old size, new size, cash) and, for a fill's maker, its
        taker's (account, old, new, cash). After a trade the compare also accepts a
        change that only reduced risk (dYdX v4's rule, with Deribit-style free
        collateral: MM does not rise, equity/MM and equity − IM do not fall; the
        pre-trade sums are the carried ones with the traded instrument's contribution
        at the new size replaced by the old, the instrument read in the compare), and
        a maker's compare runs into its taker's check (`TradingSteps.vy`).
        A health check (`margin.health`: liquidation, backstop; MODE_HEALTH in word
        15) checks nothing: its compare hands (equity, IM, MM) in words 0-2, and the
        asking step's word 14, to the step that asked.
        An expired option (`settle_and_price`, `rollbook.exchange.expiry.is_expired`):
        `margin.settle_accumulate` settles its funding and loss and hands the carried
        words to `expiry.settle` (`ExpirySteps.vy`), which pays it out and goes on to
        the next position or the compare, or, while the expiry's price is not fixed,
        to `margin.accumulate`: the mark's freshness and the position's value, IM and
        MM, as for any position. Account settlement (`settle.begin`,
        `settle.position`, `rollbook.exchange.accounts.settle_account`) hands an
        expired option to `expiry.settle` the same way, with its cursor.
        Portfolio mode (`margin.requirements(portfolio=True)`; Deribit's portfolio
        margin: each currency's portfolio is revalued under simulated spot and
        volatility shocks and the margin is its worst loss plus contingencies,
        https://www.deribit.com/kb/portfolio-margin; Derive's 23-scenario grid):
        each position adds `size · vector` (its instrument's 23-scenario P&L) to its
        asset's lanes and a short option's notional to word 5; word 4 commits to the
        lanes through the step's aux (a head holding Σ worst loss and one hashed
        entry per asset, and the lanes of the one asset the step touches), so the
        compare needs only the head: MM = Σ worst loss + 0.5 % of the short
        notional, IM = 1.3 · MM. A trade's risk-reducing rule takes the traded
        asset's lanes back to the old size (lanes + vector · (old − new)).
        Not yet: a portfolio over 32 assets (MAX_ASSETS).
"""

import steps

MARGIN_BEGIN: constant(uint256) = 96
SETTLE_ACCUMULATE: constant(uint256) = 97
ACCUMULATE: constant(uint256) = 98
COMPARE: constant(uint256) = 99
SETTLE_BEGIN: constant(uint256) = 100
SETTLE_POSITION: constant(uint256) = 101
EXPIRY_SETTLE: constant(uint256) = 226
EXPIRY_COVER: constant(uint256) = 227
K_SETTLE_ACCOUNT: constant(uint8) = 7

SIZE_ONE: constant(int256) = 10**8
PPM: constant(int256) = 10**6
INDEX_DENOMINATOR: constant(int256) = 10**20  # SIZE_ONE * INDEX_SCALE
PERPETUAL: constant(int256) = 1
CALL: constant(int256) = 2

CODE_NOT_ENOUGH_FUNDS: constant(uint256) = 10009
E_NOT_ENOUGH_FUNDS: constant(bytes32) = 0x4e6f74456e6f75676846756e6473000000000000000000000000000000000000  # "NotEnoughFunds"
CODE_UNKNOWN_ACCOUNT: constant(uint256) = 10004
E_UNKNOWN_ACCOUNT: constant(bytes32) = 0x556e6b6e6f776e4163636f756e74000000000000000000000000000000000000  # "UnknownAccount"
CODE_ORACLE: constant(uint256) = 11098
E_ORACLE: constant(bytes32) = 0x4f7261636c654572726f72000000000000000000000000000000000000000000  # "OracleError"

INSTRUMENTS_AT: constant(uint256) = 231  # the account's u32 count, then 33 bytes each

# Portfolio mode (rollbook.exchange.portfolio_margin, margin.requirements).
LANES: constant(uint256) = 23  # the default grid's scenarios
MAX_ASSETS: constant(uint256) = 32  # the default position bound: one asset per position
NO_VECTOR: constant(int256) = -1  # margin.NO_VECTOR: an instrument had no vector
CONTINGENCY_PPM: constant(int256) = 5_000  # portfolio_margin.PMParams
IM_MULTIPLE_PPM: constant(int256) = 1_300_000
ENTRY_HASH: constant(uint256) = 2**240 - 1  # an asset entry's hash bits
NO_ASSET: constant(uint256) = 2**16  # asset ids are u16 (governance.check_grid)

@pure
@internal
def _staleness(oracle: Bytes[steps.MAX_LEAF]) -> int256:
    """OracleConfig: the signers (0x05, u32 count, 25 bytes each), threshold,
    last timestamp, staleness."""
    base: uint256 = 1 + 5 + 25 * steps.u32(oracle, 2)
    return steps.int_at(oracle, base + 33 * 2 + 1)


@pure
@internal
def _contribution(inst: Bytes[steps.MAX_LEAF], at: steps.InstrumentAt, size: int256) -> (int256, int256, int256):
    """(value, IM, MM) of a position in standard mode (margin.contribution)."""
    mark: int256 = steps.int_at(inst, at.mark)
    value: int256 = steps.floor_div(mark * size, SIZE_ONE)
    kind: int256 = steps.int_at(inst, at.kind)
    if kind == PERPETUAL:
        gross: int256 = abs(value)
        return value, steps.ceil_div(gross * steps.int_at(inst, at.im_ppm), PPM), steps.ceil_div(gross * steps.int_at(inst, at.mm_ppm), PPM)
    if size >= 0:
        return value, value, 0
    spot: int256 = steps.int_at(inst, at.mark_index)
    strike: int256 = steps.int_at(inst, at.strike)
    otm: int256 = 0
    if kind == CALL:
        otm = max(strike - spot, 0)
    else:
        otm = max(spot - strike, 0)
    base: int256 = steps.ceil_div(spot * steps.int_at(inst, at.im_ppm), PPM)
    floor_: int256 = steps.ceil_div(spot * steps.int_at(inst, at.im_floor_ppm), PPM)
    initial: int256 = max(base - otm, floor_) + mark
    maintenance: int256 = steps.ceil_div(spot * steps.int_at(inst, at.mm_ppm), PPM) + mark
    units: int256 = -size
    return value, steps.ceil_div(initial * units, SIZE_ONE), steps.ceil_div(maintenance * units, SIZE_ONE)


# -- portfolio mode ------------------------------------------------------------------
# Deribit's portfolio margin simulates each currency's portfolio under spot and vol
# shocks and requires the worst loss plus contingencies; rollbook's grid has 23
# scenarios per underlying asset, and each instrument's leaf holds the P&L of one
# long unit in each (its vector, written by the oracle's steps). The check sums
# `size · vector` per asset, one position per step. 23 lanes per asset do not fit in
# the carried words (rollbook.exchange.margin, "the portfolio check's witness"):
# word 4 carries keccak of a head, abi_encode(Σ worst loss, entries) with one entry
# per asset (the asset id in the top 16 bits, the low 240 bits of keccak(lanes)),
# 0 before the first asset; word 5 the short options' notional. A step's aux is the
# head and, when the step needs them, the 23 lanes of one asset: a position changes
# one asset's lanes, hence only that asset's term of the loss.

struct Head:
    loss: int256  # Σ over assets of the worst scenario loss
    entries: DynArray[uint256, MAX_ASSETS]
    found: uint256  # the asked asset's entry, or len(entries)
    lanes: int256[LANES]  # its lanes (zero for an asset the check has not met)


@pure
@internal
def _is_portfolio(account: Bytes[steps.MAX_LEAF]) -> bool:
    return convert(slice(account, len(account) - 1, 1), uint8) == 1


@pure
@internal
def _open(aux: Bytes[steps.MAX_AUX], word: int256, asset: uint256) -> Head:
    """The head the carried word commits to, and the lanes of `asset` (checked
    against its entry) when the check has met it."""
    h: Head = empty(Head)
    size: uint256 = 0
    if word != 0:
        count: uint256 = extract32(aux, 64, output_type=uint256)
        assert count <= MAX_ASSETS, "MarginSteps: too many assets"
        size = 96 + 32 * count
        assert len(aux) >= size and convert(keccak256(slice(aux, 0, size)), int256) == word, "MarginSteps: the lanes are not the carried ones"
        h.loss = extract32(aux, 0, output_type=int256)
        for i: uint256 in range(MAX_ASSETS):
            if i == count:
                break
            h.entries.append(extract32(aux, 96 + 32 * i, output_type=uint256))
    h.found = len(h.entries)
    for i: uint256 in range(MAX_ASSETS):
        if i == len(h.entries):
            break
        if h.entries[i] >> 240 == asset:
            h.found = i
            break
    if h.found < len(h.entries):
        assert len(aux) == size + 32 * LANES, "MarginSteps: the asset's lanes are missing"
        tail: Bytes[32 * LANES] = slice(aux, size, 32 * LANES)
        assert convert(keccak256(tail), uint256) & ENTRY_HASH == h.entries[h.found] & ENTRY_HASH, "MarginSteps: the lanes are not the asset's"
        for j: uint256 in range(LANES):
            h.lanes[j] = extract32(tail, 32 * j, output_type=int256)
    return h


@pure
@internal
def _loss(lanes: int256[LANES]) -> int256:
    """An asset's worst scenario loss, rounded up (portfolio_margin.worst_loss_of_sum)."""
    worst: int256 = lanes[0]
    for j: uint256 in range(1, LANES):
        worst = min(worst, lanes[j])
    return max(0, -steps.floor_div(worst, SIZE_ONE))


@pure
@internal
def _moved(lanes: int256[LANES], inst: Bytes[steps.MAX_LEAF], at: steps.InstrumentAt, size: int256) -> int256[LANES]:
    """`lanes + size · vector` (the vector: 0x05, u32 count, 0x02 and 32 bytes each)."""
    out: int256[LANES] = lanes
    for j: uint256 in range(LANES):
        out[j] += size * steps.int_at(inst, at.vector + 6 + 33 * j)
    return out


@pure
@internal
def _has_vector(inst: Bytes[steps.MAX_LEAF], at: steps.InstrumentAt) -> bool:
    return steps.u32(inst, at.vector + 1) == LANES


@pure
@internal
def _short_notional(inst: Bytes[steps.MAX_LEAF], at: steps.InstrumentAt, size: int256) -> int256:
    """margin.short_option_notional: a short option's size at its index."""
    if size >= 0 or steps.int_at(inst, at.kind) == PERPETUAL:
        return 0
    return -size * steps.int_at(inst, at.mark_index) // SIZE_ONE


@pure
@internal
def _pm_requirements(loss: int256, short: int256) -> (int256, int256):
    """(IM, MM): the assets' worst losses plus the contingency on the short options'
    notional; IM a multiple of MM (portfolio_margin.requirements_of)."""
    maintenance: int256 = loss + steps.ceil_div(short * CONTINGENCY_PPM, PPM)
    return steps.ceil_div(maintenance * IM_MULTIPLE_PPM, PPM), maintenance


@pure
@internal
def _accumulate_pm(ctx: steps.Context, aux: Bytes[steps.MAX_AUX], inst: Bytes[steps.MAX_LEAF], at: steps.InstrumentAt, size: int256) -> (int256, int256):
    """Words 4 and 5 after a position in portfolio mode: the new head's hash (the
    asset's lanes moved by `size · vector`, its entry and its loss term replaced)
    and the short notional (NO_VECTOR, the head kept, once an instrument has no
    vector: the compare refuses, as margin.requirements raises)."""
    if ctx.carry[5] == NO_VECTOR or not self._has_vector(inst, at):
        return ctx.carry[4], NO_VECTOR
    asset: uint256 = convert(steps.int_at(inst, at.asset), uint256)
    h: Head = self._open(aux, ctx.carry[4], asset)
    lanes: int256[LANES] = self._moved(h.lanes, inst, at, size)
    entry: uint256 = (asset << 240) | (convert(keccak256(abi_encode(lanes)), uint256) & ENTRY_HASH)
    if h.found == len(h.entries):
        assert h.found < MAX_ASSETS, "MarginSteps: a portfolio over 32 assets is not executable yet"
        h.entries.append(entry)
    else:
        h.entries[h.found] = entry
    loss: int256 = h.loss - self._loss(h.lanes) + self._loss(lanes)
    return convert(keccak256(abi_encode(loss, h.entries)), int256), ctx.carry[5] + self._short_notional(inst, at, size)

@pure
@external
def begin(ctx: steps.Context, item: Bytes[steps.MAX_ITEM]) -> steps.Context:
    """SettleAccount (kind 7, unsigned): it starts at `settle.begin`."""
    assert convert(slice(item, steps.KIND_AT, 1), uint8) == K_SETTLE_ACCOUNT, "MarginSteps: not a settlement"
    out: steps.Context = ctx
    out.pc = SETTLE_BEGIN
    return out


@pure
@internal
def _settled_account(item: Bytes[steps.MAX_ITEM]) -> uint256:
    assert len(item) == 26, "MarginSteps: a settlement item is 26 bytes"
    return convert(slice(item, 22, 4), uint256)


@pure
@internal
def _carry(index: int256, ret: int256, cursor: int256, worth: int256, im: int256, mm: int256) -> int256[steps.CARRY]:
    out: int256[steps.CARRY] = empty(int256[steps.CARRY])
    out[0] = index
    out[1] = ret
    out[2] = cursor
    out[3] = worth
    out[4] = im
    out[5] = mm
    return out


@pure
@internal
def _settle(
    apath: bytes32,
    account: Bytes[steps.MAX_LEAF],
    ppath: bytes32,
    position: Bytes[steps.MAX_LEAF],
    ipath: bytes32,
    inst: Bytes[steps.MAX_LEAF],
    at: steps.InstrumentAt,
    size: int256,
) -> DynArray[steps.Change, steps.MAX_WRITES]:
    """Lazy funding and socialised loss (positions.settle_loaded): the position pays
    what its instrument's indices accrued since its snapshots, into the pool."""
    changes: DynArray[steps.Change, steps.MAX_WRITES] = []
    funding: int256 = steps.int_at(inst, at.funding_index)
    side: int256 = steps.int_at(inst, at.loss_short)
    if size > 0:
        side = steps.int_at(inst, at.loss_long)
    funding_snap: int256 = steps.int_at(position, steps.field_at(2))
    loss_snap: int256 = steps.int_at(position, steps.field_at(3))
    if funding_snap != funding or loss_snap != side:
        payment: int256 = 0
        if size != 0:
            payment = steps.ceil_div(size * (funding - funding_snap), INDEX_DENOMINATOR)
            payment += steps.ceil_div(abs(size) * (side - loss_snap), INDEX_DENOMINATOR)
        settled: Bytes[steps.MAX_LEAF] = steps.with_int(position, steps.field_at(2), funding)
        settled = steps.with_int(settled, steps.field_at(3), side)
        changes.append(steps.change(ppath, position, settled))
        if payment != 0:
            balance: int256 = steps.int_at(account, steps.ACCOUNT_BALANCE_AT)
            changes.append(steps.change(apath, account, steps.with_int(account, steps.ACCOUNT_BALANCE_AT, balance - payment)))
            pool: int256 = steps.int_at(inst, at.pool)
            changes.append(steps.change(ipath, inst, steps.with_int(inst, at.pool, pool + payment)))
    return changes


@pure
@internal
def _position_path(index: uint256, instrument_id: uint256) -> bytes32:
    return keccak256(concat(
        b"\x05\x00\x00\x00\x03\x04\x00\x00\x00\x03pos\x02", convert(index, bytes32), b"\x02", convert(instrument_id, bytes32)
    ))


@pure
@internal
def _settle_position(ctx: steps.Context, index: uint256, leaves: DynArray[steps.Leaf, steps.MAX_READS]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """`settle.position` (accounts.settle_account): one position's lazy settlement."""
    cursor: uint256 = convert(ctx.carry[0], uint256)
    apath: bytes32 = steps.int_key(b"acct", index)
    account: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, apath)
    count: uint256 = steps.u32(account, INSTRUMENTS_AT)
    assert cursor < count, "MarginSteps: the cursor is past the positions"
    instrument_id: uint256 = convert(steps.int_at(account, INSTRUMENTS_AT + 4 + 33 * cursor + 1), uint256)
    ppath: bytes32 = self._position_path(index, instrument_id)
    ipath: bytes32 = steps.int_key(b"inst", instrument_id)
    position: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, ppath)
    inst: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, ipath)
    assert len(position) > 0 and len(inst) > 0, "MarginSteps: a leaf is missing"
    at: steps.InstrumentAt = steps.instrument_at(inst)
    size: int256 = steps.int_at(position, steps.field_at(0))
    changes: DynArray[steps.Change, steps.MAX_WRITES] = []
    if size != 0:
        changes = self._settle(apath, account, ppath, position, ipath, inst, at, size)
    kind: int256 = steps.int_at(inst, at.kind)
    if kind != PERPETUAL and convert(ctx.timestamp, int256) >= steps.int_at(inst, at.expiry):
        # An expired option: its payout is `expiry.settle`'s, with this cursor.
        return changes, steps.next_step(ctx, EXPIRY_SETTLE, ctx.carry)
    carry: int256[steps.CARRY] = empty(int256[steps.CARRY])
    pc: uint256 = EXPIRY_COVER
    if cursor + 1 < count:
        pc = SETTLE_POSITION
        carry[0] = convert(cursor + 1, int256)
    return changes, steps.next_step(ctx, pc, carry)


@pure
@internal
def _accumulate(ctx: steps.Context, account: Bytes[steps.MAX_LEAF], inst: Bytes[steps.MAX_LEAF], at: steps.InstrumentAt, size: int256, leaves: DynArray[steps.Leaf, steps.MAX_READS], aux: Bytes[steps.MAX_AUX], changes: DynArray[steps.Change, steps.MAX_WRITES]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """The mark's freshness and the position's value added to word 3; its IM and MM to
    words 4 and 5 in standard mode (`require_fresh_mark`, `contribution`), its lanes
    and short notional in portfolio mode (the aux); then the next position or the
    compare."""
    oracle: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, keccak256(b"\x05\x00\x00\x00\x01\x04\x00\x00\x00\x06oracle"))
    assert len(oracle) > 0, "MarginSteps: a leaf is missing"
    mark_time: int256 = steps.int_at(inst, at.mark_time)
    if mark_time == 0 or convert(ctx.timestamp, int256) - mark_time > self._staleness(oracle):
        nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
        return nothing, steps.fail(ctx, CODE_ORACLE, E_ORACLE)
    value: int256 = 0
    im: int256 = 0
    mm: int256 = 0
    if self._is_portfolio(account):
        value = steps.floor_div(steps.int_at(inst, at.mark) * size, SIZE_ONE)
        im, mm = self._accumulate_pm(ctx, aux, inst, at, size)
    else:
        value, im, mm = self._contribution(inst, at, size)
        im += ctx.carry[4]
        mm += ctx.carry[5]
    pc: uint256 = COMPARE
    if convert(ctx.carry[2], uint256) + 1 < steps.u32(account, INSTRUMENTS_AT):
        pc = SETTLE_ACCUMULATE
    carry: int256[steps.CARRY] = self._carry(
        ctx.carry[0], ctx.carry[1], ctx.carry[2] + 1, ctx.carry[3] + value, im, mm
    )
    return changes, steps.next_step(ctx, pc, carry)


@pure
@internal
def _settle_accumulate(ctx: steps.Context, leaves: DynArray[steps.Leaf, steps.MAX_READS], aux: Bytes[steps.MAX_AUX]) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """`margin.settle_accumulate` (and `margin.accumulate`, which only values the
    position: an expired option whose price was not fixed yet)."""
    index: uint256 = convert(ctx.carry[0], uint256)
    cursor: uint256 = convert(ctx.carry[2], uint256)
    apath: bytes32 = steps.int_key(b"acct", index)
    account: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, apath)
    count: uint256 = steps.u32(account, INSTRUMENTS_AT)
    assert cursor < count, "MarginSteps: the cursor is past the positions"
    instrument_id: uint256 = convert(steps.int_at(account, INSTRUMENTS_AT + 4 + 33 * cursor + 1), uint256)
    ppath: bytes32 = self._position_path(index, instrument_id)
    ipath: bytes32 = steps.int_key(b"inst", instrument_id)
    position: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, ppath)
    inst: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, ipath)
    assert len(position) > 0 and len(inst) > 0, "MarginSteps: a leaf is missing"
    at: steps.InstrumentAt = steps.instrument_at(inst)
    size: int256 = steps.int_at(position, steps.field_at(0))
    if ctx.pc == ACCUMULATE:
        nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
        return self._accumulate(ctx, account, inst, at, size, leaves, aux, nothing)
    changes: DynArray[steps.Change, steps.MAX_WRITES] = self._settle(apath, account, ppath, position, ipath, inst, at, size)
    kind: int256 = steps.int_at(inst, at.kind)
    if kind != PERPETUAL and convert(ctx.timestamp, int256) >= steps.int_at(inst, at.expiry):
        # An expired option (settle_and_price): `expiry.settle` pays it out, or
        # hands back to `margin.accumulate` while its price is not fixed.
        return changes, steps.next_step(ctx, EXPIRY_SETTLE, ctx.carry)
    return self._accumulate(ctx, account, inst, at, size, leaves, aux, changes)


# -- the compare, and a trade's check ---------------------------------------------------
# A trade's check carries, after (account, return step, cursor, Σ value, Σ IM, Σ MM),
# the traded (instrument, old size, new size, cash) in words 6-9 (zero for a check
# that is not a trade's: old = 0 never reduces) and, when it returns to
# `margin.begin`, the next check's (account, old, new, cash) in words 10-13: a
# fill's maker check runs into its taker's, which returns to `tx.end`
# (rollbook.exchange.margin.require_initial_margin).

TRADE_FROM: constant(uint256) = 6
KEPT_AT: constant(uint256) = 14  # a health check's word for the step that asked
HEALTH_AT: constant(uint256) = 15  # rollbook.exchange.margin.HEALTH_AT
MODE_HEALTH: constant(int256) = 1


@pure
@internal
def _keep_trade(ctx: steps.Context, out: steps.Context) -> steps.Context:
    """`out` with the trade's words (6-15) of `ctx` carried on (a refusal carries
    nothing)."""
    if out.failed == 1:
        return out
    kept: steps.Context = out
    for i: uint256 in range(TRADE_FROM, steps.CARRY):
        kept.carry[i] = ctx.carry[i]
    return kept


@pure
@internal
def _requirements(ctx: steps.Context, portfolio: bool, aux: Bytes[steps.MAX_AUX]) -> (int256, int256):
    """The check's (IM, MM): the carried sums (standard mode), or from the lanes and
    the short notional (portfolio mode; the caller refused NO_VECTOR)."""
    if not portfolio:
        return ctx.carry[4], ctx.carry[5]
    return self._pm_requirements(self._open(aux, ctx.carry[4], NO_ASSET).loss, ctx.carry[5])


@pure
@internal
def _reduces(
    ctx: steps.Context,
    balance: int256,
    equity: int256,
    post_im: int256,
    post_mm: int256,
    portfolio: bool,
    aux: Bytes[steps.MAX_AUX],
    leaves: DynArray[steps.Leaf, steps.MAX_READS],
) -> (bool, bool):
    """The risk-reducing rule of a trade that shrank a position toward zero without
    flipping it (margin.require_initial_margin, dYdX v4): MM does not rise, equity/MM
    does not fall, and the free collateral (equity − IM) does not fall. The pre-trade
    sums are the post-trade ones with the traded instrument's contribution at the new
    size replaced by its contribution at the old — standard mode: its value, IM and
    MM; portfolio mode: its value, `vector · (old − new)` added to its asset's lanes
    and its short notional (the aux: the head and that asset's lanes) — and the
    pre-trade equity has the trade's cash taken
    back; the instrument is read here. Returns (reduces, refused for a missing
    vector: margin.requirements raises OracleError for the pre-trade positions)."""
    old: int256 = ctx.carry[7]
    new: int256 = ctx.carry[8]
    if old == 0 or abs(new) >= abs(old) or (new != 0 and (new > 0) != (old > 0)):
        return False, False
    inst: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.int_key(b"inst", convert(ctx.carry[6], uint256)))
    assert len(inst) > 0, "MarginSteps: the traded instrument is missing"
    at: steps.InstrumentAt = steps.instrument_at(inst)
    v_new: int256 = 0
    im_new: int256 = 0
    mm_new: int256 = 0
    v_old: int256 = 0
    im_old: int256 = 0
    mm_old: int256 = 0
    v_new, im_new, mm_new = self._contribution(inst, at, new)
    v_old, im_old, mm_old = self._contribution(inst, at, old)
    pre_im: int256 = post_im - im_new + im_old
    pre_mm: int256 = post_mm - mm_new + mm_old
    if portfolio:
        if not self._has_vector(inst, at):
            return False, True
        short: int256 = ctx.carry[5] - self._short_notional(inst, at, new) + self._short_notional(inst, at, old)
        h: Head = self._open(aux, ctx.carry[4], convert(steps.int_at(inst, at.asset), uint256))
        loss: int256 = h.loss - self._loss(h.lanes) + self._loss(self._moved(h.lanes, inst, at, old - new))
        pre_im, pre_mm = self._pm_requirements(loss, short)
    pre_equity: int256 = balance - ctx.carry[9] + ctx.carry[3] - v_new + v_old
    return post_mm <= pre_mm and equity * pre_mm >= pre_equity * post_mm and equity - post_im >= pre_equity - pre_im, False


@pure
@internal
def _compare(
    ctx: steps.Context,
    account: Bytes[steps.MAX_LEAF],
    index: uint256,
    leaves: DynArray[steps.Leaf, steps.MAX_READS],
    aux: Bytes[steps.MAX_AUX],
) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    """`margin.compare`: equity ≥ IM (the insurance fund is exempt), or a trade that
    only reduced risk; then the step the check returns to (a chained check: the next
    account's `margin.begin`, returning to `tx.end`). A health check (MODE_HEALTH)
    checks nothing: the step that asked gets (equity, IM, MM) in words 0-2 and its
    kept word (margin.health, margin.handed)."""
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    portfolio: bool = self._is_portfolio(account)
    if portfolio and ctx.carry[5] == NO_VECTOR:
        return nothing, steps.fail(ctx, CODE_ORACLE, E_ORACLE)
    im: int256 = 0
    mm: int256 = 0
    im, mm = self._requirements(ctx, portfolio, aux)
    balance: int256 = steps.int_at(account, steps.ACCOUNT_BALANCE_AT)
    equity: int256 = balance + ctx.carry[3]
    ret: uint256 = convert(ctx.carry[1], uint256)
    if ctx.carry[HEALTH_AT] == MODE_HEALTH:
        handed: int256[steps.CARRY] = empty(int256[steps.CARRY])
        handed[0] = equity
        handed[1] = im
        handed[2] = mm
        handed[KEPT_AT] = ctx.carry[KEPT_AT]
        return nothing, steps.next_step(ctx, ret, handed)
    if ret == 0:
        raise "MarginSteps: a margin check with no return step (a liquidation's) is not executable yet"
    if equity < im and index != 0:
        reduces: bool = False
        no_vector: bool = False
        reduces, no_vector = self._reduces(ctx, balance, equity, im, mm, portfolio, aux, leaves)
        if no_vector:
            return nothing, steps.fail(ctx, CODE_ORACLE, E_ORACLE)
        if not reduces:
            return nothing, steps.fail(ctx, CODE_NOT_ENOUGH_FUNDS, E_NOT_ENOUGH_FUNDS)
    if ret == MARGIN_BEGIN:
        chained: int256[steps.CARRY] = empty(int256[steps.CARRY])
        chained[0] = ctx.carry[10]
        chained[1] = convert(steps.TX_END, int256)
        chained[6] = ctx.carry[6]
        chained[7] = ctx.carry[11]
        chained[8] = ctx.carry[12]
        chained[9] = ctx.carry[13]
        return nothing, steps.next_step(ctx, MARGIN_BEGIN, chained)
    return nothing, steps.next_step(ctx, ret, empty(int256[steps.CARRY]))


@pure
@external
def rule(
    ctx: steps.Context,
    item: Bytes[steps.MAX_ITEM],
    leaves: DynArray[steps.Leaf, steps.MAX_READS],
    aux: Bytes[steps.MAX_AUX],
) -> (DynArray[steps.Change, steps.MAX_WRITES], steps.Context):
    nothing: DynArray[steps.Change, steps.MAX_WRITES] = []
    if ctx.pc == SETTLE_BEGIN or ctx.pc == SETTLE_POSITION:
        settled: uint256 = self._settled_account(item)
        if ctx.pc == SETTLE_POSITION:
            return self._settle_position(ctx, settled, leaves)
        account0: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.int_key(b"acct", settled))
        if len(account0) == 0:
            return nothing, steps.fail(ctx, CODE_UNKNOWN_ACCOUNT, E_UNKNOWN_ACCOUNT)
        if steps.u32(account0, INSTRUMENTS_AT) > 0:
            return nothing, steps.next1(ctx, SETTLE_POSITION, 0)
        return nothing, steps.next1(ctx, EXPIRY_COVER, 0)
    if ctx.pc != MARGIN_BEGIN and ctx.pc != SETTLE_ACCUMULATE and ctx.pc != ACCUMULATE and ctx.pc != COMPARE:
        raise "MarginSteps: this margin step is not executable yet"
    index: uint256 = convert(ctx.carry[0], uint256)
    account: Bytes[steps.MAX_LEAF] = steps.leaf(leaves, steps.int_key(b"acct", index))
    if len(account) == 0 and ctx.pc == MARGIN_BEGIN:
        return nothing, steps.fail(ctx, CODE_UNKNOWN_ACCOUNT, E_UNKNOWN_ACCOUNT)
    assert len(account) > 0, "MarginSteps: the account is missing"
    if ctx.pc == MARGIN_BEGIN:
        pc: uint256 = COMPARE
        if steps.u32(account, INSTRUMENTS_AT) > 0:
            pc = SETTLE_ACCUMULATE
        return nothing, self._keep_trade(ctx, steps.next_step(ctx, pc, self._carry(ctx.carry[0], ctx.carry[1], 0, 0, 0, 0)))
    if ctx.pc == SETTLE_ACCUMULATE or ctx.pc == ACCUMULATE:
        changes: DynArray[steps.Change, steps.MAX_WRITES] = []
        out: steps.Context = empty(steps.Context)
        changes, out = self._settle_accumulate(ctx, leaves, aux)
        return changes, self._keep_trade(ctx, out)
    if ctx.pc == COMPARE:
        return self._compare(ctx, account, index, leaves, aux)
    raise "MarginSteps: unreachable"
