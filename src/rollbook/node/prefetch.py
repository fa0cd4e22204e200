"""Parallel signature work for the STF: order digests and signer recovery.

The STF recovers an order's signer at the order's first use of its slot (~75 µs of
libsecp256k1 here) and hashes every order (EIP-712). Both are pure functions of the
tx bytes, so a node may compute them ahead, in worker processes, while the main
process applies the previous chunk; the results go into the tx env's
:class:`~rollbook.exchange.env.SignatureCache`, which the STF consults before doing
the work itself. A wrong or missing entry cannot change an outcome: the cache holds
only values of :func:`recover_address` and :meth:`Order.digest`, and a miss is
computed in place. ``bench/stf.py`` checks the fast path's root against the readable
path's on every run, and ``tests/node/test_prefetch.py`` in the test suite.

The workers are forked with the txs already in memory (as a node's workers would hold
the batch bytes they decode), so only slice bounds go out and one bytes blob of
52-byte records (digest, signer) comes back: nothing is pickled per order, and the main
process spends its time in the STF rather than in (un)pickling.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from rollbook.crypto.secp256k1 import SignatureError, recover_address
from rollbook.exchange.env import SignatureCache
from rollbook.exchange.orders import Order, SignedOrder
from rollbook.exchange.txs import Fill, Liquidate, Tx

RECORD = 52
NO_SIGNER = bytes(20)

_TXS: Sequence[Tx] = ()


def signed_orders(txs: Iterable[Tx]) -> Iterator[SignedOrder]:
    """The signed orders that txs carry, in order."""
    for tx in txs:
        if isinstance(tx, Fill):
            yield tx.maker
            yield tx.taker
        elif isinstance(tx, Liquidate):
            yield tx.maker


def unique_orders(txs: Iterable[Tx]) -> list[SignedOrder]:
    """Each signed order once, at its first appearance."""
    seen: set[Order] = set()
    out = []
    for signed in signed_orders(txs):
        if signed.order not in seen:
            seen.add(signed.order)
            out.append(signed)
    return out


def work(start: int, end: int, separator: bytes) -> bytes:
    """Worker: digest and signer of each unique order of ``_TXS[start:end]``."""
    out = bytearray()
    for signed in unique_orders(_TXS[start:end]):
        digest = signed.order.digest(separator)
        try:
            signer = recover_address(digest, signed.signature)
        except SignatureError:
            signer = NO_SIGNER
        out += digest + signer
    return bytes(out)


class SignaturePrefetcher:
    """Worker processes that fill a :class:`SignatureCache` ahead of the STF."""

    def __init__(self, separator: bytes, txs: Sequence[Tx], workers: int = 2) -> None:
        global _TXS
        _TXS = txs  # inherited by the forked workers
        self.separator = separator
        self.txs = txs
        context = multiprocessing.get_context("fork")
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        self.workers = workers

    def submit(self, start: int, end: int) -> list[tuple[int, int, Future[bytes]]]:
        """Queue ``txs[start:end]``, split across the workers."""
        step = max(1, -(-(end - start) // self.workers))
        return [
            (
                lo,
                min(lo + step, end),
                self.pool.submit(work, lo, min(lo + step, end), self.separator),
            )
            for lo in range(start, end, step)
        ]

    def collect(self, pending: list[tuple[int, int, Future[bytes]]], cache: SignatureCache) -> None:
        """Wait for queued work and put its results in ``cache``."""
        for lo, hi, future in pending:
            blob = future.result()
            for i, signed in enumerate(unique_orders(self.txs[lo:hi])):
                record = blob[i * RECORD : (i + 1) * RECORD]
                digest, signer = record[:32], record[32:]
                cache.digests[signed.order] = digest
                if signer != NO_SIGNER:
                    cache.signers[digest + signed.signature] = signer

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> SignaturePrefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
