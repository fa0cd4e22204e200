# pragma version 0.4.3
# pragma evm-version prague
"""
@title Black76
@notice An option's Black-76 mark and its portfolio-margin scenario vector in
        integers, the same bits as the STF's `oracle.option` step
        (`rollbook.exchange.portfolio_margin.mark_and_vector`, with
        `rollbook.exchange.black76.priced`, `root_t` and `log_moneyness`, and
        `rollbook.exchange.fixedmath.ln_ratio_q` and `normal_cdf_q`): values at
        2**-64, prices in quote units. Φ is read from the table contracts
        (`NormalTable0.vy` … `NormalTable2.vy`, generated from the Python table); ln
        reduces to [1, 2) by powers of two, then to 1 + j/64 (ln(1 + j/64) by the same
        series as the Python table) and a short atanh series, all at 10**36.
@dev    Every division rounds as Python's `//` (toward −∞) or as `round_div` does;
        `OracleSteps.vy` calls it for `oracle.option`.
"""

interface Table:
    def rows(indices: DynArray[uint256, POINTS]) -> DynArray[Bytes[72], POINTS]: view

LANES: constant(uint256) = 23
POINTS: constant(uint256) = 48  # Φ at d1 and d2 for each lane and for the mark
PARTS: constant(uint256) = 3
PART_ROWS: constant(uint256) = 214
Q_ROWS: constant(uint256) = 641
Q_STEP_SHIFT: constant(uint256) = 58  # grid step 2**-6 at 2**-64
Q_HALF_STEP: constant(int256) = 2**57
Q_ONE: constant(int256) = 2**64
HALF_Q: constant(int256) = 2**63
ONE: constant(int256) = 10**18
WORK: constant(int256) = 10**36
LN_STEP: constant(int256) = 15625000000000000000000000000000000  # WORK / 64
LN2: constant(int256) = 693147180559945309417232121458176568  # at 10**36
PPM: constant(int256) = 10**6
YEAR: constant(uint256) = 31536000  # 365 days
MAX_TERMS: constant(uint256) = 128

tables: public(address[PARTS])


@deploy
def __init__(tables: address[PARTS]):
    self.tables = tables


# -- integer helpers ---------------------------------------------------------------------


@pure
@internal
def _floor_div(a: int256, d: int256) -> int256:
    """`a / d` toward −∞ (`d` > 0), as Python's `//`."""
    q: int256 = a // d
    if a % d != 0 and a < 0:
        q -= 1
    return q


@pure
@internal
def _round_div(a: int256, d: int256) -> int256:
    """fixedmath.round_div: to nearest, ties away from zero (`d` > 0)."""
    q: int256 = abs(a) // d
    if 2 * (abs(a) % d) >= d:
        q += 1
    if a < 0:
        return -q
    return q


@pure
@internal
def _bit_length(x: uint256) -> uint256:
    n: uint256 = 0
    v: uint256 = x
    for s: uint256 in [128, 64, 32, 16, 8, 4, 2, 1]:
        if v >> s != 0:
            v = v >> s
            n += s
    if v != 0:
        n += 1
    return n


# -- ln at 10**36 ------------------------------------------------------------------------


@pure
@internal
def _two_atanh(z: int256) -> int256:
    """fixedmath._two_atanh: 2 atanh(z) = ln((1 + z)/(1 − z)) by its series."""
    z2: int256 = self._floor_div(z * z, WORK)
    term: int256 = z
    total: int256 = 0
    n: int256 = 1
    for i: uint256 in range(MAX_TERMS):
        if term == 0:
            break
        total += self._floor_div(term, n)
        term = self._floor_div(term * z2, WORK)
        n += 2
    assert term == 0, "Black76: the atanh series does not end"
    return 2 * total


