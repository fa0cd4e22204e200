"""The compact codec: txs and batches on the wire (docs/design/batch.md).

One codec serves the sequencer's batcher, derivation, forced txs from L1 and the
one-step executor: there is no second parser.
"""
