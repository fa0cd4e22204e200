"""The optimised twin of fill settlement (execution-specs keeps ``ethereum_optimized``).

:func:`settle_fill_fast` settles the common fill — two plain orders (no reduce-only),
two ordinary accounts that stay above initial margin, open interest not returning to
zero — with the same arithmetic as :mod:`rollbook.exchange.trading`, but in locals,
reading each leaf once and writing each once. Before writing anything it checks every
rule; whenever a rule fails, or the fill is not a common one, it raises
:class:`Fallback` and the readable STF settles (or rejects) the fill instead. Its
rejections are therefore the readable path's by construction, and its acceptances are
checked against the readable path by a differential test
(``tests/exchange/test_fast.py``) and by ``rollbook bench stf`` on every run.
"""

from __future__ import annotations

from typing import cast

from rollbook.exchange.env import TxEnv
from rollbook.exchange.errors import ExchangeError
from rollbook.exchange.leaves import (
    GLOBALS_KEY,
    INSURANCE_FUND,
    ORACLE_KEY,
    Account,
    Globals,
    Instrument,
    InstrumentKind,
    OracleConfig,
    OrderSlot,
    Position,
    account_key,
    instrument_key,
    position_key,
    slot_key,
)
from rollbook.exchange.numeric import INDEX_SCALE, PPM, SIZE_ONE
from rollbook.exchange.orders import SignedOrder
from rollbook.exchange.state import State
from rollbook.exchange.txs import Fill
from rollbook.exchange.types import OrderFlags, Side
from rollbook.exchange.zkmode import RECORD_ACCOUNTS, RECORD_UNITS

_DENOMINATOR = SIZE_ONE * INDEX_SCALE
_POST_ONLY = int(OrderFlags.POST_ONLY)
_REDUCE_ONLY = int(OrderFlags.REDUCE_ONLY)
_PERPETUAL = InstrumentKind.PERPETUAL


_new_tuple = tuple.__new__
if Instrument._fields[-2:] != ("open_interest", "pool") or Account._fields != (
    "owner",
    "balance",
    "keys",
    "nonce_floor",
    "tx_nonce",
    "instruments",
    "portfolio",
):
    raise ImportError("rollbook.exchange.fast is out of step with the leaf layout")


class Fallback(Exception):
    """Not a common fill, or a rule fails: let the readable STF decide."""


