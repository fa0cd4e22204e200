"""Oracle updates: k-of-n signed reports, index prices, perp marks and funding.

Trust model (docs/design/consensus.md section 8): a report carries a timestamp, index
prices per underlying and mark prices per perpetual; at least ``threshold`` distinct
members of the oracle set sign ``OracleReport(timestamp, pricesHash)``. Timestamps
strictly increase and lie within ``staleness`` of the block time; each price moves at
most ``max_move_ppm`` per report (a circuit breaker against a compromised quorum).

Funding (section 5; sources: dYdX v4 — premium sampled each minute, averaged over the
hour, 1/8 of it paid hourly; Hyperliquid — hourly at 1/8, capped): each report adds the
premium ``(mark − index)/index`` to the perp's hourly accumulator; the first report of
a new hour applies the closed hour's average, clamped to ``funding_cap_ppm``, to the
cumulative funding index. Positions pay it lazily (:mod:`rollbook.exchange.positions`).

Options (issue #3; section 13): a report carries an implied volatility per option it
prices (Deribit's ``mark_iv``, per expiry and strike). In one step per option the STF
computes the mark with integer Black-76 on the asset's index in the same report
(rate 0, so the forward is the index: linear USDC options whose premium and payoff are
in the same unit) and the option's per-unit portfolio-margin scenario vector; a
perpetual's mark step stores its vector too. Each index is also offered to the asset's
expiry queue (settlement TWAP samples, :mod:`rollbook.exchange.expiry`).
"""

from __future__ import annotations

from rollbook.crypto.eip712 import encode_uint, typed_digest
from rollbook.crypto.keccak import keccak256
from rollbook.exchange.env import TxEnv
from rollbook.exchange.errors import BadSignature, OracleError, UnknownInstrument
from rollbook.exchange.expiry import record_index
from rollbook.exchange.leaves import (
    ORACLE_KEY,
    AssetPrice,
    Instrument,
    InstrumentKind,
    instrument_key,
    price_key,
)
from rollbook.exchange.numeric import INDEX_SCALE, PPM, Rounding, clamp, ppm_of
from rollbook.exchange.portfolio_margin import mark_and_vector, perp_vector
from rollbook.exchange.state import State
from rollbook.exchange.txs import ORACLE_REPORT_TYPEHASH, OracleUpdate

HOUR = 3600
FUNDING_PERIODS_PER_RATE = 8
VOL_TO_ONE = 10**12
"""A vol in ppm times this is the vol at 1e18, the scale of :mod:`black76`."""


def check_move(name: str, old: int, new: int, max_move_ppm: int) -> None:
    """Refuse a price that moves more than ``max_move_ppm`` from ``old``."""
    if old > 0 and abs(new - old) > ppm_of(old, max_move_ppm, Rounding.DOWN):
        raise OracleError(
            f"{name} moves from {old} to {new}, more than {max_move_ppm} ppm in one report"
        )


def premium_ppm(mark: int, index: int) -> int:
    """``(mark − index)/index`` in ppm, truncated toward zero (no sign bias)."""
    magnitude = abs(mark - index) * PPM // index
    return magnitude if mark >= index else -magnitude


def hourly_rate_ppm(instrument: Instrument) -> int:
    """The closed hour's funding rate: average premium / 8, clamped, toward zero."""
    if instrument.premium_samples == 0:
        return 0
    divisor = instrument.premium_samples * FUNDING_PERIODS_PER_RATE
    magnitude = abs(instrument.premium_sum_ppm) // divisor
    rate = magnitude if instrument.premium_sum_ppm >= 0 else -magnitude
    return clamp(rate, -instrument.funding_cap_ppm, instrument.funding_cap_ppm)


