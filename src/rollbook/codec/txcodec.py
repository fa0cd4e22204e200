"""The compact tx codec: one byte string per tx, fixed-width fields, no compressor.

The layout of every kind is in docs/design/batch.md; this module is its executable
form. Three ideas make fills small without a general-purpose compressor (which the
one-step executor of #7 could not run on-chain, and a circuit could not prove):

- **Prices in ticks, sizes in lots.** A batch carries an instrument table
  ``(id, tick, lot)``; a *narrow* order writes its price as ``u32`` ticks and its size
  as ``u24`` lots of that table, its expiry as a ``u24`` offset from the batch's first block's
  timestamp, its account and nonce as ``u24``. An order whose values do not fit is
  written *wide* (raw ``u64`` values). The encoder always picks narrow when it fits,
  and the decoder refuses a wide order that would have fit.
- **Orders by reference.** A *repeat* fill of an order (its slot already holds it)
  needs no signature: the STF proves it by the slot's stored hash and signer and
  never re-verifies the signature (consensus spec, section 3), so the sequencer
  strips it (:func:`rollbook.chain.sequencer.strip_repeats`) and a repeat carries
  :data:`NO_SIGNATURE`. Within a batch, a repeat of an order written earlier is a
  ``u16`` *reference* to the part that wrote it: ``item << 1 | part`` (the batch's
  item index, 0 for a maker part, 1 for a taker part; a maker fills twice on
  average); a repeat of an order from an earlier batch is written *resumed*: its
  fields, no signature. If its slot does not hold it after all, the STF refuses it as
  unsigned. A reference names an item, not a running order table, so each item
  decodes on its own from the items it names (the one-step executor of #7 decodes one
  item on-chain): a part is referable when it is a new or resumed order that decodes,
  and, for a taker part, when its own maker part is not itself a reference (so a
  reference never leads to another).
- **EIP-2098 signatures.** 64 bytes, ``r || yParity·2²⁵⁵ + s``; the codec decodes ``v``
  as 27 or 28 (the one form it produces).
- **ZK orders** (docs/design/zk.md, "Keys"): a fill whose orders are ZK mode's sets
  :data:`FILL_ZK` (a bit optimistic fills leave clear), a liquidation
  :data:`LIQUIDATION_ZK` in its mode byte. Their new orders carry the 96-byte EdDSA
  signature as it is (``pack(A) || pack(R8) || S``: the STF checks it), and their
  digests, resumed orders' included, are :meth:`Order.zk_digest`. A reference names a
  part of its own mode. Only a ZK context (``TxContext.zk``) writes or reads them: in
  an optimistic one the bits stay reserved, so optimistic encodings, and what an
  optimistic decoder (and the one-step executor) refuses, are unchanged byte for byte.

A taker inherits its instrument from the maker and its side is the maker's opposite,
so neither is written; a taker whose limit is the maker's price (a marketable order at
the touch) sets a flag instead of writing its price. A fill whose size is the taker's
whole size sets a flag instead of writing it (a taker order fills once on average).

Everything decoded goes through the txs' own validating constructors; a field they
refuse makes the bytes undecodable (:class:`InvalidTx`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from rollbook.codec.errors import (
    BadReference,
    DecodeError,
    EncodeError,
    NonCanonical,
    UnknownKind,
)
from rollbook.codec.wire import Reader, uint
from rollbook.crypto.eddsa import SIGNATURE_SIZE as ZK_SIGNATURE_SIZE
from rollbook.exchange.errors import ExchangeError
from rollbook.exchange.leaves import Instrument, InstrumentKind, encode_value
from rollbook.exchange.orders import Order, SignedOrder
from rollbook.exchange.txs import (
    Backstop,
    Deposit,
    Fill,
    ForcedClose,
    Liquidate,
    ListInstrument,
    ListOptionChain,
    NonceFloor,
    OracleUpdate,
    RegisterKey,
    RevokeKey,
    SetInstrumentParams,
    SetMarginMode,
    SetOracle,
    SetRiskParams,
    SettleAccount,
    Transfer,
    Tx,
    Unreadable,
    Withdraw,
)
from rollbook.exchange.types import OrderFlags, Side

SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
NO_SIGNATURE = bytes(64) + b"\x1b"
"""The signature a *resumed* order decodes with: it proves nothing, so the STF accepts
the order only as a repeat fill of the order its slot already holds."""

MAX_REFERABLE_ITEMS = 1 << 15
"""A reference is ``item << 1 | part`` in a ``u16``: items past 32,767 are not referable."""
T = TypeVar("T")


class InvalidTx(DecodeError):
    """The fields decode but the tx's own constructor refuses them."""


