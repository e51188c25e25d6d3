// The interface between the N-API binding and the per-CPU hashing code.
//
// Each implementation lives in its own static library compiled with its own
// ISA flags (see binding.gyp) and exports one `Kernels` table. The binding
// only calls a table after cpu_features says the CPU and OS support it, so
// the wide instructions never execute on a CPU without them.
//
// All functions are pure: they read their inputs and write only their
// outputs; no global mutable state, so any thread may call them. The
// multi-buffer tables (AVX2, AVX-512) leave the one-stream entries
// (transform, sha256d64, merkle_root) null: binding.cc pairs them with the
// best one-stream table.
#ifndef HEADFRAME_SHA256_KERNELS_H
#define HEADFRAME_SHA256_KERNELS_H

#include <cstddef>
#include <cstdint>

namespace headframe {

struct Kernels {
  const char* name;
  // Compresses `blocks` consecutive 64-byte blocks into `state` (FIPS 180-4
  // 6.2.2, no padding). `data` may be unaligned.
  void (*transform)(uint32_t state[8], const uint8_t* data, size_t blocks);
  // sha256d of a 64-byte message (one merkle node: left || right).
  void (*sha256d64)(uint8_t out[32], const uint8_t in[64]);
  // h = leaf; for each of the k 32-byte entries b of branch: h = sha256d(h || b).
  void (*merkle_root)(uint8_t out[32], const uint8_t leaf[32], const uint8_t* branch, size_t k);
  // sha256d of `n` consecutive 80-byte headers into `n` consecutive 32-byte
  // hashes. `out` must not overlap `in`.
  void (*sha256d80)(uint8_t* out, const uint8_t* in, size_t n);
  // Scans nonces start .. start + count - 1 (count <= 2^32 - start) of an
  // 80-byte header from its midstate; writes, ascending, at most `max_found`
  // nonces whose sha256d <= target (32 bytes little-endian) into `found` and
  // returns how many it wrote. `header` is not modified.
  size_t (*scan)(const uint8_t header[80], uint32_t start, uint64_t count, const uint8_t target[32],
                 uint32_t* found, size_t max_found);
  // How many independent streams one pass of sha256d80/scan hashes at once
  // (1 generic, 2 SHA-NI, 8 AVX2, 16 AVX-512).
  unsigned lanes;
};

extern const Kernels kGenericKernels;
#if defined(HEADFRAME_X86)
extern const Kernels kShaniKernels;
extern const Kernels kAvx2Kernels;
extern const Kernels kAvx512Kernels;
#endif

}  // namespace headframe

#endif  // HEADFRAME_SHA256_KERNELS_H
