"""Accounts, keys, order slots, expiry and the nonce floor (consensus.md sections 2, 3, 9).

Anchors: Loopring's storage slots (an order dies when its slot is reused with a higher
nonce), dYdX v3 / StarkEx owner-signed collateral moves, Hyperliquid's revocable API
agent wallets (a revoked key's orders no longer fill).
"""

from __future__ import annotations

from rollbook.crypto.secp256k1 import private_key_address
from rollbook.exchange.leaves import NO_KEY, Withdrawal, withdrawal_key
from rollbook.exchange.orders import SignedOrder
from rollbook.exchange.stf import Receipt
from rollbook.exchange.txs import (
    Deposit,
    Fill,
    NonceFloor,
    RegisterKey,
    RevokeKey,
    SettleAccount,
    Transfer,
    Tx,
    Withdraw,
    sign_owner_tx,
)
from rollbook.exchange.types import Side
from rollbook.sim.world import Trader, World, base, key_from_label, usd

DAY = 86_400


def make_world() -> World:
    world = World()
    assert world.list_perp().ok
    assert world.set_prices(usd(2000)).ok
    return world


def reject(
    world: World, tx: Tx, error: str, code: int, *, l1: bool = False, sender: bytes | None = None
) -> Receipt:
    root = world.state.root()
    receipt = world.l1(tx, sender) if l1 else world.l2(tx)
    assert not receipt.ok, receipt
    assert (receipt.error, receipt.code) == (error, code), receipt
    assert world.state.root() == root
    return receipt


def take(world: World, maker_order: SignedOrder, taker: Trader, size: int) -> Fill:
    """A fill of ``size`` against ``maker_order`` by a fresh crossing taker order."""
    side = maker_order.order.side.opposite
    return Fill(maker_order, world.order(taker, side, maker_order.order.price, size), size)


def floor_signed_by(world: World, key: bytes, account: int, floor: int) -> NonceFloor:
    unsigned = NonceFloor(account, floor)
    return NonceFloor(account, floor, sign_owner_tx(unsigned, key, world.separator))


# -- nonce floor ----------------------------------------------------------------------


def test_nonce_floor_kills_every_lower_nonce() -> None:
    """Section 3.2: o.nonce ≥ account.nonce_floor; a floor must rise."""
    world = make_world()
    maker = world.add_trader("maker", 10_000)
    taker = world.add_trader("taker", 10_000)
    o3 = world.order(maker, Side.SELL, usd(2000), base(1), nonce=3)
    o4 = world.order(maker, Side.SELL, usd(2000), base(1), nonce=4)
    o5 = world.order(maker, Side.SELL, usd(2000), base(1), nonce=5)
    assert world.l2(take(world, o3, taker, base(1, 1))).ok  # partially filled
    assert world.l2(floor_signed_by(world, maker.trading_key, maker.index, 5)).ok
    assert world.state.account(maker.index).nonce_floor == 5
    reject(world, take(world, o3, taker, base(1, 1)), "OrderCancelled", 10010)
    reject(world, take(world, o4, taker, base(1, 1)), "OrderCancelled", 10010)
    assert world.l2(take(world, o5, taker, base(1, 1))).ok
    # the floor must rise
    reject(world, floor_signed_by(world, maker.trading_key, maker.index, 5), "BadNonce", 11029)
    reject(world, floor_signed_by(world, maker.trading_key, maker.index, 4), "BadNonce", 11029)


def test_nonce_floor_authority() -> None:
    """A floor is signed by the owner or a trading key, or forced by the owner from L1."""
    world = make_world()
    alice = world.add_trader("alice", 10)
    assert world.l2(floor_signed_by(world, alice.owner_key, alice.index, 2)).ok
    stranger = key_from_label("stranger")
    reject(world, floor_signed_by(world, stranger, alice.index, 3), "BadSignature", 13009)
    reject(world, NonceFloor(alice.index, 3), "BadSignature", 13009)  # unsigned on L2
    reject(
        world,
        NonceFloor(alice.index, 3),
        "Unauthorized",
        13009,
        l1=True,
        sender=private_key_address(stranger),
    )
    assert world.l1(NonceFloor(alice.index, 3), alice.owner).ok
    assert world.state.account(alice.index).nonce_floor == 3


# -- keys -----------------------------------------------------------------------------


