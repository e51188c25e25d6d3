// Portable implementation: compiled without ISA flags, runs on any CPU and
// on any architecture. It is the N = 1 instance of the lane template
// (sha256_lanes.h), so it shares the constant folding, midstate and early
// exit of the vector scanners; the compiler keeps the 8 state words in
// registers.
#include "sha256_kernels.h"
#include "sha256_lanes.h"

namespace headframe {
namespace {

struct ScalarOps {
  using V = uint32_t;
  static constexpr unsigned kLanes = 1;
  static HF_INLINE V set1(uint32_t x) { return x; }
  static HF_INLINE V add(V a, V b) { return a + b; }
  static HF_INLINE V bsig0(V x) { return headframe::bsig0(x); }
  static HF_INLINE V bsig1(V x) { return headframe::bsig1(x); }
  static HF_INLINE V ssig0(V x) { return headframe::ssig0(x); }
  static HF_INLINE V ssig1(V x) { return headframe::ssig1(x); }
  static HF_INLINE V ch(V e, V f, V g) { return ch32(e, f, g); }
  static HF_INLINE V maj(V a, V b, V c) { return maj32(a, b, c); }
  static HF_INLINE V load_be(const uint8_t* base, const int32_t* lane_offsets, size_t off) {
    return load_be32(base + lane_offsets[0] + off);
  }
  static HF_INLINE void store(uint32_t* dst, V v) { dst[0] = v; }
  static HF_INLINE V bswap(V v) { return bswap32(v); }
  static HF_INLINE V nonce_be(uint32_t base) { return bswap32(base); }
  static HF_INLINE uint32_t le_mask(V h7, uint32_t top) { return bswap32(h7) <= top ? 1u : 0u; }
};

using L = Lanes<ScalarOps>;
constexpr int32_t kOffset0[1] = {0};

void transform(uint32_t state[8], const uint8_t* data, size_t blocks) {
  for (size_t b = 0; b < blocks; ++b, data += 64) {
    uint32_t w[64];
    for (int t = 0; t < 16; ++t) w[t] = load_be32(data + 4 * t);
    L::compress(state, w);
  }
}

void sha256d64(uint8_t out[32], const uint8_t in[64]) {
  uint32_t h[8];
  L::hash64(in, kOffset0, h);
  for (int i = 0; i < 8; ++i) store_be32(out + 4 * i, h[i]);
}

void merkle_root(uint8_t out[32], const uint8_t leaf[32], const uint8_t* branch, size_t k) {
  uint8_t node[64];
  std::memcpy(node, leaf, 32);
  for (size_t i = 0; i < k; ++i) {
    std::memcpy(node + 32, branch + 32 * i, 32);
    sha256d64(node, node);  // reads all 64 bytes before writing the first 32
  }
  std::memcpy(out, node, 32);
}

void sha256d80(uint8_t* out, const uint8_t* in, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t h[8];
    L::hash80(in + 80 * i, kOffset0, h);
    for (int k = 0; k < 8; ++k) store_be32(out + 32 * i + 4 * k, h[k]);
  }
}

}  // namespace

extern const Kernels kGenericKernels = {"generic", transform, sha256d64, merkle_root, sha256d80, L::scan, 1};

}  // namespace headframe
