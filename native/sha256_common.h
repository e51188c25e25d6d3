// Scalar SHA-256 building blocks shared by every implementation.
//
// Everything here has internal linkage (an unnamed namespace, `inline`): this
// header is included by translation units compiled with different ISA flags
// (-mavx2, -mavx512f, -msha). Were these functions external inline symbols,
// the linker could keep the copy compiled with -mavx512f and call it from the
// generic code on a CPU without AVX-512 (the usual "ODR violation across ISA
// flags" trap). With internal linkage each unit keeps its own copy.
//
// References: FIPS 180-4 (Secure Hash Standard), sections 4.1.2 (functions),
// 4.2.2 (constants K), 5.1.1 (padding), 5.3.3 (initial hash value), 6.2.2
// (the compression).
#ifndef HEADFRAME_SHA256_COMMON_H
#define HEADFRAME_SHA256_COMMON_H

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(_MSC_VER)
#define HF_INLINE __forceinline
#else
#define HF_INLINE inline __attribute__((always_inline))
#endif

// Full unrolling of the small fixed loops over rounds and streams, so that
// their arrays become registers.
#if defined(__GNUC__)
#define HF_PRAGMA(x) _Pragma(#x)
#define HF_UNROLL(n) HF_PRAGMA(GCC unroll n)
#else
#define HF_UNROLL(n)
#endif

