# pragma version 0.4.3
# pragma evm-version prague
"""
@title TraceStepper
@notice A test double of the one-step executor, for the bisection game's own tests
        only: it maps each checkpoint of a known honest trace to the next one (the
        real executor, #7, recomputes the step from the witness).
"""

following: public(HashMap[bytes32, bytes32])


@external
def set_next(pre: bytes32, post: bytes32):
    self.following[pre] = post


@view
@external
def execute(pre: bytes32, witness: Bytes[16384]) -> bytes32:
    post: bytes32 = self.following[pre]
    assert post != empty(bytes32), "TraceStepper: not a checkpoint of the trace"
    return post
