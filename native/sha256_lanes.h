// SHA-256d over N independent lanes ("multi-buffer"), written once as a
// template over an `Ops` type that supplies a vector of N 32-bit lanes and
// its operations. The generic build instantiates it with N = 1 (plain
// uint32_t), the AVX2 build with N = 8 (__m256i), the AVX-512 build with
// N = 16 (__m512i). Each lane runs the FIPS 180-4 6.2.2 compression on its own
// message; vectors only widen it.
//
// What it specialises, for Bitcoin's 80-byte headers (FIPS 180-4 5.1.1
// padding, 2 blocks) and the 32-byte second hash (1 block):
//  - padding words are constants, so K[t] + W[t] for them comes from
//    compile-time tables (kPad64, kPad80, kPad32) and the schedule terms
//    they feed are folded by hand (the comments in sched80_tail, hash32 and
//    hash80 list them); a 64-byte merkle node's second block is all padding,
//    so all its 64 rounds use constants;
//  - scanning: the first 64 bytes are compressed once (the midstate); the
//    second block's words 0..2 are the same for every nonce, so its rounds
//    0..2 and most of round 3 are computed once in scalar code (the same
//    trick as cpuminer's sha256d_ms and Bitcoin Core's TransformD64
//    constant folding, written afresh here);
//  - scanning: only H7 of the final hash is needed for the early exit (it is
//    bytes 28..31, the most significant word of the little-endian number),
//    and h after round 63 is e after round 60, so rounds 61..63 are skipped
//    and rounds 58..60 only compute e.
//
// `Ops` must provide:
//   using V; static constexpr unsigned kLanes;
//   V set1(uint32_t); V add(V, V); V bsig0(V); V bsig1(V); V ssig0(V);
//   V ssig1(V); V ch(V e, V f, V g); V maj(V a, V b, V c);
//   V load_be(const uint8_t* base, const int32_t* lane_offsets, size_t off):
//       lane i = big-endian word at base + lane_offsets[i] + off;
//   void store(uint32_t* dst, V v): store the N lanes (dst aligned to V);
//   V bswap(V): byte-swap each lane;
//   V nonce_be(uint32_t base): lane i = bswap32(base + i);
//   uint32_t le_mask(V h7, uint32_t top): bit i set when bswap32(lane i) <= top.
//
// Everything is in an unnamed namespace for the reason given in
// sha256_common.h: the instantiations differ per ISA.
#ifndef HEADFRAME_SHA256_LANES_H
#define HEADFRAME_SHA256_LANES_H

#include <utility>

#include "sha256_common.h"

namespace headframe {
namespace {

template <class O>
struct Lanes {
  using V = typename O::V;
  static constexpr unsigned N = O::kLanes;

  // Round T of FIPS 180-4 6.2.2 step 3 on a state kept in s[0..7] without
  // moving words: entering round T, the word called `a` lives in slot
  // (-T) mod 8, b in (1 - T) mod 8, and so on. Only d and h are written
  // (they become the new e and a), so the 8 values stay in registers once
  // inlined.
  template <int T>
  static HF_INLINE void round(V* s, V kw) {
    const V a = s[(0 - T) & 7], b = s[(1 - T) & 7], c = s[(2 - T) & 7];
    V& d = s[(3 - T) & 7];
    const V e = s[(4 - T) & 7], f = s[(5 - T) & 7], g = s[(6 - T) & 7];
    V& h = s[(7 - T) & 7];
    const V t1 = O::add(O::add(h, O::bsig1(e)), O::add(O::ch(e, f, g), kw));
    const V t2 = O::add(O::bsig0(a), O::maj(a, b, c));
    d = O::add(d, t1);
    h = O::add(t1, t2);
  }
  // A round whose new `a` is never read (the last rounds of the scan): only
  // the new e = d + T1.
  template <int T>
  static HF_INLINE void round_e(V* s, V kw) {
    V& d = s[(3 - T) & 7];
    const V e = s[(4 - T) & 7], f = s[(5 - T) & 7], g = s[(6 - T) & 7];
    const V h = s[(7 - T) & 7];
    d = O::add(d, O::add(O::add(h, O::bsig1(e)), O::add(O::ch(e, f, g), kw)));
  }

