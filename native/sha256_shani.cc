// x86 SHA extensions (SHA-NI) implementation.
//
// sha256rnds2 does two rounds on a state split as ABEF / CDGH (Intel, "Intel
// SHA Extensions", 2013, and the SDM entries for SHA256RNDS2, SHA256MSG1,
// SHA256MSG2); sha256msg1/msg2 compute four schedule words at a time. One
// compression is a chain of 32 dependent sha256rnds2, so a single stream is
// bound by that instruction's latency while the unit could accept more:
// like Bitcoin Core's sha256_x86_shani.cpp (TransformD64_2WAY, our design
// reference; this is our own code) we interleave independent streams for
// checkHeaders and scanNonces. The stream count is a template parameter;
// kStreams was chosen by measurement (docs/benchmarks.md).
//
// Constant folding, as in the lane kernels: padding blocks use precomputed
// K + W (kPad64 for the whole second block of a 64-byte message, kPad80 and
// kPad32 for the padding quads), the scan precomputes the first two rounds
// of the second block (they use header words only), and the scan's final
// hash stops after round 61: h after round 63 is f after round 61, lane 0
// of the ABEF register.
//
// Compiled with -msha -msse4.1 -mssse3; called only when cpuid says so.
#include <immintrin.h>

#include "sha256_common.h"
#include "sha256_kernels.h"

namespace headframe {
namespace {

constexpr int kStreams = 2;

HF_INLINE __m128i bswap_mask() { return _mm_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12); }

// Four big-endian message words.
HF_INLINE __m128i load_quad(const uint8_t* p) {
  return _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), bswap_mask());
}
HF_INLINE __m128i k_quad(const uint32_t* kw, int q) { return _mm_load_si128(reinterpret_cast<const __m128i*>(kw + 4 * q)); }

// a..h words (lane 0 = a) to the ABEF / CDGH layout: ABEF holds F in lane 0,
// E, B, A above it; CDGH holds H, G, D, C.
HF_INLINE void to_abef(__m128i abcd, __m128i efgh, __m128i& abef, __m128i& cdgh) {
  const __m128i badc = _mm_shuffle_epi32(abcd, 0xb1);
  const __m128i hgfe = _mm_shuffle_epi32(efgh, 0x1b);
  abef = _mm_alignr_epi8(badc, hgfe, 8);
  cdgh = _mm_blend_epi16(hgfe, badc, 0xf0);
}
// And back: abcd and efgh (lane 0 = a, resp. e).
HF_INLINE void from_abef(__m128i abef, __m128i cdgh, __m128i& abcd, __m128i& efgh) {
  const __m128i abef_r = _mm_shuffle_epi32(abef, 0x1b);  // a b e f
  const __m128i ghcd = _mm_shuffle_epi32(cdgh, 0xb1);    // g h c d
  abcd = _mm_blend_epi16(abef_r, ghcd, 0xf0);
  efgh = _mm_alignr_epi8(ghcd, abef_r, 8);
}

// W[t..t+3] from W[t-16..t-1] (m0 oldest).
HF_INLINE __m128i next_quad(__m128i m0, __m128i m1, __m128i m2, __m128i m3) {
  return _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(m0, m1), _mm_alignr_epi8(m3, m2, 4)), m3);
}

// Four rounds on N streams given K + W in wk. sha256rnds2 writes the new
// ABEF; the old ABEF is then the new CDGH, so the two registers swap roles
// and are back in place after the second call.
template <int N>
HF_INLINE void quad(__m128i* abef, __m128i* cdgh, const __m128i* wk) {
  HF_UNROLL(4)
  for (int n = 0; n < N; ++n) cdgh[n] = _mm_sha256rnds2_epu32(cdgh[n], abef[n], wk[n]);
  HF_UNROLL(4)
  for (int n = 0; n < N; ++n) abef[n] = _mm_sha256rnds2_epu32(abef[n], cdgh[n], _mm_shuffle_epi32(wk[n], 0x0e));
}
// Four rounds whose K + W is the same constant for every stream.
template <int N>
HF_INLINE void quad_const(__m128i* abef, __m128i* cdgh, const uint32_t* kw, int q) {
  __m128i wk[N];
  HF_UNROLL(4)
  for (int n = 0; n < N; ++n) wk[n] = k_quad(kw, q);
  quad<N>(abef, cdgh, wk);
}
// Quads q0..15 with the message schedule in m[n][0..3] (m[n][q & 3] holds
// W[4q..4q+3] once computed); when kStopAt62, the last quad does only its
// first two rounds (rounds 60 and 61), leaving ABEF-after-62 in cdgh.
template <int N, bool kStopAt62 = false>
HF_INLINE void quads_sched(__m128i* abef, __m128i* cdgh, __m128i (*m)[4], int q0) {
  HF_UNROLL(16)
  for (int q = q0; q < 16; ++q) {
    __m128i wk[N];
    HF_UNROLL(4)
    for (int n = 0; n < N; ++n) {
      if (q >= 4) m[n][q & 3] = next_quad(m[n][q & 3], m[n][(q + 1) & 3], m[n][(q + 2) & 3], m[n][(q + 3) & 3]);
      wk[n] = _mm_add_epi32(m[n][q & 3], k_quad(kK, q));
    }
    if (kStopAt62 && q == 15) {
      HF_UNROLL(4)
      for (int n = 0; n < N; ++n) cdgh[n] = _mm_sha256rnds2_epu32(cdgh[n], abef[n], wk[n]);
    } else {
      quad<N>(abef, cdgh, wk);
    }
  }
}

