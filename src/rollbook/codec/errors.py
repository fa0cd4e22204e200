"""Why bytes could not be decoded (or a tx could not be encoded).

Decoding is the first thing a node does with data it did not write: a batch from the
L1 inbox, a forced tx from L1 calldata. Every failure is a :class:`DecodeError`
subclass with a message that names the offset and the field, so a batch that cannot be
decoded is skipped whole (docs/design/batch.md, "invalid batches") and the node keeps
serving. Decoding never raises anything else: any other exception is a bug.
"""

from __future__ import annotations

from rollbook.exchange.errors import ExchangeError


class DecodeError(ExchangeError):
    """The bytes are not a valid encoding."""


class Truncated(DecodeError):
    """The data ends before a field it must contain."""


class Oversized(DecodeError):
    """The data is longer than the format allows (or has bytes left over)."""


class UnknownKind(DecodeError):
    """A tag byte names no known tx kind, version or variant."""


class NonCanonical(DecodeError):
    """A value is encoded in a form the encoder would never produce.

    The codec is canonical (``encode(decode(b)) == b``), so one tx has one encoding
    and one batch one data hash.
    """


class BadReference(DecodeError):
    """An order reference points outside the batch's order table, or a field is
    inconsistent with what it refers to."""


class OutOfOrder(DecodeError):
    """Blocks or entries are not in the required order (numbers, timestamps, origins)."""


class EncodeError(ExchangeError):
    """A tx cannot be put on the wire (e.g. a high-s signature has no compact form)."""