def update_mark(instrument: Instrument, mark: int, index: int, timestamp: int) -> Instrument:
    """New mark, funding applied for a closed hour, and this report's premium sample.

    ``funding_index`` is in quote units per whole underlying scaled by
    ``INDEX_SCALE``: ``rate_ppm · index · INDEX_SCALE / PPM`` is exact because
    ``INDEX_SCALE`` is a multiple of ``PPM``.
    """
    hour = timestamp // HOUR
    if instrument.funding_hour == 0:
        instrument = instrument._replace(funding_hour=hour)
    elif hour > instrument.funding_hour:
        rate = hourly_rate_ppm(instrument)
        instrument = instrument._replace(
            funding_index=instrument.funding_index + rate * index * (INDEX_SCALE // PPM),
            funding_hour=hour,
            premium_sum_ppm=0,
            premium_samples=0,
        )
    return instrument._replace(
        mark=mark,
        mark_time=timestamp,
        premium_sum_ppm=instrument.premium_sum_ppm + premium_ppm(mark, index),
        premium_samples=instrument.premium_samples + 1,
    )


def apply_oracle_update(state: State, env: TxEnv, tx: OracleUpdate) -> None:
    """Verify a report's quorum and freshness, then store prices and marks.

    Steps (docs/design/fraud-proofs.md section 2): ``oracle.verify``, then one step
    per entry of the report, each carrying its *cursor*: the entry's place in the
    report, index prices first, then marks, then vols. An index takes ``oracle.index``
    (and the expiry queue's steps, which carry the same cursor); a mark takes
    ``oracle.mark`` and ``oracle.funding``; a vol takes two ``oracle.option`` steps
    (carried phase 0, then 1). Every step re-reads what it uses (the oracle's guards
    too), so that the one-step executor can run it alone from its context.
    """
    state.step("oracle.verify", ORACLE_KEY)
    config = state.oracle()
    if tx.timestamp <= config.last_timestamp:
        raise OracleError(
            f"report time {tx.timestamp} is not after the last report {config.last_timestamp}"
        )
    if tx.timestamp > env.timestamp:
        raise OracleError(f"report time {tx.timestamp} is in the future of block {env.timestamp}")
    if env.timestamp - tx.timestamp > config.staleness:
        raise OracleError(
            f"report is {env.timestamp - tx.timestamp} s old, limit {config.staleness}"
        )
    digest = typed_digest(
        env.domain_separator,
        keccak256(ORACLE_REPORT_TYPEHASH + encode_uint(tx.timestamp, 64) + tx.prices_hash()),
    )
    seen: list[bytes] = []
    for signature in tx.signatures:
        signer = env.signer(digest, signature)
        if signer not in config.signers:
            raise BadSignature("an oracle report signature is not from the oracle set")
        if signer in seen:
            raise BadSignature("an oracle signer signed the report twice")
        seen.append(signer)
    if len(seen) < config.threshold:
        raise BadSignature(f"report has {len(seen)} oracle signatures, needs {config.threshold}")
    state.put(ORACLE_KEY, config._replace(last_timestamp=tx.timestamp))
    cursor = 0
    for asset, price in tx.index_prices:
        state.step("oracle.index", price_key(asset), ORACLE_KEY, carry=(cursor,))
        max_move_ppm = state.oracle().max_move_ppm
        old = state.price(asset)
        if old is not None:
            check_move(f"index of asset {asset}", old.price, price, max_move_ppm)
        state.put(price_key(asset), AssetPrice(price, tx.timestamp))
        record_index(state, asset, tx.timestamp, price, cursor)
        cursor += 1
    for instrument_id, mark in tx.marks:
        state.step("oracle.mark", instrument_key(instrument_id), ORACLE_KEY, carry=(cursor,))
        instrument = state.instrument(instrument_id)
        if instrument.kind is not InstrumentKind.PERPETUAL:
            raise UnknownInstrument(f"{instrument.symbol} takes no oracle mark")
        max_move_ppm = state.oracle().max_move_ppm
        check_move(f"mark of {instrument.symbol}", instrument.mark, mark, max_move_ppm)
        state.step(
            "oracle.funding",
            instrument_key(instrument_id),
            price_key(instrument.asset),
            carry=(cursor,),
        )
        instrument = state.instrument(instrument_id)
        index = state.price(instrument.asset)
        if index is None:
            raise OracleError(f"{instrument.symbol} has no index price for its asset yet")
        updated = update_mark(instrument, mark, index.price, tx.timestamp)
        state.put(
            instrument_key(instrument_id),
            updated._replace(mark_index=index.price, vector=perp_vector(mark, mark)),
        )
        cursor += 1
    for instrument_id, vol_ppm in tx.vols:
        price_option(state, instrument_id, vol_ppm, tx.timestamp, cursor)
        cursor += 1


def price_option(
    state: State, instrument_id: int, vol_ppm: int, timestamp: int, cursor: int = 0
) -> None:
    """Mark one option from its implied vol and the asset's index in this report.

    Two steps, both carrying ``cursor`` (the vol's place in the report) and a phase:
    the instrument's checks (0), then the index, the vol's move and the pricing (1).

    Raises:
        UnknownInstrument: not an option, or expired.
        OracleError: the report carries no index for the option's asset, or the vol
            moves more than the oracle's ``max_move_ppm``.
    """
    state.step("oracle.option", instrument_key(instrument_id), ORACLE_KEY, carry=(cursor, 0))
    instrument = state.instrument(instrument_id)
    if not instrument.kind.is_option:
        raise UnknownInstrument(f"{instrument.symbol} takes a mark, not a volatility")
    if timestamp >= instrument.expiry:
        raise UnknownInstrument(f"{instrument.symbol} has expired; it takes no volatility")
    state.step(
        "oracle.option",
        instrument_key(instrument_id),
        price_key(instrument.asset),
        ORACLE_KEY,
        carry=(cursor, 1),
    )
    instrument = state.instrument(instrument_id)
    index = state.price(instrument.asset)
    if index is None or index.timestamp != timestamp:
        raise OracleError(f"{instrument.symbol}: the report carries no index for its asset")
    max_move_ppm = state.oracle().max_move_ppm
    check_move(f"volatility of {instrument.symbol}", instrument.mark_vol, vol_ppm, max_move_ppm)
    mark, vector = mark_and_vector(
        index.price,
        instrument.strike,
        vol_ppm * VOL_TO_ONE,
        instrument.expiry - timestamp,
        instrument.kind is InstrumentKind.CALL,
    )
    state.put(
        instrument_key(instrument_id),
        instrument._replace(
            mark=mark,
            mark_time=timestamp,
            mark_index=index.price,
            mark_vol=vol_ppm,
            vector=vector,
        ),
    )
