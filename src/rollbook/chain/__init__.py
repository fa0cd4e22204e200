"""The L2 chain: blocks, output roots, and derivation from L1 (pure: no I/O, no clock)."""
