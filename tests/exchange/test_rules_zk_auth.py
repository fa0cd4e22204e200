"""ZK mode's order authorisation (docs/design/zk.md, "Keys"; #8).

In ZK mode an account's trading keys are the key ids of Baby Jubjub keys and an order
is signed with EdDSA-Poseidon (96 bytes) over its Poseidon digest. A fill settles
exactly as in optimistic mode: the same leaves, apart from what names the key (the
account's keys, a slot's order hash and signer). Every refusal is typed and leaves
the state as it was (``helpers.reject``).
"""

from __future__ import annotations

from dataclasses import replace

from rollbook.chain.blocks import Mode
from rollbook.chain.derive import ChainConfig
from rollbook.codec.txcodec import NO_SIGNATURE
from rollbook.crypto import eddsa
from rollbook.crypto.eip712 import Domain
from rollbook.exchange.governance import MAX_POSITIONS_LIMIT
from rollbook.exchange.leaves import NO_KEY, Account, Globals, OrderSlot
from rollbook.exchange.orders import SignedOrder, sign_order, sign_order_zk
from rollbook.exchange.state import State
from rollbook.exchange.stf import Block, BlockTx, apply_block
from rollbook.exchange.txs import Fill, RevokeKey
from rollbook.exchange.types import Side
from rollbook.exchange.zkmode import ZK_POSITIONS
from rollbook.sim.world import TEST_DOMAIN, Trader, World, base, key_from_label, usd
from tests.exchange.helpers import conservation_holds, reject
from tests.exchange.test_rules_fills import make_world

BAD_SIGNATURE = ("BadSignature", 13009)
MALFORMED = ("MalformedTx", 11029)


def two_traders(world: World) -> tuple[Trader, Trader]:
    return world.add_trader("maker", 10_000), world.add_trader("taker", 10_000)


def trade(world: World) -> SignedOrder:
    """A fill, a repeat fill of the maker's order (no signature: its slot holds it), and
    a fill that closes part of the taker's position."""
    maker, taker = two_traders(world)
    ask = world.order(maker, Side.SELL, usd(2000), base(2))
    bid = world.order(taker, Side.BUY, usd(2001), base(1))
    assert world.l2(Fill(ask, bid, base(1))).ok
    repeat = SignedOrder(ask.order, NO_SIGNATURE, ask.digest)
    bid2 = world.order(taker, Side.BUY, usd(2000), base(1, 1))
    assert world.l2(Fill(repeat, bid2, base(1, 1))).ok
    world.advance(60)
    bid3 = world.order(maker, Side.BUY, usd(1999), base(5, 1))
    ask3 = world.order(taker, Side.SELL, usd(1990), base(3, 1))
    assert world.l2(Fill(bid3, ask3, base(3, 1))).ok
    assert conservation_holds(world)
    return ask


def apart_from_keys(state: State) -> dict[object, object]:
    """Every leaf, with what names a key blanked: the accounts' keys, the slots'
    order hashes and signers; and the genesis position bound, which differs by mode
    (``exchange.zkmode``)."""
    out: dict[object, object] = {}
    for key, leaf in state.items():
        if isinstance(leaf, Globals):
            leaf = leaf._replace(max_positions=0)
        elif isinstance(leaf, Account):
            leaf = leaf._replace(keys=())
        elif isinstance(leaf, OrderSlot):
            leaf = leaf._replace(order_hash=b"", signer=b"")
        out[key] = leaf
    return out


def test_a_zk_fill_settles_exactly_like_the_optimistic_one(fast: bool) -> None:
    optimistic, zk = make_world(fast), make_world(fast, zk=True)
    trade(optimistic)
    ask = trade(zk)
    assert apart_from_keys(zk.state) == apart_from_keys(optimistic.state)
    assert zk.state.root() != optimistic.state.root()  # the keys and hashes do differ
    assert zk.state.globals().max_positions == ZK_POSITIONS
    assert optimistic.state.globals().max_positions == MAX_POSITIONS_LIMIT
    maker = zk.traders["maker"]
    key = eddsa.seed_key_id(maker.trading_key)
    assert zk.state.account(maker.index).keys[0] == key
    slot = zk.state.slot(maker.index, 0)
    assert slot.signer == key and slot.filled == base(11, 1)
    assert slot.order_hash == ask.order.zk_digest(zk.separator) == ask.digest


def zk_setup(fast: bool) -> tuple[World, Trader, Trader, SignedOrder]:
    world = make_world(fast, zk=True)
    maker, taker = two_traders(world)
    return world, maker, taker, world.order(maker, Side.SELL, usd(2000), base(1))


def bid(world: World, taker: Trader) -> SignedOrder:
    return world.order(taker, Side.BUY, usd(2000), base(1))


def test_a_bad_signature_is_refused(fast: bool) -> None:
    world, _, taker, ask = zk_setup(fast)
    s = int.from_bytes(ask.signature[64:], "little")
    wrong_s = ask.signature[:64] + (s ^ 1).to_bytes(32, "little")
    reject(world, Fill(replace(ask, signature=wrong_s), bid(world, taker), base(1)), *BAD_SIGNATURE)
    # R8 replaced by the packing of y = 0 (whatever that decodes to, it does not verify)
    wrong_r = ask.signature[:32] + bytes(32) + ask.signature[64:]
    reject(world, Fill(replace(ask, signature=wrong_r), bid(world, taker), base(1)), *BAD_SIGNATURE)


