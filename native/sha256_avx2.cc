// AVX2 multi-buffer implementation: 8 independent SHA-256 streams, one per
// 32-bit lane of a ymm register (the layout of Intel's multi-buffer
// SHA-256 papers and of Bitcoin Core's sha256_avx2.cpp, written afresh on top
// of sha256_lanes.h). AVX2 has no rotate, so each rotation costs two shifts
// and an OR. Used for checkHeaders (8 headers per pass) and scanNonces (8
// nonces per pass); the one-stream functions come from SHA-NI or generic
// (see binding.cc). Compiled with -mavx2 only; called only when cpuid and
// XCR0 say AVX2 is usable.
#include <immintrin.h>

#include "sha256_kernels.h"
#include "sha256_lanes.h"

namespace headframe {
namespace {

struct Avx2Ops {
  using V = __m256i;
  static constexpr unsigned kLanes = 8;

  static HF_INLINE V set1(uint32_t x) { return _mm256_set1_epi32(int(x)); }
  static HF_INLINE V add(V a, V b) { return _mm256_add_epi32(a, b); }
  static HF_INLINE V xor3(V a, V b, V c) { return _mm256_xor_si256(_mm256_xor_si256(a, b), c); }
  template <int n>
  static HF_INLINE V ror(V x) {
    return _mm256_or_si256(_mm256_srli_epi32(x, n), _mm256_slli_epi32(x, 32 - n));
  }
  static HF_INLINE V bsig0(V x) { return xor3(ror<2>(x), ror<13>(x), ror<22>(x)); }
  static HF_INLINE V bsig1(V x) { return xor3(ror<6>(x), ror<11>(x), ror<25>(x)); }
  static HF_INLINE V ssig0(V x) { return xor3(ror<7>(x), ror<18>(x), _mm256_srli_epi32(x, 3)); }
  static HF_INLINE V ssig1(V x) { return xor3(ror<17>(x), ror<19>(x), _mm256_srli_epi32(x, 10)); }
  static HF_INLINE V ch(V e, V f, V g) { return _mm256_xor_si256(g, _mm256_and_si256(e, _mm256_xor_si256(f, g))); }
  static HF_INLINE V maj(V a, V b, V c) {
    return _mm256_or_si256(_mm256_and_si256(a, b), _mm256_and_si256(c, _mm256_or_si256(a, b)));
  }
  static HF_INLINE V bswap(V x) {
    const V mask = _mm256_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5, 4, 11,
                                    10, 9, 8, 15, 14, 13, 12);
    return _mm256_shuffle_epi8(x, mask);
  }
  static HF_INLINE V load_be(const uint8_t* base, const int32_t* lane_offsets, size_t off) {
    // vpgatherdd with byte scale: any alignment.
    const V idx = _mm256_load_si256(reinterpret_cast<const __m256i*>(lane_offsets));
    return bswap(_mm256_i32gather_epi32(reinterpret_cast<const int*>(base + off), idx, 1));
  }
  static HF_INLINE void store(uint32_t* dst, V v) { _mm256_store_si256(reinterpret_cast<__m256i*>(dst), v); }
  static HF_INLINE V nonce_be(uint32_t base) {
    return bswap(_mm256_add_epi32(set1(base), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
  }
  static HF_INLINE uint32_t le_mask(V h7, uint32_t top) {
    // No unsigned compare before AVX-512: x <= t  <=>  max(x, t) == t.
    const V t = set1(top);
    const V le = _mm256_cmpeq_epi32(_mm256_max_epu32(bswap(h7), t), t);
    return uint32_t(_mm256_movemask_ps(_mm256_castsi256_ps(le)));
  }
};

using L = Lanes<Avx2Ops>;

}  // namespace

// transform, sha256d64 and merkle_root are the one-stream kernels' job (binding.cc).
extern const Kernels kAvx2Kernels = {"avx2", nullptr, nullptr, nullptr, L::sha256d80, L::scan, Avx2Ops::kLanes};

}  // namespace headframe
