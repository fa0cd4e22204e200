"""Fill settlement: two signed orders, one match, at the maker's price.

ARCHITECTURE section 3: matching runs in the sequencer; the STF settles fills. For each
fill the STF checks that both signed orders allow it (docs/design/consensus.md section
3: expiry, nonce floor, slot, size, fee bound, price, post-only, reduce-only), moves
the notional between the balances, charges fees to the fee account, updates the
positions and the instrument's open interest, and checks both accounts' margin.
Time-in-force (IOC, FOK, GTC) is the matching engine's promise; the STF does not see
the book and cannot enforce it.

Steps (docs/design/fraud-proofs.md section 2): ``fill.instrument``, ``order.maker``,
``order.taker``, ``fill.apply`` for the maker then the taker, ``fill.book``, then the
maker's margin check, which returns into the taker's. Each step runs alone from its
leaves, the tx and what it carries: the fill's carry is ``(max_positions, maker fee
ppm, taker fee ppm, maker's old size, new size, cash, taker's old size, new size,
cash)``, as far as the steps before have computed it (the one-step executor's
``TradingSteps.vy`` reads it the same way).
"""

from __future__ import annotations

from rollbook.exchange.env import TxEnv
from rollbook.exchange.errors import (
    BadSignature,
    ExchangeError,
    FeeTooHigh,
    MalformedTx,
    OrderCancelled,
    OrderExpired,
    OverFill,
    PositionLimit,
    PostOnlyTaker,
    PriceNotAllowed,
    ReduceOnlyViolation,
    SlotConflict,
    UnknownInstrument,
)
from rollbook.exchange.expiry import is_expired
from rollbook.exchange.leaves import (
    GLOBALS_KEY,
    Instrument,
    OrderSlot,
    account_key,
    instrument_key,
    position_key,
    slot_key,
)
from rollbook.exchange.margin import require_initial_margin
from rollbook.exchange.numeric import Rounding, notional, ppm_of
from rollbook.exchange.orders import SignedOrder
from rollbook.exchange.positions import (
    change_position,
    long_open_interest_change,
    settle_position,
)
from rollbook.exchange.state import State
from rollbook.exchange.txs import Fill
from rollbook.exchange.types import OrderFlags, Side
from rollbook.exchange.zkmode import require_not_fund, require_record_fits

EMPTY_HASH = bytes(32)


def active_instrument(state: State, instrument_id: int, now: int) -> Instrument:
    """The listed, active, unexpired instrument; raises :class:`UnknownInstrument`."""
    instrument = state.instrument(instrument_id)
    if not instrument.active:
        raise UnknownInstrument(f"{instrument.symbol} is not open for trading")
    if is_expired(instrument, now):
        raise UnknownInstrument(f"{instrument.symbol} expired at {instrument.expiry}")
    return instrument


def consume_order(
    state: State,
    env: TxEnv,
    signed: SignedOrder,
    size: int,
    fee_ppm: int,
    role: str,
    carry: tuple[int, ...] = (),
) -> None:
    """Check that ``signed`` may fill ``size`` now; on refusal the error names its account.

    ``carry`` is what the order's step takes from the steps before it (a fill's
    carry, module docstring: the one-step executor runs the step from it alone).
    """
    try:
        _consume_order(state, env, signed, size, fee_ppm, role, carry)
    except ExchangeError as exc:
        exc.account = signed.order.account
        raise