@pure
@internal
def _ln_work(x: int256) -> int256:
    """fixedmath._ln_work: ln of x / 10**36 at 10**36, for x > 0."""
    k: int256 = convert(self._bit_length(convert(x, uint256)), int256) - 121
    m: int256 = 0
    if k >= 0:
        m = x >> convert(k, uint256)
    else:
        m = x << convert(-k, uint256)
    for i: uint256 in range(4):
        if m < 2 * WORK:
            break
        m = m // 2
        k += 1
    for i: uint256 in range(4):
        if m >= WORK:
            break
        m = m * 2
        k -= 1
    j: int256 = (m - WORK) // LN_STEP
    base: int256 = WORK + j * LN_STEP
    y: int256 = self._round_div(m * WORK, base)
    z: int256 = self._round_div((y - WORK) * WORK, y + WORK)
    # ln(1 + j/64): fixedmath._LN_TABLE[j], by the same series (_ln_series).
    table: int256 = self._two_atanh(self._round_div((base - WORK) * WORK, base + WORK))
    return table + self._two_atanh(z) + k * LN2


@pure
@internal
def _ln_ratio_q(numerator: int256, denominator: int256) -> int256:
    """fixedmath.ln_ratio_q: ln(numerator / denominator) at 2**-64."""
    return self._round_div(self._ln_work(max(numerator * WORK // denominator, 1)) * Q_ONE, WORK)


@pure
@internal
def _log_shift(spot_ppm: int256) -> int256:
    """ln(1 + s) at 2**-64 for the default grid's spot moves
    (portfolio_margin._LOG_SHIFTS, i.e. ln_ratio_q(PPM + s, PPM))."""
    if spot_ppm == -300_000:
        return -6579491408342498069
    if spot_ppm == -150_000:
        return -2997945099578699816
    if spot_ppm == -100_000:
        return -1943558467813989742
    if spot_ppm == -50_000:
        return -946194274264587207
    if spot_ppm == 50_000:
        return 900019671747785910
    if spot_ppm == 100_000:
        return 1758162494469621404
    if spot_ppm == 150_000:
        return 2578152782239094555
    if spot_ppm == 300_000:
        return 4839766440718856053
    return 0


# -- Φ at 2**-64 -------------------------------------------------------------------------


@pure
@internal
def _row_of(x: int256) -> uint256:
    """The grid point nearest |x| (normal_cdf_q's row; Q_ROWS or more: Φ is 1)."""
    return convert((abs(x) + Q_HALF_STEP) >> Q_STEP_SHIFT, uint256)


@pure
@internal
def _decode(raw: Bytes[72]) -> int256[9]:
    """A table row: (Φ(x0), c_1, …, c_8) of fixedmath._Q_TABLE."""
    out: int256[9] = empty(int256[9])
    out[0] = convert(convert(slice(raw, 0, 8), uint256), int256) + HALF_Q
    for i: uint256 in range(1, 9):
        word: int256 = convert(convert(slice(raw, 8 * i, 8), uint256), int256)
        if word >= HALF_Q:
            word -= Q_ONE
        out[i] = word
    return out


@view
@internal
def _rows(points: int256[POINTS], wanted: bool[POINTS]) -> int256[9][POINTS]:
    """The table rows of every wanted point, one call per table contract."""
    out: int256[9][POINTS] = empty(int256[9][POINTS])
    for part: uint256 in range(PARTS):
        indices: DynArray[uint256, POINTS] = []
        slots: DynArray[uint256, POINTS] = []
        for k: uint256 in range(POINTS):
            index: uint256 = self._row_of(points[k])
            if wanted[k] and index < Q_ROWS and index // PART_ROWS == part:
                indices.append(index)
                slots.append(k)
        if len(indices) == 0:
            continue
        raw: DynArray[Bytes[72], POINTS] = staticcall Table(self.tables[part]).rows(indices)
        assert len(raw) == len(slots), "Black76: a table answered other rows"
        for i: uint256 in range(POINTS):
            if i >= len(slots):
                break
            out[slots[i]] = self._decode(raw[i])
    return out


@pure
@internal
def _cdf(x: int256, c: int256[9]) -> int256:
    """fixedmath.normal_cdf_q: Φ(x / 2**64) at 2**-64 by Horner's rule around the
    nearest grid point, whose row is `c`."""
    a: int256 = abs(x)
    index: uint256 = self._row_of(x)
    value: int256 = Q_ONE
    if index < Q_ROWS:
        h: int256 = a - (convert(index, int256) << Q_STEP_SHIFT)
        acc: int256 = c[8]
        for n: uint256 in range(7):
            acc = c[7 - n] + ((acc * h) >> 64)
        value = c[0] + ((acc * h) >> 64)
        if value > Q_ONE:
            value = Q_ONE
    if x < 0:
        return Q_ONE - value
    return value


# -- Black-76 ----------------------------------------------------------------------------


@pure
@internal
def _d1(moneyness: int256, srt: int256) -> int256:
    """black76.priced's d1 = (ln(F/K) + σ²T/2) / σ√T at 2**-64 (σ√T > 0)."""
    return self._floor_div(moneyness * Q_ONE + ((srt * srt) >> 1), srt)


@pure
@internal
def _call(forward: int256, strike: int256, srt: int256, d1: int256, phi1: int256, phi2: int256) -> int256:
    """The call of black76.priced (the put is call − (F − K)) from Φ(d1) and
    Φ(d1 − σ√T): rounded to nearest, the out-of-the-money side floored at 0."""
    parity: int256 = forward - strike
    if srt == 0:
        return max(parity, 0)
    call: int256 = (forward * phi1 - strike * phi2 + HALF_Q) >> 64
    if strike >= forward:
        return max(call, 0)
    return max(call, parity)


@pure
@internal
def _spot_ppm(lane: uint256) -> int256:
    """The default grid (portfolio_margin.default_grid): spot −15 % … +15 % under
    volatility ×0.7, ×1, ×1.3, then spot ∓30 %."""
    if lane == 21:
        return -300_000
    if lane == 22:
        return 300_000
    return (convert(lane % 7, int256) - 3) * 50_000


@view
@external
def mark_and_vector(forward: int256, strike: int256, vol: int256, seconds: int256, is_call: bool) -> (int256, int256[LANES]):
    """portfolio_margin.mark_and_vector: (mark, per-unit P&L in each scenario); `vol`
    at 1e18, `seconds` to expiry. Lane 23 of the work arrays is the mark itself; the
    table's rows for every Φ are fetched at once."""
    assert forward > 0 and strike > 0, "Black76: forward and strike must be positive"
    assert vol >= 0 and seconds >= 0, "Black76: volatility and time must not be negative"
    moneyness: int256 = self._ln_ratio_q(forward, strike)
    root: int256 = convert(isqrt((convert(seconds, uint256) << 128) // YEAR), int256)
    srt_by_move: int256[3] = empty(int256[3])
    for v: uint256 in range(3):
        srt_by_move[v] = vol * (PPM + (convert(v, int256) - 1) * 300_000) // PPM * root // ONE
    moved: int256[LANES + 1] = empty(int256[LANES + 1])
    srts: int256[LANES + 1] = empty(int256[LANES + 1])
    points: int256[POINTS] = empty(int256[POINTS])
    wanted: bool[POINTS] = empty(bool[POINTS])
    for lane: uint256 in range(LANES + 1):
        if lane == LANES:
            moved[lane] = forward
            srts[lane] = vol * root // ONE
            if srts[lane] != 0:
                points[2 * lane] = self._d1(moneyness, srts[lane])
        else:
            spot: int256 = self._spot_ppm(lane)
            srts[lane] = srt_by_move[1]
            if lane < 21:
                srts[lane] = srt_by_move[lane // 7]
            moved[lane] = forward * (PPM + spot) // PPM
            if srts[lane] != 0:
                points[2 * lane] = self._d1(moneyness + self._log_shift(spot), srts[lane])
        points[2 * lane + 1] = points[2 * lane] - srts[lane]
        wanted[2 * lane] = srts[lane] != 0
        wanted[2 * lane + 1] = srts[lane] != 0
    rows: int256[9][POINTS] = self._rows(points, wanted)
    values: int256[LANES + 1] = empty(int256[LANES + 1])
    for lane: uint256 in range(LANES + 1):
        d1: int256 = points[2 * lane]
        d2: int256 = points[2 * lane + 1]
        value: int256 = self._call(
            moved[lane], strike, srts[lane], d1, self._cdf(d1, rows[2 * lane]), self._cdf(d2, rows[2 * lane + 1])
        )
        if not is_call:
            value -= moved[lane] - strike
        values[lane] = value
    mark: int256 = values[LANES]
    out: int256[LANES] = empty(int256[LANES])
    for lane: uint256 in range(LANES):
        out[lane] = values[lane] - mark
    return mark, out
