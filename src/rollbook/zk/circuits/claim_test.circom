pragma circom 2.1.0;

// A test circuit for BatchClaim over 40 bytes of data.

include "claim.circom";

component main = BatchClaim(40);