def _consume_order(
    state: State,
    env: TxEnv,
    signed: SignedOrder,
    size: int,
    fee_ppm: int,
    role: str,
    carry: tuple[int, ...],
) -> None:
    """Check that ``signed`` may fill ``size`` now and record the fill in its slot.

    Verifies the signature only at the order's first use of its slot; later fills
    of the same order are proven by the slot's stored hash and signer.

    Raises:
        OrderExpired, OrderCancelled, SlotConflict, OverFill, FeeTooHigh, BadSignature.
    """
    order = signed.order
    state.step(
        f"order.{role}",
        account_key(order.account),
        slot_key(order.account, order.slot),
        GLOBALS_KEY,
        carry=carry,
    )
    account = state.account(order.account)
    lifetime = state.globals().max_order_lifetime
    if order.expiry < env.timestamp:
        raise OrderExpired(f"{role} order expired at {order.expiry}, now {env.timestamp}")
    if order.expiry > env.timestamp + lifetime:
        raise OrderExpired(f"{role} order expiry is beyond the {lifetime} s lifetime bound")
    if order.nonce < account.nonce_floor:
        raise OrderCancelled(
            f"{role} order nonce {order.nonce} is below the account's floor {account.nonce_floor}"
        )
    if fee_ppm > order.max_fee_ppm:
        raise FeeTooHigh(
            f"{role} fee rate {fee_ppm} ppm exceeds the signed maximum {order.max_fee_ppm} ppm"
        )
    digest = env.order_digest(order)
    if signed.digest != digest:
        raise MalformedTx(f"{role} order digest does not match its fields and domain")
    slot = state.slot(order.account, order.slot)
    if order.nonce < slot.nonce:
        raise OrderCancelled(f"{role} order slot {order.slot} moved on to nonce {slot.nonce}")
    if order.nonce == slot.nonce and slot.order_hash == digest:
        if slot.signer not in account.keys:
            raise BadSignature(f"{role} order's signing key has been revoked")
        filled = slot.filled
    elif order.nonce == slot.nonce and slot.order_hash != EMPTY_HASH:
        raise SlotConflict(f"{role} order: slot {order.slot} nonce {order.nonce} is taken")
    else:
        signer = env.order_signer(digest, signed.signature)
        if signer not in account.keys:
            raise BadSignature(f"{role} order is not signed by a trading key of its account")
        slot = OrderSlot(order.nonce, 0, digest, signer)
        filled = 0
    if filled + size > order.size:
        raise OverFill(f"{role} order would fill {filled + size}, more than its size {order.size}")
    state.put(slot_key(order.account, order.slot), slot._replace(filled=filled + size))


def apply_side(
    state: State,
    account: int,
    instrument: Instrument,
    side: Side,
    size: int,
    price: int,
    fee: int,
    reduce_only: bool,
    max_positions: int,
    carry: tuple[int, ...] = (),
) -> tuple[int, int, int]:
    """Settle, then trade one side of a fill; returns ``(old, new, balance_delta)``.

    ``carry``: the values the step takes from the steps before it (module docstring).
    """
    state.step(
        "fill.apply",
        account_key(account),
        position_key(account, instrument.instrument_id),
        instrument_key(instrument.instrument_id),
        carry=carry,
    )
    settle_position(state, account, instrument.instrument_id)
    instrument = state.instrument(instrument.instrument_id)
    delta = size * side.sign
    cash = -notional(price, delta) - fee
    old, new = change_position(state, account, instrument, delta, price, cash, max_positions)
    if reduce_only and (abs(new) >= abs(old) or (new != 0 and (new > 0) != (old > 0))):
        raise ReduceOnlyViolation(
            f"reduce-only order would change position {old} to {new}", account=account
        )
    return old, new, cash


