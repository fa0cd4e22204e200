"""The base layer (#5): Vyper contracts compiled from source, and the L1 client."""