// A full compression of one block per stream, words in m.
template <int N>
HF_INLINE void compress(__m128i* abef, __m128i* cdgh, __m128i (*m)[4]) {
  __m128i abef0[N], cdgh0[N];
  HF_UNROLL(4)
  for (int n = 0; n < N; ++n) abef0[n] = abef[n], cdgh0[n] = cdgh[n];
  quads_sched<N>(abef, cdgh, m, 0);
  HF_UNROLL(4)
  for (int n = 0; n < N; ++n) abef[n] = _mm_add_epi32(abef[n], abef0[n]), cdgh[n] = _mm_add_epi32(cdgh[n], cdgh0[n]);
}

HF_INLINE void iv(__m128i& abef, __m128i& cdgh) {
  to_abef(_mm_load_si128(reinterpret_cast<const __m128i*>(kIV)),
          _mm_load_si128(reinterpret_cast<const __m128i*>(kIV + 4)), abef, cdgh);
}

// The second hash of sha256d: SHA-256 of the 32-byte first hash, given as
// abcd/efgh words. Padding W8 = 0x80000000, W9..W14 = 0, W15 = 256: quads 2
// and 3 use kPad32. Full: the final state in abef/cdgh. kH7Only: returns
// through h7[n] the final H7 only.
template <int N, bool kH7Only>
HF_INLINE void hash32(const __m128i* abcd, const __m128i* efgh, __m128i* abef, __m128i* cdgh, uint32_t* h7) {
  __m128i m[N][4];
  __m128i iv_abef, iv_cdgh;
  iv(iv_abef, iv_cdgh);
  HF_UNROLL(4)
  for (int n = 0; n < N; ++n) {
    m[n][0] = abcd[n];
    m[n][1] = efgh[n];
    m[n][2] = _mm_setr_epi32(int(0x80000000u), 0, 0, 0);
    m[n][3] = _mm_setr_epi32(0, 0, 0, 256);
    abef[n] = iv_abef;
    cdgh[n] = iv_cdgh;
  }
  __m128i wk[N];
  HF_UNROLL(4)
  for (int n = 0; n < N; ++n) wk[n] = _mm_add_epi32(m[n][0], k_quad(kK, 0));
  quad<N>(abef, cdgh, wk);
  HF_UNROLL(4)
  for (int n = 0; n < N; ++n) wk[n] = _mm_add_epi32(m[n][1], k_quad(kK, 1));
  quad<N>(abef, cdgh, wk);
  quad_const<N>(abef, cdgh, kPad32.kw, 2);
  quad_const<N>(abef, cdgh, kPad32.kw, 3);
  quads_sched<N, kH7Only>(abef, cdgh, m, 4);
  if constexpr (kH7Only) {
    HF_UNROLL(4)
    for (int n = 0; n < N; ++n) h7[n] = kIV[7] + uint32_t(_mm_cvtsi128_si32(cdgh[n]));
  } else {
    HF_UNROLL(4)
    for (int n = 0; n < N; ++n) abef[n] = _mm_add_epi32(abef[n], iv_abef), cdgh[n] = _mm_add_epi32(cdgh[n], iv_cdgh);
  }
}

// A hash as bytes: its state words stored big-endian.
HF_INLINE void store_words(uint8_t* out, __m128i abcd, __m128i efgh) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_shuffle_epi8(abcd, bswap_mask()));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm_shuffle_epi8(efgh, bswap_mask()));
}

