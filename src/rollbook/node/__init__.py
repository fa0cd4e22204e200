"""The node: sequencer side services (the full node comes with #6)."""