# -- kinds -----------------------------------------------------------------------------

FILL_BIT = 0x80
UNSIGNED_BIT = 0x40  # owner-signed kinds: set when the tx carries no signature (L1 origin)

K_WITHDRAW = 0x01
K_TRANSFER = 0x02
K_REGISTER_KEY = 0x03
K_REVOKE_KEY = 0x04
K_NONCE_FLOOR = 0x05
K_SET_MARGIN_MODE = 0x06
K_SETTLE_ACCOUNT = 0x07
K_BACKSTOP = 0x08
K_LIQUIDATE = 0x09
K_ORACLE = 0x0A
K_DEPOSIT = 0x0B
K_LIST_INSTRUMENT = 0x0C
K_LIST_OPTION_CHAIN = 0x0D
K_SET_INSTRUMENT_PARAMS = 0x0E
K_SET_ORACLE = 0x0F
K_SET_RISK_PARAMS = 0x10
K_FORCED_CLOSE = 0x11

# Order modes inside a fill or liquidation.
NEW, REF, RESUMED = 0, 1, 2
FILL_ZK = 0x01  # a fill's orders are ZK mode's (96-byte signatures, Poseidon digests)
LIQUIDATION_ZK = 0x04  # the same, in a liquidation's mode byte

# The order head byte: bit 0 is the side for a maker and "at the maker's price" for a
# taker (whose side is implied); flags (bits 1-4); wide (bit 5).
HEAD_SIDE = 0x01
HEAD_AT_MAKER_PRICE = 0x01
HEAD_FLAGS_SHIFT = 1
HEAD_WIDE = 0x20
HEAD_ALLOWED = 0x3F


# -- context ---------------------------------------------------------------------------


@dataclass
class TxContext:
    """What a tx's encoding is relative to: the batch's tables and its time (its first
    block's timestamp, from which a narrow expiry is an offset).

    ``instruments`` maps an instrument id to ``(table index, tick, lot)``. ``item`` is
    the index of the batch item being read or written; ``parts`` maps a reference
    (``item << 1 | part``) to the order that part wrote, and ``refs`` an order's digest
    to its first reference (the encoder's choice). A standalone encoding (one tx on its
    own, e.g. for a block's tx root or a forced tx) uses an empty context: no table, so
    every order is wide and nothing is a reference.
    """

    domain_separator: bytes
    timestamp: int = 0
    zk: bool = False
    """A ZK deployment's context: fills and liquidations of ZK orders are allowed."""
    instruments: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    table: list[int] = field(default_factory=list)
    item: int = 0
    parts: dict[int, SignedOrder] = field(default_factory=dict)
    refs: dict[bytes, int] = field(default_factory=dict)
    zk_parts: set[int] = field(default_factory=set)
    """The references of parts that are ZK orders (a reference keeps to its mode)."""

    @classmethod
    def standalone(cls, domain_separator: bytes, timestamp: int = 0, zk: bool = False) -> TxContext:
        return cls(domain_separator, timestamp, zk)

    def register(self, signed: SignedOrder, part: int, zk: bool = False) -> None:
        """Part ``part`` of the current item wrote ``signed`` (a ZK order if ``zk``):
        later items may name it."""
        if self.item >= MAX_REFERABLE_ITEMS:
            return
        ref = self.item << 1 | part
        self.parts[ref] = signed
        self.refs.setdefault(signed.digest, ref)
        if zk:
            self.zk_parts.add(ref)

    def digest(self, order: Order, zk: bool) -> bytes:
        """``order``'s digest in this context's domain: Poseidon for a ZK order."""
        if zk:
            return order.zk_digest(self.domain_separator)
        return order.digest(self.domain_separator)


# -- signatures ------------------------------------------------------------------------


