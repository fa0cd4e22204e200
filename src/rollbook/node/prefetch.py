"""Parallel signature work for the STF: order digests and signer recovery.

The STF recovers an order's signer at the order's first use of its slot (~75 µs of
libsecp256k1 here) and hashes every order (EIP-712). Both are pure functions of the
tx bytes, so a node may compute them ahead, in worker processes, while the main
process applies the previous chunk; the results go into the tx env's
:class:`~rollbook.exchange.env.SignatureCache`, which the STF consults before doing
the work itself. A wrong or missing entry cannot change an outcome: the cache holds
only values of :func:`recover_address` and :meth:`Order.digest`, and a miss is
computed in place. ``tests/node/test_prefetch.py`` checks the fast path against the
readable path, root for root.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from rollbook.crypto.secp256k1 import SignatureError, recover_address
from rollbook.exchange.env import SignatureCache
from rollbook.exchange.orders import Order, SignedOrder
from rollbook.exchange.txs import Fill, Liquidate, Tx

Job = tuple[Order, bytes]
Result = tuple[bytes, bytes | None]


def signed_orders(txs: Iterable[Tx]) -> Iterator[SignedOrder]:
    """The signed orders that txs carry, in order."""
    for tx in txs:
        if isinstance(tx, Fill):
            yield tx.maker
            yield tx.taker
        elif isinstance(tx, Liquidate):
            yield tx.maker


def work(jobs: Sequence[Job], separator: bytes) -> list[Result]:
    """Worker: digest each order and recover its signer (``None`` if it does not)."""
    out: list[Result] = []
    for order, signature in jobs:
        digest = order.digest(separator)
        try:
            out.append((digest, recover_address(digest, signature)))
        except SignatureError:
            out.append((digest, None))
    return out


class SignaturePrefetcher:
    """A pool of worker processes that fills a :class:`SignatureCache` ahead of the STF."""

    def __init__(self, separator: bytes, workers: int = 2) -> None:
        self.separator = separator
        context = multiprocessing.get_context("fork")
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        self.workers = workers
        self._seen: set[Order] = set()

    def submit(self, txs: Sequence[Tx]) -> list[tuple[list[Job], Future[list[Result]]]]:
        """Queue the new orders of ``txs``, split across the workers."""
        jobs: list[Job] = []
        for signed in signed_orders(txs):
            if signed.order not in self._seen:
                self._seen.add(signed.order)
                jobs.append((signed.order, signed.signature))
        size = max(1, -(-len(jobs) // self.workers))
        parts = [jobs[i : i + size] for i in range(0, len(jobs), size)]
        return [(part, self.pool.submit(work, part, self.separator)) for part in parts]

    @staticmethod
    def collect(
        pending: list[tuple[list[Job], Future[list[Result]]]], cache: SignatureCache
    ) -> None:
        """Wait for queued work and put its results in ``cache``."""
        for jobs, future in pending:
            for (order, signature), (digest, signer) in zip(jobs, future.result(), strict=True):
                cache.digests[order] = digest
                if signer is not None:
                    cache.signers[digest + signature] = signer

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> SignaturePrefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
