"""rollbook: a Layer-2 scaling stack for on-chain derivatives."""

__version__ = "0.1.0"