def _ceil_div(a: int, d: int) -> int:
    return -((-a) // d)


def _pending(position: Position, instrument: Instrument) -> tuple[int, int]:
    """Pending payment and the side's loss index (as positions.pending_payment)."""
    size = position.size
    side_index = instrument.loss_index_long if size > 0 else instrument.loss_index_short
    funding = _ceil_div(size * (instrument.funding_index - position.funding_snap), _DENOMINATOR)
    loss = _ceil_div(abs(size) * (side_index - position.loss_snap), _DENOMINATOR)
    return funding + loss, side_index


def _check_order(
    leaves: dict[object, object],
    env: TxEnv,
    signed: SignedOrder,
    size: int,
    fee_ppm: int,
    lifetime: int,
) -> tuple[Account, OrderSlot]:
    order = signed.order
    account = cast(Account | None, leaves.get(account_key(order.account)))
    # The fund's orders and portfolio accounts are never common: the readable STF
    # settles them, or refuses them in ZK mode (rollbook.exchange.zkmode).
    if account is None or order.account == INSURANCE_FUND or account.portfolio:
        raise Fallback
    if order.expiry < env.timestamp or order.expiry > env.timestamp + lifetime:
        raise Fallback
    if order.nonce < account.nonce_floor or fee_ppm > order.max_fee_ppm:
        raise Fallback
    if int(order.flags) & _REDUCE_ONLY:
        raise Fallback
    digest = env.order_digest(order)
    if signed.digest != digest:
        raise Fallback
    slot = cast(OrderSlot | None, leaves.get(slot_key(order.account, order.slot)))
    if slot is not None and order.nonce == slot.nonce and slot.order_hash == digest:
        if slot.signer not in account.keys:
            raise Fallback
        filled = slot.filled
        signer = slot.signer
    elif slot is None or order.nonce > slot.nonce:
        try:
            signer = env.order_signer(digest, signed.signature)
        except ExchangeError:
            raise Fallback from None
        if signer not in account.keys:
            raise Fallback
        filled = 0
    else:
        raise Fallback
    if filled + size > order.size:
        raise Fallback
    return account, OrderSlot(order.nonce, filled + size, digest, signer)


def _side(
    leaves: dict[object, object],
    index: int,
    account: Account,
    instrument: Instrument,
    delta: int,
    price: int,
    cash: int,
    max_positions: int,
) -> tuple[Account, Position | None, int, int, int]:
    """Settle and trade one side; returns (account, new position, old, new, pool delta)."""
    iid = instrument.instrument_id
    position = cast(Position | None, leaves.get(position_key(index, iid)))
    pool = 0
    balance = account.balance + cash
    if position is None:
        old = 0
        cost = 0
    else:
        old = position.size
        payment, _ = _pending(position, instrument)
        balance -= payment
        pool += payment
        cost = position.cost
    new = old + delta
    instruments = account.instruments
    if old == 0:
        if len(instruments) >= max_positions:
            raise Fallback
        instruments = (*instruments, iid)
    elif new == 0:
        instruments = tuple(i for i in instruments if i != iid)
    side_index = instrument.loss_index_long if new > 0 else instrument.loss_index_short
    if new == 0:
        new_position = None
    elif old == 0 or (old > 0) != (new > 0):
        new_position = Position(new, price * new // SIZE_ONE, instrument.funding_index, side_index)
    elif abs(new) > abs(old):
        new_position = Position(
            new, cost + price * delta // SIZE_ONE, instrument.funding_index, side_index
        )
    else:
        new_position = Position(
            new, cost * abs(new) // abs(old), instrument.funding_index, side_index
        )
    updated = Account(
        account.owner, balance, account.keys, account.nonce_floor, account.tx_nonce, instruments
    )
    return updated, new_position, old, new, pool


def _margin(
    leaves: dict[object, object],
    index: int,
    account: Account,
    traded: Instrument,
    traded_position: Position | None,
    now: int,
    staleness: int,
    pools: dict[int, int],
    settled: dict[tuple[int, int], Position],
) -> Account:
    """Settle the account's other positions and require equity ≥ IM (else Fallback)."""
    balance = account.balance
    equity_positions = 0
    initial = 0
    for iid in account.instruments:
        if iid == traded.instrument_id:
            instrument = traded
            position = traded_position
            if position is None:
                raise Fallback
        else:
            instrument = cast(Instrument, leaves[instrument_key(iid)])
            if instrument.kind is not _PERPETUAL:
                raise Fallback  # options: standard option margin, expiry settlement
            position = cast(Position, leaves[position_key(index, iid)])
            payment, side_index = _pending(position, instrument)
            if (
                payment
                or position.funding_snap != instrument.funding_index
                or (position.loss_snap != side_index)
            ):
                balance -= payment
                pools[iid] = pools.get(iid, 0) + payment
                position = position._replace(
                    funding_snap=instrument.funding_index, loss_snap=side_index
                )
                settled[(index, iid)] = position
        if instrument.mark <= 0 or now - instrument.mark_time > staleness:
            raise Fallback
        value = instrument.mark * position.size // SIZE_ONE
        equity_positions += value
        initial += _ceil_div(abs(value) * instrument.im_ppm, PPM)
    if balance + equity_positions < initial:
        raise Fallback
    return Account(
        account.owner,
        balance,
        account.keys,
        account.nonce_floor,
        account.tx_nonce,
        account.instruments,
    )


def settle_fill_fast(state: State, env: TxEnv, tx: Fill) -> None:
    """Settle a common fill exactly as :func:`trading.settle_fill` would, or Fallback."""
    if state.tracer is not None:
        raise Fallback
    leaves = cast(dict[object, object], state._leaves)
    maker, taker = tx.maker.order, tx.taker.order
    if (
        maker.instrument != taker.instrument
        or maker.side == taker.side
        or maker.account == taker.account
        or int(taker.flags) & _POST_ONLY
    ):
        raise Fallback
    instrument = cast(Instrument | None, leaves.get(instrument_key(maker.instrument)))
    glob = cast(Globals, leaves[GLOBALS_KEY])
    if instrument is None or not instrument.active or instrument.kind is not _PERPETUAL:
        raise Fallback
    price = maker.price
    size = tx.size
    if price % instrument.tick or size % instrument.lot:
        raise Fallback
    if env.zk and (
        price // instrument.tick >= RECORD_UNITS
        or size // instrument.lot >= RECORD_UNITS
        or max(maker.account, taker.account) >= RECORD_ACCOUNTS
    ):
        raise Fallback  # the readable STF refuses it (rollbook.exchange.zkmode)
    if (taker.side is Side.BUY and price > taker.price) or (
        taker.side is Side.SELL and price < taker.price
    ):
        raise Fallback
    value = price * size // SIZE_ONE
    maker_fee = _ceil_div(value * instrument.maker_fee_ppm, PPM)
    taker_fee = _ceil_div(value * instrument.taker_fee_ppm, PPM)
    lifetime = glob.max_order_lifetime
    m_account, m_slot = _check_order(
        leaves, env, tx.maker, size, instrument.maker_fee_ppm, lifetime
    )
    t_account, t_slot = _check_order(
        leaves, env, tx.taker, size, instrument.taker_fee_ppm, lifetime
    )
    m_delta = size if maker.side is Side.BUY else -size
    m_cash = -(price * m_delta // SIZE_ONE) - maker_fee
    t_cash = -(price * -m_delta // SIZE_ONE) - taker_fee
    m_account, m_pos, m_old, m_new, m_pool = _side(
        leaves, maker.account, m_account, instrument, m_delta, price, m_cash, glob.max_positions
    )
    t_account, t_pos, t_old, t_new, t_pool = _side(
        leaves,
        taker.account,
        t_account,
        instrument,
        -m_delta,
        price,
        t_cash,
        glob.max_positions,
    )
    oi_change = max(m_new, 0) - max(m_old, 0) + max(t_new, 0) - max(t_old, 0)
    open_interest = instrument.open_interest + oi_change
    if open_interest == 0 or (oi_change > 0 and open_interest > instrument.max_open_interest):
        raise Fallback
    # open_interest and pool are the instrument's last two fields (checked at import).
    traded = _new_tuple(
        Instrument, (*instrument[:-2], open_interest, instrument.pool + m_pool + t_pool)
    )
    staleness = cast(OracleConfig, leaves[ORACLE_KEY]).staleness
    pools: dict[int, int] = {}
    settled: dict[tuple[int, int], Position] = {}
    m_account = _margin(
        leaves,
        maker.account,
        m_account,
        traded,
        m_pos,
        env.timestamp,
        staleness,
        pools,
        settled,
    )
    t_account = _margin(
        leaves,
        taker.account,
        t_account,
        traded,
        t_pos,
        env.timestamp,
        staleness,
        pools,
        settled,
    )
    # Every rule holds: write each leaf once.
    put = state.put
    put(slot_key(maker.account, maker.slot), m_slot)
    put(slot_key(taker.account, taker.slot), t_slot)
    put(account_key(maker.account), m_account)
    put(account_key(taker.account), t_account)
    for index, position in ((maker.account, m_pos), (taker.account, t_pos)):
        key = position_key(index, instrument.instrument_id)
        if position is None:
            state.delete(key)
        else:
            put(key, position)
    for (index, iid), position in settled.items():
        put(position_key(index, iid), position)
    put(instrument_key(instrument.instrument_id), traded)
    for iid, amount in pools.items():
        other = cast(Instrument, leaves[instrument_key(iid)])
        put(instrument_key(iid), other._replace(pool=other.pool + amount))
    if maker_fee + taker_fee:
        put(GLOBALS_KEY, glob._replace(fees=glob.fees + maker_fee + taker_fee))
