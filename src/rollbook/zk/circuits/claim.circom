pragma circom 2.1.0;

// A batch's public input (rollbook.zk.claim):
// claim = sha256(old_root || new_root || sha256(data)) mod r.

include "bitify.circom";
include "sha256/sha256.circom";

// A field element's 256 bits, most significant first (its 32-byte big-endian form);
// Num2Bits_strict makes the encoding canonical (below r).
template FieldBitsBE() {
    signal input in;
    signal output out[256];
    component bits = Num2Bits_strict();
    bits.in <== in;
    out[0] <== 0;
    out[1] <== 0;
    for (var i = 0; i < 254; i++) {
        out[2 + i] <== bits.out[253 - i];
    }
}

// n bytes, each range-checked, as 8n bits, most significant bit of the first byte first.
template BytesBitsBE(n) {
    signal input in[n];
    signal output out[8 * n];
    component bits[n];
    for (var i = 0; i < n; i++) {
        bits[i] = Num2Bits(8);
        bits[i].in <== in[i];
        for (var j = 0; j < 8; j++) {
            out[8 * i + j] <== bits[i].out[7 - j];
        }
    }
}

// The claim over data given as bits (most significant first).
template ClaimOfBits(bits) {
    signal input old_root;
    signal input new_root;
    signal input data[bits];
    signal output claim;

    component data_hash = Sha256(bits);
    data_hash.in <== data;
    component old_bits = FieldBitsBE();
    old_bits.in <== old_root;
    component new_bits = FieldBitsBE();
    new_bits.in <== new_root;
    component outer = Sha256(768);
    for (var i = 0; i < 256; i++) {
        outer.in[i] <== old_bits.out[i];
        outer.in[256 + i] <== new_bits.out[i];
        outer.in[512 + i] <== data_hash.out[i];
    }

    // the digest as a number, mod r: the field does the reduction
    var sum = 0;
    var power = 1;
    for (var i = 255; i >= 0; i--) {
        sum += outer.out[i] * power;
        power *= 2;
    }
    claim <== sum;
}

template BatchClaim(n) {
    signal input old_root;
    signal input new_root;
    signal input data[n];
    signal output claim;

    component data_bits = BytesBitsBE(n);
    data_bits.in <== data;
    component hash = ClaimOfBits(8 * n);
    hash.old_root <== old_root;
    hash.new_root <== new_root;
    hash.data <== data_bits.out;
    claim <== hash.claim;
}
