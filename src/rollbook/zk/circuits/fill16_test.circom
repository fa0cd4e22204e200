pragma circom 2.1.0;

// FillTest at 16 positions per account and 16 instruments.

include "fill.circom";

component main = FillTest(16, 16);