def test_revoked_key_kills_its_orders_even_partially_filled() -> None:
    """Section 2: an order signed by a revoked key can no longer fill (the slot keeps
    the signer), even after it has filled before."""
    world = make_world()
    maker = world.add_trader("maker", 10_000)
    taker = world.add_trader("taker", 10_000)
    ask = world.order(maker, Side.SELL, usd(2000), base(1))
    assert world.l2(take(world, ask, taker, base(3, 1))).ok
    second_key = key_from_label("maker-second-key")
    register = world.owner_signed(
        RegisterKey,
        maker,
        account=maker.index,
        key_index=1,
        key=private_key_address(second_key),
        nonce=1,
    )
    assert world.l2(register).ok
    revoke = world.owner_signed(RevokeKey, maker, account=maker.index, key_index=0, nonce=2)
    assert world.l2(revoke).ok
    assert world.state.account(maker.index).keys[0] == NO_KEY
    # the partially filled order is dead
    reject(world, take(world, ask, taker, base(3, 1)), "BadSignature", 13009)
    # a fresh order by the revoked key too
    fresh = world.order(maker, Side.SELL, usd(2000), base(1))
    reject(world, take(world, fresh, taker, base(1, 1)), "BadSignature", 13009)
    # the other key still trades
    maker.trading_key = second_key
    assert world.l2(
        take(world, world.order(maker, Side.SELL, usd(2000), base(1)), taker, base(1, 1))
    ).ok


def test_revoke_from_l1_by_owner() -> None:
    world = make_world()
    alice = world.add_trader("alice", 10)
    reject(
        world,
        RevokeKey(alice.index, 0, 0),
        "Unauthorized",
        13009,
        l1=True,
        sender=private_key_address(key_from_label("stranger")),
    )
    assert world.l1(RevokeKey(alice.index, 0, 0), alice.owner).ok
    assert world.state.account(alice.index).keys == (NO_KEY,) * 4
    # forced txs do not consume the L2 tx nonce
    assert world.state.account(alice.index).tx_nonce == 1


def test_key_table_rules() -> None:
    """Up to MAX_KEYS = 4 keys; an index in use must be revoked first; no duplicates."""
    world = make_world()
    alice = world.add_trader("alice", 10)
    new_key = private_key_address(key_from_label("alice-2"))
    own_key = private_key_address(alice.trading_key)
    cases = [
        (dict(key_index=4, key=new_key), "MalformedTx"),
        (dict(key_index=0, key=new_key), "MalformedTx"),  # in use
        (dict(key_index=1, key=own_key), "MalformedTx"),  # already registered
    ]
    for fields, error in cases:
        tx = world.owner_signed(RegisterKey, alice, account=alice.index, nonce=1, **fields)
        reject(world, tx, error, 11029)
    tx = world.owner_signed(RevokeKey, alice, account=alice.index, key_index=2, nonce=1)
    reject(world, tx, "MalformedTx", 11029)  # nothing to revoke
    tx = world.owner_signed(
        RegisterKey, alice, account=alice.index, key_index=3, key=new_key, nonce=1
    )
    assert world.l2(tx).ok
    assert world.state.account(alice.index).keys[3] == new_key


def test_trading_key_cannot_act_as_owner() -> None:
    world = make_world()
    alice = world.add_trader("alice", 100)
    unsigned = Withdraw(alice.index, usd(1), 1)
    signature = sign_owner_tx(unsigned, alice.trading_key, world.separator)
    reject(world, Withdraw(alice.index, usd(1), 1, signature), "BadSignature", 13009)


# -- expiry and slots -----------------------------------------------------------------


def test_order_expiry_inclusive() -> None:
    """Section 3.1: o.expiry ≥ block.timestamp."""
    world = make_world()
    maker = world.add_trader("maker", 10_000)
    taker = world.add_trader("taker", 10_000)
    expired = world.order(maker, Side.SELL, usd(2000), base(1), expiry=world.now - 1)
    reject(world, take(world, expired, taker, base(1, 1)), "OrderExpired", 10010)
    last_second = world.order(maker, Side.SELL, usd(2000), base(1), expiry=world.now)
    assert world.l2(take(world, last_second, taker, base(1, 1))).ok


def test_order_lifetime_bound() -> None:
    """Section 3.1: o.expiry ≤ block.timestamp + MAX_ORDER_LIFETIME (90 days)."""
    world = make_world()
    maker = world.add_trader("maker", 10_000)
    taker = world.add_trader("taker", 10_000)
    too_far = world.order(maker, Side.SELL, usd(2000), base(1), expiry=world.now + 90 * DAY + 1)
    reject(world, take(world, too_far, taker, base(1, 1)), "OrderExpired", 10010)
    at_bound = world.order(maker, Side.SELL, usd(2000), base(1), expiry=world.now + 90 * DAY)
    assert world.l2(take(world, at_bound, taker, base(1, 1))).ok


