"""The settlement state transition function (the spec). See docs/design/consensus.md."""