// sha256d of N headers.
template <int N>
HF_INLINE void hash80(const uint8_t* const* in, uint8_t* const* out) {
  __m128i abef[N], cdgh[N], m[N][4];
  __m128i iv_abef, iv_cdgh;
  iv(iv_abef, iv_cdgh);
  HF_UNROLL(4)
  for (int n = 0; n < N; ++n) {
    abef[n] = iv_abef;
    cdgh[n] = iv_cdgh;
    for (int q = 0; q < 4; ++q) m[n][q] = load_quad(in[n] + 16 * q);
  }
  compress<N>(abef, cdgh, m);
  // Second block: W0..W3 from the header, then W4 = 0x80000000, W5..W14 = 0,
  // W15 = 640; quads 1..3 use kPad80.
  __m128i abef0[N], cdgh0[N], wk[N];
  HF_UNROLL(4)
  for (int n = 0; n < N; ++n) {
    abef0[n] = abef[n];
    cdgh0[n] = cdgh[n];
    m[n][0] = load_quad(in[n] + 64);
    m[n][1] = _mm_setr_epi32(int(0x80000000u), 0, 0, 0);
    m[n][2] = _mm_setzero_si128();
    m[n][3] = _mm_setr_epi32(0, 0, 0, 640);
    wk[n] = _mm_add_epi32(m[n][0], k_quad(kK, 0));
  }
  quad<N>(abef, cdgh, wk);
  quad_const<N>(abef, cdgh, kPad80.kw, 1);
  quad_const<N>(abef, cdgh, kPad80.kw, 2);
  quad_const<N>(abef, cdgh, kPad80.kw, 3);
  quads_sched<N>(abef, cdgh, m, 4);
  __m128i abcd[N], efgh[N];
  HF_UNROLL(4)
  for (int n = 0; n < N; ++n) {
    from_abef(_mm_add_epi32(abef[n], abef0[n]), _mm_add_epi32(cdgh[n], cdgh0[n]), abcd[n], efgh[n]);
  }
  hash32<N, false>(abcd, efgh, abef, cdgh, nullptr);
  HF_UNROLL(4)
  for (int n = 0; n < N; ++n) {
    from_abef(abef[n], cdgh[n], abcd[n], efgh[n]);
    store_words(out[n], abcd[n], efgh[n]);
  }
}

void transform(uint32_t state[8], const uint8_t* data, size_t blocks) {
  __m128i abef[1], cdgh[1];
  to_abef(_mm_loadu_si128(reinterpret_cast<const __m128i*>(state)),
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4)), abef[0], cdgh[0]);
  for (size_t b = 0; b < blocks; ++b, data += 64) {
    __m128i m[1][4] = {{load_quad(data), load_quad(data + 16), load_quad(data + 32), load_quad(data + 48)}};
    compress<1>(abef, cdgh, m);
  }
  __m128i abcd, efgh;
  from_abef(abef[0], cdgh[0], abcd, efgh);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), abcd);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), efgh);
}

// sha256d of the 64-byte message whose words are abcd, efgh, m2, m3 (a merkle
// node: left hash, right hash); the result comes back as words in abcd/efgh,
// ready to be the left half of the next level without a trip through memory.
HF_INLINE void node_hash(__m128i& abcd, __m128i& efgh, __m128i m2, __m128i m3) {
  __m128i abef[1], cdgh[1];
  iv(abef[0], cdgh[0]);
  __m128i m[1][4] = {{abcd, efgh, m2, m3}};
  compress<1>(abef, cdgh, m);
  // The second block is all padding: every K + W is in kPad64.
  const __m128i abef0 = abef[0], cdgh0 = cdgh[0];
  HF_UNROLL(16)
  for (int q = 0; q < 16; ++q) quad_const<1>(abef, cdgh, kPad64.kw, q);
  __m128i w0[1], w1[1];
  from_abef(_mm_add_epi32(abef[0], abef0), _mm_add_epi32(cdgh[0], cdgh0), w0[0], w1[0]);
  hash32<1, false>(w0, w1, abef, cdgh, nullptr);
  from_abef(abef[0], cdgh[0], abcd, efgh);
}

void sha256d64(uint8_t out[32], const uint8_t in[64]) {
  __m128i abcd = load_quad(in), efgh = load_quad(in + 16);
  node_hash(abcd, efgh, load_quad(in + 32), load_quad(in + 48));
  store_words(out, abcd, efgh);
}