def test_partially_filled_order_dies_at_expiry() -> None:
    world = make_world()
    maker = world.add_trader("maker", 10_000)
    taker = world.add_trader("taker", 10_000)
    ask = world.order(maker, Side.SELL, usd(2000), base(1), expiry=world.now + 10)
    assert world.l2(take(world, ask, taker, base(1, 1))).ok
    world.advance(11)
    assert world.set_prices(usd(2000)).ok
    reject(world, take(world, ask, taker, base(1, 1)), "OrderExpired", 10010)


def test_slot_reuse_with_higher_nonce_kills_the_old_order() -> None:
    """Section 3.3: o.nonce > slot.nonce takes the slot over with filled = 0; the old
    order (lower nonce) is then stale."""
    world = make_world()
    maker = world.add_trader("maker", 10_000)
    taker = world.add_trader("taker", 10_000)
    old = world.order(maker, Side.SELL, usd(2000), base(1), slot=7, nonce=1)
    assert world.l2(take(world, old, taker, base(5, 1))).ok
    assert world.state.slot(maker.index, 7).filled == base(5, 1)
    new = world.order(maker, Side.SELL, usd(2001), base(3, 1), slot=7, nonce=2)
    assert world.l2(take(world, new, taker, base(3, 1))).ok  # all of it: filled restarts at 0
    slot = world.state.slot(maker.index, 7)
    assert (slot.nonce, slot.filled, slot.order_hash) == (2, base(3, 1), new.digest)
    reject(world, take(world, old, taker, base(1, 1)), "OrderCancelled", 10010)
    reject(world, take(world, new, taker, 100_000), "OverFill", 10010)


def test_second_use_of_a_slot_is_proven_by_the_slot_not_the_signature() -> None:
    """Section 3.3: on an equal (slot, nonce, hash) the signature is not re-verified."""
    world = make_world()
    maker = world.add_trader("maker", 10_000)
    taker = world.add_trader("taker", 10_000)
    ask = world.order(maker, Side.SELL, usd(2000), base(1))
    reject(
        world,
        take(world, SignedOrder(ask.order, bytes(65), ask.digest), taker, base(1, 1)),
        "BadSignature",
        13009,
    )  # first use: the signature is checked
    assert world.l2(take(world, ask, taker, base(1, 1))).ok
    unsigned_again = SignedOrder(ask.order, bytes(65), ask.digest)
    assert world.l2(take(world, unsigned_again, taker, base(2, 1))).ok
    assert world.state.slot(maker.index, ask.order.slot).filled == base(3, 1)


def test_slot_conflict_same_nonce_different_order() -> None:
    """Section 3.3: a different order on a used (slot, nonce) is SlotConflict."""
    world = make_world()
    maker = world.add_trader("maker", 10_000)
    taker = world.add_trader("taker", 10_000)
    first = world.order(maker, Side.SELL, usd(2000), base(1), slot=7, nonce=1)
    assert world.l2(take(world, first, taker, base(1, 1))).ok
    other = world.order(maker, Side.SELL, usd(2001), base(1), slot=7, nonce=1)
    reject(world, take(world, other, taker, base(1, 1)), "SlotConflict", 10010)
    # the same order on its own (slot, nonce) keeps filling
    assert world.l2(take(world, first, taker, base(1, 1))).ok
    assert world.state.slot(maker.index, 7).filled == base(2, 1)


def test_slot_conflict_at_nonce_zero() -> None:
    """Nonce 0 is a valid order nonce (floor 0 ≤ 0); a second, different order on the
    same (slot, 0) must be a SlotConflict like at any other nonce."""
    world = make_world()
    maker = world.add_trader("maker", 10_000)
    taker = world.add_trader("taker", 10_000)
    first = world.order(maker, Side.SELL, usd(2000), base(1, 1), slot=9, nonce=0)
    assert world.l2(take(world, first, taker, base(1, 1))).ok
    other = world.order(maker, Side.SELL, usd(2001), base(1, 1), slot=9, nonce=0)
    reject(world, take(world, other, taker, base(1, 1)), "SlotConflict", 10010)


def test_nonce_zero_order_cannot_be_filled_twice() -> None:
    """Section 3.4: slot.filled + fill.size ≤ o.size, whatever else used the slot."""
    world = make_world()
    maker = world.add_trader("maker", 10_000)
    taker = world.add_trader("taker", 10_000)
    first = world.order(maker, Side.SELL, usd(2000), base(1, 1), slot=9, nonce=0)
    assert world.l2(take(world, first, taker, base(1, 1))).ok  # fully filled
    other = world.order(maker, Side.SELL, usd(2001), base(1, 1), slot=9, nonce=0)
    world.l2(take(world, other, taker, base(1, 1)))  # must not reopen the slot
    reject(world, take(world, first, taker, base(1, 1)), "OverFill", 10010)
    # the maker never sold more than the 0.1 + (at most) 0.1 it signed for
    assert world.state.position(maker.index, 1).size >= -base(2, 1)


