"""Cross margin: equity and the initial and maintenance requirements, in two modes.

Perpetuals — sources: dYdX v4 margin docs (per-market initial and maintenance margin
fractions; "net collateral" = USDC balance + Σ position value at the oracle price) and
its rule for undercollateralised subaccounts (a change is allowed only if it does not
worsen the ratio of collateral to maintenance requirement); Derive's perp margin (IM/MM
as fractions of notional at mark). Options — Deribit's standard option margin
(:mod:`rollbook.exchange.option_margin`) and portfolio margin
(:mod:`rollbook.exchange.portfolio_margin`). See docs/design/consensus.md sections 6
and 13.

    equity = balance + Σ value_at_mark(mark_i, size_i)          (both modes)

Standard mode, per position:
    perpetual    IM = ceil(|value| · im_ppm),  MM = ceil(|value| · mm_ppm)
    long option  IM = value (the premium is paid, never borrowed),  MM = 0
    short option Deribit: IM = (max(15 % − OTM/S, 10 %) · S + mark) · q,
                          MM = (7.5 % · S + mark) · q   (S = the index of the mark)
Portfolio mode, per account (Deribit: each currency's portfolio is revalued under
simulated spot and volatility shocks, and its margin is the worst loss plus
contingencies; https://www.deribit.com/kb/portfolio-margin):
    MM = Σ_asset worst scenario loss of Σ size · vector
         + contingency · short option notional
    IM = MM · im_multiple
The one-step executor runs the portfolio check one position per step too: the lanes
travel in each step's aux witness, committed to by a carried word (the section
"the portfolio check's witness" below).

Valuing rounds toward −∞ and requirements round up: both err on the safe side.
Computing health settles each position's lazy funding, loss and expiry first, one
step per position (the "settle-and-accumulate" step of the step model).
"""

from __future__ import annotations

from dataclasses import dataclass

from rollbook.crypto.keccak import keccak256
from rollbook.exchange.errors import InvariantError, NotEnoughFunds, OracleError
from rollbook.exchange.expiry import is_expired, settle_expired
from rollbook.exchange.leaves import (
    INSURANCE_FUND,
    ORACLE_KEY,
    Instrument,
    InstrumentKind,
    LeafKey,
    account_key,
    instrument_key,
    position_key,
)
from rollbook.exchange.numeric import SIZE_ONE, Rounding, ppm_of, value_at_mark
from rollbook.exchange.option_margin import OptionMarginParams, position_requirements
from rollbook.exchange.portfolio_margin import (
    DEFAULT_GRID,
    packed,
    unpack,
    worst_loss_of_sum,
)
from rollbook.exchange.portfolio_margin import requirements_of as pm_requirements_of
from rollbook.exchange.positions import settle_loaded
from rollbook.exchange.state import State
from rollbook.exchange.steps import step_id

SCENARIOS = len(DEFAULT_GRID)


@dataclass(frozen=True, slots=True)
class Health:
    """An account's margin picture at mark, after lazy settlement."""

    equity: int
    initial: int
    maintenance: int


Priced = list[tuple[Instrument, int]]
"""The account's open positions after settlement: ``(instrument, size)`` pairs."""

HEALTH_AT = 15
"""A health check (:func:`health`) carries ``MODE_HEALTH`` in word 15: its
``margin.compare`` checks nothing and hands ``(equity, IM, MM)`` to the step that
asked. A trade's check uses words 6-13 (:func:`require_initial_margin`)."""
MODE_HEALTH = 1
KEPT_AT = 14
"""The word a health check keeps for the step that asked (every margin step keeps
words 6-15) and hands back in the same place."""


def handed(health: Health, kept: int = 0) -> tuple[int, ...]:
    """The carried words of the step a health check returns to: ``(equity, IM, MM)``,
    and the asking step's ``kept`` word at :data:`KEPT_AT`."""
    words = (health.equity, health.initial, health.maintenance)
    return words + (0,) * (KEPT_AT - len(words)) + (kept,) if kept else words


def option_params(instrument: Instrument) -> OptionMarginParams:
    """The standard option margin fractions of an option listing."""
    return OptionMarginParams(instrument.im_ppm, instrument.im_floor_ppm, instrument.mm_ppm)


def contribution(instrument: Instrument, size: int) -> tuple[int, int, int]:
    """``(value, IM, MM)`` of one position at its instrument's mark, standard mode."""
    value = value_at_mark(instrument.mark, size)
    if instrument.kind.is_option:
        if size >= 0:
            return value, value, 0
        initial, maintenance = position_requirements(
            size,
            instrument.mark_index,
            instrument.strike,
            instrument.mark,
            instrument.kind is InstrumentKind.CALL,
            option_params(instrument),
        )
        return value, initial, maintenance
    gross = abs(value)
    return (
        value,
        ppm_of(gross, instrument.im_ppm, Rounding.UP),
        ppm_of(gross, instrument.mm_ppm, Rounding.UP),
    )