def settle_fill(state: State, env: TxEnv, tx: Fill) -> None:
    """Settle one fill between a maker and a taker order (docs/design/consensus.md §3).

    In ZK mode an order of the insurance fund, and a fill its record cannot hold, are
    refused (:mod:`rollbook.exchange.zkmode`).
    """
    maker, taker = tx.maker.order, tx.taker.order
    if maker.instrument != taker.instrument:
        raise MalformedTx("maker and taker orders are for different instruments")
    if maker.side == taker.side:
        raise MalformedTx("maker and taker orders are on the same side")
    if maker.account == taker.account:
        raise MalformedTx("an account cannot trade with itself")
    if taker.flags & OrderFlags.POST_ONLY:
        raise PostOnlyTaker("a post-only order cannot take liquidity")
    if env.zk:
        # The fill circuit proves fills of ordinary accounts (the fund's are liquidations).
        require_not_fund(maker.account, "maker")
        require_not_fund(taker.account, "taker")
    state.step("fill.instrument", instrument_key(maker.instrument), GLOBALS_KEY)
    instrument = active_instrument(state, maker.instrument, env.timestamp)
    price = maker.price
    if price % instrument.tick or tx.size % instrument.lot:
        raise PriceNotAllowed(
            f"price {price} or size {tx.size} is off the {instrument.symbol} tick/lot grid"
        )
    if (taker.side is Side.BUY and price > taker.price) or (
        taker.side is Side.SELL and price < taker.price
    ):
        raise PriceNotAllowed(f"maker price {price} is beyond the taker's limit {taker.price}")
    if env.zk:
        lots, ticks = tx.size // instrument.lot, price // instrument.tick
        require_record_fits(maker.account, taker.account, lots, ticks)
    max_positions = state.globals().max_positions
    value = notional(price, tx.size)
    maker_fee = ppm_of(value, instrument.maker_fee_ppm, Rounding.UP)
    taker_fee = ppm_of(value, instrument.taker_fee_ppm, Rounding.UP)
    carry = (max_positions, instrument.maker_fee_ppm, instrument.taker_fee_ppm)
    consume_order(state, env, tx.maker, tx.size, instrument.maker_fee_ppm, "maker", carry)
    consume_order(state, env, tx.taker, tx.size, instrument.taker_fee_ppm, "taker", carry)
    m_old, m_new, m_cash = apply_side(
        state,
        maker.account,
        instrument,
        maker.side,
        tx.size,
        price,
        maker_fee,
        bool(maker.flags & OrderFlags.REDUCE_ONLY),
        max_positions,
        carry,
    )
    t_old, t_new, t_cash = apply_side(
        state,
        taker.account,
        instrument,
        taker.side,
        tx.size,
        price,
        taker_fee,
        bool(taker.flags & OrderFlags.REDUCE_ONLY),
        max_positions,
        (*carry, m_old, m_new, m_cash),
    )
    state.step(
        "fill.book",
        instrument_key(maker.instrument),
        GLOBALS_KEY,
        account_key(0),
        carry=(*carry, m_old, m_new, m_cash, t_old, t_new, t_cash),
    )
    record_trade_totals(
        state,
        instrument.instrument_id,
        long_open_interest_change(m_old, m_new) + long_open_interest_change(t_old, t_new),
        maker_fee + taker_fee,
    )
    instrument = state.instrument(instrument.instrument_id)
    # The maker's check returns into the taker's, which returns to the tx's end.
    require_initial_margin(
        state,
        maker.account,
        env.timestamp,
        (instrument, m_old, m_new, m_cash),
        then="margin.begin",
        chained=(taker.account, t_old, t_new, t_cash),
    )
    require_initial_margin(
        state, taker.account, env.timestamp, (instrument, t_old, t_new, t_cash), then="tx.end"
    )


def record_trade_totals(state: State, instrument_id: int, oi_change: int, fees: int) -> None:
    """Update open interest (sweeping the pool's dust at zero) and the fee account."""
    instrument = state.instrument(instrument_id)
    open_interest = instrument.open_interest + oi_change
    if oi_change > 0 and open_interest > instrument.max_open_interest:
        raise PositionLimit(
            f"{instrument.symbol} open interest would exceed {instrument.max_open_interest}"
        )
    pool = instrument.pool
    glob = state.globals()
    if open_interest == 0 and pool != 0:
        # Every position is closed, hence settled: the pool holds only rounding dust,
        # which belongs to the insurance fund (account 0).
        sweep_pool_to_insurance(state, pool)
        pool = 0
    state.put(
        instrument_key(instrument_id), instrument._replace(open_interest=open_interest, pool=pool)
    )
    if fees:
        state.put(GLOBALS_KEY, glob._replace(fees=glob.fees + fees))


def sweep_pool_to_insurance(state: State, amount: int) -> None:
    """Credit ``amount`` of pool dust to the insurance fund's balance."""
    fund = state.account(0)
    state.put(account_key(0), fund._replace(balance=fund.balance + amount))