  // Rounds From..To-1 with message words from w[] (K added here).
  template <int From, int... I>
  static HF_INLINE void rounds_w_(V* s, const V* w, std::integer_sequence<int, I...>) {
    (round<From + I>(s, O::add(w[From + I], O::set1(kK[From + I]))), ...);
  }
  template <int From, int To>
  static HF_INLINE void rounds_w(V* s, const V* w) {
    rounds_w_<From>(s, w, std::make_integer_sequence<int, To - From>{});
  }
  // Rounds From..To-1 whose K[t] + W[t] are compile-time constants.
  template <int From, int... I>
  static HF_INLINE void rounds_c_(V* s, const PaddingKw& kw, std::integer_sequence<int, I...>) {
    (round<From + I>(s, O::set1(kw.kw[From + I])), ...);
  }
  template <int From, int To>
  static HF_INLINE void rounds_c(V* s, const PaddingKw& kw) {
    rounds_c_<From>(s, kw, std::make_integer_sequence<int, To - From>{});
  }

  // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16] (FIPS 180-4 6.2.2 step 1)
  // for t = From..To-1.
  template <int From, int... I>
  static HF_INLINE void sched_(V* w, std::integer_sequence<int, I...>) {
    ((w[From + I] = O::add(O::add(O::ssig1(w[From + I - 2]), w[From + I - 7]),
                           O::add(O::ssig0(w[From + I - 15]), w[From + I - 16]))),
     ...);
  }
  template <int From, int To>
  static HF_INLINE void sched(V* w) {
    sched_<From>(w, std::make_integer_sequence<int, To - From>{});
  }

  static HF_INLINE void add_state(V* st, const V* s) {
    for (int i = 0; i < 8; ++i) st[i] = O::add(st[i], s[i]);
  }

  // A full compression of a block whose 16 words are in w[0..15] (w has room
  // for 64).
  static HF_INLINE void compress(V* st, V* w) {
    sched<16, 64>(w);
    V s[8] = {st[0], st[1], st[2], st[3], st[4], st[5], st[6], st[7]};
    rounds_w<0, 64>(s, w);
    add_state(st, s);
  }

  // Schedule words 20..63 of an 80-byte header's second block, given
  // W16..W19. Its padding is W4 = 0x80000000, W5..W14 = 0, W15 = 640, so:
  //   W20 = σ1(W18) + W4          W21 = σ1(W19)
  //   W22 = σ1(W20) + W15         W23..W29 = σ1(W[t-2]) + W[t-7]
  //   W30 = σ1(W28) + W23 + σ0(W15)
  //   W31 = σ1(W29) + W24 + σ0(W16) + W15
  static HF_INLINE void sched80_tail(V* w) {
    w[20] = O::add(O::ssig1(w[18]), O::set1(0x80000000u));
    w[21] = O::ssig1(w[19]);
    w[22] = O::add(O::ssig1(w[20]), O::set1(640));
    w[23] = O::add(O::ssig1(w[21]), w[16]);
    w[24] = O::add(O::ssig1(w[22]), w[17]);
    w[25] = O::add(O::ssig1(w[23]), w[18]);
    w[26] = O::add(O::ssig1(w[24]), w[19]);
    w[27] = O::add(O::ssig1(w[25]), w[20]);
    w[28] = O::add(O::ssig1(w[26]), w[21]);
    w[29] = O::add(O::ssig1(w[27]), w[22]);
    w[30] = O::add(O::add(O::ssig1(w[28]), w[23]), O::set1(ssig0(640)));
    w[31] = O::add(O::add(O::ssig1(w[29]), w[24]), O::add(O::ssig0(w[16]), O::set1(640)));
    sched<32, 64>(w);
  }