NO_VECTOR = -1
"""The short-notional word of a portfolio check once a position's instrument has no
scenario vector: the compare refuses the check (:func:`requirements` raises there)."""


def short_option_notional(instrument: Instrument, size: int) -> int:
    """A short option's notional at its index (0 for a long or a perpetual): what
    portfolio mode's contingency is charged on."""
    if size < 0 and instrument.kind is not InstrumentKind.PERPETUAL:
        return -size * instrument.mark_index // SIZE_ONE
    return 0


def portfolio_totals(priced: Priced) -> dict[int, int]:
    """``Σ size · packed(vector)`` per underlying asset, in the order the positions
    first meet each asset (:func:`portfolio_margin.pack`: one big-integer
    multiply-add per position, equal to the scenario-by-scenario sum).

    Raises:
        OracleError: an instrument has no scenario vector yet.
    """
    totals: dict[int, int] = {}
    for instrument, size in priced:
        if len(instrument.vector) != SCENARIOS:
            raise OracleError(f"{instrument.symbol} has no scenario vector yet")
        totals[instrument.asset] = totals.get(instrument.asset, 0) + size * packed(
            instrument.vector
        )
    return totals


# -- the portfolio check's witness (the one-step executor's, MarginSteps.vy) ----------
# 23 lanes per asset do not fit in the carried words. A portfolio check carries in
# word 4 the hash of a *head*: the sum of the assets' worst losses so far and one
# word per asset — the asset id in the top 16 bits (ids are u16,
# governance.check_grid) over the low 240 bits of the keccak of its 23 lanes. A
# step's aux witness is the head and, when the step needs them, the 23 lanes of one
# asset (the one its position adds to; in a trade's compare, the traded
# instrument's). So a step reads ≤ 57 words whatever the account holds, and the
# worst loss of the sum is kept up to date asset by asset (a position changes one
# asset's lanes, hence only that asset's term of the sum).

_LANE_WORDS = 23 * 32
_ENTRY_HASH = (1 << 240) - 1


def _words(values: list[int]) -> bytes:
    return b"".join(v.to_bytes(32, "big", signed=True) for v in values)


def _lanes_of(total: int) -> bytes:
    return _words(unpack(total, SCENARIOS))


def lanes_head(totals: dict[int, int]) -> bytes:
    """The head of a portfolio check's witness for the lanes ``totals`` (asset →
    packed sum): the ABI encoding of ``(Σ worst loss, [entry_1 … entry_n])``; empty
    for no asset."""
    if not totals:
        return b""
    loss = sum(worst_loss_of_sum(total, SCENARIOS) for total in totals.values())
    entries = [
        (asset << 240) | (int.from_bytes(keccak256(_lanes_of(total)), "big") & _ENTRY_HASH)
        for asset, total in totals.items()
    ]
    # abi.encode(int256 loss, uint256[] entries): the loss, the array's offset (64),
    # its length, the entries.
    return _words([loss, 64, len(entries)]) + b"".join(e.to_bytes(32, "big") for e in entries)


def lanes_aux(totals: dict[int, int], asset: int | None = None) -> bytes:
    """A step's aux witness: :func:`lanes_head` and, if ``asset`` has lanes, its 23
    lanes (signed words)."""
    head = lanes_head(totals)
    if asset is None or asset not in totals:
        return head
    return head + _lanes_of(totals[asset])


def aux_word(totals: dict[int, int]) -> int:
    """The carried word that commits to the lanes: ``keccak(head)`` as a signed word,
    0 for no asset."""
    head = lanes_head(totals)
    return int.from_bytes(keccak256(head), "big", signed=True) if head else 0


def requirements(portfolio: bool, priced: Priced) -> tuple[int, int, int]:
    """``(Σ value, IM, MM)`` of the positions in the account's margin mode.

    Portfolio mode sums ``size · packed(vector)`` (:mod:`portfolio_margin`: one
    big-integer multiply-add per position, equal to the scenario-by-scenario sum)
    *per underlying asset*, and adds the assets' worst losses: a scenario moves one
    asset, so a long on one asset never offsets a short on another (Deribit margins
    each currency's portfolio on its own).
    """
    value = initial = maintenance = 0
    if portfolio:
        totals = portfolio_totals(priced)
        short_notional = 0
        for instrument, size in priced:
            value += value_at_mark(instrument.mark, size)
            short_notional += short_option_notional(instrument, size)
        # A sum over assets: the dict's order does not matter.
        loss = sum(worst_loss_of_sum(total, SCENARIOS) for total in totals.values())
        initial, maintenance = pm_requirements_of(loss, short_notional)
        return value, initial, maintenance
    for instrument, size in priced:
        v, im, mm = contribution(instrument, size)
        value += v
        initial += im
        maintenance += mm
    return value, initial, maintenance