# -- collateral -----------------------------------------------------------------------


def test_deposits_are_sequential_and_open_accounts_in_order() -> None:
    world = make_world()
    first = private_key_address(key_from_label("first"))
    second = private_key_address(key_from_label("second"))
    assert world.l1(Deposit(0, first, 5_000_000)).ok
    reject(world, Deposit(0, second, 1), "BadNonce", 11029, l1=True)  # replayed id
    reject(world, Deposit(2, second, 1), "BadNonce", 11029, l1=True)  # skipped id
    assert world.l1(Deposit(1, second, 7)).ok
    assert world.l1(Deposit(2, first, 1)).ok  # same owner: same account
    glob = world.state.globals()
    assert (glob.next_deposit_id, glob.next_account, glob.total_deposits) == (3, 3, 5_000_008)
    assert world.state.account(1).owner == first
    assert world.state.account(1).balance == 5_000_001
    assert world.state.account(2).balance == 7
    reject(world, Deposit(3, first, 1), "WrongOrigin", 13009)  # deposits only from L1


def test_transfer_moves_exact_amount_and_consumes_the_nonce() -> None:
    world = make_world()
    alice = world.add_trader("alice", 100)
    bob = world.add_trader("bob", 5)
    tx = world.owner_signed(
        Transfer, alice, sender=alice.index, recipient=bob.index, amount=12_345_678, nonce=1
    )
    assert world.l2(tx).ok
    assert world.state.account(alice.index).balance == usd(100) - 12_345_678
    assert world.state.account(bob.index).balance == usd(5) + 12_345_678
    assert world.state.account(alice.index).tx_nonce == 2
    reject(world, tx, "BadNonce", 11029)  # replay
    over = world.owner_signed(
        Transfer, alice, sender=alice.index, recipient=bob.index, amount=usd(100), nonce=2
    )
    reject(world, over, "NotEnoughFunds", 10009)
    nobody = world.owner_signed(
        Transfer, alice, sender=alice.index, recipient=99, amount=1, nonce=2
    )
    reject(world, nobody, "UnknownAccount", 10004)


def test_withdrawals_append_sequential_leaves() -> None:
    world = make_world()
    alice = world.add_trader("alice", 100)
    for nonce, amount in ((1, 1_000_000), (2, 2_500_000)):
        tx = world.owner_signed(Withdraw, alice, account=alice.index, amount=amount, nonce=nonce)
        assert world.l2(tx).ok
    assert world.state.get(withdrawal_key(0)) == Withdrawal(alice.owner, 1_000_000)
    assert world.state.get(withdrawal_key(1)) == Withdrawal(alice.owner, 2_500_000)
    glob = world.state.globals()
    assert (glob.next_withdrawal_id, glob.total_withdrawals) == (2, 3_500_000)
    assert world.state.account(alice.index).balance == usd(100) - 3_500_000


def test_forced_withdrawal_from_l1() -> None:
    """Forced txs: the L1 sender must be the owner, no signature, nonce 0."""
    world = make_world()
    alice = world.add_trader("alice", 100)
    stranger = private_key_address(key_from_label("stranger"))
    reject(world, Withdraw(alice.index, usd(1), 0), "Unauthorized", 13009, l1=True, sender=stranger)
    reject(world, Withdraw(alice.index, usd(1), 1), "BadNonce", 11029, l1=True, sender=alice.owner)
    signed = world.owner_signed(Withdraw, alice, account=alice.index, amount=usd(1), nonce=0)
    reject(world, signed, "Unauthorized", 13009, l1=True, sender=alice.owner)
    assert world.l1(Withdraw(alice.index, usd(1), 0), alice.owner).ok
    assert world.state.account(alice.index).balance == usd(99)
    assert world.state.account(alice.index).tx_nonce == 1


def test_insurance_fund_moves_money_only_through_governance() -> None:
    world = make_world()
    governance = private_key_address(world.governance_key)
    assert world.deposit(governance, usd(10)).ok
    alice = world.add_trader("alice", 1)
    fund = Trader("fund", 0, world.governance_key, world.governance_key)
    tx = world.owner_signed(Withdraw, fund, account=0, amount=1, nonce=0)
    reject(world, tx, "Unauthorized", 13009)
    tx = world.owner_signed(Transfer, fund, sender=0, recipient=alice.index, amount=1, nonce=0)
    reject(world, tx, "Unauthorized", 13009)


def test_settle_account_is_permissionless_and_checks_the_account() -> None:
    world = make_world()
    alice = world.add_trader("alice", 1)
    root = world.state.root()
    assert world.l2(SettleAccount(alice.index)).ok  # nothing to settle
    assert world.state.root() == root
    reject(world, SettleAccount(77), "UnknownAccount", 10004)
