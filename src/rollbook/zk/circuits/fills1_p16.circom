pragma circom 2.1.0;

// FillBatch of 1 fill slots at 16 positions per account and 32 instruments.

include "batch.circom";

component main = FillBatch(1, 16, 32);