def require_fresh_mark(instrument: Instrument, now: int, staleness: int) -> None:
    """Raise :class:`OracleError` when the instrument's mark is missing or stale."""
    if instrument.mark_time == 0:
        raise OracleError(f"{instrument.symbol} has no mark price yet")
    if now - instrument.mark_time > staleness:
        raise OracleError(
            f"{instrument.symbol} mark is stale ({now - instrument.mark_time} s old,"
            f" limit {staleness} s)"
        )


def settle_and_price(
    state: State,
    index: int,
    now: int,
    then: str = "",
    extra: tuple[int, ...] = (),
    compare_keys: tuple[LeafKey, ...] = (),
) -> tuple[int, Priced]:
    """Settle every position of the account and return ``(balance, priced positions)``.

    Funding and loss settle into the balance; an expired option whose price is fixed
    pays out and leaves the list. One step per position, then ``margin.compare``;
    ``then`` names the step the check returns to (the one-step executor carries it).
    The carried values between the steps are ``(account, return step, cursor, Σ value,
    Σ IM, Σ MM)``: the cursor is the position's place in the account's current list
    (a position that expires and pays out leaves it, so the cursor stays). In
    portfolio mode the last two words are :func:`aux_word` of the lanes so far —
    23 per asset do not fit in the words, so each step's aux witness holds the head
    and the lanes it changes (:func:`lanes_aux`) — and the short options' notional
    (:data:`NO_VECTOR` once an instrument has no scenario vector). ``extra``
    follows them in every step of the check (a trade's check,
    :func:`require_initial_margin`); ``compare_keys`` are leaves the compare step
    may read besides the account.

    Raises:
        OracleError: a remaining position's instrument has no fresh mark.
    """
    account = account_key(index)
    ret = step_id(then) if then else 0
    state.step(
        "margin.begin", account, carry=(index, ret, 0, 0, 0, 0, *extra) if extra else (index, ret)
    )
    priced: Priced = []
    portfolio = state.account(index).portfolio
    cursor = value = initial = maintenance = 0
    # What only the trace needs is skipped without a tracer (this check runs twice per
    # fill): the carried words (standard mode's sums, portfolio mode's running lanes;
    # requirements() sums the priced positions again for the result) and each step's
    # own reads of the cursor's place and the staleness bound (untraced, the first
    # step's read of the bound serves them all: no step of the check writes it).
    tracing = state.tracing
    lanes = portfolio and tracing
    totals: dict[int, int] = {}
    staleness: int | None = None
    for instrument_id in state.account(index).instruments:
        position_at = position_key(index, instrument_id)
        instrument_at = instrument_key(instrument_id)
        carry = (index, ret, cursor, value, initial, maintenance, *extra) if tracing else ()
        # The declared leaves as plain arguments: a ``*declared`` call with a keyword
        # costs ~3.5x as much per step, and the check runs one step per position.
        state.step(
            "margin.settle_accumulate",
            account,
            position_at,
            instrument_at,
            ORACLE_KEY,
            carry=carry,
        )
        # Each step reads what it needs itself (the executor runs it alone): the
        # position's place in the account's list, and the oracle's staleness bound.
        if tracing and state.account(index).instruments[cursor] != instrument_id:
            raise InvariantError("the margin cursor lost its position")
        position = state.position(index, instrument_id)
        instrument = state.instrument(instrument_id)
        settle_loaded(state, index, position, instrument)
        if is_expired(instrument, now):
            if settle_expired(state, index, instrument_id, carry):
                continue
            # Not fixed yet: the position is valued as any other, in a step of its own
            # that re-reads what it values.
            state.step(
                "margin.accumulate",
                account,
                position_at,
                instrument_at,
                ORACLE_KEY,
                carry=carry,
            )
            if tracing and state.account(index).instruments[cursor] != instrument_id:
                raise InvariantError("the margin cursor lost its position")
            position = state.position(index, instrument_id)
            instrument = state.instrument(instrument_id)
        if tracing or staleness is None:
            staleness = state.oracle().staleness
        require_fresh_mark(instrument, now, staleness)
        priced.append((instrument, position.size))
        if lanes:
            # The step's aux: the head, and the lanes of the asset it adds to.
            state.step_aux(lanes_aux(totals, instrument.asset))
            value += value_at_mark(instrument.mark, position.size)
            if maintenance == NO_VECTOR or len(instrument.vector) != SCENARIOS:
                maintenance = NO_VECTOR
            else:
                totals[instrument.asset] = totals.get(instrument.asset, 0) + position.size * (
                    packed(instrument.vector)
                )
                maintenance += short_option_notional(instrument, position.size)
                initial = aux_word(totals)
        elif tracing and not portfolio:
            v, im, mm = contribution(instrument, position.size)
            value, initial, maintenance = value + v, initial + im, maintenance + mm
        cursor += 1
    carry = (index, ret, cursor, value, initial, maintenance, *extra)
    state.step("margin.compare", account, *compare_keys, carry=carry)
    if lanes and maintenance != NO_VECTOR:
        state.step_aux(lanes_head(totals))
    return state.account(index).balance, priced


