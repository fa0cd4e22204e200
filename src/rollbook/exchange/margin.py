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
Portfolio mode, per account:
    MM = worst scenario loss of Σ size · vector + contingency · short option notional
    IM = MM · im_multiple

Valuing rounds toward −∞ and requirements round up: both err on the safe side.
Computing health settles each position's lazy funding, loss and expiry first, one
step per position (the "settle-and-accumulate" step of the step model).
"""

from __future__ import annotations

from dataclasses import dataclass

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
from rollbook.crypto.keccak import keccak256
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


def lanes_aux(totals: dict[int, int]) -> bytes:
    """A portfolio check's lanes so far as a step's aux witness: the ABI encoding of
    ``(uint256 asset, int256[23] lanes)[]``, one entry per underlying asset in the
    order the check first met it, each lane ``Σ size · vector[i]`` (unpacked from
    :func:`portfolio_margin.pack`'s sum, so exact); empty before the first asset.
    The check carries :func:`aux_word` of it (``MarginSteps.vy`` decodes it)."""
    if not totals:
        return b""
    words = [32, len(totals)]
    for asset, total in totals.items():
        words.append(asset)
        words.extend(unpack(total, SCENARIOS))
    return b"".join(w.to_bytes(32, "big", signed=True) for w in words)


def aux_word(aux: bytes) -> int:
    """The carried word that commits to an aux witness: ``keccak(aux)`` as a signed
    word, 0 for none."""
    return int.from_bytes(keccak256(aux), "big", signed=True) if aux else 0


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
        totals: dict[int, int] = {}
        short_notional = 0
        for instrument, size in priced:
            if len(instrument.vector) != SCENARIOS:
                raise OracleError(f"{instrument.symbol} has no scenario vector yet")
            value += value_at_mark(instrument.mark, size)
            totals[instrument.asset] = totals.get(instrument.asset, 0) + size * packed(
                instrument.vector
            )
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
    23 per asset do not fit in the words, so each step's aux witness holds them
    (:func:`lanes_aux`) — and the short options' notional (:data:`NO_VECTOR` once an
    instrument has no scenario vector). ``extra`` follows them in every step of the
    check (a trade's check, :func:`require_initial_margin`); ``compare_keys`` are
    leaves the compare step may read besides the account.

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
    # Portfolio mode's running lanes, kept for the trace only (requirements() sums
    # them again for the result).
    lanes = portfolio and state.tracing
    totals: dict[int, int] = {}
    aux = b""
    for instrument_id in state.account(index).instruments:
        declared = (
            account,
            position_key(index, instrument_id),
            instrument_key(instrument_id),
            ORACLE_KEY,
        )
        carry = (index, ret, cursor, value, initial, maintenance, *extra)
        state.step("margin.settle_accumulate", *declared, carry=carry, aux=aux)
        # Each step reads what it needs itself (the executor runs it alone): the
        # position's place in the account's list, and the oracle's staleness bound.
        if state.account(index).instruments[cursor] != instrument_id:
            raise InvariantError("the margin cursor lost its position")
        position = state.position(index, instrument_id)
        instrument = state.instrument(instrument_id)
        settle_loaded(state, index, position, instrument)
        if is_expired(instrument, now):
            if settle_expired(state, index, instrument_id):
                continue
            state.step("margin.accumulate", *declared, carry=carry, aux=aux)
        require_fresh_mark(instrument, now, state.oracle().staleness)
        priced.append((instrument, position.size))
        if lanes:
            value += value_at_mark(instrument.mark, position.size)
            if maintenance == NO_VECTOR or len(instrument.vector) != SCENARIOS:
                maintenance = NO_VECTOR
            else:
                totals[instrument.asset] = totals.get(instrument.asset, 0) + position.size * (
                    packed(instrument.vector)
                )
                maintenance += short_option_notional(instrument, position.size)
                aux = lanes_aux(totals)
                initial = aux_word(aux)
        elif not portfolio:
            v, im, mm = contribution(instrument, position.size)
            value, initial, maintenance = value + v, initial + im, maintenance + mm
        cursor += 1
    carry = (index, ret, cursor, value, initial, maintenance, *extra)
    state.step("margin.compare", account, *compare_keys, carry=carry, aux=aux)
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
    re-reads the instrument for the pre-trade sums (standard mode: the post-trade sums
    with the instrument's contribution at ``new`` replaced by its contribution at
    ``old``), so the one-step executor can run it alone.

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