def encode_signature(signature: bytes) -> bytes:
    """65-byte ``r || s || v`` to EIP-2098's 64 bytes; raises :class:`EncodeError`."""
    if len(signature) != 65:
        raise EncodeError("a signature must be 65 bytes")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    parity = v - 27 if v >= 27 else v
    if parity not in (0, 1) or s > SECP256K1_HALF_N:
        raise EncodeError("only low-s signatures with v in {0, 1, 27, 28} have a compact form")
    return signature[:32] + uint(s | (parity << 255), 32)


def decode_signature(reader: Reader) -> bytes:
    """Read an EIP-2098 signature; a high ``s`` has no compact form and is refused."""
    raw = reader.raw(64, "signature")
    word = int.from_bytes(raw[32:], "big")
    parity = word >> 255
    s = word & ((1 << 255) - 1)
    if s > SECP256K1_HALF_N:
        raise NonCanonical("signature s is in the high half (only low-s signatures are valid)")
    return raw[:32] + uint(s, 32) + bytes([27 + parity])


def unsigned(signature: bytes) -> bool:
    """True for the empty signature (r = s = 0, either ``v``): a repeat fill's."""
    return len(signature) == len(NO_SIGNATURE) and signature[:64] == NO_SIGNATURE[:64]


def is_zk_order(signed: SignedOrder, ctx: TxContext) -> bool:
    """Whether ``signed`` is a ZK order: its digest is the Poseidon one (an optimistic
    order's is checked first, so optimistic encoding costs what it did).

    Raises:
        EncodeError: the digest is neither of the order's in this domain (a ZK one
            only counts in a ZK context), or the signature's length is the other
            mode's.
    """
    if signed.digest == signed.order.digest(ctx.domain_separator):
        zk = False
    elif ctx.zk and signed.digest == signed.order.zk_digest(ctx.domain_separator):
        zk = True
    else:
        raise EncodeError("a signed order's digest does not match its fields and domain")
    if not unsigned(signed.signature) and (len(signed.signature) == ZK_SIGNATURE_SIZE) != zk:
        raise EncodeError("an order's signature is of the other mode than its digest")
    return zk


# -- orders ----------------------------------------------------------------------------


def _narrow(order: Order, ctx: TxContext) -> tuple[int, int, int] | None:
    """(table index, ticks, lots) if ``order`` fits the narrow layout, else None."""
    entry = ctx.instruments.get(order.instrument)
    if entry is None:
        return None
    index, tick, lot = entry
    delta = order.expiry - ctx.timestamp
    if (
        order.account >= 1 << 24
        or order.nonce >= 1 << 24
        or order.max_fee_ppm >= 1 << 16
        or not 0 <= delta < 1 << 24
        or order.price % tick
        or order.size % lot
        or order.price // tick >= 1 << 32
        or order.size // lot >= 1 << 24
    ):
        return None
    return index, order.price // tick, order.size // lot


def encode_order(signed: SignedOrder, ctx: TxContext, maker: Order | None) -> bytes:
    """An order's fields (no mode, no signature). ``maker`` is set for a taker.

    A taker inherits instrument and side from its maker, so they are not written; a
    taker whose limit is the maker's price (a marketable order at the touch) sets
    :data:`HEAD_AT_MAKER_PRICE` instead of writing its price.
    """
    order = signed.order
    if maker is not None and (order.instrument != maker.instrument or order.side == maker.side):
        raise EncodeError("a taker must trade the maker's instrument on the other side")
    narrow = _narrow(order, ctx)
    head = int(order.flags) << HEAD_FLAGS_SHIFT
    at_maker_price = maker is not None and order.price == maker.price
    if maker is None:
        head |= int(order.side)
    elif at_maker_price:
        head |= HEAD_AT_MAKER_PRICE
    if narrow is None:
        body = uint(order.account, 4)
        if maker is None:
            body += uint(order.instrument, 2)
        if not at_maker_price:
            body += uint(order.price, 8)
        body += (
            uint(order.size, 8)
            + uint(order.max_fee_ppm, 4)
            + uint(order.expiry, 8)
            + uint(order.slot, 2)
            + uint(order.nonce, 4)
        )
        return bytes([head | HEAD_WIDE]) + body
    index, ticks, lots = narrow
    body = uint(order.account, 3)
    if maker is None:
        body += uint(index, 1)
    if not at_maker_price:
        body += uint(ticks, 4)
    body += (
        uint(lots, 3)
        + uint(order.max_fee_ppm, 2)
        + uint(order.expiry - ctx.timestamp, 3)
        + uint(order.slot, 2)
        + uint(order.nonce, 3)
    )
    return bytes([head]) + body


