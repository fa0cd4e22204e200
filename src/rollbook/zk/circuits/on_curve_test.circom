pragma circom 2.1.0;

// A test circuit for OnCurveIfEnabled: the public input is Poseidon(x, y, enabled).

include "poseidon.circom";
include "signed.circom";

template OnCurveTest() {
    signal input enabled;
    signal input x;
    signal input y;
    signal output claim;
    component check = OnCurveIfEnabled();
    check.enabled <== enabled;
    check.x <== x;
    check.y <== y;
    component hash = Poseidon(3);
    hash.inputs[0] <== x;
    hash.inputs[1] <== y;
    hash.inputs[2] <== enabled;
    claim <== hash.out;
}

component main = OnCurveTest();