void merkle_root(uint8_t out[32], const uint8_t leaf[32], const uint8_t* branch, size_t k) {
  // A hash's bytes read big-endian are its state words: the running hash
  // stays in registers from one level to the next.
  __m128i abcd = load_quad(leaf), efgh = load_quad(leaf + 16);
  for (size_t i = 0; i < k; ++i, branch += 32) node_hash(abcd, efgh, load_quad(branch), load_quad(branch + 16));
  store_words(out, abcd, efgh);
}

void sha256d80(uint8_t* out, const uint8_t* in, size_t n) {
  size_t i = 0;
  for (; i + kStreams <= n; i += kStreams) {
    const uint8_t* ins[kStreams];
    uint8_t* outs[kStreams];
    for (int s = 0; s < kStreams; ++s) ins[s] = in + 80 * (i + s), outs[s] = out + 32 * (i + s);
    hash80<kStreams>(ins, outs);
  }
  for (; i < n; ++i) {
    const uint8_t* ins[1] = {in + 80 * i};
    uint8_t* outs[1] = {out + 32 * i};
    hash80<1>(ins, outs);
  }
}

size_t scan(const uint8_t header[80], uint32_t start, uint64_t count, const uint8_t target[32], uint32_t* found,
            size_t max_found) {
  if (count == 0 || max_found == 0) return 0;
  constexpr int N = kStreams;
  // Midstate, then rounds 0 and 1 of the second block (header words only).
  uint32_t mid[8];
  std::memcpy(mid, kIV, sizeof mid);
  transform(mid, header, 1);
  const uint32_t w0 = load_be32(header + 64), w1 = load_be32(header + 68), w2 = load_be32(header + 72);
  uint32_t p[8];
  std::memcpy(p, mid, sizeof p);
  scalar_round(p, kK[0] + w0);
  scalar_round(p, kK[1] + w1);
  __m128i mid_abef, mid_cdgh, pre_abef, pre_cdgh;
  to_abef(_mm_loadu_si128(reinterpret_cast<const __m128i*>(mid)),
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(mid + 4)), mid_abef, mid_cdgh);
  to_abef(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 4)),
          pre_abef, pre_cdgh);
  const __m128i m0_fixed = _mm_setr_epi32(int(w0), int(w1), int(w2), 0);
  const uint32_t target_top = load_le32(target + 28);

  size_t nfound = 0;
  for (uint64_t i = 0; i < count; i += N) {
    const uint32_t base = uint32_t(start + i);  // spare streams past 2^32 wrap; dropped below
    __m128i abef[N], cdgh[N], m[N][4];
    HF_UNROLL(4)
    for (int n = 0; n < N; ++n) {
      const uint32_t w3 = bswap32(base + uint32_t(n));
      m[n][0] = _mm_insert_epi32(m0_fixed, int(w3), 3);
      m[n][1] = _mm_setr_epi32(int(0x80000000u), 0, 0, 0);
      m[n][2] = _mm_setzero_si128();
      m[n][3] = _mm_setr_epi32(0, 0, 0, 640);
      // Rounds 2 and 3 (the second half of quad 0) from the state after
      // rounds 0 and 1; its ABEF is then the CDGH after round 3 (see quad()).
      cdgh[n] = pre_abef;
      abef[n] = _mm_sha256rnds2_epu32(pre_cdgh, pre_abef, _mm_setr_epi32(int(kK[2] + w2), int(kK[3] + w3), 0, 0));
    }
    quad_const<N>(abef, cdgh, kPad80.kw, 1);
    quad_const<N>(abef, cdgh, kPad80.kw, 2);
    quad_const<N>(abef, cdgh, kPad80.kw, 3);
    quads_sched<N>(abef, cdgh, m, 4);
    __m128i abcd[N], efgh[N];
    HF_UNROLL(4)
    for (int n = 0; n < N; ++n) {
      from_abef(_mm_add_epi32(abef[n], mid_abef), _mm_add_epi32(cdgh[n], mid_cdgh), abcd[n], efgh[n]);
    }
    uint32_t h7[N];
    hash32<N, true>(abcd, efgh, abef, cdgh, h7);
    for (int n = 0; n < N; ++n) {
      if (bswap32(h7[n]) > target_top) continue;  // the common case
      if (uint64_t(n) >= count - i) break;
      const uint32_t nonce = base + uint32_t(n);
      if (scan_confirm(header, nonce, h7[n], target)) {
        found[nfound++] = nonce;
        if (nfound == max_found) return nfound;
      }
    }
  }
  return nfound;
}

}  // namespace

extern const Kernels kShaniKernels = {"shani", transform, sha256d64, merkle_root, sha256d80, scan, kStreams};

}  // namespace headframe
