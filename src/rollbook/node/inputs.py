"""What the sequencer accepts: its input records, and the signed requests that make them.

The sequencer is a deterministic machine over a sequence of inputs
(:mod:`rollbook.node.core`). Every input the service accepts is numbered, written to
the write-ahead log (:mod:`rollbook.node.wal`) and only then acknowledged, so a
restart that replays the log reaches the same books, the same blocks and the same
state root.

Only the trader's keys authorise trading: a new order carries its EIP-712 signature
(:class:`~rollbook.exchange.orders.Order`), and so do cancels. Two small structs
extend the signed vocabulary of docs/design/consensus.md section 2 for the off-chain
book (they never reach L1, since the book is not part of the state):

- ``Cancel(uint32 account,uint64 orderId)``: a cancel names one order id; ids are
  never reused, so replaying a cancel is harmless.
- ``CancelAll(uint32 account,uint16 instrument,uint64 timestampMs)`` (instrument 0 =
  every instrument): the timestamp must be newer than the account's previous
  cancel-all and within :data:`CANCEL_ALL_WINDOW_MS` of the sequencer's clock, so an
  old cancel-all cannot be replayed against newer orders.

Each record carries ``at_ms``, the service's wall clock when it accepted the input:
the core never reads a clock, it reads this field.
"""

from __future__ import annotations

import pickle
import struct
from dataclasses import dataclass

from rollbook.chain.l1 import L1Block
from rollbook.crypto.eip712 import type_hash, typed_digest
from rollbook.crypto.keccak import keccak256
from rollbook.crypto.secp256k1 import sign_digest
from rollbook.exchange.orders import Order, SignedOrder
from rollbook.exchange.txs import Tx
from rollbook.exchange.types import OrderFlags, Side

CANCEL_TYPEHASH = type_hash("Cancel(uint32 account,uint64 orderId)")
CANCEL_ALL_TYPEHASH = type_hash("CancelAll(uint32 account,uint16 instrument,uint64 timestampMs)")
CANCEL_ALL_WINDOW_MS = 60_000
LABEL_MAX = 64


def cancel_digest(separator: bytes, account: int, order_id: int) -> bytes:
    struct = keccak256(CANCEL_TYPEHASH + account.to_bytes(32, "big") + order_id.to_bytes(32, "big"))
    return typed_digest(separator, struct)


def cancel_all_digest(separator: bytes, account: int, instrument: int, timestamp_ms: int) -> bytes:
    struct = keccak256(
        CANCEL_ALL_TYPEHASH
        + account.to_bytes(32, "big")
        + instrument.to_bytes(32, "big")
        + timestamp_ms.to_bytes(32, "big")
    )
    return typed_digest(separator, struct)


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """A signed order for the book. ``replaces`` makes it an edit (Deribit's
    ``private/edit``): the named open order of the same account is cancelled and this
    one takes its place, atomically."""

    signed: SignedOrder
    label: str = ""
    replaces: int = 0


@dataclass(frozen=True, slots=True)
class CancelOrder:
    account: int
    order_id: int
    signature: bytes


@dataclass(frozen=True, slots=True)
class CancelAll:
    account: int
    instrument: int
    timestamp_ms: int
    signature: bytes


@dataclass(frozen=True, slots=True)
class SubmitTx:
    """Any other L2 tx: an owner tx (withdraw, transfer, keys, margin mode), a nonce
    floor, a settle-account, or an oracle report."""

    tx: Tx


@dataclass(frozen=True, slots=True)
class ObserveL1:
    """An L1 block the sequencer's L1 reader saw (deposits and forced txs in it)."""

    block: L1Block


@dataclass(frozen=True, slots=True)
class Tick:
    """Seal the open L2 block and open the next one at ``now`` (seconds)."""

    now: int


Input = PlaceOrder | CancelOrder | CancelAll | SubmitTx | ObserveL1 | Tick


@dataclass(frozen=True, slots=True)
class Record:
    """One input as logged: its sequence number, acceptance time and the input."""

    seq: int
    at_ms: int
    input: Input


_ORDER = struct.Struct(">BQQIHBQQIQHIB65sQH")  # kind, seq, at_ms, order fields, sig, ...
_PLACE = 1
_OTHER = 0


def encode_record(record: Record) -> bytes:
    """The log's bytes for a record (private to this node's storage).

    Orders, nearly every record, have a fixed binary layout (encoding one costs ~2 µs
    against ~60 µs for a pickle of the dataclasses); other inputs are pickled.
    """
    inp = record.input
    if isinstance(inp, PlaceOrder):
        o = inp.signed.order
        label = inp.label.encode()
        return (
            _ORDER.pack(
                _PLACE,
                record.seq,
                record.at_ms,
                *o.values(),
                inp.signed.signature,
                inp.replaces,
                len(label),
            )
            + inp.signed.digest
            + label
        )
    return bytes([_OTHER]) + pickle.dumps(record, protocol=5)


def decode_record(data: bytes) -> Record:
    if data[:1] == bytes([_PLACE]):
        fields = _ORDER.unpack_from(data)
        (
            _,
            seq,
            at_ms,
            account,
            instrument,
            side,
            price,
            size,
            fee,
            expiry,
            slot,
            nonce,
            flags,
            signature,
            replaces,
            label_len,
        ) = fields
        rest = data[_ORDER.size :]
        order = Order(
            account,
            instrument,
            Side(side),
            price,
            size,
            fee,
            expiry,
            slot,
            nonce,
            OrderFlags(flags),
        )
        signed = SignedOrder(order, signature, rest[:32])
        label = rest[32 : 32 + label_len].decode()
        return Record(seq, at_ms, PlaceOrder(signed, label, replaces))
    if data[:1] != bytes([_OTHER]):
        raise ValueError("the write-ahead log holds a record of an unknown kind")
    record = pickle.loads(data[1:])
    if not isinstance(record, Record):
        raise ValueError("the write-ahead log holds something that is not a record")
    return record


def sign_cancel(key: bytes, separator: bytes, account: int, order_id: int) -> bytes:
    return sign_digest(key, cancel_digest(separator, account, order_id))


def sign_cancel_all(
    key: bytes, separator: bytes, account: int, instrument: int, timestamp_ms: int
) -> bytes:
    return sign_digest(key, cancel_all_digest(separator, account, instrument, timestamp_ms))