  // The second hash: SHA-256 of the 32-byte first hash h[0..7] (one block,
  // padding W8 = 0x80000000, W9..W14 = 0, W15 = 256). Writes its state into
  // out[0..7]; with kH7Only, only out[7] is meaningful (see the header).
  template <bool kH7Only>
  static HF_INLINE void hash32(const V* h, V* out) {
    V w[64];
    for (int i = 0; i < 8; ++i) w[i] = h[i];
    // W16 = σ0(W1) + W0                 W17 = σ1(W15) + σ0(W2) + W1
    // W18..W21 = σ1(W[t-2]) + σ0(W[t-15]) + W[t-16]
    // W22 = σ1(W20) + W15 + σ0(W7) + W6 W23 = σ1(W21) + W16 + σ0(W8) + W7
    // W24 = σ1(W22) + W17 + W8          W25..W29 = σ1(W[t-2]) + W[t-7]
    // W30 = σ1(W28) + W23 + σ0(W15)     W31 = σ1(W29) + W24 + σ0(W16) + W15
    w[16] = O::add(O::ssig0(w[1]), w[0]);
    w[17] = O::add(O::add(O::ssig0(w[2]), w[1]), O::set1(ssig1(256)));
    w[18] = O::add(O::add(O::ssig1(w[16]), O::ssig0(w[3])), w[2]);
    w[19] = O::add(O::add(O::ssig1(w[17]), O::ssig0(w[4])), w[3]);
    w[20] = O::add(O::add(O::ssig1(w[18]), O::ssig0(w[5])), w[4]);
    w[21] = O::add(O::add(O::ssig1(w[19]), O::ssig0(w[6])), w[5]);
    w[22] = O::add(O::add(O::ssig1(w[20]), O::ssig0(w[7])), O::add(w[6], O::set1(256)));
    w[23] = O::add(O::add(O::ssig1(w[21]), w[16]), O::add(w[7], O::set1(ssig0(0x80000000u))));
    w[24] = O::add(O::add(O::ssig1(w[22]), w[17]), O::set1(0x80000000u));
    w[25] = O::add(O::ssig1(w[23]), w[18]);
    w[26] = O::add(O::ssig1(w[24]), w[19]);
    w[27] = O::add(O::ssig1(w[25]), w[20]);
    w[28] = O::add(O::ssig1(w[26]), w[21]);
    w[29] = O::add(O::ssig1(w[27]), w[22]);
    w[30] = O::add(O::add(O::ssig1(w[28]), w[23]), O::set1(ssig0(256)));
    w[31] = O::add(O::add(O::ssig1(w[29]), w[24]), O::add(O::ssig0(w[16]), O::set1(256)));

    // Round 0 starts from the constant IV: T1 = c1 + W0, T2 = c2.
    constexpr uint32_t c1 = kIV[7] + bsig1(kIV[4]) + ch32(kIV[4], kIV[5], kIV[6]) + kK[0];
    constexpr uint32_t c2 = bsig0(kIV[0]) + maj32(kIV[0], kIV[1], kIV[2]);
    V s[8];
    for (int i = 0; i < 8; ++i) s[i] = O::set1(kIV[i]);
    s[3] = O::add(w[0], O::set1(kIV[3] + c1));  // new e
    s[7] = O::add(w[0], O::set1(c1 + c2));      // new a
    rounds_w<1, 8>(s, w);
    rounds_c<8, 16>(s, kPad32);
    if constexpr (kH7Only) {
      sched<32, 61>(w);
      rounds_w<16, 58>(s, w);
      round_e<58>(s, O::add(w[58], O::set1(kK[58])));
      round_e<59>(s, O::add(w[59], O::set1(kK[59])));
      round_e<60>(s, O::add(w[60], O::set1(kK[60])));
      // e after round 60 sits in slot (3 - 60) & 7 = 7: the final h.
      out[7] = O::add(s[7], O::set1(kIV[7]));
    } else {
      sched<32, 64>(w);
      rounds_w<16, 64>(s, w);
      for (int i = 0; i < 8; ++i) out[i] = O::add(s[i], O::set1(kIV[i]));
    }
  }

