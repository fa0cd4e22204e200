"""Governance txs: listings, instrument parameters, the oracle set, risk parameters.

They arrive only from L1, through the timelock (ARCHITECTURE section 4: listings,
parameters and the oracle set change through a timelock at least as long as the exit
window). Each is validated here so that no parameter can make the STF divide by zero,
overflow a wire width, or set a liquidation fee above 1.5 %. In ZK mode they are also
held within the circuits' bounds (:mod:`rollbook.exchange.zkmode`): perpetuals only,
instrument ids below ``ZK_INSTRUMENTS``, at most ``ZK_POSITIONS`` positions.
"""

from __future__ import annotations

from rollbook.exchange.env import TxEnv
from rollbook.exchange.errors import MalformedTx, WrongOrigin
from rollbook.exchange.leaves import (
    GLOBALS_KEY,
    ORACLE_KEY,
    ExpiryQueue,
    Instrument,
    InstrumentKind,
    expiries_key,
    instrument_key,
)
from rollbook.exchange.numeric import I64_MAX, PPM, QUOTE_ONE, SIZE_ONE, U16_MAX, U64_MAX
from rollbook.exchange.options import SETTLEMENT_WINDOW, is_expiry_time, option_symbol
from rollbook.exchange.state import State
from rollbook.exchange.txs import (
    ListInstrument,
    ListOptionChain,
    Origin,
    SetInstrumentParams,
    SetOracle,
    SetRiskParams,
)
from rollbook.exchange.zkmode import (
    refuse_options,
    require_instrument_id,
    require_position_bound,
)

MAX_FEE_PPM = 100_000
MAX_POSITIONS_LIMIT = 32
"""The most positions an account may hold: the fraud-proof executor reads an account
leaf of at most 2,048 bytes and a portfolio of at most 32 assets, so a larger bound
would let accounts exist whose steps cannot be proven (docs/design/fraud-proofs.md)."""
MAX_LIVE_EXPIRIES = 16
MAX_EXPIRY_HORIZON = 2 * 365 * 86_400


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise MalformedTx(message)


def require_l1(env: TxEnv) -> None:
    """Governance comes from the L1 timelock only."""
    if env.origin is not Origin.L1:
        raise WrongOrigin("governance txs arrive from the L1 timelock only")


def check_risk_fields(
    im_ppm: int,
    mm_ppm: int,
    maker_fee_ppm: int,
    taker_fee_ppm: int,
    liq_fee_ppm: int,
    funding_cap_ppm: int,
    max_open_interest: int,
    max_liq_fee_ppm: int,
    im_floor_ppm: int = 0,
) -> None:
    """Validate an instrument's risk and fee parameters.

    An option (``im_floor_ppm > 0``) also needs maintenance < floor ≤ initial base.
    """
    _require(0 < mm_ppm < im_ppm <= PPM, "need 0 < maintenance < initial margin <= 100 %")
    if im_floor_ppm:
        _require(
            mm_ppm < im_floor_ppm <= im_ppm,
            "an option needs maintenance < initial floor <= initial base",
        )
    _require(0 <= maker_fee_ppm <= MAX_FEE_PPM, "maker fee out of range")
    _require(0 <= taker_fee_ppm <= MAX_FEE_PPM, "taker fee out of range")
    _require(0 <= liq_fee_ppm <= max_liq_fee_ppm, f"liquidation fee above {max_liq_fee_ppm} ppm")
    _require(0 <= funding_cap_ppm <= PPM, "funding cap out of range")
    # Positions are i64 on the wire: open interest must fit too.
    _require(0 < max_open_interest <= I64_MAX, "max open interest out of range")


def check_grid(asset: int, tick: int, lot: int) -> None:
    """Validate a listing's asset id and its tick/lot grid (fills must be exact)."""
    _require(0 <= asset <= U16_MAX, "asset id out of range")
    _require(0 < tick <= U64_MAX and 0 < lot <= U64_MAX, "tick and lot must be positive")
    _require(
        tick * lot % SIZE_ONE == 0,
        "tick × lot must be a multiple of 1e8 so every fill's notional is exact",
    )