namespace headframe {
namespace {

// FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube
// roots of the first 64 primes.
alignas(64) constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// FIPS 180-4 5.3.3: the initial hash value H(0).
alignas(32) constexpr uint32_t kIV[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

// Memory is read and written through memcpy so that any byte offset works
// (callers pass subarrays at odd offsets); compilers turn these into plain
// unaligned loads/stores plus bswap/movbe.
HF_INLINE uint32_t load_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
HF_INLINE uint32_t load_le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
HF_INLINE void store_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
HF_INLINE constexpr uint32_t bswap32(uint32_t v) {
  return (v >> 24) | ((v >> 8) & 0x0000ff00u) | ((v << 8) & 0x00ff0000u) | (v << 24);
}
HF_INLINE constexpr uint32_t rotr32(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

// FIPS 180-4 4.1.2, (4.2)-(4.7).
HF_INLINE constexpr uint32_t ch32(uint32_t e, uint32_t f, uint32_t g) { return g ^ (e & (f ^ g)); }
HF_INLINE constexpr uint32_t maj32(uint32_t a, uint32_t b, uint32_t c) { return (a & b) | (c & (a | b)); }
HF_INLINE constexpr uint32_t bsig0(uint32_t a) { return rotr32(a, 2) ^ rotr32(a, 13) ^ rotr32(a, 22); }
HF_INLINE constexpr uint32_t bsig1(uint32_t e) { return rotr32(e, 6) ^ rotr32(e, 11) ^ rotr32(e, 25); }
HF_INLINE constexpr uint32_t ssig0(uint32_t x) { return rotr32(x, 7) ^ rotr32(x, 18) ^ (x >> 3); }
HF_INLINE constexpr uint32_t ssig1(uint32_t x) { return rotr32(x, 17) ^ rotr32(x, 19) ^ (x >> 10); }

// K[t] + W[t] for the padding words of a final block (FIPS 180-4 5.1.1): a
// block holding `used` message words is followed by 0x80000000, zeros, and
// the message length in bits, which fits in word 15 for the short messages
// hashed here. Entries t < used are placeholders (they depend on the
// message). When used == 0 the whole block is constant, and so are its whole
// message schedule and all 64 sums: computed here at compile time.
struct alignas(64) PaddingKw {
  uint32_t kw[64];
};
constexpr PaddingKw padding_kw(int used, uint32_t bit_length) {
  uint32_t w[64] = {};
  w[used] = 0x80000000u;
  w[15] = bit_length;
  for (int t = 16; t < 64; ++t) w[t] = ssig1(w[t - 2]) + w[t - 7] + ssig0(w[t - 15]) + w[t - 16];
  PaddingKw r{};
  for (int t = 0; t < 64; ++t) r.kw[t] = kK[t] + w[t];
  return r;
}
// Second block of a 64-byte message (a merkle node): every t is valid.
constexpr PaddingKw kPad64 = padding_kw(0, 512);
// Second block of an 80-byte header: t = 4..15 are valid.
constexpr PaddingKw kPad80 = padding_kw(4, 640);
// The block of the second hash (32-byte message): t = 8..15 are valid.
constexpr PaddingKw kPad32 = padding_kw(8, 256);

// One round on a state held as an array s[0..7] = a..h (used only by scalar
// precomputation, where speed does not matter).
inline void scalar_round(uint32_t s[8], uint32_t kw) {
  const uint32_t t1 = s[7] + bsig1(s[4]) + ch32(s[4], s[5], s[6]) + kw;
  const uint32_t t2 = bsig0(s[0]) + maj32(s[0], s[1], s[2]);
  s[7] = s[6];
  s[6] = s[5];
  s[5] = s[4];
  s[4] = s[3] + t1;
  s[3] = s[2];
  s[2] = s[1];
  s[1] = s[0];
  s[0] = t1 + t2;
}

// Plain FIPS 180-4 6.2.2 compression of one block given as 16 words.
inline void scalar_compress_words(uint32_t state[8], const uint32_t block[16]) {
  uint32_t w[64];
  for (int t = 0; t < 16; ++t) w[t] = block[t];
  for (int t = 16; t < 64; ++t) w[t] = ssig1(w[t - 2]) + w[t - 7] + ssig0(w[t - 15]) + w[t - 16];
  uint32_t s[8];
  for (int i = 0; i < 8; ++i) s[i] = state[i];
  for (int t = 0; t < 64; ++t) scalar_round(s, kK[t] + w[t]);
  for (int i = 0; i < 8; ++i) state[i] += s[i];
}

inline void scalar_compress(uint32_t state[8], const uint8_t block[64]) {
  uint32_t w[16];
  for (int t = 0; t < 16; ++t) w[t] = load_be32(block + 4 * t);
  scalar_compress_words(state, w);
}

// A plain reference sha256d of an 80-byte header with the given nonce (the
// scanners use it to confirm the rare candidates their early exit lets
// through; it need not be fast).
inline void scalar_sha256d80(uint8_t out[32], const uint8_t header[80], uint32_t nonce) {
  uint32_t s[8];
  std::memcpy(s, kIV, sizeof s);
  scalar_compress(s, header);
  uint32_t w[16] = {load_be32(header + 64), load_be32(header + 68), load_be32(header + 72), bswap32(nonce),
                    0x80000000u, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 640};
  scalar_compress_words(s, w);
  uint32_t w2[16] = {s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], 0x80000000u, 0, 0, 0, 0, 0, 0, 256};
  std::memcpy(s, kIV, sizeof s);
  scalar_compress_words(s, w2);
  for (int i = 0; i < 8; ++i) store_be32(out + 4 * i, s[i]);
}

// hash <= target, both 32-byte little-endian 256-bit numbers: compare from
// the most significant byte (31) down.
inline bool hash_le_target(const uint8_t hash[32], const uint8_t target[32]) {
  for (int i = 31; i >= 0; --i) {
    if (hash[i] != target[i]) return hash[i] < target[i];
  }
  return true;
}

// The scanners' early exit. Hash bytes 28..31 are H7 stored big-endian, so as
// the top 32 bits of the little-endian number they read bswap(H7). If that is
// above the target's top word the hash fails; below, it passes; equal, the
// full comparison decides (ScanVerdict::kCheck).
enum class ScanVerdict { kFail, kPass, kCheck };
HF_INLINE ScanVerdict scan_verdict(uint32_t h7, uint32_t target_top) {
  const uint32_t top = bswap32(h7);
  if (top > target_top) return ScanVerdict::kFail;
  return top < target_top ? ScanVerdict::kPass : ScanVerdict::kCheck;
}

// Confirms a candidate nonce that passed the H7 test. Returns true if its
// full hash meets the target.
inline bool scan_confirm(const uint8_t header[80], uint32_t nonce, uint32_t h7, const uint8_t target[32]) {
  switch (scan_verdict(h7, load_le32(target + 28))) {
    case ScanVerdict::kFail:
      return false;
    case ScanVerdict::kPass:
      return true;
    case ScanVerdict::kCheck:
      break;
  }
  uint8_t hash[32];
  scalar_sha256d80(hash, header, nonce);
  return hash_le_target(hash, target);
}

}  // namespace
}  // namespace headframe

#endif  // HEADFRAME_SHA256_COMMON_H
