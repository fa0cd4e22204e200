pragma circom 2.1.0;

// A test circuit for arith.circom: the public input is Poseidon of the inputs and of
// every result, so a proof holds only for the results Python computes.

include "arith.circom";
include "poseidon.circom";

template ArithTest() {
    signal input a;
    signal input b;
    signal input d;
    signal output claim;

    component floor = FloorDiv(130, 100000000);
    floor.in <== a;
    component ceil = CeilDiv(130, 1000000);
    ceil.in <== a;
    component by = FloorDivBy(130, 64);
    by.in <== a;
    by.d <== d;
    component le = SignedLessEq(130);
    le.a <== a;
    le.b <== b;
    component sign = SignAbs(130);
    sign.in <== a;

    component hash = Poseidon(9);
    hash.inputs[0] <== a;
    hash.inputs[1] <== b;
    hash.inputs[2] <== d;
    hash.inputs[3] <== floor.q;
    hash.inputs[4] <== ceil.q;
    hash.inputs[5] <== by.q;
    hash.inputs[6] <== le.out;
    hash.inputs[7] <== sign.neg;
    hash.inputs[8] <== sign.abs;
    claim <== hash.out;
}

component main = ArithTest();