  // sha256d of N 64-byte messages (merkle nodes). Their second block is
  // pure padding, so all its 64 K[t] + W[t] are compile-time constants.
  static HF_INLINE void hash64(const uint8_t* base, const int32_t* lane_offsets, V* out) {
    V w[64];
    for (int t = 0; t < 16; ++t) w[t] = O::load_be(base, lane_offsets, size_t(4 * t));
    V st[8];
    for (int i = 0; i < 8; ++i) st[i] = O::set1(kIV[i]);
    compress(st, w);
    V s[8] = {st[0], st[1], st[2], st[3], st[4], st[5], st[6], st[7]};
    rounds_c<0, 64>(s, kPad64);
    add_state(st, s);
    hash32<false>(st, out);
  }

  // sha256d of N headers at base + lane_offsets[i] into out[0..7] (lane
  // vectors of the final state words).
  static HF_INLINE void hash80(const uint8_t* base, const int32_t* lane_offsets, V* out) {
    V w[64];
    for (int t = 0; t < 16; ++t) w[t] = O::load_be(base, lane_offsets, size_t(4 * t));
    V st[8];
    for (int i = 0; i < 8; ++i) st[i] = O::set1(kIV[i]);
    compress(st, w);

    for (int t = 0; t < 4; ++t) w[t] = O::load_be(base, lane_offsets, size_t(64 + 4 * t));
    // W16 = σ0(W1) + W0          W17 = σ1(W15) + σ0(W2) + W1
    // W18 = σ1(W16) + σ0(W3) + W2   W19 = σ1(W17) + σ0(W4) + W3
    w[16] = O::add(O::ssig0(w[1]), w[0]);
    w[17] = O::add(O::add(O::ssig0(w[2]), w[1]), O::set1(ssig1(640)));
    w[18] = O::add(O::add(O::ssig1(w[16]), O::ssig0(w[3])), w[2]);
    w[19] = O::add(O::add(O::ssig1(w[17]), w[3]), O::set1(ssig0(0x80000000u)));
    sched80_tail(w);
    V s[8] = {st[0], st[1], st[2], st[3], st[4], st[5], st[6], st[7]};
    rounds_w<0, 4>(s, w);
    rounds_c<4, 16>(s, kPad80);
    rounds_w<16, 64>(s, w);
    add_state(st, s);
    hash32<false>(st, out);
  }

  // Kernels::sha256d80 for any n: full groups of N, then one partial group
  // whose spare lanes repeat the last header (their results are dropped).
  static void sha256d80(uint8_t* out, const uint8_t* in, size_t n) {
    alignas(64) int32_t offsets[N];
    alignas(64) uint32_t words[8][N];
    for (size_t i = 0; i < n; i += N) {
      const size_t valid = n - i < N ? n - i : N;
      for (unsigned l = 0; l < N; ++l) offsets[l] = int32_t(80 * (l < valid ? l : valid - 1));
      V h[8];
      hash80(in + 80 * i, offsets, h);
      // Byte-swap in the vectors, then move whole words: byte-wise stores
      // here cost as much as a third of the hashing (measured).
      for (int k = 0; k < 8; ++k) O::store(words[k], O::bswap(h[k]));
      for (size_t l = 0; l < valid; ++l) {
        for (int k = 0; k < 8; ++k) std::memcpy(out + 32 * (i + l) + 4 * k, &words[k][l], 4);
      }
    }
  }