def decode_order(
    reader: Reader, ctx: TxContext, maker: Order | None, signature: bool, zk: bool = False
) -> SignedOrder:
    """Read an order written by :func:`encode_order` (and its signature if ``signature``:
    96 raw bytes for a ZK order)."""
    head = reader.uint(1, "order head")
    if head & ~HEAD_ALLOWED:
        raise UnknownKind(f"order head {head:#04x} sets reserved bits")
    at_maker_price = maker is not None and bool(head & HEAD_AT_MAKER_PRICE)
    flags = (head >> HEAD_FLAGS_SHIFT) & 0x0F
    if head & HEAD_WIDE:
        account = reader.uint(4, "account")
        instrument = maker.instrument if maker is not None else reader.uint(2, "instrument")
        price = maker.price if at_maker_price and maker else reader.uint(8, "price")
        size = reader.uint(8, "size")
        max_fee = reader.uint(4, "max fee")
        expiry = reader.uint(8, "expiry")
    else:
        account = reader.uint(3, "account")
        if maker is not None:
            instrument = maker.instrument
            entry = ctx.instruments.get(instrument)
            if entry is None:
                raise BadReference(f"instrument {instrument} is not in the batch's table")
        else:
            index = reader.uint(1, "instrument index")
            if index >= len(ctx.table):
                raise BadReference(f"instrument index {index} is outside the batch's table")
            instrument = ctx.table[index]
            entry = ctx.instruments[instrument]
        _, tick, lot = entry
        price = maker.price if at_maker_price and maker else reader.uint(4, "price") * tick
        size = reader.uint(3, "size") * lot
        max_fee = reader.uint(2, "max fee")
        expiry = ctx.timestamp + reader.uint(3, "expiry")
    slot = reader.uint(2, "slot")
    nonce = reader.uint(4 if head & HEAD_WIDE else 3, "nonce")
    side = maker.side.opposite if maker is not None else Side(head & HEAD_SIDE)
    order = _build(
        Order,
        account,
        instrument,
        side,
        price,
        size,
        max_fee,
        expiry,
        slot,
        nonce,
        OrderFlags(flags),
    )
    fits = _narrow(order, ctx) is not None
    if head & HEAD_WIDE and fits:
        raise NonCanonical(f"order of account {account} is written wide but fits narrow")
    if not head & HEAD_WIDE and not fits:
        raise NonCanonical(f"order of account {account} is written narrow but does not fit")
    if maker is not None and not at_maker_price and price == maker.price:
        raise NonCanonical("a taker at the maker's price must set the flag, not write it")
    if not signature:
        sig = NO_SIGNATURE
    elif zk:
        sig = reader.raw(ZK_SIGNATURE_SIZE, "ZK signature")
    else:
        sig = decode_signature(reader)
    return SignedOrder(order, sig, ctx.digest(order, zk))


def encode_order_part(
    signed: SignedOrder, ctx: TxContext, maker: Order | None, zk: bool = False
) -> tuple[int, bytes]:
    """(mode, bytes) of an order inside a fill: a reference, resumed, or new.

    A signed order is always written new (with its signature), even if the batch
    wrote it before (its first fill may have been rejected). An unsigned order — a
    repeat fill, which the sequencer strips (``chain.sequencer.strip_repeats``) — is a
    2-byte reference when an earlier item wrote it, else resumed. The caller
    registers the part (:meth:`TxContext.register`) when it is referable.

    ``zk``: the order is a ZK order (:func:`is_zk_order`, which checked its digest).
    """
    if unsigned(signed.signature):
        ref = ctx.refs.get(signed.digest)
        if ref is not None and ref >> 1 < ctx.item:
            return REF, uint(ref, 2)
        return RESUMED, encode_order(signed, ctx, maker)
    signature = signed.signature if zk else encode_signature(signed.signature)
    return NEW, encode_order(signed, ctx, maker) + signature


