#include "CFuzzer.h"

// Each fuzz executable defines LLVMFuzzerTestOneInput (in Swift, with @_cdecl).
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int blocksmith_fuzz_main(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}
