"""Fixed-width big-endian fields: a bounds-checked reader and the matching writers.

Every field of the compact codec has a width known from the bytes read before it, so
a decoder is a straight sequence of reads (what an on-chain decoder does with
``slice`` and ``convert``). The reader never raises anything but a
:class:`~rollbook.codec.errors.DecodeError`.
"""

from __future__ import annotations

from rollbook.codec.errors import Oversized, Truncated


class Reader:
    """A cursor over ``data``; each read checks the bytes are there."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def raw(self, n: int, what: str) -> bytes:
        """The next ``n`` bytes; raises :class:`Truncated` if fewer are left."""
        end = self.pos + n
        if end > len(self.data):
            raise Truncated(
                f"{what}: needs {n} bytes at offset {self.pos}, "
                f"only {len(self.data) - self.pos} left"
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def uint(self, n: int, what: str) -> int:
        """An unsigned big-endian integer of ``n`` bytes."""
        return int.from_bytes(self.raw(n, what), "big")

    def left(self) -> int:
        return len(self.data) - self.pos

    def finish(self, what: str) -> None:
        """Raise :class:`Oversized` if bytes are left after the last field."""
        if self.pos != len(self.data):
            raise Oversized(f"{what}: {len(self.data) - self.pos} unexpected bytes at the end")


def uint(value: int, n: int) -> bytes:
    """``value`` as ``n`` big-endian bytes (the caller has checked the range)."""
    return value.to_bytes(n, "big")