def decode_order_part(
    reader: Reader, ctx: TxContext, mode: int, maker: Order | None, zk: bool = False
) -> SignedOrder:
    """Read an order part of the given mode; a reference decodes as a repeat (the
    referenced order's fields, no signature). A reference names a referable part of an
    earlier item, of its own mode (ZK or not); a referenced taker must trade its
    maker's instrument on the other side, as a written one does by construction."""
    if mode == REF:
        ref = reader.uint(2, "order reference")
        first = ctx.parts.get(ref) if ref >> 1 < ctx.item else None
        if first is None:
            raise BadReference(
                f"order reference {ref} (item {ref >> 1}, part {ref & 1}) names no "
                "referable order of an earlier item"
            )
        if (ref in ctx.zk_parts) != zk:
            raise BadReference(f"order reference {ref} names an order of the other mode")
        if maker is not None and (
            first.order.instrument != maker.instrument or first.order.side == maker.side
        ):
            raise BadReference(
                f"order reference {ref} as a taker must trade the maker's instrument on "
                "the other side"
            )
        return SignedOrder(first.order, NO_SIGNATURE, first.digest)
    if mode not in (NEW, RESUMED):
        raise UnknownKind(f"order mode {mode} is not new, reference or resumed")
    signed = decode_order(reader, ctx, maker, signature=mode == NEW, zk=zk)
    if mode == NEW and unsigned(signed.signature):
        raise NonCanonical("a new order cannot carry the empty signature")
    return signed


# -- fills and liquidations ------------------------------------------------------------