def list_instrument(state: State, env: TxEnv, tx: ListInstrument) -> None:
    """List a new instrument with a fresh set of indices."""
    require_l1(env)
    spec = tx.instrument
    state.step("gov.list", instrument_key(spec.instrument_id), GLOBALS_KEY)
    _require(0 <= spec.instrument_id <= U16_MAX, "instrument id out of range")
    _require(state.get(instrument_key(spec.instrument_id)) is None, "instrument id already listed")
    _require(isinstance(spec.kind, InstrumentKind), "unknown instrument kind")
    if env.zk:
        require_instrument_id(spec.instrument_id)
    _require(0 < len(spec.symbol) <= 64, "symbol must be 1..64 characters")
    check_grid(spec.asset, spec.tick, spec.lot)
    check_risk_fields(
        spec.im_ppm,
        spec.mm_ppm,
        spec.maker_fee_ppm,
        spec.taker_fee_ppm,
        spec.liq_fee_ppm,
        spec.funding_cap_ppm,
        spec.max_open_interest,
        state.globals().max_liq_fee_ppm,
    )
    fresh = Instrument(
        spec.instrument_id,
        spec.symbol,
        spec.kind,
        spec.asset,
        spec.tick,
        spec.lot,
        spec.im_ppm,
        spec.mm_ppm,
        spec.maker_fee_ppm,
        spec.taker_fee_ppm,
        spec.liq_fee_ppm,
        spec.funding_cap_ppm,
        spec.max_open_interest,
    )
    state.put(instrument_key(spec.instrument_id), fresh)


def list_option_chain(state: State, env: TxEnv, tx: ListOptionChain) -> None:
    """List one expiry of calls and puts on a bounded strike grid (issue #3).

    The expiry joins the asset's queue of pending expiries (at most
    ``MAX_LIVE_EXPIRIES``), whose settlement TWAP the oracle steps accumulate. It must
    lie at 08:00 UTC, more than the 30-minute settlement window ahead of the block.
    """
    require_l1(env)
    if env.zk:
        refuse_options(tx.underlying)
    _require(is_expiry_time(tx.expiry), "option expiries are at 08:00 UTC")
    _require(
        env.timestamp + SETTLEMENT_WINDOW < tx.expiry <= env.timestamp + MAX_EXPIRY_HORIZON,
        "the expiry must be more than 30 minutes and at most two years ahead",
    )
    check_grid(tx.asset, tx.tick, tx.lot)
    state.step("gov.expiry", expiries_key(tx.asset), GLOBALS_KEY)
    _require(tx.im_floor_ppm > 0, "an option listing needs an initial-margin floor")
    check_risk_fields(
        tx.im_ppm,
        tx.mm_ppm,
        tx.maker_fee_ppm,
        tx.taker_fee_ppm,
        tx.liq_fee_ppm,
        0,
        tx.max_open_interest,
        state.globals().max_liq_fee_ppm,
        tx.im_floor_ppm,
    )
    for strike in tx.strikes:
        _require(strike % QUOTE_ONE == 0, "option strikes are whole dollars")
    queue = state.get(expiries_key(tx.asset))
    pending = queue.pending if isinstance(queue, ExpiryQueue) else ()
    if tx.expiry not in pending:
        _require(len(pending) < MAX_LIVE_EXPIRIES, f"at most {MAX_LIVE_EXPIRIES} live expiries")
        # The accumulator stays: it belongs to the nearest expiry, and a new nearest
        # one lies beyond the window, so the old nearest has no samples yet either.
        queue = (queue if isinstance(queue, ExpiryQueue) else ExpiryQueue())._replace(
            pending=tuple(sorted((*pending, tx.expiry)))
        )
        state.put(expiries_key(tx.asset), queue)
    for k, strike in enumerate(tx.strikes):
        for offset, kind in ((0, InstrumentKind.CALL), (1, InstrumentKind.PUT)):
            instrument_id = tx.first_id + 2 * k + offset
            # Carried: the listing's place in the chain (the executor runs it alone).
            state.step(
                "gov.list_option",
                instrument_key(instrument_id),
                GLOBALS_KEY,
                carry=(2 * k + offset,),
            )
            _require(
                state.get(instrument_key(instrument_id)) is None,
                f"instrument id {instrument_id} already listed",
            )
            symbol = option_symbol(tx.underlying, tx.expiry, strike, kind is InstrumentKind.CALL)
            listing = Instrument(
                instrument_id,
                symbol,
                kind,
                tx.asset,
                tx.tick,
                tx.lot,
                tx.im_ppm,
                tx.mm_ppm,
                tx.maker_fee_ppm,
                tx.taker_fee_ppm,
                tx.liq_fee_ppm,
                0,
                tx.max_open_interest,
                expiry=tx.expiry,
                strike=strike,
                im_floor_ppm=tx.im_floor_ppm,
            )
            state.put(instrument_key(instrument_id), listing)


