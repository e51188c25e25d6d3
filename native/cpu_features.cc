// CPU feature detection (compiled without ISA flags: it must run anywhere).
//
// An instruction set is usable only if the CPU reports it (cpuid) AND the OS
// saves the registers it uses across context switches, which the OS
// advertises in XCR0 (read with xgetbv, valid when cpuid.1:ECX.OSXSAVE is
// set). Intel SDM vol. 1, 13.3 "Enabling the XSAVE feature set", and
// vol. 2, "CPUID" leaf 07H. Without the XCR0 check a kernel or hypervisor
// that disabled AVX-512 state would make the first zmm instruction fault.
#include "cpu_features.h"

#include <cstdint>

#if defined(HEADFRAME_X86)
#if defined(_MSC_VER)
#include <immintrin.h>
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

namespace headframe {

#if defined(HEADFRAME_X86)
namespace {

struct Regs {
  uint32_t eax, ebx, ecx, edx;
};

Regs cpuid(uint32_t leaf, uint32_t subleaf) {
  Regs r{};
#if defined(_MSC_VER)
  int v[4];
  __cpuidex(v, int(leaf), int(subleaf));
  r = {uint32_t(v[0]), uint32_t(v[1]), uint32_t(v[2]), uint32_t(v[3])};
#else
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
#endif
  return r;
}

uint64_t xcr0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  // The xgetbv intrinsic would need -mxsave on this unit; the instruction
  // itself is always there when OSXSAVE is set.
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
#endif
}

bool bit(uint32_t reg, int n) { return (reg >> n & 1) != 0; }

}  // namespace

CpuFeatures detect_cpu_features() {
  CpuFeatures f{false, false, false};
  const uint32_t max_leaf = cpuid(0, 0).eax;
  if (max_leaf < 1) return f;
  const Regs l1 = cpuid(1, 0);
  const bool ssse3 = bit(l1.ecx, 9), sse41 = bit(l1.ecx, 19), osxsave = bit(l1.ecx, 27), avx = bit(l1.ecx, 28);
  const Regs l7 = max_leaf >= 7 ? cpuid(7, 0) : Regs{};
  const bool avx2 = bit(l7.ebx, 5), avx512f = bit(l7.ebx, 16), sha = bit(l7.ebx, 29), avx512vl = bit(l7.ebx, 31);
  const uint64_t xcr = osxsave ? xcr0() : 0;
  const bool ymm_state = (xcr & 0x6) == 0x6;           // SSE + AVX state
  const bool zmm_state = (xcr & 0xe6) == 0xe6;         // + opmask, ZMM_Hi256, Hi16_ZMM
  f.shani = sha && ssse3 && sse41;                     // xmm state is always on in 64-bit mode
  f.avx2 = avx && avx2 && ymm_state;
  f.avx512 = f.avx2 && avx512f && avx512vl && zmm_state;
  return f;
}

#else

CpuFeatures detect_cpu_features() { return CpuFeatures{false, false, false}; }

#endif

}  // namespace headframe
