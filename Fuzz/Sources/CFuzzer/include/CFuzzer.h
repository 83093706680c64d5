// libFuzzer's driver (compiler-rt, LLVM 11+), for an executable whose main SwiftPM owns.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