def encode_size(size: int, instrument: int, ctx: TxContext) -> tuple[bool, bytes]:
    """(wide, bytes) of a fill size: ``u24`` lots when the table allows, else ``u64``."""
    entry = ctx.instruments.get(instrument)
    if entry is not None and size % entry[2] == 0 and size // entry[2] < 1 << 24:
        return False, uint(size // entry[2], 3)
    return True, uint(size, 8)


def decode_size(reader: Reader, instrument: int, ctx: TxContext, wide: bool) -> int:
    if wide:
        size = reader.uint(8, "size")
        if encode_size(size, instrument, ctx)[0] is False:
            raise NonCanonical("a fill size that fits u24 lots must be written narrow")
        return size
    entry = ctx.instruments.get(instrument)
    if entry is None:
        raise BadReference(f"instrument {instrument} is not in the batch's table")
    return reader.uint(3, "size") * entry[2]


def encode_fill(tx: Fill, ctx: TxContext) -> bytes:
    zk = is_zk_order(tx.maker, ctx)
    if is_zk_order(tx.taker, ctx) != zk:
        raise EncodeError("a fill's maker and taker orders are of different modes")
    maker_mode, maker = encode_order_part(tx.maker, ctx, None, zk)
    taker_mode, taker = encode_order_part(tx.taker, ctx, tx.maker.order, zk)
    _register_parts(ctx, zk, maker_mode, tx.maker, taker_mode, tx.taker)
    whole = tx.size == tx.taker.order.size
    kind = FILL_BIT | maker_mode << 5 | taker_mode << 3 | int(whole) << 2
    if zk:
        kind |= FILL_ZK
    body = maker + taker
    if not whole:
        wide, size = encode_size(tx.size, tx.maker.order.instrument, ctx)
        kind |= int(wide) << 1
        body += size
    return bytes([kind]) + body


def _register_parts(
    ctx: TxContext,
    zk: bool,
    maker_mode: int,
    maker: SignedOrder,
    taker_mode: int | None = None,
    taker: SignedOrder | None = None,
) -> None:
    """Register the item's referable parts: a new or resumed maker; a new or resumed
    taker whose maker is not a reference."""
    if maker_mode != REF:
        ctx.register(maker, 0, zk)
        if taker is not None and taker_mode != REF:
            ctx.register(taker, 1, zk)


def decode_fill(kind: int, reader: Reader, ctx: TxContext) -> Fill:
    zk = bool(kind & FILL_ZK)
    if (zk and not ctx.zk) or (kind & 0x04 and kind & 0x02):
        raise UnknownKind(f"fill kind {kind:#04x} sets reserved bits")
    maker_mode, taker_mode = (kind >> 5) & 0x03, (kind >> 3) & 0x03
    maker = decode_order_part(reader, ctx, maker_mode, None, zk)
    if maker_mode != REF:
        ctx.register(maker, 0, zk)
    taker = decode_order_part(reader, ctx, taker_mode, maker.order, zk)
    if maker_mode != REF and taker_mode != REF:
        ctx.register(taker, 1, zk)
    if kind & 0x04:
        size = taker.order.size
    else:
        size = decode_size(reader, maker.order.instrument, ctx, bool(kind & 0x02))
        if size == taker.order.size:
            raise NonCanonical("a fill of the taker's whole size must set the whole flag")
    return _build(Fill, maker, taker, size)


def encode_liquidate(tx: Liquidate, ctx: TxContext) -> bytes:
    zk = is_zk_order(tx.maker, ctx)
    mode, maker = encode_order_part(tx.maker, ctx, None, zk)
    _register_parts(ctx, zk, mode, tx.maker)
    head = mode | (LIQUIDATION_ZK if zk else 0)
    return bytes([K_LIQUIDATE, head]) + uint(tx.account, 4) + uint(tx.size, 8) + maker


def decode_liquidate(reader: Reader, ctx: TxContext) -> Liquidate:
    head = reader.uint(1, "liquidation mode")
    zk = ctx.zk and bool(head & LIQUIDATION_ZK)
    mode = head & ~LIQUIDATION_ZK if zk else head
    if mode > RESUMED:
        raise UnknownKind(f"liquidation order mode {head} is unknown")
    account = reader.uint(4, "account")
    size = reader.uint(8, "size")
    maker = decode_order_part(reader, ctx, mode, None, zk)
    if mode != REF:
        ctx.register(maker, 0, zk)
    return _build(Liquidate, account, maker, size)


# -- owner txs (signed, or unsigned from L1) -------------------------------------------

# kind -> (tx type, field widths in declaration order; 20 = an address, 1 = u8 / bool)
OWNER_LAYOUTS: dict[int, tuple[type, tuple[tuple[str, int], ...]]] = {
    K_WITHDRAW: (Withdraw, (("account", 4), ("amount", 8), ("nonce", 4))),
    K_TRANSFER: (Transfer, (("sender", 4), ("recipient", 4), ("amount", 8), ("nonce", 4))),
    K_REGISTER_KEY: (
        RegisterKey,
        (("account", 4), ("key_index", 1), ("key", 20), ("nonce", 4)),
    ),
    K_REVOKE_KEY: (RevokeKey, (("account", 4), ("key_index", 1), ("nonce", 4))),
    K_NONCE_FLOOR: (NonceFloor, (("account", 4), ("floor", 4))),
    K_SET_MARGIN_MODE: (SetMarginMode, (("account", 4), ("portfolio", 1), ("nonce", 4))),
}
OWNER_KINDS = {layout[0]: kind for kind, layout in OWNER_LAYOUTS.items()}

# Unsigned kinds: (tx type, field widths); no signature ever.
PLAIN_LAYOUTS: dict[int, tuple[type, tuple[tuple[str, int], ...]]] = {
    K_SETTLE_ACCOUNT: (SettleAccount, (("account", 4),)),
    K_BACKSTOP: (Backstop, (("account", 4), ("instrument", 2))),
    K_DEPOSIT: (Deposit, (("deposit_id", 8), ("owner", 20), ("amount", 8))),
    K_FORCED_CLOSE: (ForcedClose, (("account", 4), ("instrument", 2))),
}
PLAIN_KINDS = {layout[0]: kind for kind, layout in PLAIN_LAYOUTS.items()}


def _encode_fields(tx: Any, layout: tuple[tuple[str, int], ...]) -> bytes:
    out = b""
    for name, width in layout:
        value = getattr(tx, name)
        if isinstance(value, bytes):
            out += value
        else:
            out += uint(int(value), width)
    return out


def _decode_fields(reader: Reader, layout: tuple[tuple[str, int], ...]) -> list[object]:
    values: list[object] = []
    for name, width in layout:
        if width == 20:
            values.append(reader.raw(20, name))
        elif name == "portfolio":
            flag = reader.uint(1, name)
            if flag > 1:
                raise NonCanonical("portfolio must be 0 or 1")
            values.append(flag == 1)
        else:
            values.append(reader.uint(width, name))
    return values


# -- oracle reports --------------------------------------------------------------------


def encode_oracle(tx: OracleUpdate) -> bytes:
    out = bytes([K_ORACLE]) + uint(tx.timestamp, 8)
    out += uint(len(tx.index_prices), 2) + uint(len(tx.marks), 2) + uint(len(tx.vols), 2)
    out += b"".join(uint(a, 2) + uint(p, 8) for a, p in tx.index_prices)
    out += b"".join(uint(i, 2) + uint(p, 8) for i, p in tx.marks)
    out += b"".join(uint(i, 2) + uint(v, 4) for i, v in tx.vols)
    out += uint(len(tx.signatures), 1) + b"".join(encode_signature(s) for s in tx.signatures)
    return out


def decode_oracle(reader: Reader) -> OracleUpdate:
    timestamp = reader.uint(8, "oracle timestamp")
    counts = [reader.uint(2, "oracle entry count") for _ in range(3)]
    if sum(counts) > 256:
        raise InvalidTx("an oracle report has at most 256 entries")
    widths = (8, 8, 4)
    lists = [
        tuple((reader.uint(2, "oracle id"), reader.uint(w, "oracle value")) for _ in range(n))
        for n, w in zip(counts, widths, strict=True)
    ]
    signatures = tuple(decode_signature(reader) for _ in range(reader.uint(1, "signer count")))
    return _build(OracleUpdate, timestamp, lists[0], lists[1], signatures, lists[2])


# -- governance (rare, exact, self-describing) -----------------------------------------

GOVERNANCE_KINDS: dict[type, int] = {
    ListInstrument: K_LIST_INSTRUMENT,
    ListOptionChain: K_LIST_OPTION_CHAIN,
    SetInstrumentParams: K_SET_INSTRUMENT_PARAMS,
    SetOracle: K_SET_ORACLE,
    SetRiskParams: K_SET_RISK_PARAMS,
}
GOVERNANCE_TYPES = {kind: tx_type for tx_type, kind in GOVERNANCE_KINDS.items()}
MAX_NESTING = 3


def _governance_fields(tx: Any) -> tuple[object, ...]:
    if isinstance(tx, ListInstrument):
        return (tuple(tx.instrument),)
    return tuple(getattr(tx, name) for name in tx.__dataclass_fields__)


def decode_value(reader: Reader, depth: int = 0) -> object:
    """Read one value written by :func:`rollbook.exchange.leaves.encode_value`."""
    tag = reader.uint(1, "value tag")
    if tag == 1:
        flag = reader.uint(1, "bool")
        if flag > 1:
            raise NonCanonical("a bool is 0 or 1")
        return flag == 1
    if tag == 2:
        return int.from_bytes(reader.raw(32, "int"), "big", signed=True)
    if tag in (3, 4):
        raw = reader.raw(reader.uint(4, "length"), "bytes")
        if tag == 3:
            return raw
        try:
            return raw.decode()
        except UnicodeDecodeError as exc:
            raise InvalidTx("text is not UTF-8") from exc
    if tag == 5:
        if depth >= MAX_NESTING:
            raise InvalidTx("values nest too deeply")
        count = reader.uint(4, "count")
        if count > reader.left():
            raise InvalidTx(f"a tuple of {count} items cannot fit in {reader.left()} bytes")
        return tuple(decode_value(reader, depth + 1) for _ in range(count))
    raise UnknownKind(f"value tag {tag} is unknown")


def decode_governance(kind: int, reader: Reader) -> Tx:
    tx_type = GOVERNANCE_TYPES[kind]
    values = decode_value(reader)
    if not isinstance(values, tuple):
        raise InvalidTx("a governance tx is a tuple of fields")
    if tx_type is ListInstrument:
        if len(values) != 1 or not isinstance(values[0], tuple):
            raise InvalidTx("a listing carries one instrument")
        fields = list(values[0])
        if len(fields) != len(Instrument._fields):
            raise InvalidTx(f"an instrument has {len(Instrument._fields)} fields")
        kind_index = Instrument._fields.index("kind")
        if type(fields[kind_index]) is not int:
            raise InvalidTx("an instrument's kind is an integer")
        try:
            fields[kind_index] = InstrumentKind(fields[kind_index])
        except (ValueError, TypeError) as exc:
            raise InvalidTx(f"unknown instrument kind {fields[kind_index]!r}") from exc
        return _build(ListInstrument, _build(Instrument, *fields))
    return cast(Tx, _build(tx_type, *values))


# -- one tx ----------------------------------------------------------------------------


def encode_tx(tx: Tx, ctx: TxContext) -> bytes:
    """The compact encoding of ``tx`` relative to ``ctx`` (which it updates).

    Raises :class:`EncodeError` for a tx with no encoding (a value beyond its field).
    """
    try:
        return _encode_tx(tx, ctx)
    except OverflowError as exc:
        raise EncodeError(f"{type(tx).__name__}: a value does not fit its field ({exc})") from exc


def _encode_tx(tx: Tx, ctx: TxContext) -> bytes:
    if isinstance(tx, Unreadable):
        return tx.data  # an item that did not decode is posted as it came
    if isinstance(tx, Fill):
        return encode_fill(tx, ctx)
    kind = OWNER_KINDS.get(type(tx))
    if kind is not None:
        signature: bytes | None = getattr(tx, "signature")  # noqa: B009
        body = _encode_fields(tx, OWNER_LAYOUTS[kind][1])
        if signature is None:
            return bytes([kind | UNSIGNED_BIT]) + body
        return bytes([kind]) + body + encode_signature(signature)
    kind = PLAIN_KINDS.get(type(tx))
    if kind is not None:
        return bytes([kind]) + _encode_fields(tx, PLAIN_LAYOUTS[kind][1])
    if isinstance(tx, Liquidate):
        return encode_liquidate(tx, ctx)
    if isinstance(tx, OracleUpdate):
        return encode_oracle(tx)
    kind = GOVERNANCE_KINDS.get(type(tx))
    if kind is not None:
        return bytes([kind]) + encode_value(_governance_fields(tx))
    raise EncodeError(f"no encoding for {type(tx).__name__}")


def decode_tx(reader: Reader, ctx: TxContext) -> Tx:
    """Read one tx at the reader's position; raises only :class:`DecodeError`."""
    kind = reader.uint(1, "tx kind")
    if kind & FILL_BIT:
        return decode_fill(kind, reader, ctx)
    base = kind & ~UNSIGNED_BIT
    if base in OWNER_LAYOUTS:
        tx_type, layout = OWNER_LAYOUTS[base]
        values = _decode_fields(reader, layout)
        signature = None if kind & UNSIGNED_BIT else decode_signature(reader)
        return cast(Tx, _build(tx_type, *values, signature))
    if kind in PLAIN_LAYOUTS:
        tx_type, layout = PLAIN_LAYOUTS[kind]
        return cast(Tx, _build(tx_type, *_decode_fields(reader, layout)))
    if kind == K_LIQUIDATE:
        return decode_liquidate(reader, ctx)
    if kind == K_ORACLE:
        return decode_oracle(reader)
    if kind in GOVERNANCE_TYPES:
        return decode_governance(kind, reader)
    raise UnknownKind(f"tx kind {kind:#04x} is unknown")


def encode_standalone(tx: Tx, domain_separator: bytes, zk: bool = False) -> bytes:
    """The context-free encoding of one tx (block tx roots, forced txs from L1); an
    unreadable L1 input or batch item is its own bytes. ``zk``: a ZK deployment's."""
    return encode_tx(tx, TxContext.standalone(domain_separator, zk=zk))


def decode_standalone(data: bytes, domain_separator: bytes, zk: bool = False) -> Tx:
    """Decode a context-free encoding; the whole of ``data`` must be one tx."""
    reader = Reader(data)
    tx = decode_tx(reader, TxContext.standalone(domain_separator, zk=zk))
    reader.finish("tx")
    return tx


def _build(factory: Callable[..., T], *values: object) -> T:
    """Call a validating constructor; its refusal makes the bytes undecodable."""
    try:
        return factory(*values)
    except DecodeError:
        raise
    except ExchangeError as exc:
        raise InvalidTx(exc.message) from exc
    except (TypeError, ValueError) as exc:
        raise InvalidTx(str(exc)) from exc