def health(state: State, index: int, now: int, then: str = "", kept: int = 0) -> Health:
    """Settle the account's positions and value them at mark, in its margin mode.

    ``then`` names the step the check returns to, which carries :func:`handed`
    ``(health, kept)``: the check's steps carry ``kept`` and :data:`MODE_HEALTH` in
    words 14 and 15.

    Raises:
        OracleError: a position's instrument has no fresh mark.
    """
    extra = (0,) * (KEPT_AT - 6) + (kept, MODE_HEALTH)
    balance, priced = settle_and_price(state, index, now, then, extra)
    value, initial, maintenance = requirements(state.account(index).portfolio, priced)
    return Health(balance + value, initial, maintenance)


def require_initial_margin(
    state: State,
    index: int,
    now: int,
    reduced: tuple[Instrument, int, int, int] | None = None,
    then: str = "",
    chained: tuple[int, int, int, int] | None = None,
) -> Health:
    """Check the account after a change: IM holds, or the change only reduced risk.

    ``reduced`` describes a trade just applied, as ``(instrument, old_size, new_size,
    balance_delta)`` (the trade's cash flow including fees). If the trade shrank a
    position toward zero without flipping, the pre-trade equity and MM are recomputed
    from the same priced positions with the old size and balance, and the dYdX v4 rule
    is applied: MM must not rise and ``equity/MM`` must not fall.

    Every step of a trade's check carries ``(instrument id, old, new, balance_delta)``
    after the sums, and ``chained`` — the next check's ``(account, old, new,
    balance_delta)`` when ``then`` is ``margin.begin``: a fill's maker check returns
    into its taker's, which returns to ``tx.end`` — after those. The compare step
    re-reads the instrument for the pre-trade sums (the post-trade sums with the
    instrument's contribution at ``new`` replaced by its contribution at ``old``; in
    portfolio mode its asset's lanes move by ``vector · (old − new)``, and the step's
    aux holds that asset's lanes), so the one-step executor can run it alone.

    Raises:
        NotEnoughFunds: neither holds.
    """
    if (chained is not None) != (then == "margin.begin"):
        raise InvariantError("a check returns into margin.begin exactly when it is chained")
    extra: tuple[int, ...] = ()
    compare_keys: tuple[LeafKey, ...] = ()
    if reduced is not None:
        traded, old, new, balance_delta = reduced
        extra = (traded.instrument_id, old, new, balance_delta, *(chained or ()))
        compare_keys = (instrument_key(traded.instrument_id),)
    balance, priced = settle_and_price(state, index, now, then, extra, compare_keys)
    portfolio = state.account(index).portfolio
    value, initial, maintenance = requirements(portfolio, priced)
    post = Health(balance + value, initial, maintenance)
    if post.equity >= post.initial or index == INSURANCE_FUND:
        # The insurance fund is exempt: it must be able to unwind what it took over.
        return post
    if reduced is not None:
        instrument, old, new, balance_delta = reduced
        if old != 0 and abs(new) < abs(old) and (new == 0 or (new > 0) == (old > 0)):
            # Read in the compare step (its declared leaf): settlement changed only
            # the pool, so the mark and parameters are the trade's.
            instrument = state.instrument(instrument.instrument_id)
            if portfolio and state.tracing and len(instrument.vector) == SCENARIOS:
                # The compare's aux: the head and the traded asset's lanes.
                state.step_aux(lanes_aux(portfolio_totals(priced), instrument.asset))
            others = [
                (i, size) for i, size in priced if i.instrument_id != instrument.instrument_id
            ]
            pre_value, pre_im, pre_mm = requirements(portfolio, [*others, (instrument, old)])
            pre_equity = balance - balance_delta + pre_value
            # dYdX v4: MM does not rise and equity/MM does not fall. And the free
            # collateral (equity − IM) does not fall: without it a trade that leaves
            # MM = 0 (only long options) passes the ratio test at any price, and an
            # account could hand its value to a colluding maker.
            if (
                post.maintenance <= pre_mm
                and post.equity * pre_mm >= pre_equity * post.maintenance
                and post.equity - post.initial >= pre_equity - pre_im
            ):
                return post
    raise NotEnoughFunds(
        f"account {index} would have equity {post.equity} below its initial margin {post.initial}",
        account=index,
    )
