// libFuzzer's driver (compiler-rt, LLVM 11+), for an executable whose main SwiftPM owns;
// libFuzzer provides LLVMFuzzerRunDriver at link time.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

// Runs libFuzzer's driver on the executable's LLVMFuzzerTestOneInput. SwiftPM names an
// executable's entry point `<Module>_main`; each fuzz target forwards it here.
int blocksmith_fuzz_main(int argc, char **argv);