  // Kernels::scan (see sha256_kernels.h).
  static size_t scan(const uint8_t header[80], uint32_t start, uint64_t count, const uint8_t target[32],
                     uint32_t* found, size_t max_found) {
    if (count == 0 || max_found == 0) return 0;
    // Midstate: the first block is the same for every nonce.
    uint32_t mid[8];
    std::memcpy(mid, kIV, sizeof mid);
    scalar_compress(mid, header);

    // Second block: W0..W2 fixed, W3 = the nonce (read big-endian, so the
    // little-endian nonce field gives bswap32(nonce)), W4.. padding.
    const uint32_t w0 = load_be32(header + 64), w1 = load_be32(header + 68), w2 = load_be32(header + 72);
    // Rounds 0..2 in scalar code, in the slot layout of round<T>.
    uint32_t p[8];
    std::memcpy(p, mid, sizeof p);
    const uint32_t pre_w[3] = {w0, w1, w2};
    for (int t = 0; t < 3; ++t) {
      const uint32_t a = p[(0 - t) & 7], b = p[(1 - t) & 7], c = p[(2 - t) & 7];
      const uint32_t e = p[(4 - t) & 7], f = p[(5 - t) & 7], g = p[(6 - t) & 7];
      const uint32_t t1 = p[(7 - t) & 7] + bsig1(e) + ch32(e, f, g) + kK[t] + pre_w[t];
      p[(3 - t) & 7] += t1;
      p[(7 - t) & 7] = t1 + bsig0(a) + maj32(a, b, c);
    }
    // Round 3 without its W3: T1 = t1base + W3; the new e (slot 0) and a
    // (slot 4) are then one vector add away from each nonce.
    const uint32_t t1base = p[4] + bsig1(p[1]) + ch32(p[1], p[2], p[3]) + kK[3];
    const uint32_t t2 = bsig0(p[5]) + maj32(p[5], p[6], p[7]);
    const V e4 = O::set1(p[0] + t1base), a4 = O::set1(t1base + t2);
    // Schedule words that do not depend on the nonce:
    // W16 = σ0(W1) + W0, W17 = σ1(W15) + σ0(W2) + W1, and the fixed parts of
    // W18 = σ1(W16) + σ0(W3) + W2 and W19 = σ1(W17) + σ0(W4) + W3.
    const uint32_t w16 = ssig0(w1) + w0, w17 = ssig1(640) + ssig0(w2) + w1;
    const V c18 = O::set1(ssig1(w16) + w2), c19 = O::set1(ssig1(w17) + ssig0(0x80000000u));
    V midv[8];
    for (int i = 0; i < 8; ++i) midv[i] = O::set1(mid[i]);
    const uint32_t target_top = load_le32(target + 28);

    size_t nfound = 0;
    for (uint64_t i = 0; i < count; i += N) {
      const uint32_t base = uint32_t(start + i);  // spare lanes past 2^32 wrap; dropped below
      const V w3 = O::nonce_be(base);
      V w[64];
      w[16] = O::set1(w16);
      w[17] = O::set1(w17);
      w[18] = O::add(c18, O::ssig0(w3));
      w[19] = O::add(c19, w3);
      sched80_tail(w);
      V s[8];
      for (int k = 0; k < 8; ++k) s[k] = O::set1(p[k]);
      s[0] = O::add(e4, w3);
      s[4] = O::add(a4, w3);
      rounds_c<4, 16>(s, kPad80);
      rounds_w<16, 64>(s, w);
      V h[8];
      for (int k = 0; k < 8; ++k) h[k] = O::add(midv[k], s[k]);
      V out[8];
      hash32<true>(h, out);
      uint32_t mask = O::le_mask(out[7], target_top);
      if (mask == 0) continue;  // the common case
      if (count - i < N) mask &= (1u << (count - i)) - 1;
      alignas(64) uint32_t h7[N];
      O::store(h7, out[7]);
      for (unsigned l = 0; l < N; ++l) {
        if (!(mask >> l & 1)) continue;
        if (scan_confirm(header, base + l, h7[l], target)) {
          found[nfound++] = base + l;
          if (nfound == max_found) return nfound;
        }
      }
    }
    return nfound;
  }
};

}  // namespace
}  // namespace headframe

#endif  // HEADFRAME_SHA256_LANES_H