def test_a_signature_by_an_unregistered_key_is_refused(fast: bool) -> None:
    world, maker, taker, ask = zk_setup(fast)
    stranger = sign_order_zk(ask.order, key_from_label("stranger"), world.separator)
    receipt = reject(world, Fill(stranger, bid(world, taker), base(1)), *BAD_SIGNATURE)
    assert "not signed by a trading key of its account" in receipt.message
    # the taker's own (registered) key is no key of the maker's account either
    theirs = sign_order_zk(ask.order, taker.trading_key, world.separator)
    reject(world, Fill(theirs, bid(world, taker), base(1)), *BAD_SIGNATURE)
    assert world.l2(Fill(ask, bid(world, taker), base(1))).ok
    assert world.state.slot(maker.index, ask.order.slot).signer == eddsa.seed_key_id(
        maker.trading_key
    )


def test_a_revoked_keys_orders_are_refused(fast: bool) -> None:
    world, maker, taker, ask = zk_setup(fast)
    assert world.l2(Fill(ask, bid(world, taker), base(3, 1))).ok
    revoke = world.owner_signed(RevokeKey, maker, account=maker.index, key_index=0, nonce=1)
    assert world.l2(revoke).ok
    assert world.state.account(maker.index).keys[0] == NO_KEY
    repeat = SignedOrder(ask.order, NO_SIGNATURE, ask.digest)
    receipt = reject(world, Fill(repeat, bid(world, taker), base(3, 1)), *BAD_SIGNATURE)
    assert "revoked" in receipt.message
    fresh = world.order(maker, Side.SELL, usd(2000), base(1))
    reject(world, Fill(fresh, bid(world, taker), base(1)), *BAD_SIGNATURE)


def test_a_signature_from_another_domain_is_refused(fast: bool) -> None:
    world, maker, taker, ask = zk_setup(fast)
    other = Domain(TEST_DOMAIN.name, TEST_DOMAIN.version, 1, TEST_DOMAIN.verifying_contract)
    foreign = sign_order_zk(ask.order, maker.trading_key, other.separator())
    # as signed there: its digest is not this domain's
    receipt = reject(world, Fill(foreign, bid(world, taker), base(1)), *MALFORMED)
    assert "digest does not match" in receipt.message
    # with this domain's digest: the signature does not verify
    relabelled = replace(foreign, digest=ask.digest)
    reject(world, Fill(relabelled, bid(world, taker), base(1)), *BAD_SIGNATURE)


def test_a_65_byte_signature_is_refused_in_zk_mode(fast: bool) -> None:
    world, maker, taker, ask = zk_setup(fast)
    # a secp256k1 signature of the ZK digest by a key whose address were registered
    ecdsa = sign_order(ask.order, maker.trading_key, world.separator)
    carried = SignedOrder(ask.order, ecdsa.signature, ask.digest)
    receipt = reject(world, Fill(carried, bid(world, taker), base(1)), *BAD_SIGNATURE)
    assert "ZK mode takes 96-byte" in receipt.message
    # the optimistic order as a whole: its digest is the EIP-712 one, not the ZK one
    reject(world, Fill(ecdsa, bid(world, taker), base(1)), *MALFORMED)


def test_a_96_byte_signature_is_refused_in_optimistic_mode(fast: bool) -> None:
    world = make_world(fast)
    maker, taker = two_traders(world)
    ask = world.order(maker, Side.SELL, usd(2000), base(1))
    zk = sign_order_zk(ask.order, maker.trading_key, world.separator)
    carried = SignedOrder(ask.order, zk.signature, ask.digest)
    receipt = reject(world, Fill(carried, bid(world, taker), base(1)), *BAD_SIGNATURE)
    assert "optimistic mode takes 65-byte" in receipt.message
    reject(world, Fill(zk, bid(world, taker), base(1)), *MALFORMED)


def test_a_tampered_order_field_is_refused(fast: bool) -> None:
    world, _, taker, ask = zk_setup(fast)
    cheaper = replace(ask.order, price=usd(1999))
    # the carried digest no longer matches the fields
    reject(world, Fill(replace(ask, order=cheaper), bid(world, taker), base(1)), *MALFORMED)
    # with the digest recomputed, the signature no longer verifies
    redigested = SignedOrder(cheaper, ask.signature, cheaper.zk_digest(world.separator))
    reject(world, Fill(redigested, bid(world, taker), base(1)), *BAD_SIGNATURE)
    for name, value in (("size", base(2)), ("max_fee_ppm", 5_000), ("nonce", 99), ("slot", 7)):
        tampered = replace(ask.order, **{name: value})
        forged = SignedOrder(tampered, ask.signature, tampered.zk_digest(world.separator))
        reject(world, Fill(forged, bid(world, taker), base(1)), *BAD_SIGNATURE)


def test_the_mode_reaches_the_stf_from_the_chains_configuration() -> None:
    """``ChainConfig.mode`` (fixed at genesis) is what derivation and the sequencer
    pass on; a block of ZK orders applies in ZK mode only."""
    assert ChainConfig(1, bytes(32), Mode.ZK).zk
    assert not ChainConfig(1, bytes(32)).zk
    for zk in (True, False):
        world, _, taker, ask = zk_setup(False)
        block = Block(1, world.now, (BlockTx(Fill(ask, bid(world, taker), base(1))),))
        (receipt,) = apply_block(world.state, block, world.separator, zk=zk)
        assert receipt.ok is zk, receipt
