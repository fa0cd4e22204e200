pragma circom 2.1.0;

// FillBatch of 2 fill slots at 8 positions per account and 16 instruments.

include "batch.circom";

component main = FillBatch(2, 8, 16);