def set_instrument_params(state: State, env: TxEnv, tx: SetInstrumentParams) -> None:
    """Change an instrument's risk and fee parameters, or (de)activate it."""
    require_l1(env)
    state.step("gov.params", instrument_key(tx.instrument_id), GLOBALS_KEY)
    instrument = state.instrument(tx.instrument_id)
    check_risk_fields(
        tx.im_ppm,
        tx.mm_ppm,
        tx.maker_fee_ppm,
        tx.taker_fee_ppm,
        tx.liq_fee_ppm,
        tx.funding_cap_ppm,
        tx.max_open_interest,
        state.globals().max_liq_fee_ppm,
        instrument.im_floor_ppm,
    )
    state.put(
        instrument_key(tx.instrument_id),
        instrument._replace(
            im_ppm=tx.im_ppm,
            mm_ppm=tx.mm_ppm,
            maker_fee_ppm=tx.maker_fee_ppm,
            taker_fee_ppm=tx.taker_fee_ppm,
            liq_fee_ppm=tx.liq_fee_ppm,
            funding_cap_ppm=tx.funding_cap_ppm,
            max_open_interest=tx.max_open_interest,
            active=bool(tx.active),
        ),
    )


def set_oracle(state: State, env: TxEnv, tx: SetOracle) -> None:
    """Rotate the oracle set (k of n) and its guards."""
    require_l1(env)
    state.step("gov.oracle", ORACLE_KEY)
    signers = tx.signers
    _require(0 < len(signers) <= 32, "the oracle set has 1..32 signers")
    for i, signer in enumerate(signers):
        _require(isinstance(signer, bytes) and len(signer) == 20, "signers are 20-byte addresses")
        _require(signer not in signers[:i], "oracle signers must be distinct")
    _require(0 < tx.threshold <= len(signers), "threshold must be within 1..n")
    _require(0 < tx.staleness <= 86_400, "staleness must be 1 s .. 1 day")
    _require(0 < tx.max_move_ppm <= PPM, "max move must be within 1..1e6 ppm")
    config = state.oracle()
    state.put(
        ORACLE_KEY,
        config._replace(
            signers=tuple(signers),
            threshold=tx.threshold,
            staleness=tx.staleness,
            max_move_ppm=tx.max_move_ppm,
        ),
    )


def set_risk_params(state: State, env: TxEnv, tx: SetRiskParams) -> None:
    """Set the position bound, the order lifetime and the liquidation parameters."""
    require_l1(env)
    state.step("gov.risk", GLOBALS_KEY)
    _require(
        0 < tx.max_positions <= MAX_POSITIONS_LIMIT,
        f"max positions must be 1..{MAX_POSITIONS_LIMIT}",
    )
    if env.zk:
        require_position_bound(tx.max_positions)
    _require(0 < tx.max_order_lifetime <= 365 * 86_400, "order lifetime must be 1 s .. 1 year")
    _require(0 < tx.liq_band_ppm <= PPM, "liquidation band out of range")
    _require(0 < tx.backstop_ppm <= PPM, "backstop threshold out of range")
    glob = state.globals()
    state.put(
        GLOBALS_KEY,
        glob._replace(
            max_positions=tx.max_positions,
            max_order_lifetime=tx.max_order_lifetime,
            liq_band_ppm=tx.liq_band_ppm,
            backstop_ppm=tx.backstop_ppm,
        ),
    )
