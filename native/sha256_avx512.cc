// AVX-512 multi-buffer implementation: 16 independent SHA-256 streams, one
// per 32-bit lane of a zmm register, on top of sha256_lanes.h. AVX-512F
// brings what AVX2 lacks for SHA-256: a rotate (vprord) and a three-input
// boolean op (vpternlogd), so Σ0/Σ1/σ0/σ1 are 4 instructions instead of 11,
// Ch and Maj 1 instead of 3-4; with twice the lanes a pass does about 2.5x
// the work of AVX2 per instruction. Compiled with -mavx512f -mavx512vl
// (no BW: the byte swap is done with rotates); called only when cpuid and
// XCR0 say AVX-512 is usable.
// GCC 12's AVX-512 intrinsics (vprord, gathers) use a self-initialised
// "undefined" source operand that -Wmaybe-uninitialized flags once inlined
// (GCC bug 105593, fixed in GCC 13); the warning is about the header, not
// this code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "sha256_kernels.h"
#include "sha256_lanes.h"

namespace headframe {
namespace {

struct Avx512Ops {
  using V = __m512i;
  static constexpr unsigned kLanes = 16;

  // vpternlogd truth tables (bit i of imm is the result for inputs
  // a:b:c = i): 0x96 = a^b^c, 0xca = a ? b : c, 0xe8 = majority.
  static HF_INLINE V set1(uint32_t x) { return _mm512_set1_epi32(int(x)); }
  static HF_INLINE V add(V a, V b) { return _mm512_add_epi32(a, b); }
  static HF_INLINE V xor3(V a, V b, V c) { return _mm512_ternarylogic_epi32(a, b, c, 0x96); }
  static HF_INLINE V bsig0(V x) { return xor3(_mm512_ror_epi32(x, 2), _mm512_ror_epi32(x, 13), _mm512_ror_epi32(x, 22)); }
  static HF_INLINE V bsig1(V x) { return xor3(_mm512_ror_epi32(x, 6), _mm512_ror_epi32(x, 11), _mm512_ror_epi32(x, 25)); }
  static HF_INLINE V ssig0(V x) { return xor3(_mm512_ror_epi32(x, 7), _mm512_ror_epi32(x, 18), _mm512_srli_epi32(x, 3)); }
  static HF_INLINE V ssig1(V x) {
    return xor3(_mm512_ror_epi32(x, 17), _mm512_ror_epi32(x, 19), _mm512_srli_epi32(x, 10));
  }
  static HF_INLINE V ch(V e, V f, V g) { return _mm512_ternarylogic_epi32(e, f, g, 0xca); }
  static HF_INLINE V maj(V a, V b, V c) { return _mm512_ternarylogic_epi32(a, b, c, 0xe8); }
  // bswap32 without AVX-512BW's vpshufb: with x = [b3 b2 b1 b0],
  // ror8 = [b0 b3 b2 b1] and rol8 = [b2 b1 b0 b3]; bytes 3 and 1 of the
  // result come from ror8, bytes 2 and 0 from rol8.
  static HF_INLINE V bswap(V x) {
    return _mm512_ternarylogic_epi32(set1(0xff00ff00u), _mm512_ror_epi32(x, 8), _mm512_rol_epi32(x, 8), 0xca);
  }
  static HF_INLINE V load_be(const uint8_t* base, const int32_t* lane_offsets, size_t off) {
    const V idx = _mm512_load_si512(lane_offsets);
    return bswap(_mm512_i32gather_epi32(idx, base + off, 1));
  }
  static HF_INLINE void store(uint32_t* dst, V v) { _mm512_store_si512(dst, v); }
  static HF_INLINE V nonce_be(uint32_t base) {
    return bswap(_mm512_add_epi32(set1(base), _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)));
  }
  static HF_INLINE uint32_t le_mask(V h7, uint32_t top) {
    return uint32_t(_mm512_cmple_epu32_mask(bswap(h7), set1(top)));
  }
};

using L = Lanes<Avx512Ops>;

}  // namespace

// transform, sha256d64 and merkle_root are the one-stream kernels' job (binding.cc).
extern const Kernels kAvx512Kernels = {"avx512", nullptr, nullptr, nullptr, L::sha256d80, L::scan, Avx512Ops::kLanes};

}  // namespace headframe
