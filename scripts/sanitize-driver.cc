// A standalone harness for the addon's hashing code under AddressSanitizer
// and UndefinedBehaviorSanitizer (scripts/sanitize-native.sh builds it).
//
// Loading an ASan-built addon into node needs LD_PRELOAD tricks and drowns
// in node's own reports, so this driver links the same kernel sources
// (native/sha256_*.cc, cpu_features.cc) into a plain executable and calls
// the Kernels tables the way binding.cc does, with every buffer allocated
// at its exact size on the heap: one byte read or written past an input or
// output is an ASan report. Inputs are seeded pseudo-random, lengths from
// 0 up, and every implementation this CPU runs is compared with the
// generic one; the generic one is checked against the genesis block hash.
//
// Usage: sanitize-driver [iterations]   (exit 0 = all agree, no report)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../native/cpu_features.h"
#include "../native/sha256_kernels.h"

using headframe::Kernels;

namespace {

uint64_t rng_state = 0x5eed5eed12345678ULL;

uint64_t next_random() {
  // splitmix64: deterministic, so a report can be replayed.
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A heap buffer of exactly n bytes (ASan redzones on both sides).
uint8_t* exact(size_t n) {
  uint8_t* p = static_cast<uint8_t*>(std::malloc(n == 0 ? 1 : n));
  for (size_t i = 0; i < n; i++) p[i] = static_cast<uint8_t>(next_random());
  return p;
}

int failures = 0;

void expect_same(const char* what, const char* impl, const uint8_t* a, const uint8_t* b, size_t n) {
  if (std::memcmp(a, b, n) != 0) {
    std::fprintf(stderr, "MISMATCH %s: %s differs from generic\n", what, impl);
    failures++;
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

void from_hex(const char* hex, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = static_cast<uint8_t>(hex_value(hex[2 * i]) * 16 + hex_value(hex[2 * i + 1]));
}

// Bitcoin's genesis block header and its hash (display order, reversed below).
const char* kGenesisHeader =
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a"
    "29ab5f49ffff001d1dac2b7c";
const char* kGenesisHash = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";

void check_genesis(const Kernels& k) {
  uint8_t* header = exact(80);
  from_hex(kGenesisHeader, header, 80);
  uint8_t* out = exact(32);
  k.sha256d80(out, header, 1);
  uint8_t want[32];
  from_hex(kGenesisHash, want, 32);
  for (int i = 0; i < 16; i++) std::swap(want[i], want[31 - i]);
  if (std::memcmp(out, want, 32) != 0) {
    std::fprintf(stderr, "WRONG genesis hash from %s\n", k.name);
    failures++;
  }
  // The genesis nonce is found by a scan that starts just before it, at any target >= its hash.
  uint32_t nonce = static_cast<uint32_t>(header[76]) | static_cast<uint32_t>(header[77]) << 8 | static_cast<uint32_t>(header[78]) << 16 |
                   static_cast<uint32_t>(header[79]) << 24;
  uint8_t* target = exact(32);
  std::memcpy(target, want, 32);
  uint32_t* found = static_cast<uint32_t*>(std::malloc(sizeof(uint32_t)));
  size_t n = k.scan(header, nonce - 5, 10, target, found, 1);
  if (n != 1 || found[0] != nonce) {
    std::fprintf(stderr, "WRONG genesis scan from %s: %zu found\n", k.name, n);
    failures++;
  }
  std::free(found);
  std::free(target);
  std::free(out);
  std::free(header);
}

// One random round for implementation `k` against `g` (generic).
void round(const Kernels& k, const Kernels& g, const Kernels& one_stream) {
  // transform: 0..8 blocks (one-stream tables only).
  if (k.transform != nullptr) {
    size_t blocks = next_random() % 9;
    uint8_t* data = exact(blocks * 64);
    uint32_t a[8], b[8];
    for (int i = 0; i < 8; i++) a[i] = b[i] = static_cast<uint32_t>(next_random());
    k.transform(a, data, blocks);
    g.transform(b, data, blocks);
    expect_same("transform", k.name, reinterpret_cast<uint8_t*>(a), reinterpret_cast<uint8_t*>(b), 32);
    std::free(data);
  }
  // sha256d64 and merkle_root through the paired one-stream table, as binding.cc does.
  const Kernels& s = k.sha256d64 != nullptr ? k : one_stream;
  {
    uint8_t* in = exact(64);
    uint8_t* x = exact(32);
    uint8_t* y = exact(32);
    s.sha256d64(x, in);
    g.sha256d64(y, in);
    expect_same("sha256d64", s.name, x, y, 32);
    size_t branches = next_random() % 20;
    uint8_t* leaf = exact(32);
    uint8_t* branch = exact(branches * 32);
    s.merkle_root(x, leaf, branch, branches);
    g.merkle_root(y, leaf, branch, branches);
    expect_same("merkle_root", s.name, x, y, 32);
    std::free(branch);
    std::free(leaf);
    std::free(y);
    std::free(x);
    std::free(in);
  }
  // sha256d80: 0..40 headers, so every lane count and remainder is hit.
  {
    size_t n = next_random() % 41;
    uint8_t* in = exact(n * 80);
    uint8_t* x = exact(n * 32);
    uint8_t* y = exact(n * 32);
    k.sha256d80(x, in, n);
    g.sha256d80(y, in, n);
    expect_same("sha256d80", k.name, x, y, n * 32);
    std::free(y);
    std::free(x);
    std::free(in);
  }
  // scan: a short range near the top of the nonce space sometimes (wrap-around edge),
  // an easy target so results are found, and result buffers of exactly max_found.
  {
    uint8_t* header = exact(80);
    uint8_t* target = exact(32);
    std::memset(target, 0xff, 32);
    target[31] = static_cast<uint8_t>(next_random() % 4);  // ~1/64..4/256 of hashes qualify
    uint64_t count = next_random() % 700;
    uint32_t start = (next_random() % 4 == 0) ? static_cast<uint32_t>(0xffffffffULL - count + 1) : static_cast<uint32_t>(next_random());
    if (static_cast<uint64_t>(start) + count > 0x100000000ULL) count = 0x100000000ULL - start;
    size_t max_found = next_random() % 12;
    uint32_t* fx = static_cast<uint32_t*>(std::malloc((max_found == 0 ? 1 : max_found) * sizeof(uint32_t)));
    uint32_t* fy = static_cast<uint32_t*>(std::malloc((max_found == 0 ? 1 : max_found) * sizeof(uint32_t)));
    size_t nx = k.scan(header, start, count, target, fx, max_found);
    size_t ny = g.scan(header, start, count, target, fy, max_found);
    if (nx != ny || std::memcmp(fx, fy, nx * sizeof(uint32_t)) != 0) {
      std::fprintf(stderr, "MISMATCH scan: %s found %zu, generic %zu\n", k.name, nx, ny);
      failures++;
    }
    std::free(fy);
    std::free(fx);
    std::free(target);
    std::free(header);
  }
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 2000;
  headframe::CpuFeatures cpu = headframe::detect_cpu_features();
  std::vector<const Kernels*> impls{&headframe::kGenericKernels};
  const Kernels* one_stream = &headframe::kGenericKernels;
#if defined(HEADFRAME_X86)
  if (cpu.shani) {
    impls.push_back(&headframe::kShaniKernels);
    one_stream = &headframe::kShaniKernels;
  }
  if (cpu.avx2) impls.push_back(&headframe::kAvx2Kernels);
  if (cpu.avx512) impls.push_back(&headframe::kAvx512Kernels);
#else
  (void)cpu;
#endif
  for (const Kernels* k : impls) check_genesis(k->transform != nullptr ? *k : *one_stream);
  for (const Kernels* k : impls) {
    if (k->sha256d80 != nullptr) check_genesis(Kernels{k->name, one_stream->transform, one_stream->sha256d64, one_stream->merkle_root, k->sha256d80, k->scan, k->lanes});
  }
  long calls = 0;
  for (long i = 0; i < iterations; i++) {
    for (const Kernels* k : impls) {
      round(*k, headframe::kGenericKernels, *one_stream);
      calls += 5;
    }
  }
  std::printf("implementations:");
  for (const Kernels* k : impls) std::printf(" %s", k->name);
  std::printf("\niterations: %ld, kernel calls compared: %ld, mismatches: %d\n", iterations, calls, failures);
  return failures == 0 ? 0 : 1;
}
