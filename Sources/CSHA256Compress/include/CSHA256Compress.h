#ifndef CSHA256_COMPRESS_H
#define CSHA256_COMPRESS_H
#include <stddef.h>
#include <stdint.h>

/// BoringSSL's SHA256_TransformBlocks (openssl/sha.h), under the name swift-crypto's
/// vendored copy gives it: runs the SHA-256 compression function over `num_blocks` 64-byte
/// blocks, updating the eight state words in place. It picks the CPU's SHA instructions
/// (SHA-NI), AVX or SSSE3 code at run time. Linked in through swift-crypto's Crypto product;
/// a build against a swift-crypto that renames it fails at link time, not at run time.
void CCryptoBoringSSL_SHA256_TransformBlocks(uint32_t state[8], const uint8_t *data, size_t num_blocks);

#endif
